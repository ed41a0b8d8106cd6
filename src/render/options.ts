import { availableParallelism } from 'node:os';
import type { RegistryCredentials } from '../oci/auth.js';

/**
 * Builds run at once by default: one more than the cores. A tool's run is not all CPU (its
 * process starts, reads its files, and the engine parses the output between two runs), so with
 * exactly one build a core, a core idles in those gaps (`npm run bench` measures both).
 */
export function defaultConcurrency(): number {
  return availableParallelism() + 1;
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
