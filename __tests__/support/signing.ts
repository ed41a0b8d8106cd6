/** Signed test artifacts: cosign key pairs and pushes through the CLI, and the real cosign vectors. */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from '@jest/globals';
import type { SignatureLayer } from '../../src/sign/cosign/legacy.js';
import { runCli } from './cli.js';
import { writeRepo } from './repo.js';
import { FIXTURES } from './tools.js';

/** The password of every test key. */
export const KEY_PASSWORD = 'pw';

export const signingEnv = (): NodeJS.ProcessEnv => ({ ...process.env, COSIGN_PASSWORD: KEY_PASSWORD });

/** `<name>.key` + `<name>.pub` for each name, made by `fluxgate generate-key-pair` in a new directory. */
export async function cosignKeyPairs(...names: string[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'fg-keys-'));
  for (const name of names) {
    const r = await runCli(['generate-key-pair', '--output-key-prefix', name], {
      cwd: dir,
      env: signingEnv(),
    });
    expect(r.code).toBe(0);
  }
  return dir;
}

/** `fluxgate push` of `files` to `url` with `extra` flags (e.g. signing); push's JSON. */
export async function pushTestArtifact(
  url: string,
  files: Record<string, string>,
  options: { revision?: string; extra?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<{ digest: string; signatures?: { ref: string }[] }> {
  const r = await runCli(
    [
      'push',
      url,
      '--path',
      writeRepo(files),
      '--source',
      'https://example.com/x',
      '--revision',
      `${options.revision ?? 'v1.0.0'}@sha1:0123456789abcdef0123456789abcdef01234567`,
      '--format',
      'json',
      ...(options.extra ?? []),
    ],
    { env: options.env ?? signingEnv() },
  );
  expect(r.stderr).not.toContain('error');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

export const COSIGN_VECTORS = join(FIXTURES, 'vectors', 'cosign');
export const CONTAINERS_IMAGE_VECTORS = join(COSIGN_VECTORS, 'containers-image');

/**
 * A containers-image vector: one layer of a cosign `.sig` image as skopeo's dir: transport stores
 * it (`\0sigstore-json\n` + JSON), and the digest it signs (of the image's manifest.json).
 */
export function cosignVectorLayer(dir: string): { digest: string; layer: SignatureLayer } {
  const raw = readFileSync(join(CONTAINERS_IMAGE_VECTORS, dir, 'signature-1'));
  const doc = JSON.parse(raw.subarray(raw.indexOf(0x0a) + 1).toString('utf8'));
  const manifest = readFileSync(join(CONTAINERS_IMAGE_VECTORS, dir, 'manifest.json'));
  return {
    digest: 'sha256:' + createHash('sha256').update(manifest).digest('hex'),
    layer: { payload: Buffer.from(doc.payload, 'base64'), annotations: doc.annotations },
  };
}
