/**
 * slim-sprig v3 (github.com/go-task/slim-sprig, functions.go genericMap minus
 * nonhermeticFunctions: HermeticTxtFuncMap, which the Flux Operator registers), with the
 * Go behaviour templates observe: argument types, int64 math, strval's %v, encoding/json
 * output, RE2 regular expressions, the panics text/template turns into errors.
 */
import { createHash } from 'node:crypto';

import { RE2JS } from 're2js';

import { goEq } from './builtins.js';
import { formatFloat, formatValue, quoteGo, sprintf } from './fmt.js';
import { goYamlMarshal } from './goyaml.js';
import { slugify } from './slug.js';
import {
  GoTypedInt,
  type GoFunction,
  type GoValue,
  SLICE_TYPE,
  goFunc,
  int64,
  intValue,
  isFunc,
  kindName,
  sortedKeys,
  stringMap,
  stringSlice,
  typeName,
} from './value.js';

type Dict = Map<string, GoValue>;

/** sprig's strval: strings as is, everything else as fmt's %v. */
export function strval(v: GoValue): string {
  if (typeof v === 'string') return v;
  return formatValue(v === undefined ? null : v);
}

function toInt64(v: GoValue): bigint {
  if (typeof v === 'string') {
    if (!/^[+-]?\d+$/.test(v)) return 0n;
    const n = BigInt(v);
    return n >= -(2n ** 63n) && n < 2n ** 63n ? n : 0n;
  }
  if (typeof v === 'bigint') return v;
  if (v instanceof GoTypedInt) return v.type === 'uint64' && v.value >= 2n ** 63n ? 2n ** 63n - 1n : v.value;
  if (typeof v === 'number') return floatToInt64(v);
  if (typeof v === 'boolean') return v ? 1n : 0n;
  return 0n;
}

/** Go's int64(f): truncation; out of range and NaN give the minimum int64 on amd64. */
function floatToInt64(f: number): bigint {
  if (!Number.isFinite(f) || f >= 2 ** 63 || f < -(2 ** 63)) return -(2n ** 63n);
  return BigInt(Math.trunc(f));
}

function toFloat64(v: GoValue): number {
  if (typeof v === 'string') {
    const t = v.trim() === v ? v : '';
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(inf|infinity|nan)$/i.test(t)) return 0;
    return /nan/i.test(t) ? NaN : /inf/i.test(t) ? (t.startsWith('-') ? -Infinity : Infinity) : Number(t);
  }
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof GoTypedInt) return Number(v.value);
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return 0;
}

/** sprig's empty: the zero value of its type (nil, "", 0, false, empty list or map). */
export function empty(v: GoValue): boolean {
  if (v === undefined || v === null) return true;
  if (typeof v === 'string') return v.length === 0;
  if (typeof v === 'boolean') return !v;
  if (typeof v === 'bigint') return v === 0n;
  if (v instanceof GoTypedInt) return v.value === 0n;
  if (typeof v === 'number') return v === 0;
  if (Array.isArray(v)) return v.length === 0;
  if (v instanceof Map) return v.size === 0;
  return false;
}

function isList(v: GoValue): v is GoValue[] {
  return Array.isArray(v);
}

/** reflect.TypeOf(v).Kind() as sprig names it in its errors; nil panics as Go does. */
function kindOrPanic(v: GoValue): string {
  if (v === undefined || v === null)
    throw new Error('runtime error: invalid memory address or nil pointer dereference');
  return kindName(v);
}

function asList(v: GoValue, what: string): GoValue[] {
  const kind = kindOrPanic(v);
  if (!isList(v)) throw new Error(`Cannot ${what} on type ${kind}`);
  return v;
}

function strslice(v: GoValue): string[] {
  if (Array.isArray(v)) return v.filter((e) => e !== null && e !== undefined).map(strval);
  if (v === null || v === undefined) return [];
  return [strval(v)];
}

function deepEqual(a: GoValue, b: GoValue): boolean {
  if (a === b) return true;
  if ((a === null || a === undefined) && (b === null || b === undefined)) return true;
  if (typeName(a) !== typeName(b)) return false;
  if (isList(a) && isList(b)) return a.length === b.length && a.every((e, i) => deepEqual(e, b[i]));
  if (a instanceof Map && b instanceof Map) {
    return a.size === b.size && [...a].every(([k, v]) => b.has(k) && deepEqual(v, b.get(k)));
  }
  if (a instanceof GoTypedInt && b instanceof GoTypedInt) return a.value === b.value;
  if (typeof a === 'number' && typeof b === 'number') return a === b;
  return false;
}

function inList(list: GoValue[], v: GoValue): boolean {
  return list.some((e) => deepEqual(e, v));
}

function intSlice(values: bigint[]): GoValue[] {
  const out = values as GoValue[] & { [SLICE_TYPE]?: string };
  out[SLICE_TYPE] = 'int';
  return out;
}

const MAX_STRING = 64 * 1024 * 1024;
const MAX_LIST = 10_000_000;

function untilStep(start: bigint, stop: bigint, step: bigint): bigint[] {
  const v: bigint[] = [];
  if (step !== 0n && (stop - start) / step > BigInt(MAX_LIST))
    throw new Error(`list exceeds ${MAX_LIST} elements`);
  if (stop < start) {
    if (step >= 0n) return v;
    for (let i = start; i > stop; i += step) v.push(i);
    return v;
  }
  if (step <= 0n) return v;
  for (let i = start; i < stop; i += step) v.push(i);
  return v;
}

function seq(...params: GoValue[]): string {
  const p = params.map((x) => x as bigint);
  let list: bigint[];
  switch (p.length) {
    case 1: {
      const inc = p[0]! < 1n ? -1n : 1n;
      list = untilStep(1n, p[0]! + inc, inc);
      break;
    }
    case 2: {
      const step = p[1]! < p[0]! ? -1n : 1n;
      list = untilStep(p[0]!, p[1]! + step, step);
      break;
    }
    case 3: {
      let inc = 1n;
      if (p[2]! < p[0]!) {
        inc = -1n;
        if (p[1]! > 0n) return '';
      }
      list = untilStep(p[0]!, p[2]! + inc, p[1]!);
      break;
    }
    default:
      return '';
  }
  return list.join(' ');
}

function goTitle(s: string): string {
  let prev = ' ';
  let out = '';
  for (const ch of s) {
    const sep = isTitleSeparator(prev);
    out += sep ? ch.toUpperCase() : ch;
    prev = ch;
  }
  return out;
}

