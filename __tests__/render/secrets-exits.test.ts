import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { startFakeGitHub, type FakeGitHub } from '../support/github-api.js';
import { fluxKustomization, writeRepo } from '../support/repo.js';
import { PROJECT_ROOT, toolEnv } from '../support/tools.js';
import { readOutputs } from '../verify/github-outputs.js';

/**
 * Secret values of a hostile fleet: each reaches a Secret by another road (a Helm chart's List,
 * a nested List, a secretGenerator copied by `replacements`, a Secret copied by `replacements`,
 * a multi-line key, values that break substitution or YAML). None may appear in any output.
 */
const SECRETS = {
  list: 'list-token-Zq81xvWm',
  nested: 'nested-token-Lp02Rt',
  generated: 'generated-pw-Pw93kdQ',
  copied: 'copied-pw-Mn55bvX',
  multiline: 'line-one-AAAA1111\nline-two-BBBB2222\nline-three-CCCC3333',
  strict: 'strict-${SECRET_TAIL_Kx7}',
  unterminated: 'unterm-${Ab9QzTailVal',
  invalid: 'inval-${9bad-Name-Wq2}',
  yaml: '${TAG} yaml-secret-Hq4vN ${BREAK}',
};
/** Parts of the values that break substitution: an error quoting the expression leaks them. */
const FRAGMENTS = ['SECRET_TAIL_Kx7', 'Ab9QzTailVal', '9bad-Name-Wq2', 'yaml-secret-Hq4vN'];

/** Every form a value could be printed in: raw, base64, JSON-escaped, and line by line. */
function forms(value: string): string[] {
  const lines = value.split('\n');
  return [
    value,
    Buffer.from(value).toString('base64'),
    JSON.stringify(value).slice(1, -1),
    ...(lines.length > 1 ? lines : []),
  ];
}
const FORBIDDEN = [...Object.values(SECRETS).flatMap(forms), ...FRAGMENTS];

/** The forbidden strings found in `text` (an empty list is the pass). */
function leaks(text: string): string[] {
  return FORBIDDEN.filter((f) => text.includes(f));
}

const chartList = `
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Secret
    metadata: {name: from-list}
    stringData:
      token: {{ .Values.listToken | quote }}
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: listed-config}
    data: {plain: hello}
  - apiVersion: v1
    kind: SecretList
    items:
      - apiVersion: v1
        kind: Secret
        metadata: {name: nested}
        data:
          key: {{ .Values.nestedToken | b64enc }}
`;

function fleet(): Record<string, string> {
  return {
    'clusters/dev/apps.yaml': [
      fluxKustomization('charts', './apps/charts'),
      fluxKustomization('copies', './apps/copies'),
      fluxKustomization('keys', './apps/keys'),
      fluxKustomization('strict', './apps/strict', { postBuild: { substitute: { FOO: 'bar' } } }),
      fluxKustomization('unterminated', './apps/unterminated', { postBuild: { substitute: { FOO: 'bar' } } }),
      fluxKustomization('invalid', './apps/invalid', { postBuild: { substitute: { FOO: 'bar' } } }),
      fluxKustomization('broken-yaml', './apps/broken-yaml', {
        postBuild: { substitute: { TAG: '!vault', BREAK: ': x' } },
      }),
    ].join('\n---\n'),
    // A HelmRelease whose chart renders a List (and a nested *List) holding Secrets.
    'apps/charts/release.yaml': `
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: listy, namespace: default}
spec:
  interval: 10m
  chart:
    spec:
      chart: ./charts/listy
      sourceRef: {kind: GitRepository, name: flux-system, namespace: flux-system}
  values:
    listToken: ${SECRETS.list}
    nestedToken: ${SECRETS.nested}
`,
    'charts/listy/Chart.yaml': 'apiVersion: v2\nname: listy\nversion: 0.1.0\n',
    'charts/listy/templates/list.yaml': chartList,
    // replacements copy a generated Secret's (base64) value and a Secret's stringData into a ConfigMap.
    'apps/copies/kustomization.yaml': `
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [config.yaml, creds.yaml]
secretGenerator:
  - name: generated
    literals: [password=${SECRETS.generated}]
replacements:
  - source: {kind: Secret, name: generated, fieldPath: data.password}
    targets:
      - select: {kind: ConfigMap, name: app-config}
        fieldPaths: [data.generated]
  - source: {kind: Secret, name: creds, fieldPath: stringData.password}
    targets:
      - select: {kind: ConfigMap, name: app-config}
        fieldPaths: [data.copied]
`,
    'apps/copies/config.yaml': `
apiVersion: v1
kind: ConfigMap
metadata: {name: app-config, namespace: default}
data: {generated: placeholder, copied: placeholder, plain: visible-value}
`,
    'apps/copies/creds.yaml': `
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: default}
stringData: {password: ${SECRETS.copied}}
`,
    'apps/keys/key.yaml': `
apiVersion: v1
kind: Secret
metadata: {name: tls, namespace: default}
stringData:
  tls.key: |
${SECRETS.multiline.replace(/^/gm, '    ')}
`,
    ...Object.fromEntries(
      (['strict', 'unterminated', 'invalid'] as const).map((k) => [
        `apps/${k}/secret.yaml`,
        `apiVersion: v1\nkind: Secret\nmetadata: {name: ${k}, namespace: default}\nstringData:\n  password: '${SECRETS[k]}'\n`,
      ]),
    ),
    'apps/broken-yaml/secret.yaml': `apiVersion: v1\nkind: Secret\nmetadata: {name: broken-yaml, namespace: default}\nstringData:\n  password: '${SECRETS.yaml}'\n`,
  };
}

