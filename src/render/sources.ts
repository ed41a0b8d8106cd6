import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  rmdirSync,
  unlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { notThisCheckout, type CheckoutIdentity, type GitRepositorySpec } from '../flux/checkout.js';
import { FluxgateError } from '../errors.js';
import { field, objectKey } from '../flux/objects.js';
import { kustomizeReach } from '../flux/reach.js';
import type { RepoFiles } from '../flux/tree.js';
import { blobId } from './cache.js';
import { resolveOciRef, type OciRefSpec } from '../flux/oci-ref.js';
import { RegistryClient } from '../oci/client.js';
import { parseOciReference } from '../oci/reference.js';
import { pullArtifact } from '../oci/artifact/pull.js';
import { extractLayer } from '../oci/artifact/untar.js';
import ignore from 'ignore';
import type { ReferenceCache } from '../flux/reach.js';
import type { Logger } from '../log.js';
import type { KubeObject } from './types.js';
import {
  gitSourceMatcher,
  pushedArtifactFilter,
  readPatterns,
  SOURCE_IGNORE_FILE,
  SourceIgnoreMatcher,
  type PathFilter,
} from './sourceignore.js';

/** A source cannot be read: not found, not supported, or outside what fluxgate may read. */
export class SourceError extends FluxgateError {
  constructor(message: string) {
    super('INPUT', message);
    this.name = 'SourceError';
  }
}

/** A repository's files without a checkout (a git commit): read and written on demand. */
export interface SourceTree {
  /** Every file, repo-relative with `/`, sorted. */
  readonly files: readonly string[];
  readonly hasSymlinks: boolean;
  isSymlink(rel: string): boolean;
  isFile(rel: string): boolean;
  isDirectory(rel: string): boolean;
  read(rel: string): string | undefined;
  /** A file's content id (its git blob id), when the tree knows it without reading the file. */
  oid?(rel: string): string | undefined;
  /** Writes these files (as in the tree) below `to`. */
  write(to: string, files: string[]): void;
  /** Reads many files at once before they are asked for one by one (a batch `git cat-file`). */
  load?(oids: string[]): void;
}

/** The matcher of gitSourceMatcher, with the `.sourceignore` files read from a tree. */
function treeSourceMatcher(tree: SourceTree, specIgnore?: string): SourceIgnoreMatcher {
  // loadSourceIgnorePatterns' order: depth first, names sorted, a directory before its children.
  const files = tree.files
    .filter((f) => f === SOURCE_IGNORE_FILE || f.endsWith(`/${SOURCE_IGNORE_FILE}`))
    .map((f) => f.split('/').slice(0, -1))
    .sort((a, b) => {
      for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
      return a.length - b.length;
    });
  const patterns = files.flatMap((domain) =>
    readPatterns(tree.read([...domain, SOURCE_IGNORE_FILE].join('/'))!, domain),
  );
  return SourceIgnoreMatcher.forSource([...patterns, ...(specIgnore ? readPatterns(specIgnore) : [])]);
}

/** The directories of an artifact: those holding a file it keeps (the tarball has no directory entries). */
function keptDirectories(files: readonly string[], matcher: PathFilter): Set<string> {
  const dirs = new Set<string>(['']);
  for (const f of files) {
    if (matcher.ignores(f)) continue;
    for (let at = f.lastIndexOf('/'); at > 0; at = f.lastIndexOf('/', at - 1)) {
      const dir = f.slice(0, at);
      if (dirs.has(dir)) break;
      dirs.add(dir);
    }
  }
  return dirs;
}

/**
 * What source-controller keeps of a tree, once per tree and ignore rules: a diff's side reads
 * the repository as several sources (the entry's, a chart's GitRepository), and each render
 * pass resolves them again; matching every file of a large fleet against the rules each time
 * was a tenth of a changed-only diff.
 */
const artifacts = new WeakMap<SourceTree, Map<string, { matcher: PathFilter; directories: Set<string> }>>();

