/**
 * Trust policy documents as notation-go validates them, statement selection, and the checks a
 * level enforces or logs (revocation, timestamps, critical attributes) on envelopes we craft.
 */
import { beforeAll, describe, expect, test } from '@jest/globals';
import { createJws } from '../../src/sign/notation/jws.js';
import { notationPayload } from '../../src/sign/notation/sign-request.js';
import {
  parseDistinguishedName,
  parseTrustPolicy,
  selectStatement,
} from '../../src/sign/notation/trust-policy.js';
import { verifySignatureEnvelope } from '../../src/sign/notation/verifier.js';
import { createCa, issueLeaf, type TestCa } from '../support/pki.js';

const statement = (over: Record<string, unknown> = {}) => ({
  name: 's',
  registryScopes: ['registry.example.com/team/app'],
  signatureVerification: { level: 'strict' },
  trustStores: ['ca:acme'],
  trustedIdentities: ['*'],
  ...over,
});
const doc = (...statements: unknown[]) => JSON.stringify({ version: '1.0', trustPolicies: statements });

describe('trust policy validation', () => {
  test.each([
    ['no version', JSON.stringify({ trustPolicies: [statement()] }), '"version" is missing'],
    [
      'version 2.0',
      JSON.stringify({ version: '2.0', trustPolicies: [statement()] }),
      'unsupported version "2.0"',
    ],
    ['no statements', doc(), 'has no statement'],
    [
      'duplicate names',
      doc(statement(), statement({ registryScopes: ['*'] })),
      'statement name "s" is used twice',
    ],
    [
      'unknown level',
      doc(statement({ signatureVerification: { level: 'lenient' } })),
      'unknown signatureVerification.level "lenient"',
    ],
    [
      'skip with stores',
      doc(statement({ signatureVerification: { level: 'skip' } })),
      'level skip must not list trust stores',
    ],
    [
      'strict without identities',
      doc(statement({ trustedIdentities: [] })),
      'both trustStores and trustedIdentities are required',
    ],
    [
      'bad store type',
      doc(statement({ trustStores: ['x509:acme'] })),
      'trust store type "x509" is not ca, signingAuthority or tsa',
    ],
    ['bad store name', doc(statement({ trustStores: ['ca:a/b'] })), 'trust store name "a/b" must match'],
    [
      'wildcard scope with others',
      doc(statement({ registryScopes: ['*', 'registry.example.com/a'] })),
      'the wildcard scope "*" cannot be combined',
    ],
    [
      'a scope in two statements',
      doc(statement(), statement({ name: 't' })),
      'registry scope "registry.example.com/team/app" is in 2 statements',
    ],
    [
      'a scope with a tag',
      doc(statement({ registryScopes: ['registry.example.com/app:v1'] })),
      'registry scope "registry.example.com/app:v1" is not valid',
    ],
    [
      'a scope without repository',
      doc(statement({ registryScopes: ['registry.example.com'] })),
      'is not valid',
    ],
    [
      'a wildcard inside a scope',
      doc(statement({ registryScopes: ['registry.example.com/*'] })),
      'has wildcards',
    ],
    [
      'wildcard identity with others',
      doc(statement({ trustedIdentities: ['*', 'x509.subject: C=US, ST=WA, O=A'] })),
      'the wildcard identity "*" cannot be combined',
    ],
    [
      'identity without O',
      doc(statement({ trustedIdentities: ['x509.subject: C=US, ST=WA, CN=x'] })),
      'O is missing',
    ],
    [
      'multi-valued RDN',
      doc(statement({ trustedIdentities: ['x509.subject: C=US, ST=WA, O=A+OU=B'] })),
      'multi-valued RDNs are not supported',
    ],
    [
      'hex value',
      doc(statement({ trustedIdentities: ['x509.subject: C=US, ST=WA, O=#0101'] })),
      '"=#" values are not supported',
    ],
    [
      'duplicate attribute',
      doc(statement({ trustedIdentities: ['x509.subject: C=US, ST=WA, O=A, O=B'] })),
      'duplicate attribute O',
    ],
    [
      'overlapping identities',
      doc(
        statement({
          trustedIdentities: ['x509.subject: C=US, ST=WA, O=A', 'x509.subject: C=US, ST=WA, O=A, CN=x'],
        }),
      ),
      'overlap',
    ],
    [
      'integrity override',
      doc(statement({ signatureVerification: { level: 'strict', override: { integrity: 'log' } } })),
      'integrity cannot be overridden',
    ],
    [
      'authenticity skipped',
      doc(statement({ signatureVerification: { level: 'strict', override: { authenticity: 'skip' } } })),
      'authenticity cannot be skipped',
    ],
    [
      'bad verifyTimestamp',
      doc(statement({ signatureVerification: { level: 'strict', verifyTimestamp: 'never' } })),
      'verifyTimestamp must be',
    ],
  ])('rejects %s', (_, json, message) => {
    expect(() => parseTrustPolicy(json)).toThrow(message);
  });

  test('an exact scope wins over "*", "*" catches the rest, nothing else matches a stranger', () => {
    const d = parseTrustPolicy(
      doc(
        statement({ name: 'exact' }),
        statement({ name: 'any', registryScopes: ['*'], signatureVerification: { level: 'audit' } }),
      ),
    );
    expect(selectStatement(d, 'registry.example.com/team/app').name).toBe('exact');
    expect(selectStatement(d, 'registry.example.com/team/other').name).toBe('any');
    expect(() =>
      selectStatement(parseTrustPolicy(doc(statement())), 'registry.example.com/team/other'),
    ).toThrow('no trust policy statement has registry scope "registry.example.com/team/other" or "*"');
  });

  test('escaped and quoted DN values parse as RFC 4514 says; S is ST', () => {
    expect([...parseDistinguishedName('C=US, S=WA, O="Acme, Inc.", OU=a\\+b, CN=x\\2Cy ')]).toEqual([
      ['C', 'US'],
      ['ST', 'WA'],
      ['O', 'Acme, Inc.'],
      ['OU', 'a+b'],
      ['CN', 'x,y'],
    ]);
  });
});

