/**
 * The JWS envelope (`application/jose+json`): flattened JSON serialization with the Notary
 * Project's protected headers and the x5c chain (specs/signature-envelope-jws.md).
 */
import type { KeyObject } from 'node:crypto';
import { CertificateError, parseCertificate, type Certificate } from './certificates.js';
import {
  ALGORITHMS,
  HEADER_AUTHENTIC_SIGNING_TIME,
  HEADER_EXPIRY,
  HEADER_SIGNING_AGENT,
  HEADER_SIGNING_SCHEME,
  HEADER_SIGNING_TIME,
  HEADER_TIMESTAMP_SIGNATURE,
  SCHEME_SIGNING_AUTHORITY,
  SCHEME_X509,
  type Algorithm,
} from './constants.js';
import {
  checkScheme,
  EnvelopeError,
  formatTime,
  parseTime,
  signBytes,
  validateContent,
  verifyBytes,
  type EnvelopeContent,
} from './envelope.js';
import type { SignRequest } from './sign-request.js';

/** Protected header keys the Notary Project defines; any other is an extended attribute. */
const KNOWN_HEADERS = new Set([
  'alg',
  'cty',
  'crit',
  HEADER_EXPIRY,
  HEADER_SIGNING_TIME,
  HEADER_SIGNING_SCHEME,
  HEADER_AUTHENTIC_SIGNING_TIME,
]);

/** Strict base64url: no padding, no other alphabet (golang-jwt rejects both). */
function decodeSegment(value: unknown, name: string): Buffer {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]*$/.test(value) || value.length % 4 === 1)
    throw new EnvelopeError(`the ${name} is not unpadded base64url`);
  return Buffer.from(value, 'base64url');
}

function decodeStdBase64(value: unknown, name: string): Buffer {
  if (
    typeof value !== 'string' ||
    !/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(value)
  )
    throw new EnvelopeError(`${name} is not base64`);
  return Buffer.from(value, 'base64');
}

