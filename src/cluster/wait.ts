/**
 * `push --wait` and `wait`: until the cluster has taken an artifact. As `flux reconcile source oci
 * --with-source` and the Kustomizations after it (flux2 cmd/flux/reconcile.go, reconcile_with_source.go):
 * the OCIRepositories whose URL and ref point at the digest get the `reconcile.fluxcd.io/requestedAt`
 * annotation (RFC 3339, merge patch), then the wait is for their artifact revision to be the
 * digest (and SourceVerified True when they verify), then for every Kustomization built from
 * them to report that revision applied and Ready. That annotation is all that is ever written.
 */
import { FluxgateError } from '../errors.js';
import { TransferError } from '../util/http.js';
import type { Logger } from '../log.js';
import { KUSTOMIZE_GROUP, SOURCE_GROUP, type KubeObject } from '../flux/objects.js';
import { parseOciReference } from '../oci/reference.js';
import { describe, type ClusterClient } from './client.js';

export const RECONCILE_REQUEST_ANNOTATION = 'reconcile.fluxcd.io/requestedAt';
/** The field manager of the annotation patch (an Update in managedFields, as the flux CLI's). */
export const FIELD_MANAGER = 'fluxgate';

export interface WaitTarget {
  registry: string;
  repository: string;
  digest: string;
}

/** An object that took the artifact: which, at what revision, when we saw it. */
export interface PickedUp {
  kind: 'OCIRepository' | 'Kustomization';
  namespace: string;
  name: string;
  revision: string;
  at: string;
}

export interface WaitResult {
  sources: PickedUp[];
  kustomizations: PickedUp[];
}

/** What a source `spec.ref` resolves to in the registry now (the command supplies the registry). */
export type RefResolver = (ref: Record<string, string> | undefined) => Promise<string | undefined>;

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
}

const conditions = (o: KubeObject) =>
  ((o.status as { conditions?: Condition[] } | undefined)?.conditions ?? []) as Condition[];
const condition = (o: KubeObject, type: string) => conditions(o).find((c) => c.type === type);
const status = <T>(o: KubeObject, field: string) =>
  (o.status as Record<string, unknown> | undefined)?.[field] as T | undefined;
const id = (o: KubeObject) => describe(o.kind, o.metadata.namespace, o.metadata.name);

/** `oci://host/repo` of a source, normalized for comparison (host case, trailing slash). */
function sourceUrl(url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined;
  try {
    const ref = parseOciReference(url.replace(/\/+$/, ''));
    return `${ref.registry.toLowerCase()}/${ref.repository}`;
  } catch {
    return undefined;
  }
}

/** An OCIRepository's artifact revision is the digest: `<tag>@<digest>` or `<digest>` (FORMATS.md §2.2). */
export const revisionIs = (revision: unknown, digest: string) =>
  typeof revision === 'string' && (revision === digest || revision.endsWith(`@${digest}`));

export class WaitFailed extends FluxgateError {
  constructor(message: string) {
    super('CLUSTER', message);
  }
}

