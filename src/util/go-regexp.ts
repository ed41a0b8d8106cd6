/**
 * Regular expressions as Go's `regexp` package reads them (RE2 syntax: `\z`, `(?i)`,
 * `(?P<name>…)`, `[[:alnum:]]`; no lookaround, no backreferences), through re2js, a port of
 * RE2. cosign, sigstore-go and source-controller compile identity and issuer patterns with
 * `regexp.Compile` and match with `MatchString`, which is unanchored: `a` matches `xay`.
 */
import { RE2JS } from 're2js';

/** A compiled Go regexp; `matches` is Go's `MatchString` (unanchored). */
export interface GoRegExp {
  source: string;
  matches(value: string): boolean;
}

export class GoRegExpError extends Error {}

/** Compiles `pattern` with Go's syntax; a pattern Go refuses throws GoRegExpError (one line). */
export function compileGoRegExp(pattern: string): GoRegExp {
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern);
  } catch (err) {
    // re2js words its errors as Go does: "error parsing regexp: invalid or unsupported Perl syntax: `(?=`".
    throw new GoRegExpError((err as Error).message.split('\n')[0]!);
  }
  return { source: pattern, matches: (value) => re.matcher(value).find() };
}

/** Why Go would refuse `pattern`, or undefined when it compiles. */
export function goRegExpProblem(pattern: string): string | undefined {
  try {
    compileGoRegExp(pattern);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
