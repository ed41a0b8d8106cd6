import { describe, expect, it } from '@jest/globals';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { FIXTURES } from '../support/tools.js';
import { fluxKustomization, writeRepo } from '../support/repo.js';
import { sharedRegistryHost } from '../support/registry.js';
import { cosignKeyPairs, pushTestArtifact } from '../support/signing.js';

/**
 * `verify --path`: a fleet repository with two clusters. Production reaches infrastructure/ and
 * apps/production (which lists ../base); only staging's own apps fetch over plain HTTP.
 */
function fleet() {
  return writeRepo({
    'clusters/production/flux-system/gotk-sync.yaml': `
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec:
  interval: 1m
  url: https://github.com/acme/fleet
  ref: {branch: main}
`,
    'clusters/production/infrastructure.yaml': fluxKustomization(
      'infrastructure',
      './infrastructure/production',
    ),
    'clusters/production/apps.yaml': [
      fluxKustomization('apps', './apps/production'),
      // The path of a Kustomization of an OCI source is inside the artifact, not this repository.
      fluxKustomization('from-oci', './apps/staging', {}, 'OCIRepository/bundle'),
    ].join('\n---\n'),
    'clusters/staging/apps.yaml': fluxKustomization('apps', './apps/staging'),
    'infrastructure/production/sources.yaml': `
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: bundle, namespace: flux-system}
spec:
  interval: 5m
  url: oci://ghcr.io/acme/bundle
  ref: {tag: v1}
`,
    'apps/production/kustomization.yaml': `
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [../base]
`,
    'apps/base/repository.yaml': `
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: charts, namespace: flux-system}
spec:
  type: oci
  interval: 5m
  url: oci://ghcr.io/acme/charts
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web, namespace: web}
spec:
  interval: 5m
  chart:
    spec:
      chart: web
      sourceRef: {kind: HelmRepository, name: charts, namespace: flux-system}
`,
    'apps/staging/repository.yaml': `
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: staging-charts, namespace: flux-system}
spec:
  interval: 5m
  url: http://charts.staging.example.com
`,
    // Applied by no cluster.
    'unused/insecure.yaml': `
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: old, namespace: flux-system}
spec:
  interval: 5m
  url: http://git.example.com/old
`,
  });
}

async function verify(repo: string, ...extra: string[]) {
  const r = await runCli(['verify', '--repo', repo, '--format', 'json', ...extra]);
  return { code: r.code, stderr: r.stderr, findings: r.code <= 1 ? JSON.parse(r.stdout).findings : [] };
}

const lineOf = (repo: string, file: string, needle: string) =>
  readFileSync(join(repo, file), 'utf8')
    .split('\n')
    .findIndex((l) => l.includes(needle)) + 1;

const where = (findings: { rule: string; file: string }[]) =>
  findings.map((f) => `${f.rule} ${f.file}`).sort();

