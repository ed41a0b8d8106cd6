/**
 * Go values as text/template sees them, modelled in JavaScript:
 *
 * - `undefined`: the invalid reflect.Value (a missing map key under missingkey=default, no data);
 *   printed as `<no value>`.
 * - `null`: a nil interface (a JSON/YAML null, a missing key under missingkey=zero); `<nil>` in fmt.
 * - `boolean`, `string`: bool and string.
 * - `bigint`: a Go `int` (template constants, `len`, range indexes); a GoInt64 / GoUint8 box for
 *   the other integer types sprig and `index` return.
 * - `number`: float64 (every number that came through encoding/json or helm's values).
 * - `Array`: []interface{} (or []string when tagged with SLICE_TYPE).
 * - `Map<string, GoValue>`: map[string]interface{} (plain objects are converted on entry).
 * - GoFunction: a function value (what `call` accepts).
 */

export type GoValue =
  | undefined
  | null
  | boolean
  | string
  | bigint
  | number
  | GoTypedInt
  | GoValue[]
  | Map<string, GoValue>
  | GoFunction;

/** The parameter types a Go function declares, as far as the template engine checks them. */
export type GoType =
  | 'interface'
  | 'reflect'
  | 'string'
  | 'int'
  | 'int64'
  | 'float64'
  | 'bool'
  | 'slice'
  | 'strings'
  | 'map'
  | 'uint8';

/** A Go function the template can call: its parameter types and a JavaScript body. */
export interface GoFunction {
  readonly kind: 'func';
  readonly params: readonly GoType[];
  /** Element type of the final `...` parameter. */
  readonly variadic?: GoType;
  /** The Go signature's result type, for printing `%T`; defaults to interface {}. */
  readonly result?: string;
  /** Throws an Error to return Go's non-nil error result. */
  readonly call: (...args: GoValue[]) => GoValue;
}

export function goFunc(
  params: readonly GoType[],
  call: (...args: never[]) => GoValue,
  options: { variadic?: GoType; result?: string } = {},
): GoFunction {
  return { kind: 'func', params, call: call as (...args: GoValue[]) => GoValue, ...options };
}

/** Integer types other than `int`: what sprig's math returns (int64), `index` of a string (uint8). */
export class GoTypedInt {
  constructor(
    readonly type: 'int64' | 'uint8' | 'int32' | 'uint64',
    readonly value: bigint,
  ) {}
}

export const int64 = (v: bigint): GoTypedInt => new GoTypedInt('int64', BigInt.asIntN(64, v));

/** Tags an array as a typed slice ([]string) for `%T`, typeOf and assignability. */
export const SLICE_TYPE = Symbol('goSliceType');
/** Tags a Map as map[string]string. */
export const MAP_TYPE = Symbol('goMapType');

type Tagged = { [SLICE_TYPE]?: string; [MAP_TYPE]?: string };

export function stringSlice(values: string[]): GoValue[] {
  const out = values as GoValue[] & Tagged;
  out[SLICE_TYPE] = 'string';
  return out;
}

export function stringMap(entries: Iterable<[string, string]>): Map<string, GoValue> {
  const out = new Map<string, GoValue>(entries) as Map<string, GoValue> & Tagged;
  out[MAP_TYPE] = 'string';
  return out;
}

export function sliceElemType(v: GoValue[]): string {
  return (v as Tagged)[SLICE_TYPE] ?? 'interface {}';
}

export function mapElemType(v: Map<string, GoValue>): string {
  return (v as Tagged)[MAP_TYPE] ?? 'interface {}';
}

export const isFunc = (v: unknown): v is GoFunction =>
  typeof v === 'object' && v !== null && (v as GoFunction).kind === 'func' && !(v instanceof Map);

export const isInt = (v: GoValue): v is bigint | GoTypedInt =>
  typeof v === 'bigint' || v instanceof GoTypedInt;

export function intValue(v: bigint | GoTypedInt): bigint {
  return typeof v === 'bigint' ? v : v.value;
}

