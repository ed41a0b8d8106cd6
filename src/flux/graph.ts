/**
 * The Flux graph of a repository, read from its files without building anything: every Flux
 * object with the file and line that define it, and the edges Flux follows from an object to
 * what it reads — Kustomization → source (GitRepository of this repository or one mapped with
 * `--source`, OCIRepository, ExternalArtifact ← ArtifactGenerator copy rules, Bucket) → path →
 * kustomize references; HelmRelease → chart (HelmRepository, GitRepository path, chartRef
 * HelmChart / OCIRepository / ExternalArtifact) → values files. The changed-only planner asks
 * it which owners an edit can reach; `verify --path` asks it what one cluster applies.
 *
 * Every unmapped GitRepository is this repository, as the renderer reads it (render/sources.ts).
 */
import { relative, resolve, sep } from 'node:path';
import { LineCounter, parseAllDocuments } from 'yaml';
import {
  field,
  isArtifactGenerator,
  isFluxKustomization,
  isFluxSource,
  isHelmRelease,
  isInside,
  joinRepoPath,
  repoPath,
  type KubeObject,
} from './objects.js';
import { kustomizeReach } from './reach.js';
import { ENTRY_OWNER, entryArtifactSource, pushedDirectory } from './entry.js';
import type { RepoFiles } from './tree.js';

/** A Flux object and where the repository defines it. */
export interface FluxObject {
  object: KubeObject;
  /** Repository-relative file. */
  file: string;
  /** 1-based line of the document. */
  line: number;
}

interface SourceRef {
  kind?: string;
  name?: string;
  namespace?: string;
}

/** What a Kustomization or HelmRelease reads, as far as the repository tells. */
export interface OwnerInputs {
  /** Repository paths (each covers what is below it). */
  paths: string[];
  /** `Kind/name` of the source objects whose definition changes what it reads. */
  sources: string[];
  /** It reads something neither the repository nor a source object describes (a Bucket, a path with a variable). */
  opaque?: string;
}

/** A `--source` mapping as the graph sees it: a repository path, or null for a directory elsewhere. */
export type SourceMappings = Map<string, string | null>;

/** `--source` mappings (directories relative to `cwd`) as repository paths of `repo` (null: elsewhere). */
export function repositoryMappings(repo: string, sources: Map<string, string>, cwd: string): SourceMappings {
  const mapped: SourceMappings = new Map();
  for (const [key, dir] of sources) {
    const rel = relative(repo, resolve(cwd, dir)).split(sep).join('/');
    mapped.set(key, repoPath(rel) ?? null);
  }
  return mapped;
}

/** Parsed Flux objects by content id: a file equal on two sides of a change is parsed once. */
export type ParseCache = Map<string, Omit<FluxObject, 'file'>[]>;

export interface GraphOptions {
  mappings?: SourceMappings;
  cache?: ParseCache;
  /**
   * Why a GitRepository is not this repository (flux/checkout.ts `notThisCheckout`), or
   * undefined when it is; without it, every unmapped GitRepository is this repository.
   */
  otherRepository?: (gitRepository: KubeObject) => string | undefined;
}

const isFluxObject = (o: KubeObject) =>
  isFluxKustomization(o) || isHelmRelease(o) || isFluxSource(o) || isArtifactGenerator(o);

function parseFluxObjects(text: string): Omit<FluxObject, 'file'>[] {
  // Only a file naming a Flux API group can define a Flux object: the rest need no parse.
  if (!text.includes('fluxcd.io')) return [];
  const counter = new LineCounter();
  const found: Omit<FluxObject, 'file'>[] = [];
  try {
    for (const doc of parseAllDocuments(text, { lineCounter: counter })) {
      if (doc.errors.length) continue;
      const o = doc.toJSON() as KubeObject | null;
      if (!o || typeof o !== 'object' || typeof o.metadata?.name !== 'string' || !isFluxObject(o)) continue;
      const offset = (doc.contents as { range?: number[] } | null)?.range?.[0] ?? 0;
      found.push({ object: o, line: counter.linePos(offset).line });
    }
  } catch {
    return [];
  }
  return found;
}

