/**
 * The parts of Go's fmt and strconv that templates print through: %v of every value
 * (maps with sorted keys, slices, nil), Sprint's spacing, Sprintln, Sprintf's verbs and flags
 * with its `%!verb(type=value)` complaints, strconv.Quote and FormatFloat.
 */
import { GoTypedInt, type GoValue, intValue, isFunc, isInt, sortedKeys, typeName } from './value.js';

/** strconv.FormatFloat(f, fmt, prec, 64) for fmt in e, E, f, F, g, G; prec -1 = shortest. */
export function formatFloat(f: number, verb: string, prec: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  const sign = f < 0 || Object.is(f, -0) ? '-' : '';
  const abs = Math.abs(f);
  const shortest = prec < 0;
  switch (verb) {
    case 'e':
    case 'E': {
      const d = shortest ? shortestDigits(abs) : roundedDigits(abs, prec + 1);
      return sign + fmtE(d, shortest ? Math.max(d.digits.length - 1, 0) : prec, verb);
    }
    case 'f':
    case 'F': {
      if (shortest) {
        const d = shortestDigits(abs);
        return sign + fmtF(d, Math.max(d.digits.length - d.dp, 0));
      }
      const exact = exactDigits(abs);
      return sign + fmtF(roundDigits(exact, exact.dp + prec), prec);
    }
    default: {
      let p = prec;
      let d: Digits;
      if (shortest) {
        d = shortestDigits(abs);
        p = d.digits.length;
      } else {
        if (p === 0) p = 1;
        d = roundedDigits(abs, p);
      }
      const nd = d.digits.length;
      let eprec = p;
      if (eprec > nd && nd >= d.dp) eprec = nd;
      if (shortest) eprec = 6;
      const exp = d.dp - 1;
      if (exp < -4 || exp >= eprec) {
        return sign + fmtE(d, Math.min(p, nd) - 1, verb === 'G' ? 'E' : 'e');
      }
      return sign + fmtF(d, Math.max((p > d.dp ? nd : p) - d.dp, 0));
    }
  }
}

/** Decimal digits without trailing zeros; value = 0.digits × 10^dp. */
interface Digits {
  digits: string;
  dp: number;
}

function shortestDigits(abs: number): Digits {
  if (abs === 0) return { digits: '', dp: 0 };
  const [m, e] = abs.toExponential().split('e');
  return { digits: m!.replace('.', '').replace(/0+$/, ''), dp: Number(e) + 1 };
}

function roundedDigits(abs: number, significant: number): Digits {
  return roundDigits(exactDigits(abs), significant);
}

/** The exact decimal expansion of a float64 (every binary fraction is a finite decimal). */
function exactDigits(abs: number): Digits {
  if (abs === 0) return { digits: '', dp: 0 };
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, abs);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & ((1n << 52n) - 1n);
  let exp: number;
  if (biased === 0) exp = -1074;
  else {
    mant |= 1n << 52n;
    exp = biased - 1075;
  }
  let digits: string;
  let dp: number;
  if (exp >= 0) {
    digits = (mant << BigInt(exp)).toString();
    dp = digits.length;
  } else {
    digits = (mant * 5n ** BigInt(-exp)).toString();
    dp = digits.length + exp;
  }
  return { digits: digits.replace(/0+$/, ''), dp };
}

/** Rounds to nd significant digits as Go's strconv decimal does (half to even only on exact ties). */
function roundDigits(d: Digits, nd: number): Digits {
  if (nd < 0) return { digits: '', dp: 0 };
  if (nd >= d.digits.length) return d;
  const at = d.digits.charCodeAt(nd) - 48;
  let up: boolean;
  if (at === 5 && nd + 1 === d.digits.length) up = nd > 0 && (d.digits.charCodeAt(nd - 1) - 48) % 2 === 1;
  else up = at >= 5;
  if (!up) return { digits: d.digits.slice(0, nd).replace(/0+$/, ''), dp: d.dp };
  const chars = d.digits.slice(0, nd).split('');
  let i = nd - 1;
  while (i >= 0 && chars[i] === '9') i--;
  if (i < 0) return { digits: '1', dp: d.dp + 1 };
  chars[i] = String.fromCharCode(chars[i]!.charCodeAt(0) + 1);
  return { digits: chars.slice(0, i + 1).join(''), dp: d.dp };
}