function isTitleSeparator(ch: string): boolean {
  const c = ch.codePointAt(0)!;
  if (c <= 0x7f) {
    if (/[0-9a-zA-Z_]/.test(ch)) return false;
    return true;
  }
  if (/[\p{L}\p{Nd}]/u.test(ch)) return false;
  return /\s/u.test(ch);
}

const bytesOf = (s: string) => Buffer.from(s, 'utf8');
const fromBytes = (b: Buffer) => b.toString('utf8');

function sliceBounds(message: string): never {
  throw new Error(`runtime error: slice bounds out of range ${message}`);
}

function substring(start: bigint, end: bigint, s: string): string {
  const b = bytesOf(s);
  const len = BigInt(b.length);
  if (start < 0n) {
    if (end < 0n || end > len) sliceBounds(`[:${end}] with length ${len}`);
    return fromBytes(b.subarray(0, Number(end)));
  }
  if (end < 0n || end > len) {
    if (start > len) sliceBounds(`[${start}:${len}]`);
    return fromBytes(b.subarray(Number(start)));
  }
  if (start > end) sliceBounds(`[${start}:${end}]`);
  return fromBytes(b.subarray(Number(start), Number(end)));
}

function trunc(c: bigint, s: string): string {
  const b = bytesOf(s);
  const len = BigInt(b.length);
  if (c < 0n && len + c > 0n) return fromBytes(b.subarray(Number(len + c)));
  if (c >= 0n && len > c) return fromBytes(b.subarray(0, Number(c)));
  return s;
}

function goTrim(s: string, cutset: string): string {
  const set = new Set([...cutset]);
  const chars = [...s];
  let i = 0;
  let j = chars.length;
  while (i < j && set.has(chars[i]!)) i++;
  while (j > i && set.has(chars[j - 1]!)) j--;
  return chars.slice(i, j).join('');
}

function goTrimSpace(s: string): string {
  return s.replace(/^[\s\u0085\u00a0]+|[\s\u0085\u00a0]+$/gu, '');
}

function goSplit(s: string, sep: string, n = -1): string[] {
  if (n === 0) return [];
  if (sep === '') {
    const chars = [...s];
    if (n < 0 || n > chars.length) return chars;
    return [...chars.slice(0, n - 1), chars.slice(n - 1).join('')];
  }
  const parts = s.split(sep);
  if (n < 0 || parts.length <= n) return parts;
  return [...parts.slice(0, n - 1), parts.slice(n - 1).join(sep)];
}

// ------------------------------------------------------------ encoding/json

function jsonString(s: string, escapeHTML: boolean): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (c < 0x20) {
      if (ch === '\n') out += '\\n';
      else if (ch === '\r') out += '\\r';
      else if (ch === '\t') out += '\\t';
      else if (ch === '\b') out += '\\b';
      else if (ch === '\f') out += '\\f';
      else out += '\\u00' + c.toString(16).padStart(2, '0');
    } else if (escapeHTML && (ch === '<' || ch === '>' || ch === '&'))
      out += '\\u00' + c.toString(16).padStart(2, '0');
    else if (c === 0x2028 || c === 0x2029) out += '\\u' + c.toString(16);
    else if (c >= 0xd800 && c <= 0xdfff) out += '\\ufffd';
    else out += ch;
  }
  return out + '"';
}

function jsonFloat(f: number): string {
  if (!Number.isFinite(f)) throw new Error(`json: unsupported value: ${formatFloat(f, 'g', -1)}`);
  const abs = Math.abs(f);
  if (abs !== 0 && (abs < 1e-6 || abs >= 1e21)) {
    let s = formatFloat(f, 'e', -1);
    // clean up e-09 to e-9
    const m = /^(.*e[+-])0(\d)$/.exec(s);
    if (m) s = m[1]! + m[2]!;
    return s;
  }
  return formatFloat(f, 'f', -1);
}

/** encoding/json Marshal (MarshalIndent with `indent`), maps with sorted keys. */
export function goJsonMarshal(
  v: GoValue,
  options: { escapeHTML: boolean; indent?: string } = { escapeHTML: true },
): string {
  const { escapeHTML, indent } = options;
  const enc = (x: GoValue, depth: number): string => {
    if (x === undefined || x === null) return 'null';
    if (typeof x === 'string') return jsonString(x, escapeHTML);
    if (typeof x === 'boolean') return String(x);
    if (typeof x === 'bigint') return x.toString();
    if (x instanceof GoTypedInt) return x.value.toString();
    if (typeof x === 'number') return jsonFloat(x);
    const nl = indent === undefined ? '' : '\n' + indent.repeat(depth + 1);
    const end = indent === undefined ? '' : '\n' + indent.repeat(depth);
    const colon = indent === undefined ? ':' : ': ';
    if (isList(x)) {
      if (x.length === 0) return '[]';
      return '[' + x.map((e) => nl + enc(e, depth + 1)).join(',') + end + ']';
    }
    if (x instanceof Map) {
      if (x.size === 0) return '{}';
      return (
        '{' +
        sortedKeys(x)
          .map((k) => nl + jsonString(k, escapeHTML) + colon + enc(x.get(k), depth + 1))
          .join(',') +
        end +
        '}'
      );
    }
    throw new Error(`json: unsupported type: ${typeName(x)}`);
  };
  return enc(v, 0);
}

/** encoding/json Unmarshal into interface{}: numbers float64, objects map[string]interface{}. */
function goJsonUnmarshal(s: string): GoValue {
  let parsed: unknown;
  try {
    parsed = JSON.parse(s);
  } catch (err) {
    if (s.trim() === '') throw new Error('unexpected end of JSON input');
    throw new Error((err as Error).message);
  }
  const conv = (x: unknown): GoValue => {
    if (x === null) return null;
    if (Array.isArray(x)) return x.map(conv);
    if (typeof x === 'object') {
      const m = new Map<string, GoValue>();
      for (const k of Object.keys(x as object)) m.set(k, conv((x as Record<string, unknown>)[k]));
      return m;
    }
    return x as GoValue;
  };
  return conv(parsed);
}

// ------------------------------------------------------------ regexp

function compile(pattern: string): RE2JS {
  try {
    return RE2JS.compile(pattern);
  } catch (err) {
    throw new Error((err as Error).message.split('\n')[0]!);
  }
}

