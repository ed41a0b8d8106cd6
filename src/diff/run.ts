import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, resolve } from 'node:path';
import type { DiffOptions } from './options.js';
import type { WorkIO } from '../util/io.js';
import { readCheckout } from '../flux/checkout.js';
import { buildCacheDir, loadSopsKeys, renderCluster } from '../render/engine.js';
import { addBuilds, BuildCache, noBuilds, type BuildCounts } from '../render/cache.js';
import { createSecretMasker } from '../render/secrets.js';
import { ownerKey } from '../render/types.js';
import { CommitTree, Git } from './git.js';
import { finalMarkdown, reviewMarkdown, unifiedText, type ReviewOptions } from './markdown.js';
import { VERSION } from '../version.js';
import { diffRenders, emptyDiff, type ClusterDiff } from './objects.js';
import { UsageError } from '../errors.js';
import type { RenderResult } from '../render/types.js';
import { ChangePlanner } from './changed.js';
import { verifyChange } from '../verify/change.js';
import type { RepositoryVerification } from '../verify/path.js';
import { verificationMarkdown } from '../verify/report.js';

export interface DiffRun {
  diff: ClusterDiff;
  /** Owners built, base and head together (fewer in changed-only mode). */
  rendered: number;
  /** Their builds: run, shared by both sides, or read from --cache-dir (every render pass counted). */
  builds: BuildCounts;
  review: string;
  unified: string;
  commentUrl?: string;
  /** `--verify`: the sources the change touches and the findings in the files it changes. */
  verification?: RepositoryVerification;
  /** How the review was written: the command writes the summary and the comment with the same. */
  reviewOptions: ReviewOptions;
}

interface Side {
  dir: string;
  commit?: string;
  /** A git ref's files, written on demand (`dir` holds only the cluster paths, or all with --verify). */
  tree?: CommitTree;
  remove?: () => Promise<void>;
}

/** Whether a side has the cluster entry directory (a tree lists only files: check its directories). */
function hasCluster(side: Side, path: string): boolean {
  const rel = posix
    .normalize(path)
    .replace(/^\.\/?$/, '')
    .replace(/\/$/, '');
  if (side.tree) return rel === '' || side.tree.isDirectory(rel);
  const dir = join(side.dir, path);
  return existsSync(dir) && statSync(dir).isDirectory();
}

function withoutDir(message: string, dir: string): string {
  return message.split(`${dir}/`).join('').split(dir).join('.');
}

/** The review's last line: fluxgate version, the commits compared, and the run that compared them. */
function footerLine(env: NodeJS.ProcessEnv, base?: string, head?: string): string {
  const short = (c?: string) => (c ? `\`${c.slice(0, 7)}\`` : 'working tree');
  const run =
    env.GITHUB_RUN_ID && env.GITHUB_REPOSITORY
      ? ` · [run ${env.GITHUB_RUN_ID}${env.GITHUB_RUN_ATTEMPT && env.GITHUB_RUN_ATTEMPT !== '1' ? ` attempt ${env.GITHUB_RUN_ATTEMPT}` : ''}](${env.GITHUB_SERVER_URL || 'https://github.com'}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID})`
      : '';
  return `<sub>fluxgate ${VERSION} · base ${short(base)} → head ${short(head)}${run}</sub>`;
}