/** Inputs with each path and source once, in first-seen order; no `opaque` key unless there is one. */
function withoutRepeats(inputs: OwnerInputs): OwnerInputs {
  const out: OwnerInputs = { paths: [...new Set(inputs.paths)], sources: [...new Set(inputs.sources)] };
  if (inputs.opaque !== undefined) out.opaque = inputs.opaque;
  return out;
}

export class FluxGraph {
  readonly objects: FluxObject[] = [];
  private readonly mappings: SourceMappings;
  private readonly otherRepository?: (gitRepository: KubeObject) => string | undefined;

  constructor(
    readonly tree: RepoFiles,
    options: GraphOptions = {},
  ) {
    this.mappings = new Map(options.mappings ?? []);
    this.otherRepository = options.otherRepository;
    const cache = options.cache ?? new Map();
    // Chart templates are not Flux objects (nor YAML before rendering); dot-directories are not applied.
    const charts = tree.files
      .filter((f) => f === 'Chart.yaml' || f.endsWith('/Chart.yaml'))
      .map((f) => f.slice(0, -'Chart.yaml'.length));
    const candidates = tree.files.filter(
      (f) =>
        /\.ya?ml$/.test(f) &&
        !f.split('/').some((part) => part.startsWith('.')) &&
        !charts.some((c) => f.startsWith(c)),
    );
    const oid = (f: string) => tree.oid?.(f) ?? `file:${f}`;
    tree.load?.(candidates.map((f) => tree.oid?.(f)).filter((o): o is string => o !== undefined));
    for (const file of candidates) {
      let parsed = cache.get(oid(file));
      if (!parsed) {
        parsed = parseFluxObjects(tree.read(file) ?? '');
        if (tree.oid) cache.set(oid(file), parsed);
      }
      for (const p of parsed) this.objects.push({ ...p, file });
    }
  }

  /** What a kustomize build of these repository directories can read. */
  reach(dirs: string[]): string[] {
    return kustomizeReach(this.tree, dirs);
  }

  /**
   * Objects of `kind` named `name` (in `namespace` when both sides say one: a namespace may also
   * come from a kustomization, which the graph does not apply). `within` limits the search.
   */
  find(kind: string, name: string, namespace?: string, within?: FluxObject[]): FluxObject[] {
    return (within ?? this.objects).filter(
      (o) =>
        o.object.kind === kind &&
        o.object.metadata.name === name &&
        (!namespace || !o.object.metadata.namespace || o.object.metadata.namespace === namespace),
    );
  }

  /**
   * As the renderer (render/engine.ts entrySourceRef): the OCIRepository the entry's own
   * Kustomization is built from, unless `--source` maps it, is the directory of this repository
   * it is pushed from (flux/entry.ts).
   */
  followEntrySource(entry: string): void {
    const own = this.find(ENTRY_OWNER.kind, ENTRY_OWNER.name, ENTRY_OWNER.namespace).find(
      (o) => isFluxKustomization(o.object) && isInside(o.file, entry),
    );
    const source = entryArtifactSource(own?.object);
    if (!source || this.mapped(source.kind, source.name, source.namespace) !== undefined) return;
    const pushed = pushedDirectory(entry, source.path);
    if (pushed !== undefined) this.mappings.set(`${source.kind}/${source.namespace}/${source.name}`, pushed);
  }

  /** The mapping of a source, when `--source` names it: a repository path or null (elsewhere). */
  private mapped(kind: string, name: string, namespace?: string): string | null | undefined {
    if (namespace) {
      for (const key of [`${kind}/${namespace}/${name}`, `${namespace}/${name}`])
        if (this.mappings.has(key)) return this.mappings.get(key);
      return undefined;
    }
    for (const [key, value] of this.mappings) {
      const parts = key.split('/');
      if (parts.at(-1) === name && (parts.length === 2 || parts[0] === kind)) return value;
    }
    return undefined;
  }

