import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { join } from 'node:path';
import { fallbackTag, RegistryClient, sha256Digest } from '../../src/oci/client.js';
import { OCI_INDEX, OCI_MANIFEST } from '../../src/oci/media-types.js';
import { runCli } from '../support/cli.js';
import { sharedRegistryHost } from '../support/registry.js';
import { writeRepo } from '../support/repo.js';
import { cosignKeyPairs, KEY_PASSWORD } from '../support/signing.js';
import { startMockSigstore, type MockSigstore } from '../support/sigstore.js';
import { toolEnv } from '../support/tools.js';

const BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const SLSA = 'https://slsa.dev/provenance/v1';
const WORKFLOW = 'octo/demo/.github/workflows/release.yml@refs/tags/v1.2.3';
const SHA = '0123456789abcdef0123456789abcdef01234567';

let sigstore: MockSigstore;
beforeAll(async () => {
  sigstore = await startMockSigstore({ workflowRef: WORKFLOW });
});
afterAll(() => sigstore?.stop());

/** A release job's environment: the Actions context, `id-token: write`, nothing else of ours. */
const runEnv = (extra: NodeJS.ProcessEnv = {}) => {
  const env = toolEnv({
    ...sigstore.oidcEnv,
    GITHUB_ACTIONS: 'true',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: 'octo/demo',
    GITHUB_WORKFLOW_REF: WORKFLOW,
    GITHUB_REF: 'refs/tags/v1.2.3',
    GITHUB_REF_NAME: 'v1.2.3',
    GITHUB_SHA: SHA,
    GITHUB_EVENT_NAME: 'push',
    GITHUB_REPOSITORY_ID: '42',
    GITHUB_REPOSITORY_OWNER_ID: '7',
    RUNNER_ENVIRONMENT: 'github-hosted',
    GITHUB_RUN_ID: '1001',
    GITHUB_RUN_ATTEMPT: '2',
    ...extra,
  });
  delete env.SIGSTORE_ID_TOKEN;
  return env;
};

