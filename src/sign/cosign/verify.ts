/**
 * Verification of cosign signatures as source-controller does it (cosign v3): Sigstore bundles
 * and legacy `.sig` layers, by public keys or by keyless identity against a trusted root.
 * Certificate chains, SCTs, Rekor SETs and inclusion proofs are checked by @sigstore/verify.
 */
import { bundleFromJSON, type Bundle, type TransparencyLogEntry } from '@sigstore/bundle';
import { parseBundleJson } from './bundle-json.js';
import { X509Certificate } from '@sigstore/core';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import {
  toSignedEntity,
  toTrustMaterial,
  Verifier,
  type SignedEntity,
  type TrustMaterial,
} from '@sigstore/verify';
import { createHash } from 'node:crypto';
// @peculiar/x509 resolves its algorithm providers through tsyringe, which needs the polyfill.
import 'reflect-metadata';
import { SubjectAlternativeNameExtension, X509Certificate as PeculiarCertificate } from '@peculiar/x509';
import type { CertificateIdentity, CosignVerifyPolicy, NamedKey, VerificationOutcome } from '../types.js';
import { compileGoRegExp } from '../../util/go-regexp.js';
import { IN_TOTO_PAYLOAD_TYPE, type StoredBundle } from './bundle-format.js';
import { layerProblem, verifyLayers, type SignatureLayer } from './legacy.js';
import { CERTIFICATE_ANNOTATION, SIGNATURE_ANNOTATION } from './simple-signing.js';

export const CHAIN_ANNOTATION = 'dev.sigstore.cosign/chain';
export const REKOR_BUNDLE_ANNOTATION = 'dev.sigstore.cosign/bundle';
const OID_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';
const OID_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';

type Verdict = { by: string } | { reason: string };
const fail = (reason: string): VerificationOutcome => ({ verified: false, provider: 'cosign', reason });

/** The trust material of a policy: its custom trusted root, else the public-good one through TUF. */
export async function loadTrustMaterial(policy: CosignVerifyPolicy): Promise<TrustMaterial> {
  if (policy.trustedRoot) {
    let root: TrustedRoot;
    try {
      root = TrustedRoot.fromJSON(JSON.parse(policy.trustedRoot.json));
    } catch (err) {
      throw new TrustedRootError(
        `trusted root ${policy.trustedRoot.source}: not a Sigstore trusted_root.json (${(err as Error).message})`,
      );
    }
    // A transparency log is needed unless it is ignored (source-controller rekorURLFromTrustedRoot
    // refuses a root without one; cosign --insecure-ignore-tlog does not need it).
    if (!root.certificateAuthorities.length || (!root.tlogs.length && !policy.ignoreTlog))
      throw new TrustedRootError(
        `trusted root ${policy.trustedRoot.source}: it lists no certificate authority or no transparency log`,
      );
    return toTrustMaterial(root);
  }
  // Network: the public-good root through Sigstore's TUF repository (cached under ~/.sigstore).
  const { getTrustedRoot } = await import('@sigstore/tuf');
  try {
    return toTrustMaterial(await getTrustedRoot());
  } catch (err) {
    throw new TrustedRootError(
      `cannot fetch the public-good Sigstore trusted root through TUF: ${(err as Error).message}`,
    );
  }
}

export class TrustedRootError extends Error {}

/** A trusted root that cannot be read or fetched fails the verification, with its reason. */
async function untrustedRootAsReason(run: () => Promise<VerificationOutcome>): Promise<VerificationOutcome> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof TrustedRootError) return fail(err.message);
    throw err;
  }
}

/**
 * Does a certificate's identity satisfy one policy identity? Regexps are Go's (RE2, unanchored
 * MatchString); an empty string is no constraint, as in Go. Two readings, as cosign has two:
 * - `bundle`: sigstore-go verify/certificate_identity.go SANMatcher/IssuerMatcher.Verify — an
 *   exact value and a regexp, when both are given, must both match;
 * - `legacy` (`.sig` layers): cosign pkg/cosign/verify.go CheckCertificatePolicy — a regexp,
 *   when given, is used instead of the exact value.
 * A regexp Go refuses throws GoRegExpError.
 */
