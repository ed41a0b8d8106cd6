import { posix } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { field, isFluxKustomization, isHelmRelease, objectKey } from '../flux/objects.js';
import { treeReach, type SourceTree } from '../render/sources.js';
import { ownerKey, type KubeObject, type OwnerRef, type RenderResult } from '../render/types.js';

/** A Flux object found by reading the repository's files (no build). */
interface StaticOwner {
  key: string;
  /** Repo-relative file that defines it. */
  file: string;
  object: KubeObject;
}

/** A side of the change: the repository at a commit. */
export type PlanTree = Pick<SourceTree, 'files' | 'isDirectory' | 'read'> & {
  oid(rel: string): string | undefined;
  load(oids: string[]): void;
};

/** Parsed Flux objects by blob id: a file unchanged between the sides is parsed once. */
type ParseCache = Map<string, KubeObject[]>;

function scanOwners(tree: PlanTree, cache: ParseCache): StaticOwner[] {
  // Helm chart templates are not Flux objects (and not YAML until rendered); dot-directories are skipped.
  const charts = tree.files
    .filter((f) => f === 'Chart.yaml' || f.endsWith('/Chart.yaml'))
    .map((f) => f.slice(0, -'Chart.yaml'.length));
  const candidates = tree.files.filter(
    (f) =>
      /\.ya?ml$/.test(f) &&
      !f.split('/').some((part) => part.startsWith('.')) &&
      !charts.some((c) => f.startsWith(c)),
  );
  tree.load(candidates.map((f) => tree.oid(f)!));
  const owners: StaticOwner[] = [];
  for (const file of candidates) {
    const oid = tree.oid(file)!;
    let objects = cache.get(oid);
    if (!objects) {
      objects = [];
      const text = tree.read(file)!;
      // Only files naming a Flux API group can define a Flux owner: the rest need no parse.
      if (text.includes('kustomize.toolkit.fluxcd.io') || text.includes('helm.toolkit.fluxcd.io')) {
        try {
          for (const doc of parseAllDocuments(text)) {
            const o = doc.toJSON() as KubeObject | null;
            if (!o || typeof o !== 'object' || !o.metadata?.name) continue;
            if (isFluxKustomization(o) || isHelmRelease(o)) objects.push(o);
          }
        } catch {
          objects = [];
        }
      }
      cache.set(oid, objects);
    }
    for (const o of objects) owners.push({ key: `${o.kind}/${o.metadata.name}`, file, object: o });
  }
  return owners;
}

const inside = (file: string, reach: string[]) =>
  reach.some((r) => file === r || file.startsWith(r === '' ? '' : r + '/'));

/**
 * Changed-only mode. Static rule, per side: a Kustomization builds when a changed file is in
 * what its build can read, when it is defined in a changed file, or when it (transitively)
 * defines an owner that must build; a HelmRelease when its file or its in-repo chart changed.
 * Then `dynamic` adds owners whose Flux object or referenced inputs differ between the two
 * renders. Both sides build the same set, so the diff equals a full render's.
 */
export class ChangePlanner {
  private readonly forced = new Set<string>();
  private readonly staticBuild = new Set<string>();
  /** Flux objects offered to shouldBuild, per side, by owner key (built or not). */
  readonly seen = { base: new Map<string, KubeObject>(), head: new Map<string, KubeObject>() };

  constructor(
    sides: { base: PlanTree; head: PlanTree },
    private readonly changed: string[],
  ) {
    const cache: ParseCache = new Map();
    for (const tree of [sides.base, sides.head]) this.plan(tree, cache);
  }

