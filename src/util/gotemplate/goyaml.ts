/**
 * sigs.k8s.io/yaml Marshal, which the Flux Operator's toYaml (and helm's) calls: the value goes
 * through encoding/json, is read back by go-yaml v2 (numbers become int or float64, maps sorted
 * by go-yaml's key order) and emitted by go-yaml v2: block style, sequences not indented under
 * their key, strings quoted only when plain would read as another type or is not allowed,
 * multi-line strings as literal blocks, long lines folded at 80 columns.
 */
import { formatFloat } from './fmt.js';
import { GoTypedInt, type GoValue, isFunc, typeName } from './value.js';

type Y =
  null | boolean | string | { int: string } | { float: number } | Y[] | (Array<[string, Y]> & { map: true });

/** Runs the value through JSON semantics: what json.Marshal then yaml.Unmarshal produce. */
function viaJson(v: GoValue): Y {
  if (v === undefined || v === null) return null;
  if (typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'bigint') return { int: v.toString() };
  if (v instanceof GoTypedInt) return { int: v.value.toString() };
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`json: unsupported value: ${formatFloat(v, 'g', -1)}`);
    // json.Marshal writes whole floats without a point; go-yaml reads them back as int.
    // ...as long as ParseInt or ParseUint accept the digits; larger ones stay floats.
    if (Number.isInteger(v) && v >= -(2 ** 63) && v < 2 ** 64) return { int: BigInt(v).toString() };
    return { float: v };
  }
  if (Array.isArray(v)) return v.map(viaJson);
  if (v instanceof Map) {
    const entries = [...v].map(([k, x]) => [k, viaJson(x)] as [string, Y]);
    entries.sort((a, b) => (keyLess(a[0], b[0]) ? -1 : keyLess(b[0], a[0]) ? 1 : 0));
    return Object.assign(entries, { map: true as const });
  }
  if (isFunc(v)) throw new Error(`json: unsupported type: ${typeName(v)}`);
  return null;
}

const isLetter = (c: string) => /\p{L}/u.test(c);
const isDigit = (c: string) => /\p{Nd}/u.test(c);

/** go-yaml v2 keyList.Less for string keys. */
function keyLess(a: string, b: string): boolean {
  const ar = [...a];
  const br = [...b];
  for (let i = 0; i < ar.length && i < br.length; i++) {
    if (ar[i] === br[i]) continue;
    const al = isLetter(ar[i]!);
    const bl = isLetter(br[i]!);
    if (al && bl) return ar[i]!.codePointAt(0)! < br[i]!.codePointAt(0)!;
    if (al || bl) return bl;
    let an = 0n;
    let bn = 0n;
    if (ar[i] === '0' || br[i] === '0') {
      for (let j = i - 1; j >= 0 && isDigit(ar[j]!); j--) {
        if (ar[j] !== '0') {
          an = 1n;
          bn = 1n;
          break;
        }
      }
    }
    let ai = i;
    let bi = i;
    for (; ai < ar.length && isDigit(ar[ai]!); ai++) an = an * 10n + BigInt(ar[ai]!.charCodeAt(0) - 48);
    for (; bi < br.length && isDigit(br[bi]!); bi++) bn = bn * 10n + BigInt(br[bi]!.charCodeAt(0) - 48);
    if (an !== bn) return an < bn;
    if (ai !== bi) return ai < bi;
    return ar[i]!.codePointAt(0)! < br[i]!.codePointAt(0)!;
  }
  return ar.length < br.length;
}

const BOOL_WORDS = new Set([
  'y',
  'Y',
  'yes',
  'Yes',
  'YES',
  'n',
  'N',
  'no',
  'No',
  'NO',
  'true',
  'True',
  'TRUE',
  'false',
  'False',
  'FALSE',
  'on',
  'On',
  'ON',
  'off',
  'Off',
  'OFF',
]);
const NULL_WORDS = new Set(['', '~', 'null', 'Null', 'NULL']);
const SPECIAL_FLOATS = new Set([
  '.inf',
  '.Inf',
  '.INF',
  '+.inf',
  '+.Inf',
  '+.INF',
  '-.inf',
  '-.Inf',
  '-.INF',
  '.nan',
  '.NaN',
  '.NAN',
]);

