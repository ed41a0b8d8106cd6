import { beforeAll, describe, expect, it } from '@jest/globals';
import { bundleToJSON } from '@sigstore/bundle';
import { DSSEBundleBuilder } from '@sigstore/sign';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { fallbackTag, RegistryClient, sha256Digest } from '../../src/oci/client.js';
import { OCI_INDEX, OCI_MANIFEST } from '../../src/oci/media-types.js';
import {
  bundleProblem,
  bundleVersion,
  IN_TOTO_PAYLOAD_TYPE,
  pushBundle,
  SIGN_PREDICATE_TYPE,
  signStatement,
} from '../../src/sign/cosign/bundle-format.js';
import { createBundle, keySigner } from '../../src/sign/cosign/keyless.js';
import { readCosignPrivateKey } from '../../src/sign/cosign/keys.js';
import { runCli } from '../support/cli.js';
import {
  caseArtifact,
  caseFile,
  DEFAULT_IDENTITY,
  DEFAULT_ISSUER,
  PUBLIC_GOOD_ROOT,
} from '../support/conformance.js';
import { sharedRegistryHost } from '../support/registry.js';
import { cosignKeyPairs, KEY_PASSWORD, pushTestArtifact, signingEnv } from '../support/signing.js';

/**
 * Bundle discovery as cosign's GetBundles and source-controller's Verify do it: every referrer
 * is read, bundles that do not parse or are older than v0.3 are skipped, and the `.sig` layers
 * count only when no bundle survives.
 */
const client = new RegistryClient({ env: {} });
const REPO = 'discovery/app';
let keys: string;
beforeAll(async () => {
  keys = await cosignKeyPairs('cosign');
});

async function unsigned(tag: string) {
  const host = sharedRegistryHost();
  const out = await pushTestArtifact(`oci://${host}/${REPO}:${tag}`, { 'a.yaml': `a: ${Math.random()}\n` });
  const descriptor = (await client.headManifest(host, REPO, out.digest))!;
  return {
    ref: `oci://${host}/${REPO}@${out.digest}`,
    target: { registry: host, repository: REPO, ...descriptor },
  };
}

/** A key-based cosign v3 bundle (DSSE over the sign statement) for `digest`, as JSON. */
async function keyBundle(digest: string): Promise<Record<string, unknown>> {
  const key = readCosignPrivateKey(
    readFileSync(join(keys, 'cosign.key'), 'utf8'),
    KEY_PASSWORD,
    'cosign.key',
  );
  const bundle = await createBundle(
    new DSSEBundleBuilder({ signer: keySigner(key), witnesses: [] }),
    { data: signStatement(digest), type: IN_TOTO_PAYLOAD_TYPE },
    {},
  );
  return bundleToJSON(bundle) as Record<string, unknown>;
}

const verifyByKey = async (ref: string) => {
  const r = await runCli(['verify', ref, '--key', join(keys, 'cosign.pub'), '--format', 'json']);
  return { code: r.code, source: JSON.parse(r.stdout).sources[0] };
};

describe('bundle versions as sigstore-go reads media types', () => {
  it.each([
    ['application/vnd.dev.sigstore.bundle+json;version=0.1', [0, 1, 0]],
    ['application/vnd.dev.sigstore.bundle+json;version=0.3', [0, 3, 0]],
    ['application/vnd.dev.sigstore.bundle.v0.3+json', [0, 3, 0]],
    ['application/vnd.dev.sigstore.bundle.v0.3.2+json', [0, 3, 2]],
    ['application/vnd.dev.sigstore.bundle.v03+json', undefined],
    ['application/vnd.dev.sigstore.bundle+json;version=0.4', undefined],
    ['application/json', undefined],
  ])('%s → %j', (mediaType, version) => {
    expect(bundleVersion(mediaType)).toEqual(version);
  });
});