function fmtE(d: Digits, prec: number, e: string): string {
  let out = d.digits[0] ?? '0';
  if (prec > 0) {
    out += '.';
    for (let i = 1; i <= prec; i++) out += d.digits[i] ?? '0';
  }
  const exp = d.digits.length === 0 ? 0 : d.dp - 1;
  const ae = Math.abs(exp);
  return `${out}${e}${exp < 0 ? '-' : '+'}${ae < 10 ? '0' : ''}${ae}`;
}

function fmtF(d: Digits, prec: number): string {
  let out = '';
  if (d.dp > 0) {
    for (let i = 0; i < d.dp; i++) out += d.digits[i] ?? '0';
  } else out = '0';
  if (prec > 0) {
    out += '.';
    for (let i = 1; i <= prec; i++) {
      const j = d.dp + i - 1;
      out += j >= 0 && j < d.digits.length ? d.digits[j] : '0';
    }
  }
  return out;
}

const PRINTABLE = /[\p{L}\p{M}\p{N}\p{P}\p{S}]/u;

/** Go's strconv.Quote (or QuoteRune with `'`). */
export function quoteGo(s: string, q = '"'): string {
  let out = q;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === q || ch === '\\') {
      out += '\\' + ch;
      continue;
    }
    if (c >= 0x20 && c < 0x7f) {
      out += ch;
      continue;
    }
    if (c >= 0x80 && PRINTABLE.test(ch) && !(c >= 0xd800 && c <= 0xdfff)) {
      out += ch;
      continue;
    }
    switch (ch) {
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\v':
        out += '\\v';
        continue;
    }
    if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else if (c >= 0xd800 && c <= 0xdfff) out += '\\ufffd';
    else if (c < 0x10000) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += '\\U' + c.toString(16).padStart(8, '0');
  }
  return out + q;
}

interface Spec {
  minus: boolean;
  plus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  width?: number;
  prec?: number;
}

const NO_FLAGS: Spec = { minus: false, plus: false, sharp: false, space: false, zero: false };

