/**
 * `verify oci://…`: one artifact, with the policy given by flags (cosign keys or identity and
 * trusted root; notation trust policy and trust stores).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { RegistryClient } from '../oci/client.js';
import { parseOciReference } from '../oci/reference.js';
import type { WorkIO } from '../util/io.js';
import type { VerifyOptions } from './options.js';
import { UsageError } from '../errors.js';
import { RegistryError } from '../oci/errors.js';
import { readPublicKey } from '../sign/cosign/keys.js';
import { goRegExpProblem } from '../util/go-regexp.js';
import { verifyArtifact } from '../sign/index.js';
import type {
  CertificateIdentity,
  CosignVerifyPolicy,
  NotationVerifyPolicy,
  TrustStoreFile,
  VerifyPolicy,
} from '../sign/types.js';
import type { VerifyReport } from './report.js';

function readFlagFile(io: WorkIO, flag: string, file: string): string {
  try {
    return readFileSync(resolve(io.cwd, file), 'utf8');
  } catch {
    throw new UsageError(`verify: --${flag} ${file}: cannot read the file`);
  }
}

export function cosignPolicyFromFlags(options: VerifyOptions, io: WorkIO): CosignVerifyPolicy {
  const keys = options.keys.map((file) => ({
    name: file,
    key: readPublicKey(readFlagFile(io, 'key', file), file),
  }));
  const identity: CertificateIdentity = {
    subject: options.certificateIdentity,
    subjectRegExp: options.certificateIdentityRegexp,
    issuer: options.certificateOidcIssuer,
    issuerRegExp: options.certificateOidcIssuerRegexp,
  };
  const hasSubject = identity.subject !== undefined || identity.subjectRegExp !== undefined;
  const hasIssuer = identity.issuer !== undefined || identity.issuerRegExp !== undefined;
  if (keys.length && (hasSubject || hasIssuer))
    throw new UsageError(
      'verify: --key and --certificate-identity/--certificate-oidc-issuer exclude each other',
    );
  for (const [flag, re] of [
    ['certificate-identity-regexp', identity.subjectRegExp],
    ['certificate-oidc-issuer-regexp', identity.issuerRegExp],
  ] as const) {
    const problem = re === undefined ? undefined : goRegExpProblem(re);
    if (problem)
      throw new UsageError(`verify: --${flag} ${re}: not a valid Go regular expression (${problem})`);
  }
  if (!keys.length && (!hasSubject || !hasIssuer))
    throw new UsageError(
      'verify: cosign needs --key FILE, or --certificate-identity[-regexp] with --certificate-oidc-issuer[-regexp]',
    );
  return {
    provider: 'cosign',
    keys,
    identities: keys.length ? [] : [identity],
    trustedRoot: options.trustedRoot
      ? { source: options.trustedRoot, json: readFlagFile(io, 'trusted-root', options.trustedRoot) }
      : undefined,
    ignoreTlog: options.insecureIgnoreTlog,
  };
}

/**
 * The certificate files of a trust store directory (or a single file), as notation-go reads a
 * store (verifier/truststore x509TrustStore.GetCertificates): every entry must be a regular
 * file; a subdirectory or a symlink is an error, not skipped.
 */
export function readTrustStoreDir(path: string): TrustStoreFile[] {
  if (!statSync(path).isDirectory()) return [{ name: path, data: readFileSync(path) }];
  const files: TrustStoreFile[] = [];
  for (const entry of readdirSync(path, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const file = join(path, entry.name);
    if (!entry.isFile())
      throw new TrustStoreDirError(
        `trusted certificate ${entry.name} is not a regular file (directories or symlinks are not supported)`,
      );
    files.push({ name: file, data: readFileSync(file) });
  }
  return files;
}

class TrustStoreDirError extends Error {}

export function notationPolicyFromFlags(options: VerifyOptions, io: WorkIO): NotationVerifyPolicy {
  if (!options.trustPolicy || !options.trustStores.size)
    throw new UsageError('verify: notation needs --trust-policy FILE and --trust-store TYPE:NAME=DIR');
  const trustStores = new Map<string, TrustStoreFile[]>();
  for (const [store, dir] of options.trustStores) {
    try {
      trustStores.set(store, readTrustStoreDir(resolve(io.cwd, dir)));
    } catch (err) {
      const why = err instanceof TrustStoreDirError ? err.message : 'cannot read it';
      throw new UsageError(`verify: --trust-store ${store}=${dir}: ${why}`);
    }
  }
  return {
    provider: 'notation',
    trustPolicy: { source: options.trustPolicy, json: readFlagFile(io, 'trust-policy', options.trustPolicy) },
    trustStores,
  };
}

/**
 * The registry client of a `verify oci://…` run and the artifact its reference names. With
 * `byDigestAlone`, a digest reference the registry holds no manifest for is still a target (its
 * media type and size unknown), as cosign's ociremote.ResolveDigest returns a digest reference
 * without asking the registry: its signatures are looked up all the same.
 */
export async function resolveReference(
  options: VerifyOptions,
  io: WorkIO,
  byDigestAlone = false,
): Promise<{ client: RegistryClient; target: Parameters<typeof verifyArtifact>[1] }> {
  const reference = options.reference as string;
  let ref;
  try {
    ref = parseOciReference(reference);
  } catch (err) {
    throw new UsageError(`verify: ${(err as Error).message}`);
  }
  const client = new RegistryClient({
    insecure: options.insecureRegistry,
    creds: options.creds,
    env: io.env,
    log: io.log,
    // The reference keeps its name (a trust policy's registry scope matches it); the mirror serves it.
    mirrors: options.registryMirrors,
  });
  const descriptor = await client.headManifest(
    ref.registry,
    ref.repository,
    ref.digest ?? ref.tag ?? 'latest',
  );
  if (!descriptor && !(byDigestAlone && ref.digest))
    throw new RegistryError(`verify: ${reference}: not found`);
  const target = {
    registry: ref.registry,
    repository: ref.repository,
    digest: descriptor?.digest ?? ref.digest!,
    mediaType: descriptor?.mediaType ?? '',
    size: descriptor?.size ?? 0,
  };
  return { client, target };
}

/** One artifact's signatures against the flags' policy; the report names it by its reference. */
export async function verifyReference(
  options: VerifyOptions,
  io: WorkIO,
): Promise<{ report: VerifyReport; verified: boolean; reason?: string }> {
  const reference = options.reference as string;
  const policy: VerifyPolicy =
    options.provider === 'cosign' ? cosignPolicyFromFlags(options, io) : notationPolicyFromFlags(options, io);
  const { client, target } = await resolveReference(options, io, policy.provider === 'cosign');
  const outcome = await verifyArtifact(client, target, policy, { log: io.log, env: io.env });
  const report: VerifyReport = {
    sources: [
      {
        ref: reference,
        digest: target.digest,
        provider: outcome.provider,
        verified: outcome.verified,
        by: outcome.by,
        reason: outcome.reason,
        ...(outcome.warnings?.length ? { warnings: outcome.warnings } : {}),
      },
    ],
    findings: [],
  };
  return { report, verified: outcome.verified, reason: outcome.reason };
}
