/**
 * sigstore-conformance `test/assets/bundle-verify` (copied under
 * __tests__/fixtures/vectors/sigstore-conformance, see SOURCES.md): every case through the check
 * `verify` runs on a bundle, with the verdict the suite expects (a `_fail` suffix: must fail),
 * except where cosign, as Flux configures it, decides otherwise on purpose (COSIGN_DIFFERS in ../support/conformance.ts).
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { readPublicKey } from '../../src/sign/cosign/keys.js';
import { verifySigstoreBundle } from '../../src/sign/cosign/verify.js';
import type { CosignVerifyPolicy } from '../../src/sign/types.js';
import {
  caseArtifact,
  caseFile as read,
  conformanceCases,
  cosignVerdict,
  DEFAULT_IDENTITY,
  DEFAULT_ISSUER,
  PUBLIC_GOOD_ROOT,
} from '../support/conformance.js';

const PUBLIC_GOOD = readFileSync(PUBLIC_GOOD_ROOT, 'utf8');

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

const cases = conformanceCases();

describe('sigstore-conformance bundle-verify cases', () => {
  it('are all here', () => {
    expect(cases.length).toBeGreaterThanOrEqual(70);
  });

  it.each(cases)('%s', async (dir) => {
    const expected = cosignVerdict(dir);
    const artifact = caseArtifact(dir);
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
