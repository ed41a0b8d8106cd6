import type { RegistryClient, Descriptor } from '../client.js';
import { FLUX_CONFIG, FLUX_CONTENT, OCI_MANIFEST } from '../media-types.js';
import type { BuiltArtifact } from './manifest.js';

/**
 * Pushes in the only order that never leaves a tag on a broken manifest: blobs, then the
 * manifest by digest, then each tag.
 */
export async function pushArtifact(
  client: RegistryClient,
  registry: string,
  repository: string,
  artifact: BuiltArtifact,
  tags: string[],
): Promise<Descriptor> {
  await client.pushBlob(registry, repository, artifact.config, FLUX_CONFIG);
  await client.pushBlob(registry, repository, artifact.layer, FLUX_CONTENT);
  const pushed = await client.putManifest(
    registry,
    repository,
    artifact.manifestDescriptor.digest,
    artifact.manifest,
    OCI_MANIFEST,
  );
  for (const tag of tags)
    await client.putManifest(registry, repository, tag, artifact.manifest, OCI_MANIFEST);
  return { mediaType: pushed.mediaType, digest: pushed.digest, size: pushed.size };
}