describe('bundle discovery against the registry', () => {
  it('a v0.2 bundle and no .sig: no signature, as Flux finds none; the same bundle at v0.3 verifies', async () => {
    const a = await unsigned('v02');
    const bundle = await keyBundle(a.target.digest);
    const v02 = JSON.stringify({
      ...bundle,
      mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.2',
    });
    expect(bundleProblem(v02)).toBe(
      'bundle version application/vnd.dev.sigstore.bundle+json;version=0.2 is older than v0.3',
    );
    await pushBundle(client, a.target, v02, SIGN_PREDICATE_TYPE);
    expect(await verifyByKey(a.ref)).toEqual({
      code: 1,
      source: expect.objectContaining({ verified: false, reason: 'no cosign signature found' }),
    });
    await pushBundle(client, a.target, JSON.stringify(bundle), SIGN_PREDICATE_TYPE);
    expect(await verifyByKey(a.ref)).toEqual({
      code: 0,
      source: expect.objectContaining({ verified: true, by: join(keys, 'cosign.pub') }),
    });
  });

  it('a valid .sig beside a malformed bundle, a v0.4 bundle and a non-bundle referrer: passes by the .sig', async () => {
    const b = await unsigned('sig-beside-junk');
    const signed = await runCli(
      ['sign', b.ref, '--provider', 'cosign', '--cosign-key', join(keys, 'cosign.key')],
      { env: signingEnv() },
    );
    expect(signed.code).toBe(0);
    const bundle = await keyBundle(b.target.digest);
    await pushBundle(
      client,
      b.target,
      '{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}',
      SIGN_PREDICATE_TYPE,
    );
    await pushBundle(client, b.target, 'not json', SIGN_PREDICATE_TYPE);
    await pushBundle(
      client,
      b.target,
      JSON.stringify({ ...bundle, mediaType: 'application/vnd.dev.sigstore.bundle.v0.4+json' }),
      SIGN_PREDICATE_TYPE,
    );
    const host = b.target.registry;
    const sbom = await client.pushBlob(
      host,
      REPO,
      Buffer.from('{"spdxVersion":"SPDX-2.3"}'),
      'application/spdx+json',
    );
    const empty = await client.pushBlob(host, REPO, Buffer.from('{}'), 'application/vnd.oci.empty.v1+json');
    const sbomManifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: 'application/spdx+json',
      config: empty,
      layers: [sbom],
      subject: { mediaType: b.target.mediaType, digest: b.target.digest, size: b.target.size },
    };
    await client.pushReferrer(host, REPO, Buffer.from(JSON.stringify(sbomManifest)), OCI_MANIFEST);
    const referrers = await client.referrers(host, REPO, b.target.digest);
    expect(referrers).toHaveLength(4);
    expect(await verifyByKey(b.ref)).toEqual({
      code: 0,
      source: expect.objectContaining({ verified: true, by: join(keys, 'cosign.pub') }),
    });
  });

  it('a bundle whose index descriptor has no artifactType still counts, as cosign reads every referrer', async () => {
    const host = sharedRegistryHost();
    const c = await unsigned('no-artifact-type');
    const json = Buffer.from(JSON.stringify(await keyBundle(c.target.digest)));
    const layer = await client.pushBlob(host, REPO, json, 'application/vnd.dev.sigstore.bundle.v0.3+json');
    const config = await client.pushBlob(host, REPO, Buffer.from('{}'), 'application/vnd.oci.empty.v1+json');
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config,
        layers: [layer],
        subject: { mediaType: c.target.mediaType, digest: c.target.digest, size: c.target.size },
      }),
    );
    const digest = sha256Digest(manifest);
    await client.putManifest(host, REPO, digest, manifest, OCI_MANIFEST);
    const index = {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ mediaType: OCI_MANIFEST, digest, size: manifest.length }],
    };
    await client.putManifest(
      host,
      REPO,
      fallbackTag(c.target.digest),
      Buffer.from(JSON.stringify(index)),
      OCI_INDEX,
    );
    expect(await verifyByKey(c.ref)).toEqual({
      code: 0,
      source: expect.objectContaining({ verified: true, by: join(keys, 'cosign.pub') }),
    });
  });
});

