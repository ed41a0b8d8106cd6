/**
 * What a signature envelope says once its signature checks out, whatever its format, and the
 * checks notation-core-go applies to every envelope (signed attributes, chain, algorithm).
 */
import { constants, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import {
  algorithmForKey,
  CertificateError,
  validateCodeSigningChain,
  type Certificate,
} from './certificates.js';
import {
  HASH_OF,
  SCHEME_SIGNING_AUTHORITY,
  SCHEME_X509,
  VERIFICATION_PLUGIN_HEADERS,
  type Algorithm,
  type SigningScheme,
} from './constants.js';

/** The envelope is malformed or its signature does not verify (an integrity failure). */
export class EnvelopeError extends Error {}

export interface EnvelopeContent {
  format: 'jws' | 'cose';
  alg: Algorithm;
  /** `cty`: the payload's content type. */
  contentType: string;
  payload: Buffer;
  signingScheme: SigningScheme;
  /** Signing time (notary.x509) or authentic signing time (signingAuthority). */
  signingTime: Date;
  expiry?: Date;
  /** Leaf first. */
  certificates: Certificate[];
  /** Critical signed attributes beyond those the Notary Project defines. */
  extendedCritical: string[];
  signingAgent?: string;
  timestampSignature?: Buffer;
  /** The signature bytes, which a timestamp countersignature's message imprint hashes. */
  signature: Buffer;
}

/** RFC 3339 with seconds and an offset (Go's time.Time JSON form). */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export function parseTime(value: unknown, name: string): Date {
  const m = typeof value === 'string' ? RFC3339.exec(value) : null;
  const date = m ? new Date(value as string) : undefined;
  if (!date || Number.isNaN(date.getTime())) throw new EnvelopeError(`${name} is not an RFC 3339 time`);
  return date;
}

/** Go's time.Time JSON form, truncated to seconds in UTC (as notation writes it). */
export const formatTime = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export function checkScheme(value: unknown): SigningScheme {
  if (value === SCHEME_X509 || value === SCHEME_SIGNING_AUTHORITY) return value;
  throw new EnvelopeError(`unsupported signing scheme ${JSON.stringify(value)}`);
}

const CURVE_BYTES: Partial<Record<Algorithm, number>> = { ES256: 32, ES384: 48, ES512: 66 };

/** A raw signature: RSASSA-PSS (salt = hash length), or ECDSA as R‖S (IEEE P1363). */
export function signBytes(alg: Algorithm, key: KeyObject, data: Buffer): Buffer {
  if (alg.startsWith('PS'))
    return cryptoSign(HASH_OF[alg], data, {
      key,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    });
  return cryptoSign(HASH_OF[alg], data, { key, dsaEncoding: 'ieee-p1363' });
}

/** `autoSalt`: golang-jwt (JWS) detects the PSS salt length; go-cose requires the hash length. */
export function verifyBytes(
  alg: Algorithm,
  key: KeyObject,
  data: Buffer,
  signature: Buffer,
  autoSalt = true,
): boolean {
  try {
    if (alg.startsWith('PS')) {
      if (key.asymmetricKeyType !== 'rsa') return false;
      const saltLength = autoSalt ? constants.RSA_PSS_SALTLEN_AUTO : constants.RSA_PSS_SALTLEN_DIGEST;
      return cryptoVerify(
        HASH_OF[alg],
        data,
        { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength },
        signature,
      );
    }
    if (key.asymmetricKeyType !== 'ec' || signature.length !== 2 * CURVE_BYTES[alg]!) return false;
    return cryptoVerify(HASH_OF[alg], data, { key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}

/**
 * The checks every envelope gets after its signature verifies (notation-core-go base envelope):
 * a payload, a signing time, an expiry after it, a chain that meets the certificate
 * requirements, the algorithm the leaf key implies, and no critical attribute we do not know.
 */
export function validateContent(content: EnvelopeContent): void {
  if (!content.payload.length) throw new EnvelopeError('the payload is empty');
  if (content.expiry && content.expiry <= content.signingTime)
    throw new EnvelopeError('the expiry is not after the signing time');
  try {
    validateCodeSigningChain(content.certificates);
  } catch (err) {
    if (err instanceof CertificateError) throw new EnvelopeError(`invalid certificate chain: ${err.message}`);
    throw err;
  }
  const leaf = content.certificates[0]!;
  let implied: Algorithm;
  try {
    implied = algorithmForKey(leaf.node.publicKey);
  } catch (err) {
    throw new EnvelopeError(`signing certificate "${leaf.subject}": ${(err as Error).message}`);
  }
  if (implied !== content.alg)
    throw new EnvelopeError(
      `the envelope says ${content.alg} but the signing certificate's key implies ${implied}`,
    );
  const plugin = content.extendedCritical.find((k) => VERIFICATION_PLUGIN_HEADERS.includes(k));
  if (plugin)
    throw new EnvelopeError(
      `the signature requires a verification plugin (${plugin}); plugins are not supported`,
    );
  if (content.extendedCritical.length)
    throw new EnvelopeError(
      `unknown critical signed attribute(s) ${content.extendedCritical.join(', ')}: a verifier must understand them`,
    );
}
