import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { runLimits } from '../util/run-limits.js';

export interface ProcessResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** The one way the renderer runs a tool: an argv array, never a shell; output captured. */
export type ProcessRunner = (
  command: string,
  args: string[],
  options: { cwd?: string; env: NodeJS.ProcessEnv },
) => Promise<ProcessResult>;

export const runProcess: ProcessRunner = (command, args, options) =>
  new Promise((resolve) => {
    execFile(
      command,
      args,
      // A tool still running at the command's --timeout is killed with it.
      { cwd: options.cwd, env: options.env, maxBuffer: 512 * 1024 * 1024, signal: runLimits().signal },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === 'number'
            ? Number(err.code)
            : 1
          : 0;
        const deadline = runLimits();
        if (err && deadline.signal.aborted) {
          resolve({ stdout: '', stderr: `gave up at the --timeout of ${deadline.timeout}`, code: 1 });
          return;
        }
        resolve({ stdout: String(stdout), stderr: err && !stderr ? err.message : String(stderr), code });
      },
    );
  });

export function findOnPath(binary: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, binary))) return join(dir, binary);
  }
  return undefined;
}

/**
 * The environment kustomize runs in: remote bases and remote resources cannot be fetched
 * (an unreachable proxy, git limited to local files), so a PR cannot make us download anything.
 */
export function offlineEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    ...env,
    HTTP_PROXY: 'http://127.0.0.1:9',
    HTTPS_PROXY: 'http://127.0.0.1:9',
    http_proxy: 'http://127.0.0.1:9',
    https_proxy: 'http://127.0.0.1:9',
    NO_PROXY: '',
    no_proxy: '',
    GIT_ALLOW_PROTOCOL: 'file',
  };
}

/** Last meaningful line of a tool's stderr, for one-line errors. */
export function lastLine(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return (lines.at(-1) ?? 'failed').replace(/^Error: /, '');
}