export async function waitForArtifact(
  client: ClusterClient,
  target: WaitTarget,
  resolveRef: RefResolver,
  log: Logger,
): Promise<WaitResult> {
  const want = `${target.registry.toLowerCase()}/${target.repository}`;
  const artifact = `oci://${target.registry}/${target.repository}@${target.digest}`;
  const apiVersion = await sourceApiVersion(client);
  const { items } = await client.list(apiVersion, 'OCIRepository');
  const matching: KubeObject[] = [];
  for (const repo of items.filter((o) => sourceUrl((o.spec as Record<string, unknown>)?.url) === want)) {
    const spec = repo.spec as { ref?: Record<string, string>; suspend?: boolean };
    const resolved = await resolveRef(spec.ref).catch((err: unknown) => {
      log.warn(`${id(repo)}: its ref does not resolve (${(err as Error).message.split('\n')[0]})`);
      return undefined;
    });
    if (resolved !== target.digest) {
      log.info(
        `${id(repo)} follows ${target.registry}/${target.repository} at another version (${refText(spec.ref)})`,
      );
      continue;
    }
    if (spec.suspend) throw new WaitFailed(`${id(repo)} points at ${artifact} but is suspended`);
    matching.push(repo);
  }
  if (!matching.length)
    throw new WaitFailed(
      `no OCIRepository in cluster ${client.server} points at ${artifact} (by its url and ref)`,
    );

  // Request reconciliation, as `flux reconcile source oci` does.
  const requestedAt = new Date().toISOString();
  for (const repo of matching) {
    await client.mergePatch(
      repo,
      { metadata: { annotations: { [RECONCILE_REQUEST_ANNOTATION]: requestedAt } } },
      FIELD_MANAGER,
    );
    log.info(`► annotating ${id(repo)} (${RECONCILE_REQUEST_ANNOTATION}=${requestedAt})`);
  }

  const sources = new Map<string, PickedUp>();
  const wanted = new Set(matching.map((o) => `${o.metadata.namespace}/${o.metadata.name}`));
  const progress = progressLog(log);
  const waiting =
    (what: string) =>
    (err: unknown): never => {
      // At --timeout: one line naming what was still awaited and the last it reported.
      if (err instanceof TransferError && err.kind === 'deadline')
        throw new WaitFailed(`${err.message} waiting for ${progress.pending(what)}`);
      throw err;
    };
  await client
    .follow(apiVersion, 'OCIRepository', {}, (objects) => {
      for (const key of wanted) {
        const repo = objects.get(key);
        if (!repo) throw new WaitFailed(`OCIRepository ${key} was deleted while waiting for ${artifact}`);
        if (sources.has(key)) continue;
        const revision = (status<{ revision?: string }>(repo, 'artifact') ?? {}).revision;
        const verified = condition(repo, 'SourceVerified');
        const verifies = Boolean((repo.spec as Record<string, unknown>)?.verify);
        const handled = status<string>(repo, 'lastHandledReconcileAt') === requestedAt;
        if (verified?.status === 'False' && (handled || revisionIs(revision, target.digest)))
          throw new WaitFailed(`${id(repo)}: verification failed: ${oneLine(verified.message)}`);
        if (revisionIs(revision, target.digest) && (!verifies || verified?.status === 'True')) {
          sources.set(key, pickedUp(repo, revision!));
          log.info(`✔ ${id(repo)} has ${revision}${verifies ? ' (verified)' : ''}`);
          continue;
        }
        const ready = condition(repo, 'Ready');
        if (handled && ready?.status === 'False' && !revisionIs(revision, target.digest))
          throw new WaitFailed(
            `${id(repo)}: ${ready.reason ? `${ready.reason}: ` : ''}${oneLine(ready.message)}`,
          );
        progress(repo, ready ?? condition(repo, 'Reconciling'));
      }
      return sources.size === wanted.size ? true : undefined;
    })
    .catch(waiting(`OCIRepository ${[...wanted].join(', ')} to fetch ${target.digest}`));

  // Every Kustomization built from those sources, until it applied the revision and is Ready.
  const kustomizations = new Map<string, PickedUp>();
  const revisions = new Map([...sources].map(([key, s]) => [key, s.revision]));
  await client
    .follow(`${KUSTOMIZE_GROUP}/v1`, 'Kustomization', {}, (objects) => {
      let pending = 0;
      for (const [key, ks] of objects) {
        const ref = (ks.spec as { sourceRef?: { kind?: string; name?: string; namespace?: string } })
          ?.sourceRef;
        if (ref?.kind !== 'OCIRepository') continue;
        const source = `${ref.namespace || ks.metadata.namespace}/${ref.name}`;
        const revision = revisions.get(source);
        if (!revision || kustomizations.has(key)) continue;
        if ((ks.spec as { suspend?: boolean }).suspend)
          throw new WaitFailed(`${id(ks)} is suspended: it will not apply ${revision}`);
        const ready = condition(ks, 'Ready');
        const generationSeen =
          status<number>(ks, 'observedGeneration') === undefined ||
          status<number>(ks, 'observedGeneration') === ks.metadata.generation;
        if (status(ks, 'lastAppliedRevision') === revision && ready?.status === 'True' && generationSeen) {
          kustomizations.set(key, pickedUp(ks, revision));
          log.info(`✔ ${id(ks)} applied ${revision}`);
          continue;
        }
        if (status(ks, 'lastAttemptedRevision') === revision && ready?.status === 'False')
          throw new WaitFailed(
            `${id(ks)}: ${ready.reason ? `${ready.reason}: ` : ''}${oneLine(ready.message)}`,
          );
        pending++;
        progress(ks, ready ?? condition(ks, 'Reconciling'));
      }
      return pending === 0 ? true : undefined;
    })
    .catch(waiting(`the Kustomizations of ${[...sources.keys()].join(', ')} to apply it`));
  if (!kustomizations.size) log.warn(`no Kustomization is built from ${[...sources.keys()].join(', ')}`);
  return { sources: [...sources.values()], kustomizations: [...kustomizations.values()] };
}

/** source.toolkit.fluxcd.io/v1 (Flux 2.3+), else v1beta2 on older clusters. */
async function sourceApiVersion(client: ClusterClient): Promise<string> {
  for (const version of ['v1', 'v1beta2']) {
    if (await client.resource(`${SOURCE_GROUP}/${version}`, 'OCIRepository'))
      return `${SOURCE_GROUP}/${version}`;
  }
  throw new WaitFailed(
    `cluster ${client.server} does not serve OCIRepository (${SOURCE_GROUP}): is Flux installed?`,
  );
}

function pickedUp(o: KubeObject, revision: string): PickedUp {
  return {
    kind: o.kind as PickedUp['kind'],
    namespace: o.metadata.namespace ?? '',
    name: o.metadata.name,
    revision,
    at: new Date().toISOString(),
  };
}

/** One progress line per object each time what it reports changes. */
function progressLog(log: Logger) {
  const last = new Map<string, string>();
  const report = (o: KubeObject, c: Condition | undefined) => {
    const line = c
      ? `${c.type} ${c.status}${c.reason ? ` (${c.reason})` : ''}${c.message ? `: ${oneLine(c.message)}` : ''}`
      : 'no status yet';
    if (last.get(id(o)) === line) return;
    last.set(id(o), line);
    log.info(`◎ waiting for ${id(o)}: ${line}`);
  };
  /** What is awaited, with the last state reported (`X (last: Ready False (Progressing): …)`). */
  report.pending = (what: string) => {
    const lines = [...last].map(([who, line]) => `${who}: ${line}`);
    return lines.length ? `${what} (last: ${lines.at(-1)})` : what;
  };
  return report;
}

function refText(ref: Record<string, string> | undefined): string {
  if (!ref) return 'tag latest';
  return Object.entries(ref)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

const oneLine = (s: string | undefined) => (s ?? 'no message').split('\n')[0]!.trim();
