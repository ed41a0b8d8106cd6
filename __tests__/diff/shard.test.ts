import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { appName, writeFleet } from '../../bench/fleet.js';
import { runCli } from '../support/cli.js';
import { startFakeGitHub } from '../support/github-api.js';
import { PROJECT_ROOT, TOOLS_BIN, toolEnv } from '../support/tools.js';
import { readOutputs } from '../verify/github-outputs.js';
import { commitAll, editFile, gitIn, lastCommitDiffArgs } from '../support/history.js';

/**
 * `--shard I/N` and `merge`: four cells of the benchmark's 500-app fleet, merged, give the review
 * a single run gives, byte for byte; each owner is built by one cell only (the entry directory,
 * which every cell needs to find the owners, by all); reports of another run, or a missing or
 * doubled cell, are refused. `render --shard` renders every owner, so it uses a 40-app fleet.
 */
const APPS = 500;
const RENDER_APPS = 40;
const SHARDS = 4;
/** The apps each fleet changes: images, a chart value, a Secret, an app removed, one broken. */
const CHANGES: Record<
  number,
  { images: number[]; chart: number; secret: number; removed: number; broken: number }
> = {
  [APPS]: { images: [3, 130, 260, 391, 499], chart: 77, secret: 333, removed: 120, broken: 240 },
  [RENDER_APPS]: { images: [3, 4, 5, 6, 38], chart: 8, secret: 33, removed: 12, broken: 24 },
};
/** Secret values are markers keyed afresh per run: equal runs differ only there. */
const withoutMarkers = (text: string) => text.replace(/\(secret:[0-9a-f]{12}\)/g, '(secret)');

let work: string;
let repo: string;
let renderRepo: string;
let buildLog: string;
let env: NodeJS.ProcessEnv;

const git = (...args: string[]) => gitIn(repo, ...args);
const edit = editFile;

/** kubectl (kustomize) and helm behind a wrapper that logs each build, to count them per cell. */
function countingTools(dir: string): string {
  mkdirSync(dir);
  for (const tool of ['kubectl', 'helm']) {
    const path = join(dir, tool);
    writeFileSync(
      path,
      `#!/bin/sh\nif [ "$1" = kustomize ] || [ "$1" = template ]; then echo "${tool} $1" >> "${buildLog}"; fi\nexec "${join(TOOLS_BIN, tool)}" "$@"\n`,
    );
    chmodSync(path, 0o755);
  }
  return dir;
}

/** Builds logged while `run` ran. */
async function counted<T>(run: () => Promise<T>): Promise<{ result: T; builds: number }> {
  writeFileSync(buildLog, '');
  const result = await run();
  const builds = readFileSync(buildLog, 'utf8').split('\n').filter(Boolean).length;
  return { result, builds };
}

const diffArgs = () => lastCommitDiffArgs(repo, 'clusters/production');

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'fg-shard-'));
  repo = join(work, 'fleet');
  renderRepo = join(work, 'small-fleet');
  buildLog = join(work, 'builds.log');
  const shims = countingTools(join(work, 'bin'));
  env = toolEnv({ PATH: `${shims}${delimiter}${TOOLS_BIN}${delimiter}${process.env.PATH ?? ''}` });
  delete env.GITHUB_ACTIONS;
  delete env.RUNNER_TEMP;
  fleetWithChanges(repo, APPS);
  fleetWithChanges(renderRepo, RENDER_APPS);
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A fleet committed, then a commit of changes spread over it (so over the cells). */
function fleetWithChanges(dir: string, apps: number): void {
  const at = CHANGES[apps]!;
  writeFleet(dir, { apps, seed: 21 });
  gitIn(dir, 'init', '-q');
  commitAll(dir, 'base');
  for (const i of at.images)
    edit(dir, `apps/${appName(i)}/overlays/production/kustomization.yaml`, /newTag: .*/, 'newTag: 9.9.9');
  edit(dir, `apps/${appName(at.chart)}/base/release.yaml`, /replicaCount: \d+/, 'replicaCount: 7');
  edit(dir, `apps/${appName(at.secret)}/base/secret.yaml`, /token: .*/, 'token: rotated-value');
  rmSync(join(dir, `clusters/production/apps/${appName(at.removed)}.yaml`));
  edit(
    dir,
    `apps/${appName(at.broken)}/overlays/production/kustomization.yaml`,
    '../../base',
    '../../missing',
  );
  commitAll(dir, 'head');
}

