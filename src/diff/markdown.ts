import { ownerKey, type OwnerRef } from '../render/types.js';
import { oneLine } from '../util/text.js';
import { cellCode, escapeHtml, escapeMarkdown } from '../util/markdown.js';
import { shortValue, FIELD_LIMIT, type FieldChange } from './fields.js';
import type { ClusterDiff, DiffError, ObjectChange } from './objects.js';

/** GitHub rejects comments over 65,536 characters. */
export const COMMENT_LIMIT = 65_536;
/** GitHub drops a step's job summary over 1 MiB; leave room for what other steps wrote. */
export const SUMMARY_LIMIT = 1024 * 1024 - 16 * 1024;

export { cellCode, escapeHtml, escapeMarkdown };

/** A code fence longer than any backtick run in the content, so the content cannot close it. */
export function fence(content: string, lang = 'diff'): string {
  const longest = Math.max(2, ...[...content.matchAll(/`+/g)].map((m) => m[0].length));
  const ticks = '`'.repeat(longest + 1);
  return `${ticks}${lang}\n${content}\n${ticks}`;
}

const ownerLabel = (o: OwnerRef) => `${o.kind} ${o.namespace}/${o.name}`;
const objectLabel = (c: { kind: string; namespace: string; name: string }) =>
  `${c.kind} ${c.namespace ? c.namespace + '/' : ''}${c.name}`;
/** ` (file:line)` of an origin, escaped; nothing when unknown. */
const where = (origin?: { file: string; line?: number }) =>
  origin ? ` (${escapeMarkdown(`${origin.file}${origin.line ? `:${origin.line}` : ''}`)})` : '';
/** Tables longer than this are folded under a one-line summary (a 200-app fleet's review). */
const LONG_TABLE = 20;
/** Objects changed the same way before the review says it once; objects and fields it names. */
const SAME_CHANGE_MIN = 3;
const SAME_CHANGE_NAMED = 3;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

interface Section {
  key: string;
  anchor: string;
  summary: string;
  body: string;
}

export interface ReviewOptions {
  title?: string;
  /** Size limit of the whole review, in `measure` units. */
  limit?: number;
  /** Characters for a comment (GitHub counts characters), bytes for the job summary. */
  measure?: (text: string) => number;
  /** Markdown after the summary (the `--verify` section); kept when sections are folded. */
  extra?: string;
  /** Last line: fluxgate version, base and head, the run. */
  footer?: string;
  /** Where the folded content can be read in full. */
  foldedTo?: string;
  /** Changed-only mode: owners not rebuilt (the change cannot affect them), so not reviewed. */
  notRebuilt?: number;
}

export interface Review {
  markdown: string;
  /** Owners whose diff was left out to fit the limit. */
  folded: string[];
}

export const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

/**
 * The PR review, most important first: what could not be rendered, the risks, a table per
 * owner, images, errors, then one collapsed section per owner (changed fields above the diff).
 * Over `limit`, the largest sections are folded first, and a note at the top says so.
 */
export function reviewMarkdown(diff: ClusterDiff, options: ReviewOptions = {}): Review {
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const measure = options.measure ?? ((t: string) => t.length);
  const groups = groupByOwner(diff);
  const anchorOf = new Map([...groups.keys()].map((key, i) => [key, `fluxgate-owner-${i + 1}`]));
  const count = (cs: ObjectChange[], a: string) => cs.filter((c) => c.action === a).length;

  const top: string[] = [`## ${options.title ?? 'fluxgate diff'}`, ''];
  const head: string[] = [];
  const total = diff.changes.length;

  if (diff.unrendered.length) {
    const onHead = diff.unrendered.filter((u) => u.side === 'head');
    head.push(
      onHead.length
        ? `### ❌ Could not render on head`
        : `### Could not render on base (the change fixes it)`,
      '',
      'These owners render on one side only: their objects are not compared, so nothing below counts them as added or removed.',
      '',
    );
    for (const u of diff.unrendered)
      head.push(
        `- **${u.side === 'head' ? 'could not render on head' : 'could not render on base'}**: ${escapeMarkdown(u.cluster)} · ${escapeMarkdown(ownerLabel(u.owner))}${where(u.origin)} · ${plural(u.objects, 'object')} not compared`,
        '',
        indent(fence(u.message, 'text')),
        '',
      );
  }

  const withheld = (diff.suspended ?? []).filter((s) => s.objects > 0);
  if (withheld.length) {
    head.push('### ⏸️ Suspended', '');
    for (const s of withheld)
      head.push(
        `- ${escapeMarkdown(s.cluster)} · ${escapeMarkdown(ownerLabel(s.owner))} is **suspended**: ${plural(s.objects, 'changed object')} under it would not be applied until it is resumed (not counted below)`,
      );
    head.push('');
  }

  const newErrors = diff.errors.filter((e) => e.status === 'new');
  if (!total && !diff.errors.length)
    head.push(
      withheld.length
        ? 'No other changes to the objects Flux applies.'
        : 'No changes to the objects Flux applies.',
      '',
    );
  else {
    const errorNote = [
      newErrors.length ? `**${plural(newErrors.length, 'render error')}**` : '',
      diff.errors.length - newErrors.length
        ? `${diff.errors.length - newErrors.length} pre-existing or fixed`
        : '',
    ]
      .filter(Boolean)
      .join(', ');
    head.push(
      `**${total}** object${total === 1 ? '' : 's'} changed: ${count(diff.changes, 'added')} added, ${count(diff.changes, 'removed')} removed, ${count(diff.changes, 'modified')} modified${errorNote ? `; ${errorNote}` : ''}.`,
      '',
    );
  }

  if (options.notRebuilt)
    head.push(
      `_Changed-only: ${plural(options.notRebuilt, 'owner')} the change cannot affect ${options.notRebuilt === 1 ? 'was' : 'were'} not rebuilt; their objects and any errors they have are not part of this review._`,
      '',
    );

  const risky = diff.changes.filter((c) => c.risks.length);
  if (risky.length) {
    head.push('### ⚠️ Needs a second look', '');
    for (const c of risky) {
      const anchor = anchorOf.get(groupKey(c.cluster, c.owner))!;
      head.push(
        `- [${escapeMarkdown(objectLabel(c))}](#${anchor}) ${c.risks.map(escapeMarkdown).join('; ')}${where(c.origin)}`,
      );
    }
    head.push('');
  }

  const rows = new Map<string, { cluster: string; owner: OwnerRef }>();
  for (const [key, g] of groups) rows.set(key, g);
  for (const e of diff.errors) rows.set(groupKey(e.cluster, e.owner), e);
  const suspendedRows = new Set<string>();
  for (const s of withheld) {
    rows.set(groupKey(s.cluster, s.owner), s);
    suspendedRows.add(groupKey(s.cluster, s.owner));
  }
  if (rows.size) {
    // A long table would push everything below it off the first screens: it is folded.
    const long = rows.size > LONG_TABLE;
    if (long) head.push(`<details><summary>${plural(rows.size, 'owner')}: the table</summary>`, '');
    head.push(
      '| Cluster | Owner | Added | Removed | Modified | Errors |',
      '| --- | --- | ---: | ---: | ---: | ---: |',
    );
    for (const [key, r] of [...rows].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const cs = groups.get(key)?.changes ?? [];
      const errors = diff.errors.filter((e) => groupKey(e.cluster, e.owner) === key).length;
      const anchor = anchorOf.get(key);
      const label = escapeMarkdown(ownerLabel(r.owner)) + (suspendedRows.has(key) ? ' (suspended)' : '');
      head.push(
        `| ${escapeMarkdown(r.cluster)} | ${anchor ? `[${label}](#${anchor})` : label} | ${count(cs, 'added')} | ${count(cs, 'removed')} | ${count(cs, 'modified')} | ${errors} |`,
      );
    }
    head.push('');
    if (long) head.push('</details>', '');
  }

  if (diff.images.length) {
    // One cluster: its column would repeat one value and push Before/After off a narrow screen.
    const several = new Set(diff.images.map((i) => i.cluster)).size > 1;
    head.push('### Images', '');
    const long = diff.images.length > LONG_TABLE;
    if (long) {
      // The moves first (a platform change moves one image in hundreds of workloads), the rows folded.
      const moves = new Map<string, { before?: string; after?: string; n: number }>();
      for (const i of diff.images) {
        const key = `${i.before ?? ''}\u0000${i.after ?? ''}`;
        const m = moves.get(key) ?? { before: i.before, after: i.after, n: 0 };
        m.n++;
        moves.set(key, m);
      }
      const sorted = [...moves.values()].sort((a, b) => b.n - a.n);
      for (const m of sorted.slice(0, LONG_TABLE))
        head.push(
          `- ${m.before ? cellCode(m.before) : '—'} → ${m.after ? cellCode(m.after) : '—'}: ${plural(m.n, 'container')}`,
        );
      if (sorted.length > LONG_TABLE) head.push(`- …${plural(sorted.length - LONG_TABLE, 'more move')}`);
      head.push('', `<details><summary>${plural(diff.images.length, 'container')}: the table</summary>`, '');
    }
    head.push(
      `| ${several ? 'Cluster | ' : ''}Namespace | Object | Container | Owner | Before | After |`,
      `| ${several ? '--- | ' : ''}--- | --- | --- | --- | --- | --- |`,
    );
    for (const i of diff.images)
      head.push(
        `| ${several ? `${escapeMarkdown(i.cluster)} | ` : ''}${escapeMarkdown(i.namespace || '—')} | ${escapeMarkdown(i.object)} | ${escapeMarkdown(i.container)} | ${escapeMarkdown(ownerLabel(i.owner))} | ${i.before ? cellCode(i.before) : '—'} | ${i.after ? cellCode(i.after) : '—'} |`,
      );
    head.push('');
    if (long) head.push('</details>', '');
  }

  const repeated = sameModifications(diff.changes);
  if (repeated.length) {
    // A platform change edits the same fields in hundreds of objects: said once, above the
    // owner sections that still hold each object's diff.
    head.push('### Same change in many objects', '');
    for (const { changes, fields } of repeated.slice(0, LONG_TABLE)) {
      const named = changes.slice(0, SAME_CHANGE_NAMED).map((c) => escapeMarkdown(objectLabel(c)));
      const more = changes.length - named.length;
      head.push(
        `- **${changes.length} objects** (${named.join(', ')}${more ? `, ${more} more` : ''}): ${fields
          .slice(0, SAME_CHANGE_NAMED)
          .map(fieldText)
          .join(
            '; ',
          )}${fields.length > SAME_CHANGE_NAMED ? `; ${plural(fields.length - SAME_CHANGE_NAMED, 'more field')}` : ''}`,
      );
    }
    if (repeated.length > LONG_TABLE) head.push(`- …${plural(repeated.length - LONG_TABLE, 'more change')}`);
    head.push('');
  }

  const listed = diff.errors.filter(
    (e) => !diff.unrendered.some((u) => u.side === e.side && u.message === e.message),
  );
  if (listed.length) {
    head.push('### Render errors', '');
    const order: DiffError['status'][] = ['new', 'pre-existing', 'fixed'];
    for (const e of [...listed].sort((a, b) => order.indexOf(a.status) - order.indexOf(b.status))) {
      const status =
        e.status === 'new'
          ? '**new on head**'
          : e.status === 'pre-existing'
            ? 'pre-existing (on base and head)'
            : 'fixed (on base only)';
      head.push(
        `- ${status}: ${escapeMarkdown(e.cluster)} · ${escapeMarkdown(ownerLabel(e.owner))}${where(e.origin)}`,
        '',
        indent(fence(e.message, 'text')),
        '',
      );
    }
  }
  const twice = diff.warnings ?? [];
  if (twice.length) {
    head.push(
      '### Applied by two owners',
      '',
      'Each controller would take these objects from the other on every reconcile, and prune them when the other drops them.',
      '',
    );
    for (const w of [...twice].sort((a, b) => (a.status === b.status ? 0 : a.status === 'new' ? -1 : 1)))
      head.push(
        `- ${w.status === 'new' ? '**new on head**' : 'pre-existing'}: ${escapeMarkdown(w.cluster)} · ${escapeMarkdown(w.object)} · applied by ${w.owners
          .map((o, i) => `${escapeMarkdown(ownerLabel(o))}${where(w.origins[i])}`)
          .join(' and ')}`,
      );
    head.push('');
  }
  if (options.extra) head.push(options.extra, '');

  const sections: Section[] = [...groups].map(([key, g]) => ({
    key,
    anchor: anchorOf.get(key)!,
    summary: `${escapeHtml(g.cluster)}: ${escapeHtml(ownerLabel(g.owner))} (+${count(g.changes, 'added')} −${count(g.changes, 'removed')} ~${count(g.changes, 'modified')})`,
    body: g.changes.map(changeBlock).join('\n\n'),
  }));
  const sectionText = (s: Section, folded: boolean) =>
    `<a id="${s.anchor}"></a>\n<details><summary>${s.summary}</summary>\n\n${
      folded
        ? `_Diff left out to fit the size limit${options.foldedTo ? `: ${options.foldedTo}` : ''}._`
        : s.body
    }\n\n</details>\n`;
  const footer = options.footer ? ['', '---', options.footer] : [];
  const foldNote = (n: number, all: boolean) =>
    `> [!NOTE]\n> ${all ? 'All' : n} of ${sections.length} owner section${sections.length === 1 ? '' : 's'} folded, the largest first, to stay within GitHub's limit${options.foldedTo ? `: ${options.foldedTo}` : ''}.\n`;

  // Sizes add up: fold the largest sections until the whole fits, without re-rendering each time.
  const fixed = measure([...top, ...head, ...footer].join('\n')) + 2;
  const full = sections.map((s) => measure(sectionText(s, false)) + 1);
  const small = sections.map((s) => measure(sectionText(s, true)) + 1);
  let size = fixed + full.reduce((a, b) => a + b, 0);
  const folded = new Set<number>();
  const note = measure(foldNote(sections.length, false)) + 2;
  if (size > limit) {
    size += note;
    for (const i of sections.map((_, i) => i).sort((a, b) => full[b]! - full[a]!)) {
      if (size <= limit) break;
      folded.add(i);
      size -= full[i]! - small[i]!;
    }
  }
  let body = sections.map((s, i) => sectionText(s, folded.has(i)));
  if (size > limit) {
    // Even folded, the sections do not fit (thousands of owners): the table above still lists them.
    body = [
      `_${plural(sections.length, 'owner section')} left out to fit GitHub's limit; the table above lists them._`,
    ];
  }
  const parts = [
    ...top,
    ...(folded.size ? [foldNote(folded.size, folded.size === sections.length), ''] : []),
    ...head,
    ...body,
    ...footer,
  ];
  let markdown = parts.join('\n');
  if (measure(markdown) > limit) {
    // Last resort (a table of thousands of rows): cut at a line, never inside a code fence's text.
    const lines = markdown.split('\n');
    const note = "\n\n_Review cut to fit GitHub's limit; the full review is in the diff file._";
    while (lines.length && measure(lines.join('\n')) + measure(note) > limit)
      lines.length -= Math.max(1, Math.ceil(lines.length / 20));
    markdown = closeFences(lines.join('\n')) + note;
  }
  return { markdown, folded: [...folded].map((i) => sections[i]!.key) };
}

function groupKey(cluster: string, owner: OwnerRef): string {
  return `${cluster}\u0000${ownerKey(owner)}`;
}

function groupByOwner(diff: ClusterDiff) {
  const groups = new Map<string, { cluster: string; owner: OwnerRef; changes: ObjectChange[] }>();
  for (const c of diff.changes) {
    const key = groupKey(c.cluster, c.owner);
    if (!groups.has(key)) groups.set(key, { cluster: c.cluster, owner: c.owner, changes: [] });
    groups.get(key)!.changes.push(c);
  }
  return new Map([...groups].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** A field change as the review writes it: path, then value before → after. */
const fieldText = (f: FieldChange) =>
  `${cellCode(f.path)}: ${f.before === undefined ? '_(added)_ ' : cellCode(shortValue(f.before)) + ' → '}${f.after === undefined ? '_(removed)_' : cellCode(shortValue(f.after))}`;

/** A container's image (containers, initContainers, ephemeralContainers): the Images section says those. */
const IMAGE_FIELD = /ontainers\[[^\]]*\]\.image$/;

/**
 * Modifications that change exactly the same fields the same way, in more objects than a review
 * lists one by one (LONG_TABLE modified objects in all): the largest groups first. Image moves
 * alone are left to the Images section, which already counts them.
 */
function sameModifications(changes: ObjectChange[]): { changes: ObjectChange[]; fields: FieldChange[] }[] {
  const modified = changes.filter((c) => c.action === 'modified' && c.fields.length);
  if (modified.length <= LONG_TABLE) return [];
  const groups = new Map<string, { changes: ObjectChange[]; fields: FieldChange[] }>();
  for (const c of modified) {
    const key = JSON.stringify(c.fields.map((f) => [f.path, f.before, f.after]));
    const group = groups.get(key) ?? { changes: [], fields: c.fields };
    group.changes.push(c);
    groups.set(key, group);
  }
  return [...groups.values()]
    .filter((g) => g.changes.length >= SAME_CHANGE_MIN && !g.fields.every((f) => IMAGE_FIELD.test(f.path)))
    .sort((a, b) => b.changes.length - a.changes.length);
}

/** One object: what happened, the changed fields as paths, then the unified diff. */
function changeBlock(c: ObjectChange): string {
  const lines = [`**${c.action}** ${escapeMarkdown(objectLabel(c))}`];
  for (const r of c.risks) lines[0] += ` · ⚠️ ${escapeMarkdown(r)}`;
  if (c.fields.length) {
    lines.push('');
    for (const f of c.fields.slice(0, FIELD_LIMIT)) lines.push(`- ${fieldText(f)}`);
    if (c.fields.length > FIELD_LIMIT) lines.push('- …more in the diff');
  }
  lines.push('', fence(c.diff));
  return lines.join('\n');
}

const indent = (text: string) =>
  text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');

/** Closes a code fence left open by a cut. */
function closeFences(text: string): string {
  let open: string | undefined;
  for (const line of text.split('\n')) {
    const m = /^\s*(`{3,})/.exec(line);
    if (!m) continue;
    if (!open) open = m[1];
    else if (m[1]!.length >= open.length && line.trim() === m[1]) open = undefined;
  }
  return open ? `${text}\n${open}` : text;
}

/**
 * The one place the review's final markdown leaves for the summary, the comment, a file or
 * stdout. Secret scrubbing of the final text (h-exits' `redact`) belongs here.
 */
export function finalMarkdown(markdown: string): string {
  return markdown;
}

/** Plain unified diff for terminals. */
export function unifiedText(diff: ClusterDiff): string {
  const out: string[] = [];
  for (const u of diff.unrendered)
    out.push(
      `# ${u.cluster} ${ownerLabel(u.owner)}: could not render on ${u.side} (${plural(u.objects, 'object')} not compared): ${u.message}`,
    );
  for (const s of diff.suspended ?? [])
    if (s.objects)
      out.push(
        oneLine(
          `# ${s.cluster} ${ownerLabel(s.owner)}: suspended, ${plural(s.objects, 'changed object')} not applied until it is resumed`,
        ),
      );
  for (const c of diff.changes) {
    out.push(
      oneLine(`# ${c.cluster} ${ownerLabel(c.owner)}: ${c.action} ${c.kind} ${c.namespace}/${c.name}`),
    );
    for (const f of c.fields)
      out.push(oneLine(`#   ${f.path}: ${shortValue(f.before)} → ${shortValue(f.after)}`));
    out.push(c.diff, '');
  }
  for (const e of diff.errors) out.push(oneLine(`# ${e.side} render error (${e.status}): ${e.message}`));
  return out.join('\n') + (out.length ? '\n' : '');
}