describe('what levels enforce, on crafted envelopes', () => {
  let ca: TestCa;
  const target = {
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: 'sha256:' + 'a'.repeat(64),
    size: 100,
  };

  beforeAll(async () => {
    ca = await createCa({ key: 'ec-p256' });
  });

  async function check(
    policy: Record<string, unknown>,
    leafOptions: Parameters<typeof issueLeaf>[1] = {},
    extra?: (h: Record<string, unknown>) => void,
  ) {
    const leaf = await issueLeaf(ca, { key: 'ec-p256', ...leafOptions });
    let envelope = createJws({
      alg: 'ES256',
      key: leaf.key,
      certificates: leaf.chainDer,
      payload: notationPayload(target),
      contentType: 'application/vnd.cncf.notary.payload.v1+json',
      signingTime: new Date(Math.floor(Date.now() / 1000) * 1000),
      signingAgent: 'test',
    });
    if (extra) {
      // Re-sign with extra protected header entries.
      const env = JSON.parse(envelope.toString());
      const header = JSON.parse(Buffer.from(env.protected, 'base64url').toString());
      extra(header);
      const { sign } = await import('node:crypto');
      env.protected = Buffer.from(JSON.stringify(header)).toString('base64url');
      env.signature = sign('sha256', Buffer.from(`${env.protected}.${env.payload}`), {
        key: leaf.key,
        dsaEncoding: 'ieee-p1363',
      }).toString('base64url');
      envelope = Buffer.from(JSON.stringify(env));
    }
    return verifySignatureEnvelope({
      envelope,
      mediaType: 'application/jose+json',
      target,
      statement: selectStatement(
        parseTrustPolicy(doc(statement({ registryScopes: ['*'], ...policy }))),
        'r.example.com/a',
      ),
      trustStores: new Map([['*', [{ name: 'root.pem', data: Buffer.from(ca.pem) }]]]),
    });
  }

  test('a certificate with a CRL endpoint fails strict (revocation cannot be checked) unless revocation is skipped or logged', async () => {
    const crl = { crlUrl: 'http://crl.example.com/ca.crl' };
    const strict = await check({}, crl);
    expect(strict.verified).toBe(false);
    expect(strict.reason).toContain('cannot be checked (fluxgate does not query CRL or OCSP)');
    expect(
      await check({ signatureVerification: { level: 'strict', override: { revocation: 'skip' } } }, crl),
    ).toMatchObject({ verified: true, warnings: [] });
    const logged = await check({ signatureVerification: { level: 'permissive' } }, crl);
    expect(logged.verified).toBe(true);
    expect(logged.warnings[0]).toContain('revocation (logged by level permissive)');
    expect((await check({})).verified).toBe(true);
  });

  test('a tsa store requires a timestamp countersignature (always), not while the chain is valid (afterCertExpiry)', async () => {
    const stores = ['ca:acme', 'tsa:acme-tsa'];
    const always = await check({ trustStores: stores });
    expect(always.verified).toBe(false);
    expect(always.reason).toBe(
      'authenticTimestamp: no timestamp countersignature was found in the signature envelope',
    );
    const after = await check({
      trustStores: stores,
      signatureVerification: { level: 'strict', verifyTimestamp: 'afterCertExpiry' },
    });
    expect(after.verified).toBe(true);
  });

  test('unknown critical attributes and verification plugins are rejected at every level', async () => {
    for (const level of ['strict', 'audit']) {
      const unknown = await check({ signatureVerification: { level } }, {}, (h) => {
        h['com.example.policy'] = 'x';
        (h.crit as string[]).push('com.example.policy');
      });
      expect(unknown).toMatchObject({
        verified: false,
        reason: expect.stringContaining('unknown critical signed attribute(s) com.example.policy'),
      });
      const plugin = await check({ signatureVerification: { level } }, {}, (h) => {
        h['io.cncf.notary.verificationPlugin'] = 'com.example.plugin';
        (h.crit as string[]).push('io.cncf.notary.verificationPlugin');
      });
      expect(plugin).toMatchObject({
        verified: false,
        reason: expect.stringContaining('plugins are not supported'),
      });
    }
    // Not critical: ignored, as notation does.
    expect((await check({}, {}, (h) => (h['com.example.note'] = 'x'))).verified).toBe(true);
  });

  test('a required attribute not marked critical, or a critical one absent, breaks integrity', async () => {
    const noCrit = await check({}, {}, (h) => (h.crit = ['io.cncf.notary.signingTime']));
    expect(noCrit.reason).toContain(
      '"io.cncf.notary.signingTime" is marked critical but is not an attribute',
    );
    const missing = await check(
      {},
      {},
      (h) => (h.crit = ['io.cncf.notary.signingScheme', 'io.cncf.notary.expiry']),
    );
    expect(missing.reason).toContain('"io.cncf.notary.expiry" is marked critical but is not an attribute');
  });
});
