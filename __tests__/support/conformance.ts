/**
 * sigstore-conformance `test/assets/bundle-verify` (copied under
 * __tests__/fixtures/vectors/sigstore-conformance, see SOURCES.md): the cases, their inputs, and
 * the verdict cosign gives each as source-controller runs it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COSIGN_VECTORS } from './signing.js';
import { FIXTURES } from './tools.js';

export const CONFORMANCE_ROOT = join(FIXTURES, 'vectors', 'sigstore-conformance');
export const CONFORMANCE_CASES = join(CONFORMANCE_ROOT, 'bundle-verify');
export const DEFAULT_IDENTITY =
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
export const DEFAULT_ISSUER = 'https://token.actions.githubusercontent.com';
/** The public-good trusted root the suite's client would fetch through TUF (a snapshot). */
export const PUBLIC_GOOD_ROOT = join(COSIGN_VECTORS, 'trusted_root_pgi.json');

/**
 * Where cosign as source-controller runs it gives another verdict than a generic Sigstore
 * client, and why (cosign pkg/cosign/verify.go CheckOpts.verificationOptions).
 */
const REKOR_V2 =
  'a Rekor v2 entry has no integrated time, and cosign counts RFC 3161 timestamps only with --use-signed-timestamps, which source-controller never sets: no timestamp, fails';
export const COSIGN_DIFFERS: Record<string, string> = {
  'bundle-with-sct-with-extensions': REKOR_V2,
  'rekor2-checkpoint-cosigned': REKOR_V2,
  'rekor2-checkpoint-multiple-cosigs': REKOR_V2,
  'rekor2-checkpoint-origin-not-first': REKOR_V2,
  'rekor2-checkpoint-two-sigs-cosigned': REKOR_V2,
  'rekor2-checkpoint-two-sigs-from-origin': REKOR_V2,
  'rekor2-dsse-happy-path': REKOR_V2,
  'rekor2-happy-path': REKOR_V2,
  'rekor2-timestamp-with-embedded-cert': REKOR_V2,
  'rekor2-timestamp-with-expired-cert-chain': REKOR_V2,
  'rekor2-timestamp-without-embedded-cert': REKOR_V2,
  'trust-root-tsa-validity-end-inclusive': REKOR_V2,
  'intoto-tsa-timestamp-outside-cert-validity_fail':
    'the RFC 3161 timestamp is not consulted (no --use-signed-timestamps); the integrated time lies inside the certificate validity: passes',
};

/** A case's file, or undefined. */
export const caseFile = (dir: string, file: string): Buffer | undefined => {
  const p = join(CONFORMANCE_CASES, dir, file);
  return existsSync(p) ? readFileSync(p) : undefined;
};

export const casePath = (dir: string, file: string): string | undefined => {
  const p = join(CONFORMANCE_CASES, dir, file);
  return existsSync(p) ? p : undefined;
};

/** The bytes a case signs: its `artifact`, else the suite's `a.txt`. */
export const caseArtifact = (dir: string): Buffer =>
  caseFile(dir, 'artifact') ?? readFileSync(join(CONFORMANCE_ROOT, 'a.txt'));

/** Every case directory, sorted. */
export const conformanceCases = (): string[] =>
  readdirSync(CONFORMANCE_CASES, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();

/** The verdict cosign gives a bundle checked against its artifact (a `_fail` suffix: must fail). */
export const cosignVerdict = (dir: string): boolean =>
  dir in COSIGN_DIFFERS ? dir.endsWith('_fail') : !dir.endsWith('_fail');
