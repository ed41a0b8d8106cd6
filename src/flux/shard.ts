/**
 * Sharding a fleet's render across the cells of a CI matrix (`--shard I/N`). Each cell builds
 * the owners every cell needs (the entry directory, and any Kustomization whose build reveals
 * owners of other cells or defines what they read: "shared"), plus its own share of the rest;
 * every owner's objects are reported by exactly one cell.
 *
 * The plan is read from the repository's files alone (the Flux graph, no build), so every cell
 * computes the same one on any machine: units (an owner with everything it applies) are balanced
 * by the size of their static reach (kustomize inputs and chart files), largest first, each to
 * the least loaded cell. At render time an owner takes its parent's cell unless the parent is
 * shared; then the plan's, found by its chain of `Kind/name` from the entry point (namespaces may
 * come from a `targetNamespace`, which the graph does not apply), or, for an owner the files do
 * not show (a build-time discovery), a hash of its name.
 */
import { createHash } from 'node:crypto';
import { parseAllDocuments } from 'yaml';
import { UsageError } from '../errors.js';
import { FluxGraph, type FluxObject } from './graph.js';
import { field, isFluxKustomization, isHelmRelease, isInside, type OwnerRef } from './objects.js';
import type { RepoFiles } from './tree.js';

export interface ShardSpec {
  /** 1-based. */
  index: number;
  count: number;
}

/** `I/N`, 1 ≤ I ≤ N. */
export function parseShard(command: string, value: string): ShardSpec {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(value);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count || count > 1000)
    throw new UsageError(`${command}: --shard must be I/N with 1 ≤ I ≤ N ≤ 1000, got '${value}'`);
  return { index, count };
}

/** Every owner's build costs at least a process start, whatever its size. */
const OWNER_COST = 4;

interface PlanNode {
  /** `Kind/name` from the entry point down, joined by `>`; '' for the entry point. */
  chain: string;
  kind: string;
  name: string;
  file?: string;
  /** Repository paths its build reads. */
  reach: string[];
  cost: number;
  children: PlanNode[];
  parent?: PlanNode;
  /** References to objects other owners may define (`Kind/name`). */
  refs: string[];
  shared: boolean;
  shard: number;
}

/** Where each owner of one cluster goes, from the files (identical on every cell). */
export class ShardPlan {
  private readonly nodes = new Map<string, PlanNode>();
  readonly root: PlanNode;

  constructor(
    tree: RepoFiles,
    path: string,
    readonly spec: ShardSpec,
  ) {
    const graph = new FluxGraph(tree);
    const entry = graph.reach([path]);
    this.root = this.node('', 'Kustomization', 'flux-system', entry, tree, undefined);
    const owners = graph.objects.filter((o) => isFluxKustomization(o.object) || isHelmRelease(o.object));
    const reachOf = new Map<FluxObject, string[]>(owners.map((o) => [o, graph.inputsOf(o).paths]));
    const kustomizations = owners.filter((o) => isFluxKustomization(o.object));
    // The Kustomization applying a file: the one whose reach names the deepest path holding it.
    const applier = (file: string, self?: FluxObject): FluxObject | null | undefined => {
      let best: FluxObject | null | undefined;
      let depth = -1;
      const consider = (o: FluxObject | null, reach: string[]) => {
        for (const p of reach) if (isInside(file, p) && p.length > depth) [best, depth] = [o, p.length];
      };
      consider(null, entry);
      for (const k of kustomizations) if (k !== self) consider(k, reachOf.get(k)!);
      return best;
    };
    const parentOf = new Map<FluxObject, FluxObject | null>();
    for (const o of owners) {
      const p = applier(o.file, o);
      if (p !== undefined) parentOf.set(o, p);
    }
    // The tree from the entry point; what it does not reach is not this cluster's.
    const byFlux = new Map<FluxObject | null, PlanNode>([[null, this.root]]);
    const queue: (FluxObject | null)[] = [null];
    while (queue.length) {
      const parent = queue.shift()!;
      const parentNode = byFlux.get(parent)!;
      for (const o of owners) {
        if (parentOf.get(o) !== parent || byFlux.has(o)) continue;
        const kindName = `${o.object.kind}/${o.object.metadata.name}`;
        const chain = parentNode.chain ? `${parentNode.chain}>${kindName}` : kindName;
        // Two owners of one parent with one `Kind/name` (namespaces apart) are planned as one.
        const node =
          this.nodes.get(chain) ??
          this.node(chain, o.object.kind, o.object.metadata.name, reachOf.get(o)!, tree, parentNode);
        node.file ??= o.file;
        node.refs.push(...references(o, graph));
        byFlux.set(o, node);
        queue.push(o);
      }
    }
    this.split(tree, graph);
    this.assign();
  }

