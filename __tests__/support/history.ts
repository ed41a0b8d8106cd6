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
