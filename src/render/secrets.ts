import { createHmac, randomBytes } from 'node:crypto';
import type { KubeObject, SecretMasker } from './types.js';

/**
 * A keyed hash with a random key per run: the same value gives the same marker within one run
 * (base and head of a diff compare), and markers reveal nothing across runs.
 */
export function createSecretMasker(key: Buffer = randomBytes(32)): SecretMasker {
  return {
    mask(value: string | Uint8Array): string {
      const digest = createHmac('sha256', key).update(value).digest('hex');
      // A plain YAML scalar: it may land unquoted wherever a substitution puts it.
      return `(secret:${digest.slice(0, 12)})`;
    },
  };
}

const MARKER = /^\(secret:[0-9a-f]{12}\)$/;

export function isSecret(object: KubeObject): boolean {
  return object.kind === 'Secret' && (object.apiVersion === 'v1' || object.apiVersion === undefined);
}

/** Decoded values of a Secret (`data` is base64; `stringData` wins, as the API server merges it). */
export function secretValues(object: KubeObject): Map<string, string> {
  const values = new Map<string, string>();
  for (const [k, v] of Object.entries((object.data as Record<string, string>) ?? {})) {
    values.set(k, Buffer.from(String(v ?? ''), 'base64').toString('utf8'));
  }
  for (const [k, v] of Object.entries((object.stringData as Record<string, string>) ?? {}))
    values.set(k, String(v ?? ''));
  return values;
}

/**
 * Replaces every `data`/`stringData` value of a Secret by its marker (of the decoded value, so
 * moving a key between data and stringData is no change). SOPS metadata is dropped: we never
 * decrypt, and the ciphertext's marker still says *that* a key changed.
 */
export function maskSecret(object: KubeObject, masker: SecretMasker): KubeObject {
  if (!isSecret(object)) return object;
  const masked: KubeObject = { ...object };
  delete masked.sops;
  for (const field of ['data', 'stringData'] as const) {
    const values = object[field] as Record<string, unknown> | undefined;
    if (!values || typeof values !== 'object') continue;
    masked[field] = Object.fromEntries(
      Object.entries(values).map(([k, v]) => {
        const value =
          field === 'data' ? Buffer.from(String(v ?? ''), 'base64').toString('utf8') : String(v ?? '');
        // A value substituted from another Secret already is a marker: keep it recognisable.
        return [k, MARKER.test(value) ? value : masker.mask(value)];
      }),
    );
  }
  return masked;
}
