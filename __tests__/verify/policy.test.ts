import { describe, expect, it } from '@jest/globals';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { writeRepo } from '../support/repo.js';
import { FIXTURES } from '../support/tools.js';

const CORPUS = join(FIXTURES, 'corpora', 'flux2-kustomize-helm-example');

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
    // Every HelmRelease and source object of the example, rewritten; the expected findings are
    // read off the rewritten text: the apiVersion line, and the kind on the line after it.
    const expected: { file: string; line: number; kind: string; to: string }[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(join(copy, dir), { withFileTypes: true })) {
        const rel = dir ? `${dir}/${entry.name}` : entry.name;
        if (entry.name.startsWith('.')) continue;
        if (entry.isDirectory()) walk(rel);
        else if (entry.name.endsWith('.yaml')) {
          const text = readFileSync(join(copy, rel), 'utf8')
            .replace(
              /^apiVersion: helm\.toolkit\.fluxcd\.io\/v2$/gm,
              'apiVersion: helm.toolkit.fluxcd.io/v2beta1',
            )
            .replace(
              /^apiVersion: source\.toolkit\.fluxcd\.io\/v1$/gm,
              'apiVersion: source.toolkit.fluxcd.io/v1beta2',
            );
          writeFileSync(join(copy, rel), text);
          const lines = text.split('\n');
          lines.forEach((l, i) => {
            const kind = /^kind: (\w+)/.exec(lines[i + 1] ?? '')?.[1];
            if (l === 'apiVersion: helm.toolkit.fluxcd.io/v2beta1')
              expected.push({
                file: rel,
                line: i + 1,
                kind: kind!,
                to: 'is removed in Flux 2.7: migrate to helm.toolkit.fluxcd.io/v2',
              });
            if (l === 'apiVersion: source.toolkit.fluxcd.io/v1beta2')
              expected.push({
                file: rel,
                line: i + 1,
                kind: kind!,
                to: 'is removed in Flux 2.8: migrate to source.toolkit.fluxcd.io/v1',
              });
          });
        }
      }
    };
    walk('');
    // The example has HelmReleases, HelmRepositories and OCIRepositories in several files.
    expect(new Set(expected.map((e) => e.kind))).toEqual(
      new Set(['HelmRelease', 'HelmRepository', 'OCIRepository']),
    );
    expect(new Set(expected.map((e) => e.file)).size).toBeGreaterThanOrEqual(3);

    const { code, report, stderr } = await verify(copy);
    expect(code).toBe(1);
    const deprecated = report.findings.filter((f: any) => f.rule === 'deprecated-api');
    expect(deprecated).toEqual(
      expected.map((e) => ({
        severity: 'error',
        rule: 'deprecated-api',
        file: e.file,
        line: e.line,
        object: expect.stringMatching(new RegExp(`^${e.kind}/`)),
        message: `${e.kind === 'HelmRelease' ? 'helm.toolkit.fluxcd.io/v2beta1' : 'source.toolkit.fluxcd.io/v1beta2'} ${e.kind} ${e.to}`,
      })),
    );
    expect(deprecated.find((f: any) => f.file === 'apps/base/podinfo/release.yaml').object).toBe(
      'HelmRelease/podinfo/podinfo',
    );
    expect(stderr).toContain('error: apps/base/podinfo/release.yaml:1: HelmRelease/podinfo/podinfo:');

    // Against an older Flux the same objects are deprecated, not removed: each with its release.
    const old = await verify(copy, '--flux-version', '2.6');
    // (ArtifactGenerator, which the example also uses, only comes with Flux 2.7.)
    expect(
      old.report.findings.filter((f: any) => f.severity === 'error').map((f: any) => `${f.rule} ${f.object}`),
    ).toEqual([
      'unsupported-api ArtifactGenerator/flux-system/flux-system',
      'unsupported-api ArtifactGenerator/flux-system/flux-system',
    ]);
    const at = (file: string, kind: string) =>
      old.report.findings.find(
        (f: any) => f.file === file && f.rule === 'deprecated-api' && f.object.startsWith(kind),
      );
    expect(at('apps/base/podinfo/release.yaml', 'HelmRelease')).toMatchObject({
      severity: 'warning',
      message:
        'helm.toolkit.fluxcd.io/v2beta1 HelmRelease is deprecated since Flux 2.2, removed in 2.7: migrate to helm.toolkit.fluxcd.io/v2',
    });
    expect(at('apps/base/podinfo/repository.yaml', 'HelmRepository')).toMatchObject({
      severity: 'warning',
      message: expect.stringContaining('deprecated since Flux 2.3, removed in 2.8'),
    });
    expect(at('infrastructure/controllers/cert-manager.yaml', 'OCIRepository')).toMatchObject({
      severity: 'warning',
      message: expect.stringContaining('deprecated since Flux 2.6, removed in 2.8'),
    });
  });

  it('checks the example against the Flux release it targets: its v1 OCIRepository and ArtifactGenerator are too new for 2.5', async () => {
    const { code, report } = await verify(CORPUS, '--flux-version', 'v2.5.1');
    expect(code).toBe(1);
    const unsupported = report.findings.filter((f: any) => f.rule === 'unsupported-api');
    expect(new Set(unsupported.map((f: any) => f.object.split('/')[0]))).toEqual(
      new Set(['OCIRepository', 'ArtifactGenerator']),
    );
    expect(unsupported).toContainEqual(
      expect.objectContaining({
        severity: 'error',
        file: 'infrastructure/controllers/cert-manager.yaml',
        message:
          'source.toolkit.fluxcd.io/v1 OCIRepository is not served before Flux 2.6; the target is Flux 2.5',
      }),
    );
    const bad = await runCli(['verify', '--repo', CORPUS, '--flux-version', '3.0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--flux-version '3.0': expected a Flux release from 2.2 to 2.10");
  });

  it('knows the v2.10 plan: notification v1beta3 Alert and Provider are to be deprecated for v1', async () => {
    const repo = writeRepo({
      'alerts.yaml': `
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: {name: on-call, namespace: flux-system}
spec:
  providerRef: {name: slack}
  eventSources: [{kind: Kustomization, name: '*'}]
---
apiVersion: notification.toolkit.fluxcd.io/v1
kind: Provider
metadata: {name: slack, namespace: flux-system}
spec:
  type: slack
`,
    });
    const now = await verify(repo);
    expect(now.report.findings).toEqual([
      {
        severity: 'info',
        rule: 'deprecated-api',
        file: 'alerts.yaml',
        line: 1,
        object: 'Alert/flux-system/on-call',
        message:
          'notification.toolkit.fluxcd.io/v1beta3 Alert is to be deprecated in Flux 2.10 (planned): migrate to notification.toolkit.fluxcd.io/v1 from then on',
      },
      {
        severity: 'error',
        rule: 'unsupported-api',
        file: 'alerts.yaml',
        line: 8,
        object: 'Provider/flux-system/slack',
        message:
          'notification.toolkit.fluxcd.io/v1 Provider is not served before Flux 2.10 (planned); the target is Flux 2.9',
      },
    ]);
    expect(now.code).toBe(1);
    const next = await verify(repo, '--flux-version', '2.10');
    expect(next.code).toBe(0);
    expect(next.report.findings).toEqual([
      expect.objectContaining({
        severity: 'warning',
        object: 'Alert/flux-system/on-call',
        message:
          'notification.toolkit.fluxcd.io/v1beta3 Alert is deprecated since Flux 2.10 (planned): migrate to notification.toolkit.fluxcd.io/v1',
      }),
    ]);
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
