/**
 * The lexer and parser of Go's text/template (src/text/template/parse/lex.go and parse.go):
 * delimiters, trim markers `{{- ` and ` -}}`, comments, raw strings, character constants, Go's
 * number syntax, variables and their scopes, pipelines, if/else if/with/else with/range with
 * break and continue, define/template/block. Errors read as Go's: `template: NAME:LINE: …`.
 */

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

// ---------------------------------------------------------------- lexer

type ItemType =
  | 'error'
  | 'eof'
  | 'text'
  | 'leftDelim'
  | 'rightDelim'
  | 'space'
  | 'identifier'
  | 'field'
  | 'variable'
  | 'number'
  | 'charConstant'
  | 'complex'
  | 'string'
  | 'rawString'
  | 'bool'
  | 'pipe'
  | 'leftParen'
  | 'rightParen'
  | 'declare'
  | 'assign'
  | 'char'
  | 'comment'
  // keywords
  | 'dot'
  | 'nil'
  | 'block'
  | 'break'
  | 'continue'
  | 'define'
  | 'else'
  | 'end'
  | 'if'
  | 'range'
  | 'template'
  | 'with';

const KEYWORDS = new Map<string, ItemType>(
  Object.entries({
    '.': 'dot',
    block: 'block',
    break: 'break',
    continue: 'continue',
    define: 'define',
    else: 'else',
    end: 'end',
    if: 'if',
    range: 'range',
    nil: 'nil',
    template: 'template',
    with: 'with',
  } as Record<string, ItemType>),
);
const KEYWORD_TYPES = new Set<ItemType>(KEYWORDS.values());

interface Item {
  typ: ItemType;
  pos: number;
  val: string;
  line: number;
}

const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isAlphaNumeric = (c: string | undefined) =>
  c !== undefined && (c === '_' || /^[\p{L}\p{Nd}]$/u.test(c));

function hasLeftTrimMarker(s: string, at: number): boolean {
  return s[at] === '-' && isSpace(s[at + 1]);
}
function hasRightTrimMarker(s: string, at: number): boolean {
  return isSpace(s[at]) && s[at + 1] === '-';
}

function formatRune(c: string): string {
  const cp = c.codePointAt(0)!;
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')} '${c}'`;
}