/** Whether go-yaml v2 would read the plain scalar `s` as something other than a string. */
function resolvesToNonString(s: string): boolean {
  if (NULL_WORDS.has(s) || BOOL_WORDS.has(s) || SPECIAL_FLOATS.has(s)) return true;
  const hint = s[0]!;
  if (!/[-+.0-9]/.test(hint)) return false;
  const plain = s.replace(/_/g, '');
  if (/^[-+]?(0[bB][01]+|0[oO][0-7]+|0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.test(plain)) return true;
  if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(s)) return true;
  if (/^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/.test(s)) return true;
  // go-yaml v2 reads these as timestamps (resolve.go: allowedTimestampFormats)
  if (/^\d{4}-\d{1,2}-\d{1,2}(?:[Tt ]\d{1,2}:\d{1,2}:\d{1,2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?)?$/.test(s))
    return true;
  return false;
}

/** go-yaml's is_printable: no tab, no CR, nothing above U+FFFD (so no emoji), no BOM. */
function isPrintable(cp: number): boolean {
  return (
    cp === 0x0a ||
    (cp >= 0x20 && cp <= 0x7e) ||
    (cp >= 0xa0 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd && cp !== 0xfeff)
  );
}

interface Analysis {
  multiline: boolean;
  flowPlain: boolean;
  blockPlain: boolean;
  singleQuoted: boolean;
  block: boolean;
}

/** A port of yaml_emitter_analyze_scalar's decisions. */
function analyze(value: string): Analysis {
  if (value.length === 0)
    return { multiline: false, flowPlain: false, blockPlain: true, singleQuoted: true, block: false };
  let blockIndicators = false;
  let flowIndicators = false;
  let lineBreaks = false;
  let specialCharacters = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  let precededByWhitespace = true;
  let previousSpace = false;
  let previousBreak = false;
  if (value.startsWith('---') || value.startsWith('...')) {
    blockIndicators = true;
    flowIndicators = true;
  }
  const chars = [...value];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    const next = chars[i + 1];
    const followedByWhitespace =
      next === undefined || next === ' ' || next === '\t' || next === '\n' || next === '\r';
    if (i === 0) {
      switch (c) {
        case '#':
        case ',':
        case '[':
        case ']':
        case '{':
        case '}':
        case '&':
        case '*':
        case '!':
        case '|':
        case '>':
        case "'":
        case '"':
        case '%':
        case '@':
        case '`':
          flowIndicators = true;
          blockIndicators = true;
          break;
        case '?':
        case ':':
          flowIndicators = true;
          if (followedByWhitespace) blockIndicators = true;
          break;
        case '-':
          if (followedByWhitespace) {
            flowIndicators = true;
            blockIndicators = true;
          }
          break;
      }
    } else {
      switch (c) {
        case ',':
        case '?':
        case '[':
        case ']':
        case '{':
        case '}':
          flowIndicators = true;
          break;
        case ':':
          flowIndicators = true;
          if (followedByWhitespace) blockIndicators = true;
          break;
        case '#':
          if (precededByWhitespace) {
            flowIndicators = true;
            blockIndicators = true;
          }
          break;
      }
    }
    const cp = c.codePointAt(0)!;
    const printable = isPrintable(cp);
    if (!printable || (cp > 0x7f && false)) specialCharacters = true;
    const isBreak = c === '\n' || c === '\r' || cp === 0x85 || cp === 0x2028 || cp === 0x2029;
    if (isBreak) lineBreaks = true;
    if (c === ' ') {
      if (i === 0) leadingSpace = true;
      if (i === chars.length - 1) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (isBreak) {
      if (i === 0) leadingBreak = true;
      if (i === chars.length - 1) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = false;
      previousBreak = false;
    }
    precededByWhitespace = c === ' ' || c === '\t' || isBreak;
  }
  let flowPlain = true;
  let blockPlain = true;
  let singleQuoted = true;
  let block = true;
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) {
    flowPlain = false;
    blockPlain = false;
  }
  if (trailingSpace) block = false;
  if (breakSpace) {
    flowPlain = false;
    blockPlain = false;
    singleQuoted = false;
  }
  if (spaceBreak || specialCharacters) {
    flowPlain = false;
    blockPlain = false;
    singleQuoted = false;
    block = false;
  }
  if (lineBreaks) {
    flowPlain = false;
    blockPlain = false;
  }
  if (flowIndicators) flowPlain = false;
  if (blockIndicators) blockPlain = false;
  return { multiline: lineBreaks, flowPlain, blockPlain, singleQuoted, block };
}

