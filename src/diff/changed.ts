import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { field, isFluxKustomization, isHelmRelease, objectKey } from '../flux/objects.js';
import { KUSTOMIZATION_FILES } from '../render/kustomize.js';
import { ownerKey, type KubeObject, type OwnerRef, type RenderResult } from '../render/types.js';

/** A Flux object found by reading the repository's files (no build). */
interface StaticOwner {
  key: string;
  /** Repo-relative file that defines it. */
  file: string;
  object: KubeObject;
}

const toPosix = (p: string) => p.split(sep).join('/');

/**
 * What a build of `dir` can read, statically: the directory itself and every path its
 * kustomization files reference (resources, components, patches, generators), transitively.
 */
export function buildReach(repo: string, dir: string): string[] {
  const reach = new Set<string>();
  const visit = (path: string) => {
    const rel = toPosix(relative(repo, path));
    if (rel.startsWith('..') || reach.has(rel)) return;
    reach.add(rel);
    if (!existsSync(path) || !statSync(path).isDirectory()) return;
    const file = KUSTOMIZATION_FILES.map((f) => join(path, f)).find((f) => existsSync(f));
    if (!file) return;
    let k: Record<string, unknown>;
    try {
      k = (parseYaml(readFileSync(file, 'utf8')) as Record<string, unknown>) ?? {};
    } catch {
      return;
    }
    const refs: string[] = [];
    for (const key of [
      'resources',
      'components',
      'bases',
      'crds',
      'patchesStrategicMerge',
      'configurations',
      'transformers',
      'generators',
    ]) {
      for (const r of (k[key] as unknown[]) ?? []) if (typeof r === 'string') refs.push(r);
    }
    for (const p of [
      ...((k.patches as { path?: string }[]) ?? []),
      ...((k.patchesJson6902 as { path?: string }[]) ?? []),
    ]) {
      if (p?.path) refs.push(p.path);
    }
    for (const g of [
      ...((k.configMapGenerator as Record<string, string[]>[]) ?? []),
      ...((k.secretGenerator as Record<string, string[]>[]) ?? []),
    ]) {
      for (const f of [
        ...(g.files ?? []),
        ...(g.envs ?? []),
        ...(g.env ? [g.env as unknown as string] : []),
      ]) {
        refs.push(String(f).replace(/^[^=]*=/, ''));
      }
    }
    for (const r of refs) if (!/^[a-z]+:\/\//i.test(r)) visit(resolve(path, r));
  };
  visit(dir);
  return [...reach];
}

function scanOwners(repo: string): StaticOwner[] {
  const owners: StaticOwner[] = [];
  const walk = (dir: string) => {
    // Helm chart templates are not Flux objects (and not YAML until rendered).
    if (existsSync(join(dir, 'Chart.yaml'))) return;
    for (const entry of readdirSync(dir)) {
      if (entry.startsWith('.')) continue;
      const path = join(dir, entry);
      const stat = statSync(path);
      if (stat.isDirectory()) walk(path);
      else if (/\.ya?ml$/.test(entry)) {
        let docs;
        try {
          docs = parseAllDocuments(readFileSync(path, 'utf8'));
        } catch {
          continue;
        }
        for (const doc of docs) {
          const o = doc.toJSON() as KubeObject | null;
          if (!o || typeof o !== 'object' || !o.metadata?.name) continue;
          if (isFluxKustomization(o) || isHelmRelease(o)) {
            owners.push({
              key: `${o.kind}/${o.metadata.name}`,
              file: toPosix(relative(repo, path)),
              object: o,
            });
          }
        }
      }
    }
  };
  walk(repo);
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
    sides: { base: string; head: string },
    private readonly changed: string[],
  ) {
    for (const repo of [sides.base, sides.head]) this.plan(repo);
  }

  /** Names decided statically (by kind/name: namespaces may come from a targetNamespace). */
  private plan(repo: string): void {
    const owners = scanOwners(repo);
    const must = new Map<string, boolean>();
    const reachOf = (o: StaticOwner) => {
      if (!isFluxKustomization(o.object)) return [];
      const kind = field<string>(o.object, 'spec', 'sourceRef', 'kind');
      if (kind && kind !== 'GitRepository') return undefined; // not mappable to repo files: always build
      return buildReach(repo, resolve(repo, field<string>(o.object, 'spec', 'path') ?? '.'));
    };
    const direct = (o: StaticOwner): boolean => {
      if (this.changed.includes(o.file)) return true;
      if (isHelmRelease(o.object)) {
        const chart = field<string>(o.object, 'spec', 'chart', 'spec', 'chart');
        const sourceKind = field<string>(o.object, 'spec', 'chart', 'spec', 'sourceRef', 'kind');
        if (sourceKind === 'GitRepository' && chart) {
          const dir = toPosix(relative(repo, resolve(repo, chart)));
          // valuesFiles of a Git chart are paths in the repository, wherever they sit.
          const valuesFiles = (field<string[]>(o.object, 'spec', 'chart', 'spec', 'valuesFiles') ?? []).map(
            (f) => toPosix(relative(repo, resolve(repo, f.replace(/^\/+/, '')))),
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