async function pushAttested(repo: string) {
  const host = sharedRegistryHost();
  const r = await runCli(
    [
      'push',
      `oci://${host}/${repo}:v1.2.3`,
      '--path',
      writeRepo({ 'deploy/app.yaml': `kind: ConfigMap\nid: ${Math.random()}\n` }),
      '--attest',
      'provenance',
      ...sigstore.signFlags,
      '--format',
      'json',
    ],
    { env: runEnv() },
  );
  expect(r.stderr).not.toMatch(/error/i);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

async function verifyProvenance(ref: string, flags: string[]) {
  const r = await runCli(
    ['verify', ref, '--attestation', 'provenance', '--trusted-root', sigstore.trustedRootPath, ...flags],
    { env: toolEnv() },
  );
  return r;
}

/** The referrer manifests of `digest` (the test registry has no referrers API: the tag-schema index). */
async function referrerManifests(host: string, repo: string, digest: string) {
  const client = new RegistryClient({ env: {} });
  const out = [];
  for (const d of await client.referrers(host, repo, digest)) {
    const m = await client.getManifest(host, repo, d.digest);
    out.push({ ...m, descriptor: d });
  }
  return out;
}

describe('provenance attestations (SLSA v1, Sigstore bundle referrer as actions/attest writes it)', () => {
  it('push --attest provenance stores a keyless bundle that @sigstore/verify accepts, about the artifact digest, in the actions/attest layout', async () => {
    const host = sharedRegistryHost();
    const repo = 'release/attested';
    const out = await pushAttested(repo);
    const { subject, issuer } = sigstore.identity;
    expect(out.attestations).toEqual([
      {
        predicateType: SLSA,
        ref: expect.stringMatching(/^sha256:/),
        signer: `keyless: ${subject} (${issuer})`,
        identity: { subject, issuer },
        subject: { name: `${host}/${repo}`, digest: out.digest },
        builder: `https://github.com/${WORKFLOW}`,
      },
    ]);

    const referrers = await referrerManifests(host, repo, out.digest);
    expect(referrers).toHaveLength(1);
    const { manifest, descriptor } = referrers[0]!;
    expect(descriptor.digest).toBe(out.attestations[0].ref);
    // @sigstore/oci OCIImage.addArtifact (what actions/attest push-to-registry calls), field by field.
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
    expect(manifest.artifactType).toBe(BUNDLE);
    expect(manifest.config).toEqual({
      mediaType: 'application/vnd.oci.empty.v1+json',
      digest: sha256Digest(Buffer.from('{}')),
      size: 2,
    });
    expect(manifest.layers).toHaveLength(1);
    expect(Object.keys(manifest.layers[0])).toEqual(['mediaType', 'digest', 'size']);
    expect(manifest.layers[0].mediaType).toBe(BUNDLE);
    expect(manifest.subject).toEqual({
      mediaType: OCI_MANIFEST,
      digest: out.digest,
      size: expect.any(Number),
    });
    expect(Object.keys(manifest.annotations)).toEqual([
      'org.opencontainers.image.created',
      'dev.sigstore.bundle.content',
      'dev.sigstore.bundle.predicateType',
    ]);
    expect(manifest.annotations['org.opencontainers.image.created']).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
    );
    expect(manifest.annotations['dev.sigstore.bundle.content']).toBe('dsse-envelope');
    expect(manifest.annotations['dev.sigstore.bundle.predicateType']).toBe(SLSA);
    // The index entry carries artifactType and annotations, as the distribution spec asks.
    expect(descriptor.artifactType).toBe(BUNDLE);
    expect(descriptor.annotations).toEqual(manifest.annotations);

    // The bundle, checked by @sigstore/verify directly against the mock's trusted root.
    const client = new RegistryClient({ env: {} });
    const blob = await client.getBlob(host, repo, manifest.layers[0].digest);
    expect(sha256Digest(blob)).toBe(manifest.layers[0].digest);
    const bundle = bundleFromJSON(JSON.parse(blob.toString('utf8')));
    expect(bundle.mediaType).toBe(BUNDLE);
    const trust = toTrustMaterial(TrustedRoot.fromJSON(JSON.parse(sigstore.trustedRootJson)));
    const signer = new Verifier(trust, { tlogThreshold: 1, ctlogThreshold: 1 }).verify(
      toSignedEntity(bundle),
    );
    expect(signer.identity?.subjectAlternativeName).toBe(subject);
    expect(signer.identity?.extensions?.issuer).toBe(issuer);

    // The statement: subject = the artifact digest; predicate = what attest-build-provenance fills.
    if (bundle.content.$case !== 'dsseEnvelope') throw new Error('expected a DSSE bundle');
    expect(bundle.content.dsseEnvelope.payloadType).toBe('application/vnd.in-toto+json');
    const statement = JSON.parse(bundle.content.dsseEnvelope.payload.toString('utf8'));
    expect(statement).toEqual({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: `${host}/${repo}`, digest: { sha256: out.digest.slice('sha256:'.length) } }],
      predicateType: SLSA,
      predicate: {
        buildDefinition: {
          buildType: 'https://actions.github.io/buildtypes/workflow/v1',
          externalParameters: {
            workflow: {
              ref: 'refs/tags/v1.2.3',
              repository: 'https://github.com/octo/demo',
              path: '.github/workflows/release.yml',
            },
          },
          internalParameters: {
            github: {
              event_name: 'push',
              repository_id: '42',
              repository_owner_id: '7',
              runner_environment: 'github-hosted',
            },
          },
          resolvedDependencies: [
            { uri: 'git+https://github.com/octo/demo@refs/tags/v1.2.3', digest: { gitCommit: SHA } },
          ],
        },
        runDetails: {
          builder: { id: `https://github.com/${WORKFLOW}` },
          metadata: { invocationId: 'https://github.com/octo/demo/actions/runs/1001/attempts/2' },
        },
      },
    });
  });

  it('verify --attestation provenance passes for the workflow identity and repository, fails for another, and for a tampered statement', async () => {
    const host = sharedRegistryHost();
    const repo = 'release/verified';
    const out = await pushAttested(repo);
    const ref = `oci://${host}/${repo}@${out.digest}`;
    const { subject, issuer } = sigstore.identity;

    const ok = await verifyProvenance(ref, [
      '--certificate-identity',
      subject,
      '--certificate-oidc-issuer',
      issuer,
      '--source-repository',
      'octo/demo',
    ]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`subject: ${host}/${repo}@${out.digest}`);
    expect(ok.stdout).toContain(`builder: https://github.com/${WORKFLOW}`);
    const json = await verifyProvenance(ref, [
      '--certificate-identity-regexp',
      '^https://github\\.com/octo/demo/\\.github/workflows/release\\.yml@refs/tags/v',
      '--certificate-oidc-issuer',
      issuer,
      '--format',
      'json',
    ]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).sources[0]).toMatchObject({
      verified: true,
      digest: out.digest,
      by: `keyless: ${subject} (${issuer})`,
      subject: [{ name: `${host}/${repo}`, digest: out.digest }],
      builder: `https://github.com/${WORKFLOW}`,
      sourceRepository: 'https://github.com/octo/demo',
      commit: SHA,
    });

    const other = await verifyProvenance(ref, [
      '--certificate-identity',
      'https://github.com/evil/fork/.github/workflows/release.yml@refs/heads/main',
      '--certificate-oidc-issuer',
      issuer,
    ]);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('does not match');
    const otherRepo = await verifyProvenance(ref, [
      '--certificate-identity',
      subject,
      '--certificate-oidc-issuer',
      issuer,
      '--source-repository',
      'octo/other',
    ]);
    expect(otherRepo.code).toBe(1);
    expect(otherRepo.stderr).toContain('not https://github.com/octo/other');
    // An artifact without an attestation fails closed.
    const plain = await runCli(
      [
        'push',
        `oci://${host}/${repo}:plain`,
        '--path',
        writeRepo({ 'a.yaml': 'a: 1\n' }),
        '--source',
        'https://x',
        '--revision',
        'main@sha1:' + SHA,
        '--format',
        'json',
      ],
      { env: toolEnv() },
    );
    const none = await verifyProvenance(`oci://${host}/${repo}@${JSON.parse(plain.stdout).digest}`, [
      '--certificate-identity',
      subject,
      '--certificate-oidc-issuer',
      issuer,
    ]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no https://slsa.dev/provenance/v1 attestation');

    // Replayed: this artifact's valid attestation copied onto another artifact's digest.
    const client0 = new RegistryClient({ env: {} });
    const [valid] = await referrerManifests(host, repo, out.digest);
    const victim = JSON.parse(plain.stdout).digest;
    const head = await client0.headManifest(host, repo, victim);
    await client0.pushReferrer(
      host,
      repo,
      Buffer.from(
        JSON.stringify({
          ...valid!.manifest,
          subject: { mediaType: OCI_MANIFEST, digest: victim, size: head!.size },
        }),
      ),
      OCI_MANIFEST,
    );
    const replayed = await verifyProvenance(`oci://${host}/${repo}@${victim}`, [
      '--certificate-identity',
      subject,
      '--certificate-oidc-issuer',
      issuer,
    ]);
    expect(replayed.code).toBe(1);
    expect(replayed.stderr).toContain('a signature is for another artifact');

    // Tampered: the same signed bundle, its statement's builder rewritten; the only referrer left.
    const client = new RegistryClient({ env: {} });
    const [original] = await referrerManifests(host, repo, out.digest);
    const bundleJson = JSON.parse(
      (await client.getBlob(host, repo, original!.manifest.layers[0].digest)).toString('utf8'),
    );
    const statement = JSON.parse(Buffer.from(bundleJson.dsseEnvelope.payload, 'base64').toString('utf8'));
    statement.predicate.runDetails.builder.id = 'https://github.com/evil/fork/.github/workflows/x.yml@main';
    bundleJson.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    const tampered = Buffer.from(JSON.stringify(bundleJson));
    const layer = await client.pushBlob(host, repo, tampered, BUNDLE);
    const manifest = {
      ...original!.manifest,
      layers: [{ mediaType: BUNDLE, digest: layer.digest, size: layer.size }],
    };
    const bytes = Buffer.from(JSON.stringify(manifest));
    const put = await client.putManifest(host, repo, sha256Digest(bytes), bytes, OCI_MANIFEST);
    const index = {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ ...original!.descriptor, digest: put.digest, size: put.size }],
    };
    await client.putManifest(
      host,
      repo,
      fallbackTag(out.digest),
      Buffer.from(JSON.stringify(index)),
      OCI_INDEX,
    );
    const bad = await verifyProvenance(ref, [
      '--certificate-identity',
      subject,
      '--certificate-oidc-issuer',
      issuer,
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).not.toContain('evil');
    expect(bad.stderr).toContain('provenance not verified: the Rekor entry does not verify');
  });

  it('attest signs an existing digest with a cosign key; verify --attestation --key accepts it', async () => {
    const host = sharedRegistryHost();
    const repo = 'release/attest-key';
    const keys = await cosignKeyPairs('attest');
    const pushed = await runCli(
      [
        'push',
        `oci://${host}/${repo}:v1`,
        '--path',
        writeRepo({ 'a.yaml': 'a: 1\n' }),
        '--source',
        'https://x',
        '--revision',
        'main@sha1:' + SHA,
        '--format',
        'json',
      ],
      { env: toolEnv() },
    );
    const digest = JSON.parse(pushed.stdout).digest;
    const ref = `oci://${host}/${repo}@${digest}`;
    const r = await runCli(
      [
        'attest',
        ref,
        '--predicate-type',
        'provenance',
        '--cosign-key',
        join(keys, 'attest.key'),
        '--format',
        'json',
      ],
      { env: runEnv({ ACTIONS_ID_TOKEN_REQUEST_URL: '', COSIGN_PASSWORD: KEY_PASSWORD }) },
    );
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const [attestation] = JSON.parse(r.stdout).attestations;
    expect(attestation).toMatchObject({
      predicateType: SLSA,
      subject: { name: `${host}/${repo}`, digest },
      // Without an OIDC token the builder is the run's workflow from the environment.
      builder: `https://github.com/${WORKFLOW}`,
    });
    const ok = await verifyProvenance(ref, ['--key', join(keys, 'attest.pub')]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`subject: ${host}/${repo}@${digest}`);
    const otherKeys = await cosignKeyPairs('other');
    const wrong = await verifyProvenance(ref, ['--key', join(otherKeys, 'other.pub')]);
    expect(wrong.code).toBe(1);
    // Outside a workflow run there is nothing to attest to: a clear error, nothing stored.
    const outside = await runCli(['attest', ref, '--cosign-key', join(keys, 'attest.key')], {
      env: toolEnv({ COSIGN_PASSWORD: KEY_PASSWORD }),
    });
    expect(outside.code).toBe(1);
    expect(outside.stderr).toContain('GITHUB_REPOSITORY');
  });
});
