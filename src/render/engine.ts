import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename, join, posix, relative, resolve, sep } from 'node:path';
import { parseDocument, stringify } from 'yaml';
import type { RenderEngineOptions } from './options.js';
import { errorLine, FluxgateError } from '../errors.js';
import {
  describeOwner,
  field,
  groupOf,
  isFluxInstance,
  isClusterScoped,
  isFluxKustomization,
  isHelmRelease,
  isResourceSet,
  isSuspended,
  objectKey,
  parseObjects,
  repoPath,
  SOURCE_EXTENSIONS_GROUP,
} from '../flux/objects.js';
import { fluxInstanceSync } from '../flux/operator/fluxinstance.js';
import { COPY_FROM_ANNOTATION, expandResourceSet } from '../flux/operator/resourceset.js';
import { readCheckout, type CheckoutIdentity } from '../flux/checkout.js';
import type { Logger } from '../log.js';
import { RegistryClient } from '../oci/client.js';
import { mapPool } from '../util/pool.js';
import { yamlDocuments } from '../util/yaml-documents.js';
import type { SecretRegistry } from '../util/redact.js';
import { FluxGraph, type ParseCache } from '../flux/graph.js';
import type { ReferenceCache } from '../flux/reach.js';
import { directoryTree } from '../flux/tree.js';
import { helmVersion, kustomizePatches, renderHelmRelease } from './helm/index.js';
import {
  KUSTOMIZATION_FILES,
  kustomizeBuild,
  kustomizeVersion,
  overlayOf,
  type KustomizeOverlay,
} from './kustomize.js';
import { BuildCache, buildKey, noBuilds, type BuildCounts, type BuildOrigin } from './cache.js';
import { requireTool, runProcess, timedRunner, ToolHome, type ProcessRunner } from './process.js';
import { createSecretMasker, isSecret, maskSecret, SecretCopies, secretValues } from './secrets.js';
import { buildWithSops, SopsDecryptor, SopsKeys } from './sops/index.js';
import { SourceResolver, type SourceTree } from './sources.js';
import { entryDefinitions, type EntryFile } from './sourceignore.js';
import { ENTRY_OWNER, entryArtifactSource, pushedDirectory } from '../flux/entry.js';
import { fieldAt, substitute, SubstitutionError, VARIABLE_NAME } from './substitute.js';
import { LocatedError, SourceLines, takeOrigin, type Origin } from './origin.js';
import {
  ownerKey,
  type KubeObject,
  type OwnerRef,
  type RenderedObject,
  type RenderError,
  type RenderResult,
  type RenderWarning,
  type SecretMasker,
} from './types.js';

export interface RenderClusterOptions extends RenderEngineOptions {
  /** Cluster entry directory, relative to the repository. */
  path: string;
  /** Shared by the base and head renders of one diff, so equal secrets get equal markers. */
  masker?: SecretMasker;
  /** Changed-only mode: false skips building an owner (its objects are absent, it is not in `rendered`). */
  shouldBuild?: (owner: OwnerRef, info: { flux: KubeObject; dir?: string }) => boolean;
  /** Sharding: told of each owner as it is found, with the owner applying it, before shouldBuild. */
  discovered?: (owner: OwnerRef, parent: OwnerRef | undefined) => void;
  /** The repository at a git ref: Git sources are written from it as builds need them. */
  tree?: SourceTree;
  /** Flux objects already parsed from the tree's files, by blob id (a diff's planner's). */
  parses?: ParseCache;
  /** Kustomization references by blob id (a diff's planner's): what a build can read, known. */
  references?: ReferenceCache;
  /** What identifies the repository (default: read from `repo` with git and the Actions environment). */
  checkout?: CheckoutIdentity;
  /** The tool runner (tests and the benchmark wrap it). */
  run?: ProcessRunner;
  /** SOPS keys (loaded once for both sides of a diff); default: from the options and environment. */
  sopsKeys?: SopsKeys;
  /** What the progress line calls this render (default `render PATH`). */
  progressLabel?: string;
  /** Builds of this run (shared by both sides of a diff); default: one for this render, on `cacheDir`. */
  builds?: BuildCache;
}

export interface RenderIO {
  log: Logger;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** The run's exit scrub: every Secret value a build produces is registered with it. */
  secrets?: SecretRegistry;
}

const SUBSTITUTE_OPT_OUT = 'kustomize.toolkit.fluxcd.io/substitute';
const OWNER_NAME = 'kustomize.toolkit.fluxcd.io/name';
const OWNER_NAMESPACE = 'kustomize.toolkit.fluxcd.io/namespace';

/** The SOPS keys of a run: `--sops-age-key-file`, `--sops-pgp-key-file`, SOPS_AGE_KEY(_FILE). */
export function loadSopsKeys(
  options: RenderEngineOptions,
  io: Pick<RenderIO, 'env' | 'cwd'>,
): Promise<SopsKeys> {
  return SopsKeys.load({
    ageKeyFiles: options.sopsAgeKeyFiles ?? [],
    pgpKeyFiles: options.sopsPgpKeyFiles ?? [],
    env: io.env,
    cwd: io.cwd,
  }).catch((err: unknown) => {
    throw new FluxgateError('INPUT', errorLine(err));
  });
}

/** Whether a build's output (text or objects) has a Secret: such an output is never stored. */
/** The first line of a stored kustomize output whose kustomization keeps origin annotations. */
const KEEP_ORIGINS = '# fluxgate: origin annotations asked for\n';

function holdsSecret(output: string | KubeObject[]): boolean {
  let objects: KubeObject[];
  try {
    objects = typeof output === 'string' ? parseObjects(output, 'build output') : output;
  } catch {
    return true;
  }
  return objects.some((o) => o?.kind === 'Secret');
}

/** Where `--cache-dir` keeps builds (the directory also holds charts, by digest). */
export function buildCacheDir(options: RenderEngineOptions, cwd: string): string | undefined {
  return options.cacheDir ? resolve(cwd, options.cacheDir) : undefined;
}

interface KustomizationItem {
  owner: OwnerRef;
  flux: KubeObject;
  /** Owners from the entry point down to this one, for cycle detection. */
  path: string[];
}

interface Built {
  item: KustomizationItem;
  objects: KubeObject[];
  /** Where each object is defined in the repository (same order as objects), when known. */
  origins: (Origin | undefined)[];
  /** The lines of the repository, when the build's source is the repository. */
  lines?: SourceLines;
}

/**
 * Objects that two owners apply: each owner's controller would take it over from the other on
 * every reconcile and prune it when the other drops it. Flux applies both without an error, so it
 * is a warning on both owners, not a failure.
 */