function mustCompile(pattern: string): RE2JS {
  try {
    return RE2JS.compile(pattern);
  } catch (err) {
    throw new Error(`regexp: Compile(${quoteGo(pattern)}): ${(err as Error).message.split('\n')[0]}`);
  }
}

type Match = { start: number; end: number; groups: Array<[number, number]> };

/** Go's allMatches: successive non-overlapping matches; an empty match right after a match is skipped. */
function findAll(re: RE2JS, s: string, n: number): Match[] {
  const out: Match[] = [];
  if (n < 0) n = s.length + 1;
  const m = re.matcher(s);
  const groupCount = m.groupCount();
  let pos = 0;
  let prevMatchEnd = -1;
  while (out.length < n && pos <= s.length) {
    if (!m.find(pos)) break;
    const start = m.start();
    const end = m.end();
    let accept = true;
    if (end === start && start === prevMatchEnd) accept = false;
    if (end === pos || end === start) {
      // An empty match: move on by one character.
      const cp = s.codePointAt(end);
      pos = end + (cp !== undefined && cp > 0xffff ? 2 : 1);
    } else pos = end;
    prevMatchEnd = end;
    if (accept) {
      const groups: Array<[number, number]> = [];
      for (let g = 0; g <= groupCount; g++) groups.push([m.start(g), m.end(g)]);
      out.push({ start, end, groups });
    }
  }
  return out;
}

function expand(re: RE2JS, template: string, src: string, match: Match): string {
  const names = re.namedGroups() as Record<string, number>;
  let out = '';
  let t = template;
  for (;;) {
    const i = t.indexOf('$');
    if (i < 0) break;
    out += t.slice(0, i);
    t = t.slice(i + 1);
    if (t.startsWith('$')) {
      out += '$';
      t = t.slice(1);
      continue;
    }
    let str = t;
    let brace = false;
    if (str.startsWith('{')) {
      brace = true;
      str = str.slice(1);
    }
    const m = /^[\p{L}\p{Nd}_]+/u.exec(str);
    if (!m || (brace && str[m[0].length] !== '}')) {
      out += '$';
      continue;
    }
    const name = m[0];
    t = str.slice(name.length + (brace ? 1 : 0));
    let num = /^\d+$/.test(name) && name.length < 9 ? Number(name) : -1;
    if (name.length > 1 && name[0] === '0') num = -1;
    const group = num >= 0 ? num : names[name];
    if (group !== undefined && group < match.groups.length) {
      const [a, b] = match.groups[group]!;
      if (a >= 0) out += src.slice(a, b);
    }
  }
  return out + t;
}

function replaceAll(re: RE2JS, src: string, repl: (m: Match) => string): string {
  let out = '';
  let last = 0;
  for (const m of findAll(re, src, -1)) {
    out += src.slice(last, m.start) + repl(m);
    last = m.end;
  }
  return out + src.slice(last);
}

function regexSplit(re: RE2JS, s: string, n: number): string[] {
  if (n === 0) return [];
  if (re.pattern().length > 0 && s.length === 0) return [''];
  const matches = findAll(re, s, n);
  const out: string[] = [];
  let beg = 0;
  let end = 0;
  for (const m of matches) {
    if (n > 0 && out.length === n - 1) break;
    end = m.start;
    if (m.end !== 0) out.push(s.slice(beg, end));
    beg = m.end;
  }
  if (end !== s.length) out.push(s.slice(beg));
  return out;
}

function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

// ------------------------------------------------------------ paths

/** Go's path.Clean. */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length > 0 && parts[parts.length - 1] !== '..') parts.pop();
      else if (!rooted) parts.push('..');
      continue;
    }
    parts.push(seg);
  }
  const out = (rooted ? '/' : '') + parts.join('/');
  return out === '' ? '.' : out;
}

function basePath(p: string): string {
  if (p === '') return '.';
  p = p.replace(/\/+$/, '');
  if (p === '') return '/';
  const i = p.lastIndexOf('/');
  return i >= 0 ? p.slice(i + 1) : p;
}

function dirPath(p: string): string {
  const i = p.lastIndexOf('/');
  return cleanPath(p.slice(0, i + 1));
}

function extPath(p: string): string {
  for (let i = p.length - 1; i >= 0 && p[i] !== '/'; i--) if (p[i] === '.') return p.slice(i);
  return '';
}

// ------------------------------------------------------------ durations

/** time.Duration.String. */
export function durationString(ns: bigint): string {
  if (ns === 0n) return '0s';
  const neg = ns < 0n;
  let u = neg ? -ns : ns;
  if (u < 1000000000n) {
    let out: string;
    if (u < 1000n) out = `${u}ns`;
    else if (u < 1000000n) out = `${fraction(u, 3)}µs`;
    else out = `${fraction(u, 6)}ms`;
    return (neg ? '-' : '') + out;
  }
  let out = '';
  const secs = u / 1000000000n;
  const frac = u % 1000000000n;
  u = secs;
  const s = u % 60n;
  u /= 60n;
  let secStr = s.toString();
  if (frac > 0n) secStr += '.' + frac.toString().padStart(9, '0').replace(/0+$/, '');
  out = secStr + 's';
  if (u > 0n) {
    const m = u % 60n;
    u /= 60n;
    out = `${m}m` + out;
    if (u > 0n) out = `${u}h` + out;
  }
  return (neg ? '-' : '') + out;
}

/** time.ParseDuration: undefined when Go would return an error. */
export function parseDuration(s: string): bigint | undefined {
  const units: Record<string, number> = {
    ns: 1,
    us: 1e3,
    µs: 1e3,
    μs: 1e3,
    ms: 1e6,
    s: 1e9,
    m: 60e9,
    h: 3600e9,
  };
  let rest = s;
  let neg = false;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    neg = rest.startsWith('-');
    rest = rest.slice(1);
  }
  if (rest === '0') return 0n;
  if (rest === '') return undefined;
  let total = 0;
  while (rest !== '') {
    const m = /^(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/.exec(rest);
    if (!m || (m[1] === '' && (m[2] ?? '') === '')) return undefined;
    total += Number(`${m[1] || '0'}.${m[2] || '0'}`) * units[m[3]!]!;
    rest = rest.slice(m[0].length);
  }
  const ns = BigInt(Math.round(total));
  return neg ? -ns : ns;
}

