import { parse as parseYaml } from 'yaml';
import { field } from '../../flux/objects.js';
import { isSecret, secretValues } from '../secrets.js';
import type { HelmRenderContext, KubeObject } from '../types.js';

type Values = Record<string, unknown>;

const isMap = (v: unknown): v is Values => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Helm's MergeMaps: maps merge deeply, anything else (lists included) is replaced. */
export function mergeMaps(base: Values, override: Values): Values {
  const out: Values = { ...base };
  for (const [k, v] of Object.entries(override)) {
    out[k] = isMap(v) && isMap(out[k]) ? mergeMaps(out[k] as Values, v) : v;
  }
  return out;
}

/** Every scalar leaf replaced by its marker: a Secret's values document stays hidden wherever the chart puts it. */
function maskLeaves(value: unknown, mask: (s: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => maskLeaves(v, mask));
  if (isMap(value))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskLeaves(v, mask)]));
  return value === null ? null : mask(String(value));
}

/**
 * helm-controller's values (fluxcd/pkg chartutil.ChartValuesFromReferences): valuesFrom in
 * order, later over earlier, `targetPath` with `--set` semantics, `optional`; inline values last.
 */
export function composeValues(
  release: KubeObject,
  ctx: Pick<HelmRenderContext, 'lookup' | 'masker'>,
  what: string,
): Values {
  let result: Values = {};
  const namespace = release.metadata.namespace || 'default';
  const refs =
    field<{ kind: string; name: string; valuesKey?: string; targetPath?: string; optional?: boolean }[]>(
      release,
      'spec',
      'valuesFrom',
    ) ?? [];
  for (const ref of refs) {
    const object = ctx.lookup(ref.kind, namespace, ref.name);
    const key = ref.valuesKey || 'values.yaml';
    if (!object) {
      if (ref.optional) continue;
      throw new Error(`${what}: valuesFrom ${ref.kind} ${namespace}/${ref.name} not found`);
    }
    const secret = ref.kind === 'Secret' && isSecret(object);
    const data = secret
      ? secretValues(object).get(key)
      : (object.data as Record<string, string> | undefined)?.[key];
    if (data === undefined) {
      if (ref.optional) continue;
      throw new Error(`${what}: valuesFrom ${ref.kind} ${namespace}/${ref.name}: no key '${key}'`);
    }
    if (!ref.targetPath) {
      let values: unknown;
      try {
        values = parseYaml(data);
      } catch (err) {
        throw new Error(
          `${what}: valuesFrom ${ref.kind} ${namespace}/${ref.name} key '${key}': invalid YAML: ${(err as Error).message.split('\n')[0]}`,
        );
      }
      if (values === null || values === undefined) continue;
      if (!isMap(values))
        throw new Error(`${what}: valuesFrom ${ref.kind} ${namespace}/${ref.name} key '${key}' is not a map`);
      result = mergeMaps(result, secret ? (maskLeaves(values, (s) => ctx.masker.mask(s)) as Values) : values);
      continue;
    }
    const quoted = /^".*"$/s.test(data) || /^'.*'$/s.test(data);
    const value: unknown = secret ? ctx.masker.mask(data) : quoted ? data.slice(1, -1) : typedSetValue(data);
    setPath(result, ref.targetPath, value, what);
  }
  return mergeMaps(result, (field<Values>(release, 'spec', 'values') ?? {}) as Values);
}

/** `--set` typing: booleans, integers without leading zeros, null; everything else a string. */
function typedSetValue(v: string): unknown {
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (v === 'null') return null;
  if (/^-?(0|[1-9]\d*)$/.test(v) && Number.isSafeInteger(Number(v))) return Number(v);
  return v;
}

/** `a.b[0].c` with `\.` escapes, creating maps and lists on the way. */
export function setPath(target: Values, path: string, value: unknown, what: string): void {
  const parts: (string | number)[] = [];
  for (const segment of path.split(/(?<!\\)\./)) {
    const m = /^(.*?)((?:\[\d+\])*)$/.exec(segment.replace(/\\\./g, '.'))!;
    if (m[1]) parts.push(m[1]);
    for (const idx of m[2]!.matchAll(/\[(\d+)\]/g)) parts.push(Number(idx[1]));
  }
  if (!parts.length) throw new Error(`${what}: invalid targetPath '${path}'`);
  let node: Record<string | number, unknown> = target;
  for (let i = 0; i < parts.length - 1; i++) {
    const p = parts[i]!;
    const nextIsIndex = typeof parts[i + 1] === 'number';
    if (node[p] === undefined || node[p] === null || typeof node[p] !== 'object')
      node[p] = nextIsIndex ? [] : {};
    node = node[p] as Record<string | number, unknown>;
  }
  node[parts.at(-1)!] = value;
}
