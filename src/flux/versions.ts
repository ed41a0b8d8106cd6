/**
 * Chart and artifact version constraints as Flux reads them: Helm and source-controller parse
 * them with Masterminds/semver v3 (`>= 1.0.0, < 2.0.0 || ~3`), node-semver reads a dialect of
 * the same language. `npmRange` translates one into the other, following Masterminds'
 * constraints.go: `,` and spaces both join terms (AND), `||` separates alternatives, `=>`/`=<`
 * are `>=`/`<=`, `!=` excludes one version, `x`/`X`/`*` are wildcards.
 */
import semver from 'semver';
import { FluxgateError } from '../errors.js';

/** A Masterminds constraint that node-semver cannot read in any form. */
export class VersionRangeError extends FluxgateError {
  constructor(constraint: string) {
    super('INPUT', `'${constraint}' is not a semver constraint`);
    this.name = 'VersionRangeError';
  }
}

const OPERATOR = /^(=>|=<|>=|<=|!=|~>|>|<|=|~|\^)?\s*v?(.*)$/;

/** The node-semver range equal to a Masterminds constraint; throws VersionRangeError. */
export function npmRange(constraint: string): string {
  const text = constraint.trim();
  if (text === '' || text === '*') return '*';
  const alternatives: string[] = [];
  for (const alternative of text.split('||')) {
    // Masterminds joins an operator to its version across spaces (`>= 1.2`): join them first.
    const glued = alternative
      .trim()
      .replace(/(=>|=<|>=|<=|!=|~>|>|<|=|~|\^)\s+/g, '$1')
      .replace(/\s+-\s+/g, '\u0000');
    const terms = glued.split(/[\s,]+/).filter(Boolean);
    // A `!=v` term splits the AND group in two: below v, or above it.
    let groups: string[][] = [[]];
    for (const term of terms) {
      if (term.includes('\u0000')) {
        groups = groups.map((g) => [...g, term.replace('\u0000', ' - ')]);
        continue;
      }
      const [, op = '', version = ''] = OPERATOR.exec(term)!;
      if (op === '!=') {
        if (!semver.valid(version, { loose: true })) throw new VersionRangeError(constraint);
        groups = groups.flatMap((g) => [
          [...g, `<${version}`],
          [...g, `>${version}`],
        ]);
        continue;
      }
      const npmOp = op === '=>' ? '>=' : op === '=<' ? '<=' : op;
      groups = groups.map((g) => [...g, `${npmOp}${version}`]);
    }
    alternatives.push(...groups.map((g) => g.join(' ')));
  }
  const range = alternatives.join(' || ');
  const valid = semver.validRange(range, { loose: true });
  if (valid === null) throw new VersionRangeError(constraint);
  return range;
}

/** Whether a constraint names one version exactly (`1.2.3`, `v1.2.3`, `=1.2.3`). */
export function exactVersion(constraint: string): string | undefined {
  const text = constraint.trim().replace(/^=\s*/, '');
  return semver.valid(text, { loose: true }) ? text.replace(/^v/, '') : undefined;
}

/**
 * The highest of `versions` that satisfies a Masterminds constraint (Helm's repo index lookup,
 * source-controller's semver tag choice); undefined when none does. Versions that are not
 * semver are skipped, as Helm skips them.
 */
export function highestSatisfying(versions: readonly string[], constraint: string): string | undefined {
  const range = npmRange(constraint);
  let best: string | undefined;
  for (const v of versions) {
    const parsed = semver.valid(v, { loose: true });
    if (!parsed || !semver.satisfies(parsed, range, { loose: true })) continue;
    if (!best || semver.gt(parsed, semver.valid(best, { loose: true })!, { loose: true })) best = v;
  }
  return best;
}
