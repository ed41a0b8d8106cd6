import { availableParallelism } from 'node:os';
import type { RegistryCredentials } from '../oci/auth.js';

/**
 * Builds run at once by default: one a core. kubectl and helm are Go programs that use more than
 * a core while they run, so one build more than the cores (the default before) made every run
 * slower for little gain in the gaps between runs: `npm run bench` measures both, and one a core
 * was faster at 500 apps in each of its last three runs, and as fast at 50 and 200.
 */
export function defaultConcurrency(): number {
  return availableParallelism();
}
/** What a render of a repository needs besides the cluster path: the render domain's options. */
export interface RenderEngineOptions {
  /** Root of the repository being rendered (unmapped GitRepository sources resolve to it). */
  repo: string;
  /** `--source`: `Kind/ns/name` or `ns/name` → directory. */
  sources: Map<string, string>;
  strictSubstitute: boolean;
  registryMirrors: Map<string, string>;
  helmRepoMirrors: Map<string, string>;
  concurrency: number;
  cacheDir?: string;
  kubeVersion?: string;
  apiVersions: string[];
  insecureRegistry: boolean;
  creds?: RegistryCredentials;
  /** Files of age identities and OpenPGP private keys for SOPS (read by the render engine). */
  sopsAgeKeyFiles?: string[];
  sopsPgpKeyFiles?: string[];
}
