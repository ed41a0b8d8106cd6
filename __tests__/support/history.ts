import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** git in `dir` as a CI user (commits need an identity; a clean machine has none); output trimmed. */
export function gitIn(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-C', dir, '-c', 'user.email=ci@example.com', '-c', 'user.name=ci', ...args], {
    encoding: 'utf8',
  }).trim();
}

/** Replaces the first `from` by `to` in `dir/file`; a fixture edit that changes nothing is an error. */
export function editFile(dir: string, file: string, from: string | RegExp, to: string): void {
  const path = join(dir, file);
  const text = readFileSync(path, 'utf8');
  const next = text.replace(from, to);
  if (next === text) throw new Error(`fixture edit did not apply to ${file}`);
  writeFileSync(path, next);
}

/** Commits everything in `dir` (new, changed and removed files); returns the commit id. */
export function commitAll(dir: string, message: string): string {
  gitIn(dir, 'add', '-A');
  gitIn(dir, 'commit', '-qm', message);
  return gitIn(dir, 'rev-parse', 'HEAD');
}

/** `fluxgate diff` of the last commit of `repo` (HEAD~1 → HEAD) for the cluster at `path`. */
export function lastCommitDiffArgs(repo: string, path: string): string[] {
  return ['diff', '--repo', repo, '--base', 'HEAD~1', '--head', 'HEAD', '--path', path];
}