/** sprig's durationRound: the largest whole unit (y, mo, d, h, m, s) of the duration. */
function durationRound(d: bigint): string {
  const u = d < 0n ? -d : d;
  const second = 1000000000n;
  const steps: Array<[bigint, string]> = [
    [second * 3600n * 24n * 365n, 'y'],
    [second * 3600n * 24n * 30n, 'mo'],
    [second * 3600n * 24n, 'd'],
    [second * 3600n, 'h'],
    [second * 60n, 'm'],
    [second, 's'],
  ];
  for (const [size, unit] of steps) if (u > size) return `${u / size}${unit}`;
  return '0s';
}

function fraction(v: bigint, digits: number): string {
  const div = 10n ** BigInt(digits);
  const whole = v / div;
  const frac = (v % div).toString().padStart(digits, '0').replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : `${whole}`;
}

// ------------------------------------------------------------ the function map

const S = 'string' as const;
const I = 'interface' as const;

function must<T>(fn: () => T): T {
  return fn();
}

function listFn(name: string, body: (l: GoValue[]) => GoValue, mustName = name) {
  const run = (v: GoValue) => body(asList(v, mustName));
  return run;
}

export function slimSprigFunctions(): Record<string, GoFunction> {
  const first = listFn('find first', (l) => (l.length === 0 ? null : l[0]!));
  const last = listFn('find last', (l) => (l.length === 0 ? null : l[l.length - 1]!));
  const rest = listFn('find rest', (l) => l.slice(1));
  const initial = listFn('find initial', (l) => l.slice(0, -1));
  const reverse = listFn('find reverse', (l) => [...l].reverse());
  const uniq = listFn('find uniq', (l) => {
    const out: GoValue[] = [];
    for (const e of l) if (!inList(out, e)) out.push(e);
    return out;
  });
  const push = (l: GoValue, v: GoValue) => [...asList(l, 'push'), v];
  const prepend = (l: GoValue, v: GoValue) => [v, ...asList(l, 'prepend')];
  const without = (l: GoValue, ...omit: GoValue[]) =>
    asList(l, 'find without').filter((e) => !inList(omit, e));
  const has = (needle: GoValue, haystack: GoValue) => {
    if (haystack === null || haystack === undefined) return false;
    return inList(asList(haystack, 'find has'), needle);
  };
  const slice = (l: GoValue, ...indices: GoValue[]) => {
    const kind = kindOrPanic(l);
    if (!isList(l)) throw new Error(`list should be type of slice or array but ${kind}`);
    if (l.length === 0) return null;
    const start = indices.length > 0 ? Number(toInt64(indices[0]!)) : 0;
    const end = indices.length >= 2 ? Number(toInt64(indices[1]!)) : l.length;
    if (start < 0 || end < start || end > l.length) throw new Error('reflect: slice index out of range');
    const out = l.slice(start, end);
    const tag = (l as { [SLICE_TYPE]?: string })[SLICE_TYPE];
    if (tag) (out as { [SLICE_TYPE]?: string })[SLICE_TYPE] = tag;
    return out;
  };
  const chunk = (size: bigint, l: GoValue) => {
    const list = asList(l, 'chunk');
    const out: GoValue[] = [];
    const n = Number(size);
    if (n <= 0) throw new Error('runtime error: integer divide by zero');
    for (let i = 0; i < list.length; i += n) out.push(list.slice(i, i + n));
    return out;
  };

  const regexFindAll = (r: string, s: string, n: bigint, compileFn: (p: string) => RE2JS) => {
    const re = compileFn(r);
    const ms = findAll(re, s, Number(n));
    return ms.length === 0 ? stringSlice([]) : stringSlice(ms.map((m) => s.slice(m.start, m.end)));
  };

  const f: Record<string, GoFunction> = {
    hello: goFunc([], () => 'Hello!', { result: 'string' }),

    // Dates that do not depend on the clock or the time zone.
    duration: goFunc(
      [I],
      (sec: GoValue) => {
        let n = 0n;
        if (typeof sec === 'string') n = /^[+-]?\d+$/.test(sec) ? BigInt(sec) : 0n;
        else if (sec instanceof GoTypedInt && sec.type === 'int64') n = sec.value;
        return durationString(BigInt.asIntN(64, n * 1000000000n));
      },
      { result: 'string' },
    ),

    durationRound: goFunc(
      [I],
      (v: GoValue) =>
        durationRound(
          typeof v === 'string'
            ? (parseDuration(v) ?? 0n)
            : v instanceof GoTypedInt && v.type === 'int64'
              ? v.value
              : 0n,
        ),
      { result: 'string' },
    ),
    // Functions of time.Time values: registered so that templates parse as the operator's do,
    // but times are not modelled here, so calling one fails with a plain message.
    ...Object.fromEntries(
      ['ago', 'toDate', 'mustToDate', 'unixEpoch', 'mustDateModify', 'must_date_modify'].map((name) => [
        name,
        goFunc(
          [],
          () => {
            throw new Error(`${name}: date and time values are not supported by fluxgate's template engine`);
          },
          { variadic: I },
        ),
      ]),
    ),

    // Strings
    trunc: goFunc(['int', S], trunc, { result: 'string' }),
    trim: goFunc([S], goTrimSpace, { result: 'string' }),
    upper: goFunc([S], (s: string) => s.toUpperCase(), { result: 'string' }),
    lower: goFunc([S], (s: string) => s.toLowerCase(), { result: 'string' }),
    title: goFunc([S], goTitle, { result: 'string' }),
    substr: goFunc(['int', 'int', S], substring, { result: 'string' }),
    repeat: goFunc(
      ['int', S],
      (count: bigint, s: string) => {
        if (count < 0n) throw new Error('strings: negative Repeat count');
        if (count * BigInt(s.length) > BigInt(MAX_STRING)) throw new Error('output exceeds 64 MiB');
        return s.repeat(Number(count));
      },
      { result: 'string' },
    ),
    trimall: goFunc([S, S], (a: string, b: string) => goTrim(b, a), { result: 'string' }),
    trimAll: goFunc([S, S], (a: string, b: string) => goTrim(b, a), { result: 'string' }),
    trimSuffix: goFunc(
      [S, S],
      (a: string, b: string) => (a !== '' && b.endsWith(a) ? b.slice(0, b.length - a.length) : b),
      { result: 'string' },
    ),
    trimPrefix: goFunc([S, S], (a: string, b: string) => (b.startsWith(a) ? b.slice(a.length) : b), {
      result: 'string',
    }),
    contains: goFunc([S, S], (sub: string, s: string) => s.includes(sub), { result: 'bool' }),
    hasPrefix: goFunc([S, S], (sub: string, s: string) => s.startsWith(sub), { result: 'bool' }),
    hasSuffix: goFunc([S, S], (sub: string, s: string) => s.endsWith(sub), { result: 'bool' }),
    quote: goFunc(
      [],
      (...args: GoValue[]) =>
        args
          .filter((a) => a !== null && a !== undefined)
          .map((a) => quoteGo(strval(a)))
          .join(' '),
      {
        variadic: I,
        result: 'string',
      },
    ),
    squote: goFunc(
      [],
      (...args: GoValue[]) =>
        args
          .filter((a) => a !== null && a !== undefined)
          .map((a) => `'${formatValue(a)}'`)
          .join(' '),
      {
        variadic: I,
        result: 'string',
      },
    ),
    cat: goFunc(
      [],
      (...args: GoValue[]) => {
        const v = args.filter((a) => a !== null && a !== undefined);
        return sprintf(Array(v.length).fill('%v').join(' '), v);
      },
      { variadic: I, result: 'string' },
    ),
    indent: goFunc(['int', S], (n: bigint, s: string) => indent(n, s), { result: 'string' }),
    nindent: goFunc(['int', S], (n: bigint, s: string) => '\n' + indent(n, s), { result: 'string' }),
    replace: goFunc([S, S, S], (o: string, n: string, s: string) => goReplace(s, o, n), { result: 'string' }),
    plural: goFunc([S, S, 'int'], (one: string, many: string, count: bigint) => (count === 1n ? one : many), {
      result: 'string',
    }),
    sha1sum: goFunc([S], (s: string) => createHash('sha1').update(s, 'utf8').digest('hex'), {
      result: 'string',
    }),
    sha256sum: goFunc([S], (s: string) => createHash('sha256').update(s, 'utf8').digest('hex'), {
      result: 'string',
    }),
    adler32sum: goFunc([S], (s: string) => adler32(bytesOf(s)).toString(), { result: 'string' }),
    toString: goFunc([I], strval, { result: 'string' }),

    atoi: goFunc(
      [S],
      (s: string) => {
        if (!/^[+-]?\d+$/.test(s)) return 0n;
        const n = BigInt(s);
        return n >= -(2n ** 63n) && n < 2n ** 63n ? n : 0n;
      },
      { result: 'int' },
    ),
    int64: goFunc([I], (v: GoValue) => int64(toInt64(v)), { result: 'int64' }),
    int: goFunc([I], (v: GoValue) => toInt64(v), { result: 'int' }),
    float64: goFunc([I], toFloat64, { result: 'float64' }),
    seq: goFunc([], seq, { variadic: 'int', result: 'string' }),
    toDecimal: goFunc(
      [I],
      (v: GoValue) => {
        const s = formatValue(v === undefined ? null : v);
        if (!/^[+-]?[0-7]+$/.test(s)) return int64(0n);
        const n = BigInt((s.startsWith('-') ? '-0o' : '0o') + s.replace(/^[+-]/, ''));
        return int64(n >= -(2n ** 63n) && n < 2n ** 63n ? n : 0n);
      },
      { result: 'int64' },
    ),

    split: goFunc(
      [S, S],
      (sep: string, s: string) => stringMap(goSplit(s, sep).map((p, i) => [`_${i}`, p])),
      { result: 'map[string]string' },
    ),
    splitList: goFunc([S, S], (sep: string, s: string) => stringSlice(goSplit(s, sep)), {
      result: '[]string',
    }),
    splitn: goFunc(
      [S, 'int', S],
      (sep: string, n: bigint, s: string) =>
        stringMap(goSplit(s, sep, Number(n)).map((p, i) => [`_${i}`, p])),
      {
        result: 'map[string]string',
      },
    ),
    toStrings: goFunc([I], (v: GoValue) => stringSlice(strslice(v)), { result: '[]string' }),

    until: goFunc(['int'], (count: bigint) => intSlice(untilStep(0n, count, count < 0n ? -1n : 1n)), {
      result: '[]int',
    }),
    untilStep: goFunc(
      ['int', 'int', 'int'],
      (a: bigint, b: bigint, c: bigint) => intSlice(untilStep(a, b, c)),
      { result: '[]int' },
    ),

    add1: goFunc([I], (v: GoValue) => int64(toInt64(v) + 1n), { result: 'int64' }),
    add: goFunc(
      [],
      (...v: GoValue[]) => int64(v.reduce<bigint>((a, b) => BigInt.asIntN(64, a + toInt64(b)), 0n)),
      { variadic: I, result: 'int64' },
    ),
    sub: goFunc([I, I], (a: GoValue, b: GoValue) => int64(toInt64(a) - toInt64(b)), { result: 'int64' }),
    div: goFunc(
      [I, I],
      (a: GoValue, b: GoValue) => {
        const d = toInt64(b);
        if (d === 0n) throw new Error('runtime error: integer divide by zero');
        return int64(toInt64(a) / d);
      },
      { result: 'int64' },
    ),
    mod: goFunc(
      [I, I],
      (a: GoValue, b: GoValue) => {
        const d = toInt64(b);
        if (d === 0n) throw new Error('runtime error: integer divide by zero');
        return int64(toInt64(a) % d);
      },
      { result: 'int64' },
    ),
    mul: goFunc(
      [I],
      (a: GoValue, ...v: GoValue[]) =>
        int64(v.reduce<bigint>((x, y) => BigInt.asIntN(64, x * toInt64(y)), toInt64(a))),
      {
        variadic: I,
        result: 'int64',
      },
    ),
    randInt: goFunc(
      ['int', 'int'],
      (min: bigint, max: bigint) => {
        if (max - min <= 0n) throw new Error('invalid argument to Intn');
        return min + BigInt(Math.floor(Math.random() * Number(max - min)));
      },
      { result: 'int' },
    ),
    biggest: goFunc(
      [I],
      (a: GoValue, ...v: GoValue[]) =>
        int64(v.reduce<bigint>((x, y) => (toInt64(y) > x ? toInt64(y) : x), toInt64(a))),
      {
        variadic: I,
        result: 'int64',
      },
    ),
    max: goFunc(
      [I],
      (a: GoValue, ...v: GoValue[]) =>
        int64(v.reduce<bigint>((x, y) => (toInt64(y) > x ? toInt64(y) : x), toInt64(a))),
      {
        variadic: I,
        result: 'int64',
      },
    ),
    min: goFunc(
      [I],
      (a: GoValue, ...v: GoValue[]) =>
        int64(v.reduce<bigint>((x, y) => (toInt64(y) < x ? toInt64(y) : x), toInt64(a))),
      {
        variadic: I,
        result: 'int64',
      },
    ),
    maxf: goFunc(
      [I],
      (a: GoValue, ...v: GoValue[]) => v.reduce<number>((x, y) => goMax(x, toFloat64(y)), toFloat64(a)),
      { variadic: I, result: 'float64' },
    ),
    minf: goFunc(
      [I],
      (a: GoValue, ...v: GoValue[]) => v.reduce<number>((x, y) => goMin(x, toFloat64(y)), toFloat64(a)),
      { variadic: I, result: 'float64' },
    ),
    ceil: goFunc([I], (a: GoValue) => Math.ceil(toFloat64(a)), { result: 'float64' }),
    floor: goFunc([I], (a: GoValue) => Math.floor(toFloat64(a)), { result: 'float64' }),
    round: goFunc(
      [I, 'int'],
      (a: GoValue, p: bigint, ...opt: GoValue[]) => {
        const roundOn = opt.length > 0 ? (opt[0] as number) : 0.5;
        const val = toFloat64(a);
        const pow = Math.pow(10, Number(p));
        const digit = pow * val;
        const frac = digit - Math.trunc(digit);
        const r = frac >= roundOn ? Math.ceil(digit) : Math.floor(digit);
        return r / pow;
      },
      { variadic: 'float64', result: 'float64' },
    ),

    join: goFunc([S, I], (sep: string, v: GoValue) => strslice(v).join(sep), { result: 'string' }),
    sortAlpha: goFunc(
      [I],
      (v: GoValue) => {
        if (isList(v)) return stringSlice(strslice(v).sort((a, b) => Buffer.compare(bytesOf(a), bytesOf(b))));
        return stringSlice([strval(v)]);
      },
      { result: '[]string' },
    ),

    // Defaults
    default: goFunc(
      [I],
      (d: GoValue, ...given: GoValue[]) => (given.length === 0 || empty(given[0]!) ? d : given[0]!),
      { variadic: I },
    ),
    empty: goFunc([I], empty, { result: 'bool' }),
    coalesce: goFunc([], (...v: GoValue[]) => v.find((x) => !empty(x)) ?? null, { variadic: I }),
    all: goFunc([], (...v: GoValue[]) => v.every((x) => !empty(x)), { variadic: I, result: 'bool' }),
    any: goFunc([], (...v: GoValue[]) => v.some((x) => !empty(x)), { variadic: I, result: 'bool' }),
    compact: goFunc([I], (v: GoValue) => compact(v), { result: '[]interface {}' }),
    mustCompact: goFunc([I], (v: GoValue) => compact(v), { result: '[]interface {}' }),
    fromJson: goFunc([S], (s: string) => {
      try {
        return goJsonUnmarshal(s);
      } catch {
        return null;
      }
    }),
    mustFromJson: goFunc([S], (s: string) => goJsonUnmarshal(s)),
    toJson: goFunc([I], (v: GoValue) => tryOr(() => goJsonMarshal(v), ''), { result: 'string' }),
    mustToJson: goFunc([I], (v: GoValue) => goJsonMarshal(v), { result: 'string' }),
    toPrettyJson: goFunc(
      [I],
      (v: GoValue) => tryOr(() => goJsonMarshal(v, { escapeHTML: true, indent: '  ' }), ''),
      { result: 'string' },
    ),
    mustToPrettyJson: goFunc([I], (v: GoValue) => goJsonMarshal(v, { escapeHTML: true, indent: '  ' }), {
      result: 'string',
    }),
    toRawJson: goFunc([I], (v: GoValue) => goJsonMarshal(v, { escapeHTML: false }), { result: 'string' }),
    mustToRawJson: goFunc([I], (v: GoValue) => goJsonMarshal(v, { escapeHTML: false }), { result: 'string' }),
    ternary: goFunc([I, I, 'bool'], (t: GoValue, fv: GoValue, v: boolean) => (v ? t : fv)),

    // Reflection
    typeOf: goFunc([I], (v: GoValue) => typeName(v), { result: 'string' }),
    typeIs: goFunc([S, I], (t: string, v: GoValue) => t === typeName(v), { result: 'bool' }),
    typeIsLike: goFunc([S, I], (t: string, v: GoValue) => t === typeName(v) || '*' + t === typeName(v), {
      result: 'bool',
    }),
    kindOf: goFunc([I], (v: GoValue) => kindName(v), { result: 'string' }),
    kindIs: goFunc([S, I], (t: string, v: GoValue) => t === kindName(v), { result: 'bool' }),
    deepEqual: goFunc([I, I], deepEqual, { result: 'bool' }),

    // Paths
    base: goFunc([S], basePath, { result: 'string' }),
    dir: goFunc([S], dirPath, { result: 'string' }),
    clean: goFunc([S], cleanPath, { result: 'string' }),
    ext: goFunc([S], extPath, { result: 'string' }),
    isAbs: goFunc([S], (p: string) => p.startsWith('/'), { result: 'bool' }),
    osBase: goFunc([S], basePath, { result: 'string' }),
    osClean: goFunc([S], cleanPath, { result: 'string' }),
    osDir: goFunc([S], dirPath, { result: 'string' }),
    osExt: goFunc([S], extPath, { result: 'string' }),
    osIsAbs: goFunc([S], (p: string) => p.startsWith('/'), { result: 'bool' }),

    // Encoding
    b64enc: goFunc([S], (s: string) => bytesOf(s).toString('base64'), { result: 'string' }),
    b64dec: goFunc([S], (s: string) => base64Decode(s), { result: 'string' }),
    b32enc: goFunc([S], (s: string) => base32Encode(bytesOf(s)), { result: 'string' }),
    b32dec: goFunc([S], (s: string) => base32Decode(s), { result: 'string' }),

    // Data structures
    tuple: goFunc([], (...v: GoValue[]) => v, { variadic: I, result: '[]interface {}' }),
    list: goFunc([], (...v: GoValue[]) => v, { variadic: I, result: '[]interface {}' }),
    dict: goFunc(
      [],
      (...v: GoValue[]) => {
        const d: Dict = new Map();
        for (let i = 0; i < v.length; i += 2) d.set(strval(v[i]!), i + 1 < v.length ? v[i + 1]! : '');
        return d;
      },
      { variadic: I, result: 'map[string]interface {}' },
    ),
    get: goFunc(['map', S], (d: Dict | null, k: string) => (d && d.has(k) ? (d.get(k) ?? null) : '')),
    set: goFunc(
      ['map', S, I],
      (d: Dict | null, k: string, v: GoValue) => {
        if (!d) throw new Error('assignment to entry in nil map');
        d.set(k, v);
        return d;
      },
      { result: 'map[string]interface {}' },
    ),
    unset: goFunc(
      ['map', S],
      (d: Dict | null, k: string) => {
        d?.delete(k);
        return d;
      },
      { result: 'map[string]interface {}' },
    ),
    hasKey: goFunc(['map', S], (d: Dict | null, k: string) => !!d && d.has(k), { result: 'bool' }),
    pluck: goFunc(
      [S],
      (k: string, ...ds: Array<Dict | null>) => ds.filter((d) => d && d.has(k)).map((d) => d!.get(k) ?? null),
      {
        variadic: 'map',
        result: '[]interface {}',
      },
    ),
    keys: goFunc(
      [],
      (...ds: Array<Dict | null>) => stringSlice(ds.flatMap((d) => (d ? [...d.keys()] : []))),
      { variadic: 'map', result: '[]string' },
    ),
    pick: goFunc(
      ['map'],
      (d: Dict | null, ...ks: string[]) =>
        new Map(ks.filter((k) => d?.has(k)).map((k) => [k, d!.get(k) ?? null])),
      {
        variadic: S,
        result: 'map[string]interface {}',
      },
    ),
    omit: goFunc(
      ['map'],
      (d: Dict | null, ...ks: string[]) =>
        new Map([...(d ?? new Map<string, GoValue>())].filter(([k]) => !ks.includes(k))),
      {
        variadic: S,
        result: 'map[string]interface {}',
      },
    ),
    values: goFunc(['map'], (d: Dict | null) => [...(d?.values() ?? [])], { result: '[]interface {}' }),

    append: goFunc([I, I], push, { result: '[]interface {}' }),
    push: goFunc([I, I], push, { result: '[]interface {}' }),
    mustAppend: goFunc([I, I], push, { result: '[]interface {}' }),
    mustPush: goFunc([I, I], push, { result: '[]interface {}' }),
    prepend: goFunc([I, I], prepend, { result: '[]interface {}' }),
    mustPrepend: goFunc([I, I], prepend, { result: '[]interface {}' }),
    first: goFunc([I], first),
    mustFirst: goFunc([I], first),
    rest: goFunc([I], rest),
    mustRest: goFunc([I], rest),
    last: goFunc([I], last),
    mustLast: goFunc([I], last),
    initial: goFunc([I], initial),
    mustInitial: goFunc([I], initial),
    reverse: goFunc([I], reverse),
    mustReverse: goFunc([I], reverse),
    uniq: goFunc([I], uniq, { result: '[]interface {}' }),
    mustUniq: goFunc([I], uniq, { result: '[]interface {}' }),
    without: goFunc([I], without, { variadic: I, result: '[]interface {}' }),
    mustWithout: goFunc([I], without, { variadic: I, result: '[]interface {}' }),
    has: goFunc([I, I], has, { result: 'bool' }),
    mustHas: goFunc([I, I], has, { result: 'bool' }),
    slice: goFunc([I], slice, { variadic: I }),
    mustSlice: goFunc([I], slice, { variadic: I }),
    concat: goFunc(
      [],
      (...lists: GoValue[]) => {
        const out: GoValue[] = [];
        for (const l of lists) {
          const kind = kindOrPanic(l);
          if (!isList(l)) throw new Error(`Cannot concat type ${kind} as list`);
          out.push(...l);
        }
        return out;
      },
      { variadic: I },
    ),
    dig: goFunc(
      [],
      (...ps: GoValue[]) => {
        if (ps.length < 3) throw new Error('dig needs at least three arguments');
        const dict = ps[ps.length - 1];
        if (!(dict instanceof Map))
          throw new Error(
            `interface conversion: interface {} is ${typeName(dict)}, not map[string]interface {}`,
          );
        const def = ps[ps.length - 2]!;
        const ks = ps.slice(0, -2).map((k) => {
          if (typeof k !== 'string')
            throw new Error(`interface conversion: interface {} is ${typeName(k)}, not string`);
          return k;
        });
        let cur: GoValue = dict;
        for (let i = 0; i < ks.length; i++) {
          if (!(cur instanceof Map))
            throw new Error(
              `interface conversion: interface {} is ${typeName(cur)}, not map[string]interface {}`,
            );
          if (!cur.has(ks[i]!)) return def;
          cur = cur.get(ks[i]!) ?? null;
        }
        return cur;
      },
      { variadic: I },
    ),
    chunk: goFunc(['int', I], chunk, { result: '[][]interface {}' }),
    mustChunk: goFunc(['int', I], chunk, { result: '[][]interface {}' }),

    fail: goFunc(
      [S],
      (msg: string) => {
        throw new Error(msg);
      },
      { result: 'string' },
    ),

    // Regex (Go's RE2 syntax)
    regexMatch: goFunc(
      [S, S],
      (r: string, s: string) => {
        try {
          return compile(r).matcher(s).find();
        } catch {
          return false;
        }
      },
      { result: 'bool' },
    ),
    mustRegexMatch: goFunc([S, S], (r: string, s: string) => compile(r).matcher(s).find(), {
      result: 'bool',
    }),
    regexFindAll: goFunc(
      [S, S, 'int'],
      (r: string, s: string, n: bigint) => regexFindAll(r, s, n, mustCompile),
      { result: '[]string' },
    ),
    mustRegexFindAll: goFunc(
      [S, S, 'int'],
      (r: string, s: string, n: bigint) => regexFindAll(r, s, n, compile),
      { result: '[]string' },
    ),
    regexFind: goFunc(
      [S, S],
      (r: string, s: string) => {
        const m = findAll(mustCompile(r), s, 1)[0];
        return m ? s.slice(m.start, m.end) : '';
      },
      { result: 'string' },
    ),
    mustRegexFind: goFunc(
      [S, S],
      (r: string, s: string) => {
        const m = findAll(compile(r), s, 1)[0];
        return m ? s.slice(m.start, m.end) : '';
      },
      { result: 'string' },
    ),
    regexReplaceAll: goFunc(
      [S, S, S],
      (r: string, s: string, repl: string) => {
        const re = mustCompile(r);
        return replaceAll(re, s, (m) => expand(re, repl, s, m));
      },
      { result: 'string' },
    ),
    mustRegexReplaceAll: goFunc(
      [S, S, S],
      (r: string, s: string, repl: string) => {
        const re = compile(r);
        return replaceAll(re, s, (m) => expand(re, repl, s, m));
      },
      { result: 'string' },
    ),
    regexReplaceAllLiteral: goFunc(
      [S, S, S],
      (r: string, s: string, repl: string) => replaceAll(mustCompile(r), s, () => repl),
      { result: 'string' },
    ),
    mustRegexReplaceAllLiteral: goFunc(
      [S, S, S],
      (r: string, s: string, repl: string) => replaceAll(compile(r), s, () => repl),
      { result: 'string' },
    ),
    regexSplit: goFunc(
      [S, S, 'int'],
      (r: string, s: string, n: bigint) => stringSlice(regexSplit(mustCompile(r), s, Number(n))),
      { result: '[]string' },
    ),
    mustRegexSplit: goFunc(
      [S, S, 'int'],
      (r: string, s: string, n: bigint) => stringSlice(regexSplit(compile(r), s, Number(n))),
      { result: '[]string' },
    ),
    regexQuoteMeta: goFunc([S], quoteMeta, { result: 'string' }),

    // URLs
    urlParse: goFunc([S], urlParse, { result: 'map[string]interface {}' }),
    urlJoin: goFunc(['map'], urlJoin, { result: 'string' }),
  };
  void must;
  return f;
}

