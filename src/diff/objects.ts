import { isDeepStrictEqual } from 'node:util';
import { createTwoFilesPatch } from 'diff';
import { changedFields, type FieldChange } from './fields.js';
import { risksOf, type ChangeAction } from './risk.js';
import { stringify } from 'yaml';
import {
  field,
  groupOf,
  isFluxInstance,
  isFluxKustomization,
  isHelmRelease,
  isResourceSet,
  ownerOf,
} from '../flux/objects.js';
import { oneLine } from '../util/text.js';
import {
  ownerKey,
  type KubeObject,
  type OwnerRef,
  type RenderError,
  type RenderResult,
} from '../render/types.js';

export type { ChangeAction };

export interface ObjectChange {
  /** Cluster entry directory the change belongs to (several `--path`s in one review). */
  cluster: string;
  owner: OwnerRef;
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  action: ChangeAction;
  /** Where the object is defined, when known (annotations). */
  origin?: { file: string; line?: number };
  /** `modified`: the changed fields, list items matched by key (see fields.ts). */
  fields: FieldChange[];
  /** Why this change deserves a second look (risk.ts); empty for most. */
  risks: string[];
  /** Unified diff of the normalized YAML, a few lines of context. */
  diff: string;
}

export interface ImageChange {
  cluster: string;
  owner: OwnerRef;
  /** Namespace of the workload ('' for cluster-scoped or unset). */
  namespace: string;
  object: string;
  container: string;
  before?: string;
  after?: string;
}

/**
 * `new`: on head only, the change brings it; `pre-existing`: the same error on both sides, listed
 * once (its head copy); `fixed`: on base only, the change removes it.
 */
export type ErrorStatus = 'new' | 'pre-existing' | 'fixed';

export interface DiffError extends RenderError {
  cluster: string;
  side: 'base' | 'head';
  status: ErrorStatus;
}

/**
 * An owner that renders on one side and fails on the other: its objects (and those of the owners
 * it applies) are not compared, so a failure never reads as a deletion or an addition.
 */
export interface UnrenderedOwner {
  cluster: string;
  owner: OwnerRef;
  /** The side it could not render on. */
  side: 'base' | 'head';
  message: string;
  origin?: { file: string; line?: number };
  /** Objects of the other side left out of the comparison. */
  objects: number;
}

/**
 * An owner suspended on head (`spec.suspend`, the operator's `reconcile: disabled`): the
 * controllers would not apply what changed under it, so those objects are not listed as changes.
 */
export interface SuspendedOwner {
  cluster: string;
  owner: OwnerRef;
  /** Objects under it (its own or those of the owners it applies) that differ but would not be applied. */
  objects: number;
}

/**
 * An object two owners apply on head (render warnings): each owner's controller would take it
 * from the other. `new` when base did not have it; listed once per object, naming every owner.
 */
export interface DiffWarning {
  cluster: string;
  /** `Kind namespace/name` of the object. */
  object: string;
  owners: OwnerRef[];
  /** Where each owner defines it, in the order of `owners`, when known. */
  origins: ({ file: string; line?: number } | undefined)[];
  status: 'new' | 'pre-existing';
}

export interface ClusterDiff {
  changes: ObjectChange[];
  images: ImageChange[];
  errors: DiffError[];
  unrendered: UnrenderedOwner[];
  suspended: SuspendedOwner[];
  warnings: DiffWarning[];
}

export const emptyDiff = (): ClusterDiff => ({
  changes: [],
  images: [],
  errors: [],
  unrendered: [],
  suspended: [],
  warnings: [],
});

/**
 * Adds one cluster's diff to the run's: every list of ClusterDiff, so a list added to the type is
 * never left out of one of the places that merge clusters (a single run, a live-cluster diff).
 */
export function appendDiff(into: ClusterDiff, from: ClusterDiff): void {
  into.changes.push(...from.changes);
  into.images.push(...from.images);
  into.errors.push(...from.errors);
  into.unrendered.push(...from.unrendered);
  into.suspended.push(...from.suspended);
  into.warnings.push(...from.warnings);
}

/** Objects match by API group (not version), kind, namespace and name. */
export function objectId(o: KubeObject): string {
  return [groupOf(o.apiVersion), o.kind, o.metadata?.namespace ?? '', o.metadata?.name ?? ''].join('/');
}

/** Keys sorted the same way on both sides, noise labels/annotations dropped, so only real changes show. */
export function normalize(o: KubeObject, stripAttrs: readonly string[]): unknown {
  const copy = structuredClone(o) as KubeObject;
  for (const field of ['labels', 'annotations'] as const) {
    const map = copy.metadata?.[field];
    if (!map) continue;
    for (const key of stripAttrs) delete map[key];
    if (Object.keys(map).length === 0) delete copy.metadata[field];
  }
  return sortKeys(copy);
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v as object)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