export function identityMatches(
  id: CertificateIdentity,
  subject: string,
  issuer: string,
  reading: 'bundle' | 'legacy' = 'bundle',
): boolean {
  const one = (exact: string | undefined, re: string | undefined, value: string) => {
    const byRegExp = re ? compileGoRegExp(re).matches(value) : true;
    if (reading === 'legacy' && re) return byRegExp;
    return (exact ? value === exact : true) && byRegExp;
  };
  return one(id.subject, id.subjectRegExp, subject) && one(id.issuer, id.issuerRegExp, issuer);
}

const describeIdentity = (id: CertificateIdentity) =>
  `${id.subject ?? `/${id.subjectRegExp ?? '.*'}/`} (${id.issuer ?? `/${id.issuerRegExp ?? '.*'}/`})`;

/** One line for a @sigstore/verify failure. */
function describeVerifyError(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { message?: string } };
  const detail = e.cause?.message ? `${e.message}: ${e.cause.message}` : (e.message ?? String(err));
  switch (e.code) {
    case 'CERTIFICATE_ERROR':
      return `the certificate does not chain to a trusted Fulcio root (${detail})`;
    case 'TIMESTAMP_ERROR':
      return `no verified Rekor entry or timestamp (${detail})`;
    case 'SIGNATURE_ERROR':
      return 'the signature does not verify with its certificate';
    case 'PUBLIC_KEY_ERROR':
      return `the signing key is not trusted (${detail})`;
    default:
      return e.code?.startsWith('TLOG')
        ? `the Rekor entry does not verify (${detail})`
        : `sigstore verification failed (${detail})`;
  }
}

/**
 * Intermediates from a legacy signature's chain annotation, added to the trust material only
 * when a trusted CA has issued them (the verifier treats every CA certificate as an anchor).
 */
function withIntermediates(trust: TrustMaterial, chainPem: string | undefined): TrustMaterial {
  const pems = chainPem?.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  let intermediates = pems
    .map((p) => {
      try {
        return X509Certificate.parse(p);
      } catch {
        return undefined;
      }
    })
    .filter((c): c is X509Certificate => !!c && c.isCA && !c.subject.equals(c.issuer));
  const cas = [...trust.certificateAuthorities];
  // Repeat so that a chain of several intermediates is admitted from the top down.
  for (let added = true; added && intermediates.length;) {
    added = false;
    for (const cert of intermediates) {
      const issuerCa = cas.find((ca) =>
        ca.certChain.some((c) => {
          try {
            return c.isCA && cert.verify(c);
          } catch {
            return false;
          }
        }),
      );
      if (!issuerCa) continue;
      cas.push({ certChain: [cert, ...issuerCa.certChain], validFor: issuerCa.validFor });
      intermediates = intermediates.filter((c) => c !== cert);
      added = true;
      break;
    }
  }
  return { ...trust, certificateAuthorities: cas };
}

/**
 * The signed entity as cosign checks it (pkg/cosign/verify.go CheckOpts.verificationOptions,
 * without --use-signed-timestamps, which source-controller never sets): with the log, its
 * integrated timestamps only (RFC 3161 timestamps in the bundle are not consulted, so a trusted
 * root without TSAs does not fail them); with --insecure-ignore-tlog, no log entry and the
 * certificate checked at the current time (sigstore-go WithCurrentTime).
 */
function asCosignChecksIt(entity: SignedEntity, ignoreTlog: boolean): SignedEntity {
  if (!ignoreTlog)
    return { ...entity, timestamps: entity.timestamps.filter((t) => t.$case === 'transparency-log') };
  // @sigstore/verify checks the chain and the leaf's validity at each timestamp it is given and
  // verifies log entries separately: the current time goes in as the only timestamp, unlogged.
  const now: TransparencyLogEntry = {
    logIndex: '0',
    logId: { keyId: Buffer.alloc(0) },
    kindVersion: { kind: '', version: '' },
    integratedTime: String(Math.floor(Date.now() / 1000)),
    inclusionPromise: { signedEntryTimestamp: Buffer.alloc(0) },
    inclusionProof: undefined,
    canonicalizedBody: Buffer.alloc(0),
  };
  return { ...entity, tlogEntries: [], timestamps: [{ $case: 'transparency-log', tlogEntry: now }] };
}