function compact(v: GoValue): GoValue[] {
  return asList(v, 'compact').filter((e) => !empty(e));
}

function tryOr<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    return fallback;
  }
}

function goMax(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return NaN;
  return Math.max(a, b);
}
function goMin(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return NaN;
  return Math.min(a, b);
}

function indent(n: bigint, s: string): string {
  const pad = ' '.repeat(Number(n < 0n ? 0n : n));
  return pad + s.split('\n').join('\n' + pad);
}

/** strings.Replace(s, old, new, -1): an empty `old` inserts `new` around every rune. */
function goReplace(s: string, o: string, n: string): string {
  if (o === '') {
    const chars = [...s];
    return n + chars.map((c) => c + n).join('');
  }
  return s.split(o).join(n);
}

function adler32(b: Buffer): number {
  let a = 1;
  let c = 0;
  for (const x of b) {
    a = (a + x) % 65521;
    c = (c + a) % 65521;
  }
  return ((c << 16) | a) >>> 0;
}

function base64Decode(s: string): string {
  const body = s.replace(/=+$/, '');
  const bad = /[^A-Za-z0-9+/]/.exec(body);
  if (bad) return `illegal base64 data at input byte ${bad.index}`;
  if (s.length % 4 !== 0) {
    return `illegal base64 data at input byte ${s.length - (s.length % 4 === 1 ? 1 : 0) - (s.length % 4 === 1 ? 0 : 0)}`;
  }
  return Buffer.from(s, 'base64').toString('utf8');
}

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32Encode(b: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const x of b) {
    value = (value << 8) | x;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  while (out.length % 8 !== 0) out += '=';
  return out;
}

