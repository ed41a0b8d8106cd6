/**
 * What a build may read, checked before any tool runs. kustomize-controller builds with
 * fluxcd/pkg kustomize.SecureBuild: kustomize with load restrictions off, but on a file system
 * (kustomize/filesys/fs_secure.go) that refuses every path which, symlinks evaluated, is not in
 * or below the source root. kubectl kustomize has no such file system, so the same rule is
 * enforced here on every path a kustomization can name, transitively, and remote references
 * (which kustomize would fetch, loopback included) are refused outright: builds have no network.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';

export class ConfinementError extends Error {}

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

/** A reference as it appears in a message: quoted, so a newline or markup in it stays inert. */
export const quoted = (reference: string): string => JSON.stringify(reference);

/** Whether `path` is `root` or below it. */
export function isWithin(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * The real location of `path` (symlinks evaluated, as filepath.EvalSymlinks), or of its closest
 * existing ancestor joined with the rest: what fs_secure's isSecurePath compares with the root.
 */
function realLocation(path: string): string {
  let existing = path;
  const rest: string[] = [];
  while (!existsSync(existing) && dirname(existing) !== existing) {
    rest.unshift(existing.slice(dirname(existing).length + 1));
    existing = dirname(existing);
  }
  try {
    return join(realpathSync(existing), ...rest);
  } catch {
    return path;
  }
}

/**
 * `reference`, relative to `base`, as a path inside `root`; throws one line naming `where` when
 * it is absolute, climbs out with `..`, or leads out through a symlink.
 */
export function confinedPath(root: string, base: string, reference: string, where: string): string {
  if (isAbsolute(reference) || /^[A-Za-z]:[\\/]/.test(reference))
    throw new ConfinementError(
      `${where}: ${quoted(reference)} is an absolute path; a build reads only its source`,
    );
  const path = resolve(base, reference);
  if (!isWithin(root, path))
    throw new ConfinementError(`${where}: ${quoted(reference)} leaves the source root`);
  if (!isWithin(realLocation(root), realLocation(path)))
    throw new ConfinementError(
      `${where}: ${quoted(reference)} leads out of the source root through a symlink`,
    );
  return path;
}

/**
 * What kustomize would fetch rather than read (api/internal/git/repospec.go and
 * loader.IsRemoteFile): a scheme (`https://`, `file://`, `git::`), an scp-like `user@host:`, a
 * GitHub shorthand or a `?ref=` query.
 */
export function isRemoteReference(reference: string): boolean {
  return (
    /^[A-Za-z][A-Za-z0-9+.-]*:/.test(reference) ||
    /^[^/\s]+@[^/\s]+[:/]/.test(reference) ||
    /^(www\.)?github\.com([/:]|$)/i.test(reference) ||
    reference.includes('?')
  );
}

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** kustomize's builtin generator and transformer configurations that name files. */
const FILE_FIELDS: Record<string, (config: Record<string, unknown>) => [string, unknown][]> = {
  ConfigMapGenerator: generatorFiles,
  SecretGenerator: generatorFiles,
  PatchTransformer: (c) => [['path', c.path]],
  PatchJson6902Transformer: (c) => [['path', c.path]],
  PatchStrategicMergeTransformer: (c) => list(c.paths).map((p, i) => [`paths[${i}]`, p]),
  ReplacementTransformer: (c) =>
    list(c.replacements).map((r, i) => [`replacements[${i}].path`, isMap(r) ? r.path : undefined]),
};

/** configMapGenerator/secretGenerator: `files` (`[key=]path`), `envs`, `env`. */
function generatorFiles(g: Record<string, unknown>): [string, unknown][] {
  return [
    ...list(g.files).map((f, i): [string, unknown] => [
      `files[${i}]`,
      typeof f === 'string' ? f.replace(/^[^=]*=/, '') : f,
    ]),
    ...list(g.envs).map((f, i): [string, unknown] => [`envs[${i}]`, f]),
    ...(g.env === undefined ? [] : [['env', g.env] as [string, unknown]]),
  ];
}

/** A text that is an inline YAML object rather than a path (kustomize tries it as YAML first). */
function inlineObjects(text: string): Record<string, unknown>[] | undefined {
  if (!/[\n:{]/.test(text)) return undefined;
  try {
    const docs = parseAllDocuments(text).map((d) => d.toJS() as unknown);
    const objects = docs.flatMap((d) => (Array.isArray(d) ? d : [d])).filter(isMap);
    return objects.length ? objects : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Checks every path the kustomization of `dir` (`kustomization`, as it will be built) names, and
 * those of every kustomization it reaches, before kustomize runs: each stays inside `root`, none
 * is remote, no helm inflation and no KRM function. Throws one line naming the file and field.
 */
export function confineKustomization(
  root: string,
  dir: string,
  kustomization: Record<string, unknown>,
  file: string,
): void {
  const visited = new Set<string>();
  const display = (path: string) => relative(root, path).split(sep).join('/') || '.';

  const visitDirectory = (path: string) => {
    const real = realLocation(path);
    if (visited.has(real)) return;
    visited.add(real);
    const found = KUSTOMIZATION_FILES.map((f) => join(path, f)).find((f) =>
      lstatSync(f, { throwIfNoEntry: false })?.isFile(),
    );
    if (!found) return; // kustomize reports the directory itself
    let parsed: unknown;
    try {
      parsed = parseYaml(readFileSync(found, 'utf8'));
    } catch {
      return; // kustomize reports the invalid YAML
    }
    if (isMap(parsed)) check(parsed, path, display(found));
  };

  /** A kustomization or a directory: resources, bases, components. */
  const checkRoot = (reference: unknown, base: string, where: string) => {
    if (typeof reference !== 'string') return;
    if (isRemoteReference(reference))
      throw new ConfinementError(
        `${where}: ${quoted(reference)} is a remote reference; builds have no network`,
      );
    const path = confinedPath(root, base, reference, where);
    const stat = statSync(path, { throwIfNoEntry: false });
    // kustomize tries a missing local path as a remote base: nothing missing reaches it.
    if (!stat) throw new ConfinementError(`${where}: ${quoted(reference)} not found in the source`);
    if (stat.isDirectory()) visitDirectory(path);
  };

  /** A file kustomize loads (a patch, a generator's file, a CRD, a configuration). */
  const checkFile = (reference: unknown, base: string, where: string) => {
    if (typeof reference !== 'string' || reference === '') return;
    if (isRemoteReference(reference))
      throw new ConfinementError(
        `${where}: ${quoted(reference)} is a remote reference; builds have no network`,
      );
    confinedPath(root, base, reference, where);
  };

  /** A builtin plugin configuration, inline or from a file. */
  const checkPluginConfig = (config: Record<string, unknown>, base: string, where: string) => {
    const metadata = isMap(config.metadata) ? config.metadata : {};
    const annotations = isMap(metadata.annotations) ? metadata.annotations : {};
    if ('config.kubernetes.io/function' in annotations || 'config.k8s.io/function' in annotations)
      throw new ConfinementError(
        `${where}: KRM functions are not run (kustomize-controller runs builtin plugins only)`,
      );
    if (config.kind === 'HelmChartInflationGenerator')
      throw new ConfinementError(
        `${where}: helm chart inflation is not supported (kustomize-controller builds without --enable-helm)`,
      );
    for (const [field, value] of FILE_FIELDS[String(config.kind)]?.(config) ?? [])
      checkFile(value, base, `${where}: ${field}`);
  };

  /** generators, transformers, validators: inline configurations, files of them, or kustomizations. */
  const checkPlugins = (reference: unknown, base: string, where: string) => {
    if (typeof reference !== 'string') return;
    const inline = inlineObjects(reference);
    if (inline) return inline.forEach((c) => checkPluginConfig(c, base, where));
    checkRoot(reference, base, where);
    const path = resolve(base, reference);
    if (!statSync(path).isFile()) return;
    let configs: unknown[];
    try {
      configs = parseAllDocuments(readFileSync(path, 'utf8')).map((d) => d.toJS() as unknown);
    } catch {
      return;
    }
    for (const c of configs) if (isMap(c)) checkPluginConfig(c, base, `${display(path)}`);
  };

  const check = (k: Record<string, unknown>, base: string, name: string) => {
    if (
      k.helmCharts !== undefined ||
      k.helmGlobals !== undefined ||
      k.helmChartInflationGenerator !== undefined
    )
      throw new ConfinementError(
        `${name}: helmCharts: helm chart inflation is not supported (kustomize-controller builds without --enable-helm)`,
      );
    for (const field of ['resources', 'bases', 'components'])
      list(k[field]).forEach((r, i) => checkRoot(r, base, `${name}: ${field}[${i}]`));
    for (const field of ['crds', 'configurations'])
      list(k[field]).forEach((r, i) => checkFile(r, base, `${name}: ${field}[${i}]`));
    list(k.patchesStrategicMerge).forEach((p, i) => {
      if (typeof p === 'string' && !inlineObjects(p))
        checkFile(p, base, `${name}: patchesStrategicMerge[${i}]`);
    });
    for (const field of ['patches', 'patchesJson6902', 'replacements'])
      list(k[field]).forEach((p, i) =>
        checkFile(isMap(p) ? p.path : undefined, base, `${name}: ${field}[${i}].path`),
      );
    if (isMap(k.openapi)) checkFile(k.openapi.path, base, `${name}: openapi.path`);
    for (const field of ['configMapGenerator', 'secretGenerator'])
      list(k[field]).forEach((g, i) => {
        if (!isMap(g)) return;
        for (const [f, value] of generatorFiles(g)) checkFile(value, base, `${name}: ${field}[${i}].${f}`);
      });
    for (const field of ['generators', 'transformers', 'validators'])
      list(k[field]).forEach((r, i) => checkPlugins(r, base, `${name}: ${field}[${i}]`));
  };

  visited.add(realLocation(dir));
  check(kustomization, dir, file);
}

/**
 * A chart directory helm may load: helm's directory loader follows symlinks (internal/sympath),
 * so a link leaving the chart would put an outside file into `.Files`. Sources never hold
 * symlinks (source-controller's artifacts leave them out); this keeps it so for every chart.
 */
export function confineChart(chartDir: string): void {
  const root = realLocation(chartDir);
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isSymbolicLink()) {
        if (!isWithin(root, realLocation(path)))
          throw new ConfinementError(
            `chart file ${quoted(relative(chartDir, path).split(sep).join('/'))} is a symlink leading out of the chart`,
          );
      } else if (entry.isDirectory()) walk(path);
    }
  };
  walk(chartDir);
}