function appliedTwice(
  objects: RenderedObject[],
  defaultNamespace: (owner: OwnerRef) => string,
): RenderWarning[] {
  const byObject = new Map<
    string,
    { what: string; owners: Map<string, { owner: OwnerRef; origin?: Origin }> }
  >();
  for (const { owner, object, origin } of objects) {
    // A namespaced object written without a namespace lands where its owner applies it.
    const ns = object.metadata?.namespace || (isClusterScoped(object.kind) ? '' : defaultNamespace(owner));
    const key = [groupOf(object.apiVersion), object.kind, ns, object.metadata?.name].join('/');
    const entry = byObject.get(key) ?? {
      what: `${object.kind} ${ns ? `${ns}/` : ''}${object.metadata?.name}`,
      owners: new Map(),
    };
    if (!entry.owners.has(ownerKey(owner))) entry.owners.set(ownerKey(owner), { owner, origin });
    byObject.set(key, entry);
  }
  const warnings: RenderWarning[] = [];
  for (const { what, owners } of byObject.values()) {
    if (owners.size < 2) continue;
    for (const [key, { owner, origin }] of owners) {
      const others = [...owners.entries()].filter(([k]) => k !== key).map(([, o]) => o.owner);
      warnings.push({
        owner,
        message: `${describeOwner(owner)}: ${what} is also applied by ${others.map(describeOwner).join(', ')}; the owners would fight over it`,
        object: what,
        others,
        ...(origin ? { origin } : {}),
      });
    }
  }
  return warnings.sort((a, b) => (ownerKey(a.owner) < ownerKey(b.owner) ? -1 : 1));
}

/**
 * Renders everything Flux would apply to one cluster: the entry directory as the flux-system
 * Kustomization, every Kustomization found in turn (waves, built in parallel), then every
 * HelmRelease. A failure is an error on its owner; everything else still renders.
 */
export async function renderCluster(options: RenderClusterOptions, io: RenderIO): Promise<RenderResult> {
  const keys = options.sopsKeys ?? (await loadSopsKeys(options, io));
  const render = new ClusterRender(options, io, keys);
  try {
    const result = await render.run();
    render.keepFluxParses();
    return result;
  } finally {
    await render.dispose();
  }
}

class ClusterRender {
  private readonly repo: string;
  private readonly masker: SecretMasker;
  private readonly copies: SecretCopies;
  private readonly runTool: ProcessRunner;
  /** Objects as applied (substituted, not masked), for substituteFrom, valuesFrom and sources. */
  private readonly index = new Map<string, KubeObject>();
  private readonly objects: RenderedObject[] = [];
  private readonly errors: RenderError[] = [];
  private readonly rendered: OwnerRef[] = [];
  private readonly seen = new Map<string, KustomizationItem>();
  private readonly helmReleases: { owner: OwnerRef; flux: KubeObject }[] = [];
  /** ResourceSets found, expanded once nothing else is being built (their providers known by then). */
  private readonly resourceSets: KustomizationItem[] = [];
  private readonly suspended: OwnerRef[] = [];
  private readonly notices: RenderError[] = [];
  private readonly warnings: RenderError[] = [];
  /** `Kind/ns/name` of the sources a FluxInstance syncs: this repository, as the entry is. */
  private readonly syncSources = new Set<string>();
  private readonly operatorOwners = new Set<string>();
  /** FluxInstance sync objects with `spec.kustomize.patches` to lay over them. */
  private readonly instancePatches: { owner: OwnerRef; objects: KubeObject[]; patches: unknown[] }[] = [];
  private readonly sources: SourceResolver;
  private readonly clients = new Map<boolean, RegistryClient>();
  private readonly chartCache = new Map<string, Promise<string>>();
  private readonly sops: SopsDecryptor;
  /** Where each Kustomization and HelmRelease is defined: the place of its errors. */
  private readonly ownerOrigins = new Map<string, Origin>();
  /** The namespace kustomize-controller gives a Kustomization's objects that have none. */
  private readonly ownerNamespaces = new Map<string, string>();
  private readonly sourceLines = new Map<string, SourceLines>();
  private readonly started = Date.now();
  /** Owners whose build ended (built, failed or skipped), for the progress line. */
  private done = 0;
  private readonly builds: BuildCache;
  private readonly counts: BuildCounts = noBuilds();
  private readonly toolHome: ToolHome;

  constructor(
    private readonly options: RenderClusterOptions,
    private readonly io: RenderIO,
    sopsKeys: SopsKeys,
  ) {
    this.repo = resolve(io.cwd, options.repo);
    this.masker = options.masker ?? createSecretMasker();
    this.sops = new SopsDecryptor(sopsKeys, this.masker);
    this.copies = new SecretCopies(this.masker, io.secrets);
    this.runTool = timedRunner(options.run ?? runProcess, io.log);
    this.toolHome = new ToolHome(options.concurrency);
    this.builds = options.builds ?? new BuildCache(buildCacheDir(options, io.cwd));
    this.sources = new SourceResolver({
      repo: this.repo,
      mappings: new Map([...options.sources].map(([k, v]) => [k, resolve(io.cwd, v)])),
      lookup: (kind, ns, name) =>
        this.index.get(objectKey(kind, ns, name)) ??
        (kind === 'GitRepository' || kind === 'OCIRepository'
          ? this.bootstrapSources().get(`${kind}/${ns}/${name}`)
          : undefined),
      findGenerator: (ns, artifact) =>
        [...this.index.values()].find(
          (o) =>
            o.kind === 'ArtifactGenerator' &&
            groupOf(o.apiVersion) === SOURCE_EXTENSIONS_GROUP &&
            (o.metadata.namespace ?? '') === ns &&
            (field<{ name: string }[]>(o, 'spec', 'artifacts') ?? []).some((a) => a.name === artifact),
        ),
      registry: (insecure) => this.registry(insecure),
      isThisRepository: (kind, ns, name) => this.syncSources.has(objectKey(kind, ns, name)),
      log: io.log,
      tree: options.tree,
      references: options.tree ? options.references : undefined,
      checkout: options.checkout ?? readCheckout(this.repo, io.env),
    });
  }

  private entrySources?: Map<string, KubeObject>;

  /** The entry directory, relative to the tree (a git side), or undefined when read from disk. */
  private entryInTree(): string | undefined {
    if (!this.options.tree) return undefined;
    return relative(this.repo, resolve(this.repo, this.options.path)).split(sep).join('/');
  }

  private entryExists(): boolean {
    const rel = this.entryInTree();
    if (rel !== undefined && !rel.startsWith('..')) return this.options.tree!.isDirectory(rel);
    return existsSync(join(this.repo, this.options.path));
  }

  /** Sources and Kustomizations defined under the entry directory, known before its first build. */
  private bootstrapSources(): Map<string, KubeObject> {
    const rel = this.entryInTree();
    const tree = this.options.tree;
    this.entrySources ??= (
      tree && rel !== undefined && !rel.startsWith('..')
        ? entryDefinitions(this.entryFiles(tree, rel))
        : entryDefinitions(join(this.repo, this.options.path))
    ) as Map<string, KubeObject>;
    return this.entrySources;
  }