function base32Decode(s: string): string {
  if (s.length % 8 !== 0) return `illegal base32 data at input byte ${s.length - (s.length % 8)}`;
  const body = s.replace(/=+$/, '');
  const bytes: number[] = [];
  let bits = 0;
  let value = 0;
  for (let i = 0; i < body.length; i++) {
    const idx = B32.indexOf(body[i]!);
    if (idx < 0) return `illegal base32 data at input byte ${i}`;
    value = (value << 5) | idx;
    bits += 5;
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function urlParse(s: string): GoValue {
  const m = /^(?:([a-zA-Z][a-zA-Z0-9+.-]*):)?(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$/.exec(s);
  if (!m) throw new Error(`unable to parse url: parse ${quoteGo(s)}: invalid URL`);
  const [, scheme = '', authority, path = '', query = '', fragment = ''] = m;
  let userinfo = '';
  let host = authority ?? '';
  const at = host.lastIndexOf('@');
  if (at >= 0) {
    userinfo = host.slice(0, at);
    host = host.slice(at + 1);
  }
  const hostname = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d*$/, '');
  return new Map<string, GoValue>([
    ['scheme', scheme],
    ['host', host],
    ['hostname', hostname],
    ['path', decodeURIComponentSafe(path)],
    ['query', query],
    ['opaque', ''],
    ['fragment', decodeURIComponentSafe(fragment)],
    ['userinfo', userinfo],
  ]);
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function urlJoin(d: Dict | null): string {
  const get = (k: string) => {
    const v = d?.get(k);
    if (v === undefined) return '';
    if (typeof v !== 'string')
      throw new Error(`interface conversion: interface {} is ${typeName(v)}, not string`);
    return v;
  };
  const scheme = get('scheme');
  const host = get('host');
  const userinfo = get('userinfo');
  const path = get('path');
  const query = get('query');
  const fragment = get('fragment');
  let out = '';
  if (scheme) out += scheme + ':';
  if (host || userinfo || scheme) {
    if (host || path || userinfo) out += '//';
    if (userinfo) out += userinfo + '@';
    out += host;
  }
  if (path && !path.startsWith('/') && host) out += '/';
  out += path;
  if (query) out += '?' + query;
  if (fragment) out += '#' + fragment;
  return out;
}

/** The functions the Flux Operator adds to slim-sprig for ResourceSets. */
export function resourceSetExtras(): Record<string, GoFunction> {
  return {
    slugify: goFunc([S], (s: string) => slugify(s), { result: 'string' }),
    toYaml: goFunc([I], (v: GoValue) => tryOr(() => goYamlMarshal(v), ''), { result: 'string' }),
    mustToYaml: goFunc([I], (v: GoValue) => goYamlMarshal(v), { result: 'string' }),
  };
}

export { isFunc, intValue, goEq };
