import { expect } from '@jest/globals';
import { runCli } from './cli.js';
import { sharedRegistryHost } from './registry.js';
import { writeRepo } from './repo.js';
import type { MockSigstore } from './sigstore.js';
import { toolEnv } from './tools.js';

/** What `push --format json` prints, with the reference pushed to. */
export interface KeylessPush {
  ref: string;
  digest: string;
  signatures?: unknown[];
  ociRepository: string;
}

/**
 * `fluxgate push oci://…/REPO:v1 --sign cosign --keyless` of a fresh one-file artifact, signed by
 * the mock Sigstore with its OIDC token request (no ready token), to the shared registry.
 */
export async function pushKeyless(
  sigstore: MockSigstore,
  repo: string,
  extra: string[] = [],
): Promise<KeylessPush> {
  const env = toolEnv(sigstore.oidcEnv);
  delete env.SIGSTORE_ID_TOKEN;
  const ref = `oci://${sharedRegistryHost()}/${repo}:v1`;
  const r = await runCli(
    [
      'push',
      ref,
      '--path',
      writeRepo({ 'a.yaml': `a: ${Math.random()}\n` }),
      '--source',
      'https://example.com/x',
      '--revision',
      'main@sha1:0123456789abcdef0123456789abcdef01234567',
      '--sign',
      'cosign',
      '--keyless',
      ...sigstore.signFlags,
      ...extra,
      '--format',
      'json',
    ],
    { env },
  );
  expect(r.stderr).not.toContain('error');
  expect(r.code).toBe(0);
  return { ...(JSON.parse(r.stdout) as Omit<KeylessPush, 'ref'>), ref };
}