const BEST_WIDTH = 80;

class Emitter {
  out = '';
  column = 0;

  write(s: string) {
    this.out += s;
    const nl = s.lastIndexOf('\n');
    this.column = nl >= 0 ? [...s.slice(nl + 1)].length : this.column + [...s].length;
  }

  newline(indent: number) {
    this.out += '\n' + ' '.repeat(indent);
    this.column = indent;
  }

  /** Writes a string scalar in the style go-yaml chooses; `indent` is the block indent for continuations. */
  scalarString(s: string, indent: number, simpleKey: boolean) {
    let style: 'plain' | 'single' | 'double' | 'literal';
    if (s.includes('\n')) style = 'literal';
    else if (resolvesToNonString(s) || /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/.test(s))
      style = 'double';
    else style = 'plain';
    const a = analyze(s);
    if (style === 'plain') {
      if (!a.blockPlain || (simpleKey && a.multiline) || s.length === 0) style = 'single';
    }
    if (style === 'literal') {
      if (simpleKey || !a.block) style = 'double';
    }
    if (style === 'single' && !a.singleQuoted) style = 'double';
    if (style === 'single' && simpleKey && a.multiline) style = 'double';
    switch (style) {
      case 'plain':
        return this.writePlain(s, indent, !simpleKey);
      case 'single':
        return this.writeSingle(s, indent, !simpleKey);
      case 'double':
        return this.writeDouble(s, indent, !simpleKey);
      case 'literal':
        return this.writeLiteral(s, indent);
    }
  }

  private writePlain(s: string, indent: number, allowBreaks: boolean) {
    if (this.column > 0 && !this.out.endsWith(' ') && !this.out.endsWith('\n')) this.write(' ');
    const chars = [...s];
    let spaces = false;
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i]!;
      if (c === ' ') {
        if (allowBreaks && !spaces && this.column > BEST_WIDTH && chars[i + 1] !== ' ') {
          this.newline(indent);
        } else this.write(c);
        spaces = true;
      } else {
        this.write(c);
        spaces = false;
      }
    }
  }

  private writeSingle(s: string, indent: number, allowBreaks: boolean) {
    if (this.column > 0 && !this.out.endsWith(' ') && !this.out.endsWith('\n')) this.write(' ');
    this.write("'");
    const chars = [...s];
    let spaces = false;
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i]!;
      if (c === ' ') {
        if (
          allowBreaks &&
          !spaces &&
          this.column > BEST_WIDTH &&
          i !== 0 &&
          i !== chars.length - 1 &&
          chars[i + 1] !== ' '
        ) {
          this.newline(indent);
        } else this.write(c);
        spaces = true;
      } else {
        this.write(c === "'" ? "''" : c);
        spaces = false;
      }
    }
    this.write("'");
  }

  private writeDouble(s: string, indent: number, allowBreaks: boolean) {
    if (this.column > 0 && !this.out.endsWith(' ') && !this.out.endsWith('\n')) this.write(' ');
    this.write('"');
    const chars = [...s];
    let spaces = false;
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i]!;
      const cp = c.codePointAt(0)!;
      const printable = isPrintable(cp);
      const isBreak = c === '\n' || c === '\r' || cp === 0x85 || cp === 0x2028 || cp === 0x2029;
      if (!printable || isBreak || c === '"' || c === '\\' || cp === 0xfeff) {
        const esc: Record<string, string> = {
          '\0': '0',
          '\x07': 'a',
          '\b': 'b',
          '\t': 't',
          '\n': 'n',
          '\v': 'v',
          '\f': 'f',
          '\r': 'r',
          '\x1b': 'e',
          '"': '"',
          '\\': '\\',
          '\u0085': 'N',
          '\u00a0': '_',
          '\u2028': 'L',
          '\u2029': 'P',
        };
        if (esc[c] !== undefined) this.write('\\' + esc[c]);
        else if (cp <= 0xff) this.write('\\x' + cp.toString(16).toUpperCase().padStart(2, '0'));
        else if (cp <= 0xffff) this.write('\\u' + cp.toString(16).toUpperCase().padStart(4, '0'));
        else this.write('\\U' + cp.toString(16).toUpperCase().padStart(8, '0'));
        spaces = false;
      } else if (c === ' ') {
        if (allowBreaks && !spaces && this.column > BEST_WIDTH && i !== 0 && i !== chars.length - 1) {
          this.newline(indent);
          if (chars[i + 1] === ' ') this.write('\\');
        } else this.write(c);
        spaces = true;
      } else {
        this.write(c);
        spaces = false;
      }
    }
    this.write('"');
  }

  private writeLiteral(s: string, indent: number) {
    if (this.column > 0 && !this.out.endsWith(' ') && !this.out.endsWith('\n')) this.write(' ');
    let hints = '';
    if (s.startsWith(' ') || s.startsWith('\n')) hints += '2';
    if (!s.endsWith('\n')) hints += '-';
    else if (s === '\n' || s.endsWith('\n\n')) hints += '+';
    this.write('|' + hints);
    const lines = s.split('\n');
    if (s.endsWith('\n')) lines.pop();
    for (const line of lines) {
      if (line === '') {
        this.out += '\n';
        this.column = 0;
      } else {
        this.newline(indent);
        this.write(line);
      }
    }
  }
}