  /**
   * The files of the entry directory in a git side, each with its Flux objects when the graph
   * parsed it already; the others are read in one batch.
   */
  private entryFiles(tree: SourceTree, rel: string): EntryFile[] {
    const files = tree.files
      .filter((f) => (rel === '' || f.startsWith(`${rel}/`)) && !tree.isSymlink(f))
      .map((f) => {
        const oid = tree.oid?.(f);
        const parsed = oid === undefined ? undefined : this.options.parses?.get(oid);
        return { path: f, oid, read: () => tree.read(f), flux: parsed && parsed.map((p) => p.object) };
      });
    tree.load?.(
      files.filter((f) => !f.flux && f.oid !== undefined && /\.ya?ml$/.test(f.path)).map((f) => f.oid!),
    );
    return files;
  }

  /**
   * The source and path the entry directory is built from. Flux builds it from the source its
   * own Kustomization names: for a fleet pushed as an OCI artifact from a directory of this
   * repository, that artifact, so what the build sees is the artifact's (its `.sourceignore`
   * files scoped to the pushed directory, never the repository root's: `flux push artifact`
   * reads none; see render/sourceignore.ts PUSH_DEFAULT_EXCLUSIONS). Without `--source` for that
   * OCIRepository, it is this checkout's pushed directory (the entry minus the Kustomization's
   * `spec.path`), read at the same commit; otherwise the entry is this checkout (GitRepository).
   */
  private entrySourceRef(): { sourceRef: Record<string, string>; path: string } {
    const checkout = { sourceRef: { kind: 'GitRepository', name: 'flux-system' }, path: this.options.path };
    const own = this.bootstrapSources().get(
      `${ENTRY_OWNER.kind}/${ENTRY_OWNER.namespace}/${ENTRY_OWNER.name}`,
    );
    const source = entryArtifactSource(own);
    if (!source) return checkout;
    const what = `${source.kind} ${source.namespace}/${source.name}`;
    let root = this.sources.mappedDirectory(source.kind, source.namespace, source.name);
    if (!root) {
      const pushed = pushedDirectory(this.options.path, source.path);
      if (pushed === undefined) {
        this.io.log.warn(
          `the entry Kustomization is built from ${what} at ${source.path || './'}, which is not a directory of this checkout ending in ${this.options.path}: its artifact is pulled; map it with --source ${source.kind}/${source.namespace}/${source.name}=DIR to render a local directory`,
        );
        return checkout;
      }
      root = join(this.repo, pushed);
      this.sources.map(source.kind, source.namespace, source.name, root);
      this.io.log.info(
        `${what}: the entry Kustomization's source, read from ${pushed || '.'} of this checkout as the artifact pushed from it (map it with --source to change)`,
      );
    }
    const entry = resolve(this.repo, this.options.path);
    if (entry !== root && !entry.startsWith(root + sep)) return checkout;
    return {
      sourceRef: { kind: source.kind, name: source.name, namespace: source.namespace },
      path: relative(root, entry).split(sep).join('/') || './',
    };
  }

  /** Off the event loop: a large render's scratch takes a while to delete. */
  async dispose(): Promise<void> {
    await rm(this.sources.workDir, { recursive: true, force: true });
    this.toolHome.remove();
  }

  private registry(insecure: boolean): RegistryClient {
    const plain = insecure || this.options.insecureRegistry;
    let client = this.clients.get(plain);
    if (!client) {
      client = new RegistryClient({
        insecure: plain,
        creds: this.options.creds,
        env: this.io.env,
        log: this.io.log,
        mirrors: this.options.registryMirrors,
      });
      this.clients.set(plain, client);
    }
    return client;
  }

  async run(): Promise<RenderResult> {
    if (!this.entryExists()) {
      throw new FluxgateError(
        'INPUT',
        `--path ${this.options.path}: no such directory in ${this.options.repo}`,
        { exitCode: 2 },
      );
    }
    // Every owner is a kustomize build: without the tool, say so once instead of once per owner.
    requireTool(this.io.env, 'kustomize', 'kubectl');
    const root: KustomizationItem = {
      owner: { ...ENTRY_OWNER },
      flux: {
        apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
        kind: 'Kustomization',
        metadata: { name: ENTRY_OWNER.name, namespace: ENTRY_OWNER.namespace },
        spec: this.entrySourceRef(),
      },
      path: [],
    };
    this.seen.set(ownerKey(root.owner), root);
    this.options.discovered?.(root.owner, undefined);

    let wave: KustomizationItem[] = [root];
    let pending: Built[] = [];
    while (wave.length || pending.length) {
      const built = (await mapPool(wave, this.options.concurrency, (item) => this.build(item))).filter(
        (b): b is Built => b !== undefined,
      );
      pending = [...pending, ...built];
      const next: KustomizationItem[] = [];
      // Post-process what can be: a substituteFrom object may come from a build of this wave.
      for (let progress = true; progress && pending.length;) {
        progress = false;
        for (const b of [...pending]) {
          const missing = this.missingReferences(b.item);
          if (
            missing.length &&
            (wave.length || next.length || pending.length > 1) &&
            this.canWait(b, pending)
          )
            continue;
          pending = pending.filter((p) => p !== b);
          progress = true;
          next.push(...this.finish(b));
        }
      }
      wave = next;
      // ResourceSets expand when nothing else is in flight: their providers, and the objects they
      // copy from, may come from any build; what they generate may be what a pending build waits for.
      if (!wave.length && this.resourceSets.length) {
        wave = this.expandResourceSets();
        continue;
      }
      if (!wave.length && pending.length) {
        // Nothing more will appear: finish the rest, reporting what is missing.
        for (const b of pending) wave.push(...this.finish(b));
        pending = [];
      }
    }

    for (const p of this.instancePatches) await this.patchInstanceObjects(p);
    await mapPool(this.helmReleases, this.options.concurrency, (hr) => this.renderHelm(hr));

    const order = (o: RenderedObject) =>
      [
        ownerKey(o.owner),
        groupOf(o.object.apiVersion),
        o.object.kind,
        o.object.metadata?.namespace ?? '',
        o.object.metadata?.name ?? '',
      ].join('\u0000');
    // Copies of Secret values in other objects, once every build has been seen.
    for (const o of this.objects) o.object = this.copies.scrub(o.object);
    this.objects.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
    this.errors.sort((a, b) => (ownerKey(a.owner) < ownerKey(b.owner) ? -1 : 1));
    this.rendered.sort((a, b) => (ownerKey(a) < ownerKey(b) ? -1 : 1));
    const byOwner = (a: { owner: OwnerRef }, b: { owner: OwnerRef }) =>
      ownerKey(a.owner) < ownerKey(b.owner) ? -1 : 1;
    return {
      objects: this.objects,
      errors: this.errors,
      warnings: [
        ...this.warnings.sort(byOwner),
        ...appliedTwice(this.objects, (owner) => this.defaultNamespace(owner)),
      ],
      rendered: this.rendered,
      suspended: this.suspended.sort((a, b) => (ownerKey(a) < ownerKey(b) ? -1 : 1)),
      notices: this.notices.sort(byOwner),
      builds: this.counts,
    };
  }