/** %v of a value, as fmt prints operands (nil is `<nil>`). */
export function formatValue(v: GoValue, verb = 'v', spec: Spec = NO_FLAGS, depth = 0): string {
  if (verb === 'T') return pad(v === undefined || v === null ? '<nil>' : typeName(v), spec);
  if (v === undefined || v === null) {
    return depth === 0 && verb !== 'v' ? `%!${verb}(<nil>)` : '<nil>';
  }
  if (Array.isArray(v)) {
    if (verb === 's' && v.length === 0) return '[]';
    if (verb === 'x' || verb === 'X') {
      // a byte slice would hex-encode; []interface{} prints elementwise
    }
    return '[' + v.map((e) => formatValue(e, verb, spec, depth + 1)).join(' ') + ']';
  }
  if (v instanceof Map) {
    return (
      'map[' +
      sortedKeys(v)
        .map(
          (k) => `${formatValue(k, verb, spec, depth + 1)}:${formatValue(v.get(k), verb, spec, depth + 1)}`,
        )
        .join(' ') +
      ']'
    );
  }
  if (isFunc(v)) return verb === 'v' || verb === 'p' ? '0xc000010000' : badVerb(verb, v);
  switch (verb) {
    case 'v':
      if (typeof v === 'number') return pad(signed(formatFloat(v, 'g', spec.prec ?? -1), spec), spec, true);
      if (isInt(v)) return pad(signed(intValue(v).toString(), spec), spec, true);
      if (typeof v === 'string')
        return pad(spec.prec !== undefined ? [...v].slice(0, spec.prec).join('') : v, spec);
      if (spec.sharp && typeof v === 'string') return quoteGo(v);
      return pad(String(v), spec);
    case 's':
      if (typeof v === 'string')
        return pad(spec.prec !== undefined ? [...v].slice(0, spec.prec).join('') : v, spec);
      return badVerb(verb, v);
    case 'q':
      if (typeof v === 'string')
        return pad(spec.sharp && !v.includes('`') ? '`' + v + '`' : quoteGo(v), spec);
      if (isInt(v)) return pad(quoteGo(String.fromCodePoint(Number(intValue(v))), "'"), spec);
      return badVerb(verb, v);
    case 't':
      if (typeof v === 'boolean') return pad(String(v), spec);
      return badVerb(verb, v);
    case 'd':
      if (isInt(v)) return pad(signed(intValue(v).toString(), spec), spec, true);
      return badVerb(verb, v);
    case 'b':
    case 'o':
    case 'O':
      if (isInt(v)) {
        const n = intValue(v);
        const base = verb === 'b' ? 2 : 8;
        let digits = (n < 0n ? -n : n).toString(base);
        if (verb === 'O') digits = '0o' + digits;
        else if (spec.sharp && verb === 'o' && digits[0] !== '0') digits = '0' + digits;
        return pad(signed((n < 0n ? '-' : '') + digits, spec), spec, true);
      }
      return badVerb(verb, v);
    case 'x':
    case 'X': {
      let out: string;
      if (isInt(v)) {
        const n = intValue(v);
        out = (n < 0n ? -n : n).toString(16);
        if (spec.sharp) out = '0x' + out;
        out = (n < 0n ? '-' : '') + out;
        out = signed(out, spec);
      } else if (typeof v === 'string') {
        out = Buffer.from(v, 'utf8').toString('hex');
        if (spec.sharp) out = '0x' + out;
      } else if (typeof v === 'number') {
        return badVerb(verb, v);
      } else return badVerb(verb, v);
      if (verb === 'X') out = out.toUpperCase().replace('0X', '0X');
      return pad(out, spec, isInt(v));
    }
    case 'c':
      if (isInt(v)) return pad(String.fromCodePoint(Number(intValue(v))), spec);
      return badVerb(verb, v);
    case 'U':
      if (isInt(v)) return pad('U+' + intValue(v).toString(16).toUpperCase().padStart(4, '0'), spec);
      return badVerb(verb, v);
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G':
      if (typeof v === 'number') {
        const prec = spec.prec ?? (verb === 'g' || verb === 'G' ? -1 : 6);
        return pad(signed(formatFloat(v, verb, prec), spec), spec, true);
      }
      return badVerb(verb, v);
    case 'T':
      return pad(typeName(v), spec);
  }
  return badVerb(verb, v);
}

function signed(s: string, spec: Spec): string {
  if (s.startsWith('-') || s === 'NaN') return s;
  if (s.startsWith('+')) return spec.plus ? s : s === '+Inf' ? (spec.space ? ' Inf' : '+Inf') : s;
  if (spec.plus) return '+' + s;
  if (spec.space) return ' ' + s;
  return s;
}

function pad(s: string, spec: Spec, numeric = false): string {
  const width = spec.width ?? 0;
  if (width > 64 * 1024 * 1024) throw new Error('output exceeds 64 MiB');
  const len = [...s].length;
  if (len >= width) return s;
  if (spec.minus) return s + ' '.repeat(width - len);
  if (spec.zero && numeric && !/Inf|NaN/.test(s)) {
    const m = /^([+\- ]?(?:0[xXbo])?)(.*)$/.exec(s)!;
    return m[1] + '0'.repeat(width - len) + m[2];
  }
  if (spec.zero && !numeric) return '0'.repeat(width - len) + s;
  return ' '.repeat(width - len) + s;
}

