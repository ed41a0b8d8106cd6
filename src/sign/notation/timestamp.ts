/**
 * RFC 3161 timestamp countersignatures on notation signatures, checked as notation-go's
 * verifier.verifyTimestamp does with tspclient-go: the token is a CMS SignedData of a TSTInfo
 * (ParseSignedToken), whose message imprint is the hash of the envelope's signature bytes
 * (TSTInfo.Validate); its signer is the certificate its SigningCertificateV2 attribute names
 * (SignedToken.SigningCertificate), whose signature over the signed attributes verifies and whose
 * chain leads to a root of the policy's `tsa` stores at the timestamp (SignedToken.Verify,
 * cms.ParsedSignedData.verify), with timeStamping as its only, critical, extended key usage.
 */
import 'reflect-metadata';
import { createHash, verify as cryptoVerify } from 'node:crypto';
import * as asn1js from 'asn1js';
import { AsnConvert } from '@peculiar/asn1-schema';
import { ContentInfo, SignedData, type SignerInfo } from '@peculiar/asn1-cms';
import { TSTInfo } from '@peculiar/asn1-tsp';
import { BasicConstraintsExtension, ExtendedKeyUsage, ExtendedKeyUsageExtension } from '@peculiar/x509';
import {
  CertificateError,
  issuedBy,
  parseCertificate,
  validateCa,
  validateLeafKeyUsage,
  type Certificate,
} from './certificates.js';

/** The countersignature is malformed, does not verify, or is not trusted. */
export class TimestampError extends Error {}

export interface VerifiedTimestamp {
  /** The TSA's time (genTime) and its accuracy in milliseconds. */
  time: Date;
  accuracyMs: number;
  /** TSA signing certificate first, trusted root last. */
  chain: Certificate[];
}

const OID = {
  signedData: '1.2.840.113549.1.7.2',
  tstInfo: '1.2.840.113549.1.9.16.1.4',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  signingCertificateV2: '1.2.840.113549.1.9.16.2.47',
  baselinePolicy: '0.4.0.2023.1.1',
  extKeyUsage: '2.5.29.37',
};