/** Produces all items up to EOF or the first error (Go's lexer stops there too). */
function lex(input: string, leftDelim: string, rightDelim: string): Item[] {
  const items: Item[] = [];
  let start = 0;
  let pos = 0;
  let startLine = 1;
  let parenDepth = 0;

  const countLines = (from: number, to: number) => {
    let n = 0;
    for (let i = from; i < to; i++) if (input.charCodeAt(i) === 10) n++;
    return n;
  };
  const emit = (typ: ItemType, val = input.slice(start, pos)) => {
    items.push({ typ, pos: start, val, line: startLine });
    startLine += countLines(start, pos);
    start = pos;
  };
  const ignore = () => {
    startLine += countLines(start, pos);
    start = pos;
  };
  const fail = (message: string): false => {
    items.push({ typ: 'error', pos: start, val: message, line: startLine });
    return false;
  };
  const peekChar = () => (pos < input.length ? String.fromCodePoint(input.codePointAt(pos)!) : undefined);
  const nextChar = () => {
    const c = peekChar();
    if (c !== undefined) pos += c.length;
    return c;
  };
  const atRightDelim = (): { delim: boolean; trim: boolean } => {
    if (hasRightTrimMarker(input, pos) && input.startsWith(rightDelim, pos + 2))
      return { delim: true, trim: true };
    if (input.startsWith(rightDelim, pos)) return { delim: true, trim: false };
    return { delim: false, trim: false };
  };
  const atTerminator = () => {
    const c = peekChar();
    if (c === undefined || isSpace(c) || '.,|:)('.includes(c)) return true;
    return input.startsWith(rightDelim, pos);
  };
  const acceptOne = (valid: string) => {
    const c = peekChar();
    if (c !== undefined && valid.includes(c)) {
      pos += c.length;
      return true;
    }
    return false;
  };
  const acceptRun = (valid: string) => {
    while (acceptOne(valid));
  };

  const scanNumber = (): boolean => {
    acceptOne('+-');
    let digits = '0123456789_';
    if (acceptOne('0')) {
      if (acceptOne('xX')) digits = '0123456789abcdefABCDEF_';
      else if (acceptOne('oO')) digits = '01234567_';
      else if (acceptOne('bB')) digits = '01_';
    }
    acceptRun(digits);
    if (acceptOne('.')) acceptRun(digits);
    if (digits.length === 11 && acceptOne('eE')) {
      acceptOne('+-');
      acceptRun('0123456789_');
    }
    if (digits.length === 23 && acceptOne('pP')) {
      acceptOne('+-');
      acceptRun('0123456789_');
    }
    acceptOne('i');
    if (isAlphaNumeric(peekChar())) {
      nextChar();
      return false;
    }
    return true;
  };

  // Returns false when lexing must stop.
  const lexInsideAction = (): boolean => {
    for (;;) {
      const { delim } = atRightDelim();
      if (delim) {
        if (parenDepth !== 0) return fail('unclosed left paren');
        const { trim } = atRightDelim();
        if (trim) {
          pos += 2;
          ignore();
        }
        pos += rightDelim.length;
        emit('rightDelim');
        if (trim) {
          while (isSpace(input[pos])) pos++;
          ignore();
        }
        return true;
      }
      const c = nextChar();
      if (c === undefined) return fail('unclosed action');
      if (isSpace(c)) {
        pos -= c.length;
        let spaces = 0;
        while (isSpace(peekChar())) {
          nextChar();
          spaces++;
        }
        if (hasRightTrimMarker(input, pos - 1) && input.startsWith(rightDelim, pos - 1 + 2)) {
          pos--;
          if (spaces === 1) continue;
        }
        emit('space');
        continue;
      }
      if (c === '=') {
        emit('assign');
      } else if (c === ':') {
        if (nextChar() !== '=') return fail('expected :=');
        emit('declare');
      } else if (c === '|') {
        emit('pipe');
      } else if (c === '"') {
        for (;;) {
          const d = nextChar();
          if (d === '\\') {
            const e = nextChar();
            if (e !== undefined && e !== '\n') continue;
            return fail('unterminated quoted string');
          }
          if (d === undefined || d === '\n') return fail('unterminated quoted string');
          if (d === '"') break;
        }
        emit('string');
      } else if (c === '`') {
        const end = input.indexOf('`', pos);
        if (end < 0) return fail('unterminated raw quoted string');
        pos = end + 1;
        emit('rawString');
      } else if (c === '$') {
        if (!lexFieldOrVariable('variable')) return false;
      } else if (c === "'") {
        for (;;) {
          const d = nextChar();
          if (d === '\\') {
            const e = nextChar();
            if (e !== undefined && e !== '\n') continue;
            return fail('unterminated character constant');
          }
          if (d === undefined || d === '\n') return fail('unterminated character constant');
          if (d === "'") break;
        }
        emit('charConstant');
      } else if (c === '.') {
        if (pos < input.length) {
          const d = input[pos]!;
          if (d >= '0' && d <= '9') {
            pos--;
            if (!lexNumber()) return false;
            continue;
          }
        }
        if (!lexFieldOrVariable('field')) return false;
      } else if (c === '+' || c === '-' || (c >= '0' && c <= '9')) {
        pos -= c.length;
        if (!lexNumber()) return false;
      } else if (isAlphaNumeric(c)) {
        for (;;) {
          const d = nextChar();
          if (!isAlphaNumeric(d)) {
            if (d !== undefined) pos -= d.length;
            const word = input.slice(start, pos);
            if (!atTerminator()) return fail(`bad character ${formatRune(peekChar()!)}`);
            const kw = KEYWORDS.get(word);
            if (kw) emit(kw);
            else if (word === 'true' || word === 'false') emit('bool');
            else emit('identifier');
            break;
          }
        }
      } else if (c === '(') {
        emit('leftParen');
        parenDepth++;
      } else if (c === ')') {
        parenDepth--;
        if (parenDepth < 0) return fail('unexpected right paren');
        emit('rightParen');
      } else if (c.codePointAt(0)! <= 0x7f && c.codePointAt(0)! >= 0x20) {
        emit('char');
      } else {
        return fail(`unrecognized character in action: ${formatRune(c)}`);
      }
    }
  };

  const lexNumber = (): boolean => {
    if (!scanNumber()) return fail(`bad number syntax: ${JSON.stringify(input.slice(start, pos))}`);
    const sign = peekChar();
    if (sign === '+' || sign === '-') {
      if (!scanNumber() || input[pos - 1] !== 'i')
        return fail(`bad number syntax: ${JSON.stringify(input.slice(start, pos))}`);
      emit('complex');
    } else emit('number');
    return true;
  };

  const lexFieldOrVariable = (typ: 'field' | 'variable'): boolean => {
    if (atTerminator()) {
      emit(typ === 'variable' ? 'variable' : 'dot');
      return true;
    }
    let c: string | undefined;
    for (;;) {
      c = nextChar();
      if (!isAlphaNumeric(c)) {
        if (c !== undefined) pos -= c.length;
        break;
      }
    }
    if (!atTerminator()) return fail(`bad character ${formatRune(peekChar()!)}`);
    emit(typ);
    return true;
  };

  for (;;) {
    // lexText
    const x = input.indexOf(leftDelim, pos);
    if (x < 0) {
      pos = input.length;
      if (pos > start) emit('text');
      items.push({ typ: 'eof', pos, val: '', line: startLine });
      return items;
    }
    pos = x;
    const trimLeft = hasLeftTrimMarker(input, x + leftDelim.length);
    let textEnd = pos;
    if (trimLeft) while (textEnd > start && isSpace(input[textEnd - 1])) textEnd--;
    if (textEnd > start) {
      items.push({ typ: 'text', pos: start, val: input.slice(start, textEnd), line: startLine });
    }
    startLine += countLines(start, pos);
    start = pos;
    // lexLeftDelim
    pos += leftDelim.length;
    const afterMarker = trimLeft ? 2 : 0;
    if (input.startsWith('/*', pos + afterMarker)) {
      pos += afterMarker;
      ignore();
      // lexComment
      pos += 2;
      const end = input.indexOf('*/', pos);
      if (end < 0) {
        fail('unclosed comment');
        items.push({ typ: 'eof', pos, val: '', line: startLine });
        return items;
      }
      pos = end + 2;
      const { delim, trim } = atRightDelim();
      if (!delim) {
        fail('comment ends before closing delimiter');
        return items;
      }
      emit('comment');
      if (trim) pos += 2;
      pos += rightDelim.length;
      if (trim) while (isSpace(input[pos])) pos++;
      ignore();
      continue;
    }
    emit('leftDelim');
    pos += afterMarker;
    ignore();
    parenDepth = 0;
    if (!lexInsideAction()) return items;
  }
}