describe('diff --shard I/N and merge', () => {
  const reports = () => Array.from({ length: SHARDS }, (_, i) => join(work, `diff-${i + 1}.json`));
  let single: { markdown: string; json: string; code: number };

  beforeAll(async () => {
    const markdown = await runCli(diffArgs(), { env });
    const json = await runCli([...diffArgs(), '--format', 'json'], { env });
    single = { markdown: markdown.stdout, json: json.stdout, code: markdown.code };
    for (const [i, file] of reports().entries()) {
      const r = await runCli([...diffArgs(), '--shard', `${i + 1}/${SHARDS}`, '--output', file], { env });
      expect(r).toMatchObject({ code: 0 });
    }
  }, 900_000);

  it('merges four cells into the review of a single run, byte for byte', async () => {
    // The change is spread: several cells report changes.
    const cellsWithChanges = reports().filter((f) => {
      const report = JSON.parse(readFileSync(f, 'utf8'));
      return report.clusters[0].head.rendered.some((o: { name: string }) => /^app-/.test(o.name));
    });
    expect(cellsWithChanges.length).toBeGreaterThanOrEqual(3);

    const markdown = await runCli(['merge', ...reports()], { env });
    const json = await runCli(['merge', '--format', 'json', ...reports()], { env });
    expect(single.markdown).toContain(appName(CHANGES[APPS]!.images.at(-1)!));
    expect(single.markdown).toContain('Could not render on head');
    expect(withoutMarkers(markdown.stdout)).toBe(withoutMarkers(single.markdown));
    // The review's JSON is the same; only `builds` (how the work was done: the entry directory is
    // built in every cell) is the cells' counts added up.
    const withoutBuilds = (text: string) => {
      const { builds, ...review } = JSON.parse(withoutMarkers(text));
      expect(builds.built).toBeGreaterThan(0);
      return review;
    };
    expect(withoutBuilds(json.stdout)).toEqual(withoutBuilds(single.json));
    // One exit status: the app that no longer builds fails the merged review as it fails the run.
    expect(single.code).toBe(1);
    expect(markdown.code).toBe(1);
  });

  it('takes the reports as a glob, as the action input does', async () => {
    const merged = await runCli(['merge', join(work, 'diff-*.json')], { env });
    expect(withoutMarkers(merged.stdout)).toBe(withoutMarkers(single.markdown));
  });

  it('builds each owner in one cell only; the entry directory in every cell', () => {
    const built = new Map<string, number>();
    for (const file of reports()) {
      const report = JSON.parse(readFileSync(file, 'utf8'));
      for (const side of ['base', 'head'])
        for (const owner of report.built[0][side] as string[])
          built.set(`${side} ${owner}`, (built.get(`${side} ${owner}`) ?? 0) + 1);
    }
    for (const [owner, cells] of built)
      expect([owner, cells]).toEqual([
        owner,
        owner.endsWith('Kustomization/flux-system/flux-system') ? SHARDS : 1,
      ]);
    expect([...built.keys()]).toEqual(
      expect.arrayContaining([
        `head Kustomization/flux-system/${appName(CHANGES[APPS]!.images[0]!)}`,
        `head HelmRelease/${appName(CHANGES[APPS]!.chart)}/worker`,
      ]),
    );
  });

  it('refuses a missing cell, a cell given twice, and a cell of another run', async () => {
    const [one, two, three] = reports();
    const missing = await runCli(['merge', one!, two!, three!], { env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/shard 4\/4 is missing/);

    const copy = join(work, 'copy-of-2.json');
    copyFileSync(two!, copy);
    const twice = await runCli(['merge', ...reports(), copy], { env });
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/shard 2\/4 is given twice \(diff-2\.json, copy-of-2\.json\)/);

    // Another split of the same change, and a cell of another change.
    const other = join(work, 'other-1-of-2.json');
    expect((await runCli([...diffArgs(), '--shard', '1/2', '--output', other], { env })).code).toBe(0);
    const mixed = await runCli(['merge', one!, two!, three!, other], { env });
    expect(mixed.code).toBe(1);
    expect(mixed.stderr).toMatch(/other-1-of-2\.json is not of the run of diff-1\.json: count 2 ≠ 4/);

    const stale = join(work, 'stale-4.json');
    const head = git('rev-parse', 'HEAD').trim();
    const report = JSON.parse(readFileSync(reports()[3]!, 'utf8'));
    report.fleet.head.commit = git('rev-parse', 'HEAD~1').trim();
    writeFileSync(stale, JSON.stringify(report));
    const staleMerge = await runCli(['merge', one!, two!, three!, stale], { env });
    expect(staleMerge.code).toBe(1);
    expect(staleMerge.stderr).toContain(`stale-4.json is not of the run of diff-1.json: head`);
    expect(staleMerge.stderr).toContain(head);

    const garbage = join(work, 'garbage.json');
    writeFileSync(garbage, JSON.stringify({ schema: 'something/v9' }));
    const notReport = await runCli(['merge', one!, garbage], { env });
    expect(notReport.code).toBe(1);
    expect(notReport.stderr).toMatch(/garbage\.json: not a fluxgate shard report: schema "something\/v9"/);
  });

  it('a cell writes its report under RUNNER_TEMP; merge posts one comment and one summary', async () => {
    const gh = await startFakeGitHub({ 'workflow-token': 'github-actions[bot]' });
    try {
      const runner = mkdtempSync(join(work, 'runner-'));
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
      // Asynchronously: the GitHub stand-in answers from this process.
      const action = (inputs: Record<string, string>, step: string) =>
        new Promise<{ code: number; outputs: Record<string, string>; summary: string }>((done, fail) => {
          const outputs = join(runner, `${step}.out`);
          const summary = join(runner, `${step}.md`);
          writeFileSync(outputs, '');
          writeFileSync(summary, '');
          const child = spawn(process.execPath, ['--import', './scripts/ts-loader.mjs', 'src/index.ts'], {
            cwd: PROJECT_ROOT,
            env: {
              ...env,
              GITHUB_ACTIONS: 'true',
              GITHUB_OUTPUT: outputs,
              GITHUB_STEP_SUMMARY: summary,
              RUNNER_TEMP: runner,
              GITHUB_API_URL: gh.url,
              GITHUB_REPOSITORY: 'acme/fleet',
              GITHUB_EVENT_PATH: event,
              'INPUT_GITHUB-TOKEN': 'workflow-token',
              ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v])),
            },
            stdio: 'ignore',
          });
          child.on('error', fail);
          child.on('close', (code) =>
            done({
              code: code ?? 1,
              outputs: readOutputs(outputs),
              summary: readFileSync(summary, 'utf8'),
            }),
          );
        });
      const cell = await action(
        {
          command: 'diff',
          repo,
          base: 'HEAD~1',
          head: 'HEAD',
          path: 'clusters/production',
          shard: `4/${SHARDS}`,
        },
        'cell',
      );
      expect(cell.code).toBe(0);
      expect(cell.outputs['report-path']).toBe(join(runner, `fluxgate-shard-4-of-${SHARDS}.json`));
      // The cells put where actions/download-artifact would: one directory, found by a glob.
      const shards = join(runner, 'shards');
      mkdirSync(shards);
      for (const [i, file] of reports().slice(0, 3).entries())
        copyFileSync(file, join(shards, `cell-${i + 1}.json`));
      copyFileSync(cell.outputs['report-path']!, join(shards, 'cell-4.json'));

      const merged = await action({ command: 'merge', reports: `${shards}/*.json` }, 'merge');
      expect(merged.code).toBe(1);
      expect(merged.outputs.changed).toBe('true');
      const comments = gh.comments.filter((c) => c.issue === 7);
      expect(comments).toHaveLength(1);
      expect(merged.outputs['comment-url']).toBe(comments[0]!.html_url);
      expect(withoutMarkers(comments[0]!.body)).toContain(withoutMarkers(single.markdown.trimEnd()));
      expect(withoutMarkers(merged.summary)).toContain(withoutMarkers(single.markdown.trimEnd()));
    } finally {
      await gh.stop();
    }
  }, 600_000);
});

