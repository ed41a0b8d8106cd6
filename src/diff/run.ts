import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, relative, resolve, sep } from 'node:path';
import type { DiffOptions } from './options.js';
import type { WorkIO } from '../util/io.js';
import { DeferredLogger, type Logger } from '../log.js';
import { readCheckoutAsync } from '../flux/checkout.js';
import { fluxFileCandidates, repositoryMappings } from '../flux/graph.js';
import { buildCacheDir, loadSopsKeys, renderCluster } from '../render/engine.js';
import { addBuilds, BuildCache, noBuilds, type BuildCounts } from '../render/cache.js';
import { createSecretMasker } from '../render/secrets.js';
import { ownerKey } from '../render/types.js';
import { CommitTree, Git } from './git.js';
import { finalMarkdown, reviewMarkdown, unifiedText, type ReviewOptions } from './markdown.js';
import { VERSION } from '../version.js';
import { appendDiff, diffRenders, emptyDiff, type ClusterDiff } from './objects.js';
import { errorLine, UsageError } from '../errors.js';
import type { RenderResult } from '../render/types.js';
import { ChangePlanner } from './changed.js';
import { ownedPart, type ChangeRenders, type ClusterRenders } from './shards.js';
export type { ChangeRenders, ClusterRenders, SideIdentity } from './shards.js';
import { ShardPlan, ShardSelector, type ShardSpec } from '../flux/shard.js';
import { directoryTree, type RepoFiles } from '../flux/tree.js';
import type { OwnerRef } from '../render/types.js';
import { verifyChange } from '../verify/change.js';
import type { RepositoryVerification } from '../verify/path.js';
import { verificationMarkdown } from '../verify/report.js';