  /** Waiting only helps while something else may still produce the missing object. */
  private canWait(b: Built, pending: Built[]): boolean {
    return pending.some((p) => p !== b && this.missingReferences(p.item).length === 0);
  }

  /** An error on an owner, at `origin` when known, else where the owner is defined. */
  /** `owners built/known, elapsed`: known grows as builds find more Kustomizations and HelmReleases. */
  private progress(): void {
    const known = this.seen.size + this.helmReleases.length;
    const seconds = Math.round((Date.now() - this.started) / 1000);
    this.io.log.progress?.(
      `${this.options.progressLabel ?? `render ${this.options.path}`}: ${this.done}/${known} owners built, ${seconds}s`,
    );
  }

  /**
   * Where a namespaced object written without a namespace is applied. helm-controller's client
   * puts it in the release's namespace (targetNamespace, else the HelmRelease's); kustomize-controller
   * only has kustomize's `namespace:` (the Kustomization's targetNamespace) and otherwise refuses the
   * object ("namespace not specified"), so it keeps the empty namespace it was written with.
   */
  private defaultNamespace(owner: OwnerRef): string {
    const key = ownerKey(owner);
    if (owner.kind !== 'HelmRelease') return this.ownerNamespaces.get(key) ?? '';
    const release = this.helmReleases.find((hr) => ownerKey(hr.owner) === key)?.flux;
    return (release && field<string>(release, 'spec', 'targetNamespace')) || owner.namespace;
  }

  private fail(owner: OwnerRef, message: string, origin?: Origin): void {
    const where = origin ?? this.ownerOrigins.get(ownerKey(owner));
    this.errors.push({
      owner,
      message: `${describeOwner(owner)}: ${message}`,
      ...(where ? { origin: where } : {}),
    });
  }

  /**
   * A render that keeps its builds (`--cache-dir`, a run on the main branch) keeps the Flux
   * objects of the repository's files too, by blob id: a later diff's planner reads them
   * instead of parsing every file again (diff/changed.ts).
   */
  keepFluxParses(): void {
    if (!this.builds.persistent || this.options.builds) return;
    const parses = this.builds.fluxParses();
    const graph = new FluxGraph(this.options.tree ?? directoryTree(this.repo, true), {
      cache: parses.objects,
      references: parses.references,
    });
    // What each owner's build can read: the kustomization files a plan follows.
    for (const o of graph.objects)
      if (isFluxKustomization(o.object) || isHelmRelease(o.object)) graph.inputsOf(o);
    this.builds.keepFluxParses(parses);
  }

  private linesOf(root: string): SourceLines {
    let lines = this.sourceLines.get(root);
    if (!lines)
      this.sourceLines.set(
        root,
        (lines = new SourceLines(
          root,
          (file) => this.sources.readFile(root, file),
          this.sources.readsFromTree(root),
        )),
      );
    return lines;
  }

  private async build(item: KustomizationItem): Promise<Built | undefined> {
    try {
      return await this.buildOwner(item);
    } finally {
      this.done++;
      this.progress();
    }
  }

  private async buildOwner(item: KustomizationItem): Promise<Built | undefined> {
    const { owner, flux } = item;
    let source: string | undefined;
    try {
      const kind = field<string>(flux, 'spec', 'sourceRef', 'kind') ?? 'GitRepository';
      const name = field<string>(flux, 'spec', 'sourceRef', 'name');
      const namespace = field<string>(flux, 'spec', 'sourceRef', 'namespace') || owner.namespace;
      if (!name) throw new Error('spec.sourceRef.name is missing');
      source = await this.sources.resolve(kind, namespace, name);
      const path = field<string>(flux, 'spec', 'path') || './';
      const dir = resolve(source, path);
      if (dir !== source && !dir.startsWith(source + sep))
        throw new Error(`path ${path} escapes ${kind} ${namespace}/${name}`);
      if (!this.sources.isDirectory(dir))
        throw new Error(`path ${path} not found in ${kind} ${namespace}/${name}`);
      if (this.options.shouldBuild && !this.options.shouldBuild(owner, { flux, dir })) return undefined;
      let keepOrigins = false;
      const spec = (flux.spec ?? {}) as KustomizeOverlay;
      if (spec.targetNamespace) this.ownerNamespaces.set(ownerKey(owner), spec.targetNamespace);
      const dirs = [dir, ...(spec.components ?? []).map((c) => resolve(dir, c))];
      const isEntry = item.path.length === 0;
      // Decrypting builds read their files before kustomize does, and are never reused.
      const decrypts = field(flux, 'spec', 'decryption') !== undefined;
      let key =
        decrypts || !this.builds.active
          ? undefined
          : await this.kustomizeKey(source, dir, dirs, spec, isEntry, []);
      // The whole entry as a run on the main branch stored it is read rather than a part built:
      // a warm run then builds nothing but the changed owners (about as fast at 500 apps).
      const omitted =
        isEntry && !decrypts && !(key && this.builds.persistent && this.builds.has(key.key))
          ? this.entryOmissions(owner, flux, source, dir, spec, key?.inputs)
          : [];
      if (key && omitted.length)
        key = await this.kustomizeKey(source, dir, dirs, spec, isEntry, omitted, key.inputs);
      const omit = new Set(omitted);
      let prepared = false;
      // A lazily written source gets a build's files only when the build runs (not when reused).
      const prepare = () => {
        if (!prepared) this.sources.prepare(dirs, omit);
        prepared = true;
      };
      if (decrypts) prepare();
      let origin: BuildOrigin = 'built';
      const built = await buildWithSops(
        this.sops,
        {
          flux,
          isEntry,
          sourceRoot: source,
          dir,
          components: spec.components ?? [],
          workDir: this.sources.workDir,
          lookupSecret: (name) => this.index.get(objectKey('Secret', owner.namespace, name)),
          prepare,
        },
        async (root, d) => {
          // The output as stored: kustomize's text, after a comment line when the kustomization
          // asked for origin annotations itself (they stay on its objects; see takeOrigin).
          const run = async () => {
            prepare();
            const output = await kustomizeBuild(
              root,
              d,
              spec,
              this.runTool,
              this.io.env,
              this.toolHome,
              omit,
            );
            return (output.keepOrigins ? KEEP_ORIGINS : '') + output.text;
          };
          if (!key || root !== source || d !== dir) {
            origin = 'built';
            const text = await run();
            keepOrigins = text.startsWith(KEEP_ORIGINS);
            return parseObjects(text, 'kustomize output');
          }
          const result = await this.builds.output(key.key, run, (output) =>
            this.storable(output, key.inputs),
          );
          origin = result.origin;
          keepOrigins = result.output.startsWith(KEEP_ORIGINS);
          return this.builds.objects(key.key, () => parseObjects(result.output, 'kustomize output'));
        },
      );
      this.counts[origin]++;
      item.flux = built.flux;
      this.rendered.push(owner);
      const lines = this.sources.isRepository(source) ? this.linesOf(source) : undefined;
      const buildDir = relative(source, dir).split(sep).join('/');
      const origins = built.objects.map((o) => {
        const from = takeOrigin(o, buildDir, keepOrigins);
        if (!from || !lines) return undefined;
        const name = String(o?.metadata?.name ?? '');
        const kind = String(o?.kind ?? '');
        lines.hold(from.file);
        return lazyOrigin(from.file, () =>
          from.generated ? lines.lineOfGenerator(from.file, name) : lines.lineOf(from.file, kind, name),
        );
      });
      if (isSuspended(flux)) this.suspended.push(owner);
      return { item, objects: built.objects, origins, lines };
    } catch (err) {
      const at =
        err instanceof LocatedError && source && this.sources.isRepository(source)
          ? { file: err.file, ...(err.line ? { line: err.line } : {}) }
          : undefined;
      this.fail(owner, errorLine(err), at);
      return undefined;
    }
  }

