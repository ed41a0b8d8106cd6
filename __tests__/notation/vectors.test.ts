/**
 * The envelopes notation-go's own tests use, fed to our verifier with the descriptor and policy
 * those tests use (fixtures/SOURCES.md): the verdicts must be notation's.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { parseTrustPolicy, selectStatement } from '../../src/sign/notation/trust-policy.js';
import { verifySignatureEnvelope } from '../../src/sign/notation/verifier.js';
import type { TrustStoreFile } from '../../src/sign/types.js';
import { FIXTURES } from '../support/tools.js';

const VECTORS = join(FIXTURES, 'vectors', 'notation');
const read = (name: string) => readFileSync(join(VECTORS, name));
const ROOT = 'verifier_testdata_truststore_x509_ca_valid-trust-store_NotationTestRoot.pem';
const TARGET = {
  mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
  digest: 'sha256:60043cf45eaebc4c0867fea485a039b598f52fd09fd5b07b0b2d2f88fad9d74e',
  size: 528,
};
const SCOPE = 'registry.acme-rockets.io/software/net-monitor';
const IDENTITY = 'x509.subject: CN=Notation Test Root,O=Notary,L=Seattle,ST=WA,C=US';

function policy(level: string, store = 'ca:valid-trust-store', identity = IDENTITY) {
  return selectStatement(
    parseTrustPolicy(
      JSON.stringify({
        version: '1.0',
        trustPolicies: [
          {
            name: 'test-statement',
            registryScopes: [SCOPE],
            signatureVerification: { level },
            trustStores: [store],
            trustedIdentities: [identity],
          },
        ],
      }),
    ),
    SCOPE,
  );
}

const stores = (key: string, file = ROOT) =>
  new Map<string, TrustStoreFile[]>([[key, [{ name: file, data: read(file) }]]]);

function verify(
  envelope: Buffer | string,
  level = 'strict',
  store = 'ca:valid-trust-store',
  identity = IDENTITY,
) {
  return verifySignatureEnvelope({
    envelope: typeof envelope === 'string' ? read(envelope) : envelope,
    mediaType: 'application/jose+json',
    target: TARGET,
    statement: policy(level, store, identity),
    trustStores: stores(store),
  });
}

describe('notation-go envelopes', () => {
  test('ca_valid_sig_env (PS384, notary.x509) verifies under strict, by the leaf subject and store', () => {
    const v = verify('internal_mock_testdata_ca_valid_sig_env.json');
    expect(v).toEqual({
      verified: true,
      warnings: [],
      by: 'CN=Notation Test Root,O=Notary,L=Seattle,ST=WA,C=US (ca:valid-trust-store)',
    });
  });

  test('sa_valid_sig_env verifies with a signingAuthority store, not with a ca store', () => {
    const ok = verify(
      'internal_mock_testdata_sa_valid_sig_env.json',
      'strict',
      'signingAuthority:valid-trust-store',
    );
    expect(ok.verified).toBe(true);
    expect(ok.by).toContain('(signingAuthority:valid-trust-store)');
    const wrongType = verify('internal_mock_testdata_sa_valid_sig_env.json');
    expect(wrongType.verified).toBe(false);
    expect(wrongType.reason).toContain('lists no signingAuthority trust store');
  });

  test('ca_expired_sig_env fails under strict and passes with warnings under permissive and audit', () => {
    const strict = verify('internal_mock_testdata_ca_expired_sig_env.json');
    expect(strict.verified).toBe(false);
    expect(strict.reason).toBe('expiry: the signature expired at 2022-07-29T23:59:00.000Z');
    for (const level of ['permissive', 'audit']) {
      const v = verify('internal_mock_testdata_ca_expired_sig_env.json', level);
      expect(v.verified).toBe(true);
      expect(v.warnings).toEqual([
        `expiry (logged by level ${level}): the signature expired at 2022-07-29T23:59:00.000Z`,
      ]);
    }
  });

  test('ca_invalid_sig_env (padded payload) fails: the signing input is the raw envelope strings', () => {
    const v = verify('internal_mock_testdata_ca_invalid_sig_env.json');
    expect(v).toMatchObject({
      verified: false,
      reason: "integrity: the PS384 signature does not verify with the signing certificate's key",
    });
  });

  test('a non-canonical encoding of the same payload bytes breaks the signature', () => {
    const env = JSON.parse(read('internal_mock_testdata_ca_valid_sig_env.json').toString());
    // "…fQ" → "…fR": the same bytes with non-zero trailing bits.
    const payload: string = env.payload;
    const tweaked = payload.slice(0, -1) + 'R';
    expect(Buffer.from(tweaked, 'base64url')).toEqual(Buffer.from(payload, 'base64url'));
    const v = verify(Buffer.from(JSON.stringify({ ...env, payload: tweaked })));
    expect(v.verified).toBe(false);
    expect(v.reason).toContain('signature does not verify');
  });

  test('the identity must be a subset of the leaf subject; audit only logs the mismatch', () => {
    const other = 'x509.subject: CN=Someone Else,O=Notary,ST=WA,C=US';
    const strict = verify('internal_mock_testdata_ca_valid_sig_env.json', 'strict', undefined, other);
    expect(strict.verified).toBe(false);
    expect(strict.reason).toContain('does not match the trusted identities');
    const subset = verify(
      'internal_mock_testdata_ca_valid_sig_env.json',
      'strict',
      undefined,
      'x509.subject: C=US, ST=WA, O=Notary',
    );
    expect(subset.verified).toBe(true);
    const audit = verify('internal_mock_testdata_ca_valid_sig_env.json', 'audit', undefined, other);
    expect(audit.verified).toBe(true);
    expect(audit.warnings[0]).toContain('authenticity (logged by level audit)');
  });

  test("a store without the chain's root is untrusted under strict and permissive", () => {
    const s = new Map<string, TrustStoreFile[]>([
      [
        'ca:valid-trust-store',
        [
          {
            name: 'wabbit.crt',
            data: read('verifier_testdata_truststore_x509_ca_valid-trust-store_wabbit-networks.io.crt'),
          },
        ],
      ],
    ]);
    for (const level of ['strict', 'permissive']) {
      const v = verifySignatureEnvelope({
        envelope: read('internal_mock_testdata_ca_valid_sig_env.json'),
        mediaType: 'application/jose+json',
        target: TARGET,
        statement: policy(level),
        trustStores: s,
      });
      expect(v.verified).toBe(false);
      expect(v.reason).toContain('does not lead to a certificate in trust store(s) ca:valid-trust-store');
    }
  });

  test("the signed descriptor must be the artifact's", () => {
    const v = verifySignatureEnvelope({
      envelope: read('internal_mock_testdata_ca_valid_sig_env.json'),
      mediaType: 'application/jose+json',
      target: { ...TARGET, digest: 'sha256:' + '0'.repeat(64) },
      statement: policy('strict'),
      trustStores: stores('ca:valid-trust-store'),
    });
    expect(v.verified).toBe(false);
    expect(v.reason).toContain(
      'the signature is for application/vnd.docker.distribution.manifest.v2+json sha256:60043cf4',
    );
  });

  test.each([
    ['JWS', 'internal_testdata_jws_signature.sig', 'application/jose+json'],
    ['COSE', 'internal_testdata_cose_signature.sig', 'application/cose'],
  ])(
    'the alpine %s signature (PS256, self-signed leaf) verifies with its own certificate',
    (_, file, mediaType) => {
      const env = JSON.parse(read('internal_testdata_jws_signature.sig').toString());
      const cert = Buffer.from(env.header.x5c[0], 'base64');
      const v = verifySignatureEnvelope({
        envelope: read(file),
        mediaType,
        target: {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: 'sha256:19dbd2e48e921426ee8ace4dc892edfb2ecdc1d1a72d5416c83670c30acecef0',
          size: 481,
        },
        statement: selectStatement(
          parseTrustPolicy(
            JSON.stringify({
              version: '1.0',
              trustPolicies: [
                {
                  name: 'p',
                  registryScopes: ['*'],
                  signatureVerification: { level: 'strict' },
                  trustStores: ['ca:x'],
                  trustedIdentities: ['*'],
                },
              ],
            }),
          ),
          'localhost:5000/alpine',
        ),
        trustStores: new Map([['*', [{ name: 'alpine.der', data: cert }]]]),
      });
      expect(v).toEqual({
        verified: true,
        warnings: [],
        by: 'CN=alpine,O=Notary,L=Seattle,ST=WA,C=US (ca:x)',
      });
    },
  );
});