function artifactOf(
  tree: SourceTree,
  specIgnore: string | undefined,
  pushed: boolean,
): { matcher: PathFilter; directories: Set<string> } {
  let byRules = artifacts.get(tree);
  if (!byRules) artifacts.set(tree, (byRules = new Map()));
  const rules = `${pushed}\u0000${specIgnore ?? ''}`;
  let artifact = byRules.get(rules);
  if (!artifact) {
    const controller = treeSourceMatcher(tree, specIgnore);
    const matcher = pushed ? pushedArtifactFilter(controller) : controller;
    artifact = { matcher, directories: keptDirectories(tree.files, matcher) };
    byRules.set(rules, artifact);
  }
  return artifact;
}

/** Removes the directories left without a file (an artifact has no directory entries of its own). */
function removeEmptyDirectories(dir: string): boolean {
  let empty = true;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory() && removeEmptyDirectories(join(dir, entry.name)))
      rmdirSync(join(dir, entry.name));
    else empty = false;
  }
  return empty;
}

/**
 * A tree as source-controller's artifact of it: storage.Archive (fluxcd/pkg artifact/storage)
 * keeps regular files and directories only, so a Git source's symlinks, wherever they point, are
 * not part of what Flux builds. Nothing here ever follows or writes through one.
 */
function withoutSymlinks(tree: SourceTree): SourceTree {
  if (!tree.hasSymlinks) return tree;
  const files = tree.files.filter((f) => !tree.isSymlink(f));
  return {
    files,
    hasSymlinks: false,
    isSymlink: () => false,
    isFile: (rel) => !tree.isSymlink(rel) && tree.isFile(rel),
    isDirectory: (rel) => tree.isDirectory(rel),
    read: (rel) => (tree.isSymlink(rel) ? undefined : tree.read(rel)),
    oid: tree.oid && ((rel) => (tree.isSymlink(rel) ? undefined : tree.oid!(rel))),
    write: (to, list) =>
      tree.write(
        to,
        list.filter((f) => !tree.isSymlink(f)),
      ),
  };
}

/**
 * The files of `tree` below directory `prefix`, as a tree of their own (a source mapped to a
 * directory of the repository, read at the same commit). Files are written through a staging
 * directory in `stage`: the tree writes full paths.
 */
function subTree(tree: SourceTree, prefix: string, stage: string): SourceTree {
  if (prefix === '') return tree;
  const at = `${prefix}/`;
  const inner = (rel: string) => (rel === '' ? prefix : at + rel);
  const files = tree.files.filter((f) => f.startsWith(at)).map((f) => f.slice(at.length));
  return {
    files,
    hasSymlinks: tree.hasSymlinks && files.some((f) => tree.isSymlink(at + f)),
    isSymlink: (rel) => tree.isSymlink(inner(rel)),
    isFile: (rel) => tree.isFile(inner(rel)),
    isDirectory: (rel) => tree.isDirectory(inner(rel)),
    read: (rel) => tree.read(inner(rel)),
    write: (to, list) => {
      const staging = mkdtempSync(join(stage, 'stage-'));
      try {
        tree.write(
          staging,
          list.map((f) => at + f),
        );
        for (const f of list) {
          mkdirSync(dirname(join(to, f)), { recursive: true });
          renameSync(join(staging, at + f), join(to, f));
        }
      } finally {
        rmSync(staging, { recursive: true, force: true });
      }
    },
  };
}

/** Deletes the files of an unpacked artifact that `filter` leaves out, and the directories left empty. */
function pruneIgnored(root: string, filter: PathFilter): void {
  const walk = (dir: string, rel: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const name = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(path, name);
      else if (filter.ignores(name)) unlinkSync(path);
    }
  };
  walk(root, '');
  removeEmptyDirectories(root);
}

/** A Git source copied from a tree file by file, as builds ask for them. */
interface LazySource {
  tree: SourceTree;
  matcher: PathFilter;
  /** Directories that hold a kept file: an excluded directory may still hold re-included files. */
  directories: Set<string>;
  written: Set<string>;
  all: boolean;
}