describe('render --shard I/N', () => {
  it('renders each owner in one cell, and merges into the render of a single run', async () => {
    const args = ['render', '--repo', renderRepo, '--path', 'clusters/production'];
    const single = await counted(() => runCli([...args, '--format', 'json'], { env }));
    expect(single.result.code).toBe(1); // the app that no longer builds
    let builds = 0;
    const files: string[] = [];
    const perCell: number[] = [];
    for (let i = 1; i <= SHARDS; i++) {
      const file = join(work, `render-${i}.json`);
      const cell = await counted(() =>
        runCli([...args, '--shard', `${i}/${SHARDS}`, '--output', file], { env }),
      );
      expect(cell.result.code).toBe(0);
      builds += cell.builds;
      perCell.push(cell.builds);
      files.push(file);
    }
    // Every cell builds the entry directory (one kustomize build); everything else is built once.
    expect(builds).toBe(single.builds + (SHARDS - 1));
    // Balanced: the 39 apps (a kustomize and a helm build each, but the one that fails) split 10/10/10/9.
    expect(Math.max(...perCell) - Math.min(...perCell)).toBeLessThanOrEqual(2);

    const merged = await runCli(['merge', '--format', 'json', ...files], { env });
    expect(merged.code).toBe(1);
    const strip = (text: string) => {
      const { warnings: _w, ...rest } = JSON.parse(withoutMarkers(text));
      return rest;
    };
    expect(strip(merged.stdout)).toEqual(strip(single.result.stdout));
    expect(JSON.parse(single.result.stdout).objects.length).toBeGreaterThan(RENDER_APPS * 5);
  }, 900_000);
});

describe('--shard validation', () => {
  it.each(['0/4', '5/4', '1/0', 'two/4', '1', '3/2'])(
    'refuses --shard %s with one line, exit 2',
    async (value) => {
      const r = await runCli([...diffArgs(), '--shard', value, '--output', join(work, 'x.json')], { env });
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(`--shard must be I/N with 1 ≤ I ≤ N`);
    },
  );

  it('needs somewhere to write the report, and --output needs --shard', async () => {
    const noOutput = await runCli([...diffArgs(), '--shard', '1/4'], { env });
    expect(noOutput.code).toBe(2);
    expect(noOutput.stderr).toContain('give --output FILE or --format json');
    const noShard = await runCli(
      ['render', '--repo', repo, '--path', 'clusters/production', '--output', join(work, 'x.json')],
      { env },
    );
    expect(noShard.code).toBe(2);
    expect(noShard.stderr).toContain('--output is the partial report of --shard');
  });
});
