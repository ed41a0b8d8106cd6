import { Document, isAlias, isMap, isScalar, isSeq, parseAllDocuments, stringify, type Node } from 'yaml';

/**
 * A SOPS document as getsops/sops holds it (sops.Tree): one branch per YAML document, keys in
 * file order (the MAC hashes leaves in that order), metadata apart. Comments are not kept: they
 * are not part of the MAC, and the comment-driven encryption rules are refused.
 */
export type SopsLeaf = string | number | boolean | null;
export type SopsNode = SopsLeaf | SopsBranch | SopsNode[];
export type SopsBranch = Map<string, SopsNode>;

export type SopsFormat = 'yaml' | 'json' | 'dotenv' | 'binary' | 'ini';

export interface SopsMasterKeys {
  age: { recipient: string; enc: string }[];
  pgp: { fp: string; enc: string }[];
  /** Master keys of other types (KMS, Vault, …): fluxgate holds no credentials for them. */
  other: number;
}

export interface SopsMetadata {
  lastModified: string;
  mac: string;
  keyGroups: SopsMasterKeys[];
  unencryptedSuffix?: string;
  encryptedSuffix?: string;
  unencryptedRegex?: string;
  encryptedRegex?: string;
  macOnlyEncrypted: boolean;
}

export interface SopsTree {
  branches: SopsBranch[];
  metadata: SopsMetadata;
}

export class SopsFormatError extends Error {}

/**
 * kustomize-controller's marker bytes (internal/decryptor sopsFormatToMarkerBytes): a file or a
 * Secret value is SOPS-encrypted in a format when it holds these.
 */
export const FORMAT_MARKERS: Record<SopsFormat, string> = {
  binary: '"mac": "ENC[',
  json: '"mac": "ENC[',
  dotenv: 'sops_mac=ENC[',
  ini: '[sops]',
  yaml: 'mac: ENC[',
};

/** getsops/sops cmd/sops/formats FormatForPath, with kustomize-controller's `.dockerconfigjson` → JSON. */
export function formatForPath(path: string): SopsFormat {
  if (path.endsWith('.dockerconfigjson')) return 'json';
  if (/\.ya?ml$/.test(path)) return 'yaml';
  if (path.endsWith('.json')) return 'json';
  if (path.endsWith('.env')) return 'dotenv';
  if (path.endsWith('.ini')) return 'ini';
  return 'binary';
}

/** kustomize-controller detectFormatFromMarkerBytes (JSON and binary share a marker). */
export function detectFormat(text: string): SopsFormat | undefined {
  if (text.includes(FORMAT_MARKERS.yaml) && !text.includes(FORMAT_MARKERS.json)) return 'yaml';
  if (text.includes(FORMAT_MARKERS.json)) return 'json';
  if (text.includes(FORMAT_MARKERS.dotenv)) return 'dotenv';
  if (text.includes(FORMAT_MARKERS.ini)) return 'ini';
  return undefined;
}

/** A SOPS-encrypted file in `format`, as its sops store loads it (LoadEncryptedFile). */
export function loadEncrypted(text: string, format: SopsFormat): SopsTree {
  switch (format) {
    case 'yaml':
    case 'json':
    case 'binary':
      return withMetadata(parseStructured(text, format), false);
    case 'dotenv':
      return withMetadata([parseDotenv(text)], true);
    case 'ini':
      throw new SopsFormatError('INI files encrypted with SOPS are not supported');
  }
}

/** A plain JSON value (a rendered object) as a one-branch tree, for decryption in place. */
export function fromPlain(value: Record<string, unknown>): SopsBranch {
  const convert = (v: unknown): SopsNode => {
    if (Array.isArray(v)) return v.map(convert);
    if (v && typeof v === 'object')
      return new Map(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, convert(x)]));
    if (v === undefined) return null;
    return v as SopsLeaf;
  };
  return convert(value) as SopsBranch;
}

