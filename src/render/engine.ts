import { existsSync, rmSync } from 'node:fs';
import { basename, join, relative, resolve, sep } from 'node:path';
import { parseDocument, stringify } from 'yaml';
import type { RenderEngineOptions } from './options.js';
import { errorLine, FluxgateError } from '../errors.js';
import {
  describeOwner,
  field,
  groupOf,
  isFluxKustomization,
  isHelmRelease,
  objectKey,
  parseObjects,
  SOURCE_EXTENSIONS_GROUP,
} from '../flux/objects.js';
import { readCheckout, type CheckoutIdentity } from '../flux/checkout.js';
import type { Logger } from '../log.js';
import { RegistryClient } from '../oci/client.js';
import { mapPool } from '../util/pool.js';
import type { SecretRegistry } from '../util/redact.js';
import { helmVersion, renderHelmRelease } from './helm/index.js';
import {
  KUSTOMIZATION_FILES,
  kustomizeBuild,
  kustomizeVersion,
  overlayOf,
  type KustomizeOverlay,
} from './kustomize.js';
import { BuildCache, buildKey, noBuilds, type BuildCounts, type BuildOrigin } from './cache.js';
import { runProcess, ToolHome, type ProcessRunner } from './process.js';
import { createSecretMasker, isSecret, maskSecret, SecretCopies, secretValues } from './secrets.js';
import { buildWithSops, SopsDecryptor, SopsKeys } from './sops/index.js';
import { SourceResolver, type SourceTree } from './sources.js';
import { entryGitRepositories } from './sourceignore.js';
import { fieldAt, substitute, SubstitutionError, VARIABLE_NAME } from './substitute.js';
import {
  ownerKey,
  type KubeObject,
  type OwnerRef,
  type RenderedObject,
  type RenderError,
  type RenderResult,
  type SecretMasker,
} from './types.js';

export interface RenderClusterOptions extends RenderEngineOptions {
  /** Cluster entry directory, relative to the repository. */
  path: string;
  /** Shared by the base and head renders of one diff, so equal secrets get equal markers. */
  masker?: SecretMasker;
  /** Changed-only mode: false skips building an owner (its objects are absent, it is not in `rendered`). */
  shouldBuild?: (owner: OwnerRef, info: { flux: KubeObject; dir?: string }) => boolean;
  /** The repository at a git ref: Git sources are written from it as builds need them. */
  tree?: SourceTree;
  /** What identifies the repository (default: read from `repo` with git and the Actions environment). */
  checkout?: CheckoutIdentity;
  /** The tool runner (tests and the benchmark wrap it). */
  run?: ProcessRunner;
  /** SOPS keys (loaded once for both sides of a diff); default: from the options and environment. */
  sopsKeys?: SopsKeys;
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
}

/**
 * Objects that two owners apply: each owner's controller would take it over from the other on
 * every reconcile and prune it when the other drops it. Flux applies both without an error, so it
 * is a warning on both owners, not a failure.
 */
