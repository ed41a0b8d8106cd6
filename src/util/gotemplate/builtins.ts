/**
 * Go's predefined template functions (src/text/template/funcs.go): and, or, not, len, index,
 * slice, print, printf, println, html, js, urlquery, call, eq, ne, lt, le, gt, ge.
 */
import { formatValue, sprint, sprintf, sprintln } from './fmt.js';
import {
  GoTypedInt,
  type GoFunction,
  type GoValue,
  goFunc,
  intValue,
  isFunc,
  isInt,
  isTrue,
  typeName,
} from './value.js';

const errBadComparisonType = 'invalid type for comparison';
const errBadComparison = 'incompatible types for comparison';
const errNoComparison = 'missing argument for comparison';

type Kind = 'invalid' | 'bool' | 'int' | 'uint' | 'float' | 'string' | 'other';

function basicKind(v: GoValue): Kind {
  if (v === undefined || v === null) return 'invalid';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'bigint') return 'int';
  if (v instanceof GoTypedInt) return v.type.startsWith('u') ? 'uint' : 'int';
  if (typeof v === 'number') return 'float';
  if (typeof v === 'string') return 'string';
  return 'other';
}

function num(v: GoValue): bigint {
  return intValue(v as bigint | GoTypedInt);
}

export function goEq(arg1: GoValue, ...arg2: GoValue[]): boolean {
  if (arg2.length === 0) throw new Error(errNoComparison);
  const k1 = basicKind(arg1);
  for (const arg of arg2) {
    const k2 = basicKind(arg);
    let truth = false;
    if (k1 !== k2) {
      if ((k1 === 'int' && k2 === 'uint') || (k1 === 'uint' && k2 === 'int')) truth = num(arg1) === num(arg);
      else if (arg1 !== undefined && arg1 !== null && arg !== undefined && arg !== null)
        throw new Error(errBadComparison);
    } else {
      switch (k1) {
        case 'bool':
        case 'string':
        case 'float':
          truth = arg1 === arg;
          break;
        case 'int':
        case 'uint':
          truth = num(arg1) === num(arg);
          break;
        case 'invalid':
          truth = true;
          break;
        default:
          if (Array.isArray(arg1) || arg1 instanceof Map || isFunc(arg1)) {
            throw new Error(`non-comparable type ${formatValue(arg1)}: ${typeName(arg1)}`);
          }
          throw new Error(`non-comparable type ${formatValue(arg)}: ${typeName(arg)}`);
      }
    }
    if (truth) return true;
  }
  return false;
}

export function goLt(arg1: GoValue, arg2: GoValue): boolean {
  const k1 = basicKind(arg1);
  if (k1 === 'invalid' || k1 === 'other') throw new Error(errBadComparisonType);
  const k2 = basicKind(arg2);
  if (k2 === 'invalid' || k2 === 'other') throw new Error(errBadComparisonType);
  if (k1 !== k2) {
    if (k1 === 'int' && k2 === 'uint') return num(arg1) < num(arg2);
    if (k1 === 'uint' && k2 === 'int') return num(arg1) < num(arg2);
    throw new Error(errBadComparison);
  }
  switch (k1) {
    case 'bool':
      throw new Error(errBadComparisonType);
    case 'float':
      return (arg1 as number) < (arg2 as number);
    case 'string':
      return Buffer.compare(Buffer.from(arg1 as string), Buffer.from(arg2 as string)) < 0;
    default:
      return num(arg1) < num(arg2);
  }
}

const goLe = (a: GoValue, b: GoValue) => goLt(a, b) || goEq(a, b);

/** Go's length builtin. */
function length(item: GoValue): bigint {
  if (item === null) throw new Error('len of nil pointer');
  if (item === undefined) throw new Error('reflect: call of reflect.Value.Type on zero Value');
  if (typeof item === 'string') return BigInt(Buffer.byteLength(item, 'utf8'));
  if (Array.isArray(item)) return BigInt(item.length);
  if (item instanceof Map) return BigInt(item.size);
  throw new Error(`len of type ${typeName(item)}`);
}

function indexArg(index: GoValue, cap: number): number {
  if (index === undefined || index === null) throw new Error('cannot index slice/array with nil');
  if (!isInt(index)) throw new Error(`cannot index slice/array with type ${typeName(index)}`);
  const x = intValue(index);
  if (x < 0n || x > BigInt(cap)) throw new Error(`index out of range: ${x}`);
  return Number(x);
}

function index(item: GoValue, ...indexes: GoValue[]): GoValue {
  let v = item;
  if (v === undefined || v === null) throw new Error('index of untyped nil');
  for (const ix of indexes) {
    if (v === null || v === undefined) throw new Error('index of nil pointer');
    if (typeof v === 'string' || Array.isArray(v)) {
      const bytes: Buffer | undefined = typeof v === 'string' ? Buffer.from(v, 'utf8') : undefined;
      const len: number = bytes ? bytes.length : (v as GoValue[]).length;
      const x = indexArg(ix, len);
      if (x === len) throw new Error(`index out of range: ${x}`);
      v = bytes ? new GoTypedInt('uint8', BigInt(bytes[x]!)) : (v as GoValue[])[x]!;
      if (v === undefined) v = null;
    } else if (v instanceof Map) {
      if (ix === undefined || ix === null) throw new Error('value is nil; should be of type string');
      if (typeof ix !== 'string') throw new Error(`value has type ${typeName(ix)}; should be string`);
      v = v.has(ix) ? (v.get(ix) ?? null) : null;
    } else {
      throw new Error(`can't index item of type ${typeName(v)}`);
    }
  }
  return v;
}

