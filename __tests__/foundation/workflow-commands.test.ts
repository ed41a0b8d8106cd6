import { describe, expect, it, jest } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { runCli } from '../support/cli.js';
import { sharedRegistryHost } from '../support/registry.js';
import { fluxKustomization, writeRepo } from '../support/repo.js';
import { PROJECT_ROOT, toolEnv } from '../support/tools.js';

// Real kustomize processes on a shared machine: generous, never a timing assertion.
jest.setTimeout(600000);

/**
 * The workflow commands the Actions runner would act on in a step's log, as actions/runner reads
 * it (ActionCommandManager, ActionCommand.TryParseV2/TryParse): `::cmd props::data` after leading
 * whitespace, `##[cmd props]data` anywhere in a line, and nothing between `::stop-commands::T`
 * and `::T::` but the resume itself.
 */
function workflowCommands(log: string): { command: string; data: string }[] {
  const found: { command: string; data: string }[] = [];
  let stopped: string | undefined;
  for (const raw of log.split(/\r?\n/)) {
    const line = raw.trimStart();
    const v2 = line.startsWith('::') ? line.indexOf('::', 2) : -1;
    const v2Command =
      v2 > 0 ? { command: line.slice(2, v2).split(' ')[0]!, data: line.slice(v2 + 2) } : undefined;
    if (stopped !== undefined) {
      if (v2Command?.command.toLowerCase() === stopped.toLowerCase()) stopped = undefined;
      continue;
    }
    if (v2Command) {
      found.push(v2Command);
      if (v2Command.command === 'stop-commands') stopped = v2Command.data;
      continue;
    }
    const v1 = raw.indexOf('##[');
    const end = v1 >= 0 ? raw.indexOf(']', v1) : -1;
    if (end > 0) found.push({ command: raw.slice(v1 + 3, end).split(' ')[0]!, data: raw.slice(end + 1) });
  }
  return found;
}

/** Commands a repository or registry planted: every payload of the fixtures starts with `pwned`. */
const planted = (log: string) => workflowCommands(log).filter((c) => c.data.startsWith('pwned'));

const HOSTILE_LINES = [
  '::warning::pwned-yaml',
  '::set-output name=changed::pwned-output',
  '::add-mask::pwned-mask',
  '::stop-commands::pwned-token',
  '::error::pwned-after-stop',
  'text ##[error]pwned-v1',
];

function hostileRepo(): string {
  return writeRepo({
    'clusters/dev/apps.yaml': [
      fluxKustomization('apps', './apps'),
      // A name with line breaks: it must not add documents or lines to any output stream.
      fluxKustomization(
        'evil\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: injected}\n#',
        './evil',
      ),
    ].join('\n---\n'),
    'apps/config.yaml': `
apiVersion: v1
kind: ConfigMap
metadata: {name: scripts, namespace: default}
data:
  run.sh: |
${HOSTILE_LINES.map((l) => `    ${l}`).join('\n')}
`,
    // Deprecated (a verify finding) and named to inject a command into the verify text.
    'apps/release.yaml': JSON.stringify({
      apiVersion: 'helm.toolkit.fluxcd.io/v2beta2',
      kind: 'HelmRelease',
      metadata: { name: 'web\n::warning::pwned-verify', namespace: 'default' },
      spec: {
        interval: '5m',
        chart: { spec: { chart: 'x', sourceRef: { kind: 'HelmRepository', name: 'x' } } },
      },
    }),
    'evil/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: harmless, namespace: default}\n',
  });
}

function runAction(inputs: Record<string, string>) {
  const runner = mkdtempSync(join(tmpdir(), 'fg-runner-'));
  for (const f of ['output', 'summary']) writeFileSync(join(runner, f), '');
  const env: NodeJS.ProcessEnv = {
    GITHUB_ACTIONS: 'true',
    GITHUB_OUTPUT: join(runner, 'output'),
    GITHUB_STEP_SUMMARY: join(runner, 'summary'),
    RUNNER_TEMP: runner,
    'INPUT_GITHUB-TOKEN': '',
  };
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v;
  return spawnSync(process.execPath, [join(PROJECT_ROOT, 'dist', 'index.js')], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    env: toolEnv(env),
    timeout: 540000,
  });
}

describe('nothing a repository or registry controls acts as a workflow command', () => {
  const repo = hostileRepo();

  it('render: the YAML is printed whole, and none of its lines acts', () => {
    const r = runAction({ command: 'render', repo, path: 'clusters/dev' });
    const log = r.stdout + r.stderr;
    for (const line of HOSTILE_LINES) expect(log).toContain(line);
    expect(planted(log)).toEqual([]);
    // Our own annotations still act (the render has an error: the HelmRelease's source is missing).
    expect(workflowCommands(log).some((c) => c.command === 'error')).toBe(true);
  });

  it('verify: the text report and the annotations', () => {
    const r = runAction({ command: 'verify', repo, path: 'clusters/dev' });
    const log = r.stdout + r.stderr;
    expect(log).toContain('::warning::pwned-verify');
    expect(planted(log)).toEqual([]);
    expect(workflowCommands(log).some((c) => c.command === 'error' && c.data.includes('v2beta2'))).toBe(true);
  });

  it("pull: a pulled artifact's revision annotation", async () => {
    const host = sharedRegistryHost();
    const url = `oci://${host}/wfcmd-${process.pid}/app:v1`;
    const pushed = await runCli([
      'push',
      url,
      '--path',
      writeRepo({ 'a.yaml': 'a: 1\n' }),
      '--source',
      'https://example.com/x',
      '--revision',
      'v1\n::warning::pwned-pull\n::set-output name=digest::pwned-digest',
    ]);
    expect(pushed.code).toBe(0);
    const r = runAction({ command: 'pull', url, output: mkdtempSync(join(tmpdir(), 'fg-pull-')) });
    expect(r.status).toBe(0);
    const log = r.stdout + r.stderr;
    expect(log).toContain('::warning::pwned-pull');
    expect(planted(log)).toEqual([]);
  });
});

describe('a name with a line break cannot add documents or lines to an output stream', () => {
  const repo = hostileRepo();

  it('render --format yaml: one document per object, the owner comment stays a comment', async () => {
    const r = await runCli(['render', '--repo', repo, '--path', 'clusters/dev']);
    const json = JSON.parse(
      (await runCli(['render', '--repo', repo, '--path', 'clusters/dev', '--format', 'json'])).stdout,
    );
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJSON());
    expect(docs).toHaveLength(json.objects.length);
    expect(docs.map((d) => d.metadata.name)).not.toContain('injected');
    expect(docs.map((d) => d.metadata.name)).toContain('harmless');
  });

  it('diff --format unified: every line is a header, a hunk line or blank', async () => {
    const base = writeRepo({
      'clusters/dev/ns.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: dev}\n',
    });
    const r = await runCli([
      'diff',
      '--base',
      base,
      '--head',
      repo,
      '--path',
      'clusters/dev',
      '--format',
      'unified',
    ]);
    expect(r.stdout).toContain('harmless');
    const stray = r.stdout.split('\n').filter((l) => !/^(# |--- |\+\+\+ |@@ |[ +-]|$)/.test(l));
    expect(stray).toEqual([]);
  });
});