/**
 * A referrer of `subject` holding one layer of `bytes` under `mediaType`, as cosign v3 writes a
 * bundle (pkg/oci/remote/write.go WriteAttestationNewBundleFormat) but with any layer content.
 */
async function pushBundleLayer(
  host: string,
  repo: string,
  subject: { mediaType: string; digest: string; size: number },
  bytes: Buffer,
  mediaType = 'application/vnd.dev.sigstore.bundle.v0.3+json',
) {
  const layer = await client.pushBlob(host, repo, bytes, mediaType);
  const config = await client.pushBlob(host, repo, Buffer.from('{}'), 'application/vnd.oci.empty.v1+json');
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    config,
    layers: [layer],
    subject,
  };
  await client.pushReferrer(host, repo, Buffer.from(JSON.stringify(manifest)), OCI_MANIFEST);
}

/** Every key renamed to its proto field name, which protojson accepts as well as lowerCamel. */
function protoFieldNames(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(protoFieldNames);
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k === 'payloadType' ? k : k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`),
      protoFieldNames(v),
    ]),
  );
}

describe('bundles parsed as protojson parses them (cosign ociremote.Bundle)', () => {
  // sigstore-conformance happy-path-intoto-in-dsse-v3: a keyless v0.3 DSSE bundle over a.txt.
  const CASE = 'happy-path-intoto-in-dsse-v3';
  const conformance = () => JSON.parse(caseFile(CASE, 'bundle.sigstore.json')!.toString('utf8'));
  const keyless = [
    '--certificate-identity',
    DEFAULT_IDENTITY,
    '--certificate-oidc-issuer',
    DEFAULT_ISSUER,
    '--trusted-root',
    PUBLIC_GOOD_ROOT,
    '--format',
    'json',
  ];
  const verifyKeyless = async (ref: string) => {
    const r = await runCli(['verify', ref, ...keyless]);
    return { code: r.code, source: JSON.parse(r.stdout).sources[0] };
  };

  it('alone, a conformance bundle with an unknown field is no signature; under proto field names it verifies', async () => {
    const host = sharedRegistryHost();
    const artifact = caseArtifact(CASE);
    const subject = {
      mediaType: OCI_MANIFEST,
      digest: `sha256:${createHash('sha256').update(artifact).digest('hex')}`,
      size: artifact.length,
    };
    const unknown = {
      ...conformance(),
      verificationMaterial: { ...conformance().verificationMaterial, note: 'x' },
    };
    await pushBundleLayer(host, 'protojson/unknown', subject, Buffer.from(JSON.stringify(unknown)));
    expect(await verifyKeyless(`oci://${host}/protojson/unknown@${subject.digest}`)).toEqual({
      code: 1,
      source: expect.objectContaining({ verified: false, reason: 'no cosign signature found' }),
    });
    const renamed = protoFieldNames(conformance()) as Record<string, unknown>;
    expect(renamed).toHaveProperty('verification_material');
    await pushBundleLayer(host, 'protojson/renamed', subject, Buffer.from(JSON.stringify(renamed)));
    expect(await verifyKeyless(`oci://${host}/protojson/renamed@${subject.digest}`)).toEqual({
      code: 0,
      source: expect.objectContaining({ verified: true }),
    });
  });

  it('beside a valid .sig, the bundle with an unknown field is skipped and the .sig verifies; without it, the bundle counts and fails', async () => {
    const host = sharedRegistryHost();
    const withField = await unsigned('protojson-sig');
    const without = await unsigned('protojson-sig-control');
    for (const a of [withField, without]) {
      const signed = await runCli(
        ['sign', a.ref, '--provider', 'cosign', '--cosign-key', join(keys, 'cosign.key')],
        { env: signingEnv() },
      );
      expect(signed.code).toBe(0);
    }
    await pushBundleLayer(
      host,
      REPO,
      withField.target,
      Buffer.from(JSON.stringify({ ...conformance(), extra: true })),
    );
    await pushBundleLayer(host, REPO, without.target, Buffer.from(JSON.stringify(conformance())));
    expect(await verifyByKey(withField.ref)).toEqual({
      code: 0,
      source: expect.objectContaining({ verified: true, by: join(keys, 'cosign.pub') }),
    });
    expect(await verifyByKey(without.ref)).toEqual({
      code: 1,
      source: expect.objectContaining({
        verified: false,
        reason: expect.stringContaining('another artifact'),
      }),
    });
  });
});

