import { ownerKey, type OwnerRef } from '../render/types.js';
import type { ClusterDiff, ObjectChange } from './objects.js';
import { oneLine } from '../util/text.js';

/** GitHub rejects comments over 65,536 characters; leave room for the marker and footer. */
export const COMMENT_LIMIT = 65_536;

/** Text from manifests (names, messages) cannot open HTML or markdown constructs in the review. */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_{}[\]()#+!|~])/g, '\\$1')
    .replace(/\r?\n/g, ' ');
}

/** A code fence longer than any backtick run in the content, so the content cannot close it. */
export function fence(content: string, lang = 'diff'): string {
  const longest = Math.max(2, ...[...content.matchAll(/`+/g)].map((m) => m[0].length));
  const ticks = '`'.repeat(longest + 1);
  return `${ticks}${lang}\n${content}\n${ticks}`;
}

const ownerLabel = (o: OwnerRef) => `${o.kind} ${o.namespace}/${o.name}`;

interface Section {
  key: string;
  summary: string;
  body: string;
}

export interface Review {
  markdown: string;
  /** Owners whose diff was left out to fit the limit. */
  folded: string[];
}

/**
 * The PR review: a summary table first, image changes, render errors, then one collapsed
 * section per owner with its diffs. Over `limit`, the largest sections are folded first.
 */
export function reviewMarkdown(
  diff: ClusterDiff,
  options: { title?: string; limit?: number; extra?: string } = {},
): Review {
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const byOwner = new Map<string, { cluster: string; owner: OwnerRef; changes: ObjectChange[] }>();
  for (const c of diff.changes) {
    const key = `${c.cluster}\u0000${ownerKey(c.owner)}`;
    if (!byOwner.has(key)) byOwner.set(key, { cluster: c.cluster, owner: c.owner, changes: [] });
    byOwner.get(key)!.changes.push(c);
  }
  const count = (cs: ObjectChange[], a: string) => cs.filter((c) => c.action === a).length;
  const errorsOf = (cluster: string, owner: OwnerRef) =>
    diff.errors.filter((e) => e.cluster === cluster && ownerKey(e.owner) === ownerKey(owner)).length;

  const head: string[] = [`## ${options.title ?? 'fluxgate diff'}`, ''];
  const total = diff.changes.length;
  if (!total && !diff.errors.length) head.push('No changes to the objects Flux applies.', '');
  else {
    head.push(
      `**${total}** object${total === 1 ? '' : 's'} changed: ${count(diff.changes, 'added')} added, ${count(diff.changes, 'removed')} removed, ${count(diff.changes, 'modified')} modified${diff.errors.length ? `; **${diff.errors.length} render error${diff.errors.length === 1 ? '' : 's'}**` : ''}.`,
      '',
      '| Cluster | Owner | Added | Removed | Modified | Errors |',
      '| --- | --- | ---: | ---: | ---: | ---: |',
    );
    const rows = new Map<string, { cluster: string; owner: OwnerRef }>();
    for (const g of byOwner.values()) rows.set(`${g.cluster}\u0000${ownerKey(g.owner)}`, g);
    for (const e of diff.errors)
      rows.set(`${e.cluster}\u0000${ownerKey(e.owner)}`, { cluster: e.cluster, owner: e.owner });
    for (const [key, r] of [...rows].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const cs = byOwner.get(key)?.changes ?? [];
      head.push(
        `| ${escapeMarkdown(r.cluster)} | ${escapeMarkdown(ownerLabel(r.owner))} | ${count(cs, 'added')} | ${count(cs, 'removed')} | ${count(cs, 'modified')} | ${errorsOf(r.cluster, r.owner)} |`,
      );
    }
    head.push('');
  }
  if (diff.images.length) {
    head.push(
      '### Images',
      '',
      '| Cluster | Object | Container | Before | After |',
      '| --- | --- | --- | --- | --- |',
    );
    for (const i of diff.images) {
      head.push(
        `| ${escapeMarkdown(i.cluster)} | ${escapeMarkdown(i.object)} | ${escapeMarkdown(i.container)} | ${i.before ? `\`${i.before.replace(/`/g, '')}\`` : '—'} | ${i.after ? `\`${i.after.replace(/`/g, '')}\`` : '—'} |`,
      );
    }
    head.push('');
  }
  if (diff.errors.length) {
    head.push('### Render errors', '');
    for (const e of diff.errors)
      head.push(`- **${e.side}** ${escapeMarkdown(e.cluster)}: ${escapeMarkdown(e.message)}`);
    head.push('');
  }
  if (options.extra) head.push(options.extra, '');

  const sections: Section[] = [...byOwner.values()].map((g) => ({
    key: `${g.cluster}: ${ownerLabel(g.owner)}`,
    summary: `${escapeMarkdown(g.cluster)}: ${escapeMarkdown(ownerLabel(g.owner))} (+${count(g.changes, 'added')} −${count(g.changes, 'removed')} ~${count(g.changes, 'modified')})`,
    body: g.changes
      .map(
        (c) =>
          `**${c.action}** ${escapeMarkdown(`${c.kind} ${c.namespace ? c.namespace + '/' : ''}${c.name}`)}\n\n${fence(c.diff)}`,
      )
      .join('\n\n'),
  }));

  const render = (folded: Set<string>) =>
    [
      ...head,
      ...sections.map((s) =>
        folded.has(s.key)
          ? `<details><summary>${s.summary}</summary>\n\n_Diff left out to fit the comment limit: see the job summary or the diff file._\n\n</details>`
          : `<details><summary>${s.summary}</summary>\n\n${s.body}\n\n</details>`,
      ),
      ...(folded.size
        ? [
            '',
            `_${folded.size} section${folded.size === 1 ? '' : 's'} folded to stay within ${limit} characters._`,
          ]
        : []),
    ].join('\n');

  const folded = new Set<string>();
  let markdown = render(folded);
  for (const s of [...sections].sort((a, b) => b.body.length - a.body.length)) {
    if (markdown.length <= limit) break;
    folded.add(s.key);
    markdown = render(folded);
  }
  if (markdown.length > limit)
    markdown = markdown.slice(0, limit - 80) + '\n\n_Review truncated to fit the comment limit._';
  return { markdown, folded: [...folded] };
}

/** Plain unified diff for terminals. */
export function unifiedText(diff: ClusterDiff): string {
  const out: string[] = [];
  for (const c of diff.changes)
    out.push(
      oneLine(`# ${c.cluster} ${ownerLabel(c.owner)}: ${c.action} ${c.kind} ${c.namespace}/${c.name}`),
      c.diff,
      '',
    );
  for (const e of diff.errors) out.push(oneLine(`# ${e.side} render error: ${e.message}`));
  return out.join('\n') + (out.length ? '\n' : '');
}
