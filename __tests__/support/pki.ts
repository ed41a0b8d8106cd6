/**
 * A test PKI for Notary Project signatures: a root CA and signing certificates with the
 * extensions the signature specification requires, plus deliberately bad ones. Keys are made by
 * node's WebCrypto, certificates by @peculiar/x509 (no hand-written ASN.1).
 *
 *   const ca = await createCa();                       // root CA, RSA 3072 unless `key` says
 *   const leaf = await issueLeaf(ca, { key: 'ec-p256' }); // code-signing leaf
 *   await writeSigningFiles(dir, leaf)                  // key.pem + chain.pem (leaf…root), root.pem
 *
 * Bad variants: `issueLeaf(ca, { variant: 'no-code-signing' | 'expired' | 'ca-leaf' })`.
 */
import 'reflect-metadata';
import { createPrivateKey, webcrypto, type KeyObject } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

// Node's WebCrypto is the standard one; the DOM type names are not in this project's libs.
x509.cryptoProvider.set(webcrypto as never);

type CryptoKeyPair = webcrypto.CryptoKeyPair;

export type KeyKind = 'rsa-2048' | 'rsa-3072' | 'rsa-4096' | 'ec-p256' | 'ec-p384' | 'ec-p521';

export interface TestCertificate {
  /** DER bytes. */
  der: Buffer;
  pem: string;
  /** As RFC 4514 / @peculiar/x509 print it, e.g. `C=US, ST=WA, O=Acme, CN=signer`. */
  subject: string;
  /** The private key (PKCS#8 PEM and node KeyObject). */
  keyPem: string;
  key: KeyObject;
  /** This certificate, then its issuers up to the root (PEM, concatenated). */
  chainPem: string;
  /** DER of this certificate and its issuers, leaf first. */
  chainDer: Buffer[];
  notBefore: Date;
  notAfter: Date;
}

export interface TestCa extends TestCertificate {
  /** WebCrypto keys, for issuing. */
  cryptoKeys: CryptoKeyPair;
  kind: KeyKind;
}

const DAY = 24 * 3600 * 1000;
let serial = 1;

function keyParams(kind: KeyKind): webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams {
  if (kind.startsWith('rsa'))
    return {
      name: 'RSASSA-PKCS1-v1_5',
      modulusLength: Number(kind.slice(4)),
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: 'SHA-256',
    };
  return { name: 'ECDSA', namedCurve: EC_CURVE[kind]! };
}

const EC_CURVE: Record<string, string> = { 'ec-p256': 'P-256', 'ec-p384': 'P-384', 'ec-p521': 'P-521' };
const EC_HASH: Record<string, string> = { 'ec-p256': 'SHA-256', 'ec-p384': 'SHA-384', 'ec-p521': 'SHA-512' };

function signingAlgorithm(kind: KeyKind): webcrypto.Algorithm | webcrypto.EcdsaParams {
  if (kind.startsWith('rsa')) return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as webcrypto.Algorithm;
  return { name: 'ECDSA', hash: EC_HASH[kind]! };
}

async function generate(kind: KeyKind): Promise<{ pair: CryptoKeyPair; pem: string; key: KeyObject }> {
  const pair = (await webcrypto.subtle.generateKey(keyParams(kind), true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', pair.privateKey));
  const key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  return { pair, key, pem: key.export({ format: 'pem', type: 'pkcs8' }).toString() };
}

const serialNumber = () => (0x1000 + serial++).toString(16);

export interface CaOptions {
  subject?: string;
  key?: KeyKind;
  notBefore?: Date;
  notAfter?: Date;
  /** basicConstraints pathLenConstraint. */
  pathLength?: number;
}

/** A self-signed root CA: basicConstraints critical cA=true, keyUsage critical keyCertSign+cRLSign. */
export async function createCa(options: CaOptions = {}): Promise<TestCa> {
  const kind = options.key ?? 'rsa-3072';
  const { pair, pem, key } = await generate(kind);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: options.subject ?? 'C=US, ST=WA, L=Seattle, O=Fluxgate Test, CN=Fluxgate Test Root',
    notBefore: options.notBefore ?? new Date(Date.now() - DAY),
    notAfter: options.notAfter ?? new Date(Date.now() + 3650 * DAY),
    signingAlgorithm: signingAlgorithm(kind),
    keys: pair,
    extensions: [
      new x509.BasicConstraintsExtension(true, options.pathLength, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(pair.publicKey),
    ],
  });
  const der = Buffer.from(cert.rawData);
  return {
    der,
    pem: cert.toString('pem') + '\n',
    subject: cert.subject,
    keyPem: pem,
    key,
    chainPem: cert.toString('pem') + '\n',
    chainDer: [der],
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    cryptoKeys: pair,
    kind,
  };
}

export type LeafVariant =
  /** keyUsage critical digitalSignature, EKU codeSigning, basicConstraints cA=false. */
  | 'valid'
  /** EKU serverAuth instead of codeSigning. */
  | 'no-code-signing'
  /** Validity ended yesterday (it started ten days ago). */
  | 'expired'
  /** basicConstraints cA=true on the signing certificate. */
  | 'ca-leaf'
  /** keyUsage not marked critical. */
  | 'non-critical-key-usage';

export interface LeafOptions {
  subject?: string;
  key?: KeyKind;
  variant?: LeafVariant;
  notBefore?: Date;
  notAfter?: Date;
  /** A CRL distribution point URL (makes the certificate's revocation checkable). */
  crlUrl?: string;
}

/** A signing certificate issued by `ca`, or self-signed with `ca: 'self'`. */
export async function issueLeaf(
  ca: TestCa | 'self',
  options: LeafOptions = {},
): Promise<TestCertificate & { cryptoKeys: CryptoKeyPair; kind: KeyKind }> {
  const kind = options.key ?? 'rsa-2048';
  const variant = options.variant ?? 'valid';
  const { pair, pem, key } = await generate(kind);
  const expired = variant === 'expired';
  const notBefore = options.notBefore ?? new Date(Date.now() - (expired ? 10 : 1) * DAY);
  const notAfter = options.notAfter ?? new Date(Date.now() + (expired ? -DAY : 365 * DAY));
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(variant === 'ca-leaf', undefined, variant === 'ca-leaf'),
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.digitalSignature | (variant === 'ca-leaf' ? x509.KeyUsageFlags.keyCertSign : 0),
      variant !== 'non-critical-key-usage',
    ),
    new x509.ExtendedKeyUsageExtension(
      [variant === 'no-code-signing' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.codeSigning],
      false,
    ),
  ];
  if (options.crlUrl) extensions.push(new x509.CRLDistributionPointsExtension([options.crlUrl]));
  const subject = options.subject ?? 'C=US, ST=WA, L=Seattle, O=Fluxgate Test, CN=Fluxgate Test Signer';
  const cert =
    ca === 'self'
      ? await x509.X509CertificateGenerator.createSelfSigned({
          serialNumber: serialNumber(),
          name: subject,
          notBefore,
          notAfter,
          signingAlgorithm: signingAlgorithm(kind),
          keys: pair,
          extensions,
        })
      : await x509.X509CertificateGenerator.create({
          serialNumber: serialNumber(),
          subject,
          issuer: ca.subject,
          notBefore,
          notAfter,
          signingAlgorithm: signingAlgorithm(ca.kind),
          publicKey: pair.publicKey,
          signingKey: ca.cryptoKeys.privateKey,
          extensions,
        });
  const der = Buffer.from(cert.rawData);
  const certPem = cert.toString('pem') + '\n';
  return {
    der,
    pem: certPem,
    subject: cert.subject,
    keyPem: pem,
    key,
    chainPem: ca === 'self' ? certPem : certPem + ca.chainPem,
    chainDer: ca === 'self' ? [der] : [der, ...ca.chainDer],
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    cryptoKeys: pair,
    kind,
  };
}

