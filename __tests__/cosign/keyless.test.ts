import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import canonicalize from 'canonicalize';
import { parse } from 'yaml';
import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fallbackTag, RegistryClient, sha256Digest } from '../../src/oci/client.js';
import { OCI_INDEX, OCI_MANIFEST } from '../../src/oci/media-types.js';
import { signatureTag } from '../../src/sign/cosign/legacy.js';
import { runCli } from '../support/cli.js';
import { sharedRegistryHost } from '../support/registry.js';
import { writeRepo } from '../support/repo.js';
import { pushKeyless } from '../support/keyless.js';
import { startMockSigstore, type MockSigstore } from '../support/sigstore.js';
import { toolEnv } from '../support/tools.js';

const BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
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
    const out = await pushKeyless(sigstore, 'keyless/legacy');
    const { subject, issuer } = sigstore.identity;
    expect(sigstore.audiences).toContain('sigstore');
    expect(out.signatures).toEqual([
      {
        provider: 'cosign',
        storage: 'tag',
        ref: signatureTag(out.digest),
        signer: `keyless: ${subject} (${issuer})`,
        format: 'simplesigning',
        identity: { subject, issuer },
      },
    ]);
    // The printed OCIRepository verifies by that identity (Flux's regexps), and they work here too.
    const spec = parse(out.ociRepository).spec;
    expect(spec.verify).toEqual({
      provider: 'cosign',
      matchOIDCIdentity: [
        {
          issuer: '^https://token\\.actions\\.githubusercontent\\.com$',
          subject: '^https://github\\.com/octo/demo/\\.github/workflows/release\\.yml@refs/heads/main$',
        },
      ],
    });
    const byPrinted = await runCli([
      'verify',
      `oci://${host}/keyless/legacy:v1`,
      '--certificate-identity-regexp',
      spec.verify.matchOIDCIdentity[0].subject,
      '--certificate-oidc-issuer-regexp',
      spec.verify.matchOIDCIdentity[0].issuer,
      '--trusted-root',
      sigstore.trustedRootPath,
    ]);
    expect(byPrinted.code).toBe(0);
    const ok = await verify(`oci://${host}/keyless/legacy:v1`, subject, issuer);
    expect(ok.source).toMatchObject({ verified: true, by: `keyless: ${subject} (${issuer})` });
    expect(ok.code).toBe(0);

    // The layer as cosign writes it, checked without sigstore-js: openssl for the certificate
    // chain and the payload signature, RFC 8785 (canonicalize) + node:crypto for the SET.
    const client = new RegistryClient({ env: {} });
    const sig = (await client.getManifest(host, 'keyless/legacy', signatureTag(out.digest))).manifest;
    const [layer] = sig.layers;
    expect(layer.mediaType).toBe('application/vnd.dev.cosign.simplesigning.v1+json');
    const a = layer.annotations;
    expect(Object.keys(a).sort()).toEqual([
      'dev.cosignproject.cosign/signature',
      'dev.sigstore.cosign/bundle',
      'dev.sigstore.cosign/certificate',
      'dev.sigstore.cosign/chain',
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'fg-openssl-'));
    const payload = await client.getBlob(host, 'keyless/legacy', layer.digest);
    const root = JSON.parse(sigstore.trustedRootJson);
    const pem = (b64: string) =>
      `-----BEGIN CERTIFICATE-----\n${b64.replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;
    writeFileSync(
      join(dir, 'root.pem'),
      pem(root.certificateAuthorities[0].certChain.certificates[0].rawBytes),
    );
    writeFileSync(join(dir, 'leaf.pem'), a['dev.sigstore.cosign/certificate']);
    writeFileSync(join(dir, 'payload'), payload);
    writeFileSync(join(dir, 'sig'), Buffer.from(a['dev.cosignproject.cosign/signature'], 'base64'));
    const openssl = (...args: string[]) =>
      execFileSync('openssl', args, { cwd: dir, encoding: 'utf8' }).trim();
    expect(openssl('verify', '-partial_chain', '-CAfile', 'root.pem', 'leaf.pem')).toBe('leaf.pem: OK');
    openssl('x509', '-in', 'leaf.pem', '-pubkey', '-noout', '-out', 'leaf.pub');
    expect(openssl('dgst', '-sha256', '-verify', 'leaf.pub', '-signature', 'sig', 'payload')).toBe(
      'Verified OK',
    );
    const rekor = JSON.parse(a['dev.sigstore.cosign/bundle']);
    expect(Object.keys(rekor)).toEqual(['SignedEntryTimestamp', 'Payload']);
    expect(Object.keys(rekor.Payload)).toEqual(['body', 'integratedTime', 'logIndex', 'logID']);
    const rekorKey = createPublicKey({
      key: Buffer.from(root.tlogs[0].publicKey.rawBytes, 'base64'),
      format: 'der',
      type: 'spki',
    });
    expect(
      cryptoVerify(
        'sha256',
        Buffer.from(canonicalize(rekor.Payload)!),
        rekorKey,
        Buffer.from(rekor.SignedEntryTimestamp, 'base64'),
      ),
    ).toBe(true);
    const body = JSON.parse(Buffer.from(rekor.Payload.body, 'base64').toString());
    expect(body).toMatchObject({
      kind: 'hashedrekord',
      spec: {
        data: { hash: { algorithm: 'sha256', value: createHash('sha256').update(payload).digest('hex') } },
        signature: { content: a['dev.cosignproject.cosign/signature'] },
      },
    });
  });

  it('--bundle-format stores a sigstore bundle referrer that verify and @sigstore/verify accept', async () => {
    const host = sharedRegistryHost();
    const out = await pushKeyless(sigstore, 'keyless/bundle', ['--bundle-format']);
    // Both layouts: the .sig layer for every Flux version, the bundle for Flux >= 2.8.
    expect(out.signatures).toEqual([
      expect.objectContaining({ provider: 'cosign', storage: 'tag', format: 'simplesigning' }),
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
    // The referrer as cosign v3 writes it (pkg/oci/remote/write.go WriteReferrer).
    expect(manifest).toMatchObject({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: BUNDLE,
      config: {
        mediaType: 'application/vnd.oci.empty.v1+json',
        artifactType: BUNDLE,
        digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
        size: 2,
      },
      layers: [
        {
          mediaType: BUNDLE,
          annotations: {
            'org.opencontainers.image.title': expect.stringMatching(/^sha256-[0-9a-f]{64}\.sigstore\.json$/),
          },
        },
      ],
      subject: { digest: out.digest },
    });
    expect(manifest.annotations['org.opencontainers.image.created']).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
    );
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

  it('fluxgate sign --keyless twice keeps both signatures, in both layouts', async () => {
    const host = sharedRegistryHost();
    const pushed = JSON.parse(
      (
        await runCli([
          'push',
          `oci://${host}/keyless/twice:v1`,
          '--path',
          writeRepo({ 'b.yaml': 'b: 1\n' }),
          ...REV,
          '--format',
          'json',
        ])
      ).stdout,
    );
    const ref = `oci://${host}/keyless/twice@${pushed.digest}`;
    // Without --cosign-key, signing is keyless (as cosign; `sign: cosign` alone in the action).
    const sign = (...extra: string[]) =>
      runCli(['sign', ref, '--provider', 'cosign', ...sigstore.signFlags, ...extra], {
        env: actionsEnv(),
      });
    const client = new RegistryClient({ env: {} });
    const sigLayers = async () =>
      (await client.getManifest(host, 'keyless/twice', signatureTag(pushed.digest))).manifest.layers;
    expect((await sign()).code).toBe(0);
    expect((await sign()).code).toBe(0);
    expect(await sigLayers()).toHaveLength(2);
    expect(await client.referrers(host, 'keyless/twice', pushed.digest)).toHaveLength(0);
    expect((await sign('--bundle-format')).code).toBe(0);
    expect((await sign('--bundle-format')).code).toBe(0);
    const layers = await sigLayers();
    expect(layers).toHaveLength(4);
    expect(new Set(layers.map((l: any) => l.annotations['dev.cosignproject.cosign/signature'])).size).toBe(4);
    expect(await client.referrers(host, 'keyless/twice', pushed.digest)).toHaveLength(2);
    const { subject, issuer } = sigstore.identity;
    expect((await verify(ref, subject, issuer)).source.verified).toBe(true);
  });

  it('without `id-token: write` (no OIDC request variables) signing fails with one clear line', async () => {
    const host = sharedRegistryHost();
    const env = toolEnv();
    for (const k of ['ACTIONS_ID_TOKEN_REQUEST_URL', 'ACTIONS_ID_TOKEN_REQUEST_TOKEN', 'SIGSTORE_ID_TOKEN'])
      delete env[k];
    const r = await runCli(
      [
        'push',
        `oci://${host}/keyless/noperm:v1`,
        '--path',
        writeRepo({ 'c.yaml': 'c: 1\n' }),
        ...REV,
        '--sign',
        'cosign',
        '--keyless',
        ...sigstore.signFlags,
      ],
      { env },
    );
    expect(r.code).toBe(1);
    const lines = r.stderr
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('error'));
    expect(lines).toEqual([
      'error: cosign --keyless: no OIDC token: ACTIONS_ID_TOKEN_REQUEST_URL/ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set; give the job `permissions: id-token: write` (or set SIGSTORE_ID_TOKEN)',
    ]);
  });

  it('a token service that refuses the request is reported as such', async () => {
    const host = sharedRegistryHost();
    const env = toolEnv({ ...sigstore.oidcEnv, ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'not-the-runner-token' });
    const r = await runCli(
      [
        'push',
        `oci://${host}/keyless/refused:v1`,
        '--path',
        writeRepo({ 'd.yaml': 'd: 1\n' }),
        ...REV,
        '--sign',
        'cosign',
        '--keyless',
        ...sigstore.signFlags,
      ],
      { env },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('answered HTTP 401; does the job have `permissions: id-token: write`?');
    expect(r.stderr).not.toContain('not-the-runner-token');
  });
});

