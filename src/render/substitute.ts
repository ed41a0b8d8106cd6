import { isMap, isScalar, isSeq, parseDocument, type Node as YamlNode } from 'yaml';

/**
 * Flux's postBuild variable substitution (fluxcd/pkg envsubst, a fork of drone/envsubst):
 * only `${...}` is expanded, `$${x}` escapes, the bash-like string operators, and strict mode
 * (undefined variables fail unless a default operator covers them).
 */
export class SubstitutionError extends Error {
  /** Offset in the substituted text of the top-level `${` at fault (set by `substitute`). */
  offset?: number;

  /**
   * @param message quotes the expression, for text that is not secret;
   * @param reason says what is wrong without quoting anything, for text that is.
   */
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

export const VARIABLE_NAME = /^[_a-zA-Z][_a-zA-Z0-9]*$/;

export interface SubstituteOptions {
  strict: boolean;
}

export function substitute(
  text: string,
  vars: ReadonlyMap<string, string>,
  options: SubstituteOptions,
): string {
  return substituteText(text, vars, options, true);
}

function substituteText(
  text: string,
  vars: ReadonlyMap<string, string>,
  options: SubstituteOptions,
  top: boolean,
): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '$' && text[i + 1] === '$' && text[i + 2] === '{') {
      // `$${x}` is the literal `${x}`
      const end = matchBrace(text, i + 2);
      out += end < 0 ? text.slice(i + 1) : text.slice(i + 1, end + 1);
      i = end < 0 ? text.length : end + 1;
      continue;
    }
    if (c === '$' && text[i + 1] === '{') {
      const end = matchBrace(text, i + 1);
      try {
        if (end < 0)
          throw new SubstitutionError(
            `unterminated variable at '${text.slice(i, i + 20)}'`,
            'unterminated variable',
          );
        out += expand(text.slice(i + 2, end), vars, options);
      } catch (err) {
        if (top && err instanceof SubstitutionError) err.offset = i;
        throw err;
      }
      i = end + 1;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

function matchBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return i;
  }
  return -1;
}

function expand(expr: string, vars: ReadonlyMap<string, string>, options: SubstituteOptions): string {
  const sub = (s: string) => substituteText(s, vars, options, false);
  if (expr.startsWith('#')) {
    const name = expr.slice(1);
    return String(lookup(name, vars, options, true).length);
  }
  const m = /^([_a-zA-Z][_a-zA-Z0-9]*)(.*)$/s.exec(expr);
  if (!m)
    throw new SubstitutionError(`invalid variable expression '\${${expr}}'`, 'invalid variable expression');
  const name = m[1]!;
  const op = m[2]!;
  const defined = vars.has(name);
  const value = vars.get(name) ?? '';

  if (op === '') return lookup(name, vars, options, false);
  // Defaults: `-`/`=` when unset, `:-`/`:=` when unset or empty.
  for (const [token, emptyToo] of [
    [':-', true],
    [':=', true],
    ['-', false],
    ['=', false],
  ] as const) {
    if (op.startsWith(token)) {
      const useDefault = !defined || (emptyToo && value === '');
      return useDefault ? sub(op.slice(token.length)) : value;
    }
  }
  if (op.startsWith('+') || op.startsWith(':+') || op.startsWith(':?') || op.startsWith('?')) {
    throw new SubstitutionError(`unsupported operator in '\${${expr}}'`, 'unsupported operator');
  }
  const v = lookup(name, vars, options, true);
  if (op === '^') return v.charAt(0).toUpperCase() + v.slice(1);
  if (op === '^^') return v.toUpperCase();
  if (op === ',') return v.charAt(0).toLowerCase() + v.slice(1);
  if (op === ',,') return v.toLowerCase();
  if (op.startsWith('##')) return trimPrefix(v, sub(op.slice(2)), true);
  if (op.startsWith('#')) return trimPrefix(v, sub(op.slice(1)), false);
  if (op.startsWith('%%')) return trimSuffix(v, sub(op.slice(2)), true);
  if (op.startsWith('%')) return trimSuffix(v, sub(op.slice(1)), false);
  if (op.startsWith('/')) {
    const all = op.startsWith('//');
    const anchor = !all && (op[1] === '#' || op[1] === '%') ? op[1] : '';
    const body = op.slice(all ? 2 : anchor ? 2 : 1);
    const slash = body.indexOf('/');
    const pattern = sub(slash < 0 ? body : body.slice(0, slash));
    const replacement = slash < 0 ? '' : sub(body.slice(slash + 1));
    if (!pattern) return v;
    if (anchor === '#') return v.startsWith(pattern) ? replacement + v.slice(pattern.length) : v;
    if (anchor === '%') return v.endsWith(pattern) ? v.slice(0, v.length - pattern.length) + replacement : v;
    return all ? v.split(pattern).join(replacement) : v.replace(pattern, () => replacement);
  }
  const slice = /^:(-?\d+)(?::(\d+))?$/.exec(op);
  if (slice) {
    let start = Number(slice[1]);
    if (start < 0) start = Math.max(0, v.length + start);
    return slice[2] === undefined ? v.slice(start) : v.slice(start, start + Number(slice[2]));
  }
  throw new SubstitutionError(`unsupported operator in '\${${expr}}'`, 'unsupported operator');
}