export interface SourceContext {
  repo: string;
  /** `Kind/ns/name` or `ns/name` → directory (--source). */
  mappings: Map<string, string>;
  lookup(kind: string, namespace: string, name: string): KubeObject | undefined;
  /** The ArtifactGenerator that produces ExternalArtifact namespace/name. */
  findGenerator(namespace: string, artifactName: string): KubeObject | undefined;
  registry(insecure: boolean): RegistryClient;
  /**
   * A source that is this repository as published: a FluxInstance's sync source, which the
   * entry directory is read from (default: none).
   */
  isThisRepository?(kind: string, namespace: string, name: string): boolean;
  log: Logger;
  /** The repository as a tree (a git ref): its Git sources are copied lazily from it. */
  tree?: SourceTree;
  /** What identifies the repository being rendered: a GitRepository of anything else needs --source. */
  checkout?: CheckoutIdentity;
  /** Kustomization references by blob id (a diff's planner's): a tree's reach reads no file twice. */
  references?: ReferenceCache;
}

/**
 * Turns source references into local, private, writable directories (one per source and run):
 * builds write their kustomization overlays there, never into the user's tree.
 */
export class SourceResolver {
  private readonly dirs = new Map<string, Promise<string>>();
  private readonly work = mkdtempSync(join(tmpdir(), 'fluxgate-sources-'));
  private readonly lazy = new Map<string, LazySource>();
  /** Sources that are copies of the repository being rendered: their paths are repository paths. */
  private readonly repositoryCopies = new Set<string>();

  constructor(private readonly ctx: SourceContext) {}

  get workDir(): string {
    return this.work;
  }

  /** The directory `--source` maps a source to, if any (absolute). */
  mappedDirectory(kind: string, namespace: string, name: string): string | undefined {
    return (
      this.ctx.mappings.get(`${kind}/${namespace}/${name}`) ?? this.ctx.mappings.get(`${namespace}/${name}`)
    );
  }

  /** Maps a source to a directory, as `--source` does (before anything resolves it). */
  map(kind: string, namespace: string, name: string, dir: string): void {
    this.ctx.mappings.set(`${kind}/${namespace}/${name}`, dir);
  }

  resolve(kind: string, namespace: string, name: string): Promise<string> {
    const key = objectKey(kind, namespace, name);
    let dir = this.dirs.get(key);
    if (!dir) {
      dir = this.fetch(kind, namespace, name);
      this.dirs.set(key, dir);
    }
    return dir;
  }

  private async fetch(kind: string, namespace: string, name: string): Promise<string> {
    const mapped = this.mappedDirectory(kind, namespace, name);
    const target = join(this.work, `${kind}-${namespace}-${name}`);
    // Both GitRepository and OCIRepository take `spec.ignore` (source-controller appends it to
    // the `.sourceignore` patterns of the checkout or the unpacked layer).
    const specIgnore =
      kind === 'GitRepository' || kind === 'OCIRepository'
        ? field<string>(this.ctx.lookup(kind, namespace, name) ?? {}, 'spec', 'ignore')
        : undefined;
    // A directory mapped to an OCIRepository stands for what `flux push artifact --path DIR`
    // packs from it, as source-controller then stores it.
    const pushed = kind === 'OCIRepository';
    if (mapped) {
      const dir = resolve(mapped);
      const inRepo = relative(this.ctx.repo, dir).split(sep).join('/');
      // A directory of the repository read at a git ref (a diff's side) comes from that ref's tree.
      if (this.ctx.tree && !inRepo.startsWith('..') && !inRepo.startsWith('/')) {
        if (!this.ctx.tree.isDirectory(inRepo) && inRepo !== '')
          throw new SourceError(`source directory ${inRepo} does not exist at this side of the change`);
        return this.lazyCopy(subTree(this.ctx.tree, inRepo, this.work), target, specIgnore, pushed);
      }
      return this.copyTree(dir, target, specIgnore, pushed);
    }
    const self = this.ctx.isThisRepository?.(kind, namespace, name) ?? false;
    switch (self ? 'GitRepository' : kind) {
      case 'GitRepository': {
        const other = !self && this.ctx.checkout && this.otherRepository(namespace, name, this.ctx.checkout);
        if (other) throw new SourceError(other);
        this.repositoryCopies.add(target);
        if (this.ctx.tree) return this.lazyCopy(this.ctx.tree, target, specIgnore, false);
        return this.copyTree(this.ctx.repo, target, specIgnore);
      }
      case 'OCIRepository':
        return this.pullOci(namespace, name, target);
      case 'ExternalArtifact':
        return this.assembleExternalArtifact(namespace, name, target);
      case 'Bucket':
        throw new SourceError(
          `Bucket ${namespace}/${name}: Bucket sources are not supported; map it with --source Bucket/${namespace}/${name}=DIR`,
        );
      default:
        throw new SourceError(`unsupported source kind ${kind} (${namespace}/${name})`);
    }
  }