/** The bundled CLI as a process, so that what Node itself prints on stderr (warnings) is seen too. */
function fluxgate(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [join(PROJECT_ROOT, 'dist', 'cli.js'), ...args], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    env: toolEnv(env),
    timeout: 540000,
  });
}

// Real kustomize and helm processes on a shared machine: generous, never a timing assertion.
jest.setTimeout(600000);

/** A node process, awaited without blocking this one. */
function runProcess(
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

let repo: string;
let base: string;
let gh: FakeGitHub;
beforeAll(async () => {
  repo = writeRepo(fleet());
  base = writeRepo({ 'clusters/dev/empty.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: dev}\n' });
  gh = await startFakeGitHub({ 'bot-token': 'github-actions[bot]' });
});
afterAll(() => gh.stop());

describe('no Secret value leaves the process', () => {
  it('render --format json: Lists are flattened and masked, copies become markers, errors name the key', () => {
    const r = fluxgate(['render', '--repo', repo, '--path', 'clusters/dev', '--format', 'json']);
    expect(leaks(r.stdout + r.stderr)).toEqual([]);
    const out = JSON.parse(r.stdout) as {
      objects: { owner: { name: string }; object: Record<string, any> }[];
      errors: { owner: { name: string }; message: string }[];
    };
    const named = (name: string) => out.objects.find((o) => o.object.metadata.name === name)?.object;
    // The chart's List and the nested SecretList are gone: their items are objects of the release.
    expect(
      out.objects
        .filter((o) => o.owner.name === 'listy')
        .map((o) => o.object.kind)
        .sort(),
    ).toEqual(['ConfigMap', 'Secret', 'Secret']);
    expect(named('from-list')!.stringData.token).toMatch(/^\(secret:[0-9a-f]{12}\)$/);
    expect(named('from-list')!.metadata.labels['helm.toolkit.fluxcd.io/name']).toBe('listy');
    expect(named('nested')!.data.key).toMatch(/^\(secret:[0-9a-f]{12}\)$/);
    // A copy shows as the marker of the value it copies, so a change to the Secret still shows.
    const config = named('app-config')!;
    expect(config.data.copied).toBe(named('creds')!.stringData.password);
    expect(config.data.generated).toMatch(/^\(secret:[0-9a-f]{12}\)$/);
    expect(config.data.plain).toBe('visible-value');
    expect(named('tls')!.stringData['tls.key']).toMatch(/^\(secret:[0-9a-f]{12}\)$/);
    // Substitution failures name the Secret and the key, never the value or part of it.
    const errors = Object.fromEntries(out.errors.map((e) => [e.owner.name, e.message]));
    expect(errors).toEqual({
      strict:
        'Kustomization flux-system/strict: postBuild substitution in Secret default/strict, key stringData.password: variable not set (strict mode) (not shown: the value is secret)',
      unterminated:
        'Kustomization flux-system/unterminated: postBuild substitution in Secret default/unterminated, key stringData.password: unterminated variable (not shown: the value is secret)',
      invalid:
        'Kustomization flux-system/invalid: postBuild substitution in Secret default/invalid, key stringData.password: invalid variable expression (not shown: the value is secret)',
      'broken-yaml':
        'Kustomization flux-system/broken-yaml: postBuild substitution in Secret default/broken-yaml, key stringData.password: the result is not valid YAML (not shown: the value is secret)',
    });
    expect(r.status).toBe(1);
  });

  it('render --format yaml, and the --output-dir files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fg-out-'));
    const r = fluxgate([
      'render',
      '--repo',
      repo,
      '--path',
      'clusters/dev',
      '--output-dir',
      dir,
      '--verbose',
    ]);
    expect(leaks(r.stdout + r.stderr)).toEqual([]);
    expect(parseAllDocuments(r.stdout).filter((d) => d.toJSON()?.kind === 'Secret')).toHaveLength(5);
    const files = spawnSync('cat', [join(dir, 'helmrelease-default-listy.yaml')], {
      encoding: 'utf8',
    }).stdout;
    expect(files).toContain('name: from-list');
    expect(leaks(files)).toEqual([]);
  });

  it.each(['markdown', 'json', 'unified'])('diff --format %s', (format) => {
    const r = fluxgate([
      'diff',
      '--base',
      base,
      '--head',
      repo,
      '--path',
      'clusters/dev',
      '--format',
      format,
      '--verbose',
    ]);
    expect(r.stdout).toContain('from-list');
    expect(leaks(r.stdout + r.stderr)).toEqual([]);
  });

  it('the action: PR comment, job summary, outputs, the review file and the log', async () => {
    const runner = mkdtempSync(join(tmpdir(), 'fg-runner-'));
    const event = join(runner, 'event.json');
    writeFileSync(
      event,
      JSON.stringify({
        pull_request: {
          number: 3,
          head: { repo: { full_name: 'acme/fleet' } },
          base: { repo: { full_name: 'acme/fleet' } },
        },
      }),
    );
    for (const f of ['output', 'summary']) writeFileSync(join(runner, f), '');
    // Not spawnSync: the GitHub stand-in answers from this process's event loop.
    const r = await runProcess([join(PROJECT_ROOT, 'dist', 'index.js')], {
      cwd: PROJECT_ROOT,
      env: toolEnv({
        GITHUB_ACTIONS: 'true',
        GITHUB_OUTPUT: join(runner, 'output'),
        GITHUB_STEP_SUMMARY: join(runner, 'summary'),
        GITHUB_EVENT_PATH: event,
        GITHUB_REPOSITORY: 'acme/fleet',
        GITHUB_API_URL: gh.url,
        RUNNER_TEMP: runner,
        INPUT_COMMAND: 'diff',
        INPUT_BASE: base,
        INPUT_HEAD: repo,
        INPUT_PATH: 'clusters/dev',
        INPUT_COMMENT: 'true',
        INPUT_VERBOSE: 'true',
        'INPUT_GITHUB-TOKEN': 'bot-token',
      }),
    });
    const comment = gh.comments.at(-1)?.body ?? '';
    expect(comment).toContain('from-list');
    const outputs = readOutputs(join(runner, 'output'));
    expect(outputs.changed).toBe('true');
    const summary = readFileSync(join(runner, 'summary'), 'utf8');
    const review = readFileSync(join(runner, 'fluxgate-diff.md'), 'utf8');
    // The runner hides what `::add-mask::` registers; every other line of the log is shown.
    const log = (r.stdout + r.stderr)
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .join('\n');
    expect(log).toContain('::error');
    expect({
      comment: leaks(comment),
      summary: leaks(summary),
      outputs: leaks(JSON.stringify(outputs) + Object.values(outputs).join('\n')),
      review: leaks(review),
      log: leaks(log),
    }).toEqual({ comment: [], summary: [], outputs: [], review: [], log: [] });
    // Each value is registered with the runner, which then masks it in anything else printed.
    const masked = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('::add-mask::'))
      .map((l) => l.slice('::add-mask::'.length));
    for (const value of [SECRETS.list, SECRETS.nested, SECRETS.generated, SECRETS.copied])
      expect(masked).toContain(value);
    for (const line of SECRETS.multiline.split('\n')) expect(masked).toContain(line);
  });
});
