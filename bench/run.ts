/**
 * `npm run bench`: fluxgate's speed as ratios measured side by side in one run (absolute times
 * are not comparable between machines or runs). Writes a table to stdout and bench/results.json.
 * `--quick` runs the smallest sizes (for CI, under a minute). `--only changed-only` measures just
 * the changed-only diff (and one full render to compare it with), written to
 * bench/results-changed-only.json so the full run's results stay.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { renderCluster } from '../src/render/engine.js';
import { runDiff } from '../src/diff/run.js';
import type { BuildCounts } from '../src/render/cache.js';
import { helmVersion } from '../src/render/helm/index.js';
import { kustomizeVersion } from '../src/render/kustomize.js';
import { runProcess, type ProcessRunner } from '../src/render/process.js';
import { defaultConcurrency } from '../src/render/options.js';
import { silentLogger } from '../src/log.js';
import { RegistryClient, sha256Digest } from '../src/oci/client.js';
import { collectDirectory } from '../src/oci/artifact/collect.js';
import { packLayer } from '../src/oci/artifact/tarball.js';
import { buildArtifactManifest, type BuiltArtifact } from '../src/oci/artifact/manifest.js';
import { pushArtifact } from '../src/oci/artifact/push.js';
import { startRegistry } from '../__tests__/support/registry.js';
import { changeOneApp, dropSecret, writeFleet } from './fleet.js';
import { measure, toolRecorder, toolTimer } from './measure.js';
import { benchVerify, cosignProvider, notationLanded, notationProvider, type VerifyBench } from './verify.js';
import type { DiffOptions } from '../src/commands/diff.js';

const started = performance.now();
const loadBefore = loadavg().map((l) => Number(l.toFixed(2)));
const quick = process.argv.includes('--quick');
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt >= 0 ? process.argv[onlyAt + 1] : undefined;
if (only !== undefined && only !== 'changed-only')
  throw new Error(`--only ${only}: only changed-only is known`);
const changedOnlyAlone = only === 'changed-only';
const sizesAt = process.argv.indexOf('--sizes');
const sizes =
  sizesAt >= 0 ? process.argv[sizesAt + 1]!.split(',').map(Number) : quick ? [10, 30] : [50, 200, 500];
const cores = availableParallelism();
const env = {
  ...process.env,
  PATH: `${join(import.meta.dirname, '..', '.tools', 'bin')}:${process.env.PATH}`,
};
const io = { log: silentLogger, env, cwd: process.cwd() };
const results: Record<string, unknown> = {
  machine: {
    cpus: cpus().length,
    model: cpus()[0]?.model,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  },
  quick,
};
const rows: string[][] = [];
/** bench/results.json, written after each section too: a failure late in a long run keeps what was measured. */
const save = () =>
  writeFileSync(
    join(import.meta.dirname, changedOnlyAlone ? 'results-changed-only.json' : 'results.json'),
    JSON.stringify(results, null, 2) + '\n',
  );
const row = (...cells: (string | number)[]) => {
  rows.push(cells.map(String));
  // Progress as it comes (the aligned table follows on stdout at the end).
  process.stderr.write(`bench: ${cells.filter((c) => c !== '').join(' | ')}\n`);
};
const fmt = (n: number, digits = 2) => n.toFixed(digits);
const verifyRow = (v: VerifyBench) =>
  row(
    'verify',
    `${v.artifacts} ${v.provider}-signed artifacts`,
    `${fmt(v.perArtifactMs, 1)} ms each vs manifest HEAD+GET ${fmt(v.floorPerArtifactMs, 1)} ms`,
    `ratio ${fmt(v.ratioToFloor)}`,
    `${fmt(v.requestsPerArtifact, 1)} requests each (floor 2)`,
  );

function engineOptions(repo: string, concurrency: number) {
  return {
    repo,
    path: 'clusters/production',
    sources: new Map(),
    strictSubstitute: true,
    registryMirrors: new Map(),
    helmRepoMirrors: new Map(),
    concurrency,
    apiVersions: [],
    insecureRegistry: false,
  };
}

