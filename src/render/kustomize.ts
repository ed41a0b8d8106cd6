import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import { parseDocument, stringify } from 'yaml';
import { yamlDocuments } from '../util/yaml-documents.js';
import { LocatedError } from './origin.js';
import { confineKustomization, ConfinementError } from './confine.js';
import { findOnPath, lastLine, runTool, type ProcessRunner, type ToolHome } from './process.js';

export const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
/** Names of the build directories we create next to the one being built; never part of a build. */
const SHADOW_PREFIX = '.fluxgate-build-';

/** The fields of a Flux Kustomization that change what kustomize builds (FORMATS.md §3.2). */
export interface KustomizeOverlay {
  targetNamespace?: string;
  namePrefix?: string;
  nameSuffix?: string;
  patches?: { patch: string; target?: Record<string, string> }[];
  images?: { name: string; newName?: string; newTag?: string; digest?: string }[];
  components?: string[];
  ignoreMissingComponents?: boolean;
  buildMetadata?: string[];
}

export class BuildError extends Error {}

/** kustomize's output, with `config.kubernetes.io/origin` on every object (see takeOrigin). */
export interface KustomizeOutput {
  text: string;
  /** The kustomization asked for origin annotations itself: they stay on the objects. */
  keepOrigins: boolean;
}

const versions = new Map<string, Promise<string>>();

/**
 * The kustomize that builds run, as a cache key names it: `kustomize version`, or kubectl's
 * client and embedded kustomize versions (once per binary and process).
 */
export function kustomizeVersion(run: ProcessRunner, env: NodeJS.ProcessEnv): Promise<string> {
  const tool = findOnPath('kustomize', env) ? 'kustomize' : 'kubectl';
  const binary = findOnPath(tool, env) ?? tool;
  let version = versions.get(binary);
  if (!version) {
    const args = tool === 'kustomize' ? ['version'] : ['version', '--client', '--output=json'];
    version = runTool(run, tool, args, { env }).then((r) => {
      if (r.code !== 0) throw new BuildError(`${tool} version failed: ${lastLine(r.stderr)}`);
      return `${tool} ${r.stdout.trim()}`;
    });
    versions.set(binary, version);
  }
  return version;
}

/** The fields of a Flux Kustomization's spec that reach kustomize (see applyOverlay). */
export function overlayOf(spec: KustomizeOverlay): KustomizeOverlay {
  return {
    targetNamespace: spec.targetNamespace,
    namePrefix: spec.namePrefix,
    nameSuffix: spec.nameSuffix,
    patches: spec.patches,
    images: spec.images,
    components: spec.components,
    ignoreMissingComponents: spec.ignoreMissingComponents,
    buildMetadata: spec.buildMetadata,
  };
}

let shadowCounter = 0;

/**
 * Builds `dir` as kustomize-controller does: its kustomization file, or one generated from the
 * YAML files below it, with the Flux spec laid over it; kustomize with load restrictions off but
 * every path it can read checked to stay in the source root first (fluxcd/pkg SecureBuild), and
 * no plugins, exec functions, helm inflation or network. `dir` lives in a private copy of the
 * source: the overlay goes into a sibling build directory, so relative references (`../base`)
 * resolve as they would in the artifact and concurrent builds of one directory do not collide.
 */
