/**
 * RFC 3161 timestamp countersignatures: notation-go's own timestamped envelopes, tokens and
 * trust stores (fixtures/SOURCES.md), with the verdicts of notation-go verifier/timestamp_test.go
 * TestAuthenticTimestamp. Each case names the upstream subtest it mirrors.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { readCertificates } from '../../src/sign/notation/certificates.js';
import { parseTrustPolicy, selectStatement } from '../../src/sign/notation/trust-policy.js';
import { TimestampError, verifyTimestampToken } from '../../src/sign/notation/timestamp.js';
import {
  authenticTimestamp,
  openEnvelope,
  verifySignatureEnvelope,
} from '../../src/sign/notation/verifier.js';
import type { TrustStoreFile } from '../../src/sign/types.js';
import { FIXTURES } from '../support/tools.js';

const VECTORS = join(FIXTURES, 'vectors', 'notation');
const read = (name: string) => readFileSync(join(VECTORS, name));
const ENV = (name: string) => `verifier_testdata_timestamp_sigEnv_${name}.sig`;
const TOKEN = (name: string) => `verifier_testdata_timestamp_countersignature_${name}.p7s`;
const JWS = 'application/jose+json';
const COSE = 'application/cose';

/** notation-go verifier/testdata/truststore/x509/{ca,tsa}/<name>/ as trust stores. */
const STORES = new Map<string, TrustStoreFile[]>(
  [
    ['ca:valid-trust-store', 'verifier_testdata_truststore_x509_ca_valid-trust-store_TestTimestamp.crt'],
    ['tsa:test-timestamp', 'verifier_testdata_truststore_x509_tsa_test-timestamp_globalsignRoot.cer'],
    ['tsa:test-mismatch', 'verifier_testdata_truststore_x509_tsa_test-mismatch_DigiCertTSARootSHA384.cer'],
  ].map(([store, file]) => [store!, [{ name: file!, data: read(file!) }]]),
);
const GLOBALSIGN_ROOT = readCertificates(STORES.get('tsa:test-timestamp')![0]!.data);

function statement(trustStores: string[], verifyTimestamp = 'always') {
  return selectStatement(
    parseTrustPolicy(
      JSON.stringify({
        version: '1.0',
        trustPolicies: [
          {
            name: 'test-timestamp',
            registryScopes: ['*'],
            signatureVerification: { level: 'strict', verifyTimestamp },
            trustStores,
            trustedIdentities: ['*'],
          },
        ],
      }),
    ),
    'registry.example/app',
  );
}

/** The whole verifier, against the descriptor the envelope itself signs. */
function verify(file: string, mediaType: string, trustStores: string[], verifyTimestamp?: string) {
  const envelope = read(file);
  const payload = JSON.parse(openEnvelope(envelope, mediaType).payload.toString('utf8')) as {
    targetArtifact: { mediaType: string; digest: string; size: number };
  };
  const { mediaType: mt, digest, size } = payload.targetArtifact;
  return verifySignatureEnvelope({
    envelope,
    mediaType,
    target: { mediaType: mt, digest, size },
    statement: statement(trustStores, verifyTimestamp),
    trustStores: STORES,
  });
}

/**
 * The authentic-timestamp check alone, as upstream calls verifyAuthenticTimestamp: the expired
 * and out-of-range envelopes are signed by a chain whose root is not in its ca store.
 */
function timestampCheck(file: string, mediaType: string, trustStores: string[], verifyTimestamp?: string) {
  const content = openEnvelope(read(file), mediaType);
  return authenticTimestamp(content, statement(trustStores, verifyTimestamp), STORES, new Date());
}

const BOTH = ['ca:valid-trust-store', 'tsa:test-timestamp'];
/** Envelopes whose signing chain is not rooted in the ca store: checked with timestampCheck. */
const EXPIRED = new Set(
  [
    'jwsExpiredWithTimestamp',
    'coseExpiredWithTimestamp',
    'timestampBeforeNotBefore',
    'timestampAfterNotAfter',
  ].map(ENV),
);