  /**
   * Where a source's content lies in this repository: the roots its paths are relative to
   * (several for an ExternalArtifact assembled from copy rules). `roots: []` when nothing of it
   * is in the repository.
   */
  private sourceRoots(
    ref: SourceRef,
    namespace: string | undefined,
    within: FluxObject[] | undefined,
    seen = new Set<string>(),
  ): { roots: string[]; assembled: boolean; sources: string[]; opaque?: string } {
    const kind = ref.kind ?? 'GitRepository';
    const name = ref.name ?? '';
    const ns = ref.namespace || namespace;
    const sources = [`${kind}/${name}`];
    const mapped = this.mapped(kind, name, ns);
    if (mapped !== undefined) return { roots: mapped === null ? [] : [mapped], assembled: false, sources };
    switch (kind) {
      case 'GitRepository': {
        // As the renderer: a GitRepository defined elsewhere than this checkout is another repository.
        const defined = this.find('GitRepository', name, ns, within);
        const other =
          this.otherRepository && defined.map((d) => this.otherRepository!(d.object)).find(Boolean);
        return other ? { roots: [], assembled: false, sources } : { roots: [''], assembled: false, sources };
      }
      case 'ExternalArtifact': {
        const roots: string[] = [];
        let opaque: string | undefined;
        if (seen.has(`${ns}/${name}`)) return { roots, assembled: true, sources };
        seen.add(`${ns}/${name}`);
        for (const generator of (within ?? this.objects).filter((o) => isArtifactGenerator(o.object))) {
          const g = generator.object;
          const artifact = (
            field<{ name?: string; copy?: { from?: string }[] }[]>(g, 'spec', 'artifacts') ?? []
          ).find((a) => a.name === name);
          if (!artifact) continue;
          const gns = g.metadata.namespace || namespace;
          sources.push(`ArtifactGenerator/${g.metadata.name}`);
          const aliases = new Map(
            (field<(SourceRef & { alias?: string })[]>(g, 'spec', 'sources') ?? []).map((s) => [s.alias, s]),
          );
          for (const rule of artifact.copy ?? []) {
            const from = /^@([^/]+)\/?(.*)$/.exec(rule.from ?? '');
            const source = from && aliases.get(from[1]!);
            if (!from || !source) continue;
            const inner = this.sourceRoots(source, gns, within, seen);
            sources.push(...inner.sources);
            opaque ??= inner.opaque;
            // The part of the pattern before its first glob is the directory it copies from.
            const pattern = from[2]!;
            const glob = pattern.search(/[*?[]/);
            const base = glob < 0 ? pattern : pattern.slice(0, glob).replace(/[^/]*$/, '');
            for (const root of inner.roots) {
              const p = joinRepoPath(root, base);
              if (p !== undefined) roots.push(p);
            }
          }
        }
        return { roots, assembled: true, sources, opaque };
      }
      case 'Bucket':
        return { roots: [], assembled: false, sources, opaque: `Bucket ${name} is not in the repository` };
      default:
        // OCIRepository, HelmRepository, HelmChart: their content is fetched; their object says which.
        return { roots: [], assembled: false, sources };
    }
  }

  /** What a Kustomization or a HelmRelease reads; `within` limits the objects that resolve its references. */
  inputsOf(owner: FluxObject, within?: FluxObject[]): OwnerInputs {
    const o = owner.object;
    const ns = o.metadata.namespace;
    if (isFluxKustomization(o)) {
      const ref = field<SourceRef>(o, 'spec', 'sourceRef') ?? {};
      const path = field<string>(o, 'spec', 'path') ?? '';
      const source = this.sourceRoots(ref, ns, within);
      if (path.includes('${'))
        return { paths: [], sources: source.sources, opaque: `spec.path ${path} uses a variable` };
      // An assembled artifact's layout is not the repository's: everything copied into it can be read.
      const dirs = source.assembled
        ? source.roots
        : source.roots.map((r) => joinRepoPath(r, path)).filter((p): p is string => p !== undefined);
      return withoutRepeats({ paths: this.reach(dirs), sources: source.sources, opaque: source.opaque });
    }
    if (isHelmRelease(o)) {
      const chartRef = field<SourceRef>(o, 'spec', 'chartRef');
      if (chartRef) {
        if (chartRef.kind === 'HelmChart') {
          const charts = this.find('HelmChart', chartRef.name ?? '', chartRef.namespace || ns, within);
          const inputs: OwnerInputs = { paths: [], sources: [`HelmChart/${chartRef.name}`] };
          for (const chart of charts) {
            const c = this.chartInputs(chart.object.spec, chart.object.metadata.namespace || ns, within);
            inputs.paths.push(...c.paths);
            inputs.sources.push(...c.sources);
            inputs.opaque ??= c.opaque;
          }
          return withoutRepeats(inputs);
        }
        const source = this.sourceRoots(chartRef, ns, within);
        return withoutRepeats({ paths: source.roots, sources: source.sources, opaque: source.opaque });
      }
      return withoutRepeats(this.chartInputs(field(o, 'spec', 'chart', 'spec'), ns, within));
    }
    return { paths: [], sources: [] };
  }

  /** A HelmChart spec (or a HelmRelease's chart template): the chart directory and values files. */
  private chartInputs(spec: unknown, ns: string | undefined, within?: FluxObject[]): OwnerInputs {
    const ref = field<SourceRef>(spec, 'sourceRef') ?? {};
    const source = this.sourceRoots(ref, ns, within);
    if (ref.kind === 'HelmRepository' || !source.roots.length)
      return { paths: [], sources: source.sources, opaque: source.opaque };
    const chart = field<string>(spec, 'chart') ?? '';
    // valuesFiles of a chart from a Git source are paths in that source, wherever they sit.
    const files = [chart, ...(field<string[]>(spec, 'valuesFiles') ?? [])];
    const paths = source.roots.flatMap((root) =>
      files.map((f) => joinRepoPath(root, f)).filter((p): p is string => p !== undefined),
    );
    return { paths, sources: source.sources, opaque: source.opaque };
  }

  /**
   * What one cluster applies, from its entry directory: the entry's kustomize reach, then the
   * inputs of every Kustomization found there, transitively, each resolving its sources among
   * the objects reached so far (an ArtifactGenerator of another cluster is not this one's).
   */
  clusterScope(entry: string): {
    paths: string[];
    objects: FluxObject[];
    opaque: { owner: FluxObject; reason: string }[];
  } {
    const start = repoPath(entry);
    if (start !== undefined) this.followEntrySource(start);
    const paths = new Set(start === undefined ? [] : this.reach([start]));
    const opaque = new Map<FluxObject, string>();
    for (let grown = true; grown;) {
      grown = false;
      const reached = this.objects.filter((o) => [...paths].some((p) => isInside(o.file, p)));
      for (const k of reached.filter((o) => isFluxKustomization(o.object))) {
        const inputs = this.inputsOf(k, reached);
        if (inputs.opaque) opaque.set(k, inputs.opaque);
        for (const p of inputs.paths) {
          if (paths.has(p)) continue;
          paths.add(p);
          grown = true;
        }
      }
    }
    const all = [...paths];
    return {
      // The outermost paths: one inside another is covered by it.
      paths: all.filter((p) => !all.some((o) => o !== p && isInside(p, o))).sort(),
      objects: this.objects.filter((o) => all.some((p) => isInside(o.file, p))),
      opaque: [...opaque].map(([owner, reason]) => ({ owner, reason })),
    };
  }
}
