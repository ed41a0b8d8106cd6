/**
 * A Fulcio certificate with two SANs, an email first and the workflow URI second. cosign's
 * `.sig` path (pkg/cosign/verify.go CheckCertificatePolicy) matches an identity against every
 * SAN of the certificate; sigstore-go, for bundles (pkg/fulcio/certificate/summarize.go
 * SummarizeCertificate), takes one subject: the first URI, else the first email.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import 'reflect-metadata';
import { SubjectAlternativeNameExtension, X509Certificate } from '@peculiar/x509';
import { RegistryClient } from '../../src/oci/client.js';
import { signatureTag } from '../../src/sign/cosign/legacy.js';
import { runCli } from '../support/cli.js';
import { sharedRegistryHost } from '../support/registry.js';
import { pushKeyless } from '../support/keyless.js';
import { startMockSigstore, type MockSigstore } from '../support/sigstore.js';

const EMAIL = 'release-bot@example.com';
const client = new RegistryClient({ env: {} });
let sigstore: MockSigstore;
beforeAll(async () => {
  sigstore = await startMockSigstore({
    subjectAlternativeNames: (uri) => [
      { type: 'email', value: EMAIL },
      { type: 'url', value: uri },
    ],
  });
});
afterAll(() => sigstore?.stop());

async function verify(repo: string, digest: string, identity: string[]) {
  const r = await runCli([
    'verify',
    `oci://${sharedRegistryHost()}/${repo}@${digest}`,
    ...identity,
    '--certificate-oidc-issuer',
    sigstore.identity.issuer,
    '--trusted-root',
    sigstore.trustedRootPath,
    '--format',
    'json',
  ]);
  const source = JSON.parse(r.stdout).sources[0];
  return { code: r.code, verified: source.verified, by: source.by, reason: source.reason };
}

describe('a Fulcio certificate carrying an email and a URI', () => {
  it('.sig: the identity may be either SAN, as cosign matches each; another identity fails', async () => {
    const repo = 'two-sans/legacy';
    const { digest } = await pushKeyless(sigstore, repo);
    const sig = (await client.getManifest(sharedRegistryHost(), repo, signatureTag(digest))).manifest;
    const cert = new X509Certificate(sig.layers[0].annotations['dev.sigstore.cosign/certificate']);
    expect(cert.getExtension(SubjectAlternativeNameExtension)!.names.toJSON()).toEqual([
      { type: 'email', value: EMAIL },
      { type: 'url', value: sigstore.identity.subject },
    ]);
    const { issuer, subject } = sigstore.identity;
    expect(await verify(repo, digest, ['--certificate-identity', EMAIL])).toMatchObject({
      code: 0,
      verified: true,
      by: `keyless: ${EMAIL} (${issuer})`,
    });
    expect(await verify(repo, digest, ['--certificate-identity', subject])).toMatchObject({
      code: 0,
      verified: true,
      by: `keyless: ${subject} (${issuer})`,
    });
    expect(
      await verify(repo, digest, ['--certificate-identity-regexp', '^release-bot@example\\.com$']),
    ).toMatchObject({ code: 0, verified: true, by: `keyless: ${EMAIL} (${issuer})` });
    expect(await verify(repo, digest, ['--certificate-identity', 'someone@example.com'])).toMatchObject({
      code: 1,
      verified: false,
      reason: expect.stringContaining('does not match someone@example.com'),
    });
  });

  it('bundle: only the URI is the identity, as sigstore-go summarizes the certificate', async () => {
    const repo = 'two-sans/bundle';
    const { digest } = await pushKeyless(sigstore, repo, ['--bundle-format']);
    expect(await verify(repo, digest, ['--certificate-identity', sigstore.identity.subject])).toMatchObject({
      code: 0,
      verified: true,
    });
    expect(await verify(repo, digest, ['--certificate-identity', EMAIL])).toMatchObject({
      code: 1,
      verified: false,
      reason: expect.stringContaining(`the certificate identity ${sigstore.identity.subject}`),
    });
  });
});