/** A branch as plain JSON. */
export function toPlain(node: SopsNode): unknown {
  if (node instanceof Map) return Object.fromEntries([...node].map(([k, v]) => [k, toPlain(v)]));
  if (Array.isArray(node)) return node.map(toPlain);
  return node;
}

/** The decrypted tree in `format`, as the sops store emits it (EmitPlainFile). */
export function emitPlain(branches: SopsBranch[], format: SopsFormat): string {
  switch (format) {
    case 'yaml':
      return branches.map((b) => stringify(new Document(b), { indent: 4, lineWidth: 0 })).join('---\n');
    case 'json':
      if (branches.length !== 1) throw new SopsFormatError('a JSON document has exactly one branch');
      return JSON.stringify(toPlain(branches[0]!), null, '\t') + '\n';
    case 'binary': {
      const data = branches[0]?.get('data');
      if (typeof data !== 'string')
        throw new SopsFormatError('error emitting binary store: no binary data found in tree');
      return data;
    }
    case 'dotenv':
      return [...(branches[0] ?? new Map())]
        .map(([k, v]) => {
          if (v instanceof Map || Array.isArray(v))
            throw new SopsFormatError(`cannot use complex value in dotenv file; offending key ${k}`);
          const value = typeof v === 'string' ? v.replace(/\n/g, '\\n') : leafText(v);
          return `${k}=${value}\n`;
        })
        .join('');
    case 'ini':
      throw new SopsFormatError('INI files encrypted with SOPS are not supported');
  }
}

/** getsops/sops stores.ValToString for emitting non-string leaves. */
function leafText(v: SopsLeaf): string {
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return v === null ? '' : String(v);
}

/** YAML and JSON (a subset of YAML 1.2), keeping key order. */
function parseStructured(text: string, format: SopsFormat): SopsBranch[] {
  const branches: SopsBranch[] = [];
  for (const doc of parseAllDocuments(text, { uniqueKeys: true })) {
    if (doc.errors.length)
      throw new SopsFormatError(
        `Error unmarshaling input ${format.toUpperCase()}: ${doc.errors[0]!.message.split('\n')[0]}`,
      );
    const root = doc.contents;
    if (root === null || (isScalar(root) && root.value === null)) continue;
    if (!isMap(root))
      throw new SopsFormatError(`${format.toUpperCase()} documents that are not mappings are not supported`);
    const convert = (node: unknown): SopsNode => {
      if (isAlias(node)) return convert(node.resolve(doc));
      if (isMap(node)) {
        const branch: SopsBranch = new Map();
        for (const pair of node.items) {
          const key = isScalar(pair.key) ? pair.key.value : pair.key;
          branch.set(String(key), convert(pair.value));
        }
        return branch;
      }
      if (isSeq(node)) return node.items.map(convert);
      if (isScalar(node)) {
        const v = node.value;
        if (v === null || v === undefined) return null;
        if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
        return String(v);
      }
      return node === null || node === undefined ? null : String((node as Node).toJSON());
    };
    branches.push(convert(root) as SopsBranch);
  }
  return branches;
}

/** getsops/sops stores/dotenv LoadPlainFile: `KEY=VALUE` lines, `\n` unescaped, `#` comments. */
function parseDotenv(text: string): SopsBranch {
  const branch: SopsBranch = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.indexOf('=');
    if (at < 0) throw new SopsFormatError('invalid dotenv input line');
    branch.set(line.slice(0, at), line.slice(at + 1).replace(/\\n/g, '\n'));
  }
  return branch;
}

/**
 * getsops/sops stores.ExtractMetadata: the `sops` entry of the first branch (removed from every
 * branch), or, flattened, the `sops_`-prefixed keys of a dotenv file.
 */