/** The Go type name of a value (what `%T` prints). */
export function typeName(v: GoValue): string {
  if (v === undefined) return '<nil>';
  if (v === null) return '<nil>';
  switch (typeof v) {
    case 'boolean':
      return 'bool';
    case 'string':
      return 'string';
    case 'bigint':
      return 'int';
    case 'number':
      return 'float64';
  }
  if (v instanceof GoTypedInt) return v.type;
  if (Array.isArray(v)) return `[]${sliceElemType(v)}`;
  if (v instanceof Map) return `map[string]${mapElemType(v)}`;
  if (isFunc(v)) {
    const params = v.params.map(goTypeName);
    if (v.variadic) params.push(`...${goTypeName(v.variadic)}`);
    return `func(${params.join(', ')}) ${v.result ?? 'interface {}'}`;
  }
  return 'interface {}';
}

/** The reflect.Kind name of a value (sprig's kindOf). */
export function kindName(v: GoValue): string {
  if (v === undefined || v === null) return 'invalid';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'number') return 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'string') return 'string';
  if (v instanceof GoTypedInt) return v.type;
  if (Array.isArray(v)) return 'slice';
  if (v instanceof Map) return 'map';
  return 'func';
}

export function goTypeName(t: GoType): string {
  switch (t) {
    case 'interface':
      return 'interface {}';
    case 'reflect':
      return 'reflect.Value';
    case 'slice':
      return '[]interface {}';
    case 'strings':
      return '[]string';
    case 'map':
      return 'map[string]interface {}';
    default:
      return t;
  }
}

/** Whether a value of the given type can be passed where `t` is declared (Go's AssignableTo). */
export function assignable(v: GoValue, t: GoType): boolean {
  switch (t) {
    case 'interface':
    case 'reflect':
      return true;
    case 'string':
      return typeof v === 'string';
    case 'bool':
      return typeof v === 'boolean';
    case 'int':
      return typeof v === 'bigint';
    case 'int64':
    case 'uint8':
      return v instanceof GoTypedInt && v.type === t;
    case 'float64':
      return typeof v === 'number';
    case 'slice':
      return Array.isArray(v) && sliceElemType(v) === 'interface {}';
    case 'strings':
      return Array.isArray(v) && sliceElemType(v) === 'string';
    case 'map':
      return v instanceof Map && mapElemType(v) === 'interface {}';
  }
}

/** Go's `IsTrue`: the truth of a value in if/with/and/or/not. */
export function isTrue(v: GoValue): boolean {
  if (v === undefined || v === null) return false;
  switch (typeof v) {
    case 'boolean':
      return v;
    case 'string':
      return v.length > 0;
    case 'bigint':
      return v !== 0n;
    case 'number':
      return v !== 0;
  }
  if (v instanceof GoTypedInt) return v.value !== 0n;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof Map) return v.size > 0;
  return true;
}

/**
 * Converts data decoded from JSON or YAML into Go values. `integers`: 'float64' models
 * encoding/json into interface{} (every number a float64, as helm's values); 'int64' models
 * k8s.io/apimachinery/pkg/util/json (whole numbers become int64, the rest float64), which is how
 * the Flux Operator decodes ResourceSet inputs.
 */
export function fromJSONValue(value: unknown, integers: 'float64' | 'int64' = 'float64'): GoValue {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number') {
    if (integers === 'int64' && Number.isInteger(value) && Math.abs(value) < 1e21) {
      const big = BigInt(value);
      if (big >= -(2n ** 63n) && big < 2n ** 63n) return int64(big);
    }
    return value;
  }
  if (typeof value === 'bigint') return integers === 'int64' ? int64(value) : Number(value);
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.map((v) => fromJSONValue(v, integers));
  if (value instanceof Map) {
    return new Map([...value].map(([k, v]) => [String(k), fromJSONValue(v, integers)]));
  }
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') {
    return new Map(Object.entries(value).map(([k, v]) => [k, fromJSONValue(v, integers)]));
  }
  return String(value);
}

/** Converts a Go value back to plain JSON-like data (maps to objects, ints to numbers). */
export function toPlain(value: GoValue): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof GoTypedInt) return Number(value.value);
  if (Array.isArray(value)) return value.map(toPlain);
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of value)
      Object.defineProperty(out, k, {
        value: toPlain(v),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return out;
  }
  if (isFunc(value)) return null;
  return value;
}

/** Map keys in Go's fmtsort order (strings: byte-wise). */
export function sortedKeys(m: Map<string, GoValue>): string[] {
  return [...m.keys()].sort(compareStrings);
}

/** Go's string comparison: byte-wise on UTF-8, which is code point order. */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const ba = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  return Buffer.compare(ba, bb);
}