// ---- render: overhead over the tools, parallel speed-up ----
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const render: Record<string, unknown>[] = [];
for (const apps of sizes) {
  const repo = mkdtempSync(join(tmpdir(), `bench-fleet-${apps}-`));
  const snapshots = mkdtempSync(join(tmpdir(), `bench-floor-${apps}-`));
  writeFleet(repo, { apps, seed: 42 });
  // The cache a run on the base commit leaves (`render --cache-dir`), filled below.
  const baseCache = mkdtempSync(join(tmpdir(), `bench-cache-${apps}-`));
  // Asked once per process, outside the recorder: not one of the floor's invocations.
  await kustomizeVersion(runProcess, env);
  await helmVersion(runProcess, env);
  let entry: Record<string, unknown>;
  let fullRender: { wallMs: number };
  if (changedOnlyAlone) {
    // A warm-up, then the full render the changed-only diff is compared with.
    await renderCluster(engineOptions(repo, defaultConcurrency()), io);
    const full = await measure(() => renderCluster(engineOptions(repo, defaultConcurrency()), io));
    if (full.value.errors.length)
      throw new Error(`bench fleet did not render: ${full.value.errors[0]!.message}`);
    fullRender = full;
    entry = { apps, owners: full.value.rendered.length, fluxgateParallelMs: Math.round(full.wallMs) };
    render.push(entry);
  } else {
    // Warm-up (file cache, JIT), recording every tool invocation with a copy of its inputs.
    const recorder = toolRecorder(snapshots);
    const warm = await renderCluster({ ...engineOptions(repo, cores), run: recorder.run }, io);
    if (warm.errors.length) throw new Error(`bench fleet did not render: ${warm.errors[0]!.message}`);
    // fluxgate one tool at a time: its CPU outside the tools is the engine's own cost.
    const serialTools = toolTimer();
    const serial = await measure(() =>
      renderCluster({ ...engineOptions(repo, 1), run: serialTools.run }, io),
    );
    // fluxgate as it runs by default (one build a core), and with one build more than the cores.
    const parallel = await measure(() => renderCluster(engineOptions(repo, defaultConcurrency()), io));
    const parallelOneMore = await measure(() => renderCluster(engineOptions(repo, cores + 1), io));
    // The same with Go's own thread count in the tools (before their share of the cores).
    const goDefault: ProcessRunner = (command, args, options) => {
      const { GOMAXPROCS: _, ...env } = options.env ?? {};
      return runProcess(command, args, { ...options, env });
    };
    const parallelGoThreads = await measure(() =>
      renderCluster({ ...engineOptions(repo, defaultConcurrency()), run: goDefault }, io),
    );
    fullRender = parallel;
    // The floor: the same invocations, run one after the other by the benchmark itself.
    const floor = await measure(() => recorder.replay());
    // The same invocations, one a core, with no wave between them: the best the tools alone do on
    // these cores, the bound of any parallel render (a core rarely gives two tools twice the work).
    const parallelFloor = await measure(() => recorder.replay(cores));
    rmSync(snapshots, { recursive: true, force: true });
    // A floor whose tools printed something else did other work: no figure against it means anything.
    if (floor.value.mismatches || parallelFloor.value.mismatches)
      throw new Error(
        `the floor's replay of ${floor.value.mismatches || parallelFloor.value.mismatches} tool runs gave other output`,
      );
    if ([serial, parallel, parallelOneMore, parallelGoThreads].some((r) => r.value.errors.length))
      throw new Error('bench fleet did not render on every run');
    const overhead = serial.selfCpuMs / Math.max(1, serial.childCpuMs);
    entry = {
      apps,
      owners: serial.value.rendered.length,
      objects: serial.value.objects.length,
      toolInvocations: recorder.invocations.length,
      floorMismatches: floor.value.mismatches,
      floorMs: Math.round(floor.wallMs),
      floorToolCpuMs: floor.childCpuMs,
      floorSpawnCpuMs: floor.selfCpuMs,
      parallelFloorMs: Math.round(parallelFloor.wallMs),
      parallelFloorToolCpuMs: parallelFloor.childCpuMs,
      /** The tools alone, a core each, over the floor divided by the cores: this machine's bound of parallelVsFloorPerCore. */
      parallelFloorVsFloorPerCore: parallelFloor.wallMs / (floor.wallMs / cores),
      fluxgateSerialMs: Math.round(serial.wallMs),
      fluxgateSerialCpuMs: serial.selfCpuMs,
      fluxgateSerialToolCpuMs: serial.childCpuMs,
      fluxgateSerialToolWallMs: Math.round(serialTools.toolWallMs),
      fluxgateParallelMs: Math.round(parallel.wallMs),
      fluxgateParallelCpuMs: parallel.selfCpuMs,
      concurrency: defaultConcurrency(),
      /** With one build more than the cores, for comparison with the default. */
      parallelOneMoreMs: Math.round(parallelOneMore.wallMs),
      parallelOneMoreVsFloorPerCore: parallelOneMore.wallMs / (floor.wallMs / cores),
      /** With the tools' Go threads left at Go's default (all cores each), for comparison. */
      parallelGoThreadsMs: Math.round(parallelGoThreads.wallMs),
      parallelGoThreadsToolCpuMs: parallelGoThreads.childCpuMs,
      fluxgateParallelToolCpuMs: parallel.childCpuMs,
      /** fluxgate's CPU outside the tools / the tools' CPU, in the serial run. */
      overhead,
      /** The same, less the CPU any Node program pays to start those processes (the floor's own). */
      overheadBeyondSpawn: (serial.selfCpuMs - floor.selfCpuMs) / Math.max(1, serial.childCpuMs),
      /** The same engine CPU over the floor's tool CPU (the tools run by the benchmark). */
      overheadVsFloorCpu: serial.selfCpuMs / Math.max(1, floor.childCpuMs),
      /** Serial wall time over the floor's: what the engine adds to a one-at-a-time run. */
      serialVsFloor: serial.wallMs / floor.wallMs,
      /** Parallel wall time over the floor's: below 1 when the cores pay off. */
      parallelVsFloor: parallel.wallMs / floor.wallMs,
      /** Parallel wall time over the floor divided by the cores: 1 is every core busy with tools only. */
      parallelVsFloorPerCore: parallel.wallMs / (floor.wallMs / cores),
      /** Parallel wall time over the tools' own parallel run: what the engine adds on all cores. */
      parallelVsParallelFloor: parallel.wallMs / parallelFloor.wallMs,
      speedup: serial.wallMs / parallel.wallMs,
      /** The best speed-up the CPU the serial run used allows on these cores. */
      speedupBound: Math.min(
        cores,
        serial.wallMs / Math.max(1, (serial.selfCpuMs + serial.childCpuMs) / cores),
      ),
    };
    render.push(entry);
    row(
      'render',
      `${apps} apps (${entry.owners} owners, ${recorder.invocations.length} tool runs)`,
      `overhead ${fmt(overhead * 100, 1)}% (engine CPU ${serial.selfCpuMs} ms / tools CPU ${serial.childCpuMs} ms; spawning alone ${floor.selfCpuMs} ms)`,
      `floor ${entry.floorMs} ms; fluxgate serial ×${fmt(serial.wallMs / floor.wallMs)}, parallel ×${fmt(parallel.wallMs / floor.wallMs)} (×${fmt((parallel.wallMs * cores) / floor.wallMs)} of floor/${cores} cores at ${defaultConcurrency()} builds, ×${fmt((parallelOneMore.wallMs * cores) / floor.wallMs)} at ${cores + 1})`,
      `tools alone on ${cores} cores ×${fmt(entry.parallelFloorVsFloorPerCore as number)} of floor/${cores}, fluxgate parallel ×${fmt(entry.parallelVsParallelFloor as number)} of that`,
      `speed-up ×${fmt(entry.speedup as number)} on ${cores} cores (CPU bound ×${fmt(entry.speedupBound as number)}); with Go's default threads in the tools ×${fmt(parallelGoThreads.wallMs / parallel.wallMs)} the time`,
    );
  }
  // ---- changed-only diff of a one-app change, against a full render ----
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', repo, '-c', 'user.email=b@b', '-c', 'user.name=b', ...args], {
      stdio: 'ignore',
    });
  // Two one-app changes from the same base: an app that holds a Secret (an output with a Secret
  // is never stored, so the changed app's base side is built even with a warm cache) and one
  // without (only the head's build should run).
  const plainApp = Math.floor(apps / 2) + 1;
  dropSecret(repo, plainApp);
  git('init', '-q');
  git('add', '-A');
  git('commit', '-qm', 'base');
  git('tag', 'bench-base');
  // The cache a run on the base commit leaves (`render --cache-dir`).
  await renderCluster({ ...engineOptions(repo, cores), cacheDir: baseCache }, io);
  changeOneApp(repo, Math.floor(apps / 2));
  git('commit', '-qam', 'one app');
  git('tag', 'bench-secret-app');
  git('checkout', '-q', 'bench-base');
  changeOneApp(repo, plainApp);
  git('commit', '-qam', 'one app without a Secret');
  git('tag', 'bench-plain-app');
  // A clone (actions/checkout) has its objects packed; commits made here leave them loose.
  git('repack', '-adq');
  type DiffRunTimes = {
    wallMs: number;
    toolWallMs: number;
    rendered: number;
    changes: number;
    builds: BuildCounts;
  };
  // Cold and warm alternate; each warm run gets its own copy of the base commit's cache (a run
  // would otherwise find the head's builds the one before stored).
  const coldAndWarm = async (head: string) => {
    const cold: DiffRunTimes[] = [];
    const warm: DiffRunTimes[] = [];
    for (let i = 0; i < 6; i++) {
      const warmCache = i % 2 ? mkdtempSync(join(tmpdir(), 'bench-warm-')) : undefined;
      if (warmCache) cpSync(baseCache, warmCache, { recursive: true });
      const tools = toolTimer();
      const diffOptions = {
        ...engineOptions(repo, defaultConcurrency()),
        run: tools.run,
        base: 'bench-base',
        head,
        paths: ['clusters/production'],
        format: 'json',
        stripAttrs: [],
        comment: false,
        verify: false,
        changedOnly: true,
        cacheDir: warmCache,
      } as unknown as DiffOptions;
      const changed = await measure(() => runDiff(diffOptions, io));
      (warmCache ? warm : cold).push({
        wallMs: changed.wallMs,
        toolWallMs: tools.toolWallMs,
        rendered: changed.value.rendered,
        changes: changed.value.diff.changes.length,
        builds: changed.value.builds,
      });
      if (warmCache) rmSync(warmCache, { recursive: true, force: true });
    }
    return { cold, warm };
  };
  const { cold: runs, warm: warmRuns } = await coldAndWarm('bench-secret-app');
  const plain = await coldAndWarm('bench-plain-app');
  rmSync(baseCache, { recursive: true, force: true });
  const warmMs = median(warmRuns.map((r) => r.wallMs));
  const changedMs = median(runs.map((r) => r.wallMs));
  // For comparison: what a full checkout of both sides (a worktree each) would cost; diff reads
  // git objects and writes only what builds read instead.
  const worktrees = await measure(async () => {
    for (const ref of ['bench-base', 'bench-secret-app']) {
      const tree = join(mkdtempSync(join(tmpdir(), 'bench-worktree-')), 'tree');
      git('worktree', 'add', '--detach', '--quiet', tree, ref);
      git('worktree', 'remove', '--force', tree);
      rmSync(dirname(tree), { recursive: true, force: true });
    }
  });
  const changedToolMs = median(runs.map((r) => r.toolWallMs));
  entry.changedOnly = {
    ms: Math.round(changedMs),
    runsMs: runs.map((r) => Math.round(r.wallMs)),
    toolWallMs: Math.round(changedToolMs),
    /** The time over its target: twice its own kustomize + helm time, plus 1 s (≤ 1: met). */
    ratioToToolBudget: changedMs / (2 * changedToolMs + 1000),
    builds: runs[0]!.builds,
    warmCache: {
      ms: Math.round(warmMs),
      runsMs: warmRuns.map((r) => Math.round(r.wallMs)),
      toolWallMs: Math.round(median(warmRuns.map((r) => r.toolWallMs))),
      /** Warm over cold: the target is below 0.5. */
      ratioToCold: warmMs / changedMs,
      builds: warmRuns[0]!.builds,
      changesEqual: warmRuns.every((r) => r.changes === runs[0]!.changes),
    },
    /** The same for a changed app without a Secret: only the head's build should run. */
    warmCacheWithoutSecret: {
      coldMs: Math.round(median(plain.cold.map((r) => r.wallMs))),
      ms: Math.round(median(plain.warm.map((r) => r.wallMs))),
      ratioToCold: median(plain.warm.map((r) => r.wallMs)) / median(plain.cold.map((r) => r.wallMs)),
      coldBuilds: plain.cold[0]!.builds,
      builds: plain.warm[0]!.builds,
      changesEqual: plain.warm.every((r) => r.changes === plain.cold[0]!.changes),
    },
    gitWorktreesMs: Math.round(worktrees.wallMs),
    fullRenderMs: Math.round(fullRender.wallMs),
    ratioToFullRender: changedMs / fullRender.wallMs,
    ownersBuilt: runs[0]!.rendered,
    ownersFull: 2 * (entry.owners as number),
    changes: runs[0]!.changes,
  };
  row(
    'diff --changed-only',
    `${apps} apps, one app changed`,
    `${Math.round(changedMs)} ms (median of 3) vs full render ${Math.round(fullRender.wallMs)} ms`,
    `ratio ${fmt(changedMs / fullRender.wallMs)}`,
    `${runs[0]!.rendered} of ${2 * (entry.owners as number)} owners built (${runs[0]!.builds.built} builds run, ${runs[0]!.builds.shared} shared); tools ${Math.round(changedToolMs)} ms (×${fmt(changedMs / (2 * changedToolMs + 1000))} of 2×tools+1 s), a full checkout of both sides would take ${Math.round(worktrees.wallMs)} ms`,
  );
  row(
    'diff --changed-only',
    `${apps} apps, warm --cache-dir of the base commit`,
    `${Math.round(warmMs)} ms (median of 3) vs cold ${Math.round(changedMs)} ms`,
    `ratio ${fmt(warmMs / changedMs)}`,
    `${warmRuns[0]!.builds.built} builds run, ${warmRuns[0]!.builds.cached} from the cache, ${warmRuns[0]!.builds.shared} shared (the changed app holds a Secret)`,
  );
  {
    const coldMs = median(plain.cold.map((r) => r.wallMs));
    const warmPlainMs = median(plain.warm.map((r) => r.wallMs));
    const b = plain.warm[0]!.builds;
    row(
      'diff --changed-only',
      `${apps} apps, warm --cache-dir, changed app without a Secret`,
      `${Math.round(warmPlainMs)} ms (median of 3) vs cold ${Math.round(coldMs)} ms`,
      `ratio ${fmt(warmPlainMs / coldMs)}`,
      `${b.built} builds run, ${b.cached} from the cache, ${b.shared} shared (cold: ${plain.cold[0]!.builds.built} run)`,
    );
  }
  rmSync(repo, { recursive: true, force: true });
}
results.render = render;
save();
const diffTimes = render.map((r) => (r.changedOnly as { ms: number }).ms);
const renderTimes = render.map((r) => r.fluxgateParallelMs as number);
if (diffTimes.length > 1) {
  results.changedOnlyGrowth = {
    from: sizes[0],
    to: sizes.at(-1),
    fleetGrowth: sizes.at(-1)! / sizes[0]!,
    changedOnly: diffTimes.at(-1)! / diffTimes[0]!,
    fullRender: renderTimes.at(-1)! / renderTimes[0]!,
  };
  row(
    'diff --changed-only',
    `growth ${sizes[0]} → ${sizes.at(-1)} apps (×${fmt(sizes.at(-1)! / sizes[0]!, 0)})`,
    `changed-only ×${fmt(diffTimes.at(-1)! / diffTimes[0]!)} (flat = ×1)`,
    `full render ×${fmt(renderTimes.at(-1)! / renderTimes[0]!)}`,
    '',
  );
}

