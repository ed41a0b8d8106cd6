import { describe, expect, it } from '@jest/globals';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { sharedRegistryHost } from '../support/registry.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { writeRepo } from '../support/repo.js';
import { SHARED } from '../support/tools.js';

const CORPUS = join(SHARED, 'corpora', 'flux2-kustomize-helm-example');

async function verify(repo: string, ...extra: string[]) {
  const r = await runCli(['verify', '--repo', repo, '--format', 'json', ...extra]);
  return { code: r.code, stderr: r.stderr, report: JSON.parse(r.stdout) };
}

describe('verify --path: Flux policy checks', () => {
  it('passes the deprecation check on the upstream example', async () => {
    const { code, report } = await verify(CORPUS);
    expect(report.findings.filter((f: any) => f.rule === 'deprecated-api')).toEqual([]);
    expect(code).toBe(0);
  });

  it('fails a copy rewritten to helm v2beta1 and source v1beta2 with the files, lines and migration targets', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'fg-deprecated-'));
    rmSync(copy, { recursive: true });
    cpSync(CORPUS, copy, { recursive: true });
    for (const file of ['apps/base/podinfo/release.yaml', 'apps/base/podinfo/repository.yaml']) {
      const path = join(copy, file);
      writeFileSync(
        path,
        readFileSync(path, 'utf8')
          .replace('helm.toolkit.fluxcd.io/v2', 'helm.toolkit.fluxcd.io/v2beta1')
          .replace('source.toolkit.fluxcd.io/v1', 'source.toolkit.fluxcd.io/v1beta2'),
      );
    }
    const { code, report, stderr } = await verify(copy);
    expect(code).toBe(1);
    const deprecated = report.findings.filter((f: any) => f.rule === 'deprecated-api');
    expect(deprecated).toEqual([
      {
        severity: 'error',
        rule: 'deprecated-api',
        file: 'apps/base/podinfo/release.yaml',
        line: 1,
        object: 'HelmRelease/podinfo/podinfo',
        message:
          'helm.toolkit.fluxcd.io/v2beta1 HelmRelease is removed in Flux 2.7: migrate to helm.toolkit.fluxcd.io/v2',
      },
      {
        severity: 'error',
        rule: 'deprecated-api',
        file: 'apps/base/podinfo/repository.yaml',
        line: 1,
        object: 'HelmRepository/podinfo/podinfo',
        message:
          'source.toolkit.fluxcd.io/v1beta2 HelmRepository is removed in Flux 2.8: migrate to source.toolkit.fluxcd.io/v1',
      },
    ]);
    expect(stderr).toContain('error: apps/base/podinfo/release.yaml:1: HelmRelease/podinfo/podinfo:');
    // Against an older target, v1beta2 is only deprecated.
    const old = await verify(copy, '--flux-version', '2.7');
    const repoFinding = old.report.findings.find((f: any) => f.file === 'apps/base/podinfo/repository.yaml');
    expect(repoFinding).toMatchObject({
      severity: 'warning',
      message: expect.stringContaining('deprecated since Flux 2.3, removed in 2.8'),
    });
  });

  it('flags insecure sources, unverified OCI sources (errors with --require-signatures) and mutable refs with --require-digests', async () => {
    const repo = writeRepo({
      'clusters/dev/sources.yaml': `
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: plain, namespace: flux-system}
spec:
  interval: 1m
  url: http://git.example.com/fleet.git
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: app, namespace: flux-system}
spec:
  interval: 1m
  url: oci://registry.example.com/app
  insecure: true
  ref:
    tag: latest
`,
    });
    const loose = await verify(repo);
    expect(loose.code).toBe(0);
    expect(loose.report.findings.map((f: any) => `${f.severity} ${f.rule} ${f.file}:${f.line}`)).toEqual([
      'warning insecure-source clusters/dev/sources.yaml:6',
      'warning insecure-source clusters/dev/sources.yaml:14',
      'warning unverified-source clusters/dev/sources.yaml:11',
    ]);
    const strict = await verify(repo, '--require-signatures', '--require-digests');
    expect(strict.code).toBe(1);
    expect(
      strict.report.findings
        .filter((f: any) => f.severity === 'error')
        .map((f: any) => `${f.rule}:${f.line}`),
    ).toEqual(['unverified-source:11', 'mutable-ref:15']);
  });

  it('verifies every OCIRepository with spec.verify against its registry with its own keys, and fails the run for the bad ones', async () => {
    const host = sharedRegistryHost();
    const keys = mkdtempSync(join(tmpdir(), 'fg-vkeys-'));
    for (const name of ['ours', 'theirs']) {
      const r = spawnSync(
        process.execPath,
        [join(process.cwd(), 'dist', 'cli.js'), 'generate-key-pair', '--output-key-prefix', name],
        {
          cwd: keys,
          env: { ...process.env, COSIGN_PASSWORD: 'pw' },
        },
      );
      expect(r.status).toBe(0);
    }
    const push = async (repo: string, key?: string) => {
      const args = [
        'push',
        `oci://${host}/verify-test/${repo}:v1.0.0`,
        '--path',
        writeRepo({ 'a.yaml': `a: ${repo}\n` }),
        '--source',
        'https://example.com/x',
        '--revision',
        'v1.0.0@sha1:0123456789abcdef0123456789abcdef01234567',
        '--format',
        'json',
      ];
      if (key) args.push('--sign', 'cosign', '--cosign-key', join(keys, key));
      const r = await runCli(args, { env: { ...process.env, COSIGN_PASSWORD: 'pw' } });
      expect(r.code).toBe(0);
      return JSON.parse(r.stdout).digest as string;
    };
    const signed = await push('signed', 'ours.key');
    await push('unsigned');
    await push('other-key', 'theirs.key');
    const source = (name: string, ref: string) => `
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: ${name}, namespace: flux-system}
spec:
  interval: 5m
  url: oci://${host}/verify-test/${name}
  ref: ${ref}
  insecure: true
  verify: {provider: cosign, secretRef: {name: cosign-keys}}
`;
    const repo = writeRepo({
      'clusters/dev/sources.yaml': [
        source('signed', '{semver: ">=1.0.0"}'),
        source('unsigned', '{tag: v1.0.0}'),
        source('other-key', '{tag: v1.0.0}'),
      ].join('---'),
      'clusters/dev/keys.yaml': `
apiVersion: v1
kind: Secret
metadata: {name: cosign-keys, namespace: flux-system}
stringData:
  ours.pub: |
${readFileSync(join(keys, 'ours.pub'), 'utf8').replace(/^/gm, '    ')}
`,
    });
    const { code, report } = await verify(repo);
    expect(code).toBe(1);
    expect(report.sources).toEqual([
      {
        ref: `oci://${host}/verify-test/signed`,
        provider: 'cosign',
        digest: signed,
        verified: true,
        by: 'flux-system/cosign-keys/ours.pub',
      },
      {
        ref: `oci://${host}/verify-test/unsigned`,
        provider: 'cosign',
        digest: expect.stringMatching(/^sha256:/),
        verified: false,
        reason: 'no cosign signature found',
      },
      {
        ref: `oci://${host}/verify-test/other-key`,
        provider: 'cosign',
        digest: expect.stringMatching(/^sha256:/),
        verified: false,
        reason: 'no signature verifies with the given key',
      },
    ]);
    // Keys kept outside the repository: --verify-secret NS/NAME=DIR with the Secret's files.
    const outside = mkdtempSync(join(tmpdir(), 'fg-outside-'));
    writeFileSync(join(outside, 'theirs.pub'), readFileSync(join(keys, 'theirs.pub')));
    const other = await verify(repo, '--verify-secret', `flux-system/cosign-keys=${outside}`);
    expect(other.report.sources.map((s: any) => s.verified)).toEqual([false, false, true]);
  });
});
