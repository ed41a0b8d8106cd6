/**
 * The Notary Project provider: X.509 signing in JWS or COSE envelopes stored as OCI referrers,
 * and verification with a trust policy and trust stores, as `notation verify` does it.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { FluxgateError, UsageError } from '../../errors.js';
import type { RegistryClient } from '../../oci/client.js';
import { RegistryError } from '../../oci/errors.js';
import type { SigningOptions } from '../../commands/artifact-flags.js';
import { VERSION } from '../../version.js';
import type {
  NotationVerifyPolicy,
  ProviderContext,
  SignatureRecord,
  SignTarget,
  VerificationOutcome,
} from '../types.js';
import {
  algorithmForKey,
  CertificateError,
  readCertificates,
  sha256Hex,
  validateCodeSigningChain,
  type Certificate,
} from './certificates.js';
import {
  COSE_MEDIA_TYPE,
  CREATED_ANNOTATION,
  JWS_MEDIA_TYPE,
  MAX_SIGNATURE_ATTEMPTS,
  PAYLOAD_CONTENT_TYPE,
  THUMBPRINT_ANNOTATION,
} from './constants.js';
import { createCose } from './cose.js';
import { formatTime } from './envelope.js';
import { createJws } from './jws.js';
import { notationPayload, type SignRequest } from './sign-request.js';
import { fetchSignature, listSignatures, pushSignature } from './storage.js';
import { parseTrustPolicy, selectStatement, TrustPolicyError } from './trust-policy.js';
import { openEnvelope, verifySignatureEnvelope } from './verifier.js';

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** A Go duration (`720h`, `1h30m`), as notation's `--expiry` takes it. */
export function parseExpiry(value: string): number {
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== value)
    throw new UsageError(`--expiry ${value}: not a duration (e.g. 720h, 1h30m)`);
  const ms = parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_MS[p[2]!]!, 0);
  if (ms < 1000) throw new UsageError(`--expiry ${value}: must be at least one second`);
  return ms;
}

function readSigningMaterial(options: SigningOptions): { key: KeyObject; chain: Certificate[] } {
  const keyFile = options.notationKey!;
  const certFile = options.notationCert!;
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(keyFile));
  } catch (err) {
    throw new FluxgateError(
      'INPUT',
      `${keyFile}: cannot read the notation signing key (${(err as Error).message})`,
    );
  }
  let chain: Certificate[];
  try {
    chain = readCertificates(readFileSync(certFile));
  } catch (err) {
    throw new FluxgateError(
      'INPUT',
      `${certFile}: cannot read the certificate chain (${(err as Error).message})`,
    );
  }
  const spki = (k: KeyObject) =>
    (k.type === 'private' ? createPublicKey(k) : k).export({ format: 'der', type: 'spki' });
  if (!spki(chain[0]!.node.publicKey).equals(spki(key)))
    throw new FluxgateError(
      'INPUT',
      `${keyFile}: the key does not belong to the first certificate of ${certFile} ("${chain[0]!.subject}")`,
    );
  return { key, chain };
}

/**
 * Signs the target as `notation sign` does: scheme notary.x509, signing time now (whole
 * seconds), optional expiry, the chain in x5c / x5chain; the chain must end in its root and meet
 * the certificate requirements at signing time. Stored as a referrer.
 */