// ---- push: against skopeo copying the same content; verify of signed artifacts ----
const registry = changedOnlyAlone ? undefined : await startRegistry();
if (registry)
  try {
    const push: Record<string, unknown>[] = [];
    const payloads: [string, (dir: string) => void][] = [
      ['50 MiB file', (dir) => writeFileSync(join(dir, 'blob.bin'), randomBytes(50 * 2 ** 20))],
      [
        '1,000 files',
        (dir) => {
          for (let i = 0; i < 1000; i++) {
            mkdirSync(join(dir, `d${i % 20}`), { recursive: true });
            writeFileSync(
              join(dir, `d${i % 20}`, `f${i}.yaml`),
              `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: f${i}}\ndata: {v: "${randomBytes(64).toString('hex')}"}\n`,
            );
          }
        },
      ],
    ];
    const meta = {
      source: 'https://example.com/bench',
      revision: 'main@sha1:0123456789abcdef0123456789abcdef01234567',
      created: '1970-01-01T00:00:00Z',
      extra: [],
    };
    const repeats = 3;
    let kept:
      { dir: string; build: () => Promise<BuiltArtifact>; built: BuiltArtifact; remove(): void } | undefined;
    for (const [label, fill] of quick ? payloads.slice(1) : payloads) {
      const slug = `bench/${label.toLowerCase().replace(/\W+/g, '-')}`; // repository names are lowercase
      /**
       * Each repeat pushes content of its own (fresh random bytes): skopeo remembers where it has
       * put a blob (its blob info cache) and would mount it from there instead of uploading it.
       */
      const prepare = async () => {
        const dir = mkdtempSync(join(tmpdir(), 'bench-push-'));
        fill(dir);
        const build = async () => buildArtifactManifest(await packLayer(collectDirectory(dir)), meta);
        const built = await build();
        // The same artifact as an OCI layout, for skopeo.
        const layout = mkdtempSync(join(tmpdir(), 'bench-layout-'));
        mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
        for (const b of [built.config, built.layer, built.manifest])
          writeFileSync(join(layout, 'blobs', 'sha256', sha256Digest(b).slice(7)), b);
        writeFileSync(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
        writeFileSync(
          join(layout, 'index.json'),
          JSON.stringify({
            schemaVersion: 2,
            manifests: [
              { ...built.manifestDescriptor, annotations: { 'org.opencontainers.image.ref.name': 'v1' } },
            ],
          }),
        );
        const remove = () => {
          rmSync(dir, { recursive: true, force: true });
          rmSync(layout, { recursive: true, force: true });
        };
        return { dir, build, built, layout, remove };
      };

      // Alternating runs, each with content and a repository of its own.
      const buildPush: number[] = [];
      const pushOnly: number[] = [];
      const skopeo: number[] = [];
      for (let i = 0; i < repeats; i++) {
        const own = [await prepare(), await prepare(), await prepare()] as const;
        const a = await measure(async () =>
          pushArtifact(
            new RegistryClient({ env: {} }),
            registry.host,
            `${slug}-build-${i}`,
            await own[0].build(),
            ['v1'],
          ),
        );
        buildPush.push(a.wallMs);
        const b = await measure(() =>
          pushArtifact(new RegistryClient({ env: {} }), registry.host, `${slug}-push-${i}`, own[1].built, [
            'v1',
          ]),
        );
        pushOnly.push(b.wallMs);
        const c = await measure(async () =>
          execFileSync(
            'skopeo',
            [
              'copy',
              '--quiet',
              '--dest-tls-verify=false',
              `oci:${own[2].layout}:v1`,
              `docker://${registry.host}/${slug}-skopeo-${i}:v1`,
            ],
            { stdio: 'ignore' },
          ),
        );
        skopeo.push(c.wallMs);
        if (i > 0) own.forEach((o) => o.remove());
        else {
          own[1].remove();
          own[2].remove();
          kept = own[0];
        }
      }
      // Re-push of unchanged content (the first build+push), rebuilt from its directory, by a fresh client.
      const again = new RegistryClient({ env: {} });
      const built = await kept!.build();
      await pushArtifact(again, registry.host, `${slug}-build-0`, built, ['v1']);
      kept!.remove();
      const manifestPuts = 2; // by digest, then the tag
      const entry = {
        payload: label,
        layerBytes: built.layer.length,
        buildAndPushMs: Math.round(median(buildPush)),
        pushMs: Math.round(median(pushOnly)),
        skopeoMs: Math.round(median(skopeo)),
        pushRatioToSkopeo: median(pushOnly) / median(skopeo),
        buildAndPushRatioToSkopeo: median(buildPush) / median(skopeo),
        repushBlobsUploaded: again.stats.blobsUploaded,
        repushBlobBytes: again.stats.bytesSent - manifestPuts * built.manifest.length,
        repushBytesSent: again.stats.bytesSent,
      };
      push.push(entry);
      row(
        'push',
        `${label} (layer ${fmt(built.layer.length / 2 ** 20, 1)} MiB)`,
        `push ${entry.pushMs} ms, build+push ${entry.buildAndPushMs} ms vs skopeo copy ${entry.skopeoMs} ms`,
        `ratio ${fmt(entry.pushRatioToSkopeo)} push, ${fmt(entry.buildAndPushRatioToSkopeo)} build+push (≤1: as fast)`,
        `re-push: ${entry.repushBlobsUploaded} blobs, ${entry.repushBlobBytes} blob bytes (${entry.repushBytesSent} bytes of manifests)`,
      );
    }
    results.push = push;
    save();

    const artifacts = quick ? 20 : 100;
    const verify: Record<string, unknown> = {};
    const cosign = await benchVerify(cosignProvider, registry.host, artifacts, env);
    verify.cosign = cosign;
    verifyRow(cosign);
    if (notationLanded()) {
      try {
        const notation = await benchVerify(notationProvider, registry.host, artifacts, env);
        verify.notation = notation;
        verifyRow(notation);
      } catch (err) {
        verify.notation = { measured: false, reason: `failed: ${(err as Error).message}` };
        row('verify', 'notation', `not measured: ${(err as Error).message}`, '', '');
      }
    } else {
      const reason = 'notation signing has not landed (src/sign/notation/index.ts: not implemented)';
      verify.notation = { measured: false, reason };
      row('verify', 'notation', `not measured: ${reason}`, '', '');
    }
    results.verify = verify;
  } finally {
    await registry.stop();
  }

results.load = { before: loadBefore, after: loadavg().map((l) => Number(l.toFixed(2))) };
results.durationS = Math.round((performance.now() - started) / 1000);

const columns = Math.max(...rows.map((r) => r.length));
const widths = Array.from({ length: columns }, (_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
process.stdout.write(
  rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n') + '\n',
);
save();
process.stdout.write(
  `\nmachine: ${cores} cores, ${(results.machine as { model?: string }).model}; results in bench/${changedOnlyAlone ? 'results-changed-only.json' : 'results.json'}\n`,
);
