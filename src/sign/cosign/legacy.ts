import { RegistryClient, sha256Digest, type Descriptor } from '../../oci/client.js';
import { OCI_MANIFEST } from '../../oci/media-types.js';
import type { NamedKey, SignTarget, VerificationOutcome } from '../types.js';

export type { NamedKey };
import { payloadDigest, SIGNATURE_ANNOTATION, SIMPLE_SIGNING, verifyPayload } from './simple-signing.js';

const CONFIG_MEDIA_TYPE = 'application/vnd.oci.image.config.v1+json';

/** One layer of a cosign `.sig` image: the signed payload and its annotations. */
export interface SignatureLayer {
  payload: Buffer;
  annotations: Record<string, string>;
}

/** cosign's legacy signature tag: `sha256:<hex>` → `sha256-<hex>.sig`. */
export const signatureTag = (digest: string) => `${digest.replace(':', '-')}.sig`;

/**
 * Why a `.sig` layer cannot be a signature of `digest` whatever the key or identity: a payload
 * that is not cosign's, one for another artifact, or no signature annotation.
 */
export function layerProblem(layer: SignatureLayer, digest: string): string | undefined {
  const signed = payloadDigest(layer.payload);
  if (signed.error) return signed.error;
  if (signed.digest !== digest) return `a signature is for another artifact (${signed.digest})`;
  if (!layer.annotations[SIGNATURE_ANNOTATION]) return 'a signature layer has no signature annotation';
  return undefined;
}

/**
 * Verifies `.sig` layers as source-controller does with keys: any layer whose payload signs this
 * digest and whose signature verifies with any of the keys. Fail-closed, with the reason why not.
 */
export function verifyLayers(
  layers: SignatureLayer[],
  digest: string,
  keys: NamedKey[],
): VerificationOutcome {
  if (!layers.length) return { verified: false, provider: 'cosign', reason: 'no cosign signature found' };
  if (!keys.length) return { verified: false, provider: 'cosign', reason: 'no public key given' };
  const reasons = new Set<string>();
  for (const layer of layers) {
    const problem = layerProblem(layer, digest);
    if (problem) {
      reasons.add(problem);
      continue;
    }
    const b64 = layer.annotations[SIGNATURE_ANNOTATION]!;
    const signature = Buffer.from(b64, 'base64');
    const match = keys.find((k) => verifyPayload(layer.payload, signature, k.key));
    if (match) return { verified: true, provider: 'cosign', by: match.name };
    reasons.add(`no signature verifies with the given key${keys.length > 1 ? 's' : ''}`);
  }
  return { verified: false, provider: 'cosign', reason: [...reasons].join('; ') };
}

/** The layers of the `.sig` image of `digest`; the manifest's config is never relied upon. */
export async function readSignatureLayers(
  client: RegistryClient,
  registry: string,
  repository: string,
  digest: string,
) {
  const tag = signatureTag(digest);
  if (!(await client.headManifest(registry, repository, tag))) return [];
  const { manifest } = await client.getManifest(registry, repository, tag);
  const layers: SignatureLayer[] = [];
  for (const l of (manifest.layers ?? []) as Descriptor[]) {
    if (l.mediaType !== SIMPLE_SIGNING) continue;
    layers.push({
      payload: await client.getBlob(registry, repository, l.digest),
      annotations: l.annotations ?? {},
    });
  }
  return layers;
}

/**
 * Adds a signature to the `.sig` image (read, append, write back), keeping every signature
 * already there; an identical one is not added twice.
 */
export async function appendSignature(
  client: RegistryClient,
  target: SignTarget,
  layer: SignatureLayer,
): Promise<string> {
  const { registry, repository } = target;
  const tag = signatureTag(target.digest);
  const existing = (await client.headManifest(registry, repository, tag))
    ? (((await client.getManifest(registry, repository, tag)).manifest.layers ?? []) as Descriptor[])
    : [];
  const payload = await client.pushBlob(registry, repository, layer.payload, SIMPLE_SIGNING);
  const next: Descriptor = { ...payload, mediaType: SIMPLE_SIGNING, annotations: layer.annotations };
  const duplicate = existing.some(
    (l) =>
      l.digest === next.digest &&
      l.annotations?.[SIGNATURE_ANNOTATION] === layer.annotations[SIGNATURE_ANNOTATION],
  );
  const layers = duplicate ? existing : [...existing, next];
  const config = Buffer.from(
    JSON.stringify({
      architecture: '',
      created: '0001-01-01T00:00:00Z',
      history: layers.map(() => ({ created: '0001-01-01T00:00:00Z' })),
      os: '',
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
      config: {},
    }),
  );
  await client.pushBlob(registry, repository, config, CONFIG_MEDIA_TYPE);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: CONFIG_MEDIA_TYPE, size: config.length, digest: sha256Digest(config) },
      layers,
    }),
  );
  await client.putManifest(registry, repository, tag, manifest, OCI_MANIFEST);
  return tag;
}