describe('verify --path: only what that cluster applies', () => {
  const repo = fleet();
  const stagingInsecure = {
    severity: 'warning',
    rule: 'insecure-source',
    file: 'apps/staging/repository.yaml',
    line: lineOf(repo, 'apps/staging/repository.yaml', 'url: http://'),
    object: 'HelmRepository/flux-system/staging-charts',
    message: 'HelmRepository fetches over plain HTTP (http://charts.staging.example.com)',
  };

  it('production: its entry directory, its Kustomizations paths transitively and kustomize bases; not staging', async () => {
    const { code, findings } = await verify(repo, '--path', 'clusters/production');
    expect(code).toBe(0);
    expect(findings).not.toContainEqual(stagingInsecure);
    expect(where(findings)).toEqual([
      'unverified-source apps/base/repository.yaml',
      'unverified-source infrastructure/production/sources.yaml',
    ]);
    // File and line findings, as the whole-repository scan gives them.
    expect(findings).toContainEqual({
      severity: 'warning',
      rule: 'unverified-source',
      file: 'infrastructure/production/sources.yaml',
      line: lineOf(repo, 'infrastructure/production/sources.yaml', 'spec:'),
      object: 'OCIRepository/flux-system/bundle',
      message: 'OCIRepository has no spec.verify: Flux applies it without checking a signature',
    });
  });

  it('staging: its insecure source is found, production files are not scanned', async () => {
    const { code, findings } = await verify(repo, '--path', 'clusters/staging/');
    expect(code).toBe(0);
    expect(findings).toEqual([stagingInsecure]);
  });

  it('--require-signatures fails production for its own unverified sources only', async () => {
    const production = await verify(repo, '--path', './clusters/production', '--require-signatures');
    expect(production.code).toBe(1);
    const staging = await verify(repo, '--path', 'clusters/staging', '--require-signatures');
    expect(staging.code).toBe(0);
  });

  it('without --path, or with --path ., the whole repository is scanned', async () => {
    const all = [
      'insecure-source apps/staging/repository.yaml',
      'insecure-source unused/insecure.yaml',
      'unverified-source apps/base/repository.yaml',
      'unverified-source infrastructure/production/sources.yaml',
    ];
    expect(where((await verify(repo)).findings)).toEqual(all);
    expect(where((await verify(repo, '--path', '.')).findings)).toEqual(all);
  });

  it('a GitRepository mapped to another directory with --source is not followed into this repository', async () => {
    const mapped = writeRepo({
      'clusters/dev/sync.yaml': fluxKustomization('apps', './apps/staging', {}, 'GitRepository/elsewhere'),
      'apps/staging/repository.yaml': readFileSync(join(repo, 'apps/staging/repository.yaml'), 'utf8'),
    });
    expect((await verify(mapped, '--path', 'clusters/dev')).findings).toEqual([
      expect.objectContaining({ rule: 'insecure-source', file: 'apps/staging/repository.yaml' }),
    ]);
    const other = writeRepo({ 'README.md': 'elsewhere\n' });
    const r = await verify(
      mapped,
      '--path',
      'clusters/dev',
      '--source',
      `GitRepository/flux-system/elsewhere=${other}`,
    );
    expect(r.code).toBe(0);
    expect(r.findings).toEqual([]);
  });

  it('a Kustomization path with a variable is not followed, and says so', async () => {
    const variable = writeRepo({
      'clusters/dev/sync.yaml': fluxKustomization('apps', './apps/${CLUSTER}'),
      'apps/dev/repository.yaml': readFileSync(join(repo, 'apps/staging/repository.yaml'), 'utf8'),
    });
    const r = await verify(variable, '--path', 'clusters/dev');
    expect(r.findings).toEqual([]);
    expect(r.stderr).toContain(
      'warning: verify --path: clusters/dev/sync.yaml: Kustomization apps: spec.path ./apps/${CLUSTER} uses a variable; its files are not checked',
    );
  });

  it("looks for a source's verify Secret only in what the cluster applies, and says where it looked", async () => {
    const host = sharedRegistryHost();
    const keys = await cosignKeyPairs('cosign');
    await pushTestArtifact(
      `oci://${host}/scope-test/app:v1`,
      { 'a.yaml': 'a: 1\n' },
      { extra: ['--sign', 'cosign', '--cosign-key', join(keys, 'cosign.key')] },
    );
    const scoped = writeRepo({
      'clusters/production/source.yaml': `
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: app, namespace: flux-system}
spec:
  interval: 5m
  url: oci://${host}/scope-test/app
  ref: {tag: v1}
  insecure: true
  verify: {provider: cosign, secretRef: {name: cosign-keys}}
`,
      // The keys Secret only exists in the other cluster.
      'clusters/staging/keys.yaml': `
apiVersion: v1
kind: Secret
metadata: {name: cosign-keys, namespace: flux-system}
stringData:
  cosign.pub: |
${readFileSync(join(keys, 'cosign.pub'), 'utf8').replace(/^/gm, '    ')}
`,
    });
    const sources = async (...extra: string[]) =>
      JSON.parse((await runCli(['verify', '--repo', scoped, '--format', 'json', ...extra])).stdout).sources;
    expect(await sources('--path', 'clusters/production')).toEqual([
      expect.objectContaining({
        verified: false,
        reason:
          'Secret flux-system/cosign-keys is not in what cluster clusters/production applies (pass --verify-secret flux-system/cosign-keys=DIR with its files)',
      }),
    ]);
    // The whole repository holds it.
    expect(await sources()).toEqual([
      expect.objectContaining({ verified: true, by: 'flux-system/cosign-keys/cosign.pub' }),
    ]);
  });

  it('a --path that is not a directory of the repository is a usage error (exit 2)', async () => {
    const r = await runCli(['verify', '--repo', repo, '--path', 'clusters/nowhere']);
    expect(r.code).toBe(2); // bad usage: the path names nothing
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('--path clusters/nowhere: no such directory in the repository');
  });

  it('follows ArtifactGenerator → ExternalArtifact: the upstream example with a removed HelmRelease API is reported at its file and line', async () => {
    const example = mkdtempSync(join(tmpdir(), 'fg-example-'));
    cpSync(join(FIXTURES, 'corpora/flux2-kustomize-helm-example'), example, { recursive: true });
    // Unmodified: nothing that cluster applies is an error.
    const clean = await verify(example, '--path', 'clusters/production');
    expect(clean.findings.filter((f: { severity: string }) => f.severity === 'error')).toEqual([]);
    expect(clean.code).toBe(0);

    const release = join(example, 'apps/base/podinfo/release.yaml');
    writeFileSync(
      release,
      readFileSync(release, 'utf8').replace(
        'helm.toolkit.fluxcd.io/v2\n',
        'helm.toolkit.fluxcd.io/v2beta1\n',
      ),
    );
    const changed = await verify(example, '--path', 'clusters/production');
    expect(changed.code).toBe(1);
    expect(changed.findings).toContainEqual(
      expect.objectContaining({
        severity: 'error',
        rule: 'deprecated-api',
        file: 'apps/base/podinfo/release.yaml',
        line: 1,
        object: 'HelmRelease/podinfo/podinfo',
      }),
    );
  });

  it('follows a Kustomization whose OCIRepository is mapped with --source to a directory of the repository', async () => {
    const fleet = writeRepo({
      'clusters/dev/apps.yaml': fluxKustomization('apps', './dev', {}, 'OCIRepository/bundle'),
      'bundle/dev/kustomization.yaml': 'resources: [repository.yaml]\n',
      'bundle/dev/repository.yaml': readFileSync(join(repo, 'apps/staging/repository.yaml'), 'utf8'),
    });
    // Without the mapping the artifact's files are not this repository's.
    expect((await verify(fleet, '--path', 'clusters/dev')).findings).toEqual([]);
    const mapped = await verify(
      fleet,
      '--path',
      'clusters/dev',
      '--source',
      `OCIRepository/flux-system/bundle=${join(fleet, 'bundle')}`,
    );
    expect(mapped.findings).toEqual([
      expect.objectContaining({ rule: 'insecure-source', file: 'bundle/dev/repository.yaml', line: 6 }),
    ]);
  });
});
