/**
 * The COSE_Sign1 envelope (`application/cose`, specs/signature-envelope-cose.md): protected
 * header with alg, crit, content type and the Notary Project attributes (times as CBOR tag 1),
 * x5chain (label 33) unprotected, signature over the Sig_structure.
 */
import { decode, encode, Token, Type } from 'cborg';
import { CertificateError, parseCertificate, type Certificate } from './certificates.js';
import {
  HEADER_AUTHENTIC_SIGNING_TIME,
  HEADER_EXPIRY,
  HEADER_SIGNING_AGENT,
  HEADER_SIGNING_SCHEME,
  HEADER_SIGNING_TIME,
  HEADER_TIMESTAMP_SIGNATURE,
  SCHEME_X509,
  type Algorithm,
} from './constants.js';
import {
  checkScheme,
  EnvelopeError,
  signBytes,
  validateContent,
  verifyBytes,
  type EnvelopeContent,
} from './envelope.js';
import type { SignRequest } from './sign-request.js';

const LABEL_ALG = 1;
const LABEL_CRIT = 2;
const LABEL_CONTENT_TYPE = 3;
const LABEL_X5CHAIN = 33;
const COSE_SIGN1_TAG = 0xd2; // tag 18, one byte

const ALG_LABELS: Record<Algorithm, number> = {
  PS256: -37,
  PS384: -38,
  PS512: -39,
  ES256: -7,
  ES384: -35,
  ES512: -36,
};
const ALG_BY_LABEL = new Map(Object.entries(ALG_LABELS).map(([alg, label]) => [label, alg as Algorithm]));

const SYSTEM_LABELS = new Set<unknown>([
  LABEL_ALG,
  LABEL_CRIT,
  LABEL_CONTENT_TYPE,
  HEADER_EXPIRY,
  HEADER_SIGNING_SCHEME,
  HEADER_SIGNING_TIME,
  HEADER_AUTHENTIC_SIGNING_TIME,
]);

/** A CBOR tag 1 (epoch seconds) time, as notation writes and requires it. */
class EpochTime {
  constructor(readonly seconds: number) {}
}

function decodeCbor(bytes: Uint8Array, what: string): unknown {
  const tags: Array<(inner: unknown) => unknown> = [];
  tags[1] = (inner) => {
    if (typeof inner !== 'number') throw new EnvelopeError(`${what}: a tag 1 time is not a number`);
    return new EpochTime(inner);
  };
  tags[18] = (inner) => ({ sign1: inner });
  try {
    return decode(bytes, { tags, useMaps: true, rejectDuplicateMapKeys: true });
  } catch (err) {
    if (err instanceof EnvelopeError) throw err;
    throw new EnvelopeError(`${what} is not valid CBOR (${(err as Error).message})`);
  }
}

const bytesOf = (v: unknown): Buffer | undefined => (v instanceof Uint8Array ? Buffer.from(v) : undefined);

function sigStructure(protectedBytes: Uint8Array, payload: Uint8Array): Buffer {
  return Buffer.from(encode(['Signature1', protectedBytes, new Uint8Array(0), payload]));
}

function timeOf(header: Map<unknown, unknown>, label: string): Date | undefined {
  const v = header.get(label);
  if (v === undefined) return undefined;
  if (!(v instanceof EpochTime)) throw new EnvelopeError(`${label} is not a CBOR tag 1 time`);
  return new Date(v.seconds * 1000);
}

