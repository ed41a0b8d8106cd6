import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { initializeTSA } from '@sigstore/mock';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { RegistryClient } from '../../src/oci/client.js';
import { pushKeyless } from '../support/keyless.js';
import { readBundles } from '../../src/sign/cosign/bundle-format.js';
import { readSignatureLayers } from '../../src/sign/cosign/legacy.js';
import { verifyBundles, verifySignatureLayers } from '../../src/sign/cosign/verify.js';
import type { CosignVerifyPolicy } from '../../src/sign/types.js';
import { sharedRegistryHost } from '../support/registry.js';
import { startMockSigstore, type MockSigstore } from '../support/sigstore.js';

/**
 * Trust-root edge cases, decided as cosign's CheckOpts.verificationOptions decides them for
 * source-controller: integrated timestamps only, an SCT always, and the current time when the
 * log is ignored. Signatures come from a private Sigstore (Fulcio, CT log, Rekor v1).
 */
const client = new RegistryClient({ env: {} });
let sigstore: MockSigstore;
let bundleJson: string;
let digest: string;
let layers: Awaited<ReturnType<typeof readSignatureLayers>>;

beforeAll(async () => {
  sigstore = await startMockSigstore();
  const host = sharedRegistryHost();
  ({ digest } = await pushKeyless(sigstore, 'trust-root/app', ['--bundle-format']));
  const [stored] = await readBundles(client, host, 'trust-root/app', digest);
  bundleJson = stored!.json;
  layers = await readSignatureLayers(client, host, 'trust-root/app', digest);
  expect(layers).toHaveLength(1);
});
afterAll(() => sigstore?.stop());

const policy = (root: object, ignoreTlog = false): CosignVerifyPolicy => ({
  provider: 'cosign',
  keys: [],
  identities: [{ subject: sigstore.identity.subject, issuer: sigstore.identity.issuer }],
  trustedRoot: { source: 'test root', json: JSON.stringify(root) },
  ignoreTlog,
});
const mockRoot = () => JSON.parse(sigstore.trustedRootJson);
const by = () => `keyless: ${sigstore.identity.subject} (${sigstore.identity.issuer})`;

describe('trust-root edge cases as cosign decides them', () => {
  it('a Rekor v1 bundle that also carries an RFC 3161 timestamp passes with a root that lists no TSA', async () => {
    const bundle = JSON.parse(bundleJson);
    const tsa = await initializeTSA(generateKeyPairSync('ec', { namedCurve: 'P-256' }));
    const signature = Buffer.from(bundle.dsseEnvelope.signatures[0].sig, 'base64');
    const token = await tsa.timestamp({
      artifactHash: createHash('sha256').update(signature).digest(),
      hashAlgorithmOID: '2.16.840.1.101.3.4.2.1',
      nonce: 42,
      policyOID: '1.3.6.1.4.1.57264.2',
      certReq: true,
    });
    bundle.verificationMaterial.timestampVerificationData = {
      rfc3161Timestamps: [
        { signedTimestamp: Buffer.from(token.buffer, token.byteOffset, token.byteLength).toString('base64') },
      ],
    };
    const stamped = JSON.stringify(bundle);
    const root = mockRoot();
    expect(root.timestampAuthorities).toEqual([]);
    // @sigstore/verify on its own checks every timestamp it finds, and this one has no TSA to trust.
    expect(() =>
      new Verifier(toTrustMaterial(TrustedRoot.fromJSON(root))).verify(
        toSignedEntity(bundleFromJSON(JSON.parse(stamped))),
      ),
    ).toThrow();
    expect(await verifyBundles([{ name: 'stamped', json: stamped }], digest, policy(root))).toEqual({
      verified: true,
      provider: 'cosign',
      by: by(),
    });
  });

  it('a private trusted root without CT logs still requires an SCT, for bundles and .sig layers', async () => {
    const root = { ...mockRoot(), ctlogs: [] };
    expect(await verifyBundles([{ name: 'b', json: bundleJson }], digest, policy(root))).toEqual({
      verified: false,
      provider: 'cosign',
      reason: 'the certificate does not chain to a trusted Fulcio root (SCT verification failed)',
    });
    expect(await verifySignatureLayers(layers, digest, policy(root))).toEqual({
      verified: false,
      provider: 'cosign',
      reason: 'the certificate does not chain to a trusted Fulcio root (SCT verification failed)',
    });
    // The same signatures pass with the CT log in the root.
    expect(
      (await verifyBundles([{ name: 'b', json: bundleJson }], digest, policy(mockRoot()))).verified,
    ).toBe(true);
    expect((await verifySignatureLayers(layers, digest, policy(mockRoot()))).verified).toBe(true);
  });

  it('--insecure-ignore-tlog: no log entry needed, the certificate checked now, a root without logs accepted', async () => {
    const bundle = JSON.parse(bundleJson);
    bundle.verificationMaterial.tlogEntries = [];
    const unlogged = JSON.stringify(bundle);
    expect((await verifyBundles([{ name: 'u', json: unlogged }], digest, policy(mockRoot()))).verified).toBe(
      false,
    );
    const noLogs = { ...mockRoot(), tlogs: [] };
    expect(await verifyBundles([{ name: 'u', json: unlogged }], digest, policy(noLogs, true))).toEqual({
      verified: true,
      provider: 'cosign',
      by: by(),
    });
    // A .sig layer without its Rekor annotation, likewise.
    const bare = layers.map((l) => ({
      ...l,
      annotations: Object.fromEntries(
        Object.entries(l.annotations).filter(([k]) => k !== 'dev.sigstore.cosign/bundle'),
      ),
    }));
    expect((await verifySignatureLayers(bare, digest, policy(noLogs, true))).verified).toBe(true);
    expect((await verifySignatureLayers(bare, digest, policy(mockRoot()))).verified).toBe(false);
  });
});
