/**
 * Partial reports of a sharded run (`render|diff --shard I/N`) and their merge (`fluxgate merge`):
 * each cell writes the renders of the owners it reports; the merge checks that the cells are of
 * one run, every cell once, and puts the renders back together in the order a single run has
 * them, so the review is assembled from them by the same code (diff/run.ts compareRenders).
 *
 * A report holds rendered objects as the engine returns them: Secret values are already markers.
 */
import { addBuilds, noBuilds } from '../render/cache.js';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { errorLine, FluxgateError } from '../errors.js';
import { groupOf } from '../flux/objects.js';
import type { ShardSelector, ShardSpec } from '../flux/shard.js';
import {
  ownerKey,
  type OwnerRef,
  type RenderedObject,
  type RenderError,
  type RenderResult,
} from '../render/types.js';
import { VERSION } from '../version.js';

/** The renders a review is made of: one run's, or the shards' of one run put together. */
export interface ChangeRenders {
  clusters: ClusterRenders[];
  /** How the builds were obtained (a single run; merged shards do not count them). */
  builds?: import('../render/cache.js').BuildCounts;
  base: SideIdentity;
  head: SideIdentity;
}

export interface ClusterRenders {
  path: string;
  base: RenderResult;
  head: RenderResult;
  /** Owner keys changed-only mode did not build (the change cannot affect them). */
  notRebuilt?: string[];
}

/** A side as given (`--base`/`--head`) and the commit it resolved to (none for a directory). */
export interface SideIdentity {
  ref: string;
  commit?: string;
}

export const SHARD_REPORT_SCHEMA = 'fluxgate.shard-report/v1';

/** What makes cells one run: compared field by field when merging. */
export interface ShardFleet {
  command: 'render' | 'diff';
  paths: string[];
  base?: SideIdentity;
  head: SideIdentity;
  /** Options that shape the review (`--strip-attrs`). */
  stripAttrs?: string[];
}

export interface ShardReport {
  schema: typeof SHARD_REPORT_SCHEMA;
  fluxgate: string;
  shard: ShardSpec;
  fleet: ShardFleet;
  clusters: { path: string; base?: RenderResult; head: RenderResult; notRebuilt?: string[] }[];
  /** Every owner this cell built, shared ones (built by every cell) included. */
  built: { path: string; base?: string[]; head: string[] }[];
  /** How this cell's builds were obtained (diff); merge adds the cells' counts up. */
  builds?: import('../render/cache.js').BuildCounts;
}

export function shardReport(
  shard: ShardSpec,
  fleet: ShardFleet,
  clusters: ShardReport['clusters'],
  built: { path: string; base?: OwnerRef[]; head: OwnerRef[] }[],
  builds?: import('../render/cache.js').BuildCounts,
): ShardReport {
  return {
    schema: SHARD_REPORT_SCHEMA,
    fluxgate: VERSION,
    shard,
    fleet,
    clusters,
    built: built.map((b) => ({
      path: b.path,
      ...(b.base ? { base: b.base.map(ownerKey) } : {}),
      head: b.head.map(ownerKey),
    })),
    ...(builds ? { builds } : {}),
  };
}

/** Reads and checks the shape of each report (a report is input like any other: fail with its name). */
export function readShardReports(files: string[]): { file: string; report: ShardReport }[] {
  return files.map((file) => {
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new FluxgateError('INPUT', `${file}: not a readable JSON report (${errorLine(err)})`);
    }
    const problem = shapeProblem(data);
    if (problem) throw new FluxgateError('INPUT', `${file}: not a fluxgate shard report: ${problem}`);
    return { file, report: data as ShardReport };
  });
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isOwner = (v: unknown) => isObject(v) && isString(v.kind) && isString(v.namespace) && isString(v.name);