export async function kustomizeBuild(
  sourceRoot: string,
  dir: string,
  overlay: KustomizeOverlay,
  run: ProcessRunner,
  env: NodeJS.ProcessEnv,
  home?: ToolHome,
  /** Files a generated kustomization leaves out, relative to the source root (see engine.ts entryOmissions). */
  omit: ReadonlySet<string> = new Set(),
): Promise<KustomizeOutput> {
  const existing = KUSTOMIZATION_FILES.map((f) => join(dir, f)).find((f) => existsSync(f));
  const base = existing
    ? withoutResourcesFallback(readKustomization(existing, sourceRoot))
    : generateKustomization(dir, sourceRoot, omit);
  const kustomization = applyOverlay(base, overlay, dir, sourceRoot);
  // Where each object comes from (annotations at file and line): asked of kustomize, and
  // removed again (takeOrigin) unless the kustomization asked for it, as Flux would apply it then.
  const metadata = (kustomization.buildMetadata as string[] | undefined) ?? [];
  const keepOrigins = metadata.includes('originAnnotations');
  if (!keepOrigins) kustomization.buildMetadata = [...metadata, 'originAnnotations'];
  try {
    const file = relative(sourceRoot, existing ?? join(dir, 'kustomization.yaml'))
      .split(sep)
      .join('/');
    confineKustomization(sourceRoot, dir, kustomization, file);
  } catch (err) {
    if (err instanceof ConfinementError) throw new BuildError(err.message);
    throw err;
  }

  const parent = dir === sourceRoot ? sourceRoot : dirname(dir);
  const shadow = join(parent, `${SHADOW_PREFIX}${++shadowCounter}-${basename(dir)}`);
  mkdirSync(shadow);
  try {
    for (const entry of readdirSync(dir)) {
      if (KUSTOMIZATION_FILES.includes(entry) || entry.startsWith(SHADOW_PREFIX)) continue;
      symlinkSync(join(dir, entry), join(shadow, entry));
    }
    writeFileSync(join(shadow, 'kustomization.yaml'), stringify(kustomization));
    const [tool, args] = findOnPath('kustomize', env)
      ? ['kustomize', ['build', '--load-restrictor', 'LoadRestrictionsNone', '--', shadow]]
      : ['kubectl', ['kustomize', '--load-restrictor', 'LoadRestrictionsNone', '--', shadow]];
    const result = await runTool(run, tool, args, { env, home });
    if (result.code !== 0) {
      throw new BuildError(
        `kustomize build failed: ${lastLine(result.stderr)
          .split(shadow)
          .join(relative(sourceRoot, dir) || '.')}`,
      );
    }
    return { text: result.stdout, keepOrigins };
  } finally {
    rmSync(shadow, { recursive: true, force: true });
  }
}

function readKustomization(file: string, sourceRoot: string): Record<string, unknown> {
  const doc = parseDocument(readFileSync(file, 'utf8'), { logLevel: 'error' });
  const error = doc.errors[0];
  if (error) {
    const rel = relative(sourceRoot, file).split(sep).join('/');
    throw new LocatedError(
      `${rel}: invalid YAML: ${error.message.split('\n')[0]}`,
      rel,
      error.linePos?.[0].line,
    );
  }
  const value = doc.toJS() as unknown;
  return value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
}

/**
 * An existing kustomization without `resources` gets `buildMetadata: [originAnnotations]`, which
 * kustomize-controller sets so that such a file does not fail as empty; its objects then carry a
 * `config.kubernetes.io/origin` annotation (fluxcd/pkg kustomize_generator.go GenerateManifest).
 */
function withoutResourcesFallback(kustomization: Record<string, unknown>): Record<string, unknown> {
  const resources = kustomization.resources;
  if (Array.isArray(resources) && resources.length > 0) return kustomization;
  return { ...kustomization, buildMetadata: ['originAnnotations'] };
}

/**
 * fluxcd/pkg's generator (kustomize_generator.go scanManifests): a directory with a kustomization
 * file is a resource (not descended into); a .yaml/.yml file is a resource, and fails the build
 * when it does not decode as Kubernetes objects; anything else is ignored.
 */
export function generateKustomization(
  dir: string,
  sourceRoot: string,
  omit: ReadonlySet<string> = new Set(),
): Record<string, unknown> {
  const resources: string[] = [];
  const walk = (current: string) => {
    for (const entry of readdirSync(current).sort()) {
      if (entry.startsWith(SHADOW_PREFIX) || entry === '.git') continue;
      const path = join(current, entry);
      // Symlinks are not part of a Flux artifact (see SourceResolver): never followed here.
      const stat = lstatSync(path, { throwIfNoEntry: false });
      if (!stat || stat.isSymbolicLink()) continue;
      const rel = './' + relative(dir, path).split(sep).join('/');
      if (stat.isDirectory()) {
        if (KUSTOMIZATION_FILES.some((f) => existsSync(join(path, f)))) resources.push(rel);
        else walk(path);
      } else if (
        ['.yaml', '.yml'].includes(extname(entry)) &&
        !omit.has(relative(sourceRoot, path).split(sep).join('/')) &&
        isKubernetesYaml(path, sourceRoot)
      ) {
        resources.push(rel);
      }
    }
  };
  walk(dir);
  const kustomization: Record<string, unknown> = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
  };
  if (resources.length) kustomization.resources = resources;
  else kustomization.namespace = '_placeholder'; // as Flux does, to avoid kustomize's "empty" error
  return kustomization;
}