function lookup(
  name: string,
  vars: ReadonlyMap<string, string>,
  options: SubstituteOptions,
  transform: boolean,
): string {
  if (!VARIABLE_NAME.test(name))
    throw new SubstitutionError(`invalid variable name '${name}'`, 'invalid variable name');
  const v = vars.get(name);
  if (v === undefined) {
    if (options.strict) {
      throw new SubstitutionError(
        `variable not set (strict mode): ${transform ? `'${name}' (in a transform)` : `'${name}'`}`,
        'variable not set (strict mode)',
      );
    }
    return '';
  }
  return v;
}

/** Shell patterns: `*` and `?` only, which is what Flux users write. */
function patternRegex(pattern: string, greedy: boolean): string {
  return pattern
    .split('')
    .map((ch) =>
      ch === '*' ? (greedy ? '.*' : '.*?') : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&'),
    )
    .join('');
}

function trimPrefix(v: string, pattern: string, longest: boolean): string {
  const m = new RegExp(`^(?:${patternRegex(pattern, longest)})`, 's').exec(v);
  return m ? v.slice(m[0].length) : v;
}

function trimSuffix(v: string, pattern: string, longest: boolean): string {
  for (let i = longest ? 0 : v.length; longest ? i <= v.length : i >= 0; longest ? i++ : i--) {
    if (new RegExp(`^(?:${patternRegex(pattern, true)})$`, 's').test(v.slice(i))) return v.slice(0, i);
  }
  return v;
}

/**
 * The field of an object's YAML text that overlaps `[from, to)`: its path (`stringData.password`,
 * `spec.containers[0].image`) and source text. Used to name the field a substitution failed in
 * without quoting it when it is secret.
 */
export function fieldAt(
  text: string,
  from: number,
  to = from + 1,
): { path: string; source: string } | undefined {
  const overlaps = (node: YamlNode | null | undefined) =>
    !!node?.range &&
    node.range[0] < Math.max(to, from + 1) &&
    from < Math.max(node.range[2], node.range[0] + 1);
  const find = (node: unknown, path: string[]): { path: string[]; source: string } | undefined => {
    if (isScalar(node))
      return overlaps(node) ? { path, source: text.slice(node.range![0], node.range![2]) } : undefined;
    if (isMap(node))
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : '?';
        if (isScalar(pair.key) && overlaps(pair.key)) return { path: [...path, key], source: key };
        const found = find(pair.value, [...path, key]);
        if (found) return found;
      }
    if (isSeq(node))
      for (const [i, item] of node.items.entries()) {
        const found = find(item, [...path, `[${i}]`]);
        if (found) return found;
      }
    return undefined;
  };
  const found = find(parseDocument(text).contents, []);
  return found && { path: found.path.join('.').replace(/\.\[/g, '['), source: found.source };
}