/** Renders base and head of every cluster path with one secret masker and compares them. */
export async function runDiff(options: DiffOptions, io: WorkIO): Promise<DiffRun> {
  const repo = resolve(io.cwd, options.repo);
  const git = new Git(repo, io.env);
  const side = async (ref: string): Promise<Side> => {
    const asDir = resolve(io.cwd, ref);
    if (existsSync(asDir) && statSync(asDir).isDirectory()) return { dir: asDir };
    const commit = await git.resolveRef(ref);
    const tree = CommitTree.list(repo, commit);
    const parent = mkdtempSync(join(tmpdir(), 'fluxgate-ref-'));
    const dir = join(parent, 'tree');
    mkdirSync(dir);
    // The render reads the tree (writing only what a build reads); verify reads everything.
    if (options.verify) tree.write(dir, tree.files);
    return { commit, dir, tree, remove: async () => rmSync(parent, { recursive: true, force: true }) };
  };
  const base = await side(options.base);
  let head: Side | undefined;
  try {
    head = await side(options.head);
    const masker = createSecretMasker();
    // A build whose inputs are equal on both sides runs once; with --cache-dir, once across runs.
    const builds = new BuildCache(buildCacheDir(options, io.cwd), true);
    const counts = noBuilds();
    const sopsKeys = await loadSopsKeys(options, io);
    // The sides are temporary copies: the checkout's identity is the repository's, at either ref.
    const checkout = readCheckout(repo, io.env, [options.base, options.head]);
    const merged: ClusterDiff = emptyDiff();
    const built = new Set<string>();
    const refs = base.commit !== undefined && head.commit !== undefined;
    const changedOnly = options.changedOnly ?? refs;
    if (changedOnly && !refs)
      io.log.warn('--changed-only needs git refs for --base and --head; rendering everything');
    const changed = changedOnly && refs ? await git.changedFiles(base.commit!, head.commit!) : undefined;
    for (const path of options.paths) {
      const onBase = hasCluster(base, path);
      const onHead = hasCluster(head, path);
      if (!onBase && !onHead)
        throw new UsageError(
          `--path ${path}: no such directory on base (${options.base}) or head (${options.head})`,
        );
      // A cluster the change adds (or removes) is reviewed as all added (or all removed).
      if (!onBase) io.log.info(`${path} does not exist on base: every object of it is added`);
      if (!onHead) io.log.info(`${path} does not exist on head: every object of it is removed`);
      const planner =
        changed && onBase && onHead
          ? new ChangePlanner({ base: base.tree!, head: head.tree! }, changed)
          : undefined;
      const render = async (side: Side, label: 'base' | 'head'): Promise<RenderResult> => {
        if (!(label === 'base' ? onBase : onHead)) return { objects: [], errors: [], rendered: [] };
        const result = await io.log.group(`Render ${label} ${path}`, () =>
          renderCluster(
            {
              ...options,
              repo: side.dir,
              tree: side.tree,
              checkout,
              path,
              masker,
              sopsKeys,
              builds,
              shouldBuild: planner
                ? (owner, info) => planner.shouldBuild(label, owner, info.flux)
                : undefined,
            },
            io,
          ),
        );
        // The side's scratch directory means nothing to a reader, and would keep an error on
        // both sides from comparing equal.
        addBuilds(counts, result.builds);
        return {
          ...result,
          errors: result.errors.map((e) => ({ ...e, message: withoutDir(e.message, side.dir) })),
        };
      };
      let b = await render(base, 'base');
      let h = await render(head!, 'head');
      // Owners whose inputs turn out to differ between the sides are built on both, then compared.
      for (let pass = 0; planner && pass < 4 && planner.dynamic(b, h); pass++) {
        b = await render(base, 'base');
        h = await render(head!, 'head');
      }
      for (const o of [...b.rendered, ...h.rendered]) built.add(`${path}\u0000${ownerKey(o)}`);
      const d = diffRenders(path, b, h, options.stripAttrs);
      merged.changes.push(...d.changes);
      merged.images.push(...d.images);
      merged.errors.push(...d.errors);
      merged.unrendered.push(...d.unrendered);
    }
    for (const u of merged.unrendered)
      io.log.error(`could not render on ${u.side}: ${u.message}`, u.origin && { ...u.origin });
    for (const e of merged.errors) {
      if (merged.unrendered.some((u) => u.message === e.message && u.side === e.side)) continue;
      const line = `${e.side}${e.status === 'new' ? '' : ` (${e.status})`}: ${e.message}`;
      if (e.status === 'new') io.log.error(line, e.origin && { ...e.origin });
      else io.log.warn(line, e.origin && { ...e.origin });
    }
    const verification = options.verify
      ? await io.log.group('Verify the sources the change touches', () =>
          verifyChange({ base: base.dir, head: head!.dir }, merged, options, io),
        )
      : undefined;
    const extra = verification
      ? verificationMarkdown(verification, {
          heading: '###',
          title: 'Verification',
          empty: 'The change touches no source with spec.verify and adds no policy finding.',
        })
      : undefined;
    const reviewOptions: ReviewOptions = {
      extra,
      footer: footerLine(io.env, base.commit, head.commit),
    };
    const review = reviewMarkdown(merged, reviewOptions);
    const result: DiffRun = {
      diff: merged,
      rendered: built.size,
      builds: counts,
      review: finalMarkdown(review.markdown),
      unified: unifiedText(merged),
      verification,
      reviewOptions,
    };
    return result;
  } finally {
    await base.remove?.();
    await head?.remove?.();
  }
}