export async function signWithNotation(
  client: RegistryClient,
  target: SignTarget,
  options: SigningOptions,
  ctx: ProviderContext,
): Promise<SignatureRecord[]> {
  const { key, chain } = readSigningMaterial(options);
  const certFile = options.notationCert!;
  const signingTime = new Date(Math.floor(Date.now() / 1000) * 1000);
  const expiry = options.expiry ? new Date(signingTime.getTime() + parseExpiry(options.expiry)) : undefined;
  let alg;
  try {
    alg = algorithmForKey(chain[0]!.node.publicKey);
    validateCodeSigningChain(chain, signingTime);
  } catch (err) {
    if (err instanceof CertificateError) throw new FluxgateError('INPUT', `${certFile}: ${err.message}`);
    throw err;
  }
  const request: SignRequest = {
    alg,
    key,
    certificates: chain.map((c) => c.der),
    payload: notationPayload(target),
    contentType: PAYLOAD_CONTENT_TYPE,
    signingTime,
    expiry,
    signingAgent: `fluxgate/${VERSION}`,
  };
  const format = options.signatureFormat;
  const mediaType = format === 'cose' ? COSE_MEDIA_TYPE : JWS_MEDIA_TYPE;
  const envelope = format === 'cose' ? createCose(request) : createJws(request);
  // What we store must open with our own verifier's integrity checks.
  openEnvelope(envelope, mediaType);
  const stored = await pushSignature(client, target, envelope, mediaType, {
    [THUMBPRINT_ANNOTATION]: JSON.stringify(chain.map((c) => sha256Hex(c.der))),
    [CREATED_ANNOTATION]: formatTime(signingTime),
  });
  const signer = chain[0]!.subject;
  ctx.log.info(
    `signed ${target.registry}/${target.repository}@${target.digest} with notation (${alg}, ${format}, "${signer}"); referrer ${stored.digest}`,
  );
  return [{ provider: 'notation', storage: 'referrer', ref: stored.digest, signer, format }];
}

/**
 * Verifies as `notation verify` (and source-controller) do: the trust policy statement for
 * `registry/repository`; skip passes; otherwise up to three notation signatures are tried and
 * the first that verifies wins, with the failures its level only logs as warnings.
 */
export async function verifyWithNotation(
  client: RegistryClient,
  target: SignTarget,
  policy: NotationVerifyPolicy,
  ctx: ProviderContext,
): Promise<VerificationOutcome> {
  const fail = (reason: string): VerificationOutcome => ({ verified: false, provider: 'notation', reason });
  const artifactPath = `${target.registry}/${target.repository}`;
  let statement;
  try {
    statement = selectStatement(
      parseTrustPolicy(policy.trustPolicy.json, { cleanSkipStatements: policy.fluxSecret }),
      artifactPath,
    );
  } catch (err) {
    if (err instanceof TrustPolicyError)
      return fail(`trust policy ${policy.trustPolicy.source}: ${err.message}`);
    throw err;
  }
  if (statement.skip) {
    const warning = `signature verification of ${artifactPath} is skipped by trust policy statement "${statement.name}"`;
    ctx.log.warn(warning);
    return {
      verified: true,
      provider: 'notation',
      by: `trust policy statement "${statement.name}" (skip)`,
      warnings: [warning],
    };
  }

  let descriptors;
  try {
    descriptors = await listSignatures(client, target);
  } catch (err) {
    if (err instanceof RegistryError) return fail(`cannot list notation signatures: ${err.message}`);
    throw err;
  }
  if (!descriptors.length) return fail(`no notation signature found for ${artifactPath}@${target.digest}`);

  const failures: string[] = [];
  for (const descriptor of descriptors.slice(0, MAX_SIGNATURE_ATTEMPTS)) {
    let stored;
    try {
      stored = await fetchSignature(client, target, descriptor);
    } catch (err) {
      if (!(err instanceof RegistryError)) throw err;
      failures.push(err.message);
      continue;
    }
    const verdict = verifySignatureEnvelope({
      envelope: stored.envelope,
      mediaType: stored.mediaType,
      target,
      statement,
      trustStores: policy.trustStores,
    });
    if (verdict.verified) {
      for (const w of verdict.warnings) ctx.log.warn(`${artifactPath}@${target.digest}: ${w}`);
      return {
        verified: true,
        provider: 'notation',
        by: verdict.by,
        ...(verdict.warnings.length ? { warnings: verdict.warnings } : {}),
      };
    }
    failures.push(`signature ${stored.digest}: ${verdict.reason}`);
  }
  if (descriptors.length > MAX_SIGNATURE_ATTEMPTS)
    failures.push(`stopped after ${MAX_SIGNATURE_ATTEMPTS} of ${descriptors.length} signatures`);
  return fail(failures.join('; '));
}
