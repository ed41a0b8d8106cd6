import type { RenderEngineOptions } from '../render/options.js';

/** The verify domain's options: one artifact (`reference`) or the sources of a repository. */
export interface VerifyOptions extends Pick<
  RenderEngineOptions,
  'repo' | 'sources' | 'registryMirrors' | 'concurrency' | 'insecureRegistry' | 'creds'
> {
  /** `oci://…` given: verify that one artifact; otherwise every source under `path`. */
  reference?: string;
  path: string;
  format: 'text' | 'json';
  provider: 'cosign' | 'notation';
  keys: string[];
  certificateIdentity?: string;
  certificateIdentityRegexp?: string;
  certificateOidcIssuer?: string;
  certificateOidcIssuerRegexp?: string;
  trustedRoot?: string;
  insecureIgnoreTlog: boolean;
  trustPolicy?: string;
  /** `TYPE:NAME` → directory, e.g. `ca:acme` → `certs/`. */
  trustStores: Map<string, string>;
  /** `NS/NAME` → directory holding a verify Secret's files. */
  verifySecrets: Map<string, string>;
  requireSignatures: boolean;
  requireDigests: boolean;
  requireEncryptedSecrets: boolean;
  fluxVersion?: string;
  /** `provenance`: check the artifact's provenance attestation instead of its signatures. */
  attestation?: 'provenance';
  /** With --attestation: the repository the attested workflow ran in (URL or OWNER/REPO). */
  sourceRepository?: string;
}