// ---------------------------------------------------------------- nodes

export type Node =
  | TextNode
  | ActionNode
  | IfNode
  | RangeNode
  | WithNode
  | TemplateNode
  | ListNode
  | BreakNode
  | ContinueNode
  | CommentNode;

export type ArgNode =
  | FieldNode
  | VariableNode
  | IdentifierNode
  | ChainNode
  | DotNode
  | NilNode
  | BoolNode
  | NumberNode
  | StringNode
  | PipeNode;

interface Positioned {
  pos: number;
  tree: Tree;
}
export interface TextNode extends Positioned {
  type: 'text';
  text: string;
}
export interface CommentNode extends Positioned {
  type: 'comment';
}
export interface ActionNode extends Positioned {
  type: 'action';
  pipe: PipeNode;
}
export interface BranchNode extends Positioned {
  pipe: PipeNode;
  list: ListNode;
  elseList?: ListNode;
}
export interface IfNode extends BranchNode {
  type: 'if';
}
export interface WithNode extends BranchNode {
  type: 'with';
}
export interface RangeNode extends BranchNode {
  type: 'range';
}
export interface TemplateNode extends Positioned {
  type: 'template';
  name: string;
  pipe?: PipeNode;
}
export interface ListNode extends Positioned {
  type: 'list';
  nodes: Node[];
}
export interface BreakNode extends Positioned {
  type: 'break';
}
export interface ContinueNode extends Positioned {
  type: 'continue';
}
export interface PipeNode extends Positioned {
  type: 'pipe';
  decl: VariableNode[];
  isAssign: boolean;
  cmds: CommandNode[];
}
export interface CommandNode extends Positioned {
  type: 'command';
  args: ArgNode[];
}
export interface FieldNode extends Positioned {
  type: 'field';
  ident: string[];
}
export interface VariableNode extends Positioned {
  type: 'variable';
  ident: string[];
}
export interface IdentifierNode extends Positioned {
  type: 'identifier';
  name: string;
}
export interface ChainNode extends Positioned {
  type: 'chain';
  node: ArgNode;
  field: string[];
}
export interface DotNode extends Positioned {
  type: 'dot';
}
export interface NilNode extends Positioned {
  type: 'nil';
}
export interface BoolNode extends Positioned {
  type: 'bool';
  value: boolean;
}
export interface NumberNode extends Positioned {
  type: 'number';
  text: string;
  isInt: boolean;
  isUint: boolean;
  isFloat: boolean;
  isComplex: boolean;
  int: bigint;
  float: number;
}
export interface StringNode extends Positioned {
  type: 'string';
  quoted: string;
  text: string;
}

/** Go's Node.String(), used in error contexts. */
export function nodeString(n: Node | ArgNode | CommandNode | undefined): string {
  if (!n) return '';
  switch (n.type) {
    case 'text':
      return JSON.stringify(n.text);
    case 'comment':
      return '{{/* */}}';
    case 'action':
      return `{{${nodeString(n.pipe)}}}`;
    case 'if':
    case 'with':
    case 'range':
      return `{{${n.type} ${nodeString(n.pipe)}}}${nodeString(n.list)}${n.elseList ? `{{else}}${nodeString(n.elseList)}` : ''}{{end}}`;
    case 'template':
      return `{{template ${JSON.stringify(n.name)}${n.pipe ? ' ' + nodeString(n.pipe) : ''}}}`;
    case 'list':
      return n.nodes.map(nodeString).join('');
    case 'break':
      return '{{break}}';
    case 'continue':
      return '{{continue}}';
    case 'pipe': {
      let s = '';
      if (n.decl.length > 0) s = n.decl.map(nodeString).join(', ') + (n.isAssign ? ' = ' : ' := ');
      return s + n.cmds.map(nodeString).join(' | ');
    }
    case 'command':
      return n.args.map((a) => (a.type === 'pipe' ? `(${nodeString(a)})` : nodeString(a))).join(' ');
    case 'field':
      return n.ident.map((i) => '.' + i).join('');
    case 'variable':
      return n.ident.join('.');
    case 'identifier':
      return n.name;
    case 'chain':
      return (
        (n.node.type === 'pipe' ? `(${nodeString(n.node)})` : nodeString(n.node)) +
        n.field.map((f) => '.' + f).join('')
      );
    case 'dot':
      return '.';
    case 'nil':
      return 'nil';
    case 'bool':
      return String(n.value);
    case 'number':
      return n.text;
    case 'string':
      return n.quoted;
  }
}

