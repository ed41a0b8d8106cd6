import { createDecipheriv, createHash, timingSafeEqual } from 'node:crypto';
import { compileGoRegExp } from '../../util/go-regexp.js';
import type { SopsBranch, SopsLeaf, SopsMetadata, SopsNode, SopsTree } from './tree.js';

export class SopsDecryptError extends Error {}

/** getsops/sops aes/cipher.go: `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`. */
const ENCRYPTED = /^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]/;

export function isEncryptedValue(value: unknown): boolean {
  return typeof value === 'string' && ENCRYPTED.test(value);
}

/**
 * AES-256-GCM with the path of the value as additional data (aes.Cipher.Decrypt). The message
 * never quotes the input: kustomize-controller redacts it too (decryptor.go safeDecrypt).
 */
export function decryptValue(ciphertext: string, key: Buffer, additionalData: string): SopsLeaf {
  if (ciphertext === '') return '';
  const m = ENCRYPTED.exec(ciphertext);
  if (!m) throw new SopsDecryptError("Input string <redacted> does not match sops' data format");
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(m[2]!, 'base64'));
    decipher.setAAD(Buffer.from(additionalData, 'utf8'));
    decipher.setAuthTag(Buffer.from(m[3]!, 'base64'));
    plain = Buffer.concat([decipher.update(Buffer.from(m[1]!, 'base64')), decipher.final()]);
  } catch {
    throw new SopsDecryptError('Could not decrypt with AES_GCM: message authentication failed');
  }
  const text = plain.toString('utf8');
  switch (m[4]) {
    case 'str':
    case 'bytes':
    case 'time':
      return text;
    case 'int':
    case 'float': {
      const n = Number(text);
      if (text.trim() === '' || Number.isNaN(n)) throw new SopsDecryptError(`invalid ${m[4]} value`);
      return n;
    }
    case 'bool':
      if (/^(1|t|T|TRUE|true|True)$/.test(text)) return true;
      if (/^(0|f|F|FALSE|false|False)$/.test(text)) return false;
      throw new SopsDecryptError('invalid bool value');
    case 'comment':
      return null;
    default:
      throw new SopsDecryptError(`Unknown datatype: ${m[4]}`);
  }
}

/**
 * A regular expression from a repository (a SOPS file's encryption rules, a kustomize target),
 * compiled as Go's RE2 compiles it, as sops and kustomize do: RE2 never backtracks, so a hostile
 * pattern cannot stall the check.
 */
const compiled = new Map<string, { test(value: string): boolean }>();

export function repositoryRegExp(pattern: string): { test(value: string): boolean } {
  const known = compiled.get(pattern);
  if (known) return known;
  try {
    const re = compileGoRegExp(pattern);
    const compiledPattern = { test: (value: string) => re.matches(value) };
    compiled.set(pattern, compiledPattern);
    return compiledPattern;
  } catch {
    throw new SopsDecryptError('a regular expression of the encryption rules is not valid RE2 syntax');
  }
}

/** getsops/sops Tree.shouldBeEncrypted (without the comment rules, which we refuse). */
function shouldBeEncrypted(metadata: SopsMetadata, path: string[]): boolean {
  let encrypted = true;
  if (metadata.unencryptedSuffix && path.some((p) => p.endsWith(metadata.unencryptedSuffix!)))
    encrypted = false;
  if (metadata.encryptedSuffix) encrypted = path.some((p) => p.endsWith(metadata.encryptedSuffix!));
  if (metadata.unencryptedRegex) {
    const re = repositoryRegExp(metadata.unencryptedRegex);
    if (path.some((p) => re.test(p))) encrypted = false;
  }
  if (metadata.encryptedRegex) {
    const re = repositoryRegExp(metadata.encryptedRegex);
    encrypted = path.some((p) => re.test(p));
  }
  return encrypted;
}

/** getsops/sops ToBytes: what the MAC hashes for a leaf. */
function leafBytes(v: SopsLeaf): Buffer {
  if (typeof v === 'boolean') return Buffer.from(v ? 'True' : 'False');
  if (typeof v === 'number') return Buffer.from(Number.isInteger(v) ? v.toFixed(0) : String(v));
  return Buffer.from(String(v));
}

/** sops.MACOnlyEncryptedInitialization: sha256("sops"). */
const MAC_ONLY_ENCRYPTED_INIT = createHash('sha256').update('sops').digest();

export interface DecryptedTree {
  branches: SopsBranch[];
  /** Paths (`a:b:`) of the values that were encrypted. */
  encryptedPaths: Set<string>;
  /** The MAC of the decrypted tree, upper-case hex of SHA-512 (Tree.Decrypt). */
  mac: string;
}

/**
 * getsops/sops Tree.Decrypt: every value an encryption rule covers is decrypted with the data key
 * and its path (`key:sub:`) as additional data; the MAC hashes every leaf in order (only the
 * encrypted ones with mac_only_encrypted), list items sharing their parent's path.
 */
export function decryptBranches(
  branches: SopsBranch[],
  metadata: SopsMetadata,
  key: Buffer,
  what: (path: string) => string,
): DecryptedTree {
  const hash = createHash('sha512');
  if (metadata.macOnlyEncrypted) hash.update(MAC_ONLY_ENCRYPTED_INIT);
  const encryptedPaths = new Set<string>();
  const walk = (node: SopsNode, path: string[]): SopsNode => {
    if (node instanceof Map) {
      for (const [k, v] of node) node.set(k, walk(v, [...path, k]));
      return node;
    }
    if (Array.isArray(node)) return node.map((v) => walk(v, path));
    if (node === null) return null;
    const encrypted = shouldBeEncrypted(metadata, path);
    const pathString = path.join(':') + ':';
    let value: SopsLeaf = node;
    if (encrypted) {
      if (typeof node !== 'string')
        throw new SopsDecryptError(`${what(pathString)}: expected an encrypted value, got a ${typeof node}`);
      try {
        value = decryptValue(node, key, pathString);
      } catch (err) {
        throw new SopsDecryptError(`${what(pathString)}: ${(err as Error).message}`);
      }
      encryptedPaths.add(pathString);
    }
    if (!metadata.macOnlyEncrypted || encrypted) hash.update(leafBytes(value));
    return value;
  };
  const out = branches.map((b) => walk(b, []) as SopsBranch);
  return { branches: out, encryptedPaths, mac: hash.digest('hex').toUpperCase() };
}

/**
 * getsops/sops decrypt.DataWithFormat's integrity check: the stored MAC, decrypted with the
 * data key and the lastmodified timestamp as additional data, equals the MAC of the tree.
 */
export function verifyMac(tree: SopsTree, computed: string, key: Buffer): void {
  if (!tree.metadata.mac)
    throw new SopsDecryptError('failed to verify sops data integrity: the file has no MAC');
  let stored: SopsLeaf;
  try {
    stored = decryptValue(tree.metadata.mac, key, rfc3339(tree.metadata.lastModified));
  } catch (err) {
    throw new SopsDecryptError(`failed to verify sops data integrity: ${(err as Error).message}`);
  }
  const a = Buffer.from(String(stored));
  const b = Buffer.from(computed);
  if (a.length !== b.length || !timingSafeEqual(a, b))
    throw new SopsDecryptError(
      'failed to verify sops data integrity: MAC mismatch (the file was changed without sops)',
    );
}

/** Go's time.Parse(RFC3339) then Format(RFC3339): fractional seconds are dropped. */
function rfc3339(value: string): string {
  return value.replace(/\.\d+(?=(Z|[+-]\d\d:\d\d)$)/, '');
}
