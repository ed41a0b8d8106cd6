import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readActionInputs } from '../../src/action/inputs.js';
import { runCommand } from '../../src/run.js';
import { runCli } from '../support/cli.js';
import { startFakeGitHub, type FakeGitHub } from '../support/github-api.js';
import { PROJECT_ROOT, toolEnv } from '../support/tools.js';
import { commitAll, editFile, gitIn } from '../support/history.js';

let repo: string;
let gh: FakeGitHub;

const git = (...args: string[]) => gitIn(repo, ...args);
const write = (file: string, text: string) => {
  mkdirSync(join(repo, file, '..'), { recursive: true });
  writeFileSync(join(repo, file), text);
};
const edit = (file: string, from: string, to: string) => editFile(repo, file, from, to);
const commit = (message: string) => commitAll(repo, message);
const diff = (base: string, head: string, ...more: string[]) =>
  runCli(['diff', '--repo', repo, '--base', base, '--head', head, ...more]);

/** Runs `diff` as the action does: with: inputs, outputs, job summary, the sticky comment. */
async function actionDiff(inputs: Record<string, string>, prNumber: number) {
  const outputs: Record<string, string> = {};
  const summaries: string[] = [];
  const logs: string[] = [];
  const event = join(mkdtempSync(join(tmpdir(), 'fg-event-')), 'event.json');
  writeFileSync(event, JSON.stringify({ pull_request: { number: prNumber } }));
  const parsed = readActionInputs((name) => ({ command: 'diff', repo, ...inputs })[name] ?? '');
  const runner = mkdtempSync(join(tmpdir(), 'fg-runner-'));
  const code = await runCommand(parsed.command, parsed.raw, {
    log: {
      debug() {},
      info: (m) => logs.push(m),
      warn: (m) => logs.push(`warning: ${m}`),
      error: (m) => logs.push(`error: ${m}`),
      group: (_n, fn) => fn(),
      mask() {},
    },
    stdout() {},
    cwd: repo,
    env: {
      ...toolEnv(),
      GITHUB_API_URL: gh.url,
      GITHUB_REPOSITORY: 'acme/fleet',
      GITHUB_EVENT_PATH: event,
      GITHUB_TOKEN: 'app-token',
      GITHUB_RUN_ID: '77',
      GITHUB_SERVER_URL: 'https://github.com',
      RUNNER_TEMP: runner,
    },
    action: {
      setOutput: (name, value) => void (outputs[name] = value),
      appendSummary: async (markdown) => void summaries.push(markdown),
    },
  });
  const comments = gh.comments.filter((c) => c.issue === prNumber);
  return { code, outputs, summary: summaries.join(''), logs: logs.join('\n'), comments };
}

let base: string;
let pr: string;
let broken: string;
let offline: string;
let offlineTouched: string;
let offlineNew: string;

beforeAll(async () => {
  gh = await startFakeGitHub({ 'app-token': 'acme-fluxgate[bot]' });
  repo = mkdtempSync(join(tmpdir(), 'fg-review-'));
  rmSync(repo, { recursive: true });
  cpSync(join(PROJECT_ROOT, 'examples', 'fleet'), repo, { recursive: true });
  git('init', '-q');
  base = commit('fleet');
  git('apply', join(PROJECT_ROOT, 'examples', 'fleet-pr.patch'));
  pr = commit('the example pull request');
  // A head that cannot render `apps`: an undefined variable under strict substitution.
  git('checkout', '-q', '--detach', base);
  edit('apps/base/web/deployment.yaml', 'value: ${log_level:=info}', 'value: ${log_level_undefined}');
  broken = commit('an undefined variable');
  // A chart that cannot be fetched (nothing listens there), on base and head alike.
  git('checkout', '-q', '--detach', base);
  const release = (name: string) => `---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: ${name}
  namespace: flux-system
spec:
  interval: 1h
  url: http://127.0.0.1:9/charts
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: ${name}
  namespace: flux-system
spec:
  interval: 1h
  chart:
    spec:
      chart: ${name}
      version: 1.0.0
      sourceRef:
        kind: HelmRepository
        name: ${name}
`;
  write('clusters/production/offline.yaml', release('offline'));
  offline = commit('an offline chart');
  edit('clusters/production/cluster-vars.yaml', 'domain: example.com', 'domain: example.net');
  offlineTouched = commit('an unrelated change');
  write('clusters/production/offline-two.yaml', release('offline-two'));
  offlineNew = commit('a second offline chart');
  git('checkout', '-q', '--detach', pr);
}, 120000);
afterAll(async () => {
  await gh.stop();
  rmSync(repo, { recursive: true, force: true });
});