function parseJsonObject(bytes: Buffer, name: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new EnvelopeError(`the ${name} is not JSON`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new EnvelopeError(`the ${name} is not a JSON object`);
  return value as Record<string, unknown>;
}

/**
 * Parses a JWS envelope and verifies its signature over the raw `protected.payload` strings,
 * as golang-jwt does: a re-encoded (e.g. padded) segment breaks the signature.
 */
export function openJws(bytes: Buffer): EnvelopeContent {
  const env = parseJsonObject(bytes, 'JWS envelope');
  const header = env.header;
  if (!header || typeof header !== 'object' || Array.isArray(header))
    throw new EnvelopeError('the JWS envelope has no unprotected header');
  const unprotected = header as Record<string, unknown>;
  const x5c = unprotected.x5c;
  if (!Array.isArray(x5c) || !x5c.length)
    throw new EnvelopeError('the JWS envelope has no x5c certificate chain');
  let certificates: Certificate[];
  try {
    certificates = x5c.map((c, i) => parseCertificate(decodeStdBase64(c, `x5c[${i}]`)));
  } catch (err) {
    if (err instanceof CertificateError) throw new EnvelopeError(`x5c: ${err.message}`);
    throw err;
  }

  if (typeof env.protected !== 'string' || typeof env.payload !== 'string')
    throw new EnvelopeError('the JWS envelope has no protected header or payload');
  const signature = decodeSegment(env.signature, 'signature');
  // The algorithm is read leniently here only to pick the check; the header is parsed strictly below.
  const alg = parseJsonObject(Buffer.from(env.protected, 'base64url'), 'protected header').alg;
  if (typeof alg !== 'string' || !ALGORITHMS.includes(alg as Algorithm))
    throw new EnvelopeError(`unsupported signature algorithm ${JSON.stringify(alg)}`);
  // The signing input is the envelope's own strings, never a re-encoding of what they decode to.
  const signingInput = Buffer.from(`${env.protected}.${env.payload}`, 'ascii');
  if (
    !signature.length ||
    !verifyBytes(alg as Algorithm, certificates[0]!.node.publicKey, signingInput, signature)
  )
    throw new EnvelopeError(`the ${alg} signature does not verify with the signing certificate's key`);
  const protectedHeader = parseJsonObject(
    decodeSegment(env.protected, 'protected header'),
    'protected header',
  );
  const payload = decodeSegment(env.payload, 'payload');
  // golang-jwt decodes the claims: the payload must be a JSON object.
  parseJsonObject(payload, 'payload');

  const content = readProtectedHeader(protectedHeader, alg as Algorithm);
  const result: EnvelopeContent = {
    ...content,
    format: 'jws',
    payload,
    signature,
    certificates,
    signingAgent:
      typeof unprotected[HEADER_SIGNING_AGENT] === 'string'
        ? (unprotected[HEADER_SIGNING_AGENT] as string)
        : undefined,
    timestampSignature:
      unprotected[HEADER_TIMESTAMP_SIGNATURE] === undefined
        ? undefined
        : decodeStdBase64(unprotected[HEADER_TIMESTAMP_SIGNATURE], HEADER_TIMESTAMP_SIGNATURE),
  };
  validateContent(result);
  return result;
}

/** notation-core-go's protected header rules (signature/jws/jws.go). */
function readProtectedHeader(
  h: Record<string, unknown>,
  alg: Algorithm,
): Pick<
  EnvelopeContent,
  'alg' | 'contentType' | 'signingScheme' | 'signingTime' | 'expiry' | 'extendedCritical'
> {
  const scheme = checkScheme(h[HEADER_SIGNING_SCHEME]);
  const has = (k: string) => h[k] !== undefined && h[k] !== null;
  if (scheme === SCHEME_X509 && has(HEADER_AUTHENTIC_SIGNING_TIME))
    throw new EnvelopeError(`${HEADER_AUTHENTIC_SIGNING_TIME} must not be present for ${SCHEME_X509}`);
  if (scheme === SCHEME_SIGNING_AUTHORITY) {
    if (has(HEADER_SIGNING_TIME))
      throw new EnvelopeError(`${HEADER_SIGNING_TIME} must not be present for ${SCHEME_SIGNING_AUTHORITY}`);
    if (!has(HEADER_AUTHENTIC_SIGNING_TIME))
      throw new EnvelopeError(`${HEADER_AUTHENTIC_SIGNING_TIME} is required for ${SCHEME_SIGNING_AUTHORITY}`);
  }
  const expiry = has(HEADER_EXPIRY) ? parseTime(h[HEADER_EXPIRY], HEADER_EXPIRY) : undefined;
  const timeKey = scheme === SCHEME_X509 ? HEADER_SIGNING_TIME : HEADER_AUTHENTIC_SIGNING_TIME;
  if (!has(timeKey)) throw new EnvelopeError(`${timeKey} is missing`);
  const signingTime = parseTime(h[timeKey], timeKey);

  const crit = h.crit;
  if (!Array.isArray(crit) || !crit.length || crit.some((c) => typeof c !== 'string'))
    throw new EnvelopeError('the protected header has no "crit" list');
  const mustBeCritical = new Set([HEADER_SIGNING_SCHEME]);
  if (expiry) mustBeCritical.add(HEADER_EXPIRY);
  if (scheme === SCHEME_SIGNING_AUTHORITY) mustBeCritical.add(HEADER_AUTHENTIC_SIGNING_TIME);
  const extendedCritical: string[] = [];
  for (const key of crit as string[]) {
    if (mustBeCritical.delete(key)) continue;
    if (KNOWN_HEADERS.has(key) || !(key in h))
      throw new EnvelopeError(`"${key}" is marked critical but is not an attribute of the envelope`);
    extendedCritical.push(key);
  }
  if (mustBeCritical.size)
    throw new EnvelopeError(`required headers not marked critical: ${[...mustBeCritical].join(', ')}`);
  return {
    alg,
    contentType: typeof h.cty === 'string' ? h.cty : '',
    signingScheme: scheme,
    signingTime,
    expiry,
    extendedCritical,
  };
}

/** Go marshals maps with sorted keys: notation's headers and payload come out sorted. */
function sortedJson(value: Record<string, unknown>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1))));
}

export function createJws(req: SignRequest): Buffer {
  const header: Record<string, unknown> = {
    alg: req.alg,
    cty: req.contentType,
    [HEADER_SIGNING_SCHEME]: SCHEME_X509,
    [HEADER_SIGNING_TIME]: formatTime(req.signingTime),
    crit: req.expiry ? [HEADER_SIGNING_SCHEME, HEADER_EXPIRY] : [HEADER_SIGNING_SCHEME],
  };
  if (req.expiry) header[HEADER_EXPIRY] = formatTime(req.expiry);
  const protectedB64 = Buffer.from(sortedJson(header)).toString('base64url');
  const payloadB64 = req.payload.toString('base64url');
  const signature = signBytes(
    req.alg,
    req.key as KeyObject,
    Buffer.from(`${protectedB64}.${payloadB64}`, 'ascii'),
  );
  return Buffer.from(
    JSON.stringify({
      payload: payloadB64,
      protected: protectedB64,
      header: {
        x5c: req.certificates.map((c) => c.toString('base64')),
        [HEADER_SIGNING_AGENT]: req.signingAgent,
      },
      signature: signature.toString('base64url'),
    }),
  );
}