function withMetadata(branches: SopsBranch[], flattened: boolean): SopsTree {
  let raw: unknown;
  if (flattened) {
    const first = branches[0] ?? new Map();
    const flat = new Map<string, SopsNode>();
    for (const [k, v] of [...first]) {
      if (!k.startsWith('sops_')) continue;
      flat.set(k.slice('sops_'.length), v);
      first.delete(k);
    }
    raw = flat.size ? unflatten(flat) : undefined;
  } else {
    branches.forEach((b, i) => {
      if (i === 0 && b.has('sops')) raw = toPlain(b.get('sops')!);
      b.delete('sops');
    });
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new SopsFormatError('sops metadata not found');
  return { branches, metadata: readMetadata(raw as Record<string, unknown>) };
}

/** getsops/sops stores/flatten.go: `pgp__list_0__map_fp` → `{pgp: [{fp}]}`. */
function unflatten(flat: Map<string, SopsNode>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, value] of flat) {
    const parts = key.split(/(__list_\d+|__map_)/);
    const path: (string | number)[] = [parts[0]!];
    for (let i = 1; i < parts.length; i += 2) {
      const sep = parts[i]!;
      if (sep === '__map_') path.push(parts[i + 1]!);
      else {
        path.push(Number(sep.slice('__list_'.length)));
        if (parts[i + 1]) path.push(parts[i + 1]!);
      }
    }
    let node: Record<string | number, unknown> = root;
    path.forEach((p, i) => {
      if (i === path.length - 1) node[p] = value;
      else node = (node[p] ??= typeof path[i + 1] === 'number' ? [] : {}) as Record<string | number, unknown>;
    });
  }
  return root;
}

const str = (v: unknown) => (v === undefined || v === null ? undefined : String(v));

function masterKeys(group: Record<string, unknown>): SopsMasterKeys {
  const list = (v: unknown) => (Array.isArray(v) ? (v as Record<string, unknown>[]) : []);
  return {
    age: list(group.age).map((k) => ({ recipient: str(k.recipient) ?? '', enc: str(k.enc) ?? '' })),
    pgp: list(group.pgp).map((k) => ({ fp: str(k.fp) ?? '', enc: str(k.enc) ?? '' })),
    other: ['kms', 'gcp_kms', 'azure_kv', 'hc_vault', 'hckms'].reduce((n, t) => n + list(group[t]).length, 0),
  };
}

/** getsops/sops stores metadata.ToInternal. */
function readMetadata(m: Record<string, unknown>): SopsMetadata {
  const flat = masterKeys(m);
  const groups =
    flat.age.length || flat.pgp.length || flat.other
      ? [flat]
      : (Array.isArray(m.key_groups) ? (m.key_groups as Record<string, unknown>[]) : []).map(masterKeys);
  if (!groups.length) throw new SopsFormatError('No keys found in file');
  if (m.unencrypted_comment_regex || m.encrypted_comment_regex)
    throw new SopsFormatError(
      'comment-based encryption rules (encrypted_comment_regex, unencrypted_comment_regex) are not supported',
    );
  const rules = ['unencrypted_suffix', 'encrypted_suffix', 'unencrypted_regex', 'encrypted_regex'].filter(
    (k) => str(m[k]),
  );
  if (rules.length > 1)
    throw new SopsFormatError(
      'Cannot use more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex, or unencrypted_comment_regex in the same file',
    );
  return {
    lastModified: str(m.lastmodified) ?? '',
    mac: str(m.mac) ?? '',
    keyGroups: groups,
    unencryptedSuffix: rules.length ? str(m.unencrypted_suffix) : '_unencrypted',
    encryptedSuffix: str(m.encrypted_suffix),
    unencryptedRegex: str(m.unencrypted_regex),
    encryptedRegex: str(m.encrypted_regex),
    macOnlyEncrypted: m.mac_only_encrypted === true || m.mac_only_encrypted === 'true',
  };
}

/** The metadata of a rendered object's `sops` field. */
export function metadataOf(object: Record<string, unknown>): SopsMetadata {
  const raw = object.sops;
  if (!raw || typeof raw !== 'object') throw new SopsFormatError('sops metadata not found');
  return readMetadata(raw as Record<string, unknown>);
}