export interface SigningFiles {
  /** `--notation-key`: the leaf's PKCS#8 PEM key. */
  keyFile: string;
  /** `--notation-cert`: the chain, leaf first, ending in the root. */
  certFile: string;
  /** A trust store directory (`--trust-store ca:NAME=DIR`) holding only the root. */
  trustStoreDir: string;
}

/** Writes the files `fluxgate sign --provider notation` and `verify` take. */
export function writeSigningFiles(dir: string, leaf: TestCertificate): SigningFiles {
  mkdirSync(join(dir, 'truststore'), { recursive: true });
  const keyFile = join(dir, 'notation.key');
  const certFile = join(dir, 'notation.crt');
  writeFileSync(keyFile, leaf.keyPem, { mode: 0o600 });
  writeFileSync(certFile, leaf.chainPem);
  const rootDer = leaf.chainDer[leaf.chainDer.length - 1]!;
  writeFileSync(
    join(dir, 'truststore', 'root.pem'),
    `-----BEGIN CERTIFICATE-----\n${rootDer
      .toString('base64')
      .replace(/(.{64})/g, '$1\n')
      .trimEnd()}\n-----END CERTIFICATE-----\n`,
  );
  return { keyFile, certFile, trustStoreDir: join(dir, 'truststore') };
}

/** A trust policy document with one statement (registry scope, level, store, identity). */
export function trustPolicy(statement: {
  name?: string;
  scopes?: string[];
  level?: 'strict' | 'permissive' | 'audit' | 'skip';
  trustStores?: string[];
  identities?: string[];
  override?: Record<string, string>;
}): string {
  const level = statement.level ?? 'strict';
  return JSON.stringify(
    {
      version: '1.0',
      trustPolicies: [
        {
          name: statement.name ?? 'test',
          registryScopes: statement.scopes ?? ['*'],
          signatureVerification: statement.override ? { level, override: statement.override } : { level },
          ...(level === 'skip'
            ? {}
            : {
                trustStores: statement.trustStores ?? ['ca:test'],
                trustedIdentities: statement.identities ?? ['*'],
              }),
        },
      ],
    },
    null,
    2,
  );
}

/** A TLS server certificate for loopback stand-ins: SAN IP 127.0.0.1 and DNS localhost, EKU serverAuth. */
export async function issueServerCertificate(ca: TestCa): Promise<TestCertificate> {
  const { pair, pem, key } = await generate('ec-p256');
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: 'CN=127.0.0.1',
    issuer: ca.subject,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 30 * DAY),
    signingAlgorithm: signingAlgorithm(ca.kind),
    publicKey: pair.publicKey,
    signingKey: ca.cryptoKeys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension([
        { type: 'ip', value: '127.0.0.1' },
        { type: 'dns', value: 'localhost' },
      ]),
    ],
  });
  const der = Buffer.from(cert.rawData);
  const certPem = cert.toString('pem') + '\n';
  return {
    der,
    pem: certPem,
    subject: cert.subject,
    keyPem: pem,
    key,
    chainPem: certPem + ca.chainPem,
    chainDer: [der, ...ca.chainDer],
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
  };
}