function resultProblem(r: unknown, where: string): string | undefined {
  if (!isObject(r) || !Array.isArray(r.objects) || !Array.isArray(r.errors) || !Array.isArray(r.rendered))
    return `${where} is not a render (objects, errors, rendered)`;
  for (const o of r.objects as unknown[]) {
    const object = isObject(o) ? o.object : undefined;
    if (
      !isObject(o) ||
      !isOwner(o.owner) ||
      !isObject(object) ||
      !isString(object.apiVersion) ||
      !isString(object.kind) ||
      !isObject(object.metadata) ||
      !isString(object.metadata.name)
    )
      return `${where}.objects has an entry without owner, apiVersion, kind or metadata.name`;
  }
  for (const e of r.errors as unknown[])
    if (!isObject(e) || !isOwner(e.owner) || !isString(e.message))
      return `${where}.errors has an entry without owner or message`;
  if (!(r.rendered as unknown[]).every(isOwner)) return `${where}.rendered has an entry that is not an owner`;
  return undefined;
}

function shapeProblem(d: unknown): string | undefined {
  if (!isObject(d)) return 'not a JSON object';
  if (d.schema !== SHARD_REPORT_SCHEMA)
    return `schema ${JSON.stringify(d.schema ?? null)}, this fluxgate reads ${SHARD_REPORT_SCHEMA}`;
  const shard = d.shard as Record<string, unknown> | undefined;
  if (!isObject(shard) || !Number.isInteger(shard.index) || !Number.isInteger(shard.count))
    return 'shard.index and shard.count must be whole numbers';
  if ((shard.index as number) < 1 || (shard.index as number) > (shard.count as number))
    return `shard ${String(shard.index)}/${String(shard.count)} is out of range`;
  const fleet = d.fleet;
  if (
    !isObject(fleet) ||
    (fleet.command !== 'render' && fleet.command !== 'diff') ||
    !Array.isArray(fleet.paths) ||
    !fleet.paths.every(isString) ||
    !isObject(fleet.head)
  )
    return 'fleet must name the command, the paths and the head';
  if (!Array.isArray(d.clusters)) return 'clusters must be a list';
  for (const [i, c] of (d.clusters as unknown[]).entries()) {
    if (!isObject(c) || !isString(c.path)) return `clusters[${i}] has no path`;
    const problem =
      resultProblem(c.head, `clusters[${i}].head`) ??
      (fleet.command === 'diff' ? resultProblem(c.base, `clusters[${i}].base`) : undefined);
    if (problem) return problem;
  }
  return undefined;
}

/**
 * The cells of one run, every one once: otherwise the merge fails naming the missing or doubled
 * cell, or the report of another run and what differs.
 */
