/**
 * Signatures fluxgate makes (`sign --provider notation`, `push --sign notation`), stored in the
 * test registry exactly as notation stores them, and verified through the CLI under each level;
 * the bad cases a verifier must reject.
 */
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from '@jest/globals';
import { decode } from 'cborg';
import { RegistryClient } from '../../src/oci/client.js';
import { EMPTY_JSON, OCI_EMPTY, OCI_MANIFEST } from '../../src/oci/media-types.js';
import { openCose } from '../../src/sign/notation/cose.js';
import { createJws } from '../../src/sign/notation/jws.js';
import { notationPayload } from '../../src/sign/notation/sign-request.js';
import { pushSignature } from '../../src/sign/notation/storage.js';
import { runCli } from '../support/cli.js';
import {
  createCa,
  issueLeaf,
  trustPolicy,
  writeSigningFiles,
  type KeyKind,
  type TestCa,
  type TestCertificate,
} from '../support/pki.js';
import { sharedRegistryHost } from '../support/registry.js';
import { writeRepo } from '../support/repo.js';
import { SYSTEM_PYTHON } from '../support/tools.js';
import { JWCRYPTO_VERIFY } from './jwcrypto.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const SUBJECT = 'C=US, ST=WA, L=Seattle, O=Fluxgate Test, CN=Fluxgate Test Signer';
const GO_SUBJECT = 'CN=Fluxgate Test Signer,O=Fluxgate Test,L=Seattle,ST=WA,C=US';

let host: string;
let client: RegistryClient;
let ca: TestCa;
let leaf: TestCertificate;
let work: string;

interface Artifact {
  repo: string;
  ref: string;
  target: { registry: string; repository: string; digest: string; mediaType: string; size: number };
}

/** A small OCI artifact of its own, tagged v1. */
async function pushArtifact(repo: string): Promise<Artifact> {
  await client.pushBlob(host, repo, EMPTY_JSON, OCI_EMPTY);
  const layer = await client.pushBlob(host, repo, randomBytes(64), 'application/octet-stream');
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_EMPTY, digest: 'sha256:' + sha256(EMPTY_JSON), size: 2 },
      layers: [layer],
    }),
  );
  const put = await client.putManifest(host, repo, 'v1', manifest, OCI_MANIFEST);
  return {
    repo,
    ref: `oci://${host}/${repo}:v1`,
    target: { registry: host, repository: repo, digest: put.digest, mediaType: OCI_MANIFEST, size: put.size },
  };
}

function files(name: string, signer: TestCertificate) {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  return { dir, ...writeSigningFiles(dir, signer) };
}

async function verify(artifact: Artifact | string, policy: string, storeDir: string, store = 'ca:test') {
  const policyFile = join(work, `policy-${randomBytes(4).toString('hex')}.json`);
  writeFileSync(policyFile, policy);
  const run = await runCli([
    'verify',
    typeof artifact === 'string' ? artifact : artifact.ref,
    '--provider',
    'notation',
    '--trust-policy',
    policyFile,
    '--trust-store',
    `${store}=${storeDir}`,
    '--format',
    'json',
  ]);
  return { ...run, source: JSON.parse(run.stdout).sources[0] };
}

async function sign(artifact: Artifact, f: { keyFile: string; certFile: string }, ...extra: string[]) {
  return runCli([
    'sign',
    artifact.ref.replace(':v1', `@${artifact.target.digest}`),
    '--provider',
    'notation',
    '--notation-key',
    f.keyFile,
    '--notation-cert',
    f.certFile,
    '--format',
    'json',
    ...extra,
  ]);
}

beforeAll(async () => {
  host = sharedRegistryHost();
  client = new RegistryClient();
  work = mkdtempSync(join(tmpdir(), 'notation-sign-'));
  ca = await createCa({ key: 'ec-p384' });
  leaf = await issueLeaf(ca, { key: 'ec-p256', subject: SUBJECT });
});

