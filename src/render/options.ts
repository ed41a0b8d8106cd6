import { availableParallelism } from 'node:os';
import type { RegistryCredentials } from '../oci/auth.js';

/**
 * Builds run at once by default: one a core, each tool with one Go thread (process.ts ToolHome).
 * One build more than the cores (the default before) was slower at 500 apps in each of the
 * benchmark's last four runs, and within the noise at 50 and 200: there is little gap to fill.
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
