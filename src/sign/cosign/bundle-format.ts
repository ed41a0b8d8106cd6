/**
 * cosign v3's "new bundle format": a Sigstore bundle v0.3 (DSSE over an in-toto statement whose
 * predicate is `https://sigstore.dev/cosign/sign/v1`), stored as an OCI 1.1 referrer of the image
 * (sigstore/cosign pkg/oci/remote/write.go WriteAttestationNewBundleFormat).
 */
import type { Bundle } from '@sigstore/bundle';
import { RegistryClient, type Descriptor } from '../../oci/client.js';
import { OCI_MANIFEST } from '../../oci/media-types.js';
import { uncompressedLayer } from '../../oci/uncompressed.js';
import { parseBundleJson } from './bundle-json.js';
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
  /** The layer's bundle, uncompressed. */
  json: string;
}

const BUNDLE_MEDIA_TYPE_BASE = 'application/vnd.dev.sigstore.bundle';

/**
 * A bundle media type's version as sigstore-go reads it (pkg/bundle/bundle.go getBundleVersion):
 * `…bundle+json;version=0.1|0.2|0.3` or `…bundle.vX.Y[.Z]+json` with a Go semver; else undefined.
 */
export function bundleVersion(mediaType: string): number[] | undefined {
  const legacy = /^application\/vnd\.dev\.sigstore\.bundle\+json;version=0\.([123])$/.exec(mediaType);
  if (legacy) return [0, Number(legacy[1]), 0];
  const prefix = `${BUNDLE_MEDIA_TYPE_BASE}.v`;
  if (!mediaType.startsWith(prefix) || !mediaType.endsWith('+json')) return undefined;
  // golang.org/x/mod/semver IsValid: vMAJOR[.MINOR[.PATCH[-pre][+build]]], no leading zeros.
  const n = '(0|[1-9]\\d*)';
  const m = new RegExp(`^${n}(?:\\.${n}(?:\\.${n}(?:-[0-9A-Za-z.-]+)?(?:\\+[0-9A-Za-z.-]+)?)?)?$`).exec(
    mediaType.slice(prefix.length, -'+json'.length),
  );
  return m ? [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)] : undefined;
}

const compareVersions = (a: number[], b: number[]) => a.map((x, i) => x - b[i]!).find((d) => d !== 0) ?? 0;

/**
 * Why cosign would not take a referrer's bundle, or undefined when it would: cosign
 * pkg/oci/remote/signatures.go Bundle parses it (protojson, so an unknown field is an error,
 * then sigstore-go NewBundle's validation) and requires MinVersion("v0.3"); sigstore-go refuses
 * v0.4 and later, a v0.3 bundle holding a certificate chain, and tlog entries without an
 * inclusion proof.
 */
export function bundleProblem(json: string | Buffer): string | undefined {
  let bundle: Bundle;
  try {
    bundle = parseBundleJson(json);
  } catch (err) {
    return `not a sigstore bundle (${(err as Error).message.split('\n')[0]})`;
  }
  const version = bundleVersion(bundle.mediaType);
  if (!version) return `unsupported media type ${bundle.mediaType}`;
  if (compareVersions(version, [0, 3, 0]) < 0) return `bundle version ${bundle.mediaType} is older than v0.3`;
  if (compareVersions(version, [0, 4, 0]) >= 0) return `bundle version ${bundle.mediaType} is not supported`;
  const material = bundle.verificationMaterial;
  if (material.content.$case === 'x509CertificateChain')
    return 'a v0.3 bundle holds a certificate chain, not a single certificate';
  if (material.tlogEntries.length && !material.tlogEntries.some((e) => e.inclusionProof))
    return 'its transparency log entries carry no inclusion proof';
  return undefined;
}

/**
 * The bundles referring to `digest`, as cosign's GetBundles (pkg/cosign/verify.go) finds them:
 * every referrer, whatever its artifactType, whose manifest holds exactly one layer of an
 * `application/vnd.dev.sigstore.bundle` media type and whose bundle parses at v0.3 or later.
 * The layer is read uncompressed as go-containerregistry's Layer.Uncompressed reads it (gzip or
 * zstd by its first bytes, whatever its media type says). Any other referrer, one that cannot
 * be read, or a bundle cosign would not parse, is skipped.
 */
export async function readBundles(
  client: RegistryClient,
  registry: string,
  repository: string,
  digest: string,
  log?: (line: string) => void,
): Promise<StoredBundle[]> {
  const referrers = await client.referrers(registry, repository, digest);
  const out: StoredBundle[] = [];
  for (const r of referrers) {
    try {
      const { manifest } = await client.getManifest(registry, repository, r.digest);
      const layers = (manifest.layers ?? []) as Descriptor[];
      if (layers.length !== 1 || !layers[0]!.mediaType.startsWith(BUNDLE_MEDIA_TYPE_BASE)) continue;
      const blob = await client.getBlob(registry, repository, layers[0]!.digest);
      const bytes = uncompressedLayer(blob, `referrer ${r.digest} bundle layer`);
      const problem = bundleProblem(bytes);
      if (problem) {
        log?.(`referrer ${r.digest}: skipped as cosign does: ${problem}`);
        continue;
      }
      out.push({ name: r.digest, json: bytes.toString('utf8') });
    } catch (err) {
      log?.(`referrer ${r.digest}: skipped, cannot be read (${(err as Error).message})`);
    }
  }
  return out;
}
