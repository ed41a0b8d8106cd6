/**
 * The changed fields of a modified object as paths, with list items matched by their key the
 * way dyff and `kubectl diff` readers think of them: `spec.template.spec.containers[name=web].image`.
 */
export interface FieldChange {
  path: string;
  /** Absent on one side: the field was added or removed. */
  before?: unknown;
  after?: unknown;
}

/** Fields after which a list's items are matched, in order of preference (Kubernetes merge keys). */
const LIST_KEYS = ['name', 'containerPort', 'port', 'mountPath', 'devicePath', 'key', 'ip', 'type'];

/** More changed fields than this in one object: the unified diff says the rest. */
export const FIELD_LIMIT = 40;

export function changedFields(before: unknown, after: unknown): FieldChange[] {
  const out: FieldChange[] = [];
  walk('', before, after, out);
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

function segment(key: string): string {
  return /^[A-Za-z_$][\w$-]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function walk(path: string, a: unknown, b: unknown, out: FieldChange[]): void {
  if (out.length > FIELD_LIMIT) return;
  if (isObject(a) && isObject(b)) {
    for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort())
      walk(path + segment(key), a[key], b[key], out);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const key = listKey(a, b);
    if (key) {
      const index = (list: unknown[]) =>
        new Map(list.map((item) => [String((item as Record<string, unknown>)[key]), item]));
      const ia = index(a);
      const ib = index(b);
      for (const id of [...new Set([...ia.keys(), ...ib.keys()])])
        walk(`${path}[${key}=${id}]`, ia.get(id), ib.get(id), out);
      return;
    }
    if (a.length === b.length && a.every((x) => isObject(x) || Array.isArray(x))) {
      a.forEach((x, i) => walk(`${path}[${i}]`, x, b[i], out));
      return;
    }
  }
  if (JSON.stringify(a) !== JSON.stringify(b))
    out.push({
      path: path.replace(/^\./, ''),
      ...(a === undefined ? {} : { before: a }),
      ...(b === undefined ? {} : { after: b }),
    });
}

/** The first key field every item of both lists has, unique within each list. */
function listKey(a: unknown[], b: unknown[]): string | undefined {
  const items = [...a, ...b];
  if (!items.length || !items.every(isObject)) return undefined;
  return LIST_KEYS.find((key) =>
    [a, b].every((list) => {
      const values = list.map((item) => (item as Record<string, unknown>)[key]);
      return (
        values.every((v) => typeof v === 'string' || typeof v === 'number') &&
        new Set(values.map(String)).size === values.length
      );
    }),
  );
}

/** A field value in one short line: scalars as they are, structures as compact JSON. */
export function shortValue(v: unknown, max = 80): string {
  if (v === undefined) return '—';
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
