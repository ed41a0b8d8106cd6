import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { cli } from '../../src/cli/main.js';
import { PROJECT_ROOT, toolEnv } from './tools.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process, exactly as `fluxgate ARGS` would, capturing stdout and stderr. */
export async function runCli(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await cli(args, {
    env: options.env ?? toolEnv(),
    cwd: options.cwd ?? process.cwd(),
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
  });
  return { code, stdout, stderr };
}

/** Runs the committed bundle, as a user of a fresh clone would. */
export function runDistCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliRun {
  const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'dist', 'cli.js'), ...args], {
    cwd: options.cwd ?? PROJECT_ROOT,
    env: options.env ?? toolEnv(),
    encoding: 'utf8',
  });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}
