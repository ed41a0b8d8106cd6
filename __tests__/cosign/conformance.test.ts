/**
 * sigstore-conformance `test/assets/bundle-verify` (copied under
 * __tests__/fixtures/vectors/sigstore-conformance, see SOURCES.md): every case through the check
 * `verify` runs on a bundle, with the verdict the suite expects (a `_fail` suffix: must fail),
 * except where cosign, as Flux configures it, decides otherwise on purpose (listed below).
 */
import { describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPublicKey } from '../../src/sign/cosign/keys.js';
import { verifySigstoreBundle } from '../../src/sign/cosign/verify.js';
import type { CosignVerifyPolicy } from '../../src/sign/types.js';
import { COSIGN_VECTORS } from '../support/signing.js';
import { FIXTURES } from '../support/tools.js';

const ROOT = join(FIXTURES, 'vectors', 'sigstore-conformance');
const CASES = join(ROOT, 'bundle-verify');
const DEFAULT_IDENTITY =
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const DEFAULT_ISSUER = 'https://token.actions.githubusercontent.com';
/** The public-good trusted root the suite's client would fetch through TUF (a snapshot). */
const PUBLIC_GOOD = readFileSync(join(COSIGN_VECTORS, 'trusted_root_pgi.json'), 'utf8');

/**
 * Where cosign as source-controller runs it gives another verdict than a generic Sigstore
 * client, and why (cosign pkg/cosign/verify.go CheckOpts.verificationOptions).
 */
const REKOR_V2 =
  'a Rekor v2 entry has no integrated time, and cosign counts RFC 3161 timestamps only with --use-signed-timestamps, which source-controller never sets: no timestamp, fails';
const COSIGN_DIFFERS: Record<string, string> = {
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

const read = (dir: string, file: string) => {
  const p = join(CASES, dir, file);
  return existsSync(p) ? readFileSync(p) : undefined;
};

function policyFor(dir: string): CosignVerifyPolicy {
  const key = read(dir, 'key.pub');
  const root = read(dir, 'trusted_root.json')?.toString('utf8') ?? PUBLIC_GOOD;
  return {
    provider: 'cosign',
    keys: key ? [{ name: 'key.pub', key: readPublicKey(key.toString('utf8'), 'key.pub') }] : [],
    identities: key
      ? []
      : [
          {
            subject: read(dir, 'identity')?.toString('utf8').trim() ?? DEFAULT_IDENTITY,
            issuer: read(dir, 'issuer')?.toString('utf8').trim() ?? DEFAULT_ISSUER,
          },
        ],
    trustedRoot: { source: `${dir}/trusted_root.json`, json: root },
    ignoreTlog: false,
  };
}

const cases = readdirSync(CASES, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

describe('sigstore-conformance bundle-verify cases', () => {
  it('are all here', () => {
    expect(cases.length).toBeGreaterThanOrEqual(70);
  });

  it.each(cases)('%s', async (dir) => {
    const suite = !dir.endsWith('_fail');
    const expected = dir in COSIGN_DIFFERS ? !suite : suite;
    const artifact = read(dir, 'artifact') ?? readFileSync(join(ROOT, 'a.txt'));
    let policy: CosignVerifyPolicy | undefined;
    try {
      policy = policyFor(dir);
    } catch {
      // A key.pub we cannot read can only fail.
    }
    const outcome = policy
      ? await verifySigstoreBundle(read(dir, 'bundle.sigstore.json')!.toString('utf8'), artifact, policy)
      : { verified: false, reason: 'unreadable key' };
    expect({ dir, verified: outcome.verified, reason: outcome.reason }).toEqual({
      dir,
      verified: expected,
      reason: expected ? undefined : expect.any(String),
    });
  });
});
