import type { RegistryCredentials } from '../oci/auth.js';
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
