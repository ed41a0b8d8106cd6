/**
 * One signature envelope against a trust policy statement, in notation-go's order (verifier.go):
 * integrity, authenticity (trust store, then trusted identity), expiry, authentic timestamp,
 * revocation, then the signed descriptor. Each check's failure is enforced, logged (a warning)
 * or skipped as the statement's level says; integrity and the descriptor always count.
 */
import type { TrustStoreFile } from '../types.js';
import { hasRevocationEndpoints, subjectRdns, type Certificate } from './certificates.js';
import { COSE_MEDIA_TYPE, JWS_MEDIA_TYPE, PAYLOAD_CONTENT_TYPE, SCHEME_X509 } from './constants.js';
import { EnvelopeError, type EnvelopeContent } from './envelope.js';
import { openJws } from './jws.js';
import { openCose } from './cose.js';
import type { TargetDescriptor } from './sign-request.js';
import {
  isSubsetDn,
  parseDistinguishedName,
  type CheckType,
  type TrustPolicyStatement,
} from './trust-policy.js';
import { loadTrustStores, TrustStoreError } from './trust-store.js';
import { timestampRange, TimestampError, verifyTimestampToken, type VerifiedTimestamp } from './timestamp.js';

export interface SignatureCheck {
  envelope: Buffer;
  /** The media type of the signature layer: `application/jose+json` or `application/cose`. */
  mediaType: string;
  /** The artifact as resolved from the registry. */
  target: TargetDescriptor;
  statement: TrustPolicyStatement;
  trustStores: Map<string, TrustStoreFile[]>;
  now?: Date;
}

export interface SignatureVerdict {
  verified: boolean;
  reason?: string;
  /** Failures the level only logs. */
  warnings: string[];
  /** The signing certificate's subject, and the trust store that vouches for it. */
  by?: string;
}

class Enforced extends Error {}

export function openEnvelope(bytes: Buffer, mediaType: string): EnvelopeContent {
  if (mediaType === JWS_MEDIA_TYPE) return openJws(bytes);
  if (mediaType === COSE_MEDIA_TYPE) return openCose(bytes);
  throw new EnvelopeError(`unsupported signature envelope type "${mediaType}"`);
}

/** The leaf subject as notation parses it; Go prints unknown attributes as `oid=#hex`, which it rejects. */
function leafDn(leaf: Certificate): Map<string, string> {
  const dn = new Map<string, string>();
  for (const rdn of subjectRdns(leaf.x509)) {
    if (rdn.length > 1) throw new Error('it has a multi-valued RDN');
    const [type, value] = rdn[0]!;
    if (/^\d/.test(type)) throw new Error(`attribute ${type} is not one notation can match`);
    if (dn.has(type)) throw new Error(`attribute ${type} appears twice`);
    dn.set(type, value);
  }
  for (const required of ['C', 'ST', 'O'])
    if (!dn.get(required)) throw new Error(`it has no ${required} attribute`);
  return dn;
}

function checkIdentity(statement: TrustPolicyStatement, leaf: Certificate): string | undefined {
  if (statement.trustedIdentities.includes('*')) return undefined;
  const identities = statement.trustedIdentities
    .filter((i) => i.startsWith('x509.subject:'))
    .map((i) => parseDistinguishedName(i.slice('x509.subject:'.length)));
  if (!identities.length)
    return `trust policy statement "${statement.name}" has no x509.subject trusted identity`;
  let dn: Map<string, string>;
  try {
    dn = leafDn(leaf);
  } catch (err) {
    return `the signing certificate's subject "${leaf.subject}" cannot be matched: ${(err as Error).message}`;
  }
  if (identities.some((id) => isSubsetDn(id, dn))) return undefined;
  return `signing certificate "${leaf.subject}" does not match the trusted identities of trust policy statement "${statement.name}"`;
}

const iso = (d: Date) => d.toISOString();