  /** A source read from a tree: without symlinks, what a build reads is known statically, so files are written lazily. */
  private lazyCopy(
    from: SourceTree,
    target: string,
    specIgnore: string | undefined,
    pushed: boolean,
  ): string {
    const tree = withoutSymlinks(from);
    mkdirSync(target, { recursive: true });
    const { matcher, directories } = artifactOf(tree, specIgnore, pushed);
    this.lazy.set(target, { tree, matcher, directories, written: new Set(), all: false });
    return target;
  }

  /** Why GitRepository namespace/name cannot be read from this checkout, or undefined. */
  private otherRepository(namespace: string, name: string, checkout: CheckoutIdentity): string | undefined {
    const object = this.ctx.lookup('GitRepository', namespace, name);
    // The implicit flux-system source of the entry directory is this checkout by definition.
    if (!object) return undefined;
    const why = notThisCheckout(field<GitRepositorySpec>(object, 'spec') ?? {}, checkout);
    return why
      ? `GitRepository ${namespace}/${name} is not this checkout: ${why}; map it with --source GitRepository/${namespace}/${name}=DIR`
      : undefined;
  }

  /**
   * Whether a resolved source root is the repository being rendered (not a --source mapping, an
   * OCI artifact or an assembled one): a path in it is a path of the repository (annotations).
   */
  isRepository(root: string): boolean {
    return this.repositoryCopies.has(root);
  }

  /** Whether the source's files are read from a tree (a git side), which outlives the render. */
  readsFromTree(root: string): boolean {
    return this.lazy.has(root);
  }

  /**
   * A file of a resolved source as a build would read it, whether or not it is written yet (a
   * build shared with the other side, or read from the cache, writes nothing).
   */
  readFile(root: string, rel: string): string | undefined {
    const source = this.lazy.get(root);
    if (source) return source.matcher.ignores(rel) ? undefined : source.tree.read(rel);
    try {
      return readFileSync(join(root, rel), 'utf8');
    } catch {
      return undefined;
    }
  }

  /** Whether `dir` (in a resolved source) is a directory, whether or not it is written yet. */
  isDirectory(dir: string): boolean {
    const [root, source] = this.lazyOf(dir);
    if (!source) return existsSync(dir) && statSync(dir).isDirectory();
    const rel = relative(root, dir).split(sep).join('/');
    return source.directories.has(rel);
  }

  /**
   * Writes what a build of `dirs` (in a resolved source) can read: their static reach, but the
   * files the build leaves out (`omit`, relative to the source root).
   */
  prepare(dirs: string[], omit: ReadonlySet<string> = new Set()): void {
    const [root, source] = this.lazyOf(dirs[0]!);
    if (!source || source.all) return;
    const rels = kustomizeReach(
      {
        files: source.tree.files,
        isDirectory: (r) => source.directories.has(r),
        read: (r) => (source.matcher.ignores(r) ? undefined : source.tree.read(r)),
        oid: (r) => (source.matcher.ignores(r) ? undefined : source.tree.oid?.(r)),
      },
      dirs.map((d) => relative(root, d).split(sep).join('/')),
      this.ctx.references,
    );
    if (rels.includes('')) return this.prepareAll(root);
    const files = source.tree.files.filter(
      (f) =>
        !source.written.has(f) &&
        !omit.has(f) &&
        rels.some((r) => f === r || f.startsWith(`${r}/`)) &&
        !source.matcher.ignores(f),
    );
    source.tree.write(root, files);
    for (const f of files) source.written.add(f);
  }

