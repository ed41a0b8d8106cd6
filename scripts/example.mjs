// The README's first command: the main job on the bundled example. It copies examples/fleet
// into a throwaway git repository, commits it, applies examples/fleet-pr.patch (a pull request:
// an image bump, a replica change, a substituted domain and a rotated Secret) as a second
// commit, and runs `fluxgate diff --base HEAD~1 --head HEAD` on it with the committed bundle.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const repo = mkdtempSync(join(tmpdir(), 'fluxgate-example-'));
const git = (...args) =>
  execFileSync('git', ['-C', repo, '-c', 'user.email=example@fluxgate.dev', '-c', 'user.name=example', ...args], { stdio: 'ignore' });
try {
  cpSync(join(root, 'examples', 'fleet'), repo, { recursive: true });
  git('init', '-q');
  git('add', '-A');
  git('commit', '-qm', 'fleet');
  git('apply', join(root, 'examples', 'fleet-pr.patch'));
  git('commit', '-qam', 'a pull request');
  const env = { ...process.env, PATH: `${join(root, '.tools', 'bin')}${delimiter}${process.env.PATH}` };
  const args = process.argv.slice(2);
  const r = spawnSync(
    process.execPath,
    [join(root, 'dist', 'cli.js'), 'diff', '--repo', repo, '--base', 'HEAD~1', '--head', 'HEAD', '--path', 'clusters/production', ...args],
    { stdio: 'inherit', env },
  );
  process.exitCode = r.status ?? 1;
} finally {
  rmSync(repo, { recursive: true, force: true });
}