describe('compressed bundle layers, uncompressed as go-containerregistry does (Layer.Uncompressed)', () => {
  it('a gzip or zstd bundle layer verifies whatever its media type says; one past --max-artifact-size is skipped', async () => {
    const host = sharedRegistryHost();
    const cases = [
      ['gzip', gzipSync, 'application/vnd.dev.sigstore.bundle.v0.3+json'],
      ['gzip-type', gzipSync, 'application/vnd.dev.sigstore.bundle.v0.3+json+gzip'],
      ['zstd', zstdCompressSync, 'application/vnd.dev.sigstore.bundle.v0.3+json'],
    ] as const;
    for (const [tag, compress, mediaType] of cases) {
      const a = await unsigned(`compressed-${tag}`);
      const json = Buffer.from(JSON.stringify(await keyBundle(a.target.digest)));
      await pushBundleLayer(host, REPO, a.target, compress(json), mediaType);
      expect({ tag, ...(await verifyByKey(a.ref)) }).toEqual({
        tag,
        code: 0,
        source: expect.objectContaining({ verified: true, by: join(keys, 'cosign.pub') }),
      });
    }
    // A bundle padded with whitespace to 2 MiB compresses to a few KiB: over a 1Mi cap, the
    // layer cannot be read, so the bundle is skipped and nothing else signs the artifact.
    const big = await unsigned('compressed-big');
    const padded = Buffer.from(
      JSON.stringify(await keyBundle(big.target.digest)) + ' '.repeat(2 * 1024 * 1024),
    );
    const layer = gzipSync(padded);
    expect(layer.length).toBeLessThan(64 * 1024);
    await pushBundleLayer(host, REPO, big.target, layer);
    const capped = await runCli([
      'verify',
      big.ref,
      '--key',
      join(keys, 'cosign.pub'),
      '--max-artifact-size',
      '1Mi',
      '--format',
      'json',
    ]);
    expect({ code: capped.code, source: JSON.parse(capped.stdout).sources[0] }).toEqual({
      code: 1,
      source: expect.objectContaining({ verified: false, reason: 'no cosign signature found' }),
    });
    expect(await verifyByKey(big.ref)).toEqual({
      code: 0,
      source: expect.objectContaining({ verified: true }),
    });
  });

  it('a gzip of two members verifies (Go reads multistream gzip); bytes after the stream make the layer unreadable', async () => {
    const host = sharedRegistryHost();
    const members = await unsigned('compressed-members');
    const json = JSON.stringify(await keyBundle(members.target.digest));
    const half = Math.floor(json.length / 2);
    await pushBundleLayer(
      host,
      REPO,
      members.target,
      Buffer.concat([gzipSync(json.slice(0, half)), gzipSync(json.slice(half))]),
    );
    expect(await verifyByKey(members.ref)).toEqual({
      code: 0,
      source: expect.objectContaining({ verified: true, by: join(keys, 'cosign.pub') }),
    });
    const trailing = [
      ['gzip-zero-padding', (b: Buffer) => Buffer.concat([gzipSync(b), Buffer.alloc(512)])],
      ['zstd-garbage', (b: Buffer) => Buffer.concat([zstdCompressSync(b), Buffer.from('junk')])],
    ] as const;
    for (const [tag, layer] of trailing) {
      const a = await unsigned(`compressed-${tag}`);
      const bundle = Buffer.from(JSON.stringify(await keyBundle(a.target.digest)));
      await pushBundleLayer(host, REPO, a.target, layer(bundle));
      expect({ tag, ...(await verifyByKey(a.ref)) }).toEqual({
        tag,
        code: 1,
        source: expect.objectContaining({ verified: false, reason: 'no cosign signature found' }),
      });
    }
  });
});