const toYaml = (v: unknown) => (v === undefined ? '' : stringify(v, { lineWidth: 0 }));

export function unifiedDiff(id: string, before: unknown, after: unknown, context = 4): string {
  // One line each: a name with a line break must not add lines to the unified stream.
  const patch = createTwoFilesPatch(
    `a/${oneLine(id)}`,
    `b/${oneLine(id)}`,
    toYaml(before),
    toYaml(after),
    undefined,
    undefined,
    { context },
  );
  // Drop jsdiff's "Index:"/"===" preamble: the file headers say it all.
  return patch
    .split('\n')
    .filter((l) => !l.startsWith('Index:') && !/^=+$/.test(l))
    .join('\n')
    .trimEnd();
}

/** The objects Flux would apply, compared between base and head of one cluster. */
export function diffRenders(
  cluster: string,
  base: RenderResult,
  head: RenderResult,
  stripAttrs: readonly string[],
  onlyOwners?: Set<string>,
): ClusterDiff {
  const keep = (owner: OwnerRef) => !onlyOwners || onlyOwners.has(ownerKey(owner));
  const index = (r: RenderResult) =>
    new Map(r.objects.filter((o) => keep(o.owner)).map((o) => [objectId(o.object), o]));
  const before = index(base);
  const after = index(head);
  const errors = classifyErrors(
    cluster,
    base.errors.filter((e) => keep(e.owner)),
    head.errors.filter((e) => keep(e.owner)),
  );
  // Owners failing on one side only: their subtree is not compared in that direction.
  const failedOn = (side: 'base' | 'head') => {
    const other = side === 'base' ? head : base;
    const own = side === 'base' ? base : head;
    const otherFailed = new Set(other.errors.map((e) => ownerKey(e.owner)));
    return new Map(
      own.errors.filter((e) => !otherFailed.has(ownerKey(e.owner))).map((e) => [ownerKey(e.owner), e]),
    );
  };
  const failedOnBase = failedOn('base');
  const failedOnHead = failedOn('head');
  const parents = ownerParents([base, head]);
  const hiddenBy = (owner: OwnerRef, failed: Map<string, RenderError>): string | undefined => {
    const seen = new Set<string>();
    for (let key: string | undefined = ownerKey(owner); key && !seen.has(key); key = parents.get(key)) {
      if (failed.has(key)) return key;
      seen.add(key);
    }
    return undefined;
  };
  const hidden = new Map<string, number>();
  // Suspended on head: what the change does under it waits until it is resumed.
  const suspendedOwners = new Map((head.suspended ?? []).map((o) => [ownerKey(o), o]));
  const suspendedCount = new Map<string, number>();
  const suspendedBy = (owner: OwnerRef): string | undefined => {
    const seen = new Set<string>();
    for (let key: string | undefined = ownerKey(owner); key && !seen.has(key); key = parents.get(key)) {
      if (suspendedOwners.has(key)) return key;
      seen.add(key);
    }
    return undefined;
  };
  const changes: ObjectChange[] = [];
  const images: ImageChange[] = [];
  for (const id of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const b = before.get(id);
    const a = after.get(id);
    if (b && !a) {
      const by = hiddenBy(b.owner, failedOnHead);
      if (by) {
        hidden.set(`head\u0000${by}`, (hidden.get(`head\u0000${by}`) ?? 0) + 1);
        continue;
      }
    }
    if (a && !b) {
      const by = hiddenBy(a.owner, failedOnBase);
      if (by) {
        hidden.set(`base\u0000${by}`, (hidden.get(`base\u0000${by}`) ?? 0) + 1);
        continue;
      }
    }
    const nb = b && normalize(b.object, stripAttrs);
    const na = a && normalize(a.object, stripAttrs);
    // Equal as data (keys sorted, stripped attributes gone): printing both to compare would
    // cost more than the rest of the diff on a large fleet.
    const action: ChangeAction | undefined = !b
      ? 'added'
      : !a
        ? 'removed'
        : !isDeepStrictEqual(nb, na)
          ? 'modified'
          : undefined;
    if (!action) continue;
    const o = (a ?? b)!;
    const by = suspendedBy(o.owner);
    if (by) {
      suspendedCount.set(by, (suspendedCount.get(by) ?? 0) + 1);
      continue;
    }
    changes.push({
      cluster,
      owner: o.owner,
      apiVersion: o.object.apiVersion,
      kind: o.object.kind,
      namespace: o.object.metadata.namespace ?? '',
      name: o.object.metadata.name,
      action,
      ...(o.origin ? { origin: o.origin } : {}),
      fields: action === 'modified' ? changedFields(nb, na) : [],
      risks: risksOf(action, b?.object, a?.object),
      diff: unifiedDiff(
        `${o.object.kind}/${o.object.metadata.namespace ? o.object.metadata.namespace + '/' : ''}${o.object.metadata.name}`,
        nb,
        na,
      ),
    });
    images.push(...imageChanges(cluster, o.owner, b?.object, a?.object));
  }
  const unrendered: UnrenderedOwner[] = [];
  for (const [side, failed] of [
    ['head', failedOnHead],
    ['base', failedOnBase],
  ] as const) {
    for (const [key, e] of failed) {
      // An owner that exists on one side only (added or removed by the change) and fails there
      // is a plain error: there is nothing on the other side to mistake for a change.
      const objects = hidden.get(`${side}\u0000${key}`) ?? 0;
      const other = side === 'head' ? base : head;
      if (!objects && !other.rendered.some((r) => ownerKey(r) === key)) continue;
      unrendered.push({
        cluster,
        owner: e.owner,
        side,
        message: e.message,
        ...(e.origin ? { origin: e.origin } : {}),
        objects,
      });
    }
  }
  const suspended = [...suspendedOwners]
    .filter(([key]) => keep(suspendedOwners.get(key)!))
    .map(([key, owner]) => ({ cluster, owner, objects: suspendedCount.get(key) ?? 0 }));
  return {
    changes,
    images,
    errors,
    unrendered,
    suspended,
    warnings: appliedTwice(cluster, base, head, keep),
  };
}

