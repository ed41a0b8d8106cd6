/**
 * What a new user meets first: a missing or wrong flag, a tool that is not installed, an input
 * the action does not read. Each answer is one line that says what is wrong and what to do.
 */
import { describe, expect, it } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runCli } from '../support/cli.js';
import { fluxKustomization, writeRepo } from '../support/repo.js';
import { KUBECTL, PROJECT_ROOT, toolEnv } from '../support/tools.js';
import { commands } from '../../src/commands/index.js';
import { inActionWords, readActionInputs } from '../../src/action/inputs.js';

const oneLine = (stderr: string) => stderr.trim().split('\n');
/** A message that names a directory fluxgate made (a temp copy) instead of the user's path. */
const namesTempDir = (text: string) => text.includes(tmpdir()) || /fluxgate-(ref|sources|tool)-/.test(text);

function gitRepo(files: Record<string, string>): string {
  const root = writeRepo(files);
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', root, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args], {
      stdio: 'ignore',
    });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'one');
  return root;
}

/** A PATH holding only these tools (git always), as a runner without the others would have. */
function pathWith(...tools: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'fg-path-'));
  const which = (tool: string) =>
    execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
  symlinkSync(which('git'), join(dir, 'git'));
  for (const tool of tools) symlinkSync(tool === 'kubectl' ? KUBECTL : which(tool), join(dir, tool));
  return dir;
}

describe('flags', () => {
  it('render without --path says what it needs: one line, exit 2', async () => {
    const r = await runCli(['render', '--repo', writeRepo({ 'a.yaml': '' })]);
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toEqual([
      "error: render: --path is required: the cluster's entry directory, relative to the repository root (e.g. clusters/production; . for the root)",
    ]);
  });

  it('a --path that does not exist is exit 2 naming that path, never a temporary directory (render, diff, verify, build, push, migrate)', async () => {
    const root = gitRepo({
      'clusters/dev/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n',
    });
    const runs = {
      render: ['render', '--repo', root, '--path', 'clusters/nope'],
      diff: ['diff', '--repo', root, '--base', 'HEAD', '--head', 'HEAD', '--path', 'clusters/nope'],
      verify: ['verify', '--repo', root, '--path', 'clusters/nope'],
      build: ['build', '--path', join(root, 'clusters/nope')],
      // Refused before any request: nothing listens on port 1.
      push: [
        'push',
        'oci://127.0.0.1:1/a/b:v1',
        '--path',
        'clusters/nope',
        '--source',
        's',
        '--revision',
        'r',
      ],
      migrate: ['migrate', '--path', 'clusters/nope'],
    };
    for (const [name, args] of Object.entries(runs)) {
      const r = await runCli(args, { cwd: root });
      expect([name, r.code]).toEqual([name, 2]);
      expect(oneLine(r.stderr)).toHaveLength(1);
      expect(r.stderr).toContain('clusters/nope');
      expect([name, namesTempDir(r.stderr.replace(root, 'REPO'))]).toEqual([name, false]);
    }
  });

  it('an invalid tag is exit 2 before any request (push --tag, tag --tag, push --diff-tag)', async () => {
    const dir = writeRepo({ 'a.yaml': 'a: 1\n' });
    const runs = [
      [
        'push',
        'oci://127.0.0.1:1/a/b:v1',
        '--path',
        dir,
        '--source',
        's',
        '--revision',
        'r',
        '--tag',
        'bad tag',
      ],
      ['tag', `oci://127.0.0.1:1/a/b@sha256:${'0'.repeat(64)}`, '--tag', '.hidden'],
      [
        'push',
        'oci://127.0.0.1:1/a/b:v1',
        '--path',
        dir,
        '--source',
        's',
        '--revision',
        'r',
        '--diff-tag',
        '-x',
      ],
    ];
    for (const args of runs) {
      const r = await runCli(args);
      expect(r.code).toBe(2);
      expect(oneLine(r.stderr)).toHaveLength(1);
      expect(r.stderr).toMatch(/'(bad tag|\.hidden|-x)' is not a valid tag/);
    }
  });

  it('every command takes --format json; generate-key-pair prints the files it wrote, never the key', async () => {
    for (const command of commands) {
      const format = command.flags.find((f) => f.name === 'format');
      expect([command.name, format?.choices?.includes('json')]).toEqual([command.name, true]);
    }
    const cwd = mkdtempSync(join(tmpdir(), 'fg-keys-'));
    const r = await runCli(['generate-key-pair', '--format', 'json'], {
      cwd,
      env: toolEnv({ COSIGN_PASSWORD: 'correct horse' }),
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      privateKeyFile: join(cwd, 'cosign.key'),
      publicKeyFile: join(cwd, 'cosign.pub'),
    });
    expect(existsSync(join(cwd, 'cosign.key'))).toBe(true);
    expect(r.stdout).not.toContain('PRIVATE KEY');
    expect(r.stdout).not.toContain(readFileSync(join(cwd, 'cosign.key'), 'utf8').split('\n')[1]);
  });

  it('--help marks the required flags, in the usage line and in the list', async () => {
    const render = await runCli(['render', '--help']);
    expect(render.stdout).toContain('Usage: fluxgate render --path DIR [flags]');
    expect(render.stdout).toMatch(/--path DIR\s+Required\. Cluster entry directory/);
    expect(render.stdout).not.toMatch(/--repo DIR\s+Required/);
    const diff = await runCli(['diff', '--help']);
    expect(diff.stdout).toContain('Usage: fluxgate diff --base REF|DIR --head REF|DIR [flags]');
    const tag = await runCli(['tag', '--help']);
    expect(tag.stdout).toContain('Usage: fluxgate tag oci://HOST/REPO[:TAG|@DIGEST] --tag TAG... [flags]');
  });
});

