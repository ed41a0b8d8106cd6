/**
 * Seams between the signing providers (src/sign/cosign, src/sign/notation) and their callers
 * (push --sign, sign, verify). Providers implement these; src/sign/index.ts dispatches.
 */
import type { Logger } from '../log.js';

/** What was signed: the artifact's manifest descriptor in its repository. */
export interface SignTarget {
  /** e.g. `ghcr.io` or `127.0.0.1:5000` */
  registry: string;
  /** e.g. `acme/app/manifests` */
  repository: string;
  digest: string;
  mediaType: string;
  size: number;
}

/** One signature made, as reported in `push`/`sign` JSON (`signatures: []`). */
export interface SignatureRecord {
  provider: 'cosign' | 'notation';
  /** How it is stored: `tag` (cosign .sig), `referrer` (OCI 1.1 / tag-schema index). */
  storage: 'tag' | 'referrer';
  /** Tag or digest of the signature manifest. */
  ref: string;
  /** Key fingerprint, certificate subject or keyless identity. */
  signer: string;
  format?: 'simplesigning' | 'sigstore-bundle' | 'jws' | 'cose';
}

/** A verification outcome, as in verify's JSON `sources[]` (`verified`, `by`, `reason`). */
export interface VerificationOutcome {
  verified: boolean;
  provider: 'cosign' | 'notation';
  /** Which key, identity or certificate verified it. */
  by?: string;
  /** Why not, one line. */
  reason?: string;
}

export interface ProviderContext {
  log: Logger;
  env: NodeJS.ProcessEnv;
}
