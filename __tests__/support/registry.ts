// Loaded by jest as CommonJS for the global setup too, hence the .ts import below.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { freePort } from './ports.ts';

export interface TestRegistry {
  /** host:port on 127.0.0.1 */
  host: string;
  dataDir: string;
  stop(): Promise<void>;
}

export interface RegistryOptions {
  /** Require htpasswd basic auth with this user. */
  basicAuth?: { user: string; password: string };
}

/**
 * Debian's docker-registry (CNCF distribution 2.8) on 127.0.0.1, a free port, filesystem
 * storage in a temp dir. It has no referrers API: it exercises the tag-schema fallback.
 */
export async function startRegistry(options: RegistryOptions = {}): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'fluxgate-registry-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const auth = options.basicAuth
    ? `auth:\n  htpasswd:\n    realm: fluxgate-test\n    path: ${join(dir, 'htpasswd')}\n`
    : '';
  if (options.basicAuth) {
    writeFileSync(
      join(dir, 'htpasswd'),
      `${options.basicAuth.user}:${bcrypt.hashSync(options.basicAuth.password, 5)}\n`,
    );
  }
  writeFileSync(
    join(dir, 'config.yml'),
    [
      'version: 0.1',
      'log: {level: error, accesslog: {disabled: true}}',
      `storage: {filesystem: {rootdirectory: ${join(dir, 'data')}}, delete: {enabled: true}}`,
      `http: {addr: "${host}", secret: fluxgate-test}`,
      auth,
    ].join('\n'),
  );
  const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  await waitUntilUp(host, child, () => stderr);
  return {
    host,
    dataDir: join(dir, 'data'),
    stop: async () => {
      await stopProcess(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitUntilUp(host: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr().trim()}`);
    try {
      const res = await fetch(`http://${host}/v2/`);
      if (res.status === 200 || res.status === 401) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`docker-registry did not answer on ${host} within 15s: ${stderr().trim()}`);
}

export function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveStop) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolveStop();
    });
    child.kill('SIGTERM');
  });
}

/** The registry the global setup started for the whole run (tests share it; use unique repos). */
export function sharedRegistryHost(): string {
  const host = process.env.FLUXGATE_TEST_REGISTRY;
  if (!host) throw new Error('FLUXGATE_TEST_REGISTRY is not set: the jest global setup did not run');
  return host;
}