/** tspclient-go internal/oid: the hashes a token may use. */
const HASHES: Record<string, string> = {
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

/** Signature algorithms of a SignerInfo, with the digest they imply (or undefined: use digestAlgorithm). */
const SIGNATURES: Record<string, { hash?: string }> = {
  '1.2.840.113549.1.1.1': {}, // rsaEncryption: PKCS #1 v1.5 with the signer's digest algorithm
  '1.2.840.113549.1.1.11': { hash: 'sha256' },
  '1.2.840.113549.1.1.12': { hash: 'sha384' },
  '1.2.840.113549.1.1.13': { hash: 'sha512' },
  '1.2.840.10045.4.3.2': { hash: 'sha256' },
  '1.2.840.10045.4.3.3': { hash: 'sha384' },
  '1.2.840.10045.4.3.4': { hash: 'sha512' },
};

const hashOf = (name: string, data: Buffer | Uint8Array) => createHash(name).update(data).digest();
const buf = (b: ArrayBuffer | ArrayBufferView) =>
  ArrayBuffer.isView(b) ? Buffer.from(b.buffer, b.byteOffset, b.byteLength) : Buffer.from(b);

function hashFor(oid: string, what: string): string {
  const hash = HASHES[oid];
  if (!hash) throw new TimestampError(`${what}: unsupported hash algorithm ${oid}`);
  return hash;
}

function parseToken(token: Buffer): { signed: SignedData; tstInfo: Buffer } {
  let signed: SignedData;
  try {
    const info = AsnConvert.parse(token, ContentInfo);
    if (info.contentType !== OID.signedData)
      throw new TimestampError(`content type ${info.contentType} is not CMS SignedData`);
    signed = AsnConvert.parse(info.content, SignedData);
  } catch (err) {
    if (err instanceof TimestampError) throw err;
    throw new TimestampError(`not a CMS SignedData (${(err as Error).message})`);
  }
  const eContentType = signed.encapContentInfo.eContentType;
  if (eContentType !== OID.tstInfo)
    throw new TimestampError(
      `unexpected content type ${eContentType}, expected id-ct-TSTInfo (${OID.tstInfo})`,
    );
  const content = signed.encapContentInfo.eContent;
  const bytes = content?.single?.buffer ?? content?.any;
  if (!bytes) throw new TimestampError('the token carries no TSTInfo');
  return { signed, tstInfo: buf(bytes) };
}

/** TSTInfo.Validate: version 1, message imprint over `message`, accuracy (1 s for the baseline policy). */
function readTstInfo(bytes: Buffer, message: Buffer): { time: Date; accuracyMs: number } {
  let info: TSTInfo;
  try {
    info = AsnConvert.parse(bytes, TSTInfo);
  } catch (err) {
    throw new TimestampError(`cannot parse the TSTInfo (${(err as Error).message})`);
  }
  if (info.version !== 1) throw new TimestampError(`TSTInfo version must be 1, not ${info.version}`);
  const imprint = info.messageImprint;
  const hash = hashFor(imprint.hashAlgorithm.algorithm, 'TSTInfo message imprint');
  if (!buf(imprint.hashedMessage.buffer).equals(hashOf(hash, message)))
    throw new TimestampError(
      "TSTInfo message imprint does not match the hash of the envelope's signature (mismatched message)",
    );
  const a = info.accuracy;
  let accuracyMs = (a?.seconds ?? 0) * 1000 + (a?.millis ?? 0) + (a?.micros ?? 0) / 1000;
  if (!accuracyMs && info.policy === OID.baselinePolicy) accuracyMs = 1000;
  return { time: info.genTime, accuracyMs };
}

function attribute(signer: SignerInfo, oid: string): Buffer | undefined {
  const attrs = (signer.signedAttrs ?? []).filter((a) => a.attrType === oid);
  if (attrs.length > 1 || (attrs[0] && attrs[0].attrValues.length !== 1))
    throw new TimestampError(`signed attribute ${oid} must appear once with one value`);
  return attrs[0] ? buf(attrs[0].attrValues[0]!) : undefined;
}

function der(bytes: Buffer, what: string): asn1js.AsnType {
  const parsed = asn1js.fromBER(new Uint8Array(bytes));
  if (parsed.offset === -1) throw new TimestampError(`${what} is not valid ASN.1`);
  return parsed.result;
}

const children = (v: asn1js.AsnType | undefined): asn1js.AsnType[] =>
  v instanceof asn1js.Constructed || v instanceof asn1js.Sequence || v instanceof asn1js.Set
    ? (v.valueBlock.value as asn1js.AsnType[])
    : [];
const isContextTag = (v: asn1js.AsnType | undefined, tag: number) =>
  !!v && (v as asn1js.BaseBlock).idBlock.tagClass === 3 && (v as asn1js.BaseBlock).idBlock.tagNumber === tag;
const encoded = (v: asn1js.AsnType) => buf((v as asn1js.BaseBlock).valueBeforeDecodeView);
/** Serial numbers compare as integers (Go's big.Int.Cmp): leading zero bytes do not count. */
const serialHex = (hex: string) => hex.toLowerCase().replace(/^(00)+(?=.)/, '');

/** A certificate named by its issuer (the Name's DER, as encoded) and serial number. */
interface IssuerAndSerial {
  issuer: Buffer;
  serial: string;
}

/**
 * Each signer of the token as encoded: its signed attributes (the signature covers these bytes,
 * and a re-encoding of what they decode to could differ: asn1-schema keeps no raw copy of a SET)
 * and its sid when that is an IssuerAndSerialNumber (tspclient-go cms.SignerInfo takes no other).
 */
function signerInfosAsEncoded(token: Buffer): Array<{ signedAttrs?: Buffer; sid?: IssuerAndSerial }> {
  const contentInfo = children(der(token, 'the timestamp token'));
  const signedData = children(children(contentInfo[1])[0]);
  return children(signedData[signedData.length - 1]).map((info) => {
    const fields = children(info);
    const attrs = fields.find((e) => isContextTag(e, 0));
    const [issuer, serial] = children(fields[1]);
    const sid =
      fields[1] instanceof asn1js.Sequence &&
      issuer instanceof asn1js.Sequence &&
      serial instanceof asn1js.Integer
        ? { issuer: encoded(issuer), serial: serialHex(buf(serial.valueBlock.valueHexView).toString('hex')) }
        : undefined;
    return { signedAttrs: attrs && encoded(attrs), sid };
  });
}

/** The issuer Name of a certificate as encoded in it (Go's x509.Certificate.RawIssuer). */
function rawIssuer(cert: Certificate): Buffer | undefined {
  const tbs = children(children(der(cert.der, 'a certificate'))[0]);
  const issuer = tbs[isContextTag(tbs[0], 0) ? 3 : 2];
  return issuer && encoded(issuer);
}

/**
 * SignedToken.SigningCertificate: the first ESSCertIDv2 names the signer. Its issuerSerial, when
 * present, else the signer's sid, picks the certificate (cms.ParsedSignedData.GetCertificate: the
 * first whose encoded issuer Name is byte for byte the one named, with the same serial), whose
 * hash must then be the certHash. Only SigningCertificateV2 counts: an ESSCertID v1
 * (SigningCertificate, SHA-1) is not read, and a SHA-1 ESSCertIDv2 hash is refused
 * (tspclient-go oid.ToHash knows SHA-256/384/512).
 */
function signingCertificate(
  signer: SignerInfo,
  sid: IssuerAndSerial | undefined,
  certs: Certificate[],
): Certificate {
  const raw = attribute(signer, OID.signingCertificateV2);
  if (!raw) throw new TimestampError('the signed attributes have no SigningCertificateV2');
  const seq = der(raw, 'SigningCertificateV2') as asn1js.Sequence;
  const ids = (seq.valueBlock?.value?.[0] as asn1js.Sequence | undefined)?.valueBlock?.value;
  const first = ids?.[0] as asn1js.Sequence | undefined;
  if (!first) throw new TimestampError('SigningCertificateV2 does not contain any certificate');
  const fields = first.valueBlock.value;
  let i = 0;
  let hash = 'sha256';
  if (fields[i] instanceof asn1js.Sequence) {
    const algorithm = (fields[i] as asn1js.Sequence).valueBlock.value[0];
    if (!(algorithm instanceof asn1js.ObjectIdentifier))
      throw new TimestampError('SigningCertificateV2: malformed hash algorithm');
    hash = hashFor(algorithm.valueBlock.toString(), 'SigningCertificateV2');
    i++;
  }
  const certHash = fields[i];
  if (!(certHash instanceof asn1js.OctetString))
    throw new TimestampError('SigningCertificateV2: malformed certificate hash');
  const [generalNames, serial] = children(fields[i + 1]);
  let wanted: IssuerAndSerial | undefined = sid;
  if (serial instanceof asn1js.Integer) {
    // IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber }: tspclient-go reads the
    // first GeneralName as a directoryName ([4]) only.
    const directoryName = children(generalNames)[0];
    if (!isContextTag(directoryName, 4)) throw new TimestampError('issuer name is missing in IssuerSerial');
    const name = children(directoryName)[0];
    if (!name) throw new TimestampError('failed to unmarshal issuer name in IssuerSerial');
    wanted = {
      issuer: encoded(name),
      serial: serialHex(buf(serial.valueBlock.valueHexView).toString('hex')),
    };
  }
  const candidate =
    wanted &&
    certs.find(
      (c) => serialHex(c.x509.serialNumber) === wanted.serial && rawIssuer(c)?.equals(wanted.issuer),
    );
  if (!candidate) throw new TimestampError('signing certificate not found in the timestamp token');
  if (!hashOf(hash, candidate.der).equals(buf(certHash.valueBlock.valueHexView)))
    throw new TimestampError('the signing certificate hash does not match SigningCertificateV2');
  return candidate;
}

/** cms.verifySignature and verifySignedAttributes: the signature covers the DER SET of signed attributes. */
function verifySigner(
  signer: SignerInfo,
  signedAttrsDer: Buffer | undefined,
  cert: Certificate,
  tstInfo: Buffer,
): void {
  if (signer.version !== 1) throw new TimestampError(`signer info version must be 1, not ${signer.version}`);
  if (!signer.signedAttrs?.length) throw new TimestampError('the signer info has no signed attributes');
  const digestHash = hashFor(signer.digestAlgorithm.algorithm, 'signer digest algorithm');
  const contentType = attribute(signer, OID.contentType);
  const ct = contentType && der(contentType, 'content type attribute');
  if (!(ct instanceof asn1js.ObjectIdentifier) || ct.valueBlock.toString() !== OID.tstInfo)
    throw new TimestampError('the content-type signed attribute is not id-ct-TSTInfo');
  const digest = attribute(signer, OID.messageDigest);
  const md = digest && der(digest, 'message digest attribute');
  if (
    !(md instanceof asn1js.OctetString) ||
    !buf(md.valueBlock.valueHexView).equals(hashOf(digestHash, tstInfo))
  )
    throw new TimestampError('the message-digest signed attribute does not match the TSTInfo');
  const algorithm = SIGNATURES[signer.signatureAlgorithm.algorithm];
  if (!algorithm)
    throw new TimestampError(`unknown signature algorithm ${signer.signatureAlgorithm.algorithm}`);
  if (!signedAttrsDer?.length) throw new TimestampError('the signed attributes cannot be read');
  const raw = Buffer.from(signedAttrsDer);
  raw[0] = 0x31; // [0] IMPLICIT → SET OF, the form the signature covers (RFC 5652 5.4)
  let ok = false;
  try {
    ok = cryptoVerify(algorithm.hash ?? digestHash, raw, cert.node.publicKey, buf(signer.signature.buffer));
  } catch {
    ok = false;
  }
  if (!ok) throw new TimestampError("the timestamp signature does not verify with the TSA certificate's key");
}

/** RFC 3161 2.3 (tspclient-go SignedToken.Verify): timeStamping is the only EKU, and it is critical. */
function checkTimestampingUsage(cert: Certificate): void {
  const eku = cert.x509.getExtension(ExtendedKeyUsageExtension);
  if (!eku || eku.usages.length !== 1 || String(eku.usages[0]) !== ExtendedKeyUsage.timeStamping)
    throw new TimestampError(
      `TSA certificate "${cert.subject}" must have timeStamping as its only extended key usage`,
    );
  if (!eku.critical)
    throw new TimestampError(`TSA certificate "${cert.subject}": the extended key usage must be critical`);
}

/**
 * notation-core-go x509.ValidateTimestampingCertChain (the leaf: not a CA, digitalSignature only,
 * timeStamping only as a critical EKU; each CA: cA, path length, keyCertSign), and Go's Verify
 * with KeyUsages timeStamping: a CA that restricts its EKUs must allow timeStamping.
 */
function validateTimestampingChain(chain: Certificate[]): void {
  const leaf = chain[0]!;
  try {
    if (leaf.x509.getExtension(BasicConstraintsExtension)?.ca)
      throw new CertificateError(`TSA certificate "${leaf.subject}" is a CA certificate`);
    validateLeafKeyUsage(leaf, 'TSA');
    chain.slice(1).forEach((ca, i) => {
      validateCa(ca, i);
      const eku = ca.x509.getExtension(ExtendedKeyUsageExtension);
      const usages = eku?.usages.map(String) ?? [];
      if (eku && !usages.includes(ExtendedKeyUsage.timeStamping) && !usages.includes('2.5.29.37.0'))
        throw new CertificateError(`CA certificate "${ca.subject}" does not allow timeStamping`);
    });
  } catch (err) {
    if (err instanceof CertificateError) throw new TimestampError(err.message);
    throw err;
  }
}

/** cms verifySignedAttributes: a signing-time attribute, when present, lies within the chain's validity. */
function checkSigningTime(signer: SignerInfo, chain: Certificate[]): void {
  const raw = attribute(signer, OID.signingTime);
  if (!raw) return;
  const value = der(raw, 'signing time attribute');
  if (!(value instanceof asn1js.UTCTime) && !(value instanceof asn1js.GeneralizedTime))
    throw new TimestampError('the signing-time signed attribute is not a time');
  const at = value.toDate();
  const outside = chain.find((c) => at < c.notBefore || at > c.notAfter);
  if (outside)
    throw new TimestampError(
      `the token's signing time ${at.toISOString()} is outside the validity of "${outside.subject}"`,
    );
}

/** Go's x509 Verify from the signer through the token's certificates to a trusted root, valid at `at`. */
function buildChain(leaf: Certificate, pool: Certificate[], roots: Certificate[], at: Date): Certificate[] {
  const validAt = (c: Certificate) => at >= c.notBefore && at <= c.notAfter;
  const walk = (chain: Certificate[]): Certificate[] | undefined => {
    const tip = chain[chain.length - 1]!;
    if (!validAt(tip)) return undefined;
    const root = roots.find((r) => (r.der.equals(tip.der) || issuedBy(tip, r)) && validAt(r));
    if (root) return root.der.equals(tip.der) ? chain : [...chain, root];
    if (chain.length > 8) return undefined;
    for (const next of pool) {
      if (chain.some((c) => c.der.equals(next.der)) || !issuedBy(tip, next)) continue;
      const found = walk([...chain, next]);
      if (found) return found;
    }
    return undefined;
  };
  const chain = walk([leaf]);
  if (!chain)
    throw new TimestampError(
      `the TSA certificate "${leaf.subject}" does not chain to a trusted tsa root valid at the timestamp (certificate signed by unknown authority)`,
    );
  return chain;
}

/**
 * Verifies `token` as a countersignature of `signature` (the envelope's signature bytes) against
 * the tsa roots; notation-go verifier.verifyTimestamp steps 1 to 3.
 */
export function verifyTimestampToken(
  token: Buffer,
  signature: Buffer,
  roots: Certificate[],
): VerifiedTimestamp {
  // The token is hostile input: whatever a parser throws on it is a failed verification.
  try {
    return verifyToken(token, signature, roots);
  } catch (err) {
    if (err instanceof TimestampError) throw err;
    throw new TimestampError(`malformed timestamp token (${(err as Error).message})`);
  }
}

function tokenCertificates(signed: SignedData): Certificate[] {
  const certs: Certificate[] = [];
  for (const choice of signed.certificates ?? []) {
    if (!choice.certificate) continue;
    try {
      certs.push(parseCertificate(Buffer.from(AsnConvert.serialize(choice.certificate))));
    } catch (err) {
      throw new TimestampError(`a certificate of the token cannot be read (${(err as Error).message})`);
    }
  }
  return certs;
}

/**
 * The TSA certificate the token's first signer names, alone (tspclient-go
 * SignedToken.SigningCertificate): SigningCertificateV2 only; throws TimestampError.
 */
export function tokenSigningCertificate(token: Buffer): Certificate {
  try {
    const { signed } = parseToken(token);
    const signer = signed.signerInfos[0];
    if (!signer) throw new TimestampError('the token has no signer info');
    return signingCertificate(signer, signerInfosAsEncoded(token)[0]?.sid, tokenCertificates(signed));
  } catch (err) {
    if (err instanceof TimestampError) throw err;
    throw new TimestampError(`malformed timestamp token (${(err as Error).message})`);
  }
}

function verifyToken(token: Buffer, signature: Buffer, roots: Certificate[]): VerifiedTimestamp {
  const { signed, tstInfo } = parseToken(token);
  const { time, accuracyMs } = readTstInfo(tstInfo, signature);
  if (!roots.length) throw new TimestampError('no trusted TSA certificate found in trust store');
  const certs = tokenCertificates(signed);
  if (!signed.signerInfos.length) throw new TimestampError('the token has no signer info');
  let last: Error | undefined;
  // SignedToken.Verify: the first signer that verifies wins.
  const encodedSigners = signerInfosAsEncoded(token);
  for (const [index, signer] of signed.signerInfos.entries()) {
    try {
      const cert = signingCertificate(signer, encodedSigners[index]?.sid, certs);
      const chain = buildChain(cert, certs, roots, time);
      verifySigner(signer, encodedSigners[index]?.signedAttrs, cert, tstInfo);
      checkTimestampingUsage(cert);
      validateTimestampingChain(chain);
      checkSigningTime(signer, chain);
      return { time, accuracyMs, chain };
    } catch (err) {
      if (!(err instanceof TimestampError)) throw err;
      last = err;
    }
  }
  throw last!;
}

/** The timestamp's range `[time - accuracy, time + accuracy]` as notation prints it. */
export function timestampRange(t: VerifiedTimestamp): [Date, Date] {
  return [new Date(t.time.getTime() - t.accuracyMs), new Date(t.time.getTime() + t.accuracyMs)];
}