// ---------------------------------------------------------------- unquoting and numbers

function unquoteChar(s: string, i: number, quote: string): { ch: string; next: number } {
  const c = s[i]!;
  if (c === quote && (quote === "'" || quote === '"')) throw new Error('invalid syntax');
  if (c !== '\\') {
    const cp = s.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    return { ch, next: i + ch.length };
  }
  const e = s[i + 1];
  const simple: Record<string, string> = {
    a: '\x07',
    b: '\b',
    f: '\f',
    n: '\n',
    r: '\r',
    t: '\t',
    v: '\v',
    '\\': '\\',
  };
  if (e !== undefined && e in simple) return { ch: simple[e]!, next: i + 2 };
  if (e === "'" || e === '"') {
    if (e !== quote) throw new Error('invalid syntax');
    return { ch: e, next: i + 2 };
  }
  const hex = (n: number) => {
    const h = s.slice(i + 2, i + 2 + n);
    if (h.length !== n || !/^[0-9a-fA-F]+$/.test(h)) throw new Error('invalid syntax');
    return parseInt(h, 16);
  };
  if (e === 'x') {
    const v = hex(2);
    // A \x escape is one byte; above 0x7f it cannot stand alone in a JavaScript string.
    return { ch: String.fromCharCode(v), next: i + 4 };
  }
  if (e === 'u' || e === 'U') {
    const n = e === 'u' ? 4 : 8;
    const v = hex(n);
    if (v > 0x10ffff || (v >= 0xd800 && v < 0xe000)) throw new Error('invalid syntax');
    return { ch: String.fromCodePoint(v), next: i + 2 + n };
  }
  if (e !== undefined && e >= '0' && e <= '7') {
    const o = s.slice(i + 1, i + 4);
    if (!/^[0-7]{3}$/.test(o)) throw new Error('invalid syntax');
    const v = parseInt(o, 8);
    if (v > 255) throw new Error('invalid syntax');
    return { ch: String.fromCharCode(v), next: i + 4 };
  }
  throw new Error('invalid syntax');
}

/** strconv.Unquote for "…", `…` and '…'. */
export function unquote(quoted: string): string {
  const q = quoted[0];
  if (q === '`') {
    if (quoted.length < 2 || quoted[quoted.length - 1] !== '`') throw new Error('invalid syntax');
    return quoted.slice(1, -1).replace(/\r/g, '');
  }
  if (q !== '"' || quoted.length < 2 || quoted[quoted.length - 1] !== '"') throw new Error('invalid syntax');
  const body = quoted.slice(1, -1);
  let out = '';
  let i = 0;
  while (i < body.length) {
    if (body[i] === '\n') throw new Error('invalid syntax');
    const { ch, next } = unquoteChar(body, i, '"');
    out += ch;
    i = next;
  }
  return out;
}

function underscoreOK(s: string): boolean {
  let saw = '^';
  let i = 0;
  if (s[0] === '+' || s[0] === '-') s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && 'bBoOxX'.includes(s[1]!)) {
    i = 2;
    saw = '0';
    hex = s[1] === 'x' || s[1] === 'X';
  }
  for (; i < s.length; i++) {
    const c = s[i]!;
    if ((c >= '0' && c <= '9') || (hex && /[a-fA-F]/.test(c))) {
      saw = '0';
      continue;
    }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

/** strconv.ParseInt(text, 0, 64) / ParseUint: undefined when it fails. */
function parseGoInt(text: string, signed: boolean): bigint | undefined {
  let s = text;
  let neg = false;
  if (s[0] === '+' || s[0] === '-') {
    if (!signed) return undefined;
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s.length === 0) return undefined;
  if (s.includes('_')) {
    if (!underscoreOK(text)) return undefined;
    s = s.replace(/_/g, '');
  }
  let base = 10;
  let digits = s;
  if (s.length > 1 && s[0] === '0') {
    const p = s[1]!.toLowerCase();
    if (p === 'x') {
      base = 16;
      digits = s.slice(2);
    } else if (p === 'o') {
      base = 8;
      digits = s.slice(2);
    } else if (p === 'b') {
      base = 2;
      digits = s.slice(2);
    } else {
      base = 8;
      digits = s.slice(1);
    }
  }
  const valid = { 2: /^[01]+$/, 8: /^[0-7]+$/, 10: /^[0-9]+$/, 16: /^[0-9a-fA-F]+$/ }[
    base as 2 | 8 | 10 | 16
  ];
  if (!valid.test(digits)) return undefined;
  let v = 0n;
  for (const d of digits) v = v * BigInt(base) + BigInt(parseInt(d, base));
  if (neg) v = -v;
  if (signed ? v < -(2n ** 63n) || v >= 2n ** 63n : v >= 2n ** 64n) return undefined;
  return v;
}

/** strconv.ParseFloat(text, 64): undefined when it fails. */
function parseGoFloat(text: string): number | undefined {
  let s = text;
  if (s.includes('_')) {
    if (!underscoreOK(s)) return undefined;
    s = s.replace(/_/g, '');
  }
  const lower = s.toLowerCase();
  if (/^[+-]?(inf|infinity)$/.test(lower)) return lower.startsWith('-') ? -Infinity : Infinity;
  if (/^[+-]?nan$/.test(lower)) return NaN;
  const hexm = /^([+-]?)0x([0-9a-f]*)(?:\.([0-9a-f]*))?p([+-]?\d+)$/.exec(lower);
  if (hexm) {
    const [, sign, ip = '', fp = '', e] = hexm;
    if (ip.length + fp.length === 0) return undefined;
    let mant = 0;
    for (const d of ip) mant = mant * 16 + parseInt(d, 16);
    let scale = 1 / 16;
    for (const d of fp) {
      mant += parseInt(d, 16) * scale;
      scale /= 16;
    }
    const v = mant * 2 ** Number(e);
    return sign === '-' ? -v : v;
  }
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(lower)) return undefined;
  const v = Number(s);
  if (!Number.isFinite(v)) return undefined; // out of range: ParseFloat reports ErrRange
  return v;
}

