import { describe, expect, it } from '@jest/globals';
import { createPublicKey } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  readCosignPrivateKey,
  readPublicKey,
  writeCosignPrivateKey,
  generateCosignKeyPair,
} from '../../src/sign/cosign/keys.js';
import { verifyLayers, signatureTag } from '../../src/sign/cosign/legacy.js';
import { simpleSigningPayload, signPayload } from '../../src/sign/cosign/simple-signing.js';
import { RegistryClient } from '../../src/oci/client.js';
import { OCI_MANIFEST } from '../../src/oci/media-types.js';
import { runCli } from '../support/cli.js';
import { sharedRegistryHost } from '../support/registry.js';
import { writeRepo } from '../support/repo.js';
import { SYSTEM_PYTHON } from '../support/tools.js';
import { COSIGN_VECTORS, CONTAINERS_IMAGE_VECTORS, cosignVectorLayer } from '../support/signing.js';

const key = (file: string) => ({
  name: file,
  key: readPublicKey(readFileSync(join(CONTAINERS_IMAGE_VECTORS, file), 'utf8'), file),
});

describe('cosign signatures made by real cosign', () => {
  // The key+rekor fixture was signed with the key in cosign2.pub: its own Rekor entry
  // (hashedrekord publicKey) embeds that key, whatever the vectors' SOURCES.md says.
  it.each([
    ['dir-img-cosign-valid', 'cosign.pub', 'cosign2.pub'],
    ['dir-img-cosign-key-rekor-valid', 'cosign2.pub', 'cosign.pub'],
  ])('%s verifies with %s and not with %s', (dir, signer, other) => {
    const { digest, layer } = cosignVectorLayer(dir);
    expect(verifyLayers([layer], digest, [key(signer)])).toEqual({
      verified: true,
      provider: 'cosign',
      by: signer,
    });
    const wrong = verifyLayers([layer], digest, [key(other)]);
    expect(wrong).toMatchObject({ verified: false, reason: 'no signature verifies with the given key' });
    // Any of several keys is enough, as with a Flux verify Secret holding several *.pub keys.
    expect(verifyLayers([layer], digest, [key(other), key(signer)]).by).toBe(signer);
  });

  it('the key+rekor fixture names its signer in its Rekor entry', () => {
    const { layer } = cosignVectorLayer('dir-img-cosign-key-rekor-valid');
    const bundle = JSON.parse(layer.annotations['dev.sigstore.cosign/bundle']!);
    const body = JSON.parse(Buffer.from(bundle.Payload.body, 'base64').toString());
    const embedded = Buffer.from(body.spec.signature.publicKey.content, 'base64').toString();
    expect(embedded.trim()).toBe(readFileSync(join(CONTAINERS_IMAGE_VECTORS, 'cosign2.pub'), 'utf8').trim());
  });

  it('refuses a real signature presented for another digest and a tampered payload', () => {
    const { digest, layer } = cosignVectorLayer('dir-img-cosign-valid');
    const other = `sha256:${'0'.repeat(64)}`;
    expect(verifyLayers([layer], other, [key('cosign.pub')]).reason).toBe(
      `a signature is for another artifact (${digest})`,
    );
    const tampered = {
      ...layer,
      payload: Buffer.from(layer.payload.toString().replace('"optional":null', '"optional":{}')),
    };
    expect(verifyLayers([tampered], digest, [key('cosign.pub')]).verified).toBe(false);
  });

  it("loads cosign's own key files (password hello) and rejects the SEC1 one as cosign does", () => {
    const keys = readFileSync(join(COSIGN_VECTORS, 'cosign-keys.txt'), 'utf8')
      .split(/^===.*$/m)
      .map((k) => k.trim())
      .filter(Boolean);
    expect(keys).toHaveLength(3);
    expect(readCosignPrivateKey(keys[0]!, 'hello').asymmetricKeyDetails).toEqual({
      namedCurve: 'prime256v1',
    });
    expect(() => readCosignPrivateKey(keys[1]!, 'hello')).toThrow('not PKCS#8');
    expect(readCosignPrivateKey(keys[2]!, 'hello').asymmetricKeyType).toBe('ec');
    expect(() => readCosignPrivateKey(keys[0]!, 'wrong')).toThrow('wrong password');
  });
});