export function verifySignatureEnvelope(check: SignatureCheck): SignatureVerdict {
  const { statement } = check;
  const now = check.now ?? new Date();
  const warnings: string[] = [];
  const outcome = (type: CheckType, error: string | undefined) => {
    if (!error) return;
    const action = statement.level[type];
    // Named as notation names the failed check ("authenticity validation failed").
    if (action === 'enforce') throw new Enforced(`${type}: ${error}`);
    if (action === 'log') warnings.push(`${type} (logged by level ${statement.levelName}): ${error}`);
  };
  let by: string | undefined;
  try {
    // Integrity: always enforced.
    let content: EnvelopeContent;
    try {
      content = openEnvelope(check.envelope, check.mediaType);
    } catch (err) {
      if (err instanceof EnvelopeError) throw new Enforced(`integrity: ${err.message}`);
      throw err;
    }
    if (content.contentType !== PAYLOAD_CONTENT_TYPE)
      throw new Enforced(`integrity: payload content type "${content.contentType}" is not supported`);
    const chain = content.certificates;
    const leaf = chain[0]!;
    by = leaf.subject;

    // Authenticity: a certificate of the chain is in a listed trust store of the scheme's type.
    let authenticity: string | undefined;
    try {
      const type = content.signingScheme === SCHEME_X509 ? 'ca' : 'signingAuthority';
      const trusted = loadTrustStores(check.trustStores, statement.trustStores, type);
      if (!trusted.length)
        authenticity = `trust policy statement "${statement.name}" lists no ${type} trust store`;
      else {
        const match = trusted.find((t) => chain.some((c) => c.der.equals(t.cert.der)));
        if (match) by = `${leaf.subject} (${match.store})`;
        else
          authenticity = `the certificate chain of "${leaf.subject}" does not lead to a certificate in trust store(s) ${[
            ...new Set(trusted.map((t) => t.store)),
          ].join(', ')}`;
      }
    } catch (err) {
      if (!(err instanceof TrustStoreError)) throw err;
      authenticity = err.message;
    }
    outcome('authenticity', authenticity);
    outcome('authenticity', checkIdentity(statement, leaf));

    // Expiry of the signature itself.
    if (content.expiry && now >= content.expiry)
      outcome('expiry', `the signature expired at ${iso(content.expiry)}`);

    // Authentic timestamp.
    outcome('authenticTimestamp', authenticTimestamp(content, statement, check.trustStores, now));

    // Revocation: we cannot fetch CRLs or OCSP, so a certificate that names them is not checked.
    if (statement.level.revocation !== 'skip') {
      const checkable = chain.find(hasRevocationEndpoints);
      if (checkable)
        outcome(
          'revocation',
          `the revocation status of "${checkable.subject}" cannot be checked (fluxgate does not query CRL or OCSP); set signatureVerification.override.revocation to "skip" or "log" to accept that`,
        );
    }

    // The signed descriptor must be the artifact's.
    let signed: { mediaType?: unknown; digest?: unknown; size?: unknown } | undefined;
    try {
      signed = (JSON.parse(content.payload.toString('utf8')) as { targetArtifact?: typeof signed })
        .targetArtifact;
    } catch {
      signed = undefined;
    }
    if (!signed || typeof signed !== 'object') throw new Enforced('the payload has no targetArtifact');
    const t = check.target;
    if (signed.digest !== t.digest || signed.size !== t.size || signed.mediaType !== t.mediaType)
      throw new Enforced(
        `the signature is for ${String(signed.mediaType)} ${String(signed.digest)} (${String(signed.size)} bytes), not ${t.mediaType} ${t.digest} (${t.size} bytes)`,
      );
    return { verified: true, warnings, by };
  } catch (err) {
    if (err instanceof Enforced) return { verified: false, reason: err.message, warnings, by };
    throw err;
  }
}

/**
 * notation-go verifier.verifyAuthenticTimestamp: the error it reports, or undefined.
 *
 * Step 5 of verifyTimestamp checks the TSA chain's revocation online (OCSP, then CRL) and fails
 * when the status is unknown. fluxgate queries neither, so a TSA certificate that names an OCSP
 * or CRL endpoint has an unknown status: that fails the authentic timestamp, as notation-go
 * offline does. As there, it is part of this check, so only `override.authenticTimestamp: log`
 * relaxes it (a warning); `override.revocation` is about the signing chain and does not. A TSA
 * chain without endpoints is not revocable: it passes.
 */
export function authenticTimestamp(
  content: EnvelopeContent,
  statement: TrustPolicyStatement,
  trustStores: Map<string, TrustStoreFile[]>,
  now: Date,
): string | undefined {
  const chain = content.certificates;
  if (content.signingScheme !== SCHEME_X509) {
    const at = content.signingTime;
    const bad = chain.find((c) => at < c.notBefore || at > c.notAfter);
    return bad
      ? `certificate "${bad.subject}" was not valid at the authentic signing time ${iso(at)} (valid ${iso(bad.notBefore)} to ${iso(bad.notAfter)})`
      : undefined;
  }
  const tsa = statement.trustStores.some((s) => s.startsWith('tsa:'));
  const expired = chain.some((c) => now > c.notAfter);
  if (tsa && (statement.verifyTimestamp === 'always' || expired)) {
    // notation-go verifier.verifyTimestamp: the countersignature must verify, and the signing
    // chain must have been valid over the whole timestamp range (Timestamp.BoundedAfter/Before).
    if (!content.timestampSignature?.length)
      return 'no timestamp countersignature was found in the signature envelope';
    let stamp: VerifiedTimestamp;
    try {
      const roots = loadTrustStores(trustStores, statement.trustStores, 'tsa').map((t) => t.cert);
      stamp = verifyTimestampToken(content.timestampSignature, content.signature, roots);
    } catch (err) {
      if (err instanceof TimestampError || err instanceof TrustStoreError)
        return `timestamp countersignature: ${err.message}`;
      throw err;
    }
    const [from, to] = timestampRange(stamp);
    const range = `[${iso(from)}, ${iso(to)}]`;
    for (const c of chain) {
      if (from < c.notBefore)
        return `the timestamp ${range} can be before certificate "${c.subject}" validity period, it is valid from ${iso(c.notBefore)}`;
      if (to > c.notAfter)
        return `the timestamp ${range} can be after certificate "${c.subject}" validity period, it expired at ${iso(c.notAfter)}`;
    }
    const revocable = stamp.chain.find(hasRevocationEndpoints);
    if (revocable)
      return `timestamping certificate with subject "${revocable.subject}" revocation status is unknown (fluxgate does not query OCSP or CRL); set signatureVerification.override.authenticTimestamp to "log" to accept that`;
    return undefined;
  }
  for (const c of chain) {
    if (now < c.notBefore) return `certificate "${c.subject}" is not valid before ${iso(c.notBefore)}`;
    if (now > c.notAfter) return `certificate "${c.subject}" expired at ${iso(c.notAfter)}`;
  }
  return undefined;
}
