/**
 * `diff --cluster`: the head render compared with what runs, as `flux diff kustomization` does
 * (flux2 internal/build/diff.go, fluxcd/pkg ssa ResourceManager.Diff): each object Flux would
 * apply goes through a server-side apply dry run with kustomize-controller's field manager and
 * forced ownership, and the server's answer is compared with the live object. Objects that carry
 * a Kustomization's owner labels in the cluster but are no longer rendered are what Flux would
 * prune (when the Kustomization prunes). Nothing is written: every apply is `dryRun=All`.
 *
 * The two sides become RenderResults (live as base, the dry-run answers as head), so the review
 * is the one every diff writes: a section per owner, the change list, risk lines.
 */
import { noBuilds } from '../render/cache.js';
import type { DiffOptions } from './options.js';
import { ClusterClient } from '../cluster/client.js';
import { loadSopsKeys, renderCluster, type RenderIO } from '../render/engine.js';
import { createSecretMasker, isSecret, maskSecret, secretValues } from '../render/secrets.js';
import { readCheckout } from '../flux/checkout.js';
import { groupOf, type KubeObject, type OwnerRef } from '../flux/objects.js';
import type { RenderedObject, RenderError, RenderResult, SecretMasker } from '../render/types.js';
import { ownerKey } from '../render/types.js';
import { appendDiff, diffRenders, emptyDiff, objectId, type ClusterDiff } from './objects.js';
import { finalMarkdown, reviewMarkdown, unifiedText, type ReviewOptions } from './markdown.js';
import type { DiffRun } from './run.js';
import { VERSION } from '../version.js';
import { ClusterError } from '../cluster/client.js';
import { resolve } from 'node:path';

/** kustomize-controller's field manager (kustomize-controller main.go `controllerName`), as flux diff uses it. */
export const KUSTOMIZE_FIELD_MANAGER = 'kustomize-controller';
const OWNER_NAME = 'kustomize.toolkit.fluxcd.io/name';
const OWNER_NAMESPACE = 'kustomize.toolkit.fluxcd.io/namespace';
const RECONCILE = 'kustomize.toolkit.fluxcd.io/reconcile';
const SSA = 'kustomize.toolkit.fluxcd.io/ssa';

/** What the server sets and Flux never applies: left out of both sides (fluxcd/pkg ssa normalize). */
function normalizeLive(o: KubeObject): KubeObject {
  const copy = structuredClone(o);
  delete copy.status;
  const m = copy.metadata as Record<string, unknown>;
  for (const f of ['managedFields', 'resourceVersion', 'uid', 'creationTimestamp', 'generation', 'selfLink'])
    delete m[f];
  const annotations = m.annotations as Record<string, string> | undefined;
  if (annotations) {
    delete annotations['kubectl.kubernetes.io/last-applied-configuration'];
    delete annotations['deployment.kubernetes.io/revision'];
    if (!Object.keys(annotations).length) delete m.annotations;
  }
  return copy;
}

/** A label or annotation value, case-insensitively (fluxcd/pkg ssa utils AnyInMetadata). */
function marked(o: KubeObject, key: string, value: string): boolean {
  const v = o.metadata.labels?.[key] ?? o.metadata.annotations?.[key];
  return typeof v === 'string' && v.toLowerCase() === value;
}

/**
 * The Secret the head would leave in the cluster, without sending a value anywhere: the live
 * object (masked) with the rendered data and metadata over it. A SOPS-sealed Secret (no key
 * given) is compared by its keys only, as flux diff does (`diffSopsSecret`).
 */
function mergedSecret(live: KubeObject | undefined, rendered: KubeObject): KubeObject {
  const base = live ?? { apiVersion: 'v1', kind: 'Secret', metadata: { ...rendered.metadata } };
  const out: KubeObject = { ...base, metadata: { ...base.metadata } };
  for (const field of ['labels', 'annotations'] as const) {
    const merged = { ...(base.metadata[field] ?? {}), ...(rendered.metadata[field] ?? {}) };
    if (Object.keys(merged).length) out.metadata[field] = merged;
  }
  const sealed = typeof rendered.sops === 'string';
  const data: Record<string, string> = {};
  for (const field of ['data', 'stringData'] as const) {
    for (const [k, v] of Object.entries((rendered[field] as Record<string, string>) ?? {})) {
      const liveValue = (live?.data as Record<string, string> | undefined)?.[k];
      data[k] = sealed && liveValue !== undefined ? liveValue : String(v);
    }
  }
  out.data = data;
  delete out.stringData;
  if (rendered.type !== undefined) out.type = rendered.type;
  else if (out.type === undefined) out.type = 'Opaque';
  return out;
}

export async function runClusterDiff(options: DiffOptions, io: RenderIO): Promise<DiffRun> {
  const client = await ClusterClient.connect(options.cluster ?? {}, io.env, io.log, io.secrets);
  try {
    return await compareWithCluster(client, options, io);
  } finally {
    client.close();
  }
}

