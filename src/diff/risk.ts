import {
  field,
  groupOf,
  HELM_GROUP,
  KUSTOMIZE_GROUP,
  SOURCE_EXTENSIONS_GROUP,
  SOURCE_GROUP,
} from '../flux/objects.js';
import type { KubeObject } from '../render/types.js';

/**
 * Changes that deserve a second look, whatever else the PR does: what a reviewer skimming a
 * long diff must not miss. Each is one short sentence about one object.
 */
/** What a change does to an object (diff/objects.ts re-exports it). */
export type ChangeAction = 'added' | 'removed' | 'modified';

export function risksOf(action: ChangeAction, before?: KubeObject, after?: KubeObject): string[] {
  const out: string[] = [];
  const o = (after ?? before)!;
  const group = groupOf(o.apiVersion);
  if (action === 'removed') {
    if (['Namespace', 'PersistentVolumeClaim', 'CustomResourceDefinition'].includes(o.kind))
      out.push(`deletes a ${o.kind}`);
    else if (group === SOURCE_GROUP || group === SOURCE_EXTENSIONS_GROUP) out.push(`deletes a Flux source`);
    else if (group === KUSTOMIZE_GROUP && o.kind === 'Kustomization')
      out.push('deletes a Flux Kustomization');
    else if (group === HELM_GROUP && o.kind === 'HelmRelease') out.push('deletes a HelmRelease');
    return out;
  }
  out.push(...podRisks(before, after!));
  out.push(...rbacRisks(before, after!));
  if ([KUSTOMIZE_GROUP, HELM_GROUP, SOURCE_GROUP, SOURCE_EXTENSIONS_GROUP].includes(group)) {
    const suspendBefore = field(before, 'spec', 'suspend') === true;
    const suspendAfter = field(after, 'spec', 'suspend') === true;
    if (before && suspendBefore !== suspendAfter)
      out.push(suspendAfter ? 'suspends reconciliation' : 'resumes reconciliation');
    if (!before && suspendAfter) out.push('is added suspended');
  }
  if (group === KUSTOMIZE_GROUP && o.kind === 'Kustomization' && before) {
    const prune = (x?: KubeObject) => field(x, 'spec', 'prune') === true;
    if (prune(before) !== prune(after)) out.push(prune(after) ? 'turns pruning on' : 'turns pruning off');
  }
  const replicas = field(after, 'spec', 'replicas');
  if (replicas === 0 && field(before, 'spec', 'replicas') !== 0) out.push('scales to 0 replicas');
  return out;
}

interface Container {
  name: string;
  image?: string;
  securityContext?: { privileged?: boolean; capabilities?: { add?: string[] } };
}

function podSpecs(o: KubeObject | undefined): Record<string, unknown>[] {
  if (!o) return [];
  return [
    o.kind === 'Pod' ? field(o, 'spec') : undefined,
    field(o, 'spec', 'template', 'spec'),
    field(o, 'spec', 'jobTemplate', 'spec', 'template', 'spec'),
  ].filter((s): s is Record<string, unknown> => Boolean(s && typeof s === 'object'));
}

function containersOf(o: KubeObject | undefined): Map<string, Container> {
  const out = new Map<string, Container>();
  for (const spec of podSpecs(o))
    for (const list of ['initContainers', 'containers', 'ephemeralContainers'])
      for (const c of field<Container[]>(spec, list) ?? []) if (c?.name) out.set(c.name, c);
  return out;
}

function podRisks(before: KubeObject | undefined, after: KubeObject): string[] {
  const out: string[] = [];
  const was = (f: (s: Record<string, unknown>) => boolean) => podSpecs(before).some(f);
  const is = (f: (s: Record<string, unknown>) => boolean) => podSpecs(after).some(f);
  for (const key of ['hostNetwork', 'hostPID', 'hostIPC']) {
    const on = (s: Record<string, unknown>) => s[key] === true;
    if (is(on) && !was(on)) out.push(`gains ${key}`);
  }
  const hostPaths = (o?: KubeObject) =>
    new Set(
      podSpecs(o).flatMap((s) =>
        (field<{ hostPath?: { path?: string } }[]>(s, 'volumes') ?? []).flatMap((v) =>
          v?.hostPath ? [String(v.hostPath.path ?? '')] : [],
        ),
      ),
    );
  const oldPaths = hostPaths(before);
  for (const p of hostPaths(after)) if (!oldPaths.has(p)) out.push(`mounts hostPath ${p}`);
  const old = containersOf(before);
  for (const [name, c] of containersOf(after)) {
    const prev = old.get(name);
    if (c.securityContext?.privileged === true && prev?.securityContext?.privileged !== true)
      out.push(`container ${name} becomes privileged`);
    const had = new Set(prev?.securityContext?.capabilities?.add ?? []);
    const added = (c.securityContext?.capabilities?.add ?? []).filter((cap) => !had.has(cap));
    if (added.length) out.push(`container ${name} adds capabilities ${added.join(', ')}`);
    if (
      c.image &&
      c.image !== prev?.image &&
      mutableImage(c.image) &&
      !(prev?.image && mutableImage(prev.image))
    )
      out.push(`container ${name} moves to the mutable image ${c.image}`);
  }
  return out;
}

/** No digest, and a tag that moves by design (none, latest, or a bare major like `main`). */
function mutableImage(image: string): boolean {
  if (image.includes('@sha256:')) return false;
  const name = image.slice(image.lastIndexOf('/') + 1);
  const tag = name.includes(':') ? name.slice(name.indexOf(':') + 1) : '';
  return tag === '' || /^(latest|main|master|dev|develop|edge|nightly|stable)$/.test(tag);
}

function rbacRisks(before: KubeObject | undefined, after: KubeObject): string[] {
  const out: string[] = [];
  if (groupOf(after.apiVersion) !== 'rbac.authorization.k8s.io') return out;
  if (after.kind === 'ClusterRoleBinding' || after.kind === 'RoleBinding') {
    const role = field<string>(after, 'roleRef', 'name');
    if (role === 'cluster-admin' && field(before, 'roleRef', 'name') !== role)
      out.push('binds cluster-admin');
  }
  if (after.kind === 'ClusterRole' || after.kind === 'Role') {
    const wild = (o?: KubeObject) =>
      (field<Record<string, string[]>[]>(o, 'rules') ?? []).some((r) =>
        ['verbs', 'resources', 'apiGroups'].some((k) => (r?.[k] ?? []).includes('*')),
      );
    if (wild(after) && !wild(before)) out.push('grants wildcard (*) permissions');
  }
  return out;
}