describe('tools', () => {
  it('without kubectl or kustomize on PATH, render names the tool and how to get it, once', async () => {
    const root = writeRepo({
      'clusters/dev/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n',
    });
    const r = await runCli(['render', '--repo', root, '--path', 'clusters/dev'], {
      env: { ...process.env, PATH: pathWith() },
    });
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toEqual([
      'error: kustomize not found on PATH: kustomize builds run `kustomize build`, or `kubectl kustomize` when kustomize is absent: install kubectl (https://kubernetes.io/docs/tasks/tools/) or kustomize (https://kubectl.docs.kubernetes.io/installation/kustomize/); GitHub-hosted Ubuntu runners have both',
    ]);
  });

  it('without helm on PATH, each HelmRelease fails naming helm and how to get it; the Kustomizations still render', async () => {
    const root = writeRepo({
      'clusters/dev/release.yaml': [
        'apiVersion: helm.toolkit.fluxcd.io/v2',
        'kind: HelmRelease',
        'metadata: {name: demo, namespace: default}',
        'spec:',
        '  interval: 5m',
        '  chart: {spec: {chart: ./charts/demo, sourceRef: {kind: GitRepository, name: flux-system, namespace: flux-system}}}',
      ].join('\n'),
      'clusters/dev/apps.yaml': fluxKustomization('apps', './apps'),
      'apps/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: default}\n',
      'charts/demo/Chart.yaml': 'apiVersion: v2\nname: demo\nversion: 1.0.0\n',
      'charts/demo/templates/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-chart}\n',
    });
    const r = await runCli(['render', '--repo', root, '--path', 'clusters/dev', '--format', 'json'], {
      env: { ...process.env, PATH: pathWith('kubectl') },
    });
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as {
      objects: { object: { metadata: { name: string } } }[];
      errors: { message: string }[];
    };
    expect(out.errors.map((e) => e.message)).toEqual([
      'HelmRelease default/demo: helm not found on PATH: HelmReleases render with `helm template`: install Helm 3.x or 4.x (https://helm.sh/docs/intro/install/, or the azure/setup-helm action); GitHub-hosted Ubuntu runners have it',
    ]);
    expect(out.objects.map((o) => o.object.metadata.name)).toContain('app');
  });
});

describe('action inputs', () => {
  const inputsOf = (values: Record<string, string>) => (name: string) => values[name] ?? '';

  it('reads list inputs by their plural names (tags, annotations); the singular ones still work, with a warning', () => {
    const plural = readActionInputs(inputsOf({ command: 'push', tags: 'v1,latest', annotations: 'a=b' }), [
      'command',
      'tags',
      'annotations',
    ]);
    expect(plural.raw.values.get('tag')).toBe('v1,latest');
    expect(plural.raw.values.get('annotation')).toBe('a=b');
    expect(plural.warnings).toEqual([]);
    const singular = readActionInputs(inputsOf({ command: 'tag', tag: 'v2' }), ['command', 'tag']);
    expect(singular.raw.values.get('tag')).toBe('v2');
    expect(singular.warnings).toEqual(["input 'tag' is deprecated: use 'tags'"]);
    const action = parse(readFileSync(join(PROJECT_ROOT, 'action.yml'), 'utf8'));
    expect(action.inputs.tags.description).toContain('push');
    expect(action.inputs.tag.description).toContain('Deprecated: use `tags`');
  });

  it('an input the command does not read is a warning naming it, never a failure', () => {
    const inputs = readActionInputs(inputsOf({ command: 'render', path: 'clusters/dev', tags: 'latest' }), [
      'command',
      'github-token',
      'path',
      'tags',
    ]);
    expect(inputs.warnings).toEqual(["input 'tags' is not used by command 'render'; ignored"]);
  });

  it('usage errors name the inputs, not the CLI flags', () => {
    const tag = commands.find((c) => c.name === 'tag')!;
    expect(inActionWords(tag, "tag: --tag '.x' is not a valid tag")).toBe(
      "tag: input 'tags' '.x' is not a valid tag",
    );
    expect(inActionWords(tag, 'tag: an oci://HOST/REPO@DIGEST reference is required')).toBe(
      "tag: input 'url' is required (an oci://HOST/REPO@DIGEST reference)",
    );
  });

  it('in a run of the action: the error names the input, and an unused input is a warning', () => {
    const runner = mkdtempSync(join(tmpdir(), 'fg-runner-'));
    mkdirSync(runner, { recursive: true });
    for (const f of ['output', 'summary']) writeFileSync(join(runner, f), '');
    const env: NodeJS.ProcessEnv = {
      GITHUB_ACTIONS: 'true',
      GITHUB_OUTPUT: join(runner, 'output'),
      GITHUB_STEP_SUMMARY: join(runner, 'summary'),
      RUNNER_TEMP: runner,
      INPUT_COMMAND: 'render',
      INPUT_TAGS: 'latest',
      'INPUT_GITHUB-TOKEN': '',
    };
    const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'dist', 'index.js')], {
      cwd: runner,
      encoding: 'utf8',
      env: toolEnv(env),
    });
    expect(r.status).toBe(2);
    expect(r.stdout).toContain("::warning::input 'tags' is not used by command 'render'; ignored");
    expect(r.stdout).toContain("::error::render: input 'path' is required: the cluster's entry directory");
    expect(r.stdout).not.toContain('--path');
  });
});
