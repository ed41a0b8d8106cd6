/**
 * sigstore-conformance `bundle-verify` cases as cosign finds them in a registry: each case's
 * bundle pushed as a referrer (cosign v3's bundle manifest) of its artifact, once through the
 * OCI 1.1 referrers API (a stand-in in front of the real registry) and once on the real
 * registry alone (distribution 2.8: the `sha256-<hex>` referrers tag schema), then checked with
 * `fluxgate verify oci://…@sha256:<artifact>`. The artifact is a file, not a manifest, so the
 * registry holds only its referrers; cosign resolves a digest reference without asking for a
 * manifest (ociremote.ResolveDigest), so they are all it reads. (Distribution 2.8 answers 500 to
 * a manifest request for a digest that is a blob, so the file is not pushed.)
 *
 * The verdict is the one cosign gives the bundle against the artifact (conformance.test.ts),
 * and then the two rules of cosign's image path: GetBundles (pkg/cosign/verify.go) skips a
 * bundle older than v0.3 (ociremote.Bundle: MinVersion v0.3), and
 * verifyImageAttestationsSigstoreBundle refuses one without a DSSE envelope.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { RegistryClient } from '../../src/oci/client.js';
import { OCI_MANIFEST } from '../../src/oci/media-types.js';
import { runCli } from '../support/cli.js';
import {
  caseArtifact,
  caseFile,
  casePath,
  conformanceCases,
  cosignVerdict,
  DEFAULT_IDENTITY,
  DEFAULT_ISSUER,
  PUBLIC_GOOD_ROOT,
} from '../support/conformance.js';
import { startReferrersProxy, type ReferrersProxy } from '../support/referrers-proxy.js';
import { sharedRegistryHost } from '../support/registry.js';

const BUNDLE_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const client = new RegistryClient({ env: {} });
let proxy: ReferrersProxy;

beforeAll(async () => {
  proxy = await startReferrersProxy(sharedRegistryHost());
});
afterAll(async () => {
  await proxy.stop();
});

/** What cosign's image path reads from the raw bundle JSON: its version and its content. */
function imagePathRule(json: string): string | undefined {
  let doc: { mediaType?: unknown; dsseEnvelope?: unknown };
  try {
    doc = JSON.parse(json);
  } catch {
    return 'not JSON: skipped';
  }
  const mediaType = String(doc.mediaType);
  const v03 =
    mediaType === 'application/vnd.dev.sigstore.bundle+json;version=0.3' ||
    /^application\/vnd\.dev\.sigstore\.bundle\.v0\.3(\.\d+)?\+json$/.test(mediaType);
  if (!v03) return `${mediaType}: not v0.3, skipped`;
  if (!doc.dsseEnvelope) return 'a message signature, not a DSSE envelope: refused';
  return undefined;
}

/** cosign v3's bundle referrer (pkg/oci/remote/write.go WriteAttestationNewBundleFormat). */
async function pushCase(host: string, repo: string, dir: string): Promise<string> {
  const artifact = caseArtifact(dir);
  const digest = `sha256:${createHash('sha256').update(artifact).digest('hex')}`;
  const bundle = caseFile(dir, 'bundle.sigstore.json')!;
  const layer = await client.pushBlob(host, repo, bundle, BUNDLE_TYPE);
  const config = await client.pushBlob(host, repo, Buffer.from('{}'), 'application/vnd.oci.empty.v1+json');
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: BUNDLE_TYPE,
    config: { ...config, artifactType: BUNDLE_TYPE },
    layers: [{ ...layer, mediaType: BUNDLE_TYPE }],
    subject: { mediaType: OCI_MANIFEST, digest, size: artifact.length },
    annotations: { 'dev.sigstore.bundle.content': 'dsse-envelope' },
  };
  await client.pushReferrer(host, repo, Buffer.from(JSON.stringify(manifest)), OCI_MANIFEST);
  return digest;
}

function policyFlags(dir: string): string[] {
  const key = casePath(dir, 'key.pub');
  if (key) return ['--key', key];
  return [
    '--certificate-identity',
    caseFile(dir, 'identity')?.toString('utf8').trim() ?? DEFAULT_IDENTITY,
    '--certificate-oidc-issuer',
    caseFile(dir, 'issuer')?.toString('utf8').trim() ?? DEFAULT_ISSUER,
    '--trusted-root',
    casePath(dir, 'trusted_root.json') ?? PUBLIC_GOOD_ROOT,
  ];
}

const cases = conformanceCases();
const layouts = [
  ['referrers API', () => proxy.host],
  ['referrers tag schema', () => sharedRegistryHost()],
] as const;

describe.each(layouts)('sigstore-conformance bundles as referrers (%s)', (layout, hostOf) => {
  it.each(cases)('%s', async (dir) => {
    const host = hostOf();
    const repo = `conformance-${layout === 'referrers API' ? 'api' : 'tag'}/${dir.toLowerCase()}`;
    const listedBefore = proxy.listed;
    const digest = await pushCase(host, repo, dir);
    const rule = imagePathRule(caseFile(dir, 'bundle.sigstore.json')!.toString('utf8'));
    const expected = cosignVerdict(dir) && !rule;
    const r = await runCli([
      'verify',
      `oci://${host}/${repo}@${digest}`,
      ...policyFlags(dir),
      '--format',
      'json',
    ]);
    const source = r.stdout ? JSON.parse(r.stdout).sources[0] : { verified: false };
    expect({ dir, verified: source.verified, code: r.code, reason: source.reason ?? r.stderr }).toEqual({
      dir,
      verified: expected,
      code: expected ? 0 : expect.any(Number),
      reason: expected ? '' : expect.any(String),
    });
    if (!expected) expect(r.code).not.toBe(0);
    // A key that cannot be read stops the run before any request (no report).
    if (!r.stdout) return;
    if (layout === 'referrers API') expect(proxy.listed).toBeGreaterThan(listedBefore);
    else expect(await client.headManifest(host, repo, digest.replace(':', '-'))).toBeDefined();
  });
});
