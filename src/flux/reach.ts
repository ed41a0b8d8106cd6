/**
 * What a kustomize build of a directory can read, without building it: the directory and every
 * path its kustomization references, transitively. A directory without a kustomization file is
 * built as kustomize-controller generates one (fluxcd/pkg kustomize generator `generateKustomization`):
 * its YAML files, and each nearest subdirectory holding a kustomization file as a resource.
 */
import { yamlDocuments } from '../util/yaml-documents.js';
import { joinRepoPath, KUSTOMIZATION_FILES, repoPath } from './objects.js';
import type { RepoFiles } from './tree.js';

/** Fields of a kustomization that list paths (kustomize types.Kustomization). */
const PATH_LISTS = [
  'resources',
  'components',
  'bases',
  'crds',
  'patchesStrategicMerge',
  'configurations',
  'transformers',
  'generators',
  'validators',
];
/** Fields that list objects with a `path`. */
const PATH_OBJECTS = ['patches', 'patchesJson6902', 'replacements'];

const isRemote = (ref: string) =>
  /^[a-z][a-z0-9+.-]*:\/\//i.test(ref) ||
  /^(github\.com|gitlab\.com|bitbucket\.org)\//.test(ref) ||
  ref.includes('?ref=');

/** The paths a kustomization file's text references, relative to its directory. */
export function kustomizationReferences(text: string): string[] {
  // One document without errors, as kustomize reads it (else nothing is referenced).
  const docs = yamlDocuments(text);
  if (docs.length !== 1 || docs[0]!.error) return [];
  const k = docs[0]!.value as Record<string, unknown> | null | undefined;
  if (!k || typeof k !== 'object') return [];
  const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
  const refs: string[] = [];
  for (const key of PATH_LISTS) for (const r of list(k[key])) if (typeof r === 'string') refs.push(r);
  for (const key of PATH_OBJECTS) {
    for (const p of list(k[key])) {
      const path = (p as { path?: unknown } | null)?.path;
      if (typeof path === 'string') refs.push(path);
    }
  }
  const openapi = (k.openapi as { path?: unknown } | undefined)?.path;
  if (typeof openapi === 'string') refs.push(openapi);
  const chartHome = (k.helmGlobals as { chartHome?: unknown } | undefined)?.chartHome;
  if (typeof chartHome === 'string') refs.push(chartHome);
  if (list(k.helmCharts).length) refs.push('charts');
  for (const g of [...list(k.configMapGenerator), ...list(k.secretGenerator)]) {
    const gen = (g ?? {}) as Record<string, unknown>;
    for (const f of [...list(gen.files), ...list(gen.envs), ...(gen.env ? [gen.env] : [])]) {
      refs.push(String(f).replace(/^[^=]*=/, ''));
    }
  }
  return refs.filter((r) => !isRemote(r));
}

/** The kustomization file of `dir`, in kustomize's order of names. */
export function kustomizationText(tree: Pick<RepoFiles, 'read'>, dir: string): string | undefined {
  for (const name of KUSTOMIZATION_FILES) {
    const text = tree.read(dir ? `${dir}/${name}` : name);
    if (text !== undefined) return text;
  }
  return undefined;
}

/** The paths each kustomization file references, by its blob id: kept across sides and runs. */
export type ReferenceCache = Map<string, string[]>;

/**
 * The references of `dir`'s kustomization file, undefined when it has none. With blob ids and a
 * cache, a file read before (on the other side, or by an earlier run) is not read again.
 */
function referencesOf(tree: RepoFiles, dir: string, cache?: ReferenceCache): string[] | undefined {
  if (!cache || !tree.oid) {
    const text = kustomizationText(tree, dir);
    return text === undefined ? undefined : kustomizationReferences(text);
  }
  for (const name of KUSTOMIZATION_FILES) {
    const file = dir ? `${dir}/${name}` : name;
    const oid = tree.oid(file);
    if (oid === undefined) continue;
    let refs = cache.get(oid);
    if (!refs) {
      refs = kustomizationReferences(tree.read(file) ?? '');
      cache.set(oid, refs);
    }
    return refs;
  }
  return undefined;
}

/** Directories holding a kustomization file, per file listing (a listing is immutable). */
const kustomizationDirs = new WeakMap<readonly string[], string[]>();

function dirsWithKustomization(files: readonly string[]): string[] {
  let dirs = kustomizationDirs.get(files);
  if (!dirs) {
    dirs = [];
    for (const f of files) {
      const slash = f.lastIndexOf('/');
      if (KUSTOMIZATION_FILES.includes(f.slice(slash + 1))) dirs.push(slash < 0 ? '' : f.slice(0, slash));
    }
    kustomizationDirs.set(files, [...new Set(dirs)].sort());
    dirs = kustomizationDirs.get(files)!;
  }
  return dirs;
}

/**
 * Repository paths a build of `dirs` can read (each path covers what is below it); paths that
 * leave the repository are dropped (a build reading them fails on both sides alike).
 */
export function kustomizeReach(tree: RepoFiles, dirs: string[], references?: ReferenceCache): string[] {
  const reach = new Set<string>();
  const visit = (rel: string | undefined) => {
    if (rel === undefined || reach.has(rel)) return;
    reach.add(rel);
    if (!tree.isDirectory(rel)) return;
    const refs = referencesOf(tree, rel, references);
    if (refs !== undefined) {
      for (const r of refs) visit(joinRepoPath(rel, r));
      return;
    }
    // A generated kustomization: the nearest subdirectories that have their own.
    const below = dirsWithKustomization(tree.files).filter((d) => rel === '' || d.startsWith(`${rel}/`));
    for (const d of below) {
      if (d === rel) continue;
      const nearer = below.some((o) => o !== d && o !== rel && d.startsWith(`${o}/`));
      if (!nearer) visit(d);
    }
  };
  for (const d of dirs) visit(repoPath(d));
  return [...reach];
}
