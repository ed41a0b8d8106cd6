import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../src/oci/client.js';
import { signatureTag } from '../../src/sign/cosign/legacy.js';
import { runCli } from '../support/cli.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { sharedRegistryHost } from '../support/registry.js';
import { writeRepo } from '../support/repo.js';
import { cosignKeyPairs, signingEnv } from '../support/signing.js';
import { PROJECT_ROOT, toolEnv } from '../support/tools.js';
import { readOutputs } from '../verify/github-outputs.js';

/** A recording proxy in front of the test registry: every request's method and path. */
let proxy: FaultProxy;
const seen: string[] = [];
let keys: string;
beforeAll(async () => {
  proxy = await startFaultProxy(sharedRegistryHost(), {
    fault(_n, req) {
      seen.push(`${req.method} ${req.url}`);
      return 'pass';
    },
  });
  keys = await cosignKeyPairs('release');
});
afterAll(() => proxy?.stop());

async function push(dir: string, url: string, extra: string[]) {
  seen.length = 0;
  const r = await runCli(
    [
      'push',
      url,
      '--path',
      dir,
      '--source',
      'https://github.com/octo/demo',
      '--revision',
      `main@sha1:${Math.random().toString(16).slice(2).padEnd(40, '0').slice(0, 40)}`,
      '--sign',
      'cosign',
      '--cosign-key',
      join(keys, 'release.key'),
      '--format',
      'json',
      ...extra,
    ],
    { env: signingEnv() },
  );
  expect(r.stderr).not.toMatch(/error/i);
  expect(r.code).toBe(0);
  return { out: JSON.parse(r.stdout), requests: [...seen] };
}

describe('push --diff-tag: push only what changed, as actions/push with flux diff artifact', () => {
  it('an unchanged directory uploads nothing, signs nothing, copies the tags and reports pushed false; a changed file pushes, signs and moves the tag', async () => {
    const repo = 'release/difftag';
    const base = `oci://${proxy.host}/${repo}`;
    const dir = writeRepo({ 'apps/app.yaml': 'kind: ConfigMap\n', 'README.md': '# deploy\n' });
    const client = new RegistryClient({ env: {} });
    const at = async (tag: string) => (await client.headManifest(proxy.host, repo, tag))?.digest;

    // First push: the diff tag does not exist yet, so it is pushed and becomes that tag.
    const first = await push(dir, `${base}:v1`, ['--diff-tag', 'latest']);
    expect(first.out.pushed).toBe(true);
    expect(first.out.tags).toEqual(['v1', 'latest']);
    expect(await at('latest')).toBe(first.out.digest);
    expect(first.requests.some((r) => r.startsWith('POST /v2/release/difftag/blobs/uploads/'))).toBe(true);

    // The same content again (another revision, another tag): nothing new goes to the registry.
    const second = await push(dir, `${base}:v2`, ['--diff-tag', 'latest', '--tag', 'stable']);
    expect(second.out).toMatchObject({
      pushed: false,
      // The artifact keeps the revision it was pushed from.
      revision: first.out.revision,
      digest: first.out.digest,
      digestUrl: `${proxy.host}/${repo}@${first.out.digest}`,
      tags: ['v2', 'stable'],
      signatures: [],
    });
    const writes = second.requests.filter((r) => !r.startsWith('GET ') && !r.startsWith('HEAD '));
    // No blob upload, no manifest by digest, no signature: only the two tags, copied.
    expect(writes.sort()).toEqual([
      'PUT /v2/release/difftag/manifests/stable',
      'PUT /v2/release/difftag/manifests/v2',
    ]);
    expect(await at('v2')).toBe(first.out.digest);
    expect(await at('stable')).toBe(first.out.digest);

    // Without signing flags, the same verdict.
    const outputs = await runCli(
      [
        'push',
        `${base}:v2`,
        '--path',
        dir,
        '--source',
        'https://github.com/octo/demo',
        '--revision',
        'main@sha1:' + '1'.repeat(40),
        '--diff-tag',
        'latest',
        '--format',
        'json',
      ],
      { env: signingEnv() },
    );
    expect(JSON.parse(outputs.stdout).pushed).toBe(false);

    // One changed file: pushed, signed, and the diff tag moves to the new digest.
    writeFileSync(join(dir, 'apps/app.yaml'), 'kind: Secret\n');
    const third = await push(dir, `${base}:v3`, ['--diff-tag', 'latest']);
    expect(third.out.pushed).toBe(true);
    expect(third.out.digest).not.toBe(first.out.digest);
    expect(third.out.tags).toEqual(['v3', 'latest']);
    expect(third.out.signatures).toHaveLength(1);
    expect(await at('latest')).toBe(third.out.digest);
    expect(await at(signatureTag(third.out.digest))).toBeDefined();
    expect(third.requests).toContain(`PUT /v2/release/difftag/manifests/${third.out.digest}`);
    // The earlier tags stay where they were.
    expect(await at('v2')).toBe(first.out.digest);
  });

  it('a mode change counts as a change (entry by entry, not only contents)', async () => {
    const repo = 'release/difftag-mode';
    const dir = writeRepo({ 'run.sh': 'echo hi\n' });
    const first = await push(dir, `oci://${proxy.host}/${repo}:v1`, ['--diff-tag', 'latest']);
    const { chmodSync } = await import('node:fs');
    chmodSync(join(dir, 'run.sh'), 0o755);
    const second = await push(dir, `oci://${proxy.host}/${repo}:v2`, ['--diff-tag', 'latest']);
    expect(second.out.pushed).toBe(true);
    expect(second.out.digest).not.toBe(first.out.digest);
  });

  it('the action sets pushed, digest and digest-url, as actions/push names them', async () => {
    const repo = 'release/difftag-action';
    const dir = writeRepo({ 'app.yaml': 'kind: ConfigMap\n' });
    // Straight to the registry: spawnSync blocks this process, and with it the in-process proxy.
    const host = sharedRegistryHost();
    const first = await push(dir, `oci://${host}/${repo}:v1`, ['--diff-tag', 'latest']);
    const runner = mkdtempSync(join(tmpdir(), 'fg-runner-'));
    const outputs = join(runner, 'output');
    writeFileSync(outputs, '');
    const r = spawnSync(process.execPath, ['--import', './scripts/ts-loader.mjs', 'src/index.ts'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      env: toolEnv({
        GITHUB_ACTIONS: 'true',
        GITHUB_OUTPUT: outputs,
        GITHUB_STEP_SUMMARY: join(runner, 'summary'),
        INPUT_COMMAND: 'push',
        INPUT_URL: `oci://${host}/${repo}:v2`,
        INPUT_PATH: dir,
        INPUT_SOURCE: 'https://github.com/octo/demo',
        INPUT_REVISION: 'main@sha1:' + 'a'.repeat(40),
        'INPUT_DIFF-TAG': 'latest',
        'INPUT_GITHUB-TOKEN': '',
      }),
      timeout: 120000,
    });
    expect(r.status).toBe(0);
    const out = readOutputs(outputs);
    expect(out.pushed).toBe('false');
    expect(out.digest).toBe(first.out.digest);
    expect(out['digest-url']).toBe(`${host}/${repo}@${first.out.digest}`);
    expect(out.tags).toBe('v2');
  });
});