describe('fluxgate sign --provider notation', () => {
  test('stores the signature manifest exactly as notation does, under the tag schema', async () => {
    const a = await pushArtifact('notation-sign/layout');
    const f = files('layout', leaf);
    const run = await sign(a, f);
    expect(run.stderr).not.toContain('error');
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout);
    expect(out.signatures).toEqual([
      {
        provider: 'notation',
        storage: 'referrer',
        ref: expect.stringMatching(/^sha256:/),
        signer: GO_SUBJECT,
        format: 'jws',
      },
    ]);
    const ref: string = out.signatures[0].ref;

    // The tag-schema index lists it with its artifactType and annotations.
    const index = (await client.getManifest(host, a.repo, a.target.digest.replace(':', '-'))).manifest;
    expect(index.manifests).toEqual([
      expect.objectContaining({
        digest: ref,
        mediaType: OCI_MANIFEST,
        artifactType: 'application/vnd.cncf.notary.signature',
      }),
    ]);

    const { manifest } = await client.getManifest(host, a.repo, ref);
    expect(Object.keys(manifest)).toEqual([
      'schemaVersion',
      'mediaType',
      'artifactType',
      'config',
      'layers',
      'subject',
      'annotations',
    ]);
    expect(manifest.schemaVersion).toBe(2);
    expect(manifest.mediaType).toBe(OCI_MANIFEST);
    expect(manifest.artifactType).toBe('application/vnd.cncf.notary.signature');
    expect(manifest.config).toEqual({
      mediaType: 'application/vnd.oci.empty.v1+json',
      digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
      size: 2,
      data: 'e30=',
    });
    expect(await client.getBlob(host, a.repo, manifest.config.digest)).toEqual(Buffer.from('{}'));
    expect(manifest.layers).toHaveLength(1);
    expect(Object.keys(manifest.layers[0])).toEqual(['mediaType', 'digest', 'size']);
    expect(manifest.layers[0].mediaType).toBe('application/jose+json');
    expect(manifest.subject).toEqual({
      mediaType: a.target.mediaType,
      digest: a.target.digest,
      size: a.target.size,
    });
    expect(Object.keys(manifest.annotations)).toEqual([
      'io.cncf.notary.x509chain.thumbprint#S256',
      'org.opencontainers.image.created',
    ]);
    expect(manifest.annotations['io.cncf.notary.x509chain.thumbprint#S256']).toBe(
      JSON.stringify([sha256(leaf.der), sha256(ca.der)]),
    );

    const envelope = await client.getBlob(host, a.repo, manifest.layers[0].digest);
    expect(manifest.layers[0].size).toBe(envelope.length);
    const env = JSON.parse(envelope.toString());
    expect(Object.keys(env)).toEqual(['payload', 'protected', 'header', 'signature']);
    const header = JSON.parse(Buffer.from(env.protected, 'base64url').toString());
    expect(Object.keys(header)).toEqual([
      'alg',
      'crit',
      'cty',
      'io.cncf.notary.signingScheme',
      'io.cncf.notary.signingTime',
    ]);
    expect(header).toMatchObject({
      alg: 'ES256',
      crit: ['io.cncf.notary.signingScheme'],
      cty: 'application/vnd.cncf.notary.payload.v1+json',
      'io.cncf.notary.signingScheme': 'notary.x509',
    });
    expect(header['io.cncf.notary.signingTime']).toBe(
      manifest.annotations['org.opencontainers.image.created'],
    );
    expect(header['io.cncf.notary.signingTime']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Buffer.from(env.payload, 'base64url').toString()).toBe(
      `{"targetArtifact":{"digest":"${a.target.digest}","mediaType":"${OCI_MANIFEST}","size":${a.target.size}}}`,
    );
    expect(env.header.x5c).toEqual([leaf.der.toString('base64'), ca.der.toString('base64')]);
    expect(env.header['io.cncf.notary.signingAgent']).toMatch(/^fluxgate\//);

    // An independent JOSE implementation accepts the envelope.
    const py = spawnSync(SYSTEM_PYTHON, [JWCRYPTO_VERIFY], { input: envelope, encoding: 'utf8' });
    expect(py.stderr).toBe('');
    expect(JSON.parse(py.stdout).targetArtifact.digest).toBe(a.target.digest);
  });

  test('verifies under strict, permissive and audit by the signer and its store; skip passes with a warning', async () => {
    const a = await pushArtifact('notation-sign/levels');
    const f = files('levels', leaf);
    expect((await sign(a, f)).code).toBe(0);
    for (const level of ['strict', 'permissive', 'audit'] as const) {
      const r = await verify(
        a,
        trustPolicy({
          level,
          scopes: [`${host}/${a.repo}`],
          identities: ['x509.subject: C=US, ST=WA, O=Fluxgate Test, CN=Fluxgate Test Signer'],
        }),
        f.trustStoreDir,
      );
      expect(r.source).toMatchObject({ verified: true, by: `${GO_SUBJECT} (ca:test)` });
      expect(r.code).toBe(0);
      expect(r.stderr).not.toContain('warning');
    }
    const skip = await verify(a, trustPolicy({ level: 'skip' }), f.trustStoreDir);
    expect(skip.source.verified).toBe(true);
    expect(skip.stderr).toContain(
      `warning: signature verification of ${host}/${a.repo} is skipped by trust policy statement "test"`,
    );
  });

  test.each<[KeyKind, 'jws' | 'cose', string]>([
    ['rsa-2048', 'cose', 'PS256'],
    ['rsa-3072', 'jws', 'PS384'],
    ['rsa-4096', 'cose', 'PS512'],
    ['ec-p256', 'cose', 'ES256'],
    ['ec-p384', 'jws', 'ES384'],
    ['ec-p521', 'jws', 'ES512'],
  ])('a %s key signs %s with %s and verifies', async (key, format, alg) => {
    const signer = await issueLeaf(ca, { key, subject: SUBJECT });
    const a = await pushArtifact(`notation-sign/alg-${key}`);
    const f = files(`alg-${key}`, signer);
    const run = await sign(a, f, '--signature-format', format);
    expect(run.code).toBe(0);
    const { manifest } = await client.getManifest(host, a.repo, JSON.parse(run.stdout).signatures[0].ref);
    const envelope = await client.getBlob(host, a.repo, manifest.layers[0].digest);
    if (format === 'cose') {
      expect(manifest.layers[0].mediaType).toBe('application/cose');
      expect(envelope[0]).toBe(0xd2); // COSE_Sign1_Tagged
      expect(openCose(envelope).alg).toBe(alg);
    } else {
      expect(
        JSON.parse(Buffer.from(JSON.parse(envelope.toString()).protected, 'base64url').toString()).alg,
      ).toBe(alg);
      expect(spawnSync(SYSTEM_PYTHON, [JWCRYPTO_VERIFY], { input: envelope }).status).toBe(0);
    }
    const r = await verify(a, trustPolicy({}), f.trustStoreDir);
    expect(r.source).toMatchObject({ verified: true, by: `${GO_SUBJECT} (ca:test)` });
  });

  test('push --sign notation --signature-format cose --expiry 24h signs the pushed artifact with an expiry', async () => {
    const f = files('push', leaf);
    const run = await runCli([
      'push',
      `oci://${host}/notation-sign/pushed:v1`,
      '--path',
      writeRepo({ 'a.yaml': 'a: 1\n' }),
      '--source',
      'https://example.com/x',
      '--revision',
      'main@sha1:0123456789abcdef0123456789abcdef01234567',
      '--sign',
      'notation',
      '--notation-key',
      f.keyFile,
      '--notation-cert',
      f.certFile,
      '--signature-format',
      'cose',
      '--expiry',
      '24h',
      '--format',
      'json',
    ]);
    expect(run.stderr).not.toContain('error');
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout);
    expect(out.signatures).toEqual([
      expect.objectContaining({ provider: 'notation', storage: 'referrer', format: 'cose' }),
    ]);
    const { manifest } = await client.getManifest(host, 'notation-sign/pushed', out.signatures[0].ref);
    const cose = await client.getBlob(host, 'notation-sign/pushed', manifest.layers[0].digest);
    const content = openCose(cose);
    // The protected header in deterministic order, as go-cose writes it.
    const sign1 = decode(cose.subarray(1), { useMaps: true, tags: [] }) as Uint8Array[];
    const protectedHeader = decode(sign1[0]!, {
      useMaps: true,
      tags: Object.assign([], { 1: (v: number) => v }),
    });
    expect([...(protectedHeader as Map<unknown, unknown>).keys()]).toEqual([
      1,
      2,
      3,
      'io.cncf.notary.expiry',
      'io.cncf.notary.signingTime',
      'io.cncf.notary.signingScheme',
    ]);
    expect(content.expiry!.getTime() - content.signingTime.getTime()).toBe(24 * 3600 * 1000);
    expect(
      (await verify(`oci://${host}/notation-sign/pushed:v1`, trustPolicy({}), f.trustStoreDir)).source
        .verified,
    ).toBe(true);
  });

  test('refuses to sign with a chain notation would refuse, naming the file', async () => {
    const a = await pushArtifact('notation-sign/refused');
    for (const [variant, message] of [
      ['expired', 'was not valid at signing time'],
      ['no-code-signing', 'extended key usage serverAuth is not allowed'],
      ['ca-leaf', 'is a CA certificate'],
    ] as const) {
      const f = files(`refused-${variant}`, await issueLeaf(ca, { key: 'ec-p256', variant }));
      const run = await sign(a, f);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`${f.certFile}:`);
      expect(run.stderr).toContain(message);
    }
    const noRoot = files('refused-no-root', leaf);
    writeFileSync(noRoot.certFile, leaf.pem);
    const run = await sign(a, noRoot);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('the chain must end in a root');
    const otherKey = files('refused-other-key', leaf);
    writeFileSync(otherKey.keyFile, (await issueLeaf(ca, { key: 'ec-p256' })).keyPem);
    const mismatch = await sign(a, otherKey);
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toContain('the key does not belong to the first certificate');
  });
});

