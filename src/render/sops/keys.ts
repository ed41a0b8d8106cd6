import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { armor, Decrypter } from 'age-encryption';
import type * as openpgp from 'openpgp';

/** OpenPGP is large: loaded only when an OpenPGP key is given. */
const loadOpenpgp = () => import('openpgp');
import type { SopsMetadata } from './tree.js';

/**
 * The private keys fluxgate holds for SOPS: age identities and OpenPGP private keys. They live in
 * this object only: never written anywhere, never part of a message (errors name where a key came
 * from, never its text).
 */
export class SopsKeys {
  private constructor(
    readonly ageIdentities: readonly string[],
    readonly pgpKeys: readonly openpgp.PrivateKey[],
  ) {}

  static empty(): SopsKeys {
    return new SopsKeys([], []);
  }

  get isEmpty(): boolean {
    return !this.ageIdentities.length && !this.pgpKeys.length;
  }

  /** These keys and `other`'s (a decryption Secret's keys next to the ones given to fluxgate). */
  with(other: SopsKeys): SopsKeys {
    if (other.isEmpty) return this;
    return new SopsKeys([...this.ageIdentities, ...other.ageIdentities], [...this.pgpKeys, ...other.pgpKeys]);
  }

  /**
   * The keys handed to fluxgate: `--sops-age-key-file`, `--sops-pgp-key-file`, and the
   * environment as sops reads it (getsops/sops age/keysource.go loadIdentities: SOPS_AGE_KEY,
   * several keys per line allowed; SOPS_AGE_KEY_FILE, one per line).
   */
  static async load(options: {
    ageKeyFiles: string[];
    pgpKeyFiles: string[];
    env: NodeJS.ProcessEnv;
    cwd: string;
  }): Promise<SopsKeys> {
    const age: string[] = [];
    const pgp: openpgp.PrivateKey[] = [];
    const read = (file: string, what: string) => {
      try {
        return readFileSync(resolve(options.cwd, file), 'utf8');
      } catch (err) {
        throw new SopsKeyError(`${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
      }
    };
    for (const file of options.ageKeyFiles)
      age.push(
        ...parseAgeIdentities(read(file, '--sops-age-key-file'), `--sops-age-key-file ${file}`, false),
      );
    if (options.env.SOPS_AGE_KEY)
      age.push(...parseAgeIdentities(options.env.SOPS_AGE_KEY, 'SOPS_AGE_KEY', true));
    if (options.env.SOPS_AGE_KEY_FILE)
      age.push(
        ...parseAgeIdentities(
          read(options.env.SOPS_AGE_KEY_FILE, 'SOPS_AGE_KEY_FILE'),
          `SOPS_AGE_KEY_FILE ${options.env.SOPS_AGE_KEY_FILE}`,
          false,
        ),
      );
    for (const file of options.pgpKeyFiles)
      pgp.push(...(await parsePgpKeys(read(file, '--sops-pgp-key-file'), `--sops-pgp-key-file ${file}`)));
    return new SopsKeys(age, pgp);
  }

  /**
   * Keys in a decryption Secret, as kustomize-controller imports them (internal/decryptor
   * ImportKeys): entries named `*.asc` are armored OpenPGP keys, `*.agekey` age identities.
   */
  static async fromSecretData(values: Map<string, string>, where: string): Promise<SopsKeys> {
    const age: string[] = [];
    const pgp: openpgp.PrivateKey[] = [];
    for (const [name, value] of values) {
      if (name.endsWith('.agekey')) age.push(...parseAgeIdentities(value, `${where} entry ${name}`, false));
      else if (name.endsWith('.asc')) pgp.push(...(await parsePgpKeys(value, `${where} entry ${name}`)));
    }
    return new SopsKeys(age, pgp);
  }

  /**
   * The data key of a SOPS document (getsops/sops Metadata.GetDataKeyWithKeyServices, one key
   * group): the first master key one of our keys opens. `undefined` when we hold no key of any
   * type the document names (nothing to try: the values cannot be compared); an error when we
   * hold keys of its types but none opens it (a wrong key).
   */
  async dataKey(metadata: SopsMetadata): Promise<Buffer | undefined> {
    const groups = metadata.keyGroups;
    if (groups.length > 1)
      throw new SopsKeyError(`Shamir key groups (${groups.length} groups) are not supported`);
    const group = groups[0] ?? { age: [], pgp: [], other: 0 };
    const tried: string[] = [];
    if (group.age.length && this.ageIdentities.length) {
      const decrypter = new Decrypter();
      for (const identity of this.ageIdentities) decrypter.addIdentity(identity);
      for (const key of group.age) {
        try {
          return Buffer.from(await decrypter.decrypt(armor.decode(key.enc.trim() + '\n')));
        } catch {
          tried.push(`age ${key.recipient}`);
        }
      }
    }
    if (group.pgp.length && this.pgpKeys.length) {
      for (const key of group.pgp) {
        try {
          const openpgp = await loadOpenpgp();
          const message = await openpgp.readMessage({ armoredMessage: key.enc });
          const { data } = await openpgp.decrypt({
            message,
            decryptionKeys: [...this.pgpKeys],
            format: 'binary',
          });
          return Buffer.from(data as Uint8Array);
        } catch {
          tried.push(`pgp ${key.fp}`);
        }
      }
    }
    if (!tried.length) return undefined;
    throw new SopsKeyError(
      `cannot get sops data key: no key given to fluxgate opens it (${tried.join(', ')})`,
    );
  }
}

export class SopsKeyError extends Error {}

/** getsops/sops age/keysource.go parseIdentities: `#` lines and empty lines are skipped. */
function parseAgeIdentities(text: string, where: string, severalPerLine: boolean): string[] {
  const identities: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    for (const word of severalPerLine ? line.split(/\s+/) : [line]) {
      if (!/^AGE-SECRET-KEY-(PQ-)?1[0-9A-Z]+$/.test(word))
        throw new SopsKeyError(`${where}: line ${i + 1} is not an age identity (AGE-SECRET-KEY-1…)`);
      try {
        new Decrypter().addIdentity(word);
      } catch {
        throw new SopsKeyError(`${where}: line ${i + 1} is not a valid age identity`);
      }
      identities.push(word);
    }
  });
  return identities;
}

async function parsePgpKeys(armored: string, where: string): Promise<openpgp.PrivateKey[]> {
  let keys: openpgp.PrivateKey[];
  try {
    keys = await (await loadOpenpgp()).readPrivateKeys({ armoredKeys: armored });
  } catch {
    throw new SopsKeyError(`${where}: not an armored OpenPGP private key`);
  }
  for (const key of keys)
    if (!key.isDecrypted())
      throw new SopsKeyError(
        `${where}: the OpenPGP key ${key.getFingerprint().toUpperCase()} is protected by a passphrase (kustomize-controller cannot use it either)`,
      );
  return keys;
}
