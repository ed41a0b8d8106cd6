import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FluxgateError } from '../errors.js';
import { runProcess, type ProcessRunner } from '../render/process.js';

/** The git commands diff needs, as argv arrays. */
export class Git {
  constructor(
    private readonly repo: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly run: ProcessRunner = runProcess,
  ) {}

  private async git(args: string[]): Promise<string> {
    const r = await this.run('git', ['-C', this.repo, ...args], {
      env: { ...this.env, GIT_TERMINAL_PROMPT: '0' },
    });
    if (r.code !== 0)
      throw new FluxgateError('INPUT', `git ${args[0]}: ${r.stderr.trim().split('\n').at(-1) ?? 'failed'}`);
    return r.stdout;
  }

  async resolveRef(ref: string): Promise<string> {
    try {
      return (await this.git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`])).trim();
    } catch {
      throw new FluxgateError(
        'INPUT',
        `'${ref}' is neither a directory nor a commit of the repository at ${this.repo}`,
        { exitCode: 2 },
      );
    }
  }

  /** A detached worktree of `commit` in a temp dir; removed by the returned function, even after a failure. */
  async worktree(commit: string): Promise<{ dir: string; remove: () => Promise<void> }> {
    const parent = mkdtempSync(join(tmpdir(), 'fluxgate-worktree-'));
    const dir = join(parent, 'tree');
    await this.git(['worktree', 'add', '--detach', '--quiet', dir, commit]);
    return {
      dir,
      remove: async () => {
        await this.git(['worktree', 'remove', '--force', dir]).catch(() => undefined);
        rmSync(parent, { recursive: true, force: true });
        await this.git(['worktree', 'prune']).catch(() => undefined);
      },
    };
  }

  async changedFiles(base: string, head: string): Promise<string[]> {
    const out = await this.git(['diff', '--name-only', '--no-renames', base, head]);
    return out.split('\n').filter(Boolean);
  }
}