// ---------------------------------------------------------------- parser

export interface Tree {
  name: string;
  parseName: string;
  text: string;
  root?: ListNode;
}

export type TreeSet = Map<string, Tree>;

export function isEmptyTree(n: Node | undefined): boolean {
  if (!n) return true;
  switch (n.type) {
    case 'list':
      return n.nodes.every(isEmptyTree);
    case 'text':
      return n.text.trim() === '';
    case 'comment':
      return true;
    default:
      return false;
  }
}

class ParseFailure extends Error {}

class Parser {
  private items: Item[];
  private token: Item[] = [];
  private peekCount = 0;
  private vars: string[] = ['$'];
  private rangeDepth = 0;
  private actionLine = 0;
  tree: Tree;

  constructor(
    private readonly shared: { items: Item[]; index: number },
    name: string,
    private readonly parseName: string,
    private readonly text: string,
    private readonly hasFunction: (name: string) => boolean,
    private readonly treeSet: TreeSet,
  ) {
    this.items = shared.items;
    this.tree = { name, parseName, text };
  }

  // Go's parser keeps a 3-token look-ahead buffer over the lexer's channel.
  private nextItem(): Item {
    const item = this.items[this.shared.index] ?? this.items[this.items.length - 1]!;
    if (this.shared.index < this.items.length - 1 || item.typ !== 'eof') this.shared.index++;
    return item;
  }
  private next(): Item {
    if (this.peekCount > 0) this.peekCount--;
    else this.token[0] = this.nextItem();
    return this.token[this.peekCount]!;
  }
  private backup() {
    this.peekCount++;
  }
  private backup2(t1: Item) {
    this.token[1] = t1;
    this.peekCount = 2;
  }
  private backup3(t2: Item, t1: Item) {
    this.token[1] = t1;
    this.token[2] = t2;
    this.peekCount = 3;
  }
  private peek(): Item {
    if (this.peekCount > 0) return this.token[this.peekCount - 1]!;
    this.peekCount = 1;
    this.token[0] = this.nextItem();
    return this.token[0];
  }
  private nextNonSpace(): Item {
    let t: Item;
    for (;;) {
      t = this.next();
      if (t.typ !== 'space') break;
    }
    return t;
  }
  private peekNonSpace(): Item {
    const t = this.nextNonSpace();
    this.backup();
    return t;
  }

  errorf(message: string): never {
    const line = this.token[0]?.line ?? 1;
    throw new ParseFailure(`template: ${this.parseName}:${line}: ${message}`);
  }
  private expect(typ: ItemType, context: string): Item {
    const t = this.nextNonSpace();
    if (t.typ !== typ) this.unexpected(t, context);
    return t;
  }
  private expectOneOf(a: ItemType, b: ItemType, context: string): Item {
    const t = this.nextNonSpace();
    if (t.typ !== a && t.typ !== b) this.unexpected(t, context);
    return t;
  }
  private unexpected(t: Item, context: string): never {
    if (t.typ === 'error') {
      let extra = '';
      if (this.actionLine !== 0 && this.actionLine !== t.line) {
        extra = ` in action started at ${this.parseName}:${this.actionLine}`;
        if (t.val.endsWith(' action')) extra = extra.slice(' in action'.length);
      }
      this.errorf(`${t.val}${extra}`);
    }
    this.errorf(`unexpected ${itemString(t)} in ${context}`);
  }

  private pos<T extends object>(pos: number, node: T): T & Positioned {
    return Object.assign(node, { pos, tree: this.tree });
  }

  parse(): void {
    this.tree.root = this.pos(this.peek().pos, { type: 'list' as const, nodes: [] as Node[] });
    while (this.peek().typ !== 'eof') {
      if (this.peek().typ === 'leftDelim') {
        const delim = this.next();
        if (this.nextNonSpace().typ === 'define') {
          const sub = new Parser(
            this.shared,
            'definition',
            this.parseName,
            this.text,
            this.hasFunction,
            this.treeSet,
          );
          sub.token = this.token; // share look-ahead state
          sub.peekCount = 0;
          sub.parseDefinition();
          continue;
        }
        this.backup2(delim);
      }
      const n = this.textOrAction();
      if (n.type === ('end' as string) || n.type === ('else' as string))
        this.errorf(`unexpected ${pseudoString(n)}`);
      this.tree.root.nodes.push(n as Node);
    }
    this.add();
  }

