import { describe, expect, it } from '@jest/globals';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
});