  private node(
    chain: string,
    kind: string,
    name: string,
    reach: string[],
    tree: RepoFiles,
    parent: PlanNode | undefined,
  ): PlanNode {
    const node: PlanNode = {
      chain,
      kind,
      name,
      reach,
      cost: OWNER_COST + filesUnder(tree.files, reach),
      children: [],
      parent,
      refs: [],
      shared: false,
      shard: 1,
    };
    parent?.children.push(node);
    this.nodes.set(chain, node);
    return node;
  }

  /**
   * Shared owners: the entry point; a Kustomization too large to be one cell's share (its children
   * become units); and the Kustomization defining an object that an owner of another unit reads
   * (a substituteFrom/valuesFrom object or a source), with everything above it.
   */
  private split(tree: RepoFiles, graph: FluxGraph): void {
    if (this.spec.count === 1) return;
    this.root.shared = true;
    const all = [...this.nodes.values()];
    const total = all.reduce((sum, n) => sum + n.cost, 0);
    const target = total / this.spec.count;
    const definers = this.definers(tree, graph);
    for (let changed = true; changed;) {
      changed = false;
      const units = this.units();
      const unitOf = new Map<PlanNode, PlanNode>();
      for (const u of units) for (const n of subtree(u)) unitOf.set(n, u);
      const largest = units
        .filter((u) => u.kind === 'Kustomization' && u.children.length && subtreeCost(u) > target)
        .sort((a, b) => subtreeCost(b) - subtreeCost(a) || compare(a.chain, b.chain))[0];
      if (largest) {
        largest.shared = changed = true;
        continue;
      }
      for (const n of all) {
        if (!n.shared && !unitOf.has(n)) continue;
        for (const ref of n.refs) {
          for (const d of definers.get(ref) ?? []) {
            // A shared owner is built everywhere: so must be what it reads.
            if (d.shared || (!n.shared && unitOf.get(d) === unitOf.get(n))) continue;
            for (let up: PlanNode | undefined = d; up && !up.shared; up = up.parent) up.shared = true;
            changed = true;
          }
        }
      }
    }
  }

  /** The Kustomizations whose reach defines each referenced `Kind/name` (by scanning its files). */
  private definers(tree: RepoFiles, graph: FluxGraph): Map<string, PlanNode[]> {
    const wanted = new Set([...this.nodes.values()].flatMap((n) => n.refs));
    const out = new Map<string, PlanNode[]>();
    if (!wanted.size) return out;
    const kustomizations = [...this.nodes.values()].filter((n) => n.kind === 'Kustomization');
    const add = (ref: string, file: string) => {
      let best: PlanNode | undefined;
      let depth = -1;
      for (const k of kustomizations)
        for (const p of k.reach) if (isInside(file, p) && p.length > depth) [best, depth] = [k, p.length];
      if (best && !(out.get(ref) ?? []).includes(best)) out.set(ref, [...(out.get(ref) ?? []), best]);
    };
    for (const o of graph.objects) {
      const ref = `${o.object.kind}/${o.object.metadata.name}`;
      if (wanted.has(ref)) add(ref, o.file);
    }
    const names = [...wanted].filter((r) => /^(ConfigMap|Secret)\//.test(r)).map((r) => r.split('/')[1]!);
    if (!names.length) return out;
    const reached = new Set<string>();
    for (const k of kustomizations)
      for (const f of tree.files) if (k.reach.some((p) => isInside(f, p))) reached.add(f);
    for (const file of reached) {
      if (!/\.ya?ml$/.test(file)) continue;
      const text = tree.read(file);
      if (!text || !names.some((n) => text.includes(n))) continue;
      try {
        for (const doc of parseAllDocuments(text)) {
          const o = doc.toJSON() as { kind?: unknown; metadata?: { name?: unknown } } | null;
          const ref = `${String(o?.kind)}/${String(o?.metadata?.name)}`;
          if (wanted.has(ref)) add(ref, file);
        }
      } catch {
        // Not YAML: kustomize will say so when it builds it.
      }
    }
    return out;
  }

  /** Owners that are not shared but whose parent is: each goes to one cell with its subtree. */
  private units(): PlanNode[] {
    return [...this.nodes.values()].filter((n) => !n.shared && n.parent?.shared);
  }

  /** Largest unit first, to the least loaded cell (lowest index on a tie). */
  private assign(): void {
    const loads = new Array<number>(this.spec.count).fill(0);
    const least = () => loads.indexOf(Math.min(...loads));
    const units = this.units().sort((a, b) => subtreeCost(b) - subtreeCost(a) || compare(a.chain, b.chain));
    for (const u of units) {
      const i = least();
      loads[i]! += subtreeCost(u);
      for (const n of subtree(u)) n.shard = i + 1;
    }
    // A shared owner is built by every cell; one of them reports its objects.
    const shared = [...this.nodes.values()].filter((n) => n.shared).sort((a, b) => compare(a.chain, b.chain));
    for (const n of shared) {
      const i = least();
      loads[i]! += 1;
      n.shard = i + 1;
    }
  }

  lookup(chain: string): { shared: boolean; shard: number } | undefined {
    const n = this.nodes.get(chain);
    return n && { shared: n.shared, shard: n.shard };
  }

  /** The cell of each planned owner, with `*` for the shared ones (for logs and tests). */
  describe(): string[] {
    return [...this.nodes.values()].map((n) => `${n.chain || '(entry)'} ${n.shared ? '*' : n.shard}`);
  }
}

/**
 * One render's choice of owners (base and head each have one): told of every owner as the engine
 * finds it, it says which to build, and which this cell reports.
 */
export class ShardSelector {
  private readonly owners = new Map<string, { chain: string; shared: boolean; shard: number }>();