function appliedTwice(objects: RenderedObject[]): RenderError[] {
  const byObject = new Map<string, { what: string; owners: Map<string, OwnerRef> }>();
  for (const { owner, object } of objects) {
    const ns = object.metadata?.namespace;
    const key = [groupOf(object.apiVersion), object.kind, ns ?? '', object.metadata?.name].join('/');
    const entry = byObject.get(key) ?? {
      what: `${object.kind} ${ns ? `${ns}/` : ''}${object.metadata?.name}`,
      owners: new Map<string, OwnerRef>(),
    };
    entry.owners.set(ownerKey(owner), owner);
    byObject.set(key, entry);
  }
  const warnings: RenderError[] = [];
  for (const { what, owners } of byObject.values()) {
    if (owners.size < 2) continue;
    for (const [key, owner] of owners) {
      const others = [...owners.entries()].filter(([k]) => k !== key).map(([, o]) => describeOwner(o));
      warnings.push({
        owner,
        message: `${describeOwner(owner)}: ${what} is also applied by ${others.join(', ')}; the owners would fight over it`,
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
    return await render.run();
  } finally {
    render.dispose();
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
  private readonly sources: SourceResolver;
  private readonly clients = new Map<boolean, RegistryClient>();
  private readonly chartCache = new Map<string, Promise<string>>();
  private readonly sops: SopsDecryptor;
  private readonly builds: BuildCache;
  private readonly counts: BuildCounts = noBuilds();
  private readonly toolHome = new ToolHome();

  constructor(
    private readonly options: RenderClusterOptions,
    private readonly io: RenderIO,
    sopsKeys: SopsKeys,
  ) {
    this.repo = resolve(io.cwd, options.repo);
    this.masker = options.masker ?? createSecretMasker();
    this.sops = new SopsDecryptor(sopsKeys, this.masker);
    this.copies = new SecretCopies(this.masker, io.secrets);
    this.runTool = options.run ?? runProcess;
    this.builds = options.builds ?? new BuildCache(buildCacheDir(options, io.cwd));
    this.sources = new SourceResolver({
      repo: this.repo,
      mappings: new Map([...options.sources].map(([k, v]) => [k, resolve(io.cwd, v)])),
      lookup: (kind, ns, name) =>
        this.index.get(objectKey(kind, ns, name)) ??
        (kind === 'GitRepository' ? this.bootstrapSources().get(`${ns}/${name}`) : undefined),
      findGenerator: (ns, artifact) =>
        [...this.index.values()].find(
          (o) =>
            o.kind === 'ArtifactGenerator' &&
            groupOf(o.apiVersion) === SOURCE_EXTENSIONS_GROUP &&
            (o.metadata.namespace ?? '') === ns &&
            (field<{ name: string }[]>(o, 'spec', 'artifacts') ?? []).some((a) => a.name === artifact),
        ),
      registry: (insecure) => this.registry(insecure),
      log: io.log,
      tree: options.tree,
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

  /** GitRepositories defined under the entry directory, known before its first build. */
  private bootstrapSources(): Map<string, KubeObject> {
    const rel = this.entryInTree();
    const tree = this.options.tree;
    this.entrySources ??= (
      tree && rel !== undefined && !rel.startsWith('..')
        ? entryGitRepositories(
            tree.files
              .filter((f) => (rel === '' || f.startsWith(`${rel}/`)) && !tree.isSymlink(f))
              .map((f) => ({ path: f, read: () => tree.read(f) })),
          )
        : entryGitRepositories(join(this.repo, this.options.path))
    ) as Map<string, KubeObject>;
    return this.entrySources;
  }

  dispose(): void {
    rmSync(this.sources.workDir, { recursive: true, force: true });
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
      );
    }
    const root: KustomizationItem = {
      owner: { kind: 'Kustomization', namespace: 'flux-system', name: 'flux-system' },
      flux: {
        apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
        kind: 'Kustomization',
        metadata: { name: 'flux-system', namespace: 'flux-system' },
        spec: { path: this.options.path, sourceRef: { kind: 'GitRepository', name: 'flux-system' } },
      },
      path: [],
    };
    this.seen.set(ownerKey(root.owner), root);

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
      if (!wave.length && pending.length) {
        // Nothing more will appear: finish the rest, reporting what is missing.
        for (const b of pending) wave.push(...this.finish(b));
        pending = [];
      }
    }

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
    return {
      objects: this.objects,
      errors: this.errors,
      warnings: appliedTwice(this.objects),
      rendered: this.rendered,
      builds: this.counts,
    };
  }

  /** Waiting only helps while something else may still produce the missing object. */
  private canWait(b: Built, pending: Built[]): boolean {
    return pending.some((p) => p !== b && this.missingReferences(p.item).length === 0);
  }

  private fail(owner: OwnerRef, message: string): void {
    this.errors.push({ owner, message: `${describeOwner(owner)}: ${message}` });
  }

  private async build(item: KustomizationItem): Promise<Built | undefined> {
    const { owner, flux } = item;
    try {
      const kind = field<string>(flux, 'spec', 'sourceRef', 'kind') ?? 'GitRepository';
      const name = field<string>(flux, 'spec', 'sourceRef', 'name');
      const namespace = field<string>(flux, 'spec', 'sourceRef', 'namespace') || owner.namespace;
      if (!name) throw new Error('spec.sourceRef.name is missing');
      const source = await this.sources.resolve(kind, namespace, name);
      const path = field<string>(flux, 'spec', 'path') || './';
      const dir = resolve(source, path);
      if (dir !== source && !dir.startsWith(source + sep))
        throw new Error(`path ${path} escapes ${kind} ${namespace}/${name}`);
      if (!this.sources.isDirectory(dir))
        throw new Error(`path ${path} not found in ${kind} ${namespace}/${name}`);
      if (this.options.shouldBuild && !this.options.shouldBuild(owner, { flux, dir })) return undefined;
      const spec = (flux.spec ?? {}) as KustomizeOverlay;
      const dirs = [dir, ...(spec.components ?? []).map((c) => resolve(dir, c))];
      const isEntry = item.path.length === 0;
      let prepared = false;
      // A lazily written source gets a build's files only when the build runs (not when reused).
      const prepare = () => {
        if (!prepared) this.sources.prepare(dirs);
        prepared = true;
      };
      // Decrypting builds read their files before kustomize does, and are never reused.
      const decrypts = field(flux, 'spec', 'decryption') !== undefined;
      if (decrypts) prepare();
      const key =
        decrypts || !this.builds.active
          ? undefined
          : await this.kustomizeKey(source, dir, dirs, spec, isEntry);
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
          const run = () => {
            prepare();
            return kustomizeBuild(root, d, spec, this.runTool, this.io.env, this.toolHome);
          };
          if (!key || root !== source || d !== dir) {
            origin = 'built';
            return parseObjects(await run(), 'kustomize output');
          }
          const result = await this.builds.output(key.key, run, (output) =>
            this.storable(output, key.inputs),
          );
          origin = result.origin;
          return this.builds.objects(key.key, () => parseObjects(result.output, 'kustomize output'));
        },
      );
      this.counts[origin]++;
      item.flux = built.flux;
      this.rendered.push(owner);
      return { item, objects: built.objects };
    } catch (err) {
      this.fail(owner, errorLine(err));
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
  ): Promise<{ key: string; inputs: ReturnType<SourceResolver['buildInputs']> } | undefined> {
    try {
      const inputs = this.sources.buildInputs(dirs);
      const tool = this.builds.persistent ? await kustomizeVersion(this.runTool, this.io.env) : '';
      const key = buildKey('kustomize', {
        tool,
        dir: relative(source, dir).split(sep).join('/'),
        isEntry,
        overlay: overlayOf(spec),
        files: inputs.files,
      });
      return { key, inputs };
    } catch (err) {
      this.io.log.debug(`build cache: ${errorLine(err)}`);
      return undefined;
    }
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
  private finish({ item, objects }: Built): KustomizationItem[] {
    const { owner, flux } = item;
    let vars: Map<string, string> | undefined;
    let out: KubeObject[];
    // Values as built: a `replacements` copy holds these, before any substitution.
    for (const o of objects) this.copies.remember(o);
    try {
      vars = this.variables(item);
      const strategy = field<string>(flux, 'spec', 'postBuild', 'substituteStrategy');
      const substituteAll = vars.size > 0 || strategy === 'Always';
      out = objects.map((o) => {
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
        return this.substituteObject(o, vars!);
      });
    } catch (err) {
      this.fail(owner, errorLine(err));
      return [];
    }

    const labels = field<Record<string, string>>(flux, 'spec', 'commonMetadata', 'labels') ?? {};
    const annotations = field<Record<string, string>>(flux, 'spec', 'commonMetadata', 'annotations') ?? {};
    const found: KustomizationItem[] = [];
    for (const o of out) {
      this.copies.remember(o);
      o.metadata.labels = {
        ...o.metadata.labels,
        [OWNER_NAME]: owner.name,
        [OWNER_NAMESPACE]: owner.namespace,
        ...labels,
      };
      if (Object.keys(annotations).length)
        o.metadata.annotations = { ...o.metadata.annotations, ...annotations };
      this.index.set(objectKey(o.kind, o.metadata.namespace, o.metadata.name), o);
      this.objects.push({ owner, object: this.sops.sealed(o) ?? maskSecret(o, this.masker) });
      if (isFluxKustomization(o)) {
        const child = this.child(item, o);
        if (child) found.push(child);
      } else if (isHelmRelease(o)) {
        this.helmReleases.push({
          owner: { kind: 'HelmRelease', namespace: o.metadata.namespace || 'default', name: o.metadata.name },
          flux: o,
        });
      }
    }
    return found;
  }

  /**
   * kustomize-controller's substitution of one object's YAML text. A failure names the object and
   * the field; where the field is secret (a Secret's data, or a copy of a Secret value) it says
   * what is wrong without quoting any of it.
   */
  private substituteObject(o: KubeObject, vars: Map<string, string>): KubeObject {
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
      throw fail(fieldAt(text, err.offset ?? 0), err.reason, err.message);
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
    if (this.options.shouldBuild && !this.options.shouldBuild(hr.owner, { flux: hr.flux })) return;
    let origin: BuildOrigin = 'built';
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
              origin = result.origin;
              return result.output;
            },
      });
      this.rendered.push(hr.owner);
      this.counts[origin]++;
      for (const o of objects) {
        this.copies.remember(o);
        this.objects.push({ owner: hr.owner, object: maskSecret(o, this.masker) });
      }
    } catch (err) {
      this.fail(hr.owner, errorLine(err));
    }
  }
}
