import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderCluster } from '/work/main/src/render/engine.js';
import { silentLogger } from '/work/main/src/log.js';
import { writeFleet } from '/work/main/bench/fleet.js';
const env = { ...process.env, PATH: `/work/main/.tools/bin:${process.env.PATH}` };
const io = { log: silentLogger, env, cwd: process.cwd() };
const apps = Number(process.argv[2] ?? 100);
const repo = mkdtempSync(join(tmpdir(), 'rp-'));
writeFleet(repo, { apps, seed: 42 });
const opts = (c: number) =>
  ({
    repo,
    path: 'clusters/production',
    sources: new Map(),
    strictSubstitute: true,
    registryMirrors: new Map(),
    helmRepoMirrors: new Map(),
    concurrency: c,
    apiVersions: [],
    insecureRegistry: false,
  }) as never;
await renderCluster(opts(3), io);
const t = Date.now();
const c0 = process.cpuUsage();
await renderCluster(opts(Number(process.argv[3] ?? 1)), io);
const c = process.cpuUsage(c0);
console.log(`wall ${Date.now() - t} self ${Math.round((c.user + c.system) / 1000)}`);