describe('render failures in the review', () => {
  it('a head-side failure is "could not render on head" at the top, never "removed"; exit 1', async () => {
    const md = await diff(base, broken, '--path', 'clusters/production');
    const json = await diff(base, broken, '--path', 'clusters/production', '--format', 'json');
    expect(md.code).toBe(1);
    expect(json.code).toBe(1);
    const result = JSON.parse(json.stdout);
    expect(result.changes.filter((c: { action: string }) => c.action === 'removed')).toEqual([]);
    expect(result.unrendered).toEqual([
      expect.objectContaining({
        owner: { kind: 'Kustomization', namespace: 'flux-system', name: 'apps' },
        side: 'head',
        message: expect.stringContaining('log_level_undefined'),
      }),
    ]);
    // Its own objects and those of the HelmRelease it applies are left out of the comparison.
    expect(result.unrendered[0].objects).toBeGreaterThanOrEqual(4);
    expect(md.stdout).not.toMatch(/\*\*removed\*\*/);
    expect(md.stdout).toContain('0 removed');
    const failure = md.stdout.indexOf('Could not render on head');
    expect(failure).toBeGreaterThan(0);
    expect(failure).toBeLessThan(md.stdout.indexOf('objects changed') >>> 0);
    expect(md.stdout).not.toMatch(/fluxgate-ref-/);
  });

  it('an error on base and head is listed once as pre-existing and does not fail; --fail-on-errors all does', async () => {
    // A full render: changed-only mode would not build the untouched HelmRelease at all.
    const full = ['--path', 'clusters/production', '--no-changed-only'];
    const r = await diff(offline, offlineTouched, ...full, '--format', 'json');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.errors).toEqual([
      expect.objectContaining({
        owner: { kind: 'HelmRelease', namespace: 'flux-system', name: 'offline' },
        status: 'pre-existing',
      }),
    ]);
    expect(result.changes.length).toBeGreaterThan(0);
    const md = await diff(offline, offlineTouched, ...full);
    expect(md.stdout).toContain('pre-existing (on base and head)');
    const all = await diff(offline, offlineTouched, ...full, '--fail-on-errors', 'all');
    expect(all.code).toBe(1);
  });

  it('the same error introduced by the change fails it', async () => {
    const r = await diff(
      offlineTouched,
      offlineNew,
      '--path',
      'clusters/production',
      '--no-changed-only',
      '--format',
      'json',
    );
    expect(r.code).toBe(1);
    const statuses = JSON.parse(r.stdout).errors.map((e: { owner: { name: string }; status: string }) => [
      e.owner.name,
      e.status,
    ]);
    expect(statuses.sort()).toEqual([
      ['offline', 'pre-existing'],
      ['offline-two', 'new'],
    ]);
  });
});

describe('clusters the change adds or removes', () => {
  it('a --path only on head is all added, only on base all removed; each entry names its cluster', async () => {
    git('checkout', '-q', '--detach', base);
    cpSync(join(repo, 'clusters/staging'), join(repo, 'clusters/canary'), { recursive: true });
    const added = commit('a canary cluster');
    git('checkout', '-q', '--detach', pr);
    const paths = ['--path', 'clusters/production', '--path', 'clusters/canary'];
    const up = await diff(base, added, ...paths, '--format', 'json');
    expect(up.stderr).not.toMatch(/fluxgate-ref-|no such directory/);
    expect(up.code).toBe(0);
    const changes = JSON.parse(up.stdout).changes as { cluster: string; action: string }[];
    expect(changes.length).toBeGreaterThan(5);
    expect(new Set(changes.map((c) => `${c.cluster} ${c.action}`))).toEqual(
      new Set(['clusters/canary added']),
    );
    const down = await diff(added, base, ...paths, '--format', 'json');
    expect(down.code).toBe(0);
    const removed = JSON.parse(down.stdout).changes as { cluster: string; action: string }[];
    expect(new Set(removed.map((c) => `${c.cluster} ${c.action}`))).toEqual(
      new Set(['clusters/canary removed']),
    );
  });

  it('a --path on neither side is exit 2 naming the path, never a temp directory', async () => {
    const r = await diff(base, pr, '--path', 'clusters/nowhere');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--path clusters/nowhere: no such directory on base');
    expect(r.stderr).not.toMatch(/fluxgate-ref-|\/tmp\//);
  });
});

describe('the example pull request', () => {
  it('names containers[name=...] paths in the change list, and has no risk section', async () => {
    const r = await diff(base, pr, '--path', 'clusters/production');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      '- `spec.template.spec.containers[name=web].image`: `ghcr.io/acme/web:1.4.2` → `ghcr.io/acme/web:1.5.0`',
    );
    expect(r.stdout).toContain('containers[name=web].env[name=PUBLIC_URL].value');
    expect(r.stdout).not.toContain('Needs a second look');
    // The field list comes before the unified diff of the same object.
    expect(r.stdout.indexOf('containers[name=web].image')).toBeLessThan(
      r.stdout.indexOf('+++ b/Deployment/web/web'),
    );
  });
});

