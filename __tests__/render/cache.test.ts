import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { fluxKustomization, writeRepo } from '../support/repo.js';
import { gitIn } from '../support/history.js';

/**
 * The build cache: a build whose inputs are equal on both sides of a diff runs once, and
 * `--cache-dir` keeps builds across runs, so a pull request's base side comes from what a run on
 * the base commit stored. Counted, never timed.
 */
const SECRET_VALUE = 'plaintext-token-7f3c9a2e41';

const configMap = (name: string, value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {value: "${value}"}\n`;

/** Three apps (one with a HelmRelease) and a vault holding a Secret in clear (as a SOPS-less repository may). */
function fleet(): string {
  const repo = writeRepo({
    'clusters/main/flux-system/gotk-sync.yaml': `
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec:
  interval: 1m
  url: https://github.com/acme/fleet
  ref: {branch: main}
`,
    'clusters/main/apps.yaml': [
      fluxKustomization('web', './apps/web', { targetNamespace: 'web' }),
      fluxKustomization('api', './apps/api', { targetNamespace: 'api' }),
      fluxKustomization('jobs', './apps/jobs', {
        targetNamespace: 'jobs',
        postBuild: { substitute: { greeting: 'hello' } },
      }),
      fluxKustomization('vault', './apps/vault', { targetNamespace: 'vault' }),
    ].join('\n---\n'),
    'apps/web/kustomization.yaml': 'resources: [config.yaml]\n',
    'apps/web/config.yaml': configMap('web', 'one'),
    'apps/api/kustomization.yaml': 'resources: [config.yaml, release.yaml]\n',
    'apps/api/release.yaml': `
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: worker}
spec:
  interval: 10m
  chart:
    spec:
      chart: ./charts/worker
      sourceRef: {kind: GitRepository, name: flux-system, namespace: flux-system}
  values: {message: hi}
