import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { identityMatches } from '../../src/sign/cosign/verify.js';
import { compileGoRegExp, GoRegExpError } from '../../src/util/go-regexp.js';
import { runCli } from '../support/cli.js';
import { pushKeyless } from '../support/keyless.js';
import { GITHUB_ISSUER, startMockSigstore, type MockSigstore } from '../support/sigstore.js';

/**
 * Identity and issuer patterns are Go regexps (cosign, sigstore-go and source-controller call
 * regexp.Compile and MatchString): RE2 syntax, unanchored, no lookaround.
 */
const MAIN = 'https://github.com/octo/demo/.github/workflows/release.yml@refs/heads/main';

describe('Go regexp syntax and matching', () => {
  it.each([
    // [pattern, value, Go's MatchString]
    ['@refs/heads/main\\z', MAIN, true],
    ['@refs/heads/main\\z', `${MAIN}z-evil`, false],
    ['@refs/heads/main$', `${MAIN}\n`, false], // without (?m), $ is the end of text in Go
    ['(?i)^HTTPS://GITHUB\\.COM/OCTO/', MAIN, true],
    ['^https://github\\.com/(?P<org>[^/]+)/demo/', MAIN, true],
    ['^https://github\\.com/(?<org>[^/]+)/demo/', MAIN, true],
    ['^https://github\\.com/[[:alnum:]]+/[[:alnum:]]+/\\.github/', MAIN, true],
    ['^https://github\\.com/[[:digit:]]+/', MAIN, false],
    ['\\Aocto', MAIN, false],
    ['octo/demo', MAIN, true], // unanchored, as MatchString
    ['\\pL+://', MAIN, true],
  ])('%j against %j: %s', (pattern, value, expected) => {
    expect(compileGoRegExp(pattern).matches(value)).toBe(expected);
  });

  it.each([
    ['^https://github\\.com/(?=octo)', 'error parsing regexp: invalid or unsupported Perl syntax: `(?=`'],
    ['(?!x)', 'error parsing regexp: invalid or unsupported Perl syntax: `(?!`'],
    ['(a)\\1', 'error parsing regexp: invalid escape sequence: `\\1`'],
    ['main\\Z', 'error parsing regexp: invalid escape sequence: `\\Z`'],
    ['(', 'error parsing regexp: missing closing ): `(`'],
  ])('Go refuses %j: %s', (pattern, message) => {
    expect(() => compileGoRegExp(pattern)).toThrow(new GoRegExpError(message));
  });

  it('reads identities as sigstore-go for bundles and as cosign CheckCertificatePolicy for .sig layers', () => {
    // Both an exact value and a regexp: sigstore-go requires both; cosign's legacy check uses the regexp.
    const both = { subject: 'https://other.example', subjectRegExp: 'octo/demo', issuer: GITHUB_ISSUER };
    expect(identityMatches(both, MAIN, GITHUB_ISSUER, 'bundle')).toBe(false);
    expect(identityMatches(both, MAIN, GITHUB_ISSUER, 'legacy')).toBe(true);
    // An empty pattern is no constraint, as in Go.
    expect(identityMatches({ subjectRegExp: '', issuerRegExp: 'github' }, MAIN, GITHUB_ISSUER)).toBe(true);
    expect(
      identityMatches({ subjectRegExp: 'main\\z', issuer: GITHUB_ISSUER }, `${MAIN}z-evil`, GITHUB_ISSUER),
    ).toBe(false);
  });
});

describe('verify flags and a signer whose ref only starts like main', () => {
  let sigstore: MockSigstore;
  beforeAll(async () => {
    sigstore = await startMockSigstore({
      workflowRef: 'octo/demo/.github/workflows/release.yml@refs/heads/mainz-evil',
    });
  });
  afterAll(() => sigstore?.stop());

  const verify = (
    ref: string,
    subjectRegExp: string,
    issuerRegExp = '^https://token\\.actions\\.githubusercontent\\.com$',
  ) =>
    runCli([
      'verify',
      ref,
      '--certificate-identity-regexp',
      subjectRegExp,
      '--certificate-oidc-issuer-regexp',
      issuerRegExp,
      '--trusted-root',
      sigstore.trustedRootPath,
      '--format',
      'json',
    ]);

  it('`main\\z` refuses refs/heads/mainz-evil in both layouts; (?i) and (?P<>) accept what Go accepts', async () => {
    for (const ref of [
      (await pushKeyless(sigstore, 'goregexp/legacy')).ref,
      (await pushKeyless(sigstore, 'goregexp/bundle', ['--bundle-format'])).ref,
    ]) {
      const refused = await verify(ref, '^https://github\\.com/octo/demo/.+@refs/heads/main\\z');
      expect(refused.code).toBe(1);
      expect(JSON.parse(refused.stdout).sources[0]).toMatchObject({
        verified: false,
        reason: expect.stringContaining(`the certificate identity ${sigstore.identity.subject}`),
      });
      const accepted = await verify(
        ref,
        '(?i)^HTTPS://github\\.com/(?P<org>[[:alnum:]]+)/demo/.+@refs/heads/mainz-evil\\z',
      );
      expect(JSON.parse(accepted.stdout).sources[0]).toMatchObject({ verified: true });
      expect(accepted.code).toBe(0);
    }
  });

  it('a lookahead is refused before anything is read, in one line, with exit 2', async () => {
    const r = await verify('oci://127.0.0.1:1/nowhere:v1', '^https://github\\.com/(?=octo)');
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringContaining(
        'verify: --certificate-identity-regexp ^https://github\\.com/(?=octo): not a valid Go regular expression (error parsing regexp: invalid or unsupported Perl syntax: `(?=`)',
      ),
    ]);
  });
});
