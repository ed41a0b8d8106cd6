import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readActionInputs } from '../../src/action/inputs.js';
import { runCommand } from '../../src/run.js';
import { cli } from '../../src/cli/main.js';
import { runCli } from '../support/cli.js';
import { PROJECT_ROOT, toolEnv } from '../support/tools.js';
import { commitAll, editFile, gitIn } from '../support/history.js';

// Where objects and errors are defined (file and line in the repository), as the review and the
// annotations show them, on the example fleet and small changes to it.

let repo: string;
const git = (...args: string[]) => gitIn(repo, ...args);
const write = (file: string, text: string) => {
  mkdirSync(join(repo, file, '..'), { recursive: true });
  writeFileSync(join(repo, file), text);
};
const edit = (file: string, from: string, to: string) => editFile(repo, file, from, to);
const commit = (message: string) => commitAll(repo, message);
/** The 1-based line of the first line of `file` that contains `text`. */
const lineOf = (file: string, text: string) =>
  readFileSync(join(repo, file), 'utf8')
    .split('\n')
    .findIndex((l) => l.includes(text)) + 1;

interface Annotated {
  level: 'error' | 'warning';
  message: string;
  file?: string;
  line?: number;
}

/** `diff` as the action runs it; every warning and error with the annotation it carries. */
async function actionDiff(inputs: Record<string, string>) {
  const annotations: Annotated[] = [];
  const outputs: Record<string, string> = {};
  const parsed = readActionInputs(
    (name) => ({ command: 'diff', repo, comment: 'never', ...inputs })[name] ?? '',
  );
  const code = await runCommand(parsed.command, parsed.raw, {
    log: {
      debug() {},
      info() {},
      warn: (message, a) =>
        void annotations.push({ level: 'warning', message, file: a?.file, line: a?.line }),
      error: (message, a) => void annotations.push({ level: 'error', message, file: a?.file, line: a?.line }),
      group: (_n, fn) => fn(),
      mask() {},
    },
    stdout() {},
    cwd: repo,
    env: { ...toolEnv(), RUNNER_TEMP: mkdtempSync(join(tmpdir(), 'fg-runner-')) },
    action: { setOutput: (name, value) => void (outputs[name] = value), appendSummary: async () => {} },
  });
  return { code, annotations, outputs };
}

let base: string;
let broken: string;
let risky: string;
let twice: string;
let offline: string;
let offlineApp: string;

beforeAll(() => {
  repo = mkdtempSync(join(tmpdir(), 'fg-origins-'));
  rmSync(repo, { recursive: true });
  cpSync(join(PROJECT_ROOT, 'examples', 'fleet'), repo, { recursive: true });
  git('init', '-q');
  base = commit('fleet');
  edit('apps/base/web/deployment.yaml', 'value: ${log_level:=info}', 'value: ${log_level_undefined}');
  broken = commit('an undefined variable');
  git('checkout', '-q', '--detach', base);
  // A privileged DaemonSet, the second document of its file.
  write(
    'apps/base/web/agent.yaml',
    `apiVersion: v1
kind: ServiceAccount
metadata:
  name: agent
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels: { app: agent }
  template:
    metadata:
      labels: { app: agent }
    spec:
      serviceAccountName: agent
      containers:
        - name: agent
          image: ghcr.io/acme/agent:1.0.0
          securityContext:
            privileged: true
`,
  );
  edit('apps/base/web/kustomization.yaml', '  - secret.yaml', '  - secret.yaml\n  - agent.yaml');
  risky = commit('a privileged DaemonSet');
  git('checkout', '-q', '--detach', base);
  // The same ConfigMap from two owners: `infrastructure` and the flux-system Kustomization. (A
  // namespaced object without a namespace is not defaulted to its Kustomization's namespace:
  // kustomize-controller refuses it, "namespace not specified", unless targetNamespace sets one.)
  edit(
    'infrastructure/namespaces.yaml',
    'name: monitoring\n',
    'name: monitoring\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n  namespace: flux-system\ndata:\n  owner: infrastructure\n',
  );
  write(
    'clusters/production/shared.yaml',
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n  namespace: flux-system\ndata:\n  owner: flux-system\n',
  );
  twice = commit('a ConfigMap applied by two owners');
  git('checkout', '-q', '--detach', base);
  // A HelmRelease whose chart cannot be fetched (nothing listens there): an error on both sides.
  write(
    'clusters/production/offline.yaml',
    `apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: offline
  namespace: flux-system
spec:
  interval: 1h
  url: http://127.0.0.1:9/charts
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: offline
  namespace: flux-system
spec:
  interval: 1h
  chart:
    spec:
      chart: offline
      version: 1.0.0
      sourceRef:
        kind: HelmRepository
        name: offline
`,
  );
  offline = commit('an offline chart');
  edit('apps/base/web/deployment.yaml', 'replicas: ${replicas}', 'replicas: 5');
  offlineApp = commit('a change to the web app only');
}, 120000);
afterAll(() => {
  rmSync(repo, { recursive: true, force: true });
});