  /**
   * The key of a kustomize build: the files it can read (content ids), its overlay, whether it is
   * the entry, and, when the cache outlives the run, the kustomize version. Undefined when the
   * inputs cannot be listed (the build then runs, uncached).
   */
  private async kustomizeKey(
    source: string,
    dir: string,
    dirs: string[],
    spec: KustomizeOverlay,
    isEntry: boolean,
    omitted: string[],
    /** The inputs, when listed already (for the same build, without omissions). */
    listed?: ReturnType<SourceResolver['buildInputs']>,
  ): Promise<{ key: string; inputs: ReturnType<SourceResolver['buildInputs']> } | undefined> {
    try {
      const inputs = listed ?? this.sources.buildInputs(dirs);
      const tool = this.builds.persistent ? await kustomizeVersion(this.runTool, this.io.env) : '';
      const key = buildKey('kustomize', {
        tool,
        dir: relative(source, dir).split(sep).join('/'),
        isEntry,
        overlay: overlayOf(spec),
        files: inputs.files,
        ...(omitted.length ? { omitted } : {}),
      });
      return { key, inputs };
    } catch (err) {
      this.io.log.debug(`build cache: ${errorLine(err)}`);
      return undefined;
    }
  }

  /**
   * Changed-only renders: the entry directory's files that define nothing but Flux Kustomizations
   * the plan does not build (and so does not need to see), left out of the entry's build. Both
   * sides leave out the same files, so the smaller build is still shared. Only where leaving a
   * file out cannot change what kustomize makes of the others, or hide an error a full render
   * reports: a generated kustomization (no kustomization file), an overlay that acts object by
   * object (no name prefix or suffix, components, patches or postBuild), every file decoding,
   * no object defined twice, and each Kustomization reading the entry's own source at a
   * directory it has. Paths relative to the source root, sorted.
   */
  private entryOmissions(
    owner: OwnerRef,
    flux: KubeObject,
    source: string,
    dir: string,
    spec: KustomizeOverlay,
    /** What a build of `dir` can read, when listed already. */
    listed?: ReturnType<SourceResolver['buildInputs']>,
  ): string[] {
    const shouldBuild = this.options.shouldBuild;
    if (!shouldBuild || this.options.discovered) return [];
    if (spec.namePrefix || spec.nameSuffix || spec.components?.length || spec.patches?.length) return [];
    if (field(flux, 'spec', 'postBuild') !== undefined) return [];
    const rel = relative(source, dir).split(sep).join('/');
    const inDir = (f: string) => rel === '' || f.startsWith(`${rel}/`);
    if (KUSTOMIZATION_FILES.some((k) => this.sources.readFile(source, rel ? `${rel}/${k}` : k) !== undefined))
      return [];
    // No components (above): the build's inputs are those of `dir` alone.
    const inputs = listed ?? this.sources.buildInputs([dir]);
    const files = inputs.files.map(([f]) => f).filter(inDir);
    // A directory with a kustomization is a resource of its own (fluxcd/pkg scanManifests): kept.
    const kustomized = new Set(
      files.filter((f) => KUSTOMIZATION_FILES.includes(posix.basename(f))).map((f) => posix.dirname(f)),
    );
    const resources = files.filter((f) => {
      if (!/\.ya?ml$/.test(f)) return false;
      for (let d = posix.dirname(f); d !== rel && d !== '.'; d = posix.dirname(d))
        if (kustomized.has(d)) return false;
      return true;
    });
    const sourceKey = (o: KubeObject, ns: string) => {
      const ref = field<Record<string, string>>(o, 'spec', 'sourceRef') ?? {};
      return `${ref.kind ?? 'GitRepository'}/${ref.namespace || ns}/${ref.name}`;
    };
    const entrySource = sourceKey(flux, owner.namespace);
    inputs.load(resources);
    const ids = new Set<string>();
    const candidates: { file: string; owners: { owner: OwnerRef; flux: KubeObject; dir: string }[] }[] = [];
    for (const file of resources) {
      const owners: { owner: OwnerRef; flux: KubeObject; dir: string }[] = [];
      let others = false;
      for (const doc of yamlDocuments(inputs.read(file) ?? '')) {
        if (doc.error || doc.invalid !== undefined) return [];
        const o = doc.value as KubeObject | null;
        if (o === null || typeof o !== 'object' || Array.isArray(o)) {
          if (o === null || (Array.isArray(o) && !o.length)) continue;
          return [];
        }
        if (!Object.keys(o).length) continue;
        if (String(o.kind ?? '').endsWith('List')) return [];
        const namespace = spec.targetNamespace || o.metadata?.namespace || '';
        // kustomize refuses an object defined twice: that error is the whole build's to report.
        const id = [
          groupOf(String(o.apiVersion ?? '')),
          o.kind,
          namespace || 'default',
          o.metadata?.name,
        ].join('/');
        if (ids.has(id)) return [];
        ids.add(id);
        const path = field<string>(o, 'spec', 'path') || './';
        const at = resolve(source, path);
        const readable =
          isFluxKustomization(o) &&
          namespace !== '' &&
          !!o.metadata?.name &&
          sourceKey(o, namespace) === entrySource &&
          (at === source || at.startsWith(source + sep)) &&
          this.sources.isDirectory(at);
        if (readable)
          owners.push({
            owner: { kind: 'Kustomization', namespace, name: o.metadata.name },
            flux: o,
            dir: at,
          });
        else others = true;
      }
      if (!others && owners.length) candidates.push({ file, owners });
    }
    return candidates
      .filter((c) => c.owners.every((o) => !shouldBuild(o.owner, { flux: o.flux, dir: o.dir })))
      .map((c) => c.file);
  }