  /**
   * The files a kustomize build of `dirs` (in a resolved source) can read, with their content ids
   * (git blob ids), sorted: with the build's overlay and the tool's version, everything its output
   * depends on. Lazily written sources answer from their tree, without writing anything.
   */
  buildInputs(dirs: string[]): {
    files: [string, string][];
    read: (rel: string) => string | undefined;
    /** Reads these files ahead in one go (a git side's blobs with one `git cat-file`). */
    load: (rels: string[]) => void;
  } {
    const [lazyRoot, lazy] = this.lazyOf(dirs[0]!);
    const root = lazy ? lazyRoot : this.rootOf(dirs[0]!);
    const listing: RepoFiles & { id(rel: string): string; text(rel: string): string | undefined } = lazy
      ? {
          files: lazy.tree.files,
          isDirectory: (r) => lazy.directories.has(r),
          read: (r) => (lazy.matcher.ignores(r) ? undefined : lazy.tree.read(r)),
          oid: (r) => (lazy.matcher.ignores(r) ? undefined : lazy.tree.oid?.(r)),
          id: (r) => lazy.tree.oid?.(r) ?? blobId(Buffer.from(lazy.tree.read(r) ?? '', 'utf8')),
          text: (r) => lazy.tree.read(r),
        }
      : this.diskListing(root);
    const rels = kustomizeReach(
      listing,
      dirs.map((d) => relative(root, d).split(sep).join('/')),
      lazy ? this.ctx.references : undefined,
    );
    const whole = rels.includes('');
    const files = listing.files.filter(
      (f) =>
        (whole || rels.some((r) => f === r || f.startsWith(`${r}/`))) && !(lazy && lazy.matcher.ignores(f)),
    );
    const load = (rels: string[]) =>
      lazy?.tree.load?.(rels.map((r) => lazy.tree.oid?.(r)).filter((o): o is string => o !== undefined));
    return { files: files.map((f) => [f, listing.id(f)]), read: (rel) => listing.text(rel), load };
  }

  /** The resolved source `dir` lies in (a directory of the work dir, or a --source copy). */
  private rootOf(dir: string): string {
    const rel = relative(this.work, dir).split(sep);
    return rel[0] && rel[0] !== '..' ? join(this.work, rel[0]) : dir;
  }

  private readonly listings = new Map<
    string,
    RepoFiles & { id(rel: string): string; text(rel: string): string | undefined }
  >();