export interface DiffRun {
  diff: ClusterDiff;
  /** Owners built, base and head together (fewer in changed-only mode). */
  rendered: number;
  /** Changed-only mode: owners the change cannot affect, not built on either side. */
  notRebuilt: number;
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
  ref: string;
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

/**
 * The `--source` mappings of one side: a directory inside the repository is read at that side
 * (its commit, or the directory given as the side), so a source mapped to `kubernetes/` shows
 * the change to it; a directory elsewhere is the same on both sides.
 */
function mappingsAt(
  sources: Map<string, string>,
  repo: string,
  cwd: string,
  side: string,
): Map<string, string> {
  return new Map(
    [...sources].map(([key, dir]) => {
      const abs = resolve(cwd, dir);
      const rel = relative(repo, abs);
      const inside = rel === '' || (!rel.startsWith('..') && !rel.startsWith(sep) && rel !== '..');
      return [key, inside ? join(side, rel) : abs];
    }),
  );
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
  return withSides(options, io, async (base, head, git) => {
    const renders = await renderChange(options, io, base, head, git);
    const compared = compareRenders(renders, options.stripAttrs, io);
    const verification = options.verify
      ? await io.log.group('Verify the sources the change touches', () =>
          verifyChange({ base: base.dir, head: head.dir }, compared.diff, options, io),
        )
      : undefined;
    return reviewRun(compared, renders, io, verification);
  });
}

/**
 * `--shard I/N`: this cell's share of the renders (the owners it reports; the shared ones it
 * built for discovery are left to the cell that reports them). `built` lists every owner it
 * built, shared ones included.
 */
export async function runDiffShard(
  options: DiffOptions,
  io: WorkIO,
  shard: ShardSpec,
): Promise<{ renders: ChangeRenders; built: { path: string; base: OwnerRef[]; head: OwnerRef[] }[] }> {
  return withSides(options, io, async (base, head, git) => {
    const selectors: { path: string; side: 'base' | 'head'; selector: ShardSelector }[] = [];
    // One plan per cluster, for both sides and every pass of the changed-only planner.
    const plans = new Map<string, ShardPlan>();
    const renders = await renderChange(options, io, base, head, git, (path, side, tree) => {
      if (!plans.has(path)) plans.set(path, new ShardPlan(tree, path, shard));
      const selector = new ShardSelector(plans.get(path)!);
      selectors.push({ path, side, selector });
      return selector;
    });
    const selectorOf = (path: string, side: 'base' | 'head') =>
      selectors.filter((s) => s.path === path && s.side === side).at(-1)?.selector;
    return {
      renders: {
        ...renders,
        clusters: renders.clusters.map((c) => ({
          path: c.path,
          base: ownedPart(c.base, selectorOf(c.path, 'base')),
          head: ownedPart(c.head, selectorOf(c.path, 'head')),
          ...(c.notRebuilt ? { notRebuilt: c.notRebuilt } : {}),
        })),
      },
      built: renders.clusters.map((c) => ({ path: c.path, base: c.base.rendered, head: c.head.rendered })),
    };
  });
}

/** The diff of every cluster, as the review shows it, and the number of owners built. */
export interface ComparedRenders {
  diff: ClusterDiff;
  rendered: number;
  /** Owners changed-only mode found the change cannot affect, and so did not build. */
  notRebuilt: number;
}

/**
 * Compares the renders of each cluster and logs what could not render: the one assembly of a
 * review's content, for a single run and for shards merged.
 */
export function compareRenders(
  renders: ChangeRenders,
  stripAttrs: string[],
  io: Pick<WorkIO, 'log'>,
): ComparedRenders {
  const merged: ClusterDiff = emptyDiff();
  const built = new Set<string>();
  const skipped = new Set<string>();
  for (const { path, base, head, notRebuilt } of renders.clusters) {
    for (const o of [...base.rendered, ...head.rendered]) built.add(`${path}\u0000${ownerKey(o)}`);
    for (const key of notRebuilt ?? []) skipped.add(`${path}\u0000${key}`);
    const d = diffRenders(path, base, head, stripAttrs);
    appendDiff(merged, d);
  }
  for (const u of merged.unrendered)
    io.log.error(`could not render on ${u.side}: ${u.message}`, u.origin && { ...u.origin });
  for (const e of merged.errors) {
    if (merged.unrendered.some((u) => u.message === e.message && u.side === e.side)) continue;
    const line = `${e.side}${e.status === 'new' ? '' : ` (${e.status})`}: ${e.message}`;
    if (e.status === 'new') io.log.error(line, e.origin && { ...e.origin });
    else io.log.warn(line, e.origin && { ...e.origin });
  }
  // Risk lines at the file and line that define the object (head's, or base's for a deletion).
  for (const c of merged.changes.filter((c) => c.risks.length))
    io.log.warn(
      `${c.kind} ${c.namespace ? `${c.namespace}/` : ''}${c.name}: ${c.risks.join('; ')}`,
      c.origin && { ...c.origin, title: 'fluxgate: needs a second look' },
    );
  // An object applied twice: a warning where each owner defines it (one unplaced when none is known).
  for (const w of merged.warnings.filter((w) => w.status === 'new')) {
    const text = `${w.object} is applied by ${w.owners.map((o) => `${o.kind} ${o.namespace}/${o.name}`).join(' and ')}; the owners would fight over it`;
    const places = w.origins.filter((o) => o !== undefined);
    if (!places.length) io.log.warn(text);
    for (const place of places) io.log.warn(text, { ...place, title: 'fluxgate: applied by two owners' });
  }
  const notRebuilt = [...skipped].filter((k) => !built.has(k)).length;
  return { diff: merged, rendered: built.size, notRebuilt };
}

/** The review of compared renders: markdown, unified text, and the options its other forms use. */
export function reviewRun(
  compared: ComparedRenders,
  renders: ChangeRenders,
  io: Pick<WorkIO, 'env'>,
  verification?: RepositoryVerification,
): DiffRun {
  const extra = verification
    ? verificationMarkdown(verification, {
        heading: '###',
        title: 'Verification',
        empty: 'The change touches no source with spec.verify and adds no policy finding.',
      })
    : undefined;
  const reviewOptions: ReviewOptions = {
    extra,
    notRebuilt: compared.notRebuilt,
    footer: footerLine(io.env, renders.base.commit, renders.head.commit),
  };
  const review = reviewMarkdown(compared.diff, reviewOptions);
  return {
    diff: compared.diff,
    rendered: compared.rendered,
    notRebuilt: compared.notRebuilt,
    builds: renders.builds ?? noBuilds(),
    review: finalMarkdown(review.markdown),
    unified: unifiedText(compared.diff),
    verification,
    reviewOptions,
  };
}

/** The two sides as directories (a git ref's files written to a temporary one), removed after `work`. */
async function withSides<T>(
  options: DiffOptions,
  io: WorkIO,
  work: (base: Side, head: Side, git: Git) => Promise<T>,
): Promise<T> {
  const repo = resolve(io.cwd, options.repo);
  const git = new Git(repo, io.env);
  const blobs = new Map<string, Buffer>();
  const side = async (ref: string): Promise<Side> => {
    const asDir = resolve(io.cwd, ref);
    if (existsSync(asDir) && statSync(asDir).isDirectory()) return { ref, dir: asDir };
    const commit = await git.resolveRef(ref);
    const tree = await CommitTree.list(git, commit, blobs);
    const parent = mkdtempSync(join(tmpdir(), 'fluxgate-ref-'));
    const dir = join(parent, 'tree');
    mkdirSync(dir);
    // The render reads the tree (writing only what a build reads); verify reads everything.
    if (options.verify) tree.write(dir, tree.files);
    return { ref, commit, dir, tree, remove: async () => rmSync(parent, { recursive: true, force: true }) };
  };
  // Both sides are read at once; one that fails leaves nothing of the other behind.
  const [base, head] = await Promise.allSettled([side(options.base), side(options.head)]);
  try {
    if (base.status === 'rejected') throw base.reason;
    if (head.status === 'rejected') throw head.reason;
    return await work(base.value, head.value, git);
  } finally {
    for (const s of [base, head]) if (s.status === 'fulfilled') await s.value.remove?.();
  }
}

/** Renders each cluster path on both sides; `select` (sharding) chooses the owners each render builds. */
async function renderChange(
  options: DiffOptions,
  io: WorkIO,
  base: Side,
  head: Side,
  git: Git,
  select?: (path: string, side: 'base' | 'head', tree: RepoFiles) => ShardSelector,
): Promise<ChangeRenders> {
  const repo = resolve(io.cwd, options.repo);
  const masker = createSecretMasker();
  // A build whose inputs are equal on both sides runs once; with --cache-dir, once across runs.
  const builds = new BuildCache(buildCacheDir(options, io.cwd), true);
  const counts = noBuilds();
  const refs = base.commit !== undefined && head.commit !== undefined;
  const changedOnly = options.changedOnly ?? refs;
  if (changedOnly && !refs)
    io.log.warn('--changed-only needs git refs for --base and --head; rendering everything');
  const parses = builds.fluxParses();
  // What the planner will parse (files no earlier run parsed) is read meanwhile.
  const unparsed = (tree: CommitTree) =>
    fluxFileCandidates(tree.files).filter((f) => !parses.objects.has(tree.oid(f) ?? ''));
  // Started in the order they are needed: each start takes the main thread a while.
  const [changed, , sopsKeys, checkout] = await Promise.all([
    changedOnly && refs ? git.changedFiles(base.commit!, head.commit!) : undefined,
    changedOnly && refs
      ? base.tree!.prefetch(unparsed(base.tree!), [{ tree: head.tree!, files: unparsed(head.tree!) }])
      : undefined,
    loadSopsKeys(options, io),
    // The sides are temporary copies: the checkout's identity is the repository's, at either ref.
    readCheckoutAsync(repo, io.env, [options.base, options.head]),
  ]);
  const clusters: ClusterRenders[] = [];
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
        ? new ChangePlanner({ base: base.tree!, head: head.tree! }, changed, {
            entry: path,
            mappings: repositoryMappings(repo, options.sources, io.cwd),
            parses: parses.objects,
            references: parses.references,
          })
        : undefined;
    // One plan for both sides (head's files, or base's when the change removes the cluster), so
    // an owner goes to the same cell on both.
    const planSide = onHead ? head : base;
    const planTree = select && (planSide.tree ?? directoryTree(planSide.dir));
    const skipped = new Map<string, OwnerRef>();
    let lastSelector: ShardSelector | undefined;
    const render = async (side: Side, label: 'base' | 'head', log: Logger): Promise<RenderResult> => {
      if (!(label === 'base' ? onBase : onHead)) return { objects: [], errors: [], rendered: [] };
      const selector = select?.(path, label, planTree!);
      lastSelector = selector ?? lastSelector;
      const result = await renderCluster(
        {
          ...options,
          repo: side.dir,
          tree: side.tree,
          parses: parses.objects,
          references: parses.references,
          sources: mappingsAt(options.sources, repo, io.cwd, side.dir),
          checkout,
          path,
          masker,
          sopsKeys,
          builds,
          progressLabel: `${label} ${path}`,
          discovered: selector && ((owner, parent) => selector.discovered(owner, parent)),
          shouldBuild:
            planner || selector
              ? (owner, info) => {
                  if (selector && !selector.shouldBuild(owner)) return false;
                  if (!planner || planner.shouldBuild(label, owner, info.flux)) return true;
                  skipped.set(ownerKey(owner), owner);
                  return false;
                }
              : undefined,
        },
        { ...io, log },
      );
      addBuilds(counts, result.builds);
      // The side's scratch directory means nothing to a reader, and would keep an error on
      // both sides from comparing equal.
      return {
        ...result,
        errors: result.errors.map((e) => ({ ...e, message: withoutDir(e.message, side.dir) })),
      };
    };
    // The sides render at once (a build equal on both runs once, see BuildCache); the head's
    // log waits and follows the base's, in its own group.
    const renderSides = async (): Promise<[RenderResult, RenderResult]> => {
      const headLog = new DeferredLogger(io.log);
      const headRun = render(head, 'head', headLog);
      headRun.catch(() => undefined); // awaited below; rejected early, it is not unhandled
      const baseRun = io.log.group(`Render base ${path}`, () => render(base, 'base', io.log));
      // Once the renders wait on their first builds (the entry directory), the plan is read.
      setImmediate(() => planner?.prepare());
      let baseResult: RenderResult;
      try {
        baseResult = await baseRun;
      } catch (err) {
        // The head's tools stop before the sides' directories are removed.
        await headRun.catch(() => undefined);
        throw err;
      }
      const headResult = await io.log.group(`Render head ${path}`, () => {
        headLog.attach(io.log);
        return headRun;
      });
      return [baseResult, headResult];
    };
    let [b, h] = await renderSides();
    if (planner?.failure)
      io.log.warn(`--changed-only: cannot plan ${path} (${errorLine(planner.failure)}); rendered everything`);
    // Owners whose inputs turn out to differ between the sides are built on both, then compared.
    for (let pass = 0; planner && pass < 4 && planner.dynamic(b, h); pass++) [b, h] = await renderSides();
    // A cell reports the owners it was not asked to build for the change only when it owns them.
    const notRebuilt = [...skipped]
      .filter(([, owner]) => !lastSelector || lastSelector.owns(owner))
      .map(([key]) => key)
      .sort();
    clusters.push({ path, base: b, head: h, ...(notRebuilt.length ? { notRebuilt } : {}) });
  }
  builds.keepFluxParses(parses);
  return {
    clusters,
    builds: counts,
    base: { ref: options.base, ...(base.commit ? { commit: base.commit } : {}) },
    head: { ref: options.head, ...(head.commit ? { commit: head.commit } : {}) },
  };
}
