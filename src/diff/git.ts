import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SourceTree } from '../render/sources.js';
import { FluxgateError } from '../errors.js';
import {
  findOnPath,
  GIT_SAFE_DIRECTORY,
  runProcess,
  runTool,
  toolEnvironment,
  withPrivateHome,
  type ProcessRunner,
} from '../render/process.js';
import { remainingTime, runLimits } from '../util/run-limits.js';
import { deadlineError } from '../util/http.js';

/** The git commands diff needs, as argv arrays. */
export class Git {
  constructor(
    readonly repo: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly run: ProcessRunner = runProcess,
  ) {}

  private async git(args: string[]): Promise<string> {
    const r = await runTool(this.run, 'git', ['-C', this.repo, ...args], {
      env: this.env,
      extraEnv: GIT_SAFE_DIRECTORY,
    });
    if (r.code !== 0)
      throw new FluxgateError('INPUT', `git ${args[0]}: ${r.stderr.trim().split('\n').at(-1) ?? 'failed'}`);
    return r.stdout;
  }

  async resolveRef(ref: string): Promise<string> {
    try {
      return (
        await this.git(['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`])
      ).trim();
    } catch {
      throw new FluxgateError(
        'INPUT',
        `'${ref}' is neither a directory nor a commit of the repository at ${this.repo}`,
        { exitCode: 2 },
      );
    }
  }

  /** `git ls-tree -r -z` of a commit: every path with its mode, type and object id. */
  listTree(commit: string): Promise<string> {
    return this.git(['ls-tree', '-r', '-z', '--full-tree', commit]);
  }

  async changedFiles(base: string, head: string): Promise<string[]> {
    const out = await this.git(['diff', '--name-only', '--no-renames', '--end-of-options', base, head]);
    return out.split('\n').filter(Boolean);
  }
}

/**
 * git run synchronously in the minimal tool environment (process.ts toolEnvironment), stopped at
 * the run's `--timeout` like every other child (a synchronous call cannot hear the abort signal).
 */
function gitSync(args: string[], input?: string): Buffer {
  const git = findOnPath('git', process.env) ?? 'git';
  try {
    return withPrivateHome((home) =>
      execFileSync(git, args, {
        input,
        maxBuffer: 1 << 30,
        timeout: remainingTime(),
        env: { ...toolEnvironment(git, home), ...GIT_SAFE_DIRECTORY },
      }),
    );
  } catch (err) {
    if (Date.now() >= runLimits().deadline) throw deadlineError();
    throw err;
  }
}

/** gitSync's command, awaited: its output, or a rejection with git's last line. */
function gitAsync(args: string[], input: string): Promise<Buffer> {
  const git = findOnPath('git', process.env) ?? 'git';
  const limits = runLimits();
  return withPrivateHome(
    (home) =>
      new Promise<Buffer>((resolve, reject) => {
        const child = execFile(
          git,
          args,
          {
            encoding: 'buffer',
            maxBuffer: 1 << 30,
            signal: limits.signal,
            env: { ...toolEnvironment(git, home), ...GIT_SAFE_DIRECTORY },
          },
          (err, stdout, stderr) => {
            if (limits.signal.aborted) reject(deadlineError(limits.timeout));
            else if (err)
              reject(
                new Error(
                  `git ${args[2]}: ${stderr.toString('utf8').trim().split('\n').at(-1) || err.message}`,
                ),
              );
            else resolve(stdout);
          },
        );
        child.stdin?.end(input);
      }),
  );
}

/**
 * A commit's files, read from the object store and written to disk only when asked for: a
 * changed-only diff reads a handful of directories of a large fleet, and writing every file of
 * both sides (a worktree, then a private copy per source) was what made it grow with the fleet.
 */
export class CommitTree implements SourceTree {
  readonly files: string[];
  private readonly entries = new Map<string, { mode: string; oid: string }>();
  private readonly dirs = new Set<string>(['']);
  private constructor(
    private readonly repo: string,
    listing: string,
    /** Blobs read so far, by id: shared by the trees of one repository (most of two sides is equal). */
    private readonly cache: Map<string, Buffer>,
  ) {
    for (const line of listing.split('\0')) {
      if (!line) continue;
      const tab = line.indexOf('\t');
      const [mode, type, oid] = line.slice(0, tab).split(' ') as [string, string, string];
      if (type !== 'blob') continue; // submodules are not part of a Flux artifact
      const path = line.slice(tab + 1);
      this.entries.set(path, { mode, oid });
      for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) this.dirs.add(path.slice(0, i));
    }
    this.files = [...this.entries.keys()].sort();
  }

  /** The tree of `commit`; the two sides of a diff list theirs at once. */
  static async list(git: Git, commit: string, blobs = new Map<string, Buffer>()): Promise<CommitTree> {
    return new CommitTree(git.repo, await git.listTree(commit), blobs);
  }

  get hasSymlinks(): boolean {
    return [...this.entries.values()].some((e) => e.mode === '120000');
  }

  isSymlink(rel: string): boolean {
    return this.entries.get(rel)?.mode === '120000';
  }

  isFile(rel: string): boolean {
    return this.entries.has(rel);
  }

  isDirectory(rel: string): boolean {
    return this.dirs.has(rel);
  }

  /** The blob id of a file: equal ids on both sides mean equal content. */
  oid(rel: string): string | undefined {
    return this.entries.get(rel)?.oid;
  }

  read(rel: string): string | undefined {
    const entry = this.entries.get(rel);
    if (!entry) return undefined;
    this.load([entry.oid]);
    return this.cache.get(entry.oid)!.toString('utf8');
  }

  /** Reads many blobs with one `git cat-file --batch`. */
  load(oids: string[]): void {
    const missing = [...new Set(oids)].filter((o) => !this.cache.has(o));
    if (!missing.length) return;
    this.keep(gitSync(['-C', this.repo, 'cat-file', '--batch'], missing.join('\n') + '\n'));
  }

  /**
   * Reads these files' blobs in the background, with one `git cat-file --batch`: what a diff's
   * planner will parse is read while the run waits on git for other answers.
   */
  async prefetch(files: string[], others: { tree: CommitTree; files: string[] }[] = []): Promise<void> {
    // Trees of one repository share their blobs: the other side's files come in the same read.
    const oids = [{ tree: this as CommitTree, files }, ...others].flatMap(({ tree, files }) =>
      files.map((f) => tree.entries.get(f)?.oid).filter((o): o is string => o !== undefined),
    );
    const missing = [...new Set(oids)].filter((o) => !this.cache.has(o));
    if (!missing.length) return;
    this.keep(await gitAsync(['-C', this.repo, 'cat-file', '--batch'], missing.join('\n') + '\n'));
  }

  /** Keeps the blobs of a `git cat-file --batch` output. */
  private keep(out: Buffer): void {
    let at = 0;
    while (at < out.length) {
      const eol = out.indexOf(10, at);
      const [oid, , size] = out.subarray(at, eol).toString('utf8').split(' ') as [string, string, string];
      const start = eol + 1;
      const end = start + Number(size);
      this.cache.set(oid, out.subarray(start, end));
      at = end + 1;
    }
  }

  write(to: string, files: string[]): void {
    this.load(files.map((f) => this.entries.get(f)!.oid));
    for (const file of files) {
      const { mode, oid } = this.entries.get(file)!;
      const path = join(to, file);
      mkdirSync(dirname(path), { recursive: true });
      if (mode === '120000') symlinkSync(this.cache.get(oid)!.toString('utf8'), path);
      else writeFileSync(path, this.cache.get(oid)!, { mode: mode === '100755' ? 0o755 : 0o644 });
    }
  }
}
