// The review of a platform change on a 200-app fleet, for docs/review-fleet.png: a generated
// fleet (bench/fleet.ts) committed as base, then a pull request that bumps the shared chart's
// image (every app's worker), scales one app to 0 and moves another to a mutable tag.
// Usage: node --import ./scripts/ts-loader.mjs scripts/fleet-review.ts OUT.md
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { appName, writeFleet } from '../bench/fleet.js';

const APPS = 200;
const root = resolve(import.meta.dirname, '..');
const output = resolve(process.argv[2] ?? 'fleet-review.md');
const repo = mkdtempSync(join(tmpdir(), 'fluxgate-fleet-'));
const git = (...args: string[]) =>
  execFileSync('git', ['-C', repo, '-c', 'user.email=example@fluxgate.dev', '-c', 'user.name=example', ...args], {
    stdio: 'ignore',
  });
const edit = (file: string, from: RegExp | string, to: string) => {
  const path = join(repo, file);
  const text = readFileSync(path, 'utf8');
  if (!text.match(from)) throw new Error(`${file}: ${from} not found`);
  writeFileSync(path, text.replace(from, to));
};
try {
  writeFleet(repo, { apps: APPS, seed: 7 });
  git('init', '-q');
  git('add', '-A');
  git('commit', '-qm', 'fleet');
  edit('charts/app/values.yaml', 'ghcr.io/acme/worker:1.0.0', 'ghcr.io/acme/worker:1.1.0');
  edit(`clusters/production/apps/${appName(17)}.yaml`, /replicas: "\d+"/, 'replicas: "0"');
  edit(`apps/${appName(42)}/overlays/production/kustomization.yaml`, /newTag: .*/, 'newTag: latest');
  git('commit', '-qam', 'worker 1.1.0; app-017 off; app-042 on latest');
  const env = { ...process.env, PATH: `${join(root, '.tools', 'bin')}${delimiter}${process.env.PATH}` };
  const r = spawnSync(
    process.execPath,
    [
      ...['--import', join(root, 'scripts', 'ts-loader.mjs'), join(root, 'src', 'cli.ts')],
      ...['diff', '--repo', repo, '--base', 'HEAD~1', '--head', 'HEAD', '--path', 'clusters/production'],
      ...['--diff-path', output, '--timeout', '45m'],
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], env },
  );
  process.exitCode = r.status ?? 1;
} finally {
  rmSync(repo, { recursive: true, force: true });
}
