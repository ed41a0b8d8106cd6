import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { RegistryClient } from '../../src/oci/client.js';
import { signatureTag } from '../../src/sign/cosign/legacy.js';
import { runCli } from '../support/cli.js';
import { sharedRegistryHost } from '../support/registry.js';
import { writeRepo } from '../support/repo.js';
import { startMockSigstore, type MockSigstore } from '../support/sigstore.js';
import { toolEnv } from '../support/tools.js';

const REV = [
  '--source',
  'https://example.com/x',
  '--revision',
  'main@sha1:0123456789abcdef0123456789abcdef01234567',
];

let sigstore: MockSigstore;
beforeAll(async () => {
  sigstore = await startMockSigstore();
});
afterAll(() => sigstore?.stop());

/** The environment of a GitHub Actions job with `id-token: write`, and nothing else of ours. */
const actionsEnv = () => {
  const env = toolEnv(sigstore.oidcEnv);
  delete env.SIGSTORE_ID_TOKEN;
  return env;
};

async function pushSigned(repo: string, extra: string[] = []) {
  const host = sharedRegistryHost();
  const r = await runCli(
    [
      'push',
      `oci://${host}/${repo}:v1`,
      '--path',
      writeRepo({ 'a.yaml': `a: ${Math.random()}\n` }),
      ...REV,
      '--sign',
      'cosign',
      '--keyless',
      ...sigstore.signFlags,
      ...extra,
      '--format',
      'json',
    ],
    { env: actionsEnv() },
  );
  expect(r.stderr).not.toContain('error');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

async function verify(ref: string, identity: string, issuer: string, extra: string[] = []) {
  const r = await runCli([
    'verify',
    ref,
    '--provider',
    'cosign',
    '--certificate-identity',
    identity,
    '--certificate-oidc-issuer',
    issuer,
    '--trusted-root',
    sigstore.trustedRootPath,
    ...extra,
    '--format',
    'json',
  ]);
  return { code: r.code, source: JSON.parse(r.stdout || '{"sources":[{}]}').sources[0], stderr: r.stderr };
}

describe('keyless cosign through a mock Sigstore and a GitHub OIDC stand-in', () => {
  it('push --sign cosign --keyless stores a .sig layer that verify accepts by identity', async () => {
    const host = sharedRegistryHost();
    const out = await pushSigned('keyless/legacy');
    const { subject, issuer } = sigstore.identity;
    expect(sigstore.audiences).toContain('sigstore');
    expect(out.signatures).toEqual([
      {
        provider: 'cosign',
        storage: 'tag',
        ref: signatureTag(out.digest),
        signer: `keyless: ${subject} (${issuer})`,
        format: 'simplesigning',
      },
    ]);
    const ok = await verify(`oci://${host}/keyless/legacy:v1`, subject, issuer);
    expect(ok.source).toMatchObject({ verified: true, by: `keyless: ${subject} (${issuer})` });
    expect(ok.code).toBe(0);
  });

  it('--bundle-format stores a sigstore bundle referrer that verify and @sigstore/verify accept', async () => {
    const host = sharedRegistryHost();
    const out = await pushSigned('keyless/bundle', ['--bundle-format']);
    expect(out.signatures).toEqual([
      expect.objectContaining({ provider: 'cosign', storage: 'referrer', format: 'sigstore-bundle' }),
    ]);
    const { subject, issuer } = sigstore.identity;
    const ok = await verify(`oci://${host}/keyless/bundle:v1`, subject, issuer);
    expect(ok.source).toMatchObject({ verified: true, by: `keyless: ${subject} (${issuer})` });

    // The stored bundle, read as any client would (tag-schema index → manifest → layer).
    const client = new RegistryClient({ env: {} });
    const [ref] = await client.referrers(host, 'keyless/bundle', out.digest);
    expect(ref).toMatchObject({
      artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      annotations: expect.objectContaining({
        'dev.sigstore.bundle.content': 'dsse-envelope',
        'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1',
      }),
    });
    const { manifest } = await client.getManifest(host, 'keyless/bundle', ref!.digest);
    expect(manifest.subject.digest).toBe(out.digest);
    const json = JSON.parse(
      (await client.getBlob(host, 'keyless/bundle', manifest.layers[0].digest)).toString('utf8'),
    );
    expect(json.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    const bundle = bundleFromJSON(json);
    const trust = toTrustMaterial(TrustedRoot.fromJSON(JSON.parse(sigstore.trustedRootJson)));
    const signer = new Verifier(trust).verify(toSignedEntity(bundle), {
      subjectAlternativeName: subject,
      extensions: { issuer },
    });
    expect(signer.identity?.subjectAlternativeName).toBe(subject);
    const statement = JSON.parse(Buffer.from(json.dsseEnvelope.payload, 'base64').toString());
    expect(statement).toEqual({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ digest: { sha256: out.digest.slice('sha256:'.length) } }],
      predicateType: 'https://sigstore.dev/cosign/sign/v1',
      predicate: {},
    });
  });
});
