/**
 * `verify --path DIR`: the part of the repository one cluster applies, found from its files
 * without rendering, by the Flux graph (flux/graph.ts): the entry directory's kustomize reach,
 * then what every Flux Kustomization found there reads — a path of this repository, of a
 * directory of it mapped with `--source`, or the directories an ArtifactGenerator copies into
 * an ExternalArtifact — transitively. Objects keep their files and lines.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FluxGraph, repositoryMappings } from '../flux/graph.js';
import { notThisCheckout, readCheckout, type GitRepositorySpec } from '../flux/checkout.js';
import { field, repoPath } from '../flux/objects.js';
import { directoryTree } from '../flux/tree.js';
import { FluxgateError } from '../errors.js';
import type { Logger } from '../log.js';
import { scanObjects, type Finding, type Located } from './policy.js';

/** `--path .` (or none): the whole repository is scanned. */
export const isRepositoryRoot = (path: string) => repoPath(path) === '';

export interface ClusterScope {
  objects: Located[];
  findings: Finding[];
  /** Repository-relative paths scanned. */
  roots: string[];
}

/**
 * The objects of the files one cluster applies. `sources` are the `--source` mappings: a
 * source mapped to a directory of the repository is followed there; one mapped elsewhere, or a
 * GitRepository that is not this checkout (its URL or ref), is another repository, whose files
 * are not checked.
 */
export function scanCluster(
  repo: string,
  entry: string,
  sources: Map<string, string>,
  log: Logger,
  cwd = process.cwd(),
  env: NodeJS.ProcessEnv = process.env,
): ClusterScope {
  const start = repoPath(entry);
  if (start === undefined || !existsSync(join(repo, start)) || !statSync(join(repo, start)).isDirectory())
    throw new FluxgateError('INPUT', `--path ${entry}: no such directory in the repository`, {
      exitCode: 2,
    });
  const checkout = readCheckout(repo, env);
  const graph = new FluxGraph(directoryTree(repo), {
    mappings: repositoryMappings(repo, sources, cwd),
    otherRepository: (o) => notThisCheckout(field<GitRepositorySpec>(o, 'spec') ?? {}, checkout),
  });
  const scope = graph.clusterScope(start);
  for (const { owner, reason } of scope.opaque)
    log.warn(
      `verify --path: ${owner.file}: Kustomization ${owner.object.metadata.name}: ${reason}; its files are not checked`,
    );
  const roots = scope.paths.filter((p) => existsSync(join(repo, p)));
  const objects: Located[] = [];
  const findings: Finding[] = [];
  for (const root of roots) {
    const scanned = scanObjects(repo, root === '' ? '.' : root);
    objects.push(...scanned.objects);
    findings.push(...scanned.findings);
  }
  return { objects, findings, roots };
}