/**
 * kustomize's resource factory SliceFromBytes as the generator calls it: empty documents are
 * skipped; one without apiVersion, kind and metadata is "missing Resource metadata" (kyaml
 * RNode.GetMeta); one without a kind, or without a name unless it is a List, is refused too
 * (GetValidatedMetadata).
 */
function isKubernetesYaml(file: string, sourceRoot: string): boolean {
  const rel = relative(sourceRoot, file).split(sep).join('/');
  const fail = (why: string, line?: number) =>
    new LocatedError(`failed to decode Kubernetes YAML from ${rel}: ${why}`, rel, line);
  const docs = yamlDocuments(readFileSync(file, 'utf8'));
  for (const doc of docs) if (doc.error) throw fail(doc.error.message, doc.error.line);
  for (const doc of docs) {
    if (doc.invalid !== undefined) throw fail(doc.invalid);
    const value = doc.value;
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) {
      if (Array.isArray(value) && value.length === 0) continue;
      throw fail('missing Resource metadata');
    }
    const object = value as Record<string, unknown>;
    if (Object.keys(object).length === 0) continue;
    const metadata = object.metadata as Record<string, unknown> | undefined;
    if (!object.apiVersion && !object.kind && !metadata) throw fail('missing Resource metadata');
    if (!object.kind) throw fail('missing kind in object');
    if (!String(object.kind).endsWith('List') && !metadata?.name)
      throw fail('missing metadata.name in object');
  }
  return true;
}

function applyOverlay(
  base: Record<string, unknown>,
  overlay: KustomizeOverlay,
  dir: string,
  sourceRoot: string,
): Record<string, unknown> {
  const k = structuredClone(base);
  if (overlay.targetNamespace) k.namespace = overlay.targetNamespace;
  if (overlay.namePrefix) k.namePrefix = overlay.namePrefix;
  if (overlay.nameSuffix) k.nameSuffix = overlay.nameSuffix;
  // Flux's Patch has an inline patch and a target only: nothing else reaches kustomize.
  if (overlay.patches?.length)
    k.patches = [
      ...((k.patches as unknown[]) ?? []),
      ...overlay.patches.map((p) => (p.target ? { patch: p.patch, target: p.target } : { patch: p.patch })),
    ];
  if (overlay.components?.length) {
    const present = overlay.components.filter((c) => {
      const path = resolve(dir, c);
      if (existsSync(path)) return true;
      if (overlay.ignoreMissingComponents) return false;
      throw new BuildError(`component ${c} not found in ${relative(sourceRoot, dir) || '.'}`);
    });
    k.components = [...((k.components as string[]) ?? []), ...present];
  }
  if (overlay.buildMetadata?.length) k.buildMetadata = overlay.buildMetadata;
  if (overlay.images?.length) {
    const images = [...((k.images as Record<string, string>[]) ?? [])];
    for (const image of overlay.images) {
      const i = images.findIndex((x) => x.name === image.name);
      const merged: Record<string, string> = i >= 0 ? { ...images[i] } : { name: image.name };
      if (image.newName) merged.newName = image.newName;
      if (image.newTag || image.digest) {
        delete merged.newTag;
        delete merged.digest;
        if (image.newTag) merged.newTag = image.newTag;
        if (image.digest) merged.digest = image.digest;
      }
      if (i >= 0) images[i] = merged;
      else images.push(merged);
    }
    k.images = images;
  }
  return k;
}
