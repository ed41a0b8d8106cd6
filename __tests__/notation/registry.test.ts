/**
 * Notation end to end against the test registry (Debian's distribution 2.8: no referrers API,
 * so the sha256-<hex> tag schema carries the signatures): the real notation image and JWS/COSE
 * signatures, and signatures fluxgate makes, verified through the CLI.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from '@jest/globals';
import { RegistryClient } from '../../src/oci/client.js';
import { OCI_MANIFEST } from '../../src/oci/media-types.js';
import { pushSignature } from '../../src/sign/notation/storage.js';
import { runCli } from '../support/cli.js';
import { sharedRegistryHost } from '../support/registry.js';
import { FIXTURES, SYSTEM_PYTHON } from '../support/tools.js';
import { JWCRYPTO_VERIFY } from './jwcrypto.js';

const VECTORS = join(FIXTURES, 'vectors', 'notation');
const IMAGE_DIGEST = 'sha256:19dbd2e48e921426ee8ace4dc892edfb2ecdc1d1a72d5416c83670c30acecef0';
const JWS_SIG = readFileSync(join(VECTORS, 'internal_testdata_jws_signature.sig'));
const COSE_SIG = readFileSync(join(VECTORS, 'internal_testdata_cose_signature.sig'));
const ALPINE_DER = Buffer.from(JSON.parse(JWS_SIG.toString()).header.x5c[0], 'base64');

const pem = (der: Buffer) =>
  `-----BEGIN CERTIFICATE-----\n${der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd()}\n-----END CERTIFICATE-----\n`;

let host: string;
let client: RegistryClient;
let work: string;
let layout: string;

/** Copies the real notation image (OCI layout, ref v2) to `repo` with skopeo. */
function pushImage(repo: string): void {
  execFileSync('skopeo', [
    'copy',
    '--insecure-policy',
    '--dest-tls-verify=false',
    `oci:${layout}:v2`,
    `docker://${host}/${repo}:v2`,
  ]);
}

/** Attaches an envelope as a notation signature (referrer, tag-schema fallback here). */
async function attach(repo: string, envelope: Buffer, mediaType: string) {
  return pushSignature(
    client,
    { registry: host, repository: repo, digest: IMAGE_DIGEST, mediaType: OCI_MANIFEST, size: 481 },
    envelope,
    mediaType,
    {
      'io.cncf.notary.x509chain.thumbprint#S256': '[]',
      'org.opencontainers.image.created': '2023-03-14T08:10:02Z',
    },
  );
}

/** A trust store directory holding `der`, and a strict policy for `scope` with `ca:x`. */
function verifyFiles(name: string, der: Buffer, scope: string, level = 'strict') {
  const dir = join(work, name);
  mkdirSync(join(dir, 'store'), { recursive: true });
  writeFileSync(join(dir, 'store', 'alpine.crt'), pem(der));
  writeFileSync(
    join(dir, 'trustpolicy.json'),
    JSON.stringify({
      version: '1.0',
      trustPolicies: [
        {
          name: 'alpine',
          registryScopes: [scope],
          signatureVerification: { level },
          trustStores: ['ca:x'],
          trustedIdentities: ['x509.subject: C=US, ST=WA, O=Notary, CN=alpine'],
        },
      ],
    }),
  );
  return ['--trust-policy', join(dir, 'trustpolicy.json'), '--trust-store', `ca:x=${join(dir, 'store')}`];
}

async function verifyCli(repo: string, flags: string[]) {
  const run = await runCli([
    'verify',
    `oci://${host}/${repo}:v2`,
    '--provider',
    'notation',
    ...flags,
    '--format',
    'json',
  ]);
  const source = JSON.parse(run.stdout).sources[0];
  return { ...run, source };
}

beforeAll(() => {
  host = sharedRegistryHost();
  client = new RegistryClient();
  work = mkdtempSync(join(tmpdir(), 'notation-e2e-'));
  // skopeo wants a writable layout (it may take a lock); the vectors are read-only.
  layout = join(work, 'layout');
  cpSync(join(VECTORS, 'oci-layout'), layout, { recursive: true });
});