function scalarText(v: Y): string | undefined {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'object' && 'int' in v && !Array.isArray(v)) return (v as { int: string }).int;
  if (typeof v === 'object' && 'float' in v && !Array.isArray(v)) {
    const f = (v as { float: number }).float;
    const s = formatFloat(f, 'g', -1);
    return s === '+Inf' ? '.inf' : s === '-Inf' ? '-.inf' : s === 'NaN' ? '.nan' : s;
  }
  return undefined;
}

const isMap = (v: Y): v is Array<[string, Y]> & { map: true } =>
  Array.isArray(v) && (v as { map?: boolean }).map === true;

function emitNode(e: Emitter, v: Y, indent: number, context: 'root' | 'mapvalue' | 'seqitem') {
  if (isMap(v)) {
    if (v.length === 0) {
      if (context !== 'root') e.write(' ');
      e.write('{}');
      return;
    }
    v.forEach(([k, x], i) => {
      if (i > 0 || context === 'mapvalue') e.newline(indent);
      else if (context === 'seqitem') e.write(' ');
      e.scalarString(k, indent, true);
      e.write(':');
      emitValue(e, x, indent);
    });
    return;
  }
  if (Array.isArray(v)) {
    if (v.length === 0) {
      if (context !== 'root') e.write(' ');
      e.write('[]');
      return;
    }
    v.forEach((x, i) => {
      if (i > 0 || context === 'mapvalue') e.newline(indent);
      else if (context === 'seqitem') e.write(' ');
      e.write('-');
      emitNode(e, x, indent + 2, 'seqitem');
    });
    return;
  }
  const text = scalarText(v);
  if (context !== 'root') e.write(' ');
  if (text !== undefined) e.write(text);
  // A document-level scalar continues (folded lines, block scalar) two columns in.
  else e.scalarString(v as string, context === 'root' ? 2 : indent, false);
}

function emitValue(e: Emitter, x: Y, indent: number) {
  if (isMap(x) && x.length > 0) emitNode(e, x, indent + 2, 'mapvalue');
  else if (Array.isArray(x) && !isMap(x) && x.length > 0) emitNode(e, x, indent, 'mapvalue');
  else emitNode(e, x, indent + 2, 'seqitem');
}

/** sigs.k8s.io/yaml.Marshal(v) as a string (with its trailing newline). */
export function goYamlMarshal(v: GoValue): string {
  const y = viaJson(v);
  const e = new Emitter();
  emitNode(e, y, 0, 'root');
  return e.out + '\n';
}