export function openCose(bytes: Buffer): EnvelopeContent {
  const top = decodeCbor(bytes, 'COSE envelope') as { sign1?: unknown } | undefined;
  const parts = top && typeof top === 'object' && 'sign1' in top ? top.sign1 : undefined;
  if (!Array.isArray(parts) || parts.length !== 4) throw new EnvelopeError('not a COSE_Sign1_Tagged message');
  const [protectedBstr, unprotected, payloadBstr, signatureBstr] = parts as unknown[];
  const protectedBytes = bytesOf(protectedBstr);
  const payload = bytesOf(payloadBstr);
  const signature = bytesOf(signatureBstr);
  if (!protectedBytes || !payload || !signature || !(unprotected instanceof Map))
    throw new EnvelopeError('malformed COSE_Sign1 (protected, payload and signature must be byte strings)');
  const header = decodeCbor(protectedBytes, 'COSE protected header');
  if (!(header instanceof Map)) throw new EnvelopeError('the COSE protected header is not a map');

  const chainValue = unprotected.get(LABEL_X5CHAIN);
  if (!Array.isArray(chainValue) || !chainValue.length)
    throw new EnvelopeError('the COSE envelope has no x5chain certificate chain');
  let certificates: Certificate[];
  try {
    certificates = chainValue.map((c, i) => {
      const der = bytesOf(c);
      if (!der) throw new CertificateError(`x5chain[${i}] is not a byte string`);
      return parseCertificate(der);
    });
  } catch (err) {
    if (err instanceof CertificateError) throw new EnvelopeError(`x5chain: ${err.message}`);
    throw err;
  }

  const alg = ALG_BY_LABEL.get(header.get(LABEL_ALG) as number);
  if (!alg) throw new EnvelopeError(`unsupported COSE algorithm ${String(header.get(LABEL_ALG))}`);
  // go-cose verifies with the salt length equal to the hash length.
  if (
    !signature.length ||
    !verifyBytes(
      alg,
      certificates[0]!.node.publicKey,
      sigStructure(protectedBytes, payload),
      signature,
      false,
    )
  )
    throw new EnvelopeError(`the ${alg} signature does not verify with the signing certificate's key`);

  const scheme = checkScheme(header.get(HEADER_SIGNING_SCHEME));
  const crit = header.get(LABEL_CRIT);
  if (
    !Array.isArray(crit) ||
    !crit.length ||
    crit.some((c) => typeof c !== 'string' && typeof c !== 'number')
  )
    throw new EnvelopeError('the COSE protected header has no crit list');
  for (const label of crit)
    if (!header.has(label)) throw new EnvelopeError(`"${String(label)}" is marked critical but not present`);
  const mustBeCritical = [HEADER_SIGNING_SCHEME];
  if (scheme !== SCHEME_X509) mustBeCritical.push(HEADER_AUTHENTIC_SIGNING_TIME);
  if (header.has(HEADER_EXPIRY)) mustBeCritical.push(HEADER_EXPIRY);
  const missing = mustBeCritical.filter((l) => !crit.includes(l));
  if (missing.length) throw new EnvelopeError(`required headers not marked critical: ${missing.join(', ')}`);
  const extendedCritical = [...header.keys()]
    .filter((k) => !SYSTEM_LABELS.has(k) && crit.includes(k))
    .map(String);

  const timeLabel = scheme === SCHEME_X509 ? HEADER_SIGNING_TIME : HEADER_AUTHENTIC_SIGNING_TIME;
  const signingTime = timeOf(header, timeLabel);
  if (!signingTime) throw new EnvelopeError(`${timeLabel} is missing`);
  const contentType = header.get(LABEL_CONTENT_TYPE);
  if (typeof contentType !== 'string')
    throw new EnvelopeError('the COSE content type is missing or not a text string');
  const agent = unprotected.get(HEADER_SIGNING_AGENT);
  const content: EnvelopeContent = {
    format: 'cose',
    alg,
    signature,
    contentType,
    payload,
    signingScheme: scheme,
    signingTime,
    expiry: timeOf(header, HEADER_EXPIRY),
    certificates,
    extendedCritical,
    signingAgent: typeof agent === 'string' ? agent : undefined,
    timestampSignature: bytesOf(unprotected.get(HEADER_TIMESTAMP_SIGNATURE)),
  };
  validateContent(content);
  return content;
}

const epochEncoder = (value: unknown) =>
  value instanceof EpochTime ? [new Token(Type.tag, 1), new Token(Type.uint, value.seconds)] : null;

export function createCose(req: SignRequest): Buffer {
  const crit = [HEADER_SIGNING_SCHEME];
  const header = new Map<unknown, unknown>([
    [LABEL_ALG, ALG_LABELS[req.alg]],
    [LABEL_CONTENT_TYPE, req.contentType],
    [HEADER_SIGNING_SCHEME, SCHEME_X509],
    [HEADER_SIGNING_TIME, new EpochTime(Math.floor(req.signingTime.getTime() / 1000))],
  ]);
  if (req.expiry) {
    crit.push(HEADER_EXPIRY);
    header.set(HEADER_EXPIRY, new EpochTime(Math.floor(req.expiry.getTime() / 1000)));
  }
  header.set(LABEL_CRIT, crit);
  // Deterministic (length-first) map order, as go-cose writes the header notation signs.
  const protectedBytes = encode(header, { typeEncoders: { Object: epochEncoder } });
  const signature = signBytes(req.alg, req.key, sigStructure(protectedBytes, req.payload));
  const unprotected = new Map<unknown, unknown>([
    [LABEL_X5CHAIN, req.certificates.map((c) => new Uint8Array(c))],
    [HEADER_SIGNING_AGENT, req.signingAgent],
  ]);
  const body = encode([protectedBytes, unprotected, new Uint8Array(req.payload), new Uint8Array(signature)]);
  return Buffer.concat([Buffer.from([COSE_SIGN1_TAG]), body]);
}