  /**
   * Whether a kustomize output may be stored on disk: not when it holds a Secret, nor when its
   * kustomizations copy values (replacements, vars) and a file it reads names a Secret (a value
   * may have been copied out of a Secret that a patch then deleted).
   */
  private storable(output: string, inputs: ReturnType<SourceResolver['buildInputs']>): boolean {
    if (holdsSecret(output)) return false;
    const texts = inputs.files.map(([f]) => [f, inputs.read(f) ?? ''] as const);
    const copies = texts.some(
      ([f, t]) => KUSTOMIZATION_FILES.includes(basename(f)) && /^\s*(replacements|vars)\s*:/m.test(t),
    );
    return !(copies && texts.some(([, t]) => /Secret|secretGenerator/.test(t)));
  }

  private missingReferences(item: KustomizationItem): string[] {
    const refs =
      field<{ kind: string; name: string; optional?: boolean }[]>(
        item.flux,
        'spec',
        'postBuild',
        'substituteFrom',
      ) ?? [];
    return refs
      .filter((r) => !this.index.has(objectKey(r.kind, item.owner.namespace, r.name)))
      .map((r) => `${r.kind} ${item.owner.namespace}/${r.name}${r.optional ? ' (optional)' : ''}`);
  }

  /** Substitution, owner labels, commonMetadata; returns the Kustomizations found. */
  private finish({ item, objects, origins, lines }: Built): KustomizationItem[] {
    const { owner, flux } = item;
    let vars: Map<string, string> | undefined;
    let out: KubeObject[];
    // Values as built: a `replacements` copy holds these, before any substitution.
    for (const o of objects) this.copies.remember(o);
    try {
      vars = this.variables(item);
      const strategy = field<string>(flux, 'spec', 'postBuild', 'substituteStrategy');
      const substituteAll = vars.size > 0 || strategy === 'Always';
      out = objects.map((o, i) => {
        if (!o || !o.apiVersion || !o.kind || !o.metadata?.name) {
          // Named, never quoted: the object may hold secret values.
          throw new Error(
            `an object without apiVersion, kind or metadata.name (kind ${JSON.stringify(o?.kind ?? null)}, name ${JSON.stringify(o?.metadata?.name ?? null)})`,
          );
        }
        const opted =
          o.metadata.labels?.[SUBSTITUTE_OPT_OUT] === 'disabled' ||
          o.metadata.annotations?.[SUBSTITUTE_OPT_OUT] === 'disabled';
        if (!substituteAll || opted) return o;
        // No `$` anywhere: the substitution would give back the same text (and a YAML round trip).
        if (!JSON.stringify(o).includes('$')) return o;
        return this.substituteObject(o, vars!, origins[i], lines);
      });
    } catch (err) {
      this.fail(
        owner,
        errorLine(err),
        err instanceof LocatedError ? { file: err.file, line: err.line } : undefined,
      );
      return [];
    }

    const labels = field<Record<string, string>>(flux, 'spec', 'commonMetadata', 'labels') ?? {};
    const annotations = field<Record<string, string>>(flux, 'spec', 'commonMetadata', 'annotations') ?? {};
    const found: KustomizationItem[] = [];
    for (const [i, o] of out.entries()) {
      const origin = origins[i];
      this.copies.remember(o);
      o.metadata.labels = {
        ...o.metadata.labels,
        [OWNER_NAME]: owner.name,
        [OWNER_NAMESPACE]: owner.namespace,
        ...labels,
      };
      if (Object.keys(annotations).length)
        o.metadata.annotations = { ...o.metadata.annotations, ...annotations };
      found.push(...this.adopt(item, o, origin));
    }
    return found;
  }

  /**
   * An object `item` applies: indexed for later lookups, in the result, and followed when it is
   * itself an owner (a Kustomization built next, a HelmRelease templated, a ResourceSet expanded,
   * a FluxInstance's sync objects). Returns the Kustomizations to build.
   */
  private adopt(item: KustomizationItem, o: KubeObject, origin?: Origin): KustomizationItem[] {
    const { owner } = item;
    this.index.set(objectKey(o.kind, o.metadata.namespace, o.metadata.name), o);
    this.objects.push({
      owner,
      object: this.sops.sealed(o) ?? maskSecret(o, this.masker),
      ...(origin ? { origin } : {}),
    });
    if (isFluxKustomization(o)) {
      const key = ownerKey({
        kind: 'Kustomization',
        namespace: o.metadata.namespace || 'default',
        name: o.metadata.name,
      });
      if (origin && !this.ownerOrigins.has(key)) this.ownerOrigins.set(key, origin);
      const child = this.child(item, o);
      return child ? [child] : [];
    }
    if (isHelmRelease(o)) {
      const release: OwnerRef = {
        kind: 'HelmRelease',
        namespace: o.metadata.namespace || 'default',
        name: o.metadata.name,
      };
      if (origin && !this.ownerOrigins.has(ownerKey(release)))
        this.ownerOrigins.set(ownerKey(release), origin);
      this.options.discovered?.(release, owner);
      this.helmReleases.push({ owner: release, flux: o });
    } else if (isResourceSet(o)) {
      const rs = this.operatorItem(item, 'ResourceSet', o);
      if (rs) this.resourceSets.push(rs);
    } else if (isFluxInstance(o)) {
      return this.fluxInstance(item, o);
    }
    return [];
  }

  /** A Flux Operator object as an owner under `parent`; undefined (and an error) when defined twice. */
  private operatorItem(
    parent: KustomizationItem,
    kind: 'ResourceSet' | 'FluxInstance',
    o: KubeObject,
  ): KustomizationItem | undefined {
    const owner: OwnerRef = { kind, namespace: o.metadata.namespace || 'default', name: o.metadata.name };
    const key = ownerKey(owner);
    if (this.operatorOwners.has(key)) {
      this.fail(owner, `defined twice (the second time by ${describeOwner(parent.owner)})`);
      return undefined;
    }
    this.operatorOwners.add(key);
    this.options.discovered?.(owner, parent.owner);
    return { owner, flux: o, path: [...parent.path, ownerKey(parent.owner)] };
  }