  private parseDefinition(): void {
    const context = 'define clause';
    const name = this.expectOneOf('string', 'rawString', context);
    try {
      this.tree.name = unquote(name.val);
    } catch (err) {
      this.errorf((err as Error).message);
    }
    this.expect('rightDelim', context);
    const [list, end] = this.itemList();
    if (end.type !== 'end') this.errorf(`unexpected ${pseudoString(end)} in ${context}`);
    this.tree.root = list;
    this.add();
  }

  private add(): void {
    const existing = this.treeSet.get(this.tree.name);
    if (!existing || isEmptyTree(existing.root)) {
      this.treeSet.set(this.tree.name, this.tree);
      return;
    }
    if (!isEmptyTree(this.tree.root))
      this.errorf(`template: multiple definition of template ${JSON.stringify(this.tree.name)}`);
  }

  private itemList(): [ListNode, Pseudo] {
    const list = this.pos(this.peekNonSpace().pos, { type: 'list' as const, nodes: [] as Node[] });
    while (this.peekNonSpace().typ !== 'eof') {
      const n = this.textOrAction();
      if (n.type === 'end' || n.type === 'else') return [list, n as Pseudo];
      list.nodes.push(n as Node);
    }
    this.errorf('unexpected EOF');
  }

  private textOrAction(): Node | Pseudo {
    const token = this.nextNonSpace();
    switch (token.typ) {
      case 'text':
        return this.pos(token.pos, { type: 'text' as const, text: token.val });
      case 'leftDelim':
        this.actionLine = token.line;
        try {
          return this.action();
        } finally {
          this.actionLine = 0;
        }
      case 'comment':
        return this.pos(token.pos, { type: 'comment' as const });
      default:
        this.unexpected(token, 'input');
    }
  }

  private action(): Node | Pseudo {
    const token = this.nextNonSpace();
    switch (token.typ) {
      case 'block':
        return this.blockControl();
      case 'break':
        return this.loopControl(token, 'break');
      case 'continue':
        return this.loopControl(token, 'continue');
      case 'else':
        return this.elseControl();
      case 'end':
        return { type: 'end', pos: this.expect('rightDelim', 'end').pos };
      case 'if':
        return this.control('if');
      case 'range':
        return this.control('range');
      case 'template':
        return this.templateControl();
      case 'with':
        return this.control('with');
    }
    this.backup();
    const t = this.peek();
    return this.pos(t.pos, { type: 'action' as const, pipe: this.pipeline('command', 'rightDelim') });
  }

  private loopControl(token: Item, kind: 'break' | 'continue'): Node {
    const t = this.nextNonSpace();
    if (t.typ !== 'rightDelim') this.unexpected(t, `{{${kind}}}`);
    if (this.rangeDepth === 0) this.errorf(`{{${kind}}} outside {{range}}`);
    return this.pos(token.pos, { type: kind });
  }

  private elseControl(): Pseudo {
    const peek = this.peekNonSpace();
    if (peek.typ === 'if' || peek.typ === 'with') return { type: 'else', pos: peek.pos };
    const token = this.expect('rightDelim', 'else');
    return { type: 'else', pos: token.pos };
  }

  private control(context: 'if' | 'with' | 'range'): Node {
    const mark = this.vars.length;
    try {
      const pipe = this.pipeline(context, 'rightDelim');
      if (context === 'range') this.rangeDepth++;
      const [list, next] = this.itemList();
      if (context === 'range') this.rangeDepth--;
      let elseList: ListNode | undefined;
      if (next.type === 'else') {
        if (context === 'if' && this.peek().typ === 'if') {
          this.next();
          elseList = this.pos(next.pos, { type: 'list' as const, nodes: [this.control('if')] });
        } else if (context === 'with' && this.peek().typ === 'with') {
          this.next();
          elseList = this.pos(next.pos, { type: 'list' as const, nodes: [this.control('with')] });
        } else {
          const [els, end] = this.itemList();
          if (end.type !== 'end') this.errorf(`expected end; found ${pseudoString(end)}`);
          elseList = els;
        }
      }
      return this.pos(pipe.pos, { type: context, pipe, list, elseList });
    } finally {
      this.vars.length = mark;
    }
  }

  private templateName(token: Item, context: string): string {
    if (token.typ === 'string' || token.typ === 'rawString') {
      try {
        return unquote(token.val);
      } catch (err) {
        this.errorf((err as Error).message);
      }
    }
    this.unexpected(token, context);
  }

  private templateControl(): Node {
    const context = 'template clause';
    const token = this.nextNonSpace();
    const name = this.templateName(token, context);
    let pipe: PipeNode | undefined;
    if (this.nextNonSpace().typ !== 'rightDelim') {
      this.backup();
      pipe = this.pipeline(context, 'rightDelim');
    }
    return this.pos(token.pos, { type: 'template' as const, name, pipe });
  }