describe('our cosign keys and signatures, checked by independent tools', () => {
  it("decrypt with Debian's python3 (hashlib.scrypt + nacl SecretBox) to the same key", () => {
    const dir = mkdtempSync(join(tmpdir(), 'fg-keys-'));
    const r = spawnSync(process.execPath, [join(process.cwd(), 'dist', 'cli.js'), 'generate-key-pair'], {
      cwd: dir,
      env: { ...process.env, COSIGN_PASSWORD: 's3cret' },
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    const script = `
import base64, hashlib, json, re, sys, nacl.secret
pem = open(sys.argv[1]).read()
body = json.loads(base64.b64decode(''.join(re.search(r'-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----(.*?)-----END', pem, re.S).group(1).split())))
p = body['kdf']['params']
key = hashlib.scrypt(b's3cret', salt=base64.b64decode(body['kdf']['salt']), n=p['N'], r=p['r'], p=p['p'], dklen=32, maxmem=2**30)
der = nacl.secret.SecretBox(key).decrypt(base64.b64decode(body['ciphertext']), base64.b64decode(body['cipher']['nonce']))
from cryptography.hazmat.primitives.serialization import load_der_private_key, Encoding, PublicFormat
print(load_der_private_key(der, None).public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode(), end='')
`;
    const pub = execFileSync(SYSTEM_PYTHON, ['-c', script, join(dir, 'cosign.key')], { encoding: 'utf8' });
    expect(pub).toBe(readFileSync(join(dir, 'cosign.pub'), 'utf8'));
  });

  it('sign with openssl dgst -sha256 -verify over the payload bytes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fg-openssl-'));
    const privateKey = readCosignPrivateKey(writeCosignPrivateKey(generateCosignKeyPair(), 'pw'), 'pw');
    const payload = simpleSigningPayload('ghcr.io/acme/app', `sha256:${'b'.repeat(64)}`);
    expect(payload.toString()).toBe(
      `{"critical":{"identity":{"docker-reference":"ghcr.io/acme/app"},"image":{"docker-manifest-digest":"sha256:${'b'.repeat(64)}"},"type":"cosign container image signature"},"optional":null}`,
    );
    writeFileSync(join(dir, 'payload'), payload);
    writeFileSync(join(dir, 'sig'), signPayload(payload, privateKey));
    writeFileSync(join(dir, 'pub.pem'), createPublicKey(privateKey).export({ format: 'pem', type: 'spki' }));
    const out = execFileSync(
      'openssl',
      [
        'dgst',
        '-sha256',
        '-verify',
        join(dir, 'pub.pem'),
        '-signature',
        join(dir, 'sig'),
        join(dir, 'payload'),
      ],
      {
        encoding: 'utf8',
      },
    );
    expect(out.trim()).toBe('Verified OK');
  });
});

