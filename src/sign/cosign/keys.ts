import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  scryptSync,
  type KeyObject,
} from 'node:crypto';
import nacl from 'tweetnacl';
import { FluxgateError } from '../../errors.js';

/**
 * cosign's key files (sigstore/cosign pkg/cosign/keys.go): a PEM whose body is JSON — scrypt
 * parameters, a NaCl secretbox nonce and the ciphertext of a PKCS#8 DER private key.
 */
const PEM_TYPES = ['ENCRYPTED SIGSTORE PRIVATE KEY', 'ENCRYPTED COSIGN PRIVATE KEY'];
/** The only parameter sets go-securesystemslib's `encrypted` accepts. */
const SCRYPT_N = [32768, 65536, 131072];

interface EncryptedKey {
  kdf: { name: string; params: { N: number; r: number; p: number }; salt: string };
  cipher: { name: string; nonce: string };
  ciphertext: string;
}

function pemBody(pem: string, what: string): { type: string; der: Buffer } {
  const m = /-----BEGIN ([A-Z ]+)-----\s*([\s\S]*?)\s*-----END \1-----/.exec(pem);
  if (!m) throw new FluxgateError('INPUT', `${what}: not a PEM file`);
  return { type: m[1]!, der: Buffer.from(m[2]!.replace(/\s+/g, ''), 'base64') };
}

const scrypt = (password: string, salt: Buffer, N: number, r: number, p: number) =>
  scryptSync(Buffer.from(password, 'utf8'), salt, 32, { N, r, p, maxmem: 512 * 1024 * 1024 });

/** Decrypts a cosign private key; refuses what cosign refuses (other KDFs, SEC1 inside). */
export function readCosignPrivateKey(pem: string, password: string, what = 'cosign key'): KeyObject {
  const { type, der } = pemBody(pem, what);
  if (!PEM_TYPES.includes(type)) throw new FluxgateError('INPUT', `${what}: unsupported PEM type ${type}`);
  let doc: EncryptedKey;
  try {
    doc = JSON.parse(der.toString('utf8'));
  } catch {
    throw new FluxgateError('INPUT', `${what}: the PEM body is not cosign's encrypted key JSON`);
  }
  const { N, r, p } = doc.kdf?.params ?? ({} as EncryptedKey['kdf']['params']);
  if (doc.kdf?.name !== 'scrypt' || !SCRYPT_N.includes(N) || r !== 8 || p !== 1) {
    throw new FluxgateError('INPUT', `${what}: unsupported scrypt parameters`);
  }
  if (doc.cipher?.name !== 'nacl/secretbox')
    throw new FluxgateError('INPUT', `${what}: unsupported cipher ${doc.cipher?.name}`);
  const key = scrypt(password, Buffer.from(doc.kdf.salt, 'base64'), N, r, p);
  const plain = nacl.secretbox.open(
    Buffer.from(doc.ciphertext, 'base64'),
    Buffer.from(doc.cipher.nonce, 'base64'),
    key,
  );
  if (!plain) throw new FluxgateError('INPUT', `${what}: wrong password (decryption failed)`);
  try {
    return createPrivateKey({ key: Buffer.from(plain), format: 'der', type: 'pkcs8' });
  } catch {
    throw new FluxgateError(
      'INPUT',
      `${what}: the decrypted key is not PKCS#8 (cosign rejects SEC1 and other encodings)`,
    );
  }
}

/** Encrypts a private key as current cosign does (N=65536, `ENCRYPTED SIGSTORE PRIVATE KEY`). */
export function writeCosignPrivateKey(key: KeyObject, password: string): string {
  const salt = randomBytes(32);
  const nonce = randomBytes(24);
  const N = 65536;
  const box = nacl.secretbox(
    key.export({ format: 'der', type: 'pkcs8' }),
    nonce,
    scrypt(password, salt, N, 8, 1),
  );
  const doc: EncryptedKey = {
    kdf: { name: 'scrypt', params: { N, r: 8, p: 1 }, salt: salt.toString('base64') },
    cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') },
    ciphertext: Buffer.from(box).toString('base64'),
  };
  const body = Buffer.from(JSON.stringify(doc))
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd();
  return `-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n${body}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n`;
}

export function publicKeyPem(key: KeyObject): string {
  return createPublicKey(key).export({ format: 'pem', type: 'spki' }).toString();
}

export function generateCosignKeyPair(): KeyObject {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
}

/** A PEM public key (PKIX): ECDSA P-256/384/521, RSA or Ed25519. */
export function readPublicKey(pem: string, what: string): KeyObject {
  try {
    return createPublicKey({ key: pem, format: 'pem' });
  } catch {
    throw new FluxgateError('INPUT', `${what}: not a PEM public key`);
  }
}