export function checkShards(reports: { file: string; report: ShardReport }[]): ShardReport[] {
  if (!reports.length) throw new FluxgateError('INPUT', 'merge: no shard report given');
  const first = reports[0]!;
  const identity = (r: ShardReport) => ({
    fluxgate: r.fluxgate,
    count: r.shard.count,
    command: r.fleet.command,
    paths: r.fleet.paths,
    base: r.fleet.base?.commit ?? r.fleet.base?.ref,
    head: r.fleet.head.commit ?? r.fleet.head.ref,
    stripAttrs: r.fleet.stripAttrs,
  });
  const expected = identity(first.report);
  for (const { file, report } of reports.slice(1)) {
    const got = identity(report);
    for (const key of Object.keys(expected) as (keyof typeof expected)[]) {
      if (JSON.stringify(got[key]) !== JSON.stringify(expected[key]))
        throw new FluxgateError(
          'INPUT',
          `merge: ${basename(file)} is not of the run of ${basename(first.file)}: ${key} ${JSON.stringify(got[key] ?? null)} ≠ ${JSON.stringify(expected[key] ?? null)}`,
        );
    }
  }
  const count = first.report.shard.count;
  const byIndex = new Map<number, string[]>();
  for (const { file, report } of reports)
    byIndex.set(report.shard.index, [...(byIndex.get(report.shard.index) ?? []), basename(file)]);
  for (const [index, files] of [...byIndex].sort((a, b) => a[0] - b[0]))
    if (files.length > 1)
      throw new FluxgateError('INPUT', `merge: shard ${index}/${count} is given twice (${files.join(', ')})`);
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !byIndex.has(i));
  if (missing.length)
    throw new FluxgateError(
      'INPUT',
      `merge: shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${count}`).join(', ')} ${missing.length > 1 ? 'are' : 'is'} missing`,
    );
  return reports.map((r) => r.report).sort((a, b) => a.shard.index - b.shard.index);
}

/** The renders of every cell put together, each list in the order the engine gives it. */
export function mergeRenders(reports: ShardReport[]): ChangeRenders {
  const fleet = reports[0]!.fleet;
  const side = (pick: (c: ShardReport['clusters'][number]) => RenderResult | undefined, path: string) =>
    mergeResults(reports.map((r) => pick(r.clusters.find((c) => c.path === path)!) ?? emptyResult()));
  return {
    clusters: fleet.paths.map((path) => {
      for (const r of reports)
        if (!r.clusters.some((c) => c.path === path))
          throw new FluxgateError(
            'INPUT',
            `merge: shard ${r.shard.index}/${r.shard.count} has no cluster ${path}`,
          );
      const notRebuilt = [
        ...new Set(reports.flatMap((r) => r.clusters.find((c) => c.path === path)!.notRebuilt ?? [])),
      ].sort();
      return {
        path,
        base: side((c) => c.base, path),
        head: side((c) => c.head, path),
        ...(notRebuilt.length ? { notRebuilt } : {}),
      };
    }),
    base: fleet.base ?? { ref: '' },
    head: fleet.head,
    // The matrix's work, every cell's builds added up (the entry directory is built in each).
    builds: reports.reduce((sum, r) => addBuilds(sum, r.builds), noBuilds()),
  };
}

const emptyResult = (): RenderResult => ({ objects: [], errors: [], rendered: [] });

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Each list of the engine's result (render/engine.ts ClusterRender.run) sorted as it sorts it:
 * objects by owner and object, errors and builds by owner. An owner's entries all come from one
 * cell, so a stable sort keeps their order.
 */
export function mergeResults(parts: RenderResult[]): RenderResult {
  const order = (o: RenderedObject) =>
    [
      ownerKey(o.owner),
      groupOf(o.object.apiVersion),
      o.object.kind,
      o.object.metadata?.namespace ?? '',
      o.object.metadata?.name ?? '',
    ].join('\u0000');
  const byOwner = (a: { owner: OwnerRef }, b: { owner: OwnerRef }) =>
    compare(ownerKey(a.owner), ownerKey(b.owner));
  return {
    objects: parts.flatMap((p) => p.objects).sort((a, b) => compare(order(a), order(b))),
    errors: parts.flatMap((p) => p.errors).sort(byOwner) as RenderError[],
    rendered: parts.flatMap((p) => p.rendered).sort((a, b) => compare(ownerKey(a), ownerKey(b))),
    warnings: parts.flatMap((p) => p.warnings ?? []).sort(byOwner),
    suspended: parts.flatMap((p) => p.suspended ?? []).sort((a, b) => compare(ownerKey(a), ownerKey(b))),
    notices: parts.flatMap((p) => p.notices ?? []).sort(byOwner),
  };
}

/** What one cell reports of a render: the objects, errors and builds of the owners it owns. */
export function ownedPart(result: RenderResult, selector: ShardSelector | undefined): RenderResult {
  if (!selector) return result;
  const owns = (o: OwnerRef) => selector.owns(o);
  return {
    objects: result.objects.filter((o) => owns(o.owner)),
    errors: result.errors.filter((e) => owns(e.owner)),
    rendered: result.rendered.filter(owns),
    warnings: (result.warnings ?? []).filter((w) => owns(w.owner)),
    suspended: (result.suspended ?? []).filter(owns),
    notices: (result.notices ?? []).filter((n) => owns(n.owner)),
  };
}
