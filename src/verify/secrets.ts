/**
 * The verify Secrets a source names (`spec.verify.secretRef`, `trustedRootSecretRef`): from
 * `--verify-secret NS/NAME=DIR` (files kept outside the repository), else the Secret in the
 * repository. Values stay in this process: they become keys, roots and certificates, never output.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { lookupObject, type Located } from './policy.js';

export type SecretFiles = { files: Map<string, Buffer> } | { missing: string };

export class VerifySecrets {
  constructor(
    private readonly index: Map<string, Located>,
    /** `NS/NAME` → directory. */
    private readonly dirs: Map<string, string>,
    private readonly cwd: string,
    /** Where Secrets were looked for, for the message when one is missing. */
    private readonly scope = 'the repository',
  ) {}

  read(namespace: string, name: string): SecretFiles {
    const id = `${namespace}/${name}`;
    const hint = `pass --verify-secret ${id}=DIR with its files`;
    const dir = this.dirs.get(id);
    if (dir) {
      const root = resolve(this.cwd, dir);
      const files = new Map<string, Buffer>();
      try {
        for (const f of readdirSync(root))
          if (statSync(join(root, f)).isFile()) files.set(f, readFileSync(join(root, f)));
      } catch {
        return { missing: `--verify-secret ${id}=${dir}: cannot read the directory` };
      }
      return { files };
    }
    const secret = lookupObject(this.index, 'Secret', namespace, name);
    if (!secret) return { missing: `Secret ${id} is not in ${this.scope} (${hint})` };
    const o = secret.object;
    // SOPS-encrypted values are ciphertext here; we never decrypt.
    if (o.sops) return { missing: `Secret ${id} is SOPS-encrypted (${hint})` };
    const files = new Map<string, Buffer>();
    for (const [k, v] of Object.entries((o.data as Record<string, unknown>) ?? {}))
      files.set(k, Buffer.from(String(v ?? ''), 'base64'));
    for (const [k, v] of Object.entries((o.stringData as Record<string, unknown>) ?? {}))
      files.set(k, Buffer.from(String(v ?? ''), 'utf8'));
    return { files };
  }
}

/**
 * A certificate entry as source-controller reads it: PEM or DER, and of PEM only the first block
 * (it calls pem.Decode once), so later certificates in the same key are not trusted.
 */
export function firstCertificate(data: Buffer): Buffer {
  const text = data.toString('latin1');
  const m = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/.exec(text);
  return m ? Buffer.from(m[0] + '\n', 'latin1') : data;
}