  /**
   * A FluxInstance: its controllers come from the distribution artifact in-cluster (a notice);
   * its `spec.sync` source and Kustomization are what the operator applies, the source being
   * this repository as published. The sync Kustomization of the entry directory is the entry.
   */
  private fluxInstance(parent: KustomizationItem, o: KubeObject): KustomizationItem[] {
    const item = this.operatorItem(parent, 'FluxInstance', o);
    if (!item) return [];
    const { owner } = item;
    const version = field<string>(o, 'spec', 'distribution', 'version');
    this.notices.push({
      owner,
      message: `${describeOwner(owner)}: the Flux controllers${version ? ` (distribution ${version})` : ''} are installed in-cluster by the Flux Operator: not rendered offline`,
    });
    let sync;
    try {
      sync = fluxInstanceSync(o);
    } catch (err) {
      this.fail(owner, errorLine(err));
      return [];
    }
    this.rendered.push(owner);
    if (isSuspended(o)) this.suspended.push(owner);
    if (!sync) return [];
    const { source, kustomization } = sync;
    const patches = field<unknown[]>(o, 'spec', 'kustomize', 'patches') ?? [];
    if (patches.length) this.instancePatches.push({ owner, objects: [source, kustomization], patches });
    this.syncSources.add(objectKey(source.kind, source.metadata.namespace, source.metadata.name));
    for (const generated of [source, kustomization]) {
      this.index.set(
        objectKey(generated.kind, generated.metadata.namespace, generated.metadata.name),
        generated,
      );
      this.objects.push({ owner, object: generated });
    }
    const syncPath = repoPath(field<string>(kustomization, 'spec', 'path') ?? '');
    const entryPath = repoPath(this.options.path);
    if (syncPath === entryPath) return [];
    if (kustomization.metadata.name === 'flux-system' && kustomization.metadata.namespace === 'flux-system') {
      // The cluster's flux-system Kustomization is the sync path, not this entry (a bootstrap
      // directory): rendering both would apply the FluxInstance twice.
      this.notices.push({
        owner,
        message: `${describeOwner(owner)}: syncs path ${syncPath}, not --path ${this.options.path}; render --path ${syncPath} for what the cluster applies`,
      });
      return [];
    }
    const child = this.child(item, kustomization);
    return child ? [child] : [];
  }

  /**
   * A FluxInstance's `spec.kustomize.patches` over its sync objects, in place, as the operator
   * patches what it generates (the d2 fleets add `spec.verify` to the sync source this way).
   */
  private async patchInstanceObjects(p: { owner: OwnerRef; objects: KubeObject[]; patches: unknown[] }) {
    try {
      const manifest = p.objects.map((o) => `---\n${stringify(o)}`).join('');
      const patched = parseObjects(
        await kustomizePatches(manifest, p.patches, this.sources.workDir, this.io.env, this.runTool),
        'spec.kustomize.patches output',
      );
      for (const o of p.objects) {
        const match = patched.find((x) => x.kind === o.kind && x.metadata?.name === o.metadata.name);
        if (!match) continue;
        for (const key of Object.keys(o)) delete o[key];
        Object.assign(o, match);
      }
    } catch (err) {
      this.fail(p.owner, `spec.kustomize.patches: ${errorLine(err)}`);
    }
  }

  /** Every queued ResourceSet expanded; the Kustomizations it generates are the next wave. */
  private expandResourceSets(): KustomizationItem[] {
    const found: KustomizationItem[] = [];
    const queued = this.resourceSets.splice(0);
    for (const item of queued) {
      const { owner, flux } = item;
      let objects: KubeObject[];
      try {
        const expansion = expandResourceSet(flux, [...this.index.values()]);
        objects = expansion.objects;
        for (const note of expansion.notes)
          this.notices.push({ owner, message: `${describeOwner(owner)}: ${note}` });
      } catch (err) {
        this.fail(owner, errorLine(err));
        continue;
      }
      this.rendered.push(owner);
      if (isSuspended(flux)) this.suspended.push(owner);
      for (const o of objects) {
        if (!o.metadata?.name) {
          this.fail(owner, `generated a ${o.kind} without metadata.name`);
          continue;
        }
        this.copyFrom(owner, o);
        this.copies.remember(o);
        found.push(...this.adopt(item, o));
      }
    }
    return found;
  }