/** Head's objects applied by two owners, one entry per object (render warnings come per owner). */
function appliedTwice(
  cluster: string,
  base: RenderResult,
  head: RenderResult,
  keep: (owner: OwnerRef) => boolean,
): DiffWarning[] {
  const onBase = new Set((base.warnings ?? []).map((w) => w.object));
  const byObject = new Map<string, DiffWarning>();
  for (const w of head.warnings ?? []) {
    if (!w.object || !keep(w.owner)) continue;
    const entry = byObject.get(w.object) ?? {
      cluster,
      object: w.object,
      owners: [],
      origins: [],
      status: onBase.has(w.object) ? 'pre-existing' : 'new',
    };
    entry.owners.push(w.owner);
    entry.origins.push(w.origin);
    byObject.set(w.object, entry);
  }
  return [...byObject.values()];
}

/**
 * Errors of both sides, each listed once: an error on the same owner with the same message on
 * both sides is pre-existing (the change did not make it).
 */
function classifyErrors(cluster: string, base: RenderError[], head: RenderError[]): DiffError[] {
  const id = (e: RenderError) => `${ownerKey(e.owner)}\u0000${e.message}`;
  const onBase = new Set(base.map(id));
  const onHead = new Set(head.map(id));
  return [
    ...head.map((e) => ({
      ...e,
      cluster,
      side: 'head' as const,
      status: onBase.has(id(e)) ? ('pre-existing' as const) : ('new' as const),
    })),
    ...base
      .filter((e) => !onHead.has(id(e)))
      .map((e) => ({ ...e, cluster, side: 'base' as const, status: 'fixed' as const })),
  ];
}

/** Which owner applies each Kustomization/HelmRelease, from the objects of both sides. */
function ownerParents(sides: RenderResult[]): Map<string, string> {
  const parents = new Map<string, string>();
  for (const side of sides) {
    for (const o of side.objects) {
      if (
        !isFluxKustomization(o.object) &&
        !isHelmRelease(o.object) &&
        !isResourceSet(o.object) &&
        !isFluxInstance(o.object)
      )
        continue;
      const child = ownerKey(ownerOf(o.object, o.owner.namespace));
      if (child !== ownerKey(o.owner) && !parents.has(child)) parents.set(child, ownerKey(o.owner));
    }
  }
  return parents;
}

/** Containers of any pod template in an object (Pods, workloads, CronJobs). */
function containers(o: KubeObject | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!o) return out;
  const specs = [
    field(o, 'spec'),
    field(o, 'spec', 'template', 'spec'),
    field(o, 'spec', 'jobTemplate', 'spec', 'template', 'spec'),
  ];
  for (const spec of specs) {
    for (const list of ['initContainers', 'containers'] as const) {
      for (const c of field<{ name: string; image?: string }[]>(spec, list) ?? []) {
        if (c?.name && c.image) out.set(c.name, c.image);
      }
    }
  }
  return out;
}

function imageChanges(
  cluster: string,
  owner: OwnerRef,
  before?: KubeObject,
  after?: KubeObject,
): ImageChange[] {
  const b = containers(before);
  const a = containers(after);
  const o = (after ?? before)!;
  const object = `${o.kind}/${o.metadata.name}`;
  const namespace = o.metadata.namespace ?? '';
  const out: ImageChange[] = [];
  for (const name of new Set([...b.keys(), ...a.keys()])) {
    if (b.get(name) !== a.get(name))
      out.push({
        cluster,
        owner,
        namespace,
        object,
        container: name,
        before: b.get(name),
        after: a.get(name),
      });
  }
  return out;
}