describe('verification rejects what notation rejects', () => {
  /** Attaches an envelope signed as notation would, but with any chain and signing time. */
  async function attachCrafted(
    a: Artifact,
    signer: TestCertificate,
    options: { signingTime?: Date; alg?: string; target?: Artifact['target'] } = {},
  ) {
    const envelope = createJws({
      alg: 'ES256', // every crafted signer here has a P-256 key
      key: signer.key,
      certificates: signer.chainDer,
      payload: notationPayload(options.target ?? a.target),
      contentType: 'application/vnd.cncf.notary.payload.v1+json',
      signingTime: options.signingTime ?? new Date(Math.floor(Date.now() / 1000) * 1000),
      signingAgent: 'test',
    });
    await pushSignature(client, a.target, envelope, 'application/jose+json', {});
    return envelope;
  }

  test.each([
    [
      'untrusted root',
      async () => ({ signer: leaf, store: (await createCa({ key: 'ec-p256' })).pem, policy: {} }),
      'does not lead to a certificate in trust store(s) ca:test',
    ],
    [
      'wrong subject',
      async () => ({
        signer: leaf,
        policy: { identities: ['x509.subject: C=US, ST=WA, O=Fluxgate Test, CN=Someone Else'] },
      }),
      `signing certificate "${GO_SUBJECT}" does not match the trusted identities`,
    ],
    [
      'expired certificate',
      async () => ({
        signer: await issueLeaf(ca, { key: 'ec-p256', variant: 'expired' }),
        craft: { signingTime: new Date(Date.now() - 5 * 86400e3) },
        policy: {},
      }),
      'expired at',
    ],
    [
      'missing code-signing EKU',
      async () => ({
        signer: await issueLeaf(ca, { key: 'ec-p256', variant: 'no-code-signing' }),
        craft: {},
        policy: {},
      }),
      'extended key usage serverAuth is not allowed',
    ],
    [
      'CA:true signing certificate',
      async () => ({
        signer: await issueLeaf(ca, { key: 'ec-p256', variant: 'ca-leaf' }),
        craft: {},
        policy: {},
      }),
      'is a CA certificate',
    ],
    [
      'scope mismatch',
      async () => ({ signer: leaf, policy: { scopes: [`${host}/notation-sign/elsewhere`] } }),
      'no trust policy statement has registry scope',
    ],
  ] as Array<
    [
      string,
      () => Promise<{
        signer: TestCertificate;
        store?: string;
        craft?: { signingTime?: Date };
        policy: Parameters<typeof trustPolicy>[0];
      }>,
      string,
    ]
  >)('%s', async (name, setup, reason) => {
    const s = await setup();
    const a = await pushArtifact(`notation-bad/${name.replace(/\W+/g, '-').toLowerCase()}`);
    const f = files(`bad-${name.replace(/\W+/g, '-')}`, s.signer);
    if (s.craft) await attachCrafted(a, s.signer, s.craft);
    else expect((await sign(a, f)).code).toBe(0);
    if (s.store) writeFileSync(join(f.trustStoreDir, 'root.pem'), s.store);
    const r = await verify(a, trustPolicy(s.policy), f.trustStoreDir);
    expect(r.source.verified).toBe(false);
    expect(r.source.reason).toContain(reason);
    expect(r.code).toBe(1);
  });

  test('an expired certificate is only a warning under permissive (the spec logs authentic timestamp there)', async () => {
    const signer = await issueLeaf(ca, { key: 'ec-p256', variant: 'expired', subject: SUBJECT });
    const a = await pushArtifact('notation-bad/expired-permissive');
    const f = files('expired-permissive', signer);
    await attachCrafted(a, signer, { signingTime: new Date(Date.now() - 5 * 86400e3) });
    const r = await verify(a, trustPolicy({ level: 'permissive' }), f.trustStoreDir);
    expect(r.source.verified).toBe(true);
    expect(r.stderr).toMatch(
      /warning: .*authenticTimestamp \(logged by level permissive\): certificate ".*" expired at/,
    );
  });

  test('a signature of another artifact does not verify this one', async () => {
    const a = await pushArtifact('notation-bad/payload-a');
    const b = await pushArtifact('notation-bad/payload-b');
    const f = files('payload', leaf);
    // b's signature manifest carries a's descriptor in its payload.
    await attachCrafted(b, leaf, { target: a.target });
    const r = await verify(b, trustPolicy({}), f.trustStoreDir);
    expect(r.source.verified).toBe(false);
    expect(r.source.reason).toContain(`the signature is for ${OCI_MANIFEST} ${a.target.digest}`);
  });

  test('an unsupported algorithm (RS256) is rejected', async () => {
    const rsa = await issueLeaf(ca, { key: 'rsa-2048' });
    const a = await pushArtifact('notation-bad/rs256');
    const f = files('rs256', rsa);
    const protectedB64 = Buffer.from(
      JSON.stringify({
        alg: 'RS256',
        crit: ['io.cncf.notary.signingScheme'],
        cty: 'application/vnd.cncf.notary.payload.v1+json',
        'io.cncf.notary.signingScheme': 'notary.x509',
        'io.cncf.notary.signingTime': new Date().toISOString(),
      }),
    ).toString('base64url');
    const payloadB64 = notationPayload(a.target).toString('base64url');
    const { sign: rsaSign } = await import('node:crypto');
    const signature = rsaSign('sha256', Buffer.from(`${protectedB64}.${payloadB64}`), rsa.key).toString(
      'base64url',
    );
    const envelope = Buffer.from(
      JSON.stringify({
        payload: payloadB64,
        protected: protectedB64,
        header: { x5c: rsa.chainDer.map((d) => d.toString('base64')) },
        signature,
      }),
    );
    await pushSignature(client, a.target, envelope, 'application/jose+json', {});
    const r = await verify(a, trustPolicy({}), f.trustStoreDir);
    expect(r.source.verified).toBe(false);
    expect(r.source.reason).toContain('unsupported signature algorithm "RS256"');
  });

  test('at most three signatures are tried, and a good one among them wins', async () => {
    const stranger = await issueLeaf(await createCa({ key: 'ec-p256' }), { key: 'ec-p256' });
    const f = files('attempts', leaf);
    const few = await pushArtifact('notation-bad/attempts-few');
    await attachCrafted(few, stranger);
    expect((await sign(few, f)).code).toBe(0);
    expect((await verify(few, trustPolicy({}), f.trustStoreDir)).source.verified).toBe(true);

    const many = await pushArtifact('notation-bad/attempts-many');
    for (let i = 0; i < 3; i++)
      await attachCrafted(many, stranger, { signingTime: new Date(Date.now() - (i + 1) * 1000) });
    expect((await sign(many, f)).code).toBe(0);
    const r = await verify(many, trustPolicy({}), f.trustStoreDir);
    expect(r.source.verified).toBe(false);
    expect(r.source.reason).toContain('stopped after 3 of 4 signatures');
  });

  test('an invalid trust policy fails verification naming the file and the rule', async () => {
    const a = await pushArtifact('notation-bad/policy');
    const f = files('policy', leaf);
    expect((await sign(a, f)).code).toBe(0);
    const r = await verify(a, trustPolicy({}).replace('"1.0"', '"2.0"'), f.trustStoreDir);
    expect(r.source.verified).toBe(false);
    expect(r.source.reason).toMatch(/^trust policy .*policy-\w+\.json: unsupported version "2.0"/);
  });
});