`,
    'charts/worker/Chart.yaml': 'apiVersion: v2\nname: worker\nversion: 1.0.0\n',
    'charts/worker/templates/config.yaml':
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: worker}\ndata: {message: {{ .Values.message | quote }}}\n',
    'apps/api/config.yaml': configMap('api', 'one'),
    // No kustomization.yaml: kustomize-controller generates one.
    'apps/jobs/config.yaml': configMap('jobs', '${greeting} world'),
    'apps/vault/secret.yaml': `apiVersion: v1\nkind: Secret\nmetadata: {name: token}\nstringData: {token: ${SECRET_VALUE}}\n`,
  });
  git(repo, 'init', '-q');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-qm', 'base');
  return repo;
}

const git = gitIn;

/** Commits a change to web's ConfigMap: one owner changes. */
function changeWeb(repo: string): void {
  writeFileSync(join(repo, 'apps/web/config.yaml'), configMap('web', 'two'));
  git(repo, 'commit', '-qam', 'web: two');
}

interface DiffJson {
  changes: { action: string; kind: string; namespace?: string; name: string }[];
  errors: unknown[];
  rendered: number;
  builds: { built: number; shared: number; cached: number };
}

async function diff(repo: string, ...extra: string[]): Promise<DiffJson> {
  const r = await runCli([
    'diff',
    ...['--repo', repo, '--base', 'HEAD~1', '--head', 'HEAD', '--path', 'clusters/main', '--format', 'json'],
    ...extra,
  ]);
  expect(r.stderr).not.toContain('error');
  return JSON.parse(r.stdout) as DiffJson;
}

/** Secret markers are keyed afresh in every run: compare renders with them set aside. */
const markersAside = (text: string) => text.replace(/\(secret:[0-9a-f]{12}\)/g, '(secret:…)');

/** Stored build outputs (`parses`: the parses kept beside kustomize outputs instead). */
function cacheFiles(dir: string, parses = false): string[] {
  return (readdirSync(join(dir, 'builds'), { recursive: true }) as string[])
    .map((f) => join(dir, 'builds', f))
    .filter((f) => f.endsWith('.json') && f.endsWith('.parsed.json') === parses);
}

/** `render` of the fleet as JSON, keeping builds in `cache`. */
const renderJson = (repo: string, cache: string) => [
  'render',
  ...['--repo', repo, '--path', 'clusters/main', '--cache-dir', cache, '--format', 'json'],
];

const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');

/** Writes a cache file made of a JSON header line (`header` with `fields` over it) and a body. */
function rewrite(file: string, header: string, fields: Record<string, unknown>, body: string): void {
  writeFileSync(file, `${JSON.stringify({ ...JSON.parse(header), ...fields })}\n${body}`);
}

describe('builds shared by both sides of a diff', () => {
  it('a full diff builds what is equal on both sides once: the entry and the unchanged apps', async () => {
    const repo = fleet();
    changeWeb(repo);
    const r = await diff(repo, '--no-changed-only');
    expect(r.errors).toEqual([]);
    expect(r.changes.map((c) => `${c.action} ${c.kind} ${c.namespace}/${c.name}`)).toEqual([
      'modified ConfigMap web/web',
    ]);
    // Six owners a side (the entry, four apps, a HelmRelease): web differs, so it is built on each side.
    expect(r.rendered).toBe(6);
    expect(r.builds).toEqual({ built: 7, shared: 5, cached: 0 });
  });

  it('two identical sides are built once', async () => {
    const repo = fleet();
    git(repo, 'commit', '-q', '--allow-empty', '-m', 'nothing');
    const r = await diff(repo, '--no-changed-only');
    expect(r.changes).toEqual([]);
    expect(r.builds).toEqual({ built: 6, shared: 6, cached: 0 });
  });
});

describe('--cache-dir', () => {
  it('with a cache warmed on the base commit, a diff builds only the head side of the changed app', async () => {
    const repo = fleet();
    const cache = mkdtempSync(join(tmpdir(), 'fg-cache-'));
    // The run on the main branch: a render of the base commit.
    const warm = await runCli(['render', '--repo', repo, '--path', 'clusters/main', '--cache-dir', cache]);
    expect(warm.code).toBe(0);
    changeWeb(repo);
    const cold = await diff(repo);
    const r = await diff(repo, '--cache-dir', cache);
    expect(r.changes).toEqual(cold.changes);
    expect(r.changes.map((c) => c.name)).toEqual(['web']);
    // The entry (both sides) and web's base side come from the cache; web's head is the one build.
    expect(cold.builds).toEqual({ built: 3, shared: 1, cached: 0 });
    expect(r.builds).toEqual({ built: 1, shared: 1, cached: 2 });
  });

  it('renders the same with a cold cache, a warm cache and none (markers aside)', async () => {
    const repo = fleet();
    const cache = mkdtempSync(join(tmpdir(), 'fg-cache-'));
    const render = (...extra: string[]) =>
      runCli(['render', '--repo', repo, '--path', 'clusters/main', '--format', 'json', ...extra]);
    const none = await render();
    const cold = await render('--cache-dir', cache);
    const warm = await render('--cache-dir', cache, '--verbose');
    expect(none.code).toBe(0);
    expect(markersAside(cold.stdout)).toBe(markersAside(none.stdout));
    expect(markersAside(warm.stdout)).toBe(markersAside(none.stdout));
    // The bootstrap GitRepository, four Kustomizations, an object of each app, the HelmRelease and its ConfigMap.
    expect(JSON.parse(none.stdout).objects.length).toBe(11);
    // Every build but the vault's (it holds a Secret) was read back, the HelmRelease's too.
    expect(warm.stderr).toContain('builds: 1 run, 5 from the cache');
  });

  it('never stores a Secret value: the owner holding it is built on every run', async () => {
    const repo = fleet();
    const cache = mkdtempSync(join(tmpdir(), 'fg-cache-'));
    const args = renderJson(repo, cache);
    const first = await runCli(args);
    const second = await runCli(args);
    expect(first.code).toBe(0);
    expect(second.stderr).toContain('builds: 1 run, 5 from the cache');
    expect(cacheFiles(cache).length).toBe(5);
    // The parse of each stored kustomize output (the HelmRelease's is helm's, kept as text only).
    expect(cacheFiles(cache, true).length).toBe(4);
    // Every file the cache holds: outputs, their parses, the repository's Flux objects.
    const stored = (readdirSync(cache, { recursive: true }) as string[])
      .map((f) => join(cache, f))
      .filter((f) => f.endsWith('.json'))
      .map((f) => readFileSync(f, 'utf8'));
    expect(stored.length).toBe(10);
    for (const text of stored) {
      expect(text).not.toContain(SECRET_VALUE);
      expect(text).not.toContain(Buffer.from(SECRET_VALUE).toString('base64'));
      expect(text).not.toContain('kind: Secret');
    }
    // The value itself never leaves the process either: the render shows its marker.
    expect(second.stdout).not.toContain(SECRET_VALUE);
  });

  it('does not follow a symlink out of the cache directory', async () => {
    const repo = fleet();
    const cache = mkdtempSync(join(tmpdir(), 'fg-cache-'));
    const elsewhere = mkdtempSync(join(tmpdir(), 'fg-elsewhere-'));
    symlinkSync(elsewhere, join(cache, 'builds'));
    const args = ['render', '--repo', repo, '--path', 'clusters/main', '--cache-dir', cache];
    const first = await runCli(args);
    const second = await runCli(args);
    expect(first.code).toBe(0);
    expect(second.stderr).toContain('builds: 6 run, 0 from the cache');
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('ignores a corrupt or foreign entry and builds it again', async () => {
    const repo = fleet();
    const cache = mkdtempSync(join(tmpdir(), 'fg-cache-'));
    const args = renderJson(repo, cache);
    const clean = await runCli(args);
    const files = cacheFiles(cache).sort();
    expect(files.length).toBe(5);
    const entry = (f: string) => JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>;
    // Not JSON; another schema; content that does not match its hash; another key's content.
    writeFileSync(files[0]!, '{"schema": 1, "key": ');
    writeFileSync(files[1]!, JSON.stringify({ ...entry(files[1]!), schema: 99 }));
    const tampered = entry(files[2]!);
    writeFileSync(
      files[2]!,
      JSON.stringify({ ...tampered, output: String(tampered.output).replace(/name: \w+/, 'name: evil') }),
    );
    writeFileSync(files[3]!, JSON.stringify({ ...entry(files[3]!), key: 'f'.repeat(64) }));
    const again = await runCli([...args, '--verbose']);
    expect(again.code).toBe(0);
    // Four entries spoilt, and the vault (never stored): five builds, one entry read.
    expect(again.stderr).toContain('builds: 5 run, 1 from the cache');
    expect(markersAside(again.stdout)).toBe(markersAside(clean.stdout));
    expect(again.stdout).not.toContain('evil');
    // Rebuilt entries replace the bad ones: the next run reads them all.
    const third = await runCli([...args, '--verbose']);
    expect(third.stderr).toContain('builds: 1 run, 5 from the cache');
  });

  it('reads the parse stored beside an output only while it matches that output and its own hash', async () => {
    const repo = fleet();
    const cache = mkdtempSync(join(tmpdir(), 'fg-cache-'));
    const args = renderJson(repo, cache);
    const clean = await runCli(args);
    const parses = cacheFiles(cache, true);
    const web = parses.find((f) => readFileSync(f, 'utf8').includes('"name":"web"'))!;
    const [header, value] = readFileSync(web, 'utf8').split('\n') as [string, string];
    const edited = value.replace('"name":"web"', '"name":"web-from-parse"');
    const write = (fields: Record<string, unknown>, text: string) => rewrite(web, header, fields, text);
    // Intact (its hash recomputed over the edit): the parse is what the run reads.
    write({ sha256: sha256Hex(edited) }, edited);
    expect((await runCli(args)).stdout).toContain('web-from-parse');
    // Its value does not match its hash, or it parses another output: read from the output.
    write({}, edited);
    const mismatched = await runCli(args);
    write({ sha256: sha256Hex(edited), output: sha256Hex('another output') }, edited);
    const foreign = await runCli(args);
    for (const r of [mismatched, foreign]) {
      expect(r.code).toBe(0);
      expect(r.stdout).not.toContain('web-from-parse');
      expect(markersAside(r.stdout)).toBe(markersAside(clean.stdout));
    }
  });

  it('a render keeps the Flux objects of the repository by blob id; a diff plans from them while they are intact', async () => {
    const repo = fleet();
    const cache = mkdtempSync(join(tmpdir(), 'fg-cache-'));
    expect(
      (await runCli(['render', '--repo', repo, '--path', 'clusters/main', '--cache-dir', cache])).code,
    ).toBe(0);
    changeWeb(repo);
    const file = join(cache, 'flux-objects.json');
    const [header, body] = readFileSync(file, 'utf8').split('\n') as [string, string];
    const apps = gitIn(repo, 'rev-parse', 'HEAD:clusters/main/apps.yaml');
    const kept = JSON.parse(body) as {
      objects: [string, { object: { metadata: { name: string } } }[]][];
      references: [string, string[]][];
    };
    const parses = new Map(kept.objects);
    // And what each kustomization file references: the web app's base, for one.
    const webKustomization = gitIn(repo, 'rev-parse', 'HEAD:apps/web/kustomization.yaml');
    expect(new Map(kept.references).get(webKustomization)).toEqual(['config.yaml']);
    expect(parses.get(apps)!.map((p) => p.object.metadata.name)).toEqual(['web', 'api', 'jobs', 'vault']);
    // Kept as stored, the plan follows them: here web is said to read another directory, so the
    // change to apps/web reaches no owner.
    const misled = body.replace('"path":"./apps/web"', '"path":"./apps/elsewhere"');
    const write = (fields: Record<string, unknown>, text: string) => rewrite(file, header, fields, text);
    write({ sha256: sha256Hex(misled) }, misled);
    expect((await diff(repo, '--cache-dir', cache)).changes).toEqual([]);
    // Not matching their hash: ignored, the files are parsed again and the change is seen.
    write({}, misled);
    expect((await diff(repo, '--cache-dir', cache)).changes.map((c) => c.name)).toEqual(['web']);
  });
});
