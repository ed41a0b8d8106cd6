import { posix } from 'node:path';
import {
  FluxGraph,
  type FluxObject,
  type OwnerInputs,
  type ParseCache,
  type SourceMappings,
} from '../flux/graph.js';
import {
  field,
  isArtifactGenerator,
  isFluxKustomization,
  isFluxSource,
  isHelmRelease,
  isInside,
  objectKey,
  repoPath,
  SOURCE_IGNORE_FILE,
  type KubeObject,
} from '../flux/objects.js';
import type { RepoFiles } from '../flux/tree.js';
import type { ReferenceCache } from '../flux/reach.js';
import { ownerKey, type OwnerRef, type RenderResult } from '../render/types.js';

/** A side of the change: the repository at a commit (diff/git.ts CommitTree). */
export type PlanTree = RepoFiles & Required<Pick<RepoFiles, 'oid' | 'load'>>;

/**
 * Whether a changed file can change what is read below `path`: a file inside it, or a
 * `.sourceignore` whose directory contains it or lies inside it (its patterns scope below it).
 */
function touches(file: string, path: string): boolean {
  if (isInside(file, path)) return true;
  if (posix.basename(file) !== SOURCE_IGNORE_FILE) return false;
  const dir = repoPath(posix.dirname(file)) ?? '';
  return isInside(path, dir);
}

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

  private planned = false;

  constructor(
    private readonly sides: { base: PlanTree; head: PlanTree },
    private readonly changed: string[],
    /**
     * The cluster's entry directory and the `--source` mappings, as repository paths; files
     * parsed before (a cache directory's, or another cluster path's), by blob id.
     */
    private readonly scope: {
      entry?: string;
      mappings?: SourceMappings;
      parses?: ParseCache;
      references?: ReferenceCache;
    } = {},
  ) {}

  /**
   * Reads both sides' graphs and decides the static builds. Done when first needed, or earlier
   * by the caller: the entry directory (always built) can build meanwhile.
   */
  prepare(): void {
    if (this.planned) return;
    this.planned = true;
    const cache: ParseCache = this.scope.parses ?? new Map();
    const references: ReferenceCache = this.scope.references ?? new Map();
    const entry = this.scope.entry === undefined ? undefined : repoPath(this.scope.entry);
    try {
      for (const tree of [this.sides.base, this.sides.head]) {
        const graph = new FluxGraph(tree, {
          cache,
          references,
          mappings: this.scope.mappings,
        });
        if (entry !== undefined) graph.followEntrySource(entry);
        this.plan(graph);
      }
    } catch (err) {
      this.failure = err as Error;
    }
  }

  /** Why the plan could not be read: then every owner builds, as in a full render. */
  failure?: Error;

  /** Names decided statically (by kind/name: namespaces may come from a targetNamespace). */
  private plan(graph: FluxGraph): void {
    const owners = graph.objects.filter((o) => isFluxKustomization(o.object) || isHelmRelease(o.object));
    const changed = new Set(this.changed);
    // A source object edited in this change: every owner reading it builds.
    const editedSources = new Set(
      graph.objects
        .filter((o) => changed.has(o.file) && (isFluxSource(o.object) || isArtifactGenerator(o.object)))
        .map((o) => `${o.object.kind}/${o.object.metadata.name}`),
    );
    const inputs = new Map<FluxObject, OwnerInputs>(owners.map((o) => [o, graph.inputsOf(o)]));
    const direct = (o: FluxObject): boolean => {
      const i = inputs.get(o)!;
      return (
        changed.has(o.file) ||
        (o.via ?? []).some((f) => changed.has(f)) ||
        i.opaque !== undefined ||
        i.sources.some((s) => editedSources.has(s)) ||
        this.changed.some((f) => i.paths.some((p) => touches(f, p)))
      );
    };
    // Owners by every directory that contains their file (and by the file): the owners a
    // Kustomization's reach defines, without testing every owner against every path.
    const within = new Map<string, number[]>();
    owners.forEach((o, i) => {
      const parts = o.file.split('/');
      for (const at of ['', ...parts.map((_, n) => parts.slice(0, n + 1).join('/'))]) {
        const list = within.get(at) ?? [];
        if (!list.length) within.set(at, list);
        list.push(i);
      }
    });
    const must = new Map<FluxObject, boolean>();
    // A Kustomization builds when an owner it defines must: that owner appears only through it.
    const decide = (o: FluxObject, stack: Set<FluxObject>): boolean => {
      if (must.has(o)) return must.get(o)!;
      if (stack.has(o)) return false;
      stack.add(o);
      let result = direct(o);
      if (!result && isFluxKustomization(o.object)) {
        const reach = inputs.get(o)!.paths;
        // In the owners' order, as a cycle's answer depends on where it is entered.
        const children = [...new Set(reach.flatMap((p) => within.get(p) ?? []))].sort((a, b) => a - b);
        result = children.some((i) => owners[i] !== o && decide(owners[i]!, stack));
      }
      must.set(o, result);
      return result;
    };
    for (const o of owners) {
      if (decide(o, new Set())) this.staticBuild.add(`${o.object.kind}/${o.object.metadata.name}`);
    }
  }

  shouldBuild(side: 'base' | 'head', owner: OwnerRef, flux: KubeObject): boolean {
    this.seen[side].set(ownerKey(owner), flux);
    if (owner.kind === 'Kustomization' && owner.name === 'flux-system' && owner.namespace === 'flux-system')
      return true;
    this.prepare();
    if (this.failure) return true;
    return this.forced.has(ownerKey(owner)) || this.staticBuild.has(`${owner.kind}/${owner.name}`);
  }

  /**
   * After a pair of renders: owners whose Flux object, substituteFrom/valuesFrom objects or
   * chart source differ between the sides, and were not built. True when a new pass is needed.
   */
  dynamic(base: RenderResult, head: RenderResult): boolean {
    const built = new Set([...base.rendered, ...head.rendered].map(ownerKey));
    // Objects by key, written out only when an owner's input is compared (a few of thousands).
    const objects = (r: RenderResult) =>
      new Map(
        r.objects.map((o) => [
          objectKey(o.object.kind, o.object.metadata.namespace, o.object.metadata.name),
          o.object,
        ]),
      );
    const b = objects(base);
    const h = objects(head);
    const text = (o: KubeObject | undefined) => (o === undefined ? undefined : JSON.stringify(o));
    const differs = (kind: string, ns: string, name: string) => {
      const key = objectKey(kind, ns, name);
      return text(b.get(key)) !== text(h.get(key));
    };
    const rendered = [...base.objects, ...head.objects].map((o) => o.object);
    let added = false;
    for (const key of new Set([...this.seen.base.keys(), ...this.seen.head.keys()])) {
      if (built.has(key) && this.bothBuilt(key, base, head)) continue;
      const fb = this.seen.base.get(key);
      const fh = this.seen.head.get(key);
      const flux = (fh ?? fb)!;
      const ns = flux.metadata.namespace || 'default';
      const refs = inputObjects(flux, ns, rendered);
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

type Ref = { kind: string; name: string; namespace?: string };

/**
 * The objects an owner's render reads besides its files: substituteFrom and valuesFrom objects,
 * its source (a Kustomization's sourceRef, a chart's source or chartRef), and behind a HelmChart
 * its source, behind an ExternalArtifact the ArtifactGenerators producing it and their sources.
 */
function inputObjects(
  flux: KubeObject,
  ns: string,
  rendered: KubeObject[],
): (readonly [string, string, string])[] {
  const refs: (readonly [string, string, string])[] = [
    ...(field<Ref[]>(flux, 'spec', 'postBuild', 'substituteFrom') ?? []),
    ...(field<Ref[]>(flux, 'spec', 'valuesFrom') ?? []),
  ].map((r) => [r.kind, ns, r.name] as const);
  const sources: Ref[] = [];
  const first = isFluxKustomization(flux)
    ? field<Ref>(flux, 'spec', 'sourceRef')
    : (field<Ref>(flux, 'spec', 'chart', 'spec', 'sourceRef') ?? field<Ref>(flux, 'spec', 'chartRef'));
  if (first)
    sources.push({ ...first, kind: first.kind ?? 'GitRepository', namespace: first.namespace || ns });
  for (let i = 0; i < sources.length && i < 32; i++) {
    const s = sources[i]!;
    refs.push([s.kind, s.namespace!, s.name] as const);
    const same = (o: KubeObject) => (o.metadata.namespace || ns) === s.namespace;
    if (s.kind === 'HelmChart') {
      const chart = rendered.find((o) => o.kind === 'HelmChart' && o.metadata.name === s.name && same(o));
      const next = chart && field<Ref>(chart, 'spec', 'sourceRef');
      if (next) sources.push({ ...next, namespace: s.namespace });
    }
    if (s.kind === 'ExternalArtifact') {
      for (const g of rendered.filter((o) => isArtifactGenerator(o) && same(o))) {
        const artifacts = field<{ name: string }[]>(g, 'spec', 'artifacts') ?? [];
        if (!artifacts.some((a) => a.name === s.name)) continue;
        refs.push(['ArtifactGenerator', s.namespace!, g.metadata.name] as const);
        for (const src of field<Ref[]>(g, 'spec', 'sources') ?? [])
          sources.push({ ...src, namespace: src.namespace || s.namespace });
      }
    }
  }
  return refs;
}