  private blockControl(): Node {
    const context = 'block clause';
    const token = this.nextNonSpace();
    const name = this.templateName(token, context);
    const pipe = this.pipeline(context, 'rightDelim');
    const sub = new Parser(this.shared, name, this.parseName, this.text, this.hasFunction, this.treeSet);
    sub.token = this.token;
    sub.peekCount = this.peekCount;
    const [list, end] = sub.itemList();
    if (end.type !== 'end') this.errorf(`unexpected ${pseudoString(end)} in ${context}`);
    sub.tree.root = list;
    sub.add();
    this.peekCount = sub.peekCount;
    return this.pos(token.pos, { type: 'template' as const, name, pipe });
  }

  private pipeline(context: string, end: ItemType): PipeNode {
    const token = this.peekNonSpace();
    const pipe = this.pos(token.pos, {
      type: 'pipe' as const,
      decl: [] as VariableNode[],
      isAssign: false,
      cmds: [] as CommandNode[],
    });
    decls: for (;;) {
      const v = this.peekNonSpace();
      if (v.typ !== 'variable') break;
      this.next();
      const tokenAfterVariable = this.peek();
      const next = this.peekNonSpace();
      if (next.typ === 'assign' || next.typ === 'declare') {
        pipe.isAssign = next.typ === 'assign';
        this.nextNonSpace();
        pipe.decl.push(this.pos(v.pos, { type: 'variable' as const, ident: v.val.split('.') }));
        this.vars.push(v.val);
      } else if (next.typ === 'char' && next.val === ',') {
        this.nextNonSpace();
        pipe.decl.push(this.pos(v.pos, { type: 'variable' as const, ident: v.val.split('.') }));
        this.vars.push(v.val);
        if (context === 'range' && pipe.decl.length < 2) {
          const p = this.peekNonSpace().typ;
          if (p === 'variable' || p === 'rightDelim' || p === 'rightParen') continue decls;
          this.errorf('range can only initialize variables');
        }
        this.errorf(`too many declarations in ${context}`);
      } else if (tokenAfterVariable.typ === 'space') {
        this.backup3(v, tokenAfterVariable);
      } else {
        this.backup2(v);
      }
      break;
    }
    for (;;) {
      const token = this.nextNonSpace();
      if (token.typ === end) {
        this.checkPipeline(pipe, context);
        return pipe;
      }
      switch (token.typ) {
        case 'bool':
        case 'charConstant':
        case 'complex':
        case 'dot':
        case 'field':
        case 'identifier':
        case 'number':
        case 'nil':
        case 'rawString':
        case 'string':
        case 'variable':
        case 'leftParen':
          this.backup();
          pipe.cmds.push(this.command());
          break;
        default:
          this.unexpected(token, context);
      }
    }
  }

  private checkPipeline(pipe: PipeNode, context: string): void {
    if (pipe.cmds.length === 0) this.errorf(`missing value for ${context}`);
    pipe.cmds.slice(1).forEach((c, i) => {
      const t = c.args[0]!.type;
      if (t === 'bool' || t === 'dot' || t === 'nil' || t === 'number' || t === 'string') {
        this.errorf(`non executable command in pipeline stage ${i + 2}`);
      }
    });
  }

  private command(): CommandNode {
    const cmd = this.pos(this.peekNonSpace().pos, { type: 'command' as const, args: [] as ArgNode[] });
    for (;;) {
      this.peekNonSpace();
      const operand = this.operand();
      if (operand) cmd.args.push(operand);
      const token = this.next();
      if (token.typ === 'space') continue;
      if (token.typ === 'rightDelim' || token.typ === 'rightParen') this.backup();
      else if (token.typ !== 'pipe') this.unexpected(token, 'operand');
      break;
    }
    if (cmd.args.length === 0) this.errorf('empty command');
    return cmd;
  }

  private operand(): ArgNode | undefined {
    const node = this.term();
    if (!node) return undefined;
    if (this.peek().typ === 'field') {
      const fields: string[] = [];
      while (this.peek().typ === 'field') fields.push(this.next().val.slice(1));
      switch (node.type) {
        case 'field':
          return this.pos(node.pos, { type: 'field' as const, ident: [...node.ident, ...fields] });
        case 'variable':
          return this.pos(node.pos, { type: 'variable' as const, ident: [...node.ident, ...fields] });
        case 'bool':
        case 'string':
        case 'number':
        case 'nil':
        case 'dot':
          this.errorf(`unexpected . after term ${JSON.stringify(nodeString(node))}`);
        default:
          return this.pos(node.pos, { type: 'chain' as const, node, field: fields });
      }
    }
    return node;
  }

