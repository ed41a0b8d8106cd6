/* eslint-disable @typescript-eslint/no-explicit-any -- manifests are read here as untyped JSON */
/**
 * `verify --path DIR`: the part of the repository one cluster applies, found from its files
 * without rendering: the entry directory, then the `spec.path` of every Flux Kustomization found
 * there whose source is a GitRepository of this repository (not mapped elsewhere with
 * `--source`), transitively, and the local directories and files a `kustomization.yaml` in any
 * of them lists (`resources`, `components`, `bases`). Objects keep their files and lines.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { parse } from 'yaml';
import { FluxgateError } from '../errors.js';
import type { Logger } from '../log.js';
import { scanObjects, type Finding, type Located } from './policy.js';

const KUSTOMIZE_GROUP = 'kustomize.toolkit.fluxcd.io';

/** A repository-relative path, `/`-separated, without `./` or a trailing slash; `''` is the root. */
function normalize(path: string): string | undefined {
  const p = posix.normalize(path.replace(/\\/g, '/').replace(/^\/+/, '')).replace(/\/+$/, '');
  if (p === '.' || p === '') return '';
  if (p === '..' || p.startsWith('../')) return undefined;
  return p;
}

/** Local entries a kustomization.yaml in `dir` lists (remote ones are not in this repository). */
function kustomizeReferences(repo: string, dir: string): string[] {
  for (const name of ['kustomization.yaml', 'kustomization.yml', 'Kustomization']) {
    const file = join(repo, dir, name);
    if (!existsSync(file)) continue;
    let k: any;
    try {
      k = parse(readFileSync(file, 'utf8'));
    } catch {
      return []; // the scan reports invalid YAML
    }
    const entries = ['resources', 'components', 'bases'].flatMap((f) =>
      Array.isArray(k?.[f]) ? (k[f] as unknown[]) : [],
    );
    return entries
      .filter((e): e is string => typeof e === 'string' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(e))
      .filter((e) => !/^(github\.com|gitlab\.com|bitbucket\.org)\//.test(e) && !e.includes('?ref='))
      .map((e) => normalize(posix.join(dir, e)))
      .filter((e): e is string => e !== undefined);
  }
  return [];
}

/** `--path .` (or none): the whole repository is scanned. */
export const isRepositoryRoot = (path: string) => normalize(path) === '';

export interface ClusterScope {
  objects: Located[];
  findings: Finding[];
  /** Repository-relative roots scanned, in the order they were reached. */
  roots: string[];
}

/**
 * The objects of the files one cluster applies. `sources` are the `--source` mappings: a
 * GitRepository mapped there is another repository, so its Kustomizations' paths are not followed.
 */
export function scanCluster(
  repo: string,
  entry: string,
  sources: Map<string, string>,
  log: Logger,
): ClusterScope {
  const start = normalize(entry);
  if (start === undefined || !existsSync(join(repo, start)) || !statSync(join(repo, start)).isDirectory())
    throw new FluxgateError('INPUT', `--path ${entry}: no such directory in the repository`);
  const roots: string[] = [];
  const objects: Located[] = [];
  const findings: Finding[] = [];
  const files = new Set<string>();
  const queue = [start];
  const covered = (p: string) => roots.some((r) => r === '' || p === r || p.startsWith(`${r}/`));
  while (queue.length) {
    const root = queue.shift()!;
    if (covered(root)) continue;
    if (!existsSync(join(repo, root))) {
      log.debug(`verify --path: ${root} does not exist in the repository; skipped`);
      continue;
    }
    roots.push(root);
    const scanned = scanObjects(repo, root === '' ? '.' : root);
    // A root reached later may contain one scanned earlier: each file counts once.
    const fresh = new Set(scanned.files.filter((f) => !files.has(f)));
    for (const f of fresh) files.add(f);
    const newObjects = scanned.objects.filter((o) => fresh.has(o.file));
    objects.push(...newObjects);
    findings.push(...scanned.findings.filter((f) => fresh.has(f.file)));

    const dirs = new Set([...fresh].map((f) => posix.dirname(f)));
    for (const dir of dirs) queue.push(...kustomizeReferences(repo, dir === '.' ? '' : dir));
    for (const l of newObjects) {
      const o = l.object;
      if (o.kind !== 'Kustomization' || String(o.apiVersion).split('/')[0] !== KUSTOMIZE_GROUP) continue;
      const ref = o.spec?.sourceRef ?? {};
      if (ref.kind !== 'GitRepository') continue; // OCI, Bucket, ExternalArtifact: not these files
      const ns = ref.namespace ?? l.namespace ?? 'flux-system';
      if (sources.has(`GitRepository/${ns}/${ref.name}`) || sources.has(`${ns}/${ref.name}`)) continue;
      const path = String(o.spec?.path ?? '');
      if (path.includes('${')) {
        log.warn(
          `verify --path: ${l.file}: Kustomization ${o.metadata?.name}: spec.path ${path} uses a variable; its files are not checked`,
        );
        continue;
      }
      const target = normalize(path);
      if (target !== undefined) queue.push(target);
    }
  }
  return { objects, findings, roots };
}
