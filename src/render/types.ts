/**
 * The render engine's data model, shared by render, diff, verify and the benchmark.
 * JSON shape (DESIGN.md): {"objects":[{"owner":{kind,namespace,name},"object":{...}}],"errors":[{"owner":{...},"message"}]}
 */
import type { Logger } from '../log.js';
import type { BuildCounts } from './cache.js';

import type { KubeObject, OwnerRef } from '../flux/objects.js';

export type { KubeObject, OwnerRef } from '../flux/objects.js';

export interface RenderedObject {
  owner: OwnerRef;
  object: KubeObject;
  /** Where the object came from, when known (repo-relative file, 1-based line): for annotations. */
  origin?: { file: string; line?: number };
}

export interface RenderError {
  owner: OwnerRef;
  message: string;
  origin?: { file: string; line?: number };
}

/** An object two owners apply: a warning on each of them. */
export interface RenderWarning extends RenderError {
  /** The object, as `Kind namespace/name`. */
  object?: string;
  /** The other owners that apply it. */
  others?: OwnerRef[];
}

export interface RenderResult {
  objects: RenderedObject[];
  errors: RenderError[];
  /** What Flux would apply but fight over (an object applied by two owners); not a failure. */
  warnings?: RenderWarning[];
  /** Owners actually built (all of them in a full render; fewer in changed-only mode). */
  rendered: OwnerRef[];
  /**
   * Owners the controllers leave alone (`spec.suspend`, the operator's `reconcile: disabled`):
   * rendered all the same, but what they would apply is not applied while they stay so.
   */
  suspended?: OwnerRef[];
  /** What is known in-cluster only and so not rendered (a FluxInstance's controllers); not a failure. */
  notices?: RenderError[];
  /** How those owners' builds were obtained: run, shared with the other side, or from the cache. */
  builds?: BuildCounts;
}

export function ownerKey(owner: OwnerRef): string {
  return `${owner.kind}/${owner.namespace}/${owner.name}`;
}

/**
 * Hides Secret values: the same value gives the same marker within one run (base and head
 * compare), a random per-run key makes markers meaningless across runs.
 */
export interface SecretMasker {
  /** Marker for a secret value, e.g. `(secret:3f9a1c2b4d5e)`. */
  mask(value: string | Uint8Array): string;
}

/** Everything a HelmRelease render needs from the engine (src/render/helm implements the render). */
export interface HelmRenderContext {
  /** Objects rendered so far in the cluster tree: ConfigMaps/Secrets for valuesFrom, chart sources. */
  lookup(kind: string, namespace: string, name: string): KubeObject | undefined;
  /** Local directory of a GitRepository/OCIRepository/ExternalArtifact source (resolved by the engine). */
  sourceDir(kind: string, namespace: string, name: string): Promise<string>;
  masker: SecretMasker;
  log: Logger;
  env: NodeJS.ProcessEnv;
  registryMirrors: Map<string, string>;
  helmRepoMirrors: Map<string, string>;
  cacheDir: string;
  kubeVersion?: string;
  apiVersions: string[];
  insecureRegistry: boolean;
  creds?: import('../oci/auth.js').RegistryCredentials;
  /** Charts fetched in this run, by URL or digest → local chart path: each is fetched once. */
  chartCache?: Map<string, Promise<string>>;
  /** The run's registry client (plain HTTP allowed or not). */
  registry?: (insecure: boolean) => import('../oci/client.js').RegistryClient;
  /** Scratch directory of the run, removed at the end. */
  workDir?: string;
  /** How tools are run (argv arrays, never a shell). */
  run?: import('./process.js').ProcessRunner;
  /** The private home of the render's tool processes (default: one per process). */
  toolHome?: import('./process.js').ToolHome;
  /** A build's output by its inputs: reused from this run or the cache, or built (see cache.ts). */
  buildOutput?: (inputs: unknown, build: () => Promise<string>) => Promise<string>;
}
