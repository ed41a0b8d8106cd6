import { createTwoFilesPatch } from 'diff';
import { stringify } from 'yaml';
import { field, groupOf } from '../flux/objects.js';
import { oneLine } from '../util/text.js';
import {
  ownerKey,
  type KubeObject,
  type OwnerRef,
  type RenderError,
  type RenderResult,
} from '../render/types.js';

export type ChangeAction = 'added' | 'removed' | 'modified';

export interface ObjectChange {
  /** Cluster entry directory the change belongs to (several `--path`s in one review). */
  cluster: string;
  owner: OwnerRef;
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  action: ChangeAction;
  /** Unified diff of the normalized YAML, a few lines of context. */
  diff: string;
}

export interface ImageChange {
  cluster: string;
  owner: OwnerRef;
  object: string;
  container: string;
  before?: string;
  after?: string;
}

export interface ClusterDiff {
  changes: ObjectChange[];
  images: ImageChange[];
  errors: (RenderError & { cluster: string; side: 'base' | 'head' })[];
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
  const changes: ObjectChange[] = [];
  const images: ImageChange[] = [];
  for (const id of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const b = before.get(id);
    const a = after.get(id);
    const nb = b && normalize(b.object, stripAttrs);
    const na = a && normalize(a.object, stripAttrs);
    const action: ChangeAction | undefined = !b
      ? 'added'
      : !a
        ? 'removed'
        : toYaml(nb) !== toYaml(na)
          ? 'modified'
          : undefined;
    if (!action) continue;
    const o = (a ?? b)!;
    changes.push({
      cluster,
      owner: o.owner,
      apiVersion: o.object.apiVersion,
      kind: o.object.kind,
      namespace: o.object.metadata.namespace ?? '',
      name: o.object.metadata.name,
      action,
      diff: unifiedDiff(
        `${o.object.kind}/${o.object.metadata.namespace ? o.object.metadata.namespace + '/' : ''}${o.object.metadata.name}`,
        nb,
        na,
      ),
    });
    images.push(...imageChanges(cluster, o.owner, b?.object, a?.object));
  }
  const errors = [
    ...base.errors.filter((e) => keep(e.owner)).map((e) => ({ ...e, cluster, side: 'base' as const })),
    ...head.errors.filter((e) => keep(e.owner)).map((e) => ({ ...e, cluster, side: 'head' as const })),
  ];
  return { changes, images, errors };
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
  const object = `${(after ?? before)!.kind}/${(after ?? before)!.metadata.name}`;
  const out: ImageChange[] = [];
  for (const name of new Set([...b.keys(), ...a.keys()])) {
    if (b.get(name) !== a.get(name))
      out.push({ cluster, owner, object, container: name, before: b.get(name), after: a.get(name) });
  }
  return out;
}