describe('bad keyless and bundle signatures are rejected, each with its reason', () => {
  const client = new RegistryClient({ env: {} });

  async function artifact(repo: string, tag: string) {
    const host = sharedRegistryHost();
    const r = await runCli([
      'push',
      `oci://${host}/${repo}:${tag}`,
      '--path',
      writeRepo({ 'x.yaml': `x: ${Math.random()}\n` }),
      ...REV,
      '--format',
      'json',
    ]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    const descriptor = (await client.headManifest(host, repo, out.digest))!;
    return { ref: `oci://${host}/${repo}@${out.digest}`, digest: out.digest as string, descriptor };
  }
  const signKeyless = async (ref: string, ...extra: string[]) =>
    expect(
      (
        await runCli(['sign', ref, '--provider', 'cosign', '--keyless', ...sigstore.signFlags, ...extra], {
          env: actionsEnv(),
        })
      ).code,
    ).toBe(0);

  it('wrong identity, wrong issuer, untrusted root, no signature: .sig layout and bundles', async () => {
    const id = sigstore.identity;
    const other = await startMockSigstore();
    await other.stop();
    for (const [repo, extra] of [
      ['keyless-bad/legacy', []],
      ['keyless-bad/bundle', ['--bundle-format']],
    ] as const) {
      const a = await artifact(repo, 'v1');
      expect((await verify(a.ref, id.subject, id.issuer)).source.reason).toBe('no cosign signature found');
      await signKeyless(a.ref, ...extra);
      expect((await verify(a.ref, id.subject, id.issuer)).source.verified).toBe(true);
      const wrongId = await verify(
        a.ref,
        'https://github.com/eve/x/.github/workflows/r.yml@refs/heads/main',
        id.issuer,
      );
      expect(wrongId.code).toBe(1);
      expect(wrongId.source.reason).toBe(
        `the certificate identity ${id.subject} (${id.issuer}) does not match https://github.com/eve/x/.github/workflows/r.yml@refs/heads/main (${id.issuer})`,
      );
      expect(wrongId.stderr).toContain(`${a.ref}: not verified: the certificate identity`);
      const wrongIssuer = await verify(a.ref, id.subject, 'https://accounts.google.com');
      expect(wrongIssuer.source.reason).toBe(
        `the certificate identity ${id.subject} (${id.issuer}) does not match ${id.subject} (https://accounts.google.com)`,
      );
      const rootFile = join(mkdtempSync(join(tmpdir(), 'fg-root-')), 'trusted_root.json');
      writeFileSync(rootFile, other.trustedRootJson);
      const untrusted = await runCli([
        'verify',
        a.ref,
        '--certificate-identity',
        id.subject,
        '--certificate-oidc-issuer',
        id.issuer,
        '--trusted-root',
        rootFile,
        '--format',
        'json',
      ]);
      expect(untrusted.code).toBe(1);
      expect(JSON.parse(untrusted.stdout).sources[0].reason).toMatch(
        /^the certificate does not chain to a trusted Fulcio root/,
      );
      // Regexps work as cosign's --certificate-identity-regexp (unanchored, Go-style).
      const re = await runCli([
        'verify',
        a.ref,
        '--certificate-identity-regexp',
        '^https://github\\.com/octo/demo/',
        '--certificate-oidc-issuer-regexp',
        'token\\.actions\\.githubusercontent\\.com',
        '--trusted-root',
        sigstore.trustedRootPath,
      ]);
      expect(re.code).toBe(0);
    }
    const badRe = await runCli([
      'verify',
      `oci://${sharedRegistryHost()}/keyless-bad/legacy:v1`,
      '--certificate-identity-regexp',
      '(unclosed',
      '--certificate-oidc-issuer',
      id.issuer,
    ]);
    expect(badRe.code).toBe(2);
    expect(badRe.stderr).toContain(
      'verify: --certificate-identity-regexp (unclosed: not a valid Go regular expression (error parsing regexp: missing closing ): `(unclosed`)',
    );
  });

  it('tampered payload, signature moved to another artifact, malformed bundle', async () => {
    const host = sharedRegistryHost();
    const repo = 'keyless-bad/tamper';
    const id = sigstore.identity;
    const reason = async (a: { ref: string }) => {
      const r = await verify(a.ref, id.subject, id.issuer);
      expect(r.code).toBe(1);
      return r.source.reason as string;
    };

    // .sig layout: the payload rewritten (another docker-reference), the annotations kept.
    const a = await artifact(repo, 'a');
    await signKeyless(a.ref);
    const sig = (await client.getManifest(host, repo, signatureTag(a.digest))).manifest;
    const payload = (await client.getBlob(host, repo, sig.layers[0].digest)).toString();
    const forged = await client.pushBlob(
      host,
      repo,
      Buffer.from(payload.replace(repo, 'keyless-bad/evil')),
      'application/vnd.dev.cosign.simplesigning.v1+json',
    );
    const tamperedSig = { ...sig, layers: [{ ...sig.layers[0], digest: forged.digest, size: forged.size }] };
    await client.putManifest(
      host,
      repo,
      signatureTag(a.digest),
      Buffer.from(JSON.stringify(tamperedSig)),
      OCI_MANIFEST,
    );
    expect(await reason(a)).toBe('the Rekor entry does not verify (digest mismatch)');

    // .sig layout: a's genuine signature image copied to another artifact's signature tag.
    const moved = await artifact(repo, 'moved');
    await client.putManifest(
      host,
      repo,
      signatureTag(moved.digest),
      Buffer.from(JSON.stringify(sig)),
      OCI_MANIFEST,
    );
    expect(await reason(moved)).toBe(`a signature is for another artifact (${a.digest})`);

    // Bundles: replace an artifact's referrers with one bundle (the tag-schema index by hand).
    const b = await artifact(repo, 'b');
    await signKeyless(b.ref, '--bundle-format');
    const [genuine] = await client.referrers(host, repo, b.digest);
    const referrer = (await client.getManifest(host, repo, genuine!.digest)).manifest;
    const bundleJson = (await client.getBlob(host, repo, referrer.layers[0].digest)).toString();
    const onlyBundle = async (target: { digest: string; descriptor: object }, json: string) => {
      const layer = await client.pushBlob(host, repo, Buffer.from(json), BUNDLE);
      const bytes = Buffer.from(JSON.stringify({ ...referrer, layers: [layer], subject: target.descriptor }));
      const digest = sha256Digest(bytes);
      await client.putManifest(host, repo, digest, bytes, OCI_MANIFEST);
      const index = {
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [{ mediaType: OCI_MANIFEST, digest, size: bytes.length, artifactType: BUNDLE }],
      };
      await client.putManifest(
        host,
        repo,
        fallbackTag(target.digest),
        Buffer.from(JSON.stringify(index)),
        OCI_INDEX,
      );
    };
    const bundle = JSON.parse(bundleJson);
    const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString());
    bundle.dsseEnvelope.payload = Buffer.from(
      JSON.stringify({ ...statement, predicate: { note: 'added later' } }),
    ).toString('base64');
    await onlyBundle(b, JSON.stringify(bundle));
    expect(await reason(b)).toBe('the Rekor entry does not verify (DSSE payload hash mismatch)');

    const c = await artifact(repo, 'c');
    await onlyBundle(c, bundleJson);
    expect(await reason(c)).toBe(`a signature is for another artifact (${b.digest})`);

    const d = await artifact(repo, 'd');
    // cosign's GetBundles skips a bundle it cannot parse; with none left, the (absent) .sig counts.
    await onlyBundle(d, '{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}');
    expect(await reason(d)).toBe('no cosign signature found');
  });

  it("a certificate from another Fulcio is refused, even with that Fulcio's root in the chain annotation", async () => {
    const host = sharedRegistryHost();
    const repo = 'keyless-bad/foreign';
    const other = await startMockSigstore();
    try {
      const f = await artifact(repo, 'f');
      const r = await runCli(['sign', f.ref, '--provider', 'cosign', '--keyless', ...other.signFlags], {
        env: toolEnv(other.oidcEnv),
      });
      expect(r.code).toBe(0);
      const sig = (await client.getManifest(host, repo, signatureTag(f.digest))).manifest;
      const otherRoot = JSON.parse(other.trustedRootJson).certificateAuthorities[0].certChain.certificates[0]
        .rawBytes as string;
      sig.layers[0].annotations['dev.sigstore.cosign/chain'] =
        `-----BEGIN CERTIFICATE-----\n${otherRoot.replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;
      await client.putManifest(
        host,
        repo,
        signatureTag(f.digest),
        Buffer.from(JSON.stringify(sig)),
        OCI_MANIFEST,
      );
      const id = sigstore.identity;
      const res = await verify(f.ref, id.subject, id.issuer);
      expect(res.code).toBe(1);
      expect(res.source.reason).toMatch(/^the certificate does not chain to a trusted Fulcio root/);
    } finally {
      await other.stop();
    }
  });

  it('bundles come first: when any exist, a valid .sig signature does not count', async () => {
    const repo = 'keyless-bad/both';
    const e = await artifact(repo, 'e');
    await signKeyless(e.ref);
    const id = sigstore.identity;
    expect((await verify(e.ref, id.subject, id.issuer)).source.verified).toBe(true);
    const keys = mkdtempSync(join(tmpdir(), 'fg-bkeys-'));
    const gen = await runCli(['generate-key-pair'], { cwd: keys, env: toolEnv({ COSIGN_PASSWORD: 'pw' }) });
    expect(gen.code).toBe(0);
    const signed = await runCli(
      ['sign', e.ref, '--provider', 'cosign', '--cosign-key', join(keys, 'cosign.key'), '--bundle-format'],
      { env: toolEnv({ COSIGN_PASSWORD: 'pw' }) },
    );
    expect(signed.code).toBe(0);
    // The key-based bundle verifies by key; the keyless identity now fails on the bundle alone.
    const byKey = await runCli(['verify', e.ref, '--key', join(keys, 'cosign.pub'), '--format', 'json']);
    expect(JSON.parse(byKey.stdout).sources[0]).toMatchObject({
      verified: true,
      by: join(keys, 'cosign.pub'),
    });
    const gen2 = await runCli(['generate-key-pair', '--output-key-prefix', 'other'], {
      cwd: keys,
      env: toolEnv({ COSIGN_PASSWORD: 'pw' }),
    });
    expect(gen2.code).toBe(0);
    const wrongKey = await runCli(['verify', e.ref, '--key', join(keys, 'other.pub'), '--format', 'json']);
    expect(wrongKey.code).toBe(1);
    expect(JSON.parse(wrongKey.stdout).sources[0].reason).toBe('no signature verifies with the given key');
    const keyless = await verify(e.ref, id.subject, id.issuer);
    expect(keyless.source.verified).toBe(false);
    expect(keyless.source.reason).toBe('a signature is key-based (no certificate); verify it with --key');
  });
});
