import { describe, expect, it } from '@jest/globals';
import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPublicKey } from '../../src/sign/cosign/keys.js';
import { verifyBundles, verifySignatureLayers } from '../../src/sign/cosign/verify.js';
import type { CertificateIdentity, CosignVerifyPolicy } from '../../src/sign/types.js';
import { startMockSigstore } from '../support/sigstore.js';
import { COSIGN_VECTORS, CONTAINERS_IMAGE_VECTORS, cosignVectorLayer } from '../support/signing.js';

/**
 * The real cosign vectors fed to the verifier `fluxgate verify` uses (verifyWithCosign calls
 * verifyBundles / verifySignatureLayers with what it reads from the registry).
 */

const keyPolicy = (...files: string[]): CosignVerifyPolicy => ({
  provider: 'cosign',
  keys: files.map((f) => ({
    name: f,
    key: readPublicKey(readFileSync(join(CONTAINERS_IMAGE_VECTORS, f), 'utf8'), f),
  })),
  identities: [],
  ignoreTlog: false,
});

/**
 * A trusted root made of the Fulcio root certificate and the Rekor key the vectors ship, plus
 * the public-good CT log key of the time: the certificate carries an SCT, and a verifier that
 * cannot check it must refuse it (cosign does too, unless --insecure-ignore-sct).
 */
function containersImageRoot(): string {
  const fulcio = new X509Certificate(readFileSync(join(CONTAINERS_IMAGE_VECTORS, 'fulcio_v1.crt.pem')));
  const rekor = createPublicKey(readFileSync(join(CONTAINERS_IMAGE_VECTORS, 'rekor.pub'))).export({
    format: 'der',
    type: 'spki',
  });
  return JSON.stringify({
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    certificateAuthorities: [
      {
        subject: { organization: 'sigstore.dev', commonName: 'sigstore' },
        uri: 'https://fulcio.sigstore.dev',
        certChain: { certificates: [{ rawBytes: fulcio.raw.toString('base64') }] },
        validFor: { start: new Date(fulcio.validFrom).toISOString() },
      },
    ],
    tlogs: [
      {
        baseUrl: 'https://rekor.sigstore.dev',
        hashAlgorithm: 'SHA2_256',
        publicKey: {
          rawBytes: rekor.toString('base64'),
          keyDetails: 'PKIX_ECDSA_P256_SHA_256',
          validFor: { start: '2021-01-01T00:00:00Z' },
        },
        logId: { keyId: createHash('sha256').update(rekor).digest('base64') },
      },
    ],
    ctlogs: JSON.parse(readFileSync(join(COSIGN_VECTORS, 'trusted_root_pgi.json'), 'utf8')).ctlogs,
    timestampAuthorities: [],
  });
}

const keylessPolicy = (
  identities: CertificateIdentity[],
  root = { source: 'containers-image root', json: containersImageRoot() },
): CosignVerifyPolicy => ({ provider: 'cosign', keys: [], identities, trustedRoot: root, ignoreTlog: false });

const REDHAT = { subject: 'mitr@redhat.com', issuer: 'https://github.com/login/oauth' };

