/**
 * `npm run bench`: fluxgate's speed as ratios measured side by side in one run (absolute times
 * are not comparable between machines or runs). Writes a table to stdout and bench/results.json.
 * `--quick` runs the smallest sizes (for CI, under a minute).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { renderCluster } from '../src/render/engine.js';
import { runDiff } from '../src/diff/run.js';
import { silentLogger } from '../src/log.js';
import { RegistryClient, sha256Digest } from '../src/oci/client.js';
import { collectDirectory } from '../src/oci/artifact/collect.js';
import { packLayer } from '../src/oci/artifact/tarball.js';
import { buildArtifactManifest } from '../src/oci/artifact/manifest.js';
import { pushArtifact } from '../src/oci/artifact/push.js';
import { startRegistry } from '../__tests__/support/registry.js';
import { changeOneApp, writeFleet } from './fleet.js';
import { measure, toolTimer } from './measure.js';
import type { DiffOptions } from '../src/commands/diff.js';

const quick = process.argv.includes('--quick');
const sizes = quick ? [20] : [50, 200, 500];
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
const row = (...cells: (string | number)[]) => rows.push(cells.map(String));
const fmt = (n: number, digits = 2) => n.toFixed(digits);

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
const render: Record<string, unknown>[] = [];
for (const apps of sizes) {
  const repo = mkdtempSync(join(tmpdir(), `bench-fleet-${apps}-`));
  writeFleet(repo, { apps, seed: 42 });
  const serialTools = toolTimer();
  const serial = await measure(() => renderCluster({ ...engineOptions(repo, 1), run: serialTools.run }, io));
  const parallel = await measure(() => renderCluster(engineOptions(repo, cores), io));
  if (serial.value.errors.length)
    throw new Error(`bench fleet did not render: ${serial.value.errors[0]!.message}`);
  const overheadWall = (serial.wallMs - serialTools.toolWallMs) / serialTools.toolWallMs;
  const overheadCpu = serial.selfCpuMs / Math.max(1, serial.childCpuMs);
  const entry = {
    apps,
    owners: serial.value.rendered.length,
    objects: serial.value.objects.length,
    toolInvocations: serialTools.invocations,
    toolsSerialMs: Math.round(serialTools.toolWallMs),
    fluxgateSerialMs: Math.round(serial.wallMs),
    fluxgateParallelMs: Math.round(parallel.wallMs),
    overheadWall,
    overheadCpu,
    speedup: serial.wallMs / parallel.wallMs,
    parallelVsFloor: parallel.wallMs / serialTools.toolWallMs,
  };
  render.push(entry);
  row(
    'render',
    `${apps} apps (${entry.owners} owners)`,
    `overhead ${fmt(overheadWall * 100, 1)}% wall, ${fmt(overheadCpu * 100, 1)}% CPU`,
    `speed-up ×${fmt(entry.speedup)} on ${cores} cores`,
    `parallel / serial tools ${fmt(entry.parallelVsFloor)}`,
  );

  // ---- changed-only diff of a one-app change ----
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', repo, '-c', 'user.email=b@b', '-c', 'user.name=b', ...args], {
      stdio: 'ignore',
    });
  git('init', '-q');
  git('add', '-A');
  git('commit', '-qm', 'base');
  changeOneApp(repo, Math.floor(apps / 2));
  git('commit', '-qam', 'one app');
  const diffOptions = {
    ...engineOptions(repo, cores),
    base: 'HEAD~1',
    head: 'HEAD',
    paths: ['clusters/production'],
    format: 'json',
    stripAttrs: [],
    comment: false,
    verify: false,
  } as unknown as DiffOptions;
  const changed = await measure(() => runDiff(diffOptions, { ...io, stdout: () => {} }));
  const full = await measure(() =>
    runDiff({ ...diffOptions, changedOnly: false }, { ...io, stdout: () => {} }),
  );
  (entry as Record<string, unknown>).changedOnly = {
    ms: Math.round(changed.wallMs),
    fullMs: Math.round(full.wallMs),
    ratio: changed.wallMs / full.wallMs,
    renderedOwners: changed.value.rendered,
    fullOwners: full.value.rendered,
    changes: changed.value.diff.changes.length,
  };
  row(
    'diff --changed-only',
    `${apps} apps`,
    `${Math.round(changed.wallMs)} ms vs full ${Math.round(full.wallMs)} ms`,
    `ratio ${fmt(changed.wallMs / full.wallMs)}`,
    `${changed.value.rendered}/${full.value.rendered} owners built`,
  );
  rmSync(repo, { recursive: true, force: true });
}
results.render = render;
const diffTimes = render.map((r) => (r.changedOnly as { ms: number }).ms);
results.changedOnlyGrowth = diffTimes.length > 1 ? diffTimes.at(-1)! / diffTimes[0]! : 1;
if (diffTimes.length > 1)
  row(
    'diff --changed-only',
    `growth ${sizes[0]} → ${sizes.at(-1)} apps`,
    `×${fmt(results.changedOnlyGrowth as number)} (flat = ×1)`,
    '',
    '',
  );

// ---- push: against skopeo copying the same content ----
const registry = await startRegistry();
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
  for (const [label, fill] of quick ? payloads.slice(1) : payloads) {
    const dir = mkdtempSync(join(tmpdir(), 'bench-push-'));
    fill(dir);
    const meta = {
      source: 'https://example.com/bench',
      revision: 'main@sha1:0123456789abcdef0123456789abcdef01234567',
      created: '1970-01-01T00:00:00Z',
      extra: [],
    };
    const repoName = `bench/${label.replace(/\W+/g, '-')}`;
    const client = new RegistryClient({ env: {} });
    const ours = await measure(async () =>
      pushArtifact(
        client,
        registry.host,
        repoName,
        buildArtifactManifest(await packLayer(collectDirectory(dir)), meta),
        ['v1'],
      ),
    );

    // The same artifact as an OCI layout, copied by skopeo to a fresh repository.
    const built = buildArtifactManifest(await packLayer(collectDirectory(dir)), meta);
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
    const skopeo = await measure(async () =>
      execFileSync(
        'skopeo',
        [
          'copy',
          '--dest-tls-verify=false',
          `oci:${layout}:v1`,
          `docker://${registry.host}/${repoName}-skopeo:v1`,
        ],
        { stdio: 'ignore' },
      ),
    );

    const again = new RegistryClient({ env: {} });
    await pushArtifact(
      again,
      registry.host,
      repoName,
      buildArtifactManifest(await packLayer(collectDirectory(dir)), meta),
      ['v1'],
    );
    const entry = {
      payload: label,
      layerBytes: built.layer.length,
      fluxgateMs: Math.round(ours.wallMs),
      skopeoMs: Math.round(skopeo.wallMs),
      ratioToSkopeo: ours.wallMs / skopeo.wallMs,
      repushBlobsUploaded: again.stats.blobsUploaded,
      repushBytesSent: again.stats.bytesSent,
    };
    push.push(entry);
    row(
      'push',
      label,
      `${entry.fluxgateMs} ms (build+push) vs skopeo copy ${entry.skopeoMs} ms`,
      `ratio ${fmt(entry.ratioToSkopeo)} (≤1 is faster)`,
      `re-push: ${entry.repushBlobsUploaded} blobs, ${entry.repushBytesSent} bytes`,
    );
    rmSync(dir, { recursive: true, force: true });
    rmSync(layout, { recursive: true, force: true });
  }
  results.push = push;
} finally {
  await registry.stop();
}

results.verify = { measured: false, reason: 'signature verification (cosign, notation) has not landed yet' };
row('verify', '100 signed artifacts', 'not measured: signature verification has not landed yet', '', '');

const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
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
writeFileSync(join(import.meta.dirname, 'results.json'), JSON.stringify(results, null, 2) + '\n');
process.stdout.write(
  `\nmachine: ${cores} cores, ${(results.machine as { model?: string }).model}; results in bench/results.json\n`,
);