  /** A copied source's files (complete when resolved; our build directories left out), ids on demand. */
  private diskListing(root: string) {
    let listing = this.listings.get(root);
    if (listing) return listing;
    const files: string[] = [];
    const dirs = new Set<string>(['']);
    const walk = (rel: string) => {
      for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
        if (entry.name.startsWith('.fluxgate-build-')) continue;
        const path = rel ? `${rel}/${entry.name}` : entry.name;
        if (entry.isDirectory()) {
          dirs.add(path);
          walk(path);
        } else if (entry.isFile()) files.push(path);
      }
    };
    walk('');
    files.sort();
    const ids = new Map<string, string>();
    const text = (rel: string) => {
      try {
        return readFileSync(join(root, rel), 'utf8');
      } catch {
        return undefined;
      }
    };
    listing = {
      files,
      isDirectory: (rel) => dirs.has(rel),
      read: text,
      text,
      id: (rel) => {
        let id = ids.get(rel);
        if (id === undefined) {
          id = blobId(readFileSync(join(root, rel)));
          ids.set(rel, id);
        }
        return id;
      },
    };
    this.listings.set(root, listing);
    return listing;
  }

  /** Writes the whole of a lazily copied source (what reads it is not statically known). */
  prepareAll(dir: string): void {
    const [root, source] = this.lazyOf(dir);
    if (!source || source.all) return;
    source.all = true;
    const files = source.tree.files.filter((f) => !source.written.has(f) && !source.matcher.ignores(f));
    source.tree.write(root, files);
    for (const f of files) source.written.add(f);
  }

  private lazyOf(dir: string): [string, LazySource | undefined] {
    for (const [root, source] of this.lazy)
      if (dir === root || dir.startsWith(root + sep)) return [root, source];
    return ['', undefined];
  }

  /**
   * A private copy of a Git source's tree, without what source-controller leaves out of its
   * artifact: ignored paths, and symlinks (see withoutSymlinks).
   */
  private copyTree(from: string, to: string, specIgnore?: string, pushed = false): string {
    if (!existsSync(from)) throw new SourceError(`source directory ${from} does not exist`);
    const controller = gitSourceMatcher(from, specIgnore);
    const matcher = pushed ? pushedArtifactFilter(controller) : controller;
    cpSync(from, to, {
      recursive: true,
      filter: (src) => {
        const rel = relative(from, src).split(sep).join('/');
        if (!rel) return true;
        const stat = lstatSync(src, { throwIfNoEntry: false });
        if (!stat || stat.isSymbolicLink()) return false;
        // Directories are walked even when excluded: a later negation may keep a file below
        // (git's own .git directory aside, whose content no artifact holds).
        if (stat.isDirectory()) return rel !== '.git';
        return !matcher.ignores(rel);
      },
    });
    removeEmptyDirectories(to);
    return to;
  }

  private async pullOci(namespace: string, name: string, target: string): Promise<string> {
    const source = this.ctx.lookup('OCIRepository', namespace, name);
    if (!source) throw new SourceError(`OCIRepository ${namespace}/${name} not found in the rendered tree`);
    const url = field<string>(source, 'spec', 'url') ?? '';
    const ref = parseOciReference(url);
    const client = this.ctx.registry(field<boolean>(source, 'spec', 'insecure') === true);
    const mediaType = field<string>(source, 'spec', 'layerSelector', 'mediaType');
    const operation = field<string>(source, 'spec', 'layerSelector', 'operation') ?? 'extract';
    const resolved = await resolveOciRef(
      client,
      ref.registry,
      ref.repository,
      field<OciRefSpec>(source, 'spec', 'ref'),
      {
        helmTags: mediaType === 'application/vnd.cncf.helm.chart.content.v1.tar+gzip',
      },
    );
    const pulled = await pullArtifact(client, { ...ref, digest: resolved.digest, tag: undefined }, mediaType);
    mkdirSync(target, { recursive: true });
    if (operation === 'copy')
      writeFileSync(join(target, `${resolved.digest.replace(':', '-')}.tgz`), pulled.layer);
    else {
      await extractLayer(pulled.layer, target, `OCIRepository ${namespace}/${name}`);
      // source-controller stores the unpacked layer again, without what its `.sourceignore`
      // files and `spec.ignore` leave out (ocirepository_controller.go reconcileArtifact).
      pruneIgnored(target, gitSourceMatcher(target, field<string>(source, 'spec', 'ignore')));
    }
    this.ctx.log.debug(
      `OCIRepository ${namespace}/${name}: ${url} resolved to ${resolved.tag ?? ''}@${resolved.digest}`,
    );
    return target;
  }

  /** source-watcher's ArtifactGenerator: copy rules from aliased sources into one artifact. */
  private async assembleExternalArtifact(namespace: string, name: string, target: string): Promise<string> {
    const generator = this.ctx.findGenerator(namespace, name);
    if (!generator)
      throw new SourceError(
        `ExternalArtifact ${namespace}/${name}: no ArtifactGenerator in the rendered tree produces it`,
      );
    const artifact = (
      field<{ name: string; copy?: CopyRule[] }[]>(generator, 'spec', 'artifacts') ?? []
    ).find((a) => a.name === name)!;
    const aliases = new Map<string, string>();
    for (const s of field<{ alias: string; kind: string; name: string; namespace?: string }[]>(
      generator,
      'spec',
      'sources',
    ) ?? []) {
      const dir = await this.resolve(
        s.kind,
        s.namespace || generator.metadata.namespace || namespace,
        s.name,
      );
      this.prepareAll(dir);
      aliases.set(s.alias, dir);
    }
    mkdirSync(target, { recursive: true });
    for (const rule of artifact.copy ?? [])
      applyCopyRule(rule, aliases, target, `ArtifactGenerator ${describeGen(generator)}`);
    return target;
  }
}