describe('containers/image vectors (real cosign .sig layers) through the verifier', () => {
  it('key only: verifies with cosign.pub, not with cosign2.pub', async () => {
    const { digest, layer } = cosignVectorLayer('dir-img-cosign-valid');
    expect(await verifySignatureLayers([layer], digest, keyPolicy('cosign.pub'))).toEqual({
      verified: true,
      provider: 'cosign',
      by: 'cosign.pub',
    });
    expect(await verifySignatureLayers([layer], digest, keyPolicy('cosign2.pub'))).toMatchObject({
      verified: false,
      reason: 'no signature verifies with the given key',
    });
  });

  // The key+rekor fixture was signed with the key in cosign2.pub (its Rekor entry embeds that
  // key; cosign.test.ts checks it), not cosign.pub as the vectors' SOURCES.md says.
  it('key + Rekor: verifies with its signing key, not with the other one', async () => {
    const { digest, layer } = cosignVectorLayer('dir-img-cosign-key-rekor-valid');
    expect(await verifySignatureLayers([layer], digest, keyPolicy('cosign2.pub'))).toMatchObject({
      verified: true,
      by: 'cosign2.pub',
    });
    expect((await verifySignatureLayers([layer], digest, keyPolicy('cosign.pub'))).verified).toBe(false);
  });

  it('keyless: verifies by identity against a root of fulcio_v1.crt.pem and rekor.pub', async () => {
    const { digest, layer } = cosignVectorLayer('dir-img-cosign-fulcio-rekor-valid');
    expect(await verifySignatureLayers([layer], digest, keylessPolicy([REDHAT]))).toEqual({
      verified: true,
      provider: 'cosign',
      by: 'keyless: mitr@redhat.com (https://github.com/login/oauth)',
    });
    // Regexps, as Flux's matchOIDCIdentity; any of several identities is enough for .sig layers.
    const byRegexp = await verifySignatureLayers(
      [layer],
      digest,
      keylessPolicy([
        { subject: 'someone@example.com', issuer: REDHAT.issuer },
        { subjectRegExp: '^mitr@redhat\\.com$', issuerRegExp: '^https://github\\.com/' },
      ]),
    );
    expect(byRegexp.verified).toBe(true);
  });

  it('keyless with --insecure-ignore-tlog: the 2022 certificate is checked now, so it has expired', async () => {
    // cosign's verificationOptions: IgnoreTlog without signed timestamps → WithCurrentTime.
    const { digest, layer } = cosignVectorLayer('dir-img-cosign-fulcio-rekor-valid');
    const outcome = await verifySignatureLayers([layer], digest, {
      ...keylessPolicy([REDHAT]),
      ignoreTlog: true,
    });
    expect(outcome).toMatchObject({
      verified: false,
      reason: expect.stringMatching(/^the certificate does not chain/),
    });
    expect(outcome.reason).toMatch(/expired|not valid|validity/i);
  });

  it('keyless: rejects another identity, another issuer, an untrusted root, and a key', async () => {
    const { digest, layer } = cosignVectorLayer('dir-img-cosign-fulcio-rekor-valid');
    expect(
      await verifySignatureLayers(
        [layer],
        digest,
        keylessPolicy([{ subject: 'someone@example.com', issuer: REDHAT.issuer }]),
      ),
    ).toMatchObject({
      verified: false,
      reason:
        'the certificate identity mitr@redhat.com (https://github.com/login/oauth) does not match someone@example.com (https://github.com/login/oauth)',
    });
    const wrongIssuer = await verifySignatureLayers(
      [layer],
      digest,
      keylessPolicy([{ subject: REDHAT.subject, issuer: 'https://accounts.google.com' }]),
    );
    expect(wrongIssuer.reason).toContain('does not match mitr@redhat.com (https://accounts.google.com)');
    // A well-formed trusted root of another Sigstore (the loopback mock's).
    const mock = await startMockSigstore();
    await mock.stop();
    const untrusted = await verifySignatureLayers(
      [layer],
      digest,
      keylessPolicy([REDHAT], { source: 'mock trusted_root.json', json: mock.trustedRootJson }),
    );
    expect(untrusted.verified).toBe(false);
    expect(untrusted.reason).toMatch(/^the certificate does not chain to a trusted Fulcio root/);
    expect((await verifySignatureLayers([layer], digest, keyPolicy('cosign.pub'))).verified).toBe(false);
  });

  it('keyless: a tampered Rekor entry or a missing one is rejected', async () => {
    const { digest, layer } = cosignVectorLayer('dir-img-cosign-fulcio-rekor-valid');
    const rekor = JSON.parse(layer.annotations['dev.sigstore.cosign/bundle']!);
    rekor.Payload.integratedTime += 1;
    const tampered = {
      ...layer,
      annotations: { ...layer.annotations, 'dev.sigstore.cosign/bundle': JSON.stringify(rekor) },
    };
    const bad = await verifySignatureLayers([tampered], digest, keylessPolicy([REDHAT]));
    expect(bad.reason).toMatch(/^the Rekor entry does not verify \(inclusion promise could not be verified/);
    const { 'dev.sigstore.cosign/bundle': _, ...noRekor } = layer.annotations;
    const missing = await verifySignatureLayers(
      [{ ...layer, annotations: noRekor }],
      digest,
      keylessPolicy([REDHAT]),
    );
    expect(missing.reason).toBe('a keyless signature has no Rekor entry (dev.sigstore.cosign/bundle)');
  });

  it('keyless: an unreadable trusted root fails the verification with its name', async () => {
    const { digest, layer } = cosignVectorLayer('dir-img-cosign-fulcio-rekor-valid');
    const r = await verifySignatureLayers(
      [layer],
      digest,
      keylessPolicy([REDHAT], { source: 'broken.json', json: '{"tlogs": "nope"' }),
    );
    expect(r).toMatchObject({ verified: false });
    expect(r.reason).toMatch(/^trusted root broken\.json: not a Sigstore trusted_root\.json \(/);
    const empty = await verifySignatureLayers(
      [layer],
      digest,
      keylessPolicy([REDHAT], { source: 'empty.json', json: '{}' }),
    );
    expect(empty.reason).toBe(
      'trusted root empty.json: it lists no certificate authority or no transparency log',
    );
  });

  it('keyless: the signed digest must be the artifact', async () => {
    const { digest, layer } = cosignVectorLayer('dir-img-cosign-fulcio-rekor-valid');
    const other = `sha256:${'1'.repeat(64)}`;
    expect((await verifySignatureLayers([layer], other, keylessPolicy([REDHAT]))).reason).toBe(
      `a signature is for another artifact (${digest})`,
    );
  });
});

describe('a real public-good sigstore bundle (cosign testdata) through the bundle verifier', () => {
  const json = readFileSync(join(COSIGN_VECTORS, 'oci-attestation.sigstore.json'), 'utf8');
  const statement = JSON.parse(Buffer.from(JSON.parse(json).dsseEnvelope.payload, 'base64').toString());
  const digest = `sha256:${statement.subject[0].digest.sha256}`;
  const root = {
    source: 'trusted_root_pgi.json',
    json: readFileSync(join(COSIGN_VECTORS, 'trusted_root_pgi.json'), 'utf8'),
  };
  const policy = (identity: CertificateIdentity) => keylessPolicy([identity], root);
  const bundles = [{ name: 'oci-attestation', json }];
  const CODY = { subject: 'cody@soyland.com', issuer: 'https://github.com/login/oauth' };

  it('verifies for cody@soyland.com (GitHub OAuth) with the public-good trusted root', async () => {
    expect(await verifyBundles(bundles, digest, policy(CODY))).toEqual({
      verified: true,
      provider: 'cosign',
      by: 'keyless: cody@soyland.com (https://github.com/login/oauth)',
    });
  });

  it('fails for another identity, another digest, and more than one identity (as cosign v3)', async () => {
    expect(
      await verifyBundles(bundles, digest, policy({ ...CODY, subject: 'eve@example.com' })),
    ).toMatchObject({
      verified: false,
      reason:
        'the certificate identity cody@soyland.com (https://github.com/login/oauth) does not match eve@example.com (https://github.com/login/oauth)',
    });
    expect((await verifyBundles(bundles, `sha256:${'2'.repeat(64)}`, policy(CODY))).reason).toBe(
      `a signature is for another artifact (${digest})`,
    );
    expect(
      (
        await verifyBundles(
          bundles,
          digest,
          keylessPolicy([CODY, { subjectRegExp: '.*', issuerRegExp: '.*' }], root),
        )
      ).reason,
    ).toBe('sigstore bundles: multiple identities are not supported (cosign v3 takes one)');
  });

  it("fails against the containers-image root (another Fulcio's chain)", async () => {
    const r = await verifyBundles(bundles, digest, keylessPolicy([CODY]));
    expect(r.verified).toBe(false);
    expect(r.reason).toMatch(/^the certificate does not chain to a trusted Fulcio root|^the Rekor entry/);
  });
});