describe('where rendered objects come from', () => {
  it('each object of the repository carries its file and line, through overlays, generators and HelmReleases; none keeps an origin annotation', async () => {
    git('checkout', '-q', '--detach', base);
    const r = await runCli(['render', '--repo', repo, '--path', 'clusters/production', '--format', 'json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as {
      objects: { owner: { name: string }; object: any; origin?: { file: string; line?: number } }[];
    };
    const origin = (kind: string, name: string) =>
      out.objects.find((o) => o.object.kind === kind && o.object.metadata.name === name)?.origin;
    // A base reached through the production overlay.
    expect(origin('Deployment', 'web')).toEqual({ file: 'apps/base/web/deployment.yaml', line: 1 });
    // The second document of a file without a kustomization.yaml.
    expect(origin('Namespace', 'monitoring')).toEqual({
      file: 'infrastructure/namespaces.yaml',
      line: lineOf('infrastructure/namespaces.yaml', 'name: monitoring') - 3,
    });
    // A configMapGenerator entry.
    expect(origin('ConfigMap', 'worker-values')).toEqual({
      file: 'apps/base/worker/kustomization.yaml',
      line: lineOf('apps/base/worker/kustomization.yaml', 'name: worker-values'),
    });
    // A chart's objects are placed at their HelmRelease.
    const chartObject = out.objects.find((o) => o.owner.name === 'worker' && o.object.kind === 'Deployment')!;
    expect(chartObject.origin).toEqual(origin('HelmRelease', 'worker'));
    expect(chartObject.origin!.file).toBe('apps/base/worker/release.yaml');
    // Built from an assembled ExternalArtifact, not a file of the repository: no origin.
    expect(origin('ConfigMap', 'alert-rules')).toBeUndefined();
    // Flux applies no origin annotation here: none is left on what the review compares.
    expect(r.stdout).not.toContain('config.kubernetes.io/origin');
  });

  it('a YAML error names its file and line', async () => {
    git('checkout', '-q', '--detach', base);
    write(
      'infrastructure/broken.yaml',
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: [b\n',
    );
    try {
      const r = await runCli(['render', '--repo', repo, '--path', 'clusters/production', '--format', 'json']);
      expect(r.code).toBe(1);
      const errors = JSON.parse(r.stdout).errors as {
        message: string;
        origin?: { file: string; line?: number };
      }[];
      const error = errors.find((e) => e.message.includes('broken.yaml'))!;
      expect(error.origin?.file).toBe('infrastructure/broken.yaml');
      expect(error.origin?.line).toBeGreaterThanOrEqual(6);
      expect(r.stderr).toMatch(/error: infrastructure\/broken\.yaml:\d+: /);
    } finally {
      rmSync(join(repo, 'infrastructure', 'broken.yaml'));
    }
  });
});

describe('annotations of a diff in the action', () => {
  it('a new render error at the line of its ${variable}; a risk at the DaemonSet’s document', async () => {
    const failed = await actionDiff({ base, head: broken, path: 'clusters/production' });
    expect(failed.code).toBe(1);
    const error = failed.annotations.find(
      (a) => a.level === 'error' && a.message.includes('log_level_undefined'),
    );
    expect(error).toMatchObject({
      file: 'apps/base/web/deployment.yaml',
      line: lineOf('apps/base/web/deployment.yaml', 'value: ${log_level'),
    });

    git('checkout', '-q', '--detach', risky);
    const daemonSetLine = lineOf('apps/base/web/agent.yaml', 'kind: DaemonSet') - 1;
    const warned = await actionDiff({ base, head: risky, path: 'clusters/production', format: 'html' });
    expect(warned.code).toBe(0);
    const risk = warned.annotations.find((a) => a.message.includes('privileged'));
    expect(risk).toEqual({
      level: 'warning',
      message: expect.stringContaining('DaemonSet web/agent: container agent becomes privileged'),
      file: 'apps/base/web/agent.yaml',
      line: daemonSetLine,
    });
    // format: html writes the review as a page for a workflow artifact, at the review-path output.
    const page = readFileSync(warned.outputs['review-path']!, 'utf8');
    expect(warned.outputs['review-path']).toMatch(/fluxgate-review\.html$/);
    expect(page.startsWith('<!doctype html>')).toBe(true);
    expect(page).toContain('DaemonSet web/agent</a> container agent becomes privileged');
    expect(warned.outputs['diff-path']).toMatch(/\.md$/);
  });
});

describe('objects applied by two owners', () => {
  it('match a namespaced object written without a namespace to its owner’s, and are shown on both owners', async () => {
    git('checkout', '-q', '--detach', twice);
    const sharedLine = lineOf('infrastructure/namespaces.yaml', 'kind: ConfigMap') - 1;
    const r = await runCli([
      'diff',
      '--repo',
      repo,
      '--base',
      base,
      '--head',
      twice,
      '--path',
      'clusters/production',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('### Applied by two owners');
    const line = r.stdout.split('\n').find((l) => l.includes('ConfigMap flux-system/shared'))!;
    expect(line).toContain('**new on head**');
    expect(line).toContain(
      'Kustomization flux-system/infrastructure (infrastructure/namespaces.yaml:' + sharedLine + ')',
    );
    expect(line).toContain('Kustomization flux-system/flux-system (clusters/production/shared.yaml:1)');
    const json = JSON.parse(
      (
        await runCli([
          'diff',
          '--repo',
          repo,
          '--base',
          base,
          '--head',
          twice,
          '--path',
          'clusters/production',
          '--format',
          'json',
        ])
      ).stdout,
    );
    expect(json.warnings).toEqual([
      expect.objectContaining({
        object: 'ConfigMap flux-system/shared',
        status: 'new',
        owners: expect.any(Array),
      }),
    ]);
    expect(json.warnings[0].owners).toHaveLength(2);
  });
});

describe('changed-only review', () => {
  it('says how many owners it did not rebuild instead of implying they have no errors, and their errors do not fail it', async () => {
    const r = await runCli([
      'diff',
      '--repo',
      repo,
      '--base',
      offline,
      '--head',
      offlineApp,
      '--path',
      'clusters/production',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /_Changed-only: \d+ owners? the change cannot affect (was|were) not rebuilt; their objects and any errors they have are not part of this review\._/,
    );
    expect(r.stdout).not.toContain('offline');
    expect(r.stdout).toContain('Deployment web/web');
    // A full render lists the pre-existing error instead, and says nothing about owners not rebuilt.
    const full = await runCli([
      'diff',
      '--repo',
      repo,
      '--base',
      offline,
      '--head',
      offlineApp,
      '--path',
      'clusters/production',
      '--no-changed-only',
    ]);
    expect(full.code).toBe(0);
    expect(full.stdout).toContain('pre-existing (on base and head)');
    expect(full.stdout).not.toContain('Changed-only');
  });
});

describe('progress on long work', () => {
  it('on a terminal, an owners built/total line rewritten in place; --verbose names each tool run; stdout stays JSON', async () => {
    git('checkout', '-q', '--detach', base);
    let stdout = '';
    let stderr = '';
    const code = await cli(
      ['render', '--repo', repo, '--path', 'clusters/production', '--format', 'json', '--verbose'],
      {
        env: toolEnv(),
        cwd: repo,
        stdout: (t) => (stdout += t),
        stderr: (t) => (stderr += t),
        stderrIsTTY: true,
      },
    );
    expect(code).toBe(0);
    expect(JSON.parse(stdout).objects.length).toBeGreaterThan(0);
    expect(stderr).toMatch(/\r\x1b\[2Krender clusters\/production: \d+\/\d+ owners built, \d+s/);
    // The last progress line is cleared: the terminal is left clean.
    expect(stderr.endsWith('\r\x1b[2K')).toBe(true);
    expect(stderr).toMatch(/tool: (kustomize build|kubectl kustomize) .*\(exit 0, [\d.]+ m?s\)/);
    expect(stderr).toMatch(/tool: helm template .*\(exit 0, [\d.]+ m?s\)/);
    // Not a terminal, not verbose: neither.
    const plain = await runCli([
      'render',
      '--repo',
      repo,
      '--path',
      'clusters/production',
      '--format',
      'json',
    ]);
    expect(plain.stderr).not.toContain('owners built');
    expect(plain.stderr).not.toContain('tool: ');
  });
});