/**
 * Every SAN of a bundle's leaf certificate in cosign's order (sigstore cryptoutils
 * GetSubjectAlternateNames: DNS names, emails, IP addresses, URIs), or undefined when unreadable.
 * Other names are not listed (Fulcio issues them only for usernames).
 */
function allSubjectAlternativeNames(bundle: Bundle): string[] | undefined {
  const c = bundle.verificationMaterial.content;
  const der =
    c.$case === 'x509CertificateChain'
      ? c.x509CertificateChain.certificates[0]?.rawBytes
      : c.$case === 'certificate'
        ? c.certificate.rawBytes
        : undefined;
  if (!der) return undefined;
  try {
    const ext = new PeculiarCertificate(der).getExtension(SubjectAlternativeNameExtension);
    const items = ext?.names.items ?? [];
    return (['dns', 'email', 'ip', 'url'] as const).flatMap((type) =>
      items.filter((n) => n.type === type).map((n) => n.value),
    );
  } catch {
    return undefined;
  }
}

/** Verifies a keyless entity against the trust material, then matches its identity. */
function verifyKeyless(
  bundle: Bundle,
  artifact: Buffer | undefined,
  trust: TrustMaterial,
  policy: CosignVerifyPolicy,
  identities: CertificateIdentity[],
  reading: 'bundle' | 'legacy',
): Verdict {
  let signer;
  try {
    const entity = asCosignChecksIt(toSignedEntity(bundle, artifact), policy.ignoreTlog);
    signer = new Verifier(trust, {
      tlogThreshold: policy.ignoreTlog ? 0 : 1,
      // cosign requires an embedded SCT unless --insecure-ignore-sct (which Flux never sets),
      // whether or not the trusted root names a CT log to check it with.
      ctlogThreshold: 1,
      timestampThreshold: 1,
    }).verify(entity);
  } catch (err) {
    return { reason: describeVerifyError(err) };
  }
  const subject = signer.identity?.subjectAlternativeName ?? '';
  const issuer = signer.identity?.extensions?.issuer ?? '';
  // cosign's legacy path matches every SAN of the certificate; sigstore-go's the first one.
  const subjects = reading === 'legacy' ? (allSubjectAlternativeNames(bundle) ?? [subject]) : [subject];
  try {
    const matching = (id: CertificateIdentity) =>
      subjects.find((san) => identityMatches(id, san, issuer, reading));
    if (!identities.length) return { by: `keyless: ${subject} (${issuer})` };
    for (const id of identities) {
      const san = matching(id);
      if (san !== undefined) return { by: `keyless: ${san} (${issuer})` };
    }
  } catch (err) {
    return { reason: `an identity regexp is not valid: ${(err as Error).message}` };
  }
  return {
    reason: `the certificate identity ${subject} (${issuer}) does not match ${identities.map(describeIdentity).join(' or ')}`,
  };
}

/** The first key whose signature check passes (no Rekor needed, as Flux verifies keys offline). */
function verifyByKeys(bundle: Bundle, artifact: Buffer | undefined, keys: NamedKey[]): Verdict {
  let entity;
  try {
    entity = toSignedEntity(bundle, artifact);
  } catch (err) {
    return { reason: `malformed signature (${(err as Error).message})` };
  }
  const match = keys.find((k) => {
    try {
      return entity.signature.verifySignature(k.key);
    } catch {
      return false;
    }
  });
  return match
    ? { by: match.name }
    : { reason: `no signature verifies with the given key${keys.length > 1 ? 's' : ''}` };
}

/** The sha256 digest a cosign bundle's in-toto statement names, or why it names none. */
function statementDigests(bundle: Bundle): { digests?: string[]; error?: string } {
  if (bundle.content.$case !== 'dsseEnvelope')
    return { error: 'a bundle holds a message signature, not the DSSE statement cosign signs images with' };
  const env = bundle.content.dsseEnvelope;
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE)
    return { error: `a bundle's DSSE payload type is ${env.payloadType}, not ${IN_TOTO_PAYLOAD_TYPE}` };
  let statement: { subject?: { digest?: Record<string, string> }[] };
  try {
    statement = JSON.parse(env.payload.toString('utf8'));
  } catch {
    return { error: "a bundle's statement is not JSON" };
  }
  const digests = (statement.subject ?? [])
    .map((s) => s.digest?.sha256)
    .filter((d): d is string => typeof d === 'string')
    .map((d) => `sha256:${d}`);
  return digests.length ? { digests } : { error: "a bundle's statement names no sha256 subject" };
}

