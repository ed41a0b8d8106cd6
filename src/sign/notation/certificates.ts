/**
 * X.509 for the Notary Project: parsing (PEM or DER), the algorithm a key implies, and the
 * certificate requirements of the signature specification, as notation-core-go enforces them.
 */
// @peculiar/x509 resolves its algorithm providers through tsyringe, which needs the polyfill.
import 'reflect-metadata';
import { createHash, X509Certificate as NodeCertificate, type KeyObject } from 'node:crypto';
import {
  AuthorityInfoAccessExtension,
  BasicConstraintsExtension,
  CRLDistributionPointsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  X509Certificate,
} from '@peculiar/x509';
import type { Algorithm } from './constants.js';

export class CertificateError extends Error {}

/** One certificate, with the views we need of it. */
export interface Certificate {
  der: Buffer;
  /** node's view: signature checks, validity, public key. */
  node: NodeCertificate;
  /** @peculiar/x509's view: extensions and names. */
  x509: X509Certificate;
  /** The subject as Go prints it (`CN=…,O=…,C=…`), which notation shows and matches on. */
  subject: string;
  notBefore: Date;
  notAfter: Date;
}

export function parseCertificate(der: Buffer): Certificate {
  let node: NodeCertificate;
  let x509: X509Certificate;
  try {
    node = new NodeCertificate(der);
    x509 = new X509Certificate(der);
  } catch (err) {
    throw new CertificateError(`not a valid X.509 certificate (${(err as Error).message})`);
  }
  return {
    der,
    node,
    x509,
    subject: goSubject(x509),
    notBefore: x509.notBefore,
    notAfter: x509.notAfter,
  };
}

/** Splits concatenated DER certificates by their outer SEQUENCE lengths. */
function splitDer(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let offset = 0;
  while (offset < data.length) {
    if (data[offset] !== 0x30 || offset + 2 > data.length)
      throw new CertificateError('not PEM and not DER certificates');
    let length = data[offset + 1]!;
    let header = 2;
    if (length & 0x80) {
      const bytes = length & 0x7f;
      if (bytes < 1 || bytes > 4 || offset + 2 + bytes > data.length)
        throw new CertificateError('not PEM and not DER certificates');
      length = 0;
      for (let i = 0; i < bytes; i++) length = length * 256 + data[offset + 2 + i]!;
      header += bytes;
    }
    const end = offset + header + length;
    if (end > data.length) throw new CertificateError('truncated DER certificate');
    out.push(data.subarray(offset, end));
    offset = end;
  }
  return out;
}

/** Every certificate of a file: all PEM blocks, or concatenated DER (as Go's x509 reads them). */
export function readCertificates(data: Buffer): Certificate[] {
  const text = data.toString('latin1');
  if (text.includes('-----BEGIN')) {
    const blocks = [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g)];
    const certs = blocks
      .filter((m) => m[1] === 'CERTIFICATE')
      .map((m) => parseCertificate(Buffer.from(m[2]!.replace(/\s+/g, ''), 'base64')));
    if (!certs.length) throw new CertificateError('no CERTIFICATE PEM block');
    return certs;
  }
  const certs = splitDer(data).map(parseCertificate);
  if (!certs.length) throw new CertificateError('empty certificate file');
  return certs;
}

export const toPem = (der: Buffer) =>
  `-----BEGIN CERTIFICATE-----\n${der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd()}\n-----END CERTIFICATE-----\n`;

export const sha256Hex = (der: Buffer) => createHash('sha256').update(der).digest('hex');

/** Go's short names (crypto/x509/pkix); any other attribute makes notation unable to parse the DN. */
const GO_NAMES: Record<string, string> = {
  '2.5.4.6': 'C',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.3': 'CN',
  '2.5.4.5': 'SERIALNUMBER',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'STREET',
  '2.5.4.17': 'POSTALCODE',
};
const PECULIAR_TO_OID: Record<string, string> = {
  C: '2.5.4.6',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  CN: '2.5.4.3',
  L: '2.5.4.7',
  ST: '2.5.4.8',
};

/** Relative distinguished names, most significant first, each `[[goName|oid, value], …]`. */
export function subjectRdns(cert: X509Certificate): Array<Array<[string, string]>> {
  return cert.subjectName.toJSON().map((rdn) =>
    Object.entries(rdn).flatMap(([type, values]) => {
      const oid = PECULIAR_TO_OID[type] ?? type;
      const name = GO_NAMES[oid] ?? oid;
      return values.map((v) => [name, v] as [string, string]);
    }),
  );
}