describe('timestamped envelopes through the verifier (TestAuthenticTimestamp)', () => {
  test.each([
    ['verify Authentic Timestamp with jws format', ENV('jwsWithTimestamp'), JWS, BOTH, 'always'],
    ['verify Authentic Timestamp with cose format', ENV('coseWithTimestamp'), COSE, BOTH, 'always'],
    [
      'verify Authentic Timestamp jws with expired codeSigning cert',
      ENV('jwsExpiredWithTimestamp'),
      JWS,
      BOTH,
      'always',
    ],
    [
      'verify Authentic Timestamp cose with expired codeSigning cert',
      ENV('coseExpiredWithTimestamp'),
      COSE,
      BOTH,
      'always',
    ],
    [
      'verify Authentic Timestamp with afterCertExpiry set',
      ENV('coseWithTimestamp'),
      COSE,
      BOTH,
      'afterCertExpiry',
    ],
    [
      'afterCertExpiry with an expired signing certificate needs the timestamp, and it holds',
      ENV('jwsExpiredWithTimestamp'),
      JWS,
      BOTH,
      'afterCertExpiry',
    ],
  ])('%s: verifies', (_name, file, mediaType, stores, when) => {
    if (EXPIRED.has(file)) {
      // The whole verifier would stop at authenticity (see timestampCheck); the check passes.
      expect(timestampCheck(file, mediaType, stores, when)).toBeUndefined();
      return;
    }
    const v = verify(file, mediaType, stores, when);
    expect(v).toMatchObject({ verified: true, warnings: [] });
  });

  test.each([
    [
      'verify Authentic Timestamp failed due to missing tsa in trust policy and expired codeSigning cert',
      ENV('coseExpiredWithTimestamp'),
      COSE,
      ['ca:valid-trust-store'],
      'certificate "CN=testTSA,O=Notary,L=Seattle,ST=WA,C=US" expired at 2024-06-18T07:30:31.000Z',
    ],
    [
      'verify Authentic Timestamp failed due to missing timestamp countersignature',
      ENV('withoutTimestamp'),
      JWS,
      BOTH,
      'no timestamp countersignature was found in the signature envelope',
    ],
    [
      'verify Authentic Timestamp failed due to trust store does not exist',
      ENV('coseWithTimestamp'),
      COSE,
      ['ca:valid-trust-store', 'tsa:does-not-exist'],
      'timestamp countersignature: trust store tsa:does-not-exist was not given',
    ],
    [
      'verify Authentic Timestamp failed due to tsa not trust',
      ENV('coseWithTimestamp'),
      COSE,
      ['ca:valid-trust-store', 'tsa:test-mismatch'],
      'certificate signed by unknown authority',
    ],
    [
      'an expired signing certificate with a timestamp from an untrusted TSA (as "tsa not trust")',
      ENV('jwsExpiredWithTimestamp'),
      JWS,
      ['ca:valid-trust-store', 'tsa:test-mismatch'],
      'certificate signed by unknown authority',
    ],
    [
      'verify Authentic Timestamp failed due to timestamp before signing cert not before',
      ENV('timestampBeforeNotBefore'),
      JWS,
      BOTH,
      'can be before certificate "CN=testTSA,O=Notary,L=Seattle,ST=WA,C=US" validity period, it is valid from 2099-09-18T11:54:34.000Z',
    ],
    [
      'verify Authentic Timestamp failed due to timestamp after signing cert not after',
      ENV('timestampAfterNotAfter'),
      COSE,
      BOTH,
      'can be after certificate "CN=testTSA,O=Notary,L=Seattle,ST=WA,C=US" validity period, it expired at 2001-09-18T11:54:34.000Z',
    ],
  ])('%s: fails with the reason', (_name, file, mediaType, stores, reason) => {
    if (EXPIRED.has(file)) {
      const error = timestampCheck(file, mediaType, stores);
      expect(error).toContain(reason);
      expect(error).not.toContain('\n');
      return;
    }
    const v = verify(file, mediaType, stores);
    expect(v.verified).toBe(false);
    expect(v.reason).toContain(reason);
    expect(v.reason).not.toContain('\n');
  });

  test('verify Authentic Timestamp failed due to invalid trust policy: a "tsa" store without a name is refused', () => {
    expect(() => statement(['ca:valid-trust-store', 'tsa'])).toThrow(/tsa/);
  });

  test('a tampered countersignature is rejected, not ignored', () => {
    const env = JSON.parse(read(ENV('jwsWithTimestamp')).toString('utf8')) as {
      header: Record<string, string>;
    };
    const token = Buffer.from(env.header['io.cncf.notary.timestampSignature']!, 'base64');
    token[token.length - 10]! ^= 0xff;
    env.header['io.cncf.notary.timestampSignature'] = token.toString('base64');
    const envelope = Buffer.from(JSON.stringify(env));
    const payload = JSON.parse(openEnvelope(envelope, JWS).payload.toString('utf8')) as {
      targetArtifact: { mediaType: string; digest: string; size: number };
    };
    const v = verifySignatureEnvelope({
      envelope,
      mediaType: JWS,
      target: payload.targetArtifact,
      statement: statement(BOTH),
      trustStores: STORES,
    });
    expect(v.verified).toBe(false);
    expect(v.reason).toMatch(/^authenticTimestamp|timestamp countersignature: /);
  });
});

describe('timestamp tokens against a signature (TestAuthenticTimestamp token subtests)', () => {
  const token = (name: string) => read(TOKEN(name));

  test('TimeStampToken.p7s countersigns "notation" and chains to the GlobalSign root', () => {
    const t = verifyTimestampToken(token('TimeStampToken'), Buffer.from('notation'), GLOBALSIGN_ROOT);
    expect(t.chain[t.chain.length - 1]!.subject).toContain('GlobalSign');
    expect(t.chain[0]!.subject).not.toBe(t.chain[t.chain.length - 1]!.subject);
  });

  test.each([
    [
      'verify Authentic Timestamp failed due to invalid timestamp countersignature content type',
      'TimeStampTokenWithInvalideContentType',
      'notation',
      GLOBALSIGN_ROOT,
      'unexpected content type 1.2.840.113549.1.7.1, expected id-ct-TSTInfo (1.2.840.113549.1.9.16.1.4)',
    ],
    [
      'verify Authentic Timestamp failed due to invalid TSTInfo',
      'TimeStampTokenWithInvalidTSTInfo',
      'notation',
      GLOBALSIGN_ROOT,
      'cannot parse the TSTInfo',
    ],
    [
      'verify Authentic Timestamp failed due to failed to validate TSTInfo',
      'TimeStampToken',
      'mismatch',
      GLOBALSIGN_ROOT,
      'mismatched message',
    ],
    [
      'verify Authentic Timestamp failed due to failed to verify timestamp countersignature',
      'TimeStampTokenWithoutCertificate',
      'notation',
      GLOBALSIGN_ROOT,
      'signing certificate not found in the timestamp token',
    ],
    [
      'verify Authentic Timestamp failed due to empty trust store',
      'TimeStampToken',
      'notation',
      [],
      'no trusted TSA certificate found in trust store',
    ],
  ])('%s', (_name, file, signature, roots, reason) => {
    expect(() => verifyTimestampToken(token(file), Buffer.from(signature), roots)).toThrow(TimestampError);
    expect(() => verifyTimestampToken(token(file), Buffer.from(signature), roots)).toThrow(reason);
  });
});