/**
 * Sigstore bundles referring to the artifact: any one verifying is enough. Keyless bundles need
 * exactly one identity, as cosign v3 (and so source-controller) requires.
 */
export async function verifyBundles(...args: Parameters<typeof verifyBundlesUnsafe>) {
  return untrustedRootAsReason(() => verifyBundlesUnsafe(...args));
}

async function verifyBundlesUnsafe(
  bundles: StoredBundle[],
  digest: string,
  policy: CosignVerifyPolicy,
  trust?: TrustMaterial,
): Promise<VerificationOutcome> {
  if (!bundles.length) return fail('no cosign signature found');
  if (!policy.keys.length) {
    if (policy.identities.length > 1)
      return fail('sigstore bundles: multiple identities are not supported (cosign v3 takes one)');
    if (!policy.identities.length)
      return fail('sigstore bundles: cannot verify identities without at least one identity');
  }
  const reasons = new Set<string>();
  for (const stored of bundles) {
    let bundle: Bundle;
    try {
      bundle = parseBundleJson(stored.json);
    } catch (err) {
      reasons.add(`bundle ${stored.name} is malformed (${(err as Error).message.split('\n')[0]})`);
      continue;
    }
    const subject = statementDigests(bundle);
    if (subject.error) {
      reasons.add(subject.error);
      continue;
    }
    if (!subject.digests!.includes(digest)) {
      reasons.add(`a signature is for another artifact (${subject.digests!.join(', ')})`);
      continue;
    }
    if (!policy.keys.length && bundle.verificationMaterial.content.$case === 'publicKey') {
      reasons.add('a signature is key-based (no certificate); verify it with --key');
      continue;
    }
    let verdict: Verdict;
    if (policy.keys.length) verdict = verifyByKeys(bundle, undefined, policy.keys);
    else {
      trust ??= await loadTrustMaterial(policy);
      verdict = verifyKeyless(bundle, undefined, trust, policy, policy.identities, 'bundle');
    }
    if ('by' in verdict) return { verified: true, provider: 'cosign', by: verdict.by };
    reasons.add(verdict.reason);
  }
  return fail([...reasons].join('; '));
}

/**
 * One Sigstore bundle checked against an artifact (its bytes) with cosign's options, the check
 * cosign's VerifyNewBundle delegates to sigstore-go: a DSSE statement must name the artifact's
 * sha256, a message signature must sign it. What verifyBundles runs after discovery, without
 * the image-only rules (DSSE required, v0.3 minimum).
 */
export async function verifySigstoreBundle(
  json: string,
  artifact: Buffer,
  policy: CosignVerifyPolicy,
): Promise<VerificationOutcome> {
  return untrustedRootAsReason(async () => {
    let bundle: Bundle;
    try {
      bundle = parseBundleJson(json);
    } catch (err) {
      return fail(`malformed bundle (${(err as Error).message.split('\n')[0]})`);
    }
    let data: Buffer | undefined = artifact;
    if (bundle.content.$case === 'dsseEnvelope') {
      const sha256 = `sha256:${createHash('sha256').update(artifact).digest('hex')}`;
      const subject = statementDigests(bundle);
      if (subject.error) return fail(subject.error);
      if (!subject.digests!.includes(sha256)) return fail(`a signature is for another artifact`);
      data = undefined;
    }
    const verdict = policy.keys.length
      ? verifyByKeys(bundle, data, policy.keys)
      : verifyKeyless(bundle, data, await loadTrustMaterial(policy), policy, policy.identities, 'bundle');
    return 'by' in verdict ? { verified: true, provider: 'cosign', by: verdict.by } : fail(verdict.reason);
  });
}

