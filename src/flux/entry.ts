/**
 * Where the entry directory comes from in the cluster. Its own Kustomization (bootstrap's
 * gotk-sync `flux-system`) names the source Flux builds it from. When that is an OCIRepository,
 * the fleet is an artifact CI pushes from a directory of this repository (`flux push artifact
 * --path=./kubernetes`): every path of that source is relative to the pushed directory, which is
 * the entry directory minus the Kustomization's own `spec.path`.
 */
import { field, isInside, repoPath, type KubeObject } from './objects.js';

export const ENTRY_OWNER = { kind: 'Kustomization', namespace: 'flux-system', name: 'flux-system' } as const;

export interface EntrySource {
  kind: string;
  namespace: string;
  name: string;
  /** The Kustomization's `spec.path`, repository-relative form (`''` for the root). */
  path: string;
}

/** The source the entry's own Kustomization is built from, when it names one other than a GitRepository. */
export function entryArtifactSource(definition: KubeObject | undefined): EntrySource | undefined {
  if (!definition) return undefined;
  const ref = field<{ kind?: string; name?: string; namespace?: string }>(definition, 'spec', 'sourceRef');
  if (ref?.kind !== 'OCIRepository' || !ref.name) return undefined;
  const path = repoPath(field<string>(definition, 'spec', 'path') ?? './');
  if (path === undefined) return undefined;
  return { kind: ref.kind, namespace: ref.namespace || ENTRY_OWNER.namespace, name: ref.name, path };
}

/**
 * The repository directory an artifact was pushed from, given the entry directory (repository
 * path) and the path its Kustomization reads in the artifact: `kubernetes` for
 * `kubernetes/clusters/production` and `./clusters/production`. Undefined when the entry
 * directory does not end with that path (the artifact is not a directory of this checkout).
 */
export function pushedDirectory(entryPath: string, artifactPath: string): string | undefined {
  const entry = repoPath(entryPath);
  if (entry === undefined) return undefined;
  if (artifactPath === '') return entry;
  if (entry === artifactPath) return '';
  if (!entry.endsWith(`/${artifactPath}`)) return undefined;
  const root = entry.slice(0, -artifactPath.length - 1);
  return isInside(entry, root) ? root : undefined;
}