describe('push --sign cosign, sign and verify against the registry', () => {
  const REV = [
    '--source',
    'https://example.com/x',
    '--revision',
    'main@sha1:0123456789abcdef0123456789abcdef01234567',
  ];
  const keys = () => {
    const dir = mkdtempSync(join(tmpdir(), 'fg-pair-'));
    for (const name of ['one', 'two']) {
      const r = spawnSync(
        process.execPath,
        [join(process.cwd(), 'dist', 'cli.js'), 'generate-key-pair', '--output-key-prefix', name],
        {
          cwd: dir,
          env: { ...process.env, COSIGN_PASSWORD: 'pw' },
        },
      );
      expect(r.status).toBe(0);
    }
    return dir;
  };

  it('signs on push, verifies by key, keeps both signatures when signed twice, and survives a skopeo copy', async () => {
    const host = sharedRegistryHost();
    const k = keys();
    const env = { ...process.env, COSIGN_PASSWORD: 'pw' };
    const content = writeRepo({ 'a.yaml': 'a: 1\n' });
    const pushed = await runCli(
      [
        'push',
        `oci://${host}/cosign-test/app:v1`,
        '--path',
        content,
        ...REV,
        '--sign',
        'cosign',
        '--cosign-key',
        join(k, 'one.key'),
        '--format',
        'json',
      ],
      { env },
    );
    expect(pushed.stderr).not.toContain('error');
    expect(pushed.code).toBe(0);
    const out = JSON.parse(pushed.stdout);
    expect(out.signatures).toEqual([
      expect.objectContaining({ provider: 'cosign', storage: 'tag', ref: signatureTag(out.digest) }),
    ]);
    expect(out.ociRepository).toContain('provider: cosign');

    const verify = (...keyFiles: string[]) =>
      runCli([
        'verify',
        `oci://${host}/cosign-test/app:v1`,
        '--provider',
        'cosign',
        ...keyFiles.flatMap((f) => ['--key', join(k, f)]),
        '--format',
        'json',
      ]);
    const good = await verify('one.pub');
    expect(good.code).toBe(0);
    expect(JSON.parse(good.stdout).sources[0]).toMatchObject({
      verified: true,
      by: join(k, 'one.pub'),
      digest: out.digest,
    });
    const bad = await verify('two.pub');
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout).sources[0]).toMatchObject({
      verified: false,
      reason: 'no signature verifies with the given key',
    });

    const again = await runCli(
      [
        'sign',
        `oci://${host}/cosign-test/app@${out.digest}`,
        '--provider',
        'cosign',
        '--cosign-key',
        join(k, 'two.key'),
      ],
      { env },
    );
    expect(again.code).toBe(0);
    expect((await verify('one.pub')).code).toBe(0);
    expect((await verify('two.pub')).code).toBe(0);
    const sig = JSON.parse(
      execFileSync(
        'skopeo',
        [
          'inspect',
          '--raw',
          '--tls-verify=false',
          `docker://${host}/cosign-test/app:${signatureTag(out.digest)}`,
        ],
        { encoding: 'utf8' },
      ),
    );
    expect(sig.layers.map((l: any) => l.mediaType)).toEqual([
      'application/vnd.dev.cosign.simplesigning.v1+json',
      'application/vnd.dev.cosign.simplesigning.v1+json',
    ]);

    // skopeo copies the signature too (and rewrites the signature manifest's config): it still verifies.
    const regd = mkdtempSync(join(tmpdir(), 'fg-regd-'));
    writeFileSync(join(regd, 'local.yaml'), `docker:\n  ${host}:\n    use-sigstore-attachments: true\n`);
    execFileSync(
      'skopeo',
      [
        '--registries.d',
        regd,
        'copy',
        '--src-tls-verify=false',
        '--dest-tls-verify=false',
        `docker://${host}/cosign-test/app:v1`,
        `docker://${host}/cosign-test/copied:v1`,
      ],
      { stdio: 'ignore' },
    );
    const copied = await runCli([
      'verify',
      `oci://${host}/cosign-test/copied:v1`,
      '--key',
      join(k, 'one.pub'),
    ]);
    expect(copied.code).toBe(0);
  });

  it('rejects: no signature, a signature moved to another artifact, a malformed signature manifest', async () => {
    const host = sharedRegistryHost();
    const k = keys();
    const env = { ...process.env, COSIGN_PASSWORD: 'pw' };
    const a = JSON.parse(
      (
        await runCli(
          [
            'push',
            `oci://${host}/cosign-bad/a:v1`,
            '--path',
            writeRepo({ 'a.yaml': 'a: 1\n' }),
            ...REV,
            '--sign',
            'cosign',
            '--cosign-key',
            join(k, 'one.key'),
            '--format',
            'json',
          ],
          { env },
        )
      ).stdout,
    );
    const b = JSON.parse(
      (
        await runCli([
          'push',
          `oci://${host}/cosign-bad/a:v2`,
          '--path',
          writeRepo({ 'b.yaml': 'b: 1\n' }),
          ...REV,
          '--format',
          'json',
        ])
      ).stdout,
    );
    const verifyB = () =>
      runCli(['verify', `oci://${host}/cosign-bad/a:v2`, '--key', join(k, 'one.pub'), '--format', 'json']);
    expect(JSON.parse((await verifyB()).stdout).sources[0].reason).toBe('no cosign signature found');

    const client = new RegistryClient({ env: {} });
    const { bytes } = await client.getManifest(host, 'cosign-bad/a', signatureTag(a.digest));
    await client.putManifest(host, 'cosign-bad/a', signatureTag(b.digest), bytes, OCI_MANIFEST);
    const moved = await verifyB();
    expect(moved.code).toBe(1);
    expect(JSON.parse(moved.stdout).sources[0].reason).toBe(
      `a signature is for another artifact (${a.digest})`,
    );

    // A signature layer whose payload is not a cosign payload.
    const junk = await client.pushBlob(
      host,
      'cosign-bad/a',
      Buffer.from('not json'),
      'application/vnd.dev.cosign.simplesigning.v1+json',
    );
    const config = await client.pushBlob(
      host,
      'cosign-bad/a',
      Buffer.from('{}'),
      'application/vnd.oci.image.config.v1+json',
    );
    const malformedManifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config,
      layers: [{ ...junk, annotations: { 'dev.cosignproject.cosign/signature': 'AAAA' } }],
    };
    await client.putManifest(
      host,
      'cosign-bad/a',
      signatureTag(b.digest),
      Buffer.from(JSON.stringify(malformedManifest)),
      OCI_MANIFEST,
    );
    const malformed = await verifyB();
    expect(malformed.code).toBe(1);
    expect(JSON.parse(malformed.stdout).sources[0].reason).toBe('the payload is not JSON');
  });
});
