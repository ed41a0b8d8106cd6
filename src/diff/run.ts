import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CommandIO } from '../commands/types.js';
import type { DiffOptions } from '../commands/diff.js';
import { renderCluster } from '../render/engine.js';
import { createSecretMasker } from '../render/secrets.js';
import { ownerKey } from '../render/types.js';
import { Git } from './git.js';
import { reviewMarkdown, unifiedText } from './markdown.js';
import { diffRenders, type ClusterDiff } from './objects.js';
import { postReview } from '../github/review.js';

export interface DiffRun {
  diff: ClusterDiff;
  /** Owners built, base and head together (fewer in changed-only mode). */
  rendered: number;
  review: string;
  unified: string;
  commentUrl?: string;
}

interface Side {
  dir: string;
  remove?: () => Promise<void>;
}

/** Renders base and head of every cluster path with one secret masker and compares them. */
export async function runDiff(options: DiffOptions, io: CommandIO): Promise<DiffRun> {
  const repo = resolve(io.cwd, options.repo);
  const git = new Git(repo, io.env);
  const side = async (ref: string): Promise<Side> => {
    const asDir = resolve(io.cwd, ref);
    if (existsSync(asDir) && statSync(asDir).isDirectory()) return { dir: asDir };
    return git.worktree(await git.resolveRef(ref));
  };
  const base = await side(options.base);
  let head: Side | undefined;
  try {
    head = await side(options.head);
    const masker = createSecretMasker();
    const merged: ClusterDiff = { changes: [], images: [], errors: [] };
    const built = new Set<string>();
    for (const path of options.paths) {
      const render = (dir: string, label: string) =>
        io.log.group(`Render ${label} ${path}`, () =>
          renderCluster({ ...options, repo: dir, path, masker }, { ...io, cwd: io.cwd }),
        );
      const b = await render(base.dir, 'base');
      const h = await render(head.dir, 'head');
      for (const o of [...b.rendered, ...h.rendered]) built.add(`${path}\u0000${ownerKey(o)}`);
      const d = diffRenders(path, b, h, options.stripAttrs);
      merged.changes.push(...d.changes);
      merged.images.push(...d.images);
      merged.errors.push(...d.errors);
    }
    for (const e of merged.errors) io.log.error(`${e.side}: ${e.message}`);
    const review = reviewMarkdown(merged);
    const result: DiffRun = {
      diff: merged,
      rendered: built.size,
      review: review.markdown,
      unified: unifiedText(merged),
    };
    if (io.action) {
      await io.action.appendSummary(review.markdown);
      if (options.comment) result.commentUrl = await postReview(merged, options, io);
    }
    return result;
  } finally {
    await base.remove?.();
    await head?.remove?.();
  }
}