describe('in the action', () => {
  it('a PR adding a 300-app cluster: all added, summary < 1 MiB, comment < 65,536, fold note at top, json bounded', async () => {
    git('checkout', '-q', '--detach', base);
    const groups = 10;
    const docs: string[] = [];
    for (let g = 0; g < groups; g++) {
      docs.push(`---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: group-${g}
  namespace: flux-system
spec:
  interval: 10m
  path: ./big/group-${g}
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
`);
      for (let a = 0; a < 300 / groups; a++) {
        const app = `app-${g}-${a}`;
        write(
          `big/group-${g}/${app}.yaml`,
          `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${app}
  namespace: apps
spec:
  replicas: 2
  selector:
    matchLabels: { app: ${app} }
  template:
    metadata:
      labels: { app: ${app} }
    spec:
      containers:
        - name: ${app}
          image: ghcr.io/acme/${app}:1.0.${a}
          ports: [{ containerPort: 8080, name: http }]
          env: [{ name: APP, value: ${app} }]
---
apiVersion: v1
kind: Service
metadata:
  name: ${app}
  namespace: apps
spec:
  selector: { app: ${app} }
  ports: [{ port: 80, targetPort: http }]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: ${app}-settings
  namespace: apps
data:
  settings.json: '${JSON.stringify({ app, features: Array.from({ length: 150 }, (_, i) => `feature-${i}`) })}'
`,
        );
      }
    }
    write('clusters/big/apps.yaml', docs.join(''));
    const head = commit('a 300-app cluster');
    git('checkout', '-q', '--detach', pr);
    const r = await actionDiff({ base, head, path: 'clusters/big' }, 300);
    expect(r.code).toBe(0);
    expect(Number(r.outputs.added)).toBe(300 * 3 + groups);
    expect(r.outputs.removed).toBe('0');
    const summaryBytes = Buffer.byteLength(r.summary);
    expect(summaryBytes).toBeLessThan(1024 * 1024);
    expect(r.comments).toHaveLength(1);
    const comment = r.comments[0]!.body;
    expect(comment.length).toBeLessThan(65_536);
    for (const text of [comment, r.summary]) {
      const note = text.indexOf('folded, the largest first');
      expect(note).toBeGreaterThan(0);
      expect(note).toBeLessThan(text.indexOf('objects changed'));
    }
    // The full review is larger than the summary: the folding was needed, and the file has it all.
    expect(Buffer.byteLength(readFileSync(r.outputs['diff-path']!, 'utf8'))).toBeGreaterThan(1024 * 1024);
    expect(r.outputs.json!.length).toBeLessThan(1024 * 1024);
    const full = JSON.parse(readFileSync(r.outputs['json-path']!, 'utf8'));
    expect(full.changes).toHaveLength(300 * 3 + groups);
    expect(full.changes.every((c: { diff: string }) => c.diff.length > 0)).toBe(true);
  });

  it('a permanent 500 from GitHub leaves the outputs written and the exit status from the diff', async () => {
    gh.fail(500, 1000);
    try {
      const r = await actionDiff({ base, head: pr, path: 'clusters/production' }, 1);
      expect(r.code).toBe(0);
      expect(r.outputs).toMatchObject({ changed: 'true', modified: '6', 'comment-url': '' });
      expect(r.logs).toMatch(/warning: comment: cannot comment on acme\/fleet#1/);
      expect(r.summary).toContain('## fluxgate diff');
    } finally {
      gh.heal();
    }
  });

  it('a rerun on the same commits does not edit the comment (secret markers differ per run)', async () => {
    const first = await actionDiff({ base, head: pr, path: 'clusters/production' }, 2);
    expect(first.comments).toHaveLength(1);
    expect(first.comments[0]!.body).toMatch(/secret:[0-9a-f]{12}/);
    expect(first.comments[0]!.body).toContain(`base \`${base.slice(0, 7)}\` → head \`${pr.slice(0, 7)}\``);
    const patches = gh.requests.filter((r) => r.startsWith('PATCH')).length;
    const second = await actionDiff({ base, head: pr, path: 'clusters/production' }, 2);
    expect(second.comments).toHaveLength(1);
    expect(gh.requests.filter((r) => r.startsWith('PATCH')).length).toBe(patches);
  });

  it('comment: never posts nothing', async () => {
    const before = gh.requests.length;
    const r = await actionDiff({ base, head: pr, path: 'clusters/production', comment: 'never' }, 3);
    expect(r.code).toBe(0);
    expect(gh.requests.length).toBe(before);
  });
});