  constructor(private readonly plan: ShardPlan) {}

  discovered(owner: OwnerRef, parent: OwnerRef | undefined): void {
    const key = ownerId(owner);
    if (this.owners.has(key)) return;
    const kindName = `${owner.kind}/${owner.name}`;
    if (!parent) {
      const root = this.plan.lookup('')!;
      this.owners.set(key, { chain: '', shared: this.plan.spec.count > 1, shard: root.shard });
      return;
    }
    const p = this.owners.get(ownerId(parent));
    if (!p) {
      this.owners.set(key, { chain: kindName, shared: false, shard: hashShard(key, this.plan.spec.count) });
      return;
    }
    const chain = p.chain ? `${p.chain}>${kindName}` : kindName;
    if (!p.shared) {
      this.owners.set(key, { chain, shared: false, shard: p.shard });
      return;
    }
    const planned = this.plan.lookup(chain);
    this.owners.set(key, {
      chain,
      ...(planned ?? { shared: false, shard: hashShard(key, this.plan.spec.count) }),
    });
  }

  /** Built here: shared, or this cell's. */
  shouldBuild(owner: OwnerRef): boolean {
    const o = this.owners.get(ownerId(owner));
    return !o || o.shared || o.shard === this.plan.spec.index;
  }

  /** Reported here: every owner is reported by exactly one cell. */
  owns(owner: OwnerRef): boolean {
    const key = ownerId(owner);
    const shard = this.owners.get(key)?.shard ?? hashShard(key, this.plan.spec.count);
    return shard === this.plan.spec.index;
  }
}

const ownerId = (o: OwnerRef) => `${o.kind}/${o.namespace}/${o.name}`;

/** A cell from a name, the same on every machine. */
function hashShard(key: string, count: number): number {
  return (createHash('sha256').update(key).digest().readUInt32BE(0) % count) + 1;
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function subtree(n: PlanNode): PlanNode[] {
  const out = [n];
  for (let i = 0; i < out.length; i++) out.push(...out[i]!.children);
  return out;
}

function subtreeCost(n: PlanNode): number {
  return subtree(n).reduce((sum, m) => sum + m.cost, 0);
}

/** Files at or below any of `paths` in a sorted listing, each counted once. */
function filesUnder(files: readonly string[], paths: string[]): number {
  const seen = new Set<number>();
  for (const p of paths) {
    for (let i = lowerBound(files, p); i < files.length; i++) {
      const f = files[i]!;
      if (p !== '' && f !== p && !f.startsWith(`${p}/`)) {
        if (f > `${p}/\uffff`) break;
        continue;
      }
      seen.add(i);
    }
  }
  return seen.size;
}

function lowerBound(files: readonly string[], key: string): number {
  let lo = 0;
  let hi = files.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (files[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

type Ref = { kind?: string; name?: string };

/** What an owner reads that another owner may define: substituteFrom/valuesFrom objects and sources. */
function references(owner: FluxObject, graph: FluxGraph): string[] {
  const o = owner.object;
  const refs = [
    ...(field<Ref[]>(o, 'spec', 'postBuild', 'substituteFrom') ?? []),
    ...(field<Ref[]>(o, 'spec', 'valuesFrom') ?? []),
  ].map((r) => `${r.kind}/${r.name}`);
  return [...refs, ...graph.inputsOf(owner).sources];
}
