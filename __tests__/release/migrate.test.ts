import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { runCli } from '../support/cli.js';
import { writeRepo } from '../support/repo.js';
import { FIXTURES, PROJECT_ROOT, toolEnv } from '../support/tools.js';

const EXAMPLE = join(FIXTURES, 'corpora', 'flux2-kustomize-helm-example');

function files(root: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir)) {
      const p = join(dir, e);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(root, p), readFileSync(p));
    }
  };
  walk(root);
  return out;
}

/** The old API versions a fleet written for Flux 2.0 had, for the kinds the example uses. */
const OLD: [RegExp, string][] = [
  [/^apiVersion: helm\.toolkit\.fluxcd\.io\/v2$/gm, 'apiVersion: helm.toolkit.fluxcd.io/v2beta1'],
  [/^apiVersion: kustomize\.toolkit\.fluxcd\.io\/v1$/gm, 'apiVersion: kustomize.toolkit.fluxcd.io/v1beta2'],
  [/^apiVersion: source\.toolkit\.fluxcd\.io\/v1$/gm, 'apiVersion: source.toolkit.fluxcd.io/v1beta2'],
];

describe('migrate: deprecated Flux API versions rewritten in place, nothing else touched', () => {
  it('restores the upstream example, rewritten to v2beta1/v1beta2, byte for byte', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fg-migrate-'));
    cpSync(EXAMPLE, dir, { recursive: true });
    const original = files(dir);
    let rewritten = 0;
    for (const [path, bytes] of original) {
      if (!/\.ya?ml$/.test(path)) continue;
      let text = bytes.toString('utf8');
      for (const [re, old] of OLD) text = text.replace(re, () => (rewritten++, old));
      writeFileSync(join(dir, path), text);
    }
    expect(rewritten).toBeGreaterThan(10);

    const dry = await runCli(['migrate', '--path', '.', '--dry-run'], { cwd: dir });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(
      'apps/base/podinfo/release.yaml:1: HelmRelease/podinfo: helm.toolkit.fluxcd.io/v2beta1 -> helm.toolkit.fluxcd.io/v2',
    );
    expect(dry.stdout.trim().split('\n')).toHaveLength(rewritten);
    expect(files(dir).get('apps/base/podinfo/release.yaml')!.toString()).toContain('v2beta1');

    const r = await runCli(['migrate', '--format', 'json'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).migrations).toHaveLength(rewritten);
    const after = files(dir);
    expect([...after.keys()].sort()).toEqual([...original.keys()].sort());
    for (const [path, bytes] of original)
      expect([path, after.get(path)!.equals(bytes)]).toEqual([path, true]);

    const again = await runCli(['migrate', '--format', 'json'], { cwd: dir });
    expect(JSON.parse(again.stdout).migrations).toEqual([]);
  });

  it('changes only the apiVersion lines of flow maps, quoted scalars, multi-doc files with comments, and CRLF files', async () => {
    const odd = [
      '# a fleet file, edited by hand',
      '---',
      '# flow style',
      '{apiVersion: helm.toolkit.fluxcd.io/v2beta1, kind: HelmRelease, metadata: {name: a, namespace: x}}',
      '--- # a separator with a comment',
      'apiVersion: "source.toolkit.fluxcd.io/v1beta2"   # quoted, with a comment',
      'kind: GitRepository',
      'metadata:',
      "  name: 'b'",
      'spec:',
      '  url:   https://example.com/x   # odd spacing kept',
      '---',
      'kind: Kustomization # kind first',
      'metadata: {name: c}',
      "apiVersion:   'kustomize.toolkit.fluxcd.io/v1beta1'",
      '---',
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata: {name: d}',
      'data:',
      '  apiVersion: helm.toolkit.fluxcd.io/v2beta1   # data, not an object',
      '---',
      'apiVersion: notification.toolkit.fluxcd.io/v1beta3 # current in Flux 2.9',
      'kind: Alert',
      'metadata: {name: e}',
      '...',
      '',
    ];
    const expected = new Map([
      [3, '{apiVersion: helm.toolkit.fluxcd.io/v2, kind: HelmRelease, metadata: {name: a, namespace: x}}'],
      [5, 'apiVersion: "source.toolkit.fluxcd.io/v1"   # quoted, with a comment'],
      [14, "apiVersion:   'kustomize.toolkit.fluxcd.io/v1'"],
    ]);
    const crlf = [
      'apiVersion: image.toolkit.fluxcd.io/v1beta2',
      'kind: ImagePolicy',
      'metadata:',
      '  name: app # trailing',
      '---',
      'apiVersion: notification.toolkit.fluxcd.io/v1beta2',
      'kind: Receiver',
      'metadata: {name: hook}',
      '',
    ];
    const repo = writeRepo({
      'fleet/odd.yaml': odd.join('\n'),
      'fleet/crlf.yml': crlf.join('\r\n'),
      'fleet/chart/templates/hr.yaml':
        '{{- if .Values.enabled }}\napiVersion: helm.toolkit.fluxcd.io/v2beta1\nkind: HelmRelease\n{{- end }}\n',
      'fleet/notes.txt': 'apiVersion: helm.toolkit.fluxcd.io/v2beta1\nkind: HelmRelease\n',
      'outside/target.yaml':
        'apiVersion: helm.toolkit.fluxcd.io/v2beta1\nkind: HelmRelease\nmetadata: {name: z}\n',
    });
    // A symlink is not followed: it could point anywhere on the runner.
    symlinkSync(join(repo, 'outside/target.yaml'), join(repo, 'fleet/link.yaml'));
    const r = await runCli(['migrate', '--path', 'fleet'], { cwd: repo });
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([
      'fleet/crlf.yml:1: ImagePolicy/app: image.toolkit.fluxcd.io/v1beta2 -> image.toolkit.fluxcd.io/v1',
      'fleet/crlf.yml:6: Receiver/hook: notification.toolkit.fluxcd.io/v1beta2 -> notification.toolkit.fluxcd.io/v1',
      'fleet/odd.yaml:4: HelmRelease/a: helm.toolkit.fluxcd.io/v2beta1 -> helm.toolkit.fluxcd.io/v2',
      'fleet/odd.yaml:6: GitRepository/b: source.toolkit.fluxcd.io/v1beta2 -> source.toolkit.fluxcd.io/v1',
      'fleet/odd.yaml:15: Kustomization/c: kustomize.toolkit.fluxcd.io/v1beta1 -> kustomize.toolkit.fluxcd.io/v1',
    ]);
    const oddAfter = readFileSync(join(repo, 'fleet/odd.yaml'), 'utf8').split('\n');
    expect(oddAfter).toHaveLength(odd.length);
    odd.forEach((line, i) => expect([i, oddAfter[i]]).toEqual([i, expected.get(i) ?? line]));
    expect(readFileSync(join(repo, 'fleet/crlf.yml'), 'utf8')).toBe(
      [
        'apiVersion: image.toolkit.fluxcd.io/v1',
        ...crlf.slice(1, 5),
        'apiVersion: notification.toolkit.fluxcd.io/v1',
        ...crlf.slice(6),
      ].join('\r\n'),
    );
    // What does not parse as YAML (a template), a text file and the symlink's target: untouched.
    expect(readFileSync(join(repo, 'fleet/chart/templates/hr.yaml'), 'utf8')).toContain('v2beta1');
    expect(readFileSync(join(repo, 'fleet/notes.txt'), 'utf8')).toContain('v2beta1');
    expect(readFileSync(join(repo, 'outside/target.yaml'), 'utf8')).toContain('v2beta1');
  });

  it("verify's summary shows each deprecated API's exact edit as a GitHub suggestion block", () => {
    const repo = writeRepo({
      'clusters/dev/app.yaml': [
        'apiVersion: helm.toolkit.fluxcd.io/v2beta2 # pinned',
        'kind: HelmRelease',
        'metadata: {name: web, namespace: web}',
        'spec: {interval: 5m, chart: {spec: {chart: web, sourceRef: {kind: HelmRepository, name: web}}}}',
        '---',
        '{apiVersion: "source.toolkit.fluxcd.io/v1beta2", kind: HelmRepository, metadata: {name: web, namespace: web}, spec: {url: "https://charts.example.com", interval: 1h}}',
        '',
      ].join('\n'),
    });
    const runner = mkdtempSync(join(tmpdir(), 'fg-runner-'));
    const summary = join(runner, 'summary');
    writeFileSync(join(runner, 'output'), '');
    writeFileSync(summary, '');
    const r = spawnSync(process.execPath, ['--import', './scripts/ts-loader.mjs', 'src/index.ts'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      env: toolEnv({
        GITHUB_ACTIONS: 'true',
        GITHUB_OUTPUT: join(runner, 'output'),
        GITHUB_STEP_SUMMARY: summary,
        INPUT_COMMAND: 'verify',
        INPUT_REPO: repo,
        'INPUT_GITHUB-TOKEN': '',
      }),
      timeout: 120000,
    });
    expect(r.status).toBe(1);
    const md = readFileSync(summary, 'utf8');
    expect(md).toContain(
      [
        'clusters/dev/app.yaml:1 HelmRelease/web/web:',
        '',
        '```suggestion',
        'apiVersion: helm.toolkit.fluxcd.io/v2 # pinned',
        '```',
      ].join('\n'),
    );
    expect(md).toContain(
      [
        '```suggestion',
        '{apiVersion: "source.toolkit.fluxcd.io/v1", kind: HelmRepository, metadata: {name: web, namespace: web}, spec: {url: "https://charts.example.com", interval: 1h}}',
        '```',
      ].join('\n'),
    );
    // The JSON keeps exactly the documented finding fields.
    const json = readFileSync(join(runner, 'output'), 'utf8');
    expect(json).not.toContain('suggestion');
  });
});