const escapeRdnValue = (v: string) =>
  v
    .replace(/([\\,+"<>;=])/g, '\\$1')
    .replace(/^([ #])/, '\\$1')
    .replace(/ $/, '\\ ');

function goSubject(cert: X509Certificate): string {
  return subjectRdns(cert)
    .reverse()
    .map((rdn) => rdn.map(([t, v]) => `${t}=${escapeRdnValue(v)}`).join('+'))
    .join(',');
}

/** The Notary Project algorithm for a public key (signature-specification "Algorithm Selection"). */
export function algorithmForKey(key: KeyObject): Algorithm {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') {
    const bits = details.modulusLength;
    if (bits === 2048) return 'PS256';
    if (bits === 3072) return 'PS384';
    if (bits === 4096) return 'PS512';
    throw new CertificateError(`RSA key size ${bits} bits is not supported (2048, 3072 or 4096)`);
  }
  if (key.asymmetricKeyType === 'ec') {
    const curve = details.namedCurve;
    if (curve === 'prime256v1') return 'ES256';
    if (curve === 'secp384r1') return 'ES384';
    if (curve === 'secp521r1') return 'ES512';
    throw new CertificateError(`EC curve ${curve} is not supported (P-256, P-384 or P-521)`);
  }
  throw new CertificateError(`${key.asymmetricKeyType} keys are not supported (RSA or ECDSA)`);
}

const sameBytes = (a: ArrayBuffer, b: ArrayBuffer) => Buffer.from(a).equals(Buffer.from(b));

/** `child` names `parent` as issuer (raw bytes, as Go) and carries a valid signature of its key. */
function signedBy(child: Certificate, parent: Certificate): boolean {
  if (!sameBytes(child.x509.issuerName.toArrayBuffer(), parent.x509.subjectName.toArrayBuffer()))
    return false;
  try {
    return child.node.verify(parent.node.publicKey);
  } catch {
    return false;
  }
}

/** Go's CheckSignatureFrom also requires the parent to be a CA allowed to sign certificates. */
export function issuedBy(child: Certificate, parent: Certificate): boolean {
  const bc = parent.x509.getExtension(BasicConstraintsExtension);
  if (!bc?.ca) return false;
  const ku = parent.x509.getExtension(KeyUsagesExtension);
  if (ku && !(ku.usages & KeyUsageFlags.keyCertSign)) return false;
  return signedBy(child, parent);
}

/** A trust store certificate must be a CA or a self-signed signing certificate. */
export function isCaOrSelfSigned(cert: Certificate): boolean {
  return cert.x509.getExtension(BasicConstraintsExtension)?.ca === true || selfSignature(cert);
}

function selfSignature(cert: Certificate): boolean {
  try {
    return cert.node.verify(cert.node.publicKey);
  } catch {
    return false;
  }
}

/** For a tsa store: a self-issued, self-signed root. */
export function isRootCertificate(cert: Certificate): boolean {
  return issuedBy(cert, cert);
}

function keyUsage(cert: Certificate): KeyUsagesExtension {
  const ku = cert.x509.getExtension(KeyUsagesExtension);
  if (!ku)
    throw new CertificateError(`certificate "${cert.subject}": the key usage extension must be present`);
  if (!ku.critical)
    throw new CertificateError(`certificate "${cert.subject}": the key usage extension must be critical`);
  return ku;
}

const FORBIDDEN_LEAF_USAGES: Array<[KeyUsageFlags, string]> = [
  [KeyUsageFlags.keyEncipherment, 'keyEncipherment'],
  [KeyUsageFlags.dataEncipherment, 'dataEncipherment'],
  [KeyUsageFlags.keyAgreement, 'keyAgreement'],
  [KeyUsageFlags.keyCertSign, 'keyCertSign'],
  [KeyUsageFlags.cRLSign, 'cRLSign'],
  [KeyUsageFlags.encipherOnly, 'encipherOnly'],
  [KeyUsageFlags.decipherOnly, 'decipherOnly'],
];

const FORBIDDEN_EKUS: Record<string, string> = {
  '2.5.29.37.0': 'anyExtendedKeyUsage',
  [ExtendedKeyUsage.serverAuth]: 'serverAuth',
  [ExtendedKeyUsage.clientAuth]: 'clientAuth',
  [ExtendedKeyUsage.emailProtection]: 'emailProtection',
  [ExtendedKeyUsage.timeStamping]: 'timeStamping',
  [ExtendedKeyUsage.ocspSigning]: 'OCSPSigning',
};

/** notation-core-go validateLeafKeyUsage: present and critical, digitalSignature and nothing else. */
export function validateLeafKeyUsage(cert: Certificate, role = 'signing'): void {
  const ku = keyUsage(cert);
  if (!(ku.usages & KeyUsageFlags.digitalSignature))
    throw new CertificateError(
      `${role} certificate "${cert.subject}": key usage must include digitalSignature`,
    );
  const extra = FORBIDDEN_LEAF_USAGES.filter(([flag]) => ku.usages & flag).map(([, name]) => name);
  if (extra.length)
    throw new CertificateError(
      `${role} certificate "${cert.subject}": key usage must be digitalSignature only, found ${extra.join(', ')}`,
    );
}

function validateLeaf(cert: Certificate): void {
  if (cert.x509.getExtension(BasicConstraintsExtension)?.ca)
    throw new CertificateError(
      `signing certificate "${cert.subject}" is a CA certificate (basicConstraints cA=true)`,
    );
  validateLeafKeyUsage(cert);
  const eku = cert.x509.getExtension(ExtendedKeyUsageExtension);
  if (eku) {
    const bad = eku.usages.map((u) => FORBIDDEN_EKUS[String(u)]).filter(Boolean);
    if (bad.length)
      throw new CertificateError(
        `signing certificate "${cert.subject}": extended key usage ${bad.join(', ')} is not allowed for code signing`,
      );
  }
  algorithmForKey(cert.node.publicKey);
}

export function validateCa(cert: Certificate, below: number): void {
  const bc = cert.x509.getExtension(BasicConstraintsExtension);
  if (!bc?.ca)
    throw new CertificateError(
      `CA certificate "${cert.subject}": basicConstraints must be present with cA=true`,
    );
  if (bc.pathLength !== undefined && bc.pathLength < below)
    throw new CertificateError(
      `CA certificate "${cert.subject}": path length ${bc.pathLength} does not allow ${below} CA certificate(s) below it`,
    );
  if (!(keyUsage(cert).usages & KeyUsageFlags.keyCertSign))
    throw new CertificateError(`CA certificate "${cert.subject}": key usage must include keyCertSign`);
}

function validAt(cert: Certificate, at: Date | undefined): void {
  if (at && (at < cert.notBefore || at > cert.notAfter))
    throw new CertificateError(
      `certificate "${cert.subject}" was not valid at signing time ${at.toISOString()} (valid ${cert.notBefore.toISOString()} to ${cert.notAfter.toISOString()})`,
    );
}

/**
 * The chain as the envelope carries it, leaf first, must end in a self-signed root (or be one
 * self-signed signing certificate) and meet the certificate requirements; with `signingTime`,
 * every certificate must be valid then (what notation checks when it signs).
 */
export function validateCodeSigningChain(chain: Certificate[], signingTime?: Date): void {
  if (!chain.length) throw new CertificateError('the certificate chain is empty');
  if (chain.length === 1) {
    const cert = chain[0]!;
    if (
      !selfSignature(cert) ||
      !sameBytes(cert.x509.subjectName.toArrayBuffer(), cert.x509.issuerName.toArrayBuffer())
    )
      throw new CertificateError(
        `certificate "${cert.subject}" is alone in the chain but not self-signed: the chain must end in a root certificate`,
      );
    validAt(cert, signingTime);
    validateLeaf(cert);
    return;
  }
  chain.forEach((cert, i) => {
    validAt(cert, signingTime);
    if (i === chain.length - 1) {
      if (!issuedBy(cert, cert))
        throw new CertificateError(
          `root certificate "${cert.subject}" is not a self-signed CA: the chain must end in a root`,
        );
    } else {
      if (signedBy(cert, cert))
        throw new CertificateError(
          `${i === 0 ? 'leaf' : 'intermediate'} certificate "${cert.subject}" is self-signed but not at the end of the chain`,
        );
      const parent = chain[i + 1]!;
      if (!issuedBy(cert, parent))
        throw new CertificateError(`certificate "${cert.subject}" is not issued by "${parent.subject}"`);
    }
    if (i === 0) validateLeaf(cert);
    else validateCa(cert, i - 1);
  });
}

/** Whether a certificate names CRL or OCSP endpoints (so its revocation could be checked). */
export function hasRevocationEndpoints(cert: Certificate): boolean {
  if (cert.x509.getExtension(CRLDistributionPointsExtension)) return true;
  return (cert.x509.getExtension(AuthorityInfoAccessExtension)?.ocsp.length ?? 0) > 0;
}
