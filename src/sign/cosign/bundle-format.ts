/**
 * cosign v3's "new bundle format": a Sigstore bundle v0.3 (DSSE over an in-toto statement whose
 * predicate is `https://sigstore.dev/cosign/sign/v1`), stored as an OCI 1.1 referrer of the image
 * (sigstore/cosign pkg/oci/remote/write.go WriteAttestationNewBundleFormat).
 */
import { RegistryClient, type Descriptor } from '../../oci/client.js';
import { OCI_MANIFEST } from '../../oci/media-types.js';
import type { SignTarget } from '../types.js';

export const BUNDLE_ARTIFACT_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const SIGN_PREDICATE_TYPE = 'https://sigstore.dev/cosign/sign/v1';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
const EMPTY_CONFIG = 'application/vnd.oci.empty.v1+json';

/** The statement `cosign sign` signs in the bundle format: the image digest, no name. */
export function signStatement(digest: string): Buffer {
  const [alg, hex] = digest.split(':');
  return Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ digest: { [alg!]: hex } }],
      predicateType: SIGN_PREDICATE_TYPE,
      predicate: {},
    }),
  );
}

/** Pushes a bundle as a referrer of the target; returns the referrer manifest's digest. */
export async function pushBundle(
  client: RegistryClient,
  target: SignTarget,
  bundleJson: string,
  predicateType: string,
): Promise<Descriptor> {
  const { registry, repository } = target;
  const layer = await client.pushBlob(registry, repository, Buffer.from(bundleJson), BUNDLE_ARTIFACT_TYPE);
  const config = await client.pushBlob(registry, repository, Buffer.from('{}'), EMPTY_CONFIG);
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: BUNDLE_ARTIFACT_TYPE,
    config: { ...config, artifactType: BUNDLE_ARTIFACT_TYPE },
    layers: [
      {
        ...layer,
        annotations: { 'org.opencontainers.image.title': `${layer.digest.replace(':', '-')}.sigstore.json` },
      },
    ],
    subject: { mediaType: target.mediaType, digest: target.digest, size: target.size },
    annotations: {
      'dev.sigstore.bundle.content': 'dsse-envelope',
      'dev.sigstore.bundle.predicateType': predicateType,
      'org.opencontainers.image.created': new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    },
  };
  return client.pushReferrer(registry, repository, Buffer.from(JSON.stringify(manifest)), OCI_MANIFEST);
}

/** A bundle found among the target's referrers, named by its referrer manifest digest. */
export interface StoredBundle {
  name: string;
  json: string;
}

/**
 * The bundles referring to `digest`, as cosign's GetBundles finds them: referrer manifests
 * with exactly one layer of a `application/vnd.dev.sigstore.bundle` media type.
 */
export async function readBundles(
  client: RegistryClient,
  registry: string,
  repository: string,
  digest: string,
): Promise<StoredBundle[]> {
  const referrers = await client.referrers(registry, repository, digest);
  const out: StoredBundle[] = [];
  for (const r of referrers) {
    if (!r.artifactType?.startsWith('application/vnd.dev.sigstore.bundle')) continue;
    const { manifest } = await client.getManifest(registry, repository, r.digest);
    const layers = (manifest.layers ?? []) as Descriptor[];
    // cosign skips referrers that are not exactly one bundle layer.
    if (layers.length !== 1 || !layers[0]!.mediaType.startsWith('application/vnd.dev.sigstore.bundle'))
      continue;
    const blob = await client.getBlob(registry, repository, layers[0]!.digest);
    out.push({ name: r.digest, json: blob.toString('utf8') });
  }
  return out;
}
