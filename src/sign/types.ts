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
  /** cosign keyless: the certificate's identity (SAN) and OIDC issuer. */
  identity?: { subject: string; issuer: string };
}

/** A verification outcome, as in verify's JSON `sources[]` (`verified`, `by`, `reason`). */
export interface VerificationOutcome {
  verified: boolean;
  provider: 'cosign' | 'notation';
  /** Which key, identity or certificate verified it. */
  by?: string;
  /** Why not, one line. */
  reason?: string;
  /** Failures a logging policy let through (notation permissive/audit), one line each. */
  warnings?: string[];
}

export interface ProviderContext {
  log: Logger;
  env: NodeJS.ProcessEnv;
}

/** A public key and the name it is reported by (file, or `NS/SECRET/KEY` of a verify Secret). */
export interface NamedKey {
  name: string;
  key: import('node:crypto').KeyObject;
}

/**
 * A keyless identity, as cosign's `--certificate-identity[-regexp]` /
 * `--certificate-oidc-issuer[-regexp]` and Flux's `matchOIDCIdentity` (whose fields are regexps).
 */
export interface CertificateIdentity {
  issuer?: string;
  issuerRegExp?: string;
  subject?: string;
  subjectRegExp?: string;
}

export interface CosignVerifyPolicy {
  provider: 'cosign';
  /** Key-based when non-empty: any key verifying is enough. Empty: keyless, by `identities`. */
  keys: NamedKey[];
  /** Keyless: any identity matching is enough. */
  identities: CertificateIdentity[];
  /** Contents of a Sigstore `trusted_root.json` and where it came from; absent: the public-good root. */
  trustedRoot?: { source: string; json: string };
  /** Keyless without a Rekor entry, as cosign's `--insecure-ignore-tlog`. */
  ignoreTlog: boolean;
}

/** A certificate file of a trust store (PEM or DER), named for messages. */
export interface TrustStoreFile {
  name: string;
  data: Buffer;
}

export interface NotationVerifyPolicy {
  provider: 'notation';
  /** Contents of a trust policy document (`trustpolicy.json`) and where it came from. */
  trustPolicy: { source: string; json: string };
  /**
   * `TYPE:NAME` (e.g. `ca:acme`) → certificate files. The key `*` serves every store the policy
   * names, as a Flux verify Secret does (its certificates answer for any store name).
   */
  trustStores: Map<string, TrustStoreFile[]>;
  /**
   * From a Flux verify Secret: the policy's `skip` statements are cleaned before validation and
   * the Secret's certificates are trusted as they are (source-controller internal/oci/notation).
   */
  fluxSecret?: boolean;
}

export type VerifyPolicy = CosignVerifyPolicy | NotationVerifyPolicy;