function sliceBuiltin(item: GoValue, ...indexes: GoValue[]): GoValue {
  if (item === undefined || item === null) throw new Error('slice of untyped nil');
  if (indexes.length > 3) throw new Error(`too many slice indexes: ${indexes.length}`);
  let cap: number;
  if (typeof item === 'string') {
    if (indexes.length === 3) throw new Error('cannot 3-index slice a string');
    cap = Buffer.byteLength(item, 'utf8');
  } else if (Array.isArray(item)) cap = item.length;
  else throw new Error(`can't slice item of type ${typeName(item)}`);
  const idx = [0, cap];
  indexes.forEach((ix, i) => {
    idx[i] = indexArg(ix, cap);
  });
  if (idx[0]! > idx[1]!) throw new Error(`invalid slice index: ${idx[0]} > ${idx[1]}`);
  if (indexes.length === 3 && idx[1]! > idx[2]!)
    throw new Error(`invalid slice index: ${idx[1]} > ${idx[2]}`);
  if (typeof item === 'string') return Buffer.from(item, 'utf8').subarray(idx[0], idx[1]).toString('utf8');
  return item.slice(idx[0], idx[1]);
}

/** Go's evalArgs: Sprint of the arguments, a lone string as is. */
function evalArgs(args: GoValue[]): string {
  if (args.length === 1 && typeof args[0] === 'string') return args[0];
  return sprint(args.map((a) => (a === undefined || a === null ? '<no value>' : a)));
}

function htmlEscape(s: string): string {
  return s.replace(
    /[\0"'&<>]/g,
    (c) => ({ '\0': '\uFFFD', '"': '&#34;', "'": '&#39;', '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!,
  );
}

function jsEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    switch (ch) {
      case '\\':
        out += '\\\\';
        continue;
      case "'":
        out += "\\'";
        continue;
      case '"':
        out += '\\"';
        continue;
      case '<':
        out += '\\u003C';
        continue;
      case '>':
        out += '\\u003E';
        continue;
      case '&':
        out += '\\u0026';
        continue;
      case '=':
        out += '\\u003D';
        continue;
    }
    if (c < 0x20) out += '\\u00' + c.toString(16).toUpperCase().padStart(2, '0');
    else if (c >= 0x80 && !/[\p{L}\p{M}\p{N}\p{P}\p{S}\p{Zs}]/u.test(ch))
      out += '\\u' + c.toString(16).toUpperCase().padStart(4, '0');
    else out += ch;
  }
  return out;
}

/** url.QueryEscape. */
export function queryEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

export function builtinFunctions(): Record<string, GoFunction> {
  return {
    and: goFunc(['reflect'], () => null, { variadic: 'reflect', result: 'reflect.Value' }),
    or: goFunc(['reflect'], () => null, { variadic: 'reflect', result: 'reflect.Value' }),
    not: goFunc(['reflect'], (a: GoValue) => !isTrue(a), { result: 'bool' }),
    len: goFunc(['reflect'], (a: GoValue) => length(a), { result: 'int' }),
    index: goFunc(['reflect'], (item: GoValue, ...ix: GoValue[]) => index(item, ...ix), {
      variadic: 'reflect',
    }),
    slice: goFunc(['reflect'], (item: GoValue, ...ix: GoValue[]) => sliceBuiltin(item, ...ix), {
      variadic: 'reflect',
    }),
    print: goFunc([], (...a: GoValue[]) => sprint(a), { variadic: 'interface', result: 'string' }),
    printf: goFunc(['string'], (f: string, ...a: GoValue[]) => sprintf(f, a), {
      variadic: 'interface',
      result: 'string',
    }),
    println: goFunc([], (...a: GoValue[]) => sprintln(a), { variadic: 'interface', result: 'string' }),
    html: goFunc([], (...a: GoValue[]) => htmlEscape(evalArgs(a)), {
      variadic: 'interface',
      result: 'string',
    }),
    js: goFunc([], (...a: GoValue[]) => jsEscape(evalArgs(a)), { variadic: 'interface', result: 'string' }),
    urlquery: goFunc([], (...a: GoValue[]) => queryEscape(evalArgs(a)), {
      variadic: 'interface',
      result: 'string',
    }),
    call: goFunc(
      ['reflect'],
      (fn: GoValue, ...args: GoValue[]) => {
        if (!isFunc(fn)) throw new Error(`non-function of type ${typeName(fn)}`);
        return fn.call(...args);
      },
      { variadic: 'reflect' },
    ),
    eq: goFunc(['reflect'], (a: GoValue, ...b: GoValue[]) => goEq(a, ...b), {
      variadic: 'reflect',
      result: 'bool',
    }),
    ne: goFunc(['reflect', 'reflect'], (a: GoValue, b: GoValue) => !goEq(a, b), { result: 'bool' }),
    lt: goFunc(['reflect', 'reflect'], (a: GoValue, b: GoValue) => goLt(a, b), { result: 'bool' }),
    le: goFunc(['reflect', 'reflect'], (a: GoValue, b: GoValue) => goLe(a, b), { result: 'bool' }),
    gt: goFunc(['reflect', 'reflect'], (a: GoValue, b: GoValue) => !goLe(a, b), { result: 'bool' }),
    ge: goFunc(['reflect', 'reflect'], (a: GoValue, b: GoValue) => !goLt(a, b), { result: 'bool' }),
  };
}