  private term(): ArgNode | undefined {
    const token = this.nextNonSpace();
    switch (token.typ) {
      case 'identifier':
        if (!this.hasFunction(token.val)) this.errorf(`function ${JSON.stringify(token.val)} not defined`);
        return this.pos(token.pos, { type: 'identifier' as const, name: token.val });
      case 'dot':
        return this.pos(token.pos, { type: 'dot' as const });
      case 'nil':
        return this.pos(token.pos, { type: 'nil' as const });
      case 'variable': {
        const ident = token.val.split('.');
        if (!this.vars.includes(ident[0]!)) this.errorf(`undefined variable ${JSON.stringify(ident[0])}`);
        return this.pos(token.pos, { type: 'variable' as const, ident });
      }
      case 'field':
        return this.pos(token.pos, { type: 'field' as const, ident: token.val.slice(1).split('.') });
      case 'bool':
        return this.pos(token.pos, { type: 'bool' as const, value: token.val === 'true' });
      case 'charConstant':
      case 'complex':
      case 'number':
        return this.newNumber(token);
      case 'leftParen':
        return this.pipeline('parenthesized pipeline', 'rightParen');
      case 'string':
      case 'rawString':
        try {
          return this.pos(token.pos, {
            type: 'string' as const,
            quoted: token.val,
            text: unquote(token.val),
          });
        } catch (err) {
          this.errorf((err as Error).message);
        }
    }
    this.backup();
    return undefined;
  }

  private newNumber(token: Item): NumberNode {
    const text = token.val;
    const n = this.pos(token.pos, {
      type: 'number' as const,
      text,
      isInt: false,
      isUint: false,
      isFloat: false,
      isComplex: false,
      int: 0n,
      float: 0,
    });
    if (token.typ === 'charConstant') {
      let r: { ch: string; next: number };
      try {
        r = unquoteChar(text, 1, "'");
      } catch (err) {
        this.errorf((err as Error).message);
      }
      if (text.slice(r.next) !== "'") this.errorf(`malformed character constant: ${text}`);
      const cp = r.ch.codePointAt(0)!;
      Object.assign(n, { isInt: true, isUint: true, isFloat: true, int: BigInt(cp), float: cp });
      return n;
    }
    if (token.typ === 'complex' || text.endsWith('i')) {
      // Complex numbers have no place in the data templates see here.
      this.errorf(`complex constants are not supported: ${JSON.stringify(text)}`);
    }
    const u = parseGoInt(text, false);
    if (u !== undefined) {
      n.isUint = true;
    }
    const i = parseGoInt(text, true);
    if (i !== undefined) {
      n.isInt = true;
      n.int = i;
      if (i === 0n) n.isUint = true;
    }
    if (n.isInt) {
      n.isFloat = true;
      n.float = Number(n.int);
    } else if (u !== undefined) {
      n.isFloat = true;
      n.float = Number(u);
      n.int = u;
    } else {
      const f = parseGoFloat(text);
      if (f !== undefined) {
        if (!/[.eEpP]/.test(text)) this.errorf(`integer overflow: ${JSON.stringify(text)}`);
        n.isFloat = true;
        n.float = f;
        if (Number.isInteger(f) && f >= -(2 ** 63) && f < 2 ** 63) {
          n.isInt = true;
          n.int = BigInt(f);
        }
        if (Number.isInteger(f) && f >= 0 && f < 2 ** 64) n.isUint = true;
      }
    }
    if (!n.isInt && !n.isUint && !n.isFloat) this.errorf(`illegal number syntax: ${JSON.stringify(text)}`);
    return n;
  }
}

interface Pseudo {
  type: 'end' | 'else';
  pos: number;
}

function pseudoString(n: Pseudo | Node): string {
  if (n.type === 'end') return '{{end}}';
  if (n.type === 'else') return '{{else}}';
  return nodeString(n as Node);
}

function itemString(t: Item): string {
  if (t.typ === 'eof') return 'EOF';
  if (t.typ === 'error') return t.val;
  if (KEYWORD_TYPES.has(t.typ)) return `<${t.val}>`;
  if (t.typ === 'space') return JSON.stringify(t.val);
  const chars = [...t.val];
  if (chars.length > 10) return `${JSON.stringify(chars.slice(0, 10).join(''))}...`;
  return JSON.stringify(t.val);
}

/** Parses a template text into its trees: the main one under `name`, plus every define/block. */
export function parseTrees(
  name: string,
  text: string,
  leftDelim: string,
  rightDelim: string,
  hasFunction: (name: string) => boolean,
): TreeSet {
  const treeSet: TreeSet = new Map();
  const items = lex(text, leftDelim || '{{', rightDelim || '}}');
  const parser = new Parser({ items, index: 0 }, name, name, text, hasFunction, treeSet);
  try {
    parser.parse();
  } catch (err) {
    if (err instanceof ParseFailure) throw new TemplateError(err.message);
    throw err;
  }
  return treeSet;
}

/** Go's ErrorContext: `name:line:col` of a node and its text, for execution errors. */
export function errorContext(node: { pos: number; tree: Tree } & (Node | ArgNode | CommandNode)): {
  location: string;
  context: string;
} {
  const text = node.tree.text.slice(0, node.pos);
  const nl = text.lastIndexOf('\n');
  const col = nl < 0 ? node.pos : node.pos - (nl + 1);
  const line = 1 + (text.match(/\n/g)?.length ?? 0);
  const context = nodeString(node);
  return { location: `${node.tree.parseName}:${line}:${col}`, context };
}
