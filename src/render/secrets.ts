import { createHmac, randomBytes } from 'node:crypto';
import { MIN_SECRET_LENGTH, type SecretRegistry } from '../util/redact.js';
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

/**
 * Masking at the source, beyond Secrets themselves: every value of every Secret a build produced
 * is remembered (raw, and base64 as `data` holds it), and any copy of it in another object (a
 * kustomize `replacements` target, a chart that templates it into a ConfigMap, an annotation)
 * is replaced by the value's marker, so a diff still shows that it changed. Each value is also
 * registered with the run's exit scrub (src/util/redact.ts).
 */
export class SecretCopies {
  /** Printed form → marker of the value. */
  private readonly forms = new Map<string, string>();
  private pattern?: RegExp;

  constructor(
    private readonly masker: SecretMasker,
    private readonly registry?: SecretRegistry,
  ) {}

  /** Remembers the values of a Secret as built (before masking). */
  remember(object: KubeObject): void {
    if (!isSecret(object)) return;
    for (const value of secretValues(object).values()) {
      if (MARKER.test(value)) continue;
      this.registry?.add(value);
      if (value.length < MIN_SECRET_LENGTH) continue;
      const marker = this.masker.mask(value);
      for (const form of [value, Buffer.from(value, 'utf8').toString('base64')]) {
        if (this.forms.has(form)) continue;
        this.forms.set(form, marker);
        this.pattern = undefined;
      }
    }
  }

  /** True when `text` holds a remembered value. */
  holds(text: string): boolean {
    const pattern = this.regex();
    return pattern !== undefined && [...text.matchAll(pattern)].some((m) => this.forms.has(m[0]));
  }

  /**
   * `object` with every remembered value replaced by its marker in every string (keys too), but
   * its identity (apiVersion, kind, name, namespace): a Secret value `default` must not move
   * objects to another namespace in a diff. The exit scrub still hides it there.
   */
  scrub(object: KubeObject): KubeObject {
    const pattern = this.regex();
    if (!pattern) return object;
    const walk = (v: unknown): unknown => {
      // Markers already in place stay as they are (a value may be a substring of one).
      if (typeof v === 'string') return v.replace(pattern, (m) => this.forms.get(m) ?? m);
      if (Array.isArray(v)) return v.map(walk);
      if (v && typeof v === 'object')
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [walk(k) as string, walk(x)]));
      return v;
    };
    const { apiVersion, kind, metadata } = object;
    const scrubbed = walk(object) as KubeObject;
    if (!metadata || typeof metadata !== 'object') return { ...scrubbed, apiVersion, kind };
    return {
      ...scrubbed,
      apiVersion,
      kind,
      metadata: {
        ...scrubbed.metadata,
        name: metadata.name,
        ...('namespace' in metadata ? { namespace: metadata.namespace } : {}),
      },
    };
  }

  private regex(): RegExp | undefined {
    if (!this.forms.size) return undefined;
    this.pattern ??= new RegExp(
      [
        MARKER.source.slice(1, -1),
        ...[...this.forms.keys()]
          .sort((a, b) => b.length - a.length)
          .map((f) => f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')),
      ].join('|'),
      'g',
    );
    return this.pattern;
  }
}
