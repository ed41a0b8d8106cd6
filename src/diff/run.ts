import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, resolve } from 'node:path';
import type { CommandIO } from '../commands/types.js';
import type { DiffOptions } from '../commands/diff.js';
import { readCheckout } from '../flux/checkout.js';
import { loadSopsKeys, renderCluster } from '../render/engine.js';
import { createSecretMasker } from '../render/secrets.js';
import { ownerKey } from '../render/types.js';
import { CommitTree, Git } from './git.js';
import { reviewMarkdown, unifiedText } from './markdown.js';
import { diffRenders, type ClusterDiff } from './objects.js';
import { postReview } from '../github/review.js';
import { ChangePlanner } from './changed.js';
import { verifyChange } from '../verify/change.js';
import type { RepositoryVerification } from '../verify/path.js';
import { verificationMarkdown } from '../verify/report.js';

export interface DiffRun {
  diff: ClusterDiff;
  /** Owners built, base and head together (fewer in changed-only mode). */
  rendered: number;
  review: string;
  unified: string;
  commentUrl?: string;
  /** `--verify`: the sources the change touches and the findings in the files it changes. */
  verification?: RepositoryVerification;
}

interface Side {
  dir: string;
  commit?: string;
  /** A git ref's files, written on demand (`dir` holds only the cluster paths, or all with --verify). */
  tree?: CommitTree;
  remove?: () => Promise<void>;
}

/** Renders base and head of every cluster path with one secret masker and compares them. */
export async function runDiff(options: DiffOptions, io: CommandIO): Promise<DiffRun> {
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
    // The render reads its entry directories from here and its sources from the tree; verify reads everything.
    const paths = options.paths.map((p) =>
      posix
        .normalize(p)
        .replace(/^\.\/?$/, '')
        .replace(/\/$/, ''),
    );
    tree.write(
      dir,
      options.verify
        ? tree.files
        : tree.files.filter((f) => paths.some((p) => p === '' || f.startsWith(`${p}/`))),
    );
    return { commit, dir, tree, remove: async () => rmSync(parent, { recursive: true, force: true }) };
  };
  const base = await side(options.base);
  let head: Side | undefined;
  try {
    head = await side(options.head);
    const masker = createSecretMasker();
    const sopsKeys = await loadSopsKeys(options, io);
    // The sides are temporary copies: the checkout's identity is the repository's, at either ref.
    const checkout = readCheckout(repo, io.env, [options.base, options.head]);
    const merged: ClusterDiff = { changes: [], images: [], errors: [] };
    const built = new Set<string>();
    const refs = base.commit !== undefined && head.commit !== undefined;
    const changedOnly = options.changedOnly ?? refs;
    if (changedOnly && !refs)
      io.log.warn('--changed-only needs git refs for --base and --head; rendering everything');
    const changed = changedOnly && refs ? await git.changedFiles(base.commit!, head.commit!) : undefined;
    for (const path of options.paths) {
      const planner = changed
        ? new ChangePlanner({ base: base.tree!, head: head.tree! }, changed)
        : undefined;
      const render = (side: Side, label: 'base' | 'head') =>
        io.log.group(`Render ${label} ${path}`, () =>
          renderCluster(
            {
              ...options,
              repo: side.dir,
              tree: side.tree,
              checkout,
              path,
              masker,
              sopsKeys,
              shouldBuild: planner
                ? (owner, info) => planner.shouldBuild(label, owner, info.flux)
                : undefined,
            },
            io,
          ),
        );
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
    }
    for (const e of merged.errors) io.log.error(`${e.side}: ${e.message}`);
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
    const review = reviewMarkdown(merged, { extra });
    const result: DiffRun = {
      diff: merged,
      rendered: built.size,
      review: review.markdown,
      unified: unifiedText(merged),
      verification,
    };
    if (io.action) {
      await io.action.appendSummary(review.markdown);
      if (options.comment) result.commentUrl = await postReview(merged, options, io, extra);
    }
    return result;
  } finally {
    await base.remove?.();
    await head?.remove?.();
  }
}