async function compareWithCluster(
  client: ClusterClient,
  options: DiffOptions,
  io: RenderIO,
): Promise<DiffRun> {
  await client.ping();
  const masker = createSecretMasker();
  const sopsKeys = await loadSopsKeys(options, io);
  const repo = resolve(io.cwd, options.head);
  const checkout = readCheckout(resolve(io.cwd, options.repo), io.env, [options.head]);
  const merged: ClusterDiff = emptyDiff();
  let rendered = 0;
  for (const path of options.paths) {
    const head = await io.log.group(`Render head ${path}`, () =>
      renderCluster({ ...options, repo, checkout, path, masker, sopsKeys }, io),
    );
    rendered += head.rendered.length;
    const sides = await io.log.group(`Compare ${path} with cluster ${client.server}`, () =>
      liveSides(client, head, masker, io),
    );
    const d = diffRenders(path, sides.live, sides.applied, options.stripAttrs);
    appendDiff(merged, d);
  }
  for (const e of merged.errors)
    io.log.error(`${e.side === 'base' ? 'cluster' : 'head'}: ${e.message}`, e.origin && { ...e.origin });
  const reviewOptions: ReviewOptions = {
    footer: `<sub>fluxgate ${VERSION} · live cluster \`${client.server}\` → head ${options.head === '.' ? 'working tree' : `\`${options.head}\``}</sub>`,
  };
  const review = reviewMarkdown(merged, reviewOptions);
  return {
    diff: merged,
    rendered,
    notRebuilt: 0,
    builds: noBuilds(),
    review: finalMarkdown(review.markdown),
    unified: unifiedText(merged),
    reviewOptions,
  };
}

/**
 * Both sides of one cluster path: `live`, the objects as they run (Secrets masked); `applied`,
 * the server's dry-run answer for each rendered object. Live objects labelled with a pruning
 * Kustomization that the render no longer has appear on the live side only (removed).
 */
async function liveSides(
  client: ClusterClient,
  head: RenderResult,
  masker: SecretMasker,
  io: RenderIO,
): Promise<{ live: RenderResult; applied: RenderResult }> {
  const live: RenderedObject[] = [];
  const applied: RenderedObject[] = [];
  const errors: RenderError[] = [...head.errors];
  const seenLive = (o: KubeObject) => {
    if (isSecret(o)) for (const v of secretValues(o).values()) io.secrets?.add(v);
    const n = normalizeLive(o);
    return isSecret(n) ? maskSecret(n, masker) : n;
  };
  const renderedIds = new Set(head.objects.map((r) => objectId(r.object)));
  for (const r of head.objects) {
    const o = r.object;
    if (marked(o, RECONCILE, 'disabled') || marked(o, SSA, 'ignore')) continue;
    try {
      const current = await client
        .get(o.apiVersion, o.kind, o.metadata.namespace, o.metadata.name)
        .catch((err: unknown) => {
          // A kind the cluster does not serve yet (its CRD comes with this change): all added.
          if (err instanceof ClusterError && err.status === 404) return undefined;
          throw err;
        });
      if (current && marked(o, SSA, 'ifnotpresent')) continue;
      const liveObject = current && seenLive(current);
      if (liveObject) live.push({ ...r, object: liveObject });
      if (isSecret(o)) {
        applied.push({ ...r, object: mergedSecret(liveObject, o) });
        continue;
      }
      const answer = await client.applyDryRun(o, KUSTOMIZE_FIELD_MANAGER).catch((err: unknown) => {
        // Its namespace comes with this change: the object is added as rendered.
        if (err instanceof ClusterError && err.status === 404 && !current) return undefined;
        throw err;
      });
      applied.push({ ...r, object: normalizeLive(answer ?? o) });
    } catch (err) {
      if (
        err instanceof ClusterError &&
        err.status !== undefined &&
        err.status !== 401 &&
        err.status !== 403
      ) {
        errors.push({ owner: r.owner, message: err.message, ...(r.origin ? { origin: r.origin } : {}) });
        continue;
      }
      throw err;
    }
  }
  // What each pruning Kustomization applied before and no longer renders: Flux deletes it.
  const kinds = new Map<string, Set<string>>();
  const kindsOf = (owner: OwnerRef) => {
    let set = kinds.get(ownerKey(owner));
    if (!set) kinds.set(ownerKey(owner), (set = new Set()));
    return set;
  };
  for (const r of head.objects)
    if (r.owner.kind === 'Kustomization')
      kindsOf(r.owner).add(`${r.object.apiVersion}\u0000${r.object.kind}`);
  for (const owner of head.rendered.filter((o) => o.kind === 'Kustomization')) {
    const ks = await client.get(
      'kustomize.toolkit.fluxcd.io/v1',
      'Kustomization',
      owner.namespace,
      owner.name,
    );
    const renderedKs = head.objects.find(
      (r) =>
        r.object.kind === 'Kustomization' &&
        groupOf(r.object.apiVersion) === 'kustomize.toolkit.fluxcd.io' &&
        r.object.metadata.name === owner.name &&
        (r.object.metadata.namespace ?? r.owner.namespace) === owner.namespace,
    )?.object;
    const prune = (renderedKs ?? ks)?.spec as { prune?: boolean } | undefined;
    if (!prune?.prune) continue;
    // The kinds it renders and the kinds its inventory lists (`<ns>_<name>_<group>_<kind>`, v).
    for (const entry of (ks?.status as { inventory?: { entries?: { id: string; v: string }[] } })?.inventory
      ?.entries ?? []) {
      const parts = entry.id.split('_');
      const group = parts[parts.length - 2]!;
      kindsOf(owner).add(`${group ? `${group}/${entry.v}` : entry.v}\u0000${parts[parts.length - 1]}`);
    }
    const selector = `${OWNER_NAME}=${owner.name},${OWNER_NAMESPACE}=${owner.namespace}`;
    for (const kind of kindsOf(owner)) {
      const [apiVersion, k] = kind.split('\u0000') as [string, string];
      if (!(await client.resource(apiVersion, k))) continue;
      const { items } = await client.list(apiVersion, k, { labelSelector: selector });
      for (const item of items) {
        if (renderedIds.has(objectId(item)) || marked(item, RECONCILE, 'disabled')) continue;
        live.push({ owner, object: seenLive(item) });
      }
    }
  }
  return {
    live: { objects: live, errors: [], rendered: head.rendered },
    applied: { objects: applied, errors, rendered: head.rendered },
  };
}