  /** Names decided statically (by kind/name: namespaces may come from a targetNamespace). */
  private plan(tree: PlanTree, cache: ParseCache): void {
    const owners = scanOwners(tree, cache);
    const rel = (p: string) =>
      posix
        .normalize(p.replace(/^\/+/, ''))
        .replace(/^\.\/?$/, '')
        .replace(/\/$/, '');
    const must = new Map<string, boolean>();
    const reachOf = (o: StaticOwner) => {
      if (!isFluxKustomization(o.object)) return [];
      const kind = field<string>(o.object, 'spec', 'sourceRef', 'kind');
      if (kind && kind !== 'GitRepository') return undefined; // not mappable to repo files: always build
      return treeReach(tree, [rel(field<string>(o.object, 'spec', 'path') ?? '.')]);
    };
    const direct = (o: StaticOwner): boolean => {
      if (this.changed.includes(o.file)) return true;
      if (isHelmRelease(o.object)) {
        const chart = field<string>(o.object, 'spec', 'chart', 'spec', 'chart');
        const sourceKind = field<string>(o.object, 'spec', 'chart', 'spec', 'sourceRef', 'kind');
        if (sourceKind === 'GitRepository' && chart) {
          const dir = rel(chart);
          // valuesFiles of a Git chart are paths in the repository, wherever they sit.
          const valuesFiles = (field<string[]>(o.object, 'spec', 'chart', 'spec', 'valuesFiles') ?? []).map(
            (f) => rel(f),
          );
          return this.changed.some((f) => inside(f, [dir]) || valuesFiles.includes(f));
        }
        return false;
      }
      const reach = reachOf(o);
      return reach === undefined || this.changed.some((f) => inside(f, reach));
    };
    const decide = (o: StaticOwner, stack: Set<string>): boolean => {
      if (must.has(o.key)) return must.get(o.key)!;
      if (stack.has(o.key)) return false;
      stack.add(o.key);
      let result = direct(o);
      const reach = reachOf(o);
      if (!result && reach) {
        result = owners.some(
          (child) => child.key !== o.key && inside(child.file, reach) && decide(child, stack),
        );
      }
      must.set(o.key, result);
      return result;
    };
    for (const o of owners) if (decide(o, new Set())) this.staticBuild.add(o.key);
  }

  shouldBuild(side: 'base' | 'head', owner: OwnerRef, flux: KubeObject): boolean {
    this.seen[side].set(ownerKey(owner), flux);
    if (owner.kind === 'Kustomization' && owner.name === 'flux-system' && owner.namespace === 'flux-system')
      return true;
    return this.forced.has(ownerKey(owner)) || this.staticBuild.has(`${owner.kind}/${owner.name}`);
  }

  /**
   * After a pair of renders: owners whose Flux object, substituteFrom/valuesFrom objects or
   * chart source differ between the sides, and were not built. True when a new pass is needed.
   */
  dynamic(base: RenderResult, head: RenderResult): boolean {
    const built = new Set([...base.rendered, ...head.rendered].map(ownerKey));
    const objects = (r: RenderResult) =>
      new Map(
        r.objects.map((o) => [
          objectKey(o.object.kind, o.object.metadata.namespace, o.object.metadata.name),
          JSON.stringify(o.object),
        ]),
      );
    const b = objects(base);
    const h = objects(head);
    const differs = (kind: string, ns: string, name: string) =>
      b.get(objectKey(kind, ns, name)) !== h.get(objectKey(kind, ns, name));
    let added = false;
    for (const key of new Set([...this.seen.base.keys(), ...this.seen.head.keys()])) {
      if (built.has(key) && this.bothBuilt(key, base, head)) continue;
      const fb = this.seen.base.get(key);
      const fh = this.seen.head.get(key);
      const flux = (fh ?? fb)!;
      const ns = flux.metadata.namespace || 'default';
      const refs = [
        ...(field<{ kind: string; name: string }[]>(flux, 'spec', 'postBuild', 'substituteFrom') ?? []),
        ...(field<{ kind: string; name: string }[]>(flux, 'spec', 'valuesFrom') ?? []),
      ].map((r) => [r.kind, ns, r.name] as const);
      const source =
        field<{ kind: string; name: string; namespace?: string }>(
          flux,
          'spec',
          'chart',
          'spec',
          'sourceRef',
        ) ?? field(flux, 'spec', 'chartRef');
      if (source) refs.push([source.kind, source.namespace || ns, source.name] as const);
      if (JSON.stringify(fb) !== JSON.stringify(fh) || refs.some(([k, n, m]) => differs(k, n, m))) {
        if (!this.forced.has(key)) {
          this.forced.add(key);
          added = true;
        }
      }
    }
    return added;
  }

  private bothBuilt(key: string, base: RenderResult, head: RenderResult): boolean {
    const inBase = !this.seen.base.has(key) || base.rendered.some((o) => ownerKey(o) === key);
    const inHead = !this.seen.head.has(key) || head.rendered.some((o) => ownerKey(o) === key);
    return inBase && inHead;
  }
}