describe('the real notation signatures of the real notation image', () => {
  test('skopeo pushes the image unchanged; the JWS signature as a referrer verifies through the CLI', async () => {
    const repo = 'notation/alpine-jws';
    pushImage(repo);
    expect((await client.headManifest(host, repo, 'v2'))?.digest).toBe(IMAGE_DIGEST);
    const stored = await attach(repo, JWS_SIG, 'application/jose+json');
    // An independent client sees the signature under the referrers tag schema.
    const index = JSON.parse(
      execFileSync(
        'skopeo',
        [
          'inspect',
          '--raw',
          '--tls-verify=false',
          `docker://${host}/${repo}:${IMAGE_DIGEST.replace(':', '-')}`,
        ],
        {
          encoding: 'utf8',
        },
      ),
    );
    expect(index.manifests).toEqual([
      expect.objectContaining({
        digest: stored.digest,
        artifactType: 'application/vnd.cncf.notary.signature',
      }),
    ]);

    const r = await verifyCli(repo, verifyFiles('jws', ALPINE_DER, `${host}/${repo}`));
    expect(r.code).toBe(0);
    expect(r.source).toMatchObject({
      digest: IMAGE_DIGEST,
      provider: 'notation',
      verified: true,
      by: 'CN=alpine,O=Notary,L=Seattle,ST=WA,C=US (ca:x)',
    });
  });

  test('the COSE signature verifies the same way', async () => {
    const repo = 'notation/alpine-cose';
    pushImage(repo);
    await attach(repo, COSE_SIG, 'application/cose');
    const r = await verifyCli(repo, verifyFiles('cose', ALPINE_DER, `${host}/${repo}`));
    expect(r.source).toMatchObject({ verified: true, by: 'CN=alpine,O=Notary,L=Seattle,ST=WA,C=US (ca:x)' });
    expect(r.code).toBe(0);
  });

  const env = JSON.parse(JWS_SIG.toString());
  const flipChar = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
  const certWithFlippedSubject = () => {
    const der = Buffer.from(ALPINE_DER);
    // The subject CN (the last "alpine" of the TBS): the certificate still parses.
    der[der.lastIndexOf('alpine') + 5] ^= 0x01;
    return der;
  };
  test.each([
    [
      'one byte of the envelope signature',
      () => Buffer.from(JSON.stringify({ ...env, signature: flipChar(env.signature, 10) })),
      ALPINE_DER,
      'integrity: the PS256 signature does not verify',
    ],
    [
      'one byte of the payload',
      () => {
        const payload = Buffer.from(env.payload, 'base64url');
        payload[payload.indexOf('481')] = '5'.charCodeAt(0);
        return Buffer.from(JSON.stringify({ ...env, payload: payload.toString('base64url') }));
      },
      ALPINE_DER,
      'integrity: the PS256 signature does not verify',
    ],
    [
      'one byte of the certificate in the envelope',
      () => {
        const header = { ...env.header, x5c: [certWithFlippedSubject().toString('base64')] };
        return Buffer.from(JSON.stringify({ ...env, header }));
      },
      ALPINE_DER,
      'is alone in the chain but not self-signed',
    ],
    ['one byte of the trusted certificate', () => JWS_SIG, certWithFlippedSubject(), 'trust store ca:x'],
  ])('fails when %s changes', async (name, envelope, trusted, reason) => {
    const repo = `notation/tampered-${name.replace(/\W+/g, '-')}`;
    pushImage(repo);
    await attach(repo, envelope(), 'application/jose+json');
    const r = await verifyCli(repo, verifyFiles(repo.replace(/\//g, '_'), trusted, `${host}/${repo}`));
    expect(r.code).toBe(1);
    expect(r.source.verified).toBe(false);
    expect(r.source.reason).toContain(reason);
    expect(r.stderr).toContain(`oci://${host}/${repo}:v2: not verified:`);
  });
});

test('jwcrypto (Debian python3) verifies the real JWS with the script the other tests use', () => {
  const r = spawnSync(SYSTEM_PYTHON, [JWCRYPTO_VERIFY], { input: JWS_SIG, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.stdout).toContain(IMAGE_DIGEST);
});
