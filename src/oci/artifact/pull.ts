import type { RegistryClient } from '../client.js';
import { RegistryError } from '../errors.js';
import type { OciReference } from '../reference.js';

export interface PulledArtifact {
  digest: string;
  annotations: Record<string, string>;
  layer: Buffer;
  layerMediaType: string;
}

/** Fetches an artifact's manifest and a layer: the first, or the first of `mediaType` (layerSelector). */
export async function pullArtifact(
  client: RegistryClient,
  ref: OciReference,
  mediaType?: string,
): Promise<PulledArtifact> {
  const reference = ref.digest ?? ref.tag ?? 'latest';
  const { manifest, descriptor } = await client.getManifest(ref.registry, ref.repository, reference);
  const layers = (manifest.layers ?? []) as { mediaType: string; digest: string }[];
  const layer = mediaType ? layers.find((l) => l.mediaType === mediaType) : layers[0];
  if (!layer) {
    throw new RegistryError(
      `${ref.registry}/${ref.repository}:${reference}: no layer${mediaType ? ` of media type ${mediaType}` : ''} in the artifact`,
    );
  }
  return {
    digest: descriptor.digest,
    annotations: (manifest.annotations ?? {}) as Record<string, string>,
    layer: await client.getBlob(ref.registry, ref.repository, layer.digest),
    layerMediaType: layer.mediaType,
  };
}