const describeGen = (g: KubeObject) => `${g.metadata.namespace ?? ''}/${g.metadata.name}`;

interface CopyRule {
  from: string;
  to: string;
  exclude?: string[];
}

/**
 * A copy rule's path below its root, as source-watcher opens it (builder.go: os.Root for the
 * source, filepath.IsLocal and no `..` for the destination): absolute paths and `..` refused.
 */
function localPath(path: string, rule: string, side: 'from' | 'to', what: string): string {
  if (
    path.startsWith('/') ||
    path.split('/').includes('..') ||
    /^[A-Za-z]:/.test(path) ||
    path.includes('\\')
  )
    throw new SourceError(
      `${what}: copy rule ${side} ${JSON.stringify(rule)}: the path must stay within the ${side === 'from' ? 'source' : 'artifact'} (no absolute path, no '..')`,
    );
  return path;
}

/** Copies a file or directory, leaving symlinks out (there are none in a source; none get in). */
const copyNoLinks = (src: string, dest: string) =>
  cpSync(src, dest, { recursive: true, filter: (p) => !lstatSync(p).isSymbolicLink() });

/**
 * One copy rule: `@alias/path` with `*`/`**` globs (the part before the first glob is the base,
 * kept out of the destination path); a plain file goes into `to/` or becomes `to`; a plain
 * directory is copied as `to/<name>` (or to `to` without a trailing slash). `from` stays inside
 * its source and `to` inside the artifact.
 */
export function applyCopyRule(
  rule: CopyRule,
  aliases: Map<string, string>,
  artifactDir: string,
  what: string,
): void {
  const from = /^@([^/]+)\/?(.*)$/s.exec(rule.from);
  const to = /^@artifact\/?(.*)$/s.exec(rule.to);
  if (!from || !to)
    throw new SourceError(
      `${what}: invalid copy rule ${JSON.stringify(rule.from)} → ${JSON.stringify(rule.to)}`,
    );
  const root = aliases.get(from[1]!);
  if (!root)
    throw new SourceError(
      `${what}: copy rule ${JSON.stringify(rule.from)}: unknown source alias @${from[1]}`,
    );
  const pattern = localPath(from[2]!, rule.from, 'from', what);
  const dest = join(artifactDir, localPath(to[1]!, rule.to, 'to', what));
  const toDir = rule.to.endsWith('/') || to[1] === '';
  const excluded = ignore().add(rule.exclude ?? []);
  const globAt = pattern.search(/[*?[]/);
  if (globAt < 0) {
    const src = join(root, pattern);
    if (!lstatSync(src, { throwIfNoEntry: false }) || lstatSync(src).isSymbolicLink())
      throw new SourceError(`${what}: copy rule ${JSON.stringify(rule.from)}: not found`);
    const out = toDir ? join(dest, basename(src)) : dest;
    mkdirSync(dirname(out), { recursive: true });
    copyNoLinks(src, out);
    return;
  }
  const baseDir = pattern.slice(0, globAt).replace(/[^/]*$/, '');
  const matcher = globRegex(pattern);
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const rel = relative(root, path).split(sep).join('/');
      if (entry.isSymbolicLink()) continue;
      if (entry.isDirectory()) {
        walk(path);
        continue;
      }
      if (!matcher.test(rel) || excluded.ignores(rel)) continue;
      const out = join(dest, rel.slice(baseDir.length));
      mkdirSync(dirname(out), { recursive: true });
      cpSync(path, out);
    }
  };
  walk(join(root, baseDir));
}

function globRegex(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
      if (glob[i + 1] === '/') i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
