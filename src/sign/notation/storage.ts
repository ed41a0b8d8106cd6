/**
 * Notary Project signatures in a registry: an OCI 1.1 image manifest per signature (artifactType
 * `application/vnd.cncf.notary.signature`, the empty config, one envelope layer, the signed
 * manifest as subject), found through the referrers API or its `sha256-<hex>` tag schema.
 * The manifest is byte-for-byte what notation-go writes through oras-go's PackManifest.
 */
import type { Descriptor, RegistryClient } from '../../oci/client.js';
import { RegistryError } from '../../oci/errors.js';
import { EMPTY_JSON, OCI_EMPTY, OCI_MANIFEST } from '../../oci/media-types.js';
import type { SignTarget } from '../types.js';
import {
  MAX_SIGNATURE_BLOB_BYTES,
  MAX_SIGNATURE_MANIFEST_BYTES,
  NOTATION_ARTIFACT_TYPE,
} from './constants.js';

const EMPTY_DESCRIPTOR = {
  mediaType: OCI_EMPTY,
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
  data: 'e30=',
};

/** The signature manifest, fields in the order Go's ocispec.Manifest marshals them. */
export function signatureManifest(
  subject: { mediaType: string; digest: string; size: number },
  layer: { mediaType: string; digest: string; size: number },
  annotations: Record<string, string>,
): Buffer {
  const sorted = Object.fromEntries(Object.entries(annotations).sort(([a], [b]) => (a < b ? -1 : 1)));
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: NOTATION_ARTIFACT_TYPE,
      config: EMPTY_DESCRIPTOR,
      layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: layer.size }],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
      annotations: sorted,
    }),
  );
}

/** Uploads the envelope and the empty config, then the manifest as a referrer of the target. */
export async function pushSignature(
  client: RegistryClient,
  target: SignTarget,
  envelope: Buffer,
  envelopeMediaType: string,
  annotations: Record<string, string>,
): Promise<Descriptor> {
  const { registry, repository } = target;
  await client.pushBlob(registry, repository, EMPTY_JSON, OCI_EMPTY);
  const layer = await client.pushBlob(registry, repository, envelope, envelopeMediaType);
  const manifest = signatureManifest(target, { ...layer, mediaType: envelopeMediaType }, annotations);
  return client.pushReferrer(registry, repository, manifest, OCI_MANIFEST);
}

export interface StoredSignature {
  /** The signature manifest's digest. */
  digest: string;
  envelope: Buffer;
  mediaType: string;
}

/** Notation signature manifests that refer to the target, in the registry's order. */
export async function listSignatures(client: RegistryClient, target: SignTarget): Promise<Descriptor[]> {
  const referrers = await client.referrers(target.registry, target.repository, target.digest);
  // The legacy form (OCI 1.0 registries) carries the type as config.mediaType, which the
  // index descriptor repeats as artifactType.
  return referrers.filter((d) => d.artifactType === NOTATION_ARTIFACT_TYPE && d.mediaType === OCI_MANIFEST);
}

/** The envelope of one signature manifest, with notation-go's structural checks and size limits. */
export async function fetchSignature(
  client: RegistryClient,
  target: SignTarget,
  descriptor: Descriptor,
): Promise<StoredSignature> {
  const { registry, repository } = target;
  const where = `${registry}/${repository}@${descriptor.digest}`;
  if (descriptor.size > MAX_SIGNATURE_MANIFEST_BYTES)
    throw new RegistryError(`${where}: signature manifest too large (${descriptor.size} bytes)`);
  const { manifest } = await client.getManifest(registry, repository, descriptor.digest);
  if (manifest.subject?.digest !== target.digest)
    throw new RegistryError(`${where}: the signature manifest's subject is not ${target.digest}`);
  const isNotation =
    manifest.artifactType === NOTATION_ARTIFACT_TYPE
      ? manifest.config?.mediaType === OCI_EMPTY
      : !manifest.artifactType && manifest.config?.mediaType === NOTATION_ARTIFACT_TYPE;
  if (!isNotation) throw new RegistryError(`${where}: not a Notary Project signature manifest`);
  const layers = Array.isArray(manifest.layers) ? (manifest.layers as Descriptor[]) : [];
  if (layers.length !== 1)
    throw new RegistryError(
      `${where}: a signature manifest needs exactly one envelope layer, it has ${layers.length}`,
    );
  const layer = layers[0]!;
  // Another envelope type fails integrity when opened (notation-go verifier.verifyIntegrity).
  if (layer.size > MAX_SIGNATURE_BLOB_BYTES)
    throw new RegistryError(`${where}: signature envelope too large (${layer.size} bytes)`);
  const envelope = await client.getBlob(registry, repository, layer.digest);
  return { digest: descriptor.digest, envelope, mediaType: layer.mediaType };
}