  /**
   * `fluxcd.controlplane.io/copyFrom: namespace/name` on a generated ConfigMap or Secret: the
   * operator copies the data of that object in-cluster (flux-operator internal/controller
   * resourceset_controller_configs.go copyResources). From an object the render knows, the copy
   * is made here; otherwise it is in-cluster only, which the render says as a warning.
   */
  private copyFrom(owner: OwnerRef, o: KubeObject): void {
    const from = o.metadata.annotations?.[COPY_FROM_ANNOTATION];
    if (from === undefined || o.apiVersion !== 'v1' || (o.kind !== 'ConfigMap' && o.kind !== 'Secret'))
      return;
    const what = `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
    const parts = from.split('/');
    if (parts.length !== 2) {
      this.fail(
        owner,
        `${what}: invalid ${COPY_FROM_ANNOTATION} annotation value '${from}' must be in the format 'namespace/name'`,
      );
      return;
    }
    const source = this.index.get(objectKey(o.kind, parts[0], parts[1]!));
    if (!source) {
      this.warnings.push({
        owner,
        message: `${describeOwner(owner)}: ${what} copies ${o.kind} ${from} in-cluster only: it is not in the render, so the copy is rendered without its data`,
      });
      return;
    }
    if (o.kind === 'ConfigMap') {
      if (source.data !== undefined) o.data = structuredClone(source.data);
      if (source.binaryData !== undefined) o.binaryData = structuredClone(source.binaryData);
      return;
    }
    if (o.type === undefined) o.type = (source.type as string | undefined) || 'Opaque';
    o.stringData = Object.fromEntries(secretValues(source));
  }

  /**
   * kustomize-controller's substitution of one object's YAML text. A failure names the object and
   * the field; where the field is secret (a Secret's data, or a copy of a Secret value) it says
   * what is wrong without quoting any of it.
   */
  private substituteObject(
    o: KubeObject,
    vars: Map<string, string>,
    origin?: Origin,
    lines?: SourceLines,
  ): KubeObject {
    const text = stringify(o);
    const what = `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
    const secretField = (field?: { path: string; source: string }) =>
      !!field &&
      ((isSecret(o) && /^(data|stringData)(\.|\[|$)/.test(field.path)) || this.copies.holds(field.source));
    const fail = (field: { path: string; source: string } | undefined, reason: string, detail: string) => {
      const secret = secretField(field);
      const where = field ? `, ${secret ? 'key' : 'field'} ${field.path}` : '';
      return new Error(
        `postBuild substitution in ${what}${where}: ${secret ? `${reason} (not shown: the value is secret)` : detail}`,
      );
    };
    let result: string;
    try {
      result = substitute(text, vars, { strict: this.options.strictSubstitute });
    } catch (err) {
      if (!(err instanceof SubstitutionError)) throw err;
      const error = fail(fieldAt(text, err.offset ?? 0), err.reason, err.message);
      if (!origin) throw error;
      // The line of the failing `${...}` in the file that defines the object.
      const expression = variableAt(text, err.offset ?? 0);
      const line = expression
        ? lines?.lineOfText(origin.file, o.kind, o.metadata.name, expression)
        : origin.line;
      throw new LocatedError(error.message, origin.file, line ?? origin.line);
    }
    // parseDocument, not parse: the `yaml` library's warnings would print the source line on stderr.
    const doc = parseDocument(result, { logLevel: 'error' });
    if (doc.errors.length) {
      // Substitution keeps line breaks, so the failing line of the result is a line of `text`.
      const line = doc.errors[0]!.linePos?.[0].line ?? 1;
      const start =
        text
          .split('\n')
          .slice(0, line - 1)
          .join('\n').length + (line > 1 ? 1 : 0);
      const end = text.indexOf('\n', start) < 0 ? text.length : text.indexOf('\n', start);
      throw fail(
        fieldAt(text, start, end),
        'the result is not valid YAML',
        `the result is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`,
      );
    }
    return doc.toJS() as KubeObject;
  }

  private child(parent: KustomizationItem, o: KubeObject): KustomizationItem | undefined {
    const owner: OwnerRef = {
      kind: 'Kustomization',
      namespace: o.metadata.namespace || 'default',
      name: o.metadata.name,
    };
    const key = ownerKey(owner);
    const chain = [...parent.path, ownerKey(parent.owner)];
    if (chain.includes(key)) {
      // The entry Kustomization's own definition (bootstrap's gotk-sync) is not a cycle.
      if (key === chain[0] && chain.length === 1) return undefined;
      this.fail(
        parent.owner,
        `cycle: ${[...chain, key].map((k) => k.replace(/^Kustomization\//, '')).join(' → ')}`,
      );
      return undefined;
    }
    if (this.seen.has(key)) {
      this.fail(
        owner,
        `defined twice, by ${describeOwner(this.seen.get(key)!.owner)} and ${describeOwner(parent.owner)}`,
      );
      return undefined;
    }
    const item = { owner, flux: o, path: chain };
    this.seen.set(key, item);
    this.options.discovered?.(owner, parent.owner);
    return item;
  }

  /** postBuild variables: substituteFrom in order, then inline substitute; Secret values as markers. */
  private variables(item: KustomizationItem): Map<string, string> {
    const vars = new Map<string, string>();
    const refs =
      field<{ kind: string; name: string; optional?: boolean }[]>(
        item.flux,
        'spec',
        'postBuild',
        'substituteFrom',
      ) ?? [];
    for (const ref of refs) {
      const object = this.index.get(objectKey(ref.kind, item.owner.namespace, ref.name));
      if (!object) {
        if (ref.optional) continue;
        throw new Error(`substituteFrom ${ref.kind} ${item.owner.namespace}/${ref.name} not found`);
      }
      const values =
        ref.kind === 'Secret' && isSecret(object)
          ? new Map([...secretValues(object)].map(([k, v]) => [k, this.masker.mask(v)]))
          : new Map(
              Object.entries((object.data as Record<string, string>) ?? {}).map(([k, v]) => [k, String(v)]),
            );
      for (const [k, v] of values) vars.set(k, v);
    }
    for (const [k, v] of Object.entries(
      field<Record<string, unknown>>(item.flux, 'spec', 'postBuild', 'substitute') ?? {},
    )) {
      vars.set(k, String(v));
    }
    for (const [k, v] of vars) {
      if (!VARIABLE_NAME.test(k)) throw new Error(`postBuild: '${k}' is not a valid variable name`);
      vars.set(k, v.replace(/\n/g, ''));
    }
    return vars;
  }

  private async renderHelm(hr: { owner: OwnerRef; flux: KubeObject }): Promise<void> {
    try {
      await this.renderHelmRelease(hr);
    } finally {
      this.done++;
      this.progress();
    }
  }

  private async renderHelmRelease(hr: { owner: OwnerRef; flux: KubeObject }): Promise<void> {
    // A chart's objects are placed where their HelmRelease is defined.
    const origin = this.ownerOrigins.get(ownerKey(hr.owner));
    if (this.options.shouldBuild && !this.options.shouldBuild(hr.owner, { flux: hr.flux })) return;
    let built: BuildOrigin = 'built';
    try {
      const objects = await renderHelmRelease(hr.flux, {
        lookup: (kind, ns, name) => this.index.get(objectKey(kind, ns, name)),
        // What a chart reads (values files, file:// dependencies) is not known statically.
        sourceDir: async (kind, ns, name) => {
          const dir = await this.sources.resolve(kind, ns, name);
          this.sources.prepareAll(dir);
          return dir;
        },
        masker: this.masker,
        log: this.io.log,
        env: this.io.env,
        registryMirrors: this.options.registryMirrors,
        helmRepoMirrors: this.options.helmRepoMirrors,
        cacheDir: this.options.cacheDir
          ? resolve(this.io.cwd, this.options.cacheDir)
          : join(this.sources.workDir, 'charts'),
        kubeVersion: this.options.kubeVersion,
        apiVersions: this.options.apiVersions,
        insecureRegistry: this.options.insecureRegistry,
        creds: this.options.creds,
        chartCache: this.chartCache,
        registry: (insecure) => this.registry(insecure),
        workDir: this.sources.workDir,
        run: this.runTool,
        toolHome: this.toolHome,
        buildOutput: !this.builds.active
          ? undefined
          : async (inputs, build) => {
              const postRenders = (inputs as { postRenderers: unknown[] }).postRenderers.length > 0;
              let tools: string[] = [];
              try {
                if (this.builds.persistent)
                  tools = [
                    await helmVersion(this.runTool, this.io.env),
                    postRenders ? await kustomizeVersion(this.runTool, this.io.env) : '',
                  ];
              } catch (err) {
                this.io.log.debug(`build cache: ${errorLine(err)}`);
                return build();
              }
              const result = await this.builds.output(
                buildKey('helm', { tools, inputs }),
                build,
                (output) => !/\(secret:/.test(JSON.stringify(inputs)) && !holdsSecret(output),
              );
              built = result.origin;
              return result.output;
            },
      });
      this.rendered.push(hr.owner);
      if (isSuspended(hr.flux)) this.suspended.push(hr.owner);
      this.counts[built]++;
      for (const o of objects) {
        this.copies.remember(o);
        this.objects.push({
          owner: hr.owner,
          object: maskSecret(o, this.masker),
          ...(origin ? { origin } : {}),
        });
      }
    } catch (err) {
      this.fail(hr.owner, errorLine(err));
    }
  }
}

/** The `${...}` expression starting at `offset` of `text` (its braces balanced), if any. */
function variableAt(text: string, offset: number): string | undefined {
  if (!text.startsWith('${', offset)) return undefined;
  let depth = 0;
  for (let i = offset + 1; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return text.slice(offset, i + 1);
    else if (text[i] === '\n') return undefined;
  }
  return undefined;
}

/**
 * An origin whose line is found when first read (a review shows the lines of the objects that
 * changed; finding every object's means parsing every file a build read).
 */
function lazyOrigin(file: string, findLine: () => number | undefined): Origin {
  let line: number | undefined | null = null;
  return Object.defineProperty({ file } as Origin, 'line', {
    enumerable: true,
    get: () => (line === null ? (line = findLine() || undefined) : line),
  });
}