function badVerb(verb: string, v: GoValue): string {
  if (v === undefined || v === null) return `%!${verb}(<nil>)`;
  return `%!${verb}(${typeName(v)}=${formatValue(v)})`;
}

/** fmt.Sprint: operands formatted with %v, a space between two operands when neither is a string. */
export function sprint(args: GoValue[]): string {
  let out = '';
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (i > 0 && typeof arg !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += formatValue(arg);
  }
  return out;
}

/** fmt.Sprintln: always spaces, then a newline. */
export function sprintln(args: GoValue[]): string {
  return args.map((a) => formatValue(a)).join(' ') + '\n';
}

/** fmt.Sprintf. */
export function sprintf(format: string, args: GoValue[]): string {
  let out = '';
  let argNum = 0;
  let i = 0;
  const n = format.length;
  while (i < n) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    i = pct + 1;
    if (i >= n) {
      out += '%!(NOVERB)';
      break;
    }
    const spec: Spec = { minus: false, plus: false, sharp: false, space: false, zero: false };
    flags: for (; i < n; i++) {
      switch (format[i]) {
        case '-':
          spec.minus = true;
          spec.zero = false;
          break;
        case '+':
          spec.plus = true;
          break;
        case '#':
          spec.sharp = true;
          break;
        case ' ':
          spec.space = true;
          break;
        case '0':
          spec.zero = !spec.minus;
          break;
        default:
          break flags;
      }
    }
    // width
    if (format[i] === '*') {
      i++;
      const w = args[argNum++];
      if (isInt(w)) {
        let wn = Number(intValue(w));
        if (wn < 0) {
          spec.minus = true;
          spec.zero = false;
          wn = -wn;
        }
        spec.width = wn;
      } else out += '%!(BADWIDTH)';
    } else {
      const m = /^\d+/.exec(format.slice(i));
      if (m) {
        spec.width = Number(m[0]);
        i += m[0].length;
      }
    }
    if (format[i] === '.') {
      i++;
      if (format[i] === '*') {
        i++;
        const p = args[argNum++];
        if (isInt(p)) spec.prec = Math.max(0, Number(intValue(p)));
        else out += '%!(BADPREC)';
      } else {
        const m = /^\d+/.exec(format.slice(i));
        spec.prec = m ? Number(m[0]) : 0;
        if (m) i += m[0].length;
      }
    }
    if (i >= n) {
      out += '%!(NOVERB)';
      break;
    }
    const verb = String.fromCodePoint(format.codePointAt(i)!);
    i += verb.length;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argNum >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const arg = args[argNum++];
    if (verb === 'v' && spec.sharp) {
      out += goSyntax(arg);
      continue;
    }
    if (spec.plus && verb === 'v' && (arg instanceof Map || Array.isArray(arg))) {
      out += formatValue(arg);
      continue;
    }
    out += formatValue(arg, verb, spec);
  }
  if (argNum < args.length) {
    out +=
      '%!(EXTRA ' +
      args
        .slice(argNum)
        .map((a) => (a === undefined || a === null ? '<nil>' : `${typeName(a)}=${formatValue(a)}`))
        .join(', ') +
      ')';
  }
  return out;
}

/** %#v, enough for the values templates hold. */
function goSyntax(v: GoValue): string {
  if (v === undefined || v === null) return '<nil>';
  if (typeof v === 'string') return quoteGo(v);
  if (typeof v === 'number') {
    const s = formatFloat(v, 'g', -1);
    return /[.e]|Inf|NaN/.test(s) ? s : s + '';
  }
  if (v instanceof GoTypedInt || typeof v === 'bigint') return intValue(v).toString();
  if (Array.isArray(v)) return `${typeName(v)}{${v.map(goSyntax).join(', ')}}`;
  if (v instanceof Map)
    return `${typeName(v)}{${sortedKeys(v)
      .map((k) => `${quoteGo(k)}:${goSyntax(v.get(k))}`)
      .join(', ')}}`;
  return formatValue(v);
}