/** A message-signature bundle (v0.1, SET only) rebuilt from a keyless `.sig` layer's annotations. */
export function bundleFromLayer(layer: SignatureLayer): Bundle {
  const a = layer.annotations;
  const der = certDer(a[CERTIFICATE_ANNOTATION]!);
  X509Certificate.parse(Buffer.from(der)); // fails early, with a reason, on a malformed certificate
  const tlogEntries = [];
  if (a[REKOR_BUNDLE_ANNOTATION]) {
    const rekor = JSON.parse(a[REKOR_BUNDLE_ANNOTATION]) as {
      SignedEntryTimestamp: string;
      Payload: { body: string; integratedTime: number; logIndex: number; logID: string };
    };
    const body = JSON.parse(Buffer.from(rekor.Payload.body, 'base64').toString('utf8')) as {
      kind?: string;
      apiVersion?: string;
    };
    tlogEntries.push({
      logIndex: String(rekor.Payload.logIndex),
      logId: { keyId: Buffer.from(rekor.Payload.logID, 'hex').toString('base64') },
      kindVersion: { kind: body.kind ?? '', version: body.apiVersion ?? '' },
      integratedTime: String(rekor.Payload.integratedTime),
      inclusionPromise: { signedEntryTimestamp: rekor.SignedEntryTimestamp },
      canonicalizedBody: rekor.Payload.body,
    });
  }
  return bundleFromJSON({
    mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1',
    verificationMaterial: {
      x509CertificateChain: {
        certificates: [{ rawBytes: der.toString('base64') }],
      },
      tlogEntries,
    },
    messageSignature: {
      messageDigest: {
        algorithm: 'SHA2_256',
        digest: createHash('sha256').update(layer.payload).digest('base64'),
      },
      signature: a[SIGNATURE_ANNOTATION] ?? '',
    },
  });
}

function certDer(pem: string): Buffer {
  const m = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(pem);
  return Buffer.from((m?.[1] ?? '').replace(/\s+/g, ''), 'base64');
}

/**
 * Legacy `.sig` layers: by keys (offline, as Flux), or keyless — the certificate chains to the
 * trusted root, the Rekor SET verifies (unless ignoreTlog), and the identity matches any of the
 * policy's identities (none: any Fulcio identity, as cosign's legacy path).
 */
export async function verifySignatureLayers(...args: Parameters<typeof verifySignatureLayersUnsafe>) {
  return untrustedRootAsReason(() => verifySignatureLayersUnsafe(...args));
}

async function verifySignatureLayersUnsafe(
  layers: SignatureLayer[],
  digest: string,
  policy: CosignVerifyPolicy,
  trust?: TrustMaterial,
): Promise<VerificationOutcome> {
  if (policy.keys.length) return verifyLayers(layers, digest, policy.keys);
  if (!layers.length) return fail('no cosign signature found');
  const reasons = new Set<string>();
  for (const layer of layers) {
    const problem = layerProblem(layer, digest);
    if (problem) {
      reasons.add(problem);
      continue;
    }
    if (!layer.annotations[CERTIFICATE_ANNOTATION]) {
      reasons.add('a signature is key-based (no certificate); verify it with --key');
      continue;
    }
    if (!policy.ignoreTlog && !layer.annotations[REKOR_BUNDLE_ANNOTATION]) {
      reasons.add(`a keyless signature has no Rekor entry (${REKOR_BUNDLE_ANNOTATION})`);
      continue;
    }
    let bundle: Bundle;
    try {
      bundle = bundleFromLayer(layer);
    } catch (err) {
      reasons.add(
        `a keyless signature's annotations are malformed (${(err as Error).message.split('\n')[0]})`,
      );
      continue;
    }
    const material = withIntermediates(
      trust ?? (trust = await loadTrustMaterial(policy)),
      layer.annotations[CHAIN_ANNOTATION],
    );
    const verdict = verifyKeyless(bundle, layer.payload, material, policy, policy.identities, 'legacy');
    if ('by' in verdict) return { verified: true, provider: 'cosign', by: verdict.by };
    reasons.add(verdict.reason);
  }
  return fail([...reasons].join('; '));
}

/** The identity (SAN) and OIDC issuer of a Fulcio certificate (DER or PEM). */
export function certificateIdentity(cert: Buffer | string): { subject: string; issuer: string } {
  const c = X509Certificate.parse(Buffer.from(typeof cert === 'string' ? certDer(cert) : cert));
  const v2 = c.extension(OID_ISSUER_V2)?.valueObj.subs?.[0]?.value.toString('utf8');
  const issuer = v2 ?? c.extension(OID_ISSUER_V1)?.value.toString('utf8') ?? '';
  return { subject: c.subjectAltName ?? '', issuer };
}
