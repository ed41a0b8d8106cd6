import { describe, expect, it, afterAll } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient, sha256Digest } from '../../src/oci/client.js';
import { collectDirectory } from '../../src/oci/artifact/collect.js';
import { packLayer, readLayer } from '../../src/oci/artifact/tarball.js';
import { buildArtifactManifest } from '../../src/oci/artifact/manifest.js';
import { pushArtifact } from '../../src/oci/artifact/push.js';
import { runCli } from '../support/cli.js';
import { sharedRegistryHost, startRegistry } from '../support/registry.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { startTokenAuthProxy } from '../support/token-server.js';

const REV = 'main@sha1:0123456789abcdef0123456789abcdef01234567';

function content(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'fg-push-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const pushArgs = (url: string, dir: string, ...extra: string[]) => [
  'push',
  url,
  '--path',
  dir,
  '--source',
  'https://github.com/acme/fleet',
  '--revision',
  REV,
  '--format',
  'json',
  ...extra,
];

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

describe('push, tag, pull, diff-artifact against the Debian registry', () => {
  it('pushes the Flux format: skopeo reads the exact media types and annotations, and its copy unpacks to the source files', async () => {
    const host = sharedRegistryHost();
    const dir = content({
      'deploy/app.yaml': 'kind: ConfigMap\n',
      'README.md': '# x\n',
      '.git/config': 'x',
      'pic.png': 'p',
    });
    const r = await runCli(
      pushArgs(
        `oci://${host}/oci-test/format:v1.0.0`,
        dir,
        '--tag',
        'latest',
        '--annotation',
        'org.example/team=platform',
      ),
    );
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.tags).toEqual(['v1.0.0', 'latest']);
    expect(out.url).toBe(`oci://${host}/oci-test/format@${out.digest}`);
    expect(out.ociRepository).toContain('kind: OCIRepository');
    expect(out.ociRepository).toContain('tag: v1.0.0');

    const raw = JSON.parse(
      execFileSync(
        'skopeo',
        ['inspect', '--raw', '--tls-verify=false', `docker://${host}/oci-test/format:latest`],
        { encoding: 'utf8' },
      ),
    );
    expect(raw.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(raw.config.mediaType).toBe('application/vnd.cncf.flux.config.v1+json');
    expect(raw.layers).toHaveLength(1);
    expect(raw.layers[0].mediaType).toBe('application/vnd.cncf.flux.content.v1.tar+gzip');
    expect(raw.artifactType).toBeUndefined();
    expect(raw.annotations).toEqual({
      'org.opencontainers.image.created': expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      'org.opencontainers.image.source': 'https://github.com/acme/fleet',
      'org.opencontainers.image.revision': REV,
      'org.example/team': 'platform',
    });

    const layout = mkdtempSync(join(tmpdir(), 'fg-layout-'));
    execFileSync(
      'skopeo',
      ['copy', '--src-tls-verify=false', `docker://${host}/oci-test/format:v1.0.0`, `oci:${layout}:copy`],
      {
        stdio: 'ignore',
      },
    );
    const blobs = join(layout, 'blobs', 'sha256');
    const layer = readFileSync(join(blobs, raw.layers[0].digest.slice('sha256:'.length)));
    const files = (await readLayer(layer, 'copy')).filter((e) => e.type === 'file');
    expect(files.map((f) => [f.name, f.content!.toString()])).toEqual([
      ['README.md', '# x\n'],
      ['deploy/app.yaml', 'kind: ConfigMap\n'],
    ]);
    expect(readdirSync(blobs)).toHaveLength(3);
  });

  it('pushes the same content twice with --reproducible to the same digest without uploading a blob again', async () => {
    const host = sharedRegistryHost();
    const dir = content({ 'a.yaml': 'a: 1\n', 'big.txt': 'x'.repeat(200_000) });
    const build = async () =>
      buildArtifactManifest(await packLayer(collectDirectory(dir)), {
        source: 's',
        revision: REV,
        created: '1970-01-01T00:00:00Z',
        extra: [],
      });
    const first = new RegistryClient({ env: {} });
    const a = await pushArtifact(first, host, 'oci-test/repro', await build(), ['v1']);
    expect(first.stats.blobsUploaded).toBe(2);
    const second = new RegistryClient({ env: {} });
    const b = await pushArtifact(second, host, 'oci-test/repro', await build(), ['v1']);
    expect(b.digest).toBe(a.digest);
    expect(second.stats.blobsUploaded).toBe(0);
    // Only the two manifest PUTs (by digest, by tag) carry bytes.
    const manifestSize = (await second.getManifest(host, 'oci-test/repro', 'v1')).bytes.length;
    expect(second.stats.bytesSent).toBe(2 * manifestSize);

    const cli = (await runCli(pushArgs(`oci://${host}/oci-test/repro-cli:v1`, dir, '--reproducible'))).stdout;
    const cli2 = (await runCli(pushArgs(`oci://${host}/oci-test/repro-cli:v2`, dir, '--reproducible')))
      .stdout;
    expect(JSON.parse(cli).digest).toBe(JSON.parse(cli2).digest);
  });

  it('uploads a blob larger than the chunk size in chunks that the registry reassembles to the same digest', async () => {
    const host = sharedRegistryHost();
    const bytes = Buffer.alloc(3 * 1024 * 1024 + 123);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) & 0xff;
    const client = new RegistryClient({ env: {}, chunkSize: 1024 * 1024 });
    const descriptor = await client.pushBlob(host, 'oci-test/chunked', bytes, 'application/octet-stream');
    expect(descriptor.digest).toBe(sha256Digest(bytes));
    // Read back over plain HTTP: the registry checked the digest on the final PUT.
    const res = await fetch(`http://${host}/v2/oci-test/chunked/blobs/${descriptor.digest}`);
    const fetched = Buffer.from(await res.arrayBuffer());
    expect(sha256Digest(fetched)).toBe(descriptor.digest);
    expect(client.stats.bytesSent).toBe(bytes.length);
  });

  it('tags a digest, pulls it back, and diff-artifact compares entries, not gzip bytes', async () => {
    const host = sharedRegistryHost();
    const dir = content({ 'x/a.yaml': 'a: 1\n' });
    const pushed = JSON.parse((await runCli(pushArgs(`oci://${host}/oci-test/roundtrip:v1`, dir))).stdout);
    const tagged = await runCli([
      'tag',
      `oci://${host}/oci-test/roundtrip@${pushed.digest}`,
      '--tag',
      'stable,prod',
    ]);
    expect(tagged.code).toBe(0);
    const tags = execFileSync(
      'skopeo',
      ['list-tags', '--tls-verify=false', `docker://${host}/oci-test/roundtrip`],
      { encoding: 'utf8' },
    );
    expect(JSON.parse(tags).Tags.sort()).toEqual(['prod', 'stable', 'v1']);

    const out = mkdtempSync(join(tmpdir(), 'fg-pull-'));
    const pulled = await runCli([
      'pull',
      `oci://${host}/oci-test/roundtrip:prod`,
      '--output',
      out,
      '--format',
      'json',
    ]);
    expect(pulled.code).toBe(0);
    expect(JSON.parse(pulled.stdout)).toMatchObject({ digest: pushed.digest, revision: REV });
    expect(readFileSync(join(out, 'x/a.yaml'), 'utf8')).toBe('a: 1\n');

    const same = await runCli(['diff-artifact', `oci://${host}/oci-test/roundtrip:v1`, '--path', out]);
    expect(same.code).toBe(0);
    expect(same.stderr).toContain('no changes detected');
    writeFileSync(join(out, 'x/a.yaml'), 'a: 2\n');
    writeFileSync(join(out, 'new.yaml'), 'n: 1\n');
    const changed = await runCli([
      'diff-artifact',
      `oci://${host}/oci-test/roundtrip:v1`,
      '--path',
      out,
      '--format',
      'json',
    ]);
    expect(changed.code).toBe(1);
    expect(JSON.parse(changed.stdout)).toEqual({
      changed: true,
      differences: [
        { path: 'new.yaml', change: 'added' },
        { path: 'x/a.yaml', change: 'modified' },
      ],
    });
  });

  it('authenticates with htpasswd basic auth from --creds and docker config.json, and names the registry on a 401', async () => {
    const registry = await startRegistry({ basicAuth: { user: 'ci', password: 'pa55word' } });
    cleanups.push(registry.stop);
    const dir = content({ 'a.yaml': 'a: 1\n' });
    const url = `oci://${registry.host}/private/app:v1`;
    const denied = await runCli(pushArgs(url, dir));
    expect(denied.code).toBe(1);
    expect(denied.stderr.trim()).toBe(`error: authentication failed for ${registry.host}/private/app (401)`);
    const wrong = await runCli(pushArgs(url, dir, '--creds', 'ci:wrong'));
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).not.toContain('wrong');
    const ok = await runCli(pushArgs(url, dir, '--creds', 'ci:pa55word'));
    expect(ok.code).toBe(0);

    const dockerConfig = mkdtempSync(join(tmpdir(), 'fg-docker-'));
    writeFileSync(
      join(dockerConfig, 'config.json'),
      JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from('ci:pa55word').toString('base64') } } }),
    );
    const viaConfig = await runCli(pushArgs(`oci://${registry.host}/private/app:v2`, dir), {
      env: { ...process.env, DOCKER_CONFIG: dockerConfig },
    });
    expect(viaConfig.code).toBe(0);
  });

  it('gets a bearer token from the challenge, scoped to the repository, and pushes and pulls with it', async () => {
    const proxy = await startTokenAuthProxy(sharedRegistryHost(), 'bot', 't0ken-secret');
    cleanups.push(proxy.stop);
    const dir = content({ 'a.yaml': 'a: 1\n' });
    const denied = await runCli(pushArgs(`oci://${proxy.host}/tokens/app:v1`, dir, '--creds', 'bot:nope'));
    expect(denied.code).toBe(1);
    expect(denied.stderr.trim()).toBe(`error: authentication failed for ${proxy.host}/tokens/app (401)`);
    const ok = await runCli(
      pushArgs(`oci://${proxy.host}/tokens/app:v1`, dir, '--creds', 'bot:t0ken-secret'),
    );
    expect(ok.code).toBe(0);
    expect(proxy.scopes).toContain('repository:tokens/app:pull,push');
    const out = mkdtempSync(join(tmpdir(), 'fg-pull-'));
    const pulled = await runCli([
      'pull',
      `oci://${proxy.host}/tokens/app:v1`,
      '--output',
      out,
      '--creds',
      'bot:t0ken-secret',
    ]);
    expect(pulled.code).toBe(0);
    expect(readFileSync(join(out, 'a.yaml'), 'utf8')).toBe('a: 1\n');
  });

  it('completes a push through dropped connections, 500s and 429s, with the right digest', async () => {
    const host = sharedRegistryHost();
    // Every third request fails, cycling through the fault kinds.
    const kinds = ['drop', 500, 429, 503] as const;
    const proxy = await startFaultProxy(host, {
      fault: (n) => (n % 3 === 0 ? kinds[(n / 3) % kinds.length]! : 'pass'),
    });
    cleanups.push(proxy.stop);
    const dir = content({ 'a.yaml': 'a: 1\n', 'b.yaml': 'b: 2\n' });
    const built = buildArtifactManifest(await packLayer(collectDirectory(dir)), {
      source: 's',
      revision: REV,
      created: '1970-01-01T00:00:00Z',
      extra: [],
    });
    const client = new RegistryClient({ env: {}, retry: { baseDelayMs: 5 } });
    const pushed = await pushArtifact(client, proxy.host, 'oci-test/faulty', built, ['v1']);
    expect(pushed.digest).toBe(sha256Digest(built.manifest));
    expect(proxy.faults).toBeGreaterThan(0);
    const direct = await new RegistryClient({ env: {} }).headManifest(host, 'oci-test/faulty', 'v1');
    expect(direct?.digest).toBe(pushed.digest);
  });

  it('fails a push through a permanent fault with one clear line and creates no tag', async () => {
    const host = sharedRegistryHost();
    // Blob uploads always fail: nothing may point at a manifest whose blobs are missing.
    const proxy = await startFaultProxy(host, {
      fault: (_n, req) => (req.method === 'PUT' && req.url?.includes('/blobs/') ? 500 : 'pass'),
    });
    cleanups.push(proxy.stop);
    const dir = content({ 'a.yaml': 'a: 1\n' });
    const client = new RegistryClient({ env: {}, retry: { baseDelayMs: 1, attempts: 3 } });
    const built = buildArtifactManifest(await packLayer(collectDirectory(dir)), {
      source: 's',
      revision: REV,
      created: '1970-01-01T00:00:00Z',
      extra: [],
    });
    await expect(pushArtifact(client, proxy.host, 'oci-test/broken', built, ['v1'])).rejects.toThrow(
      `${proxy.host}/oci-test/broken: blob ${sha256Digest(built.config)}: HTTP 500`,
    );
    const list = spawnSync(
      'skopeo',
      ['list-tags', '--tls-verify=false', `docker://${host}/oci-test/broken`],
      { encoding: 'utf8' },
    );
    expect(list.status === 0 ? JSON.parse(list.stdout).Tags : []).toEqual([]);
  });

  it('answers bad input with one line each: invalid reference (2), unknown host (1), missing --path (2)', async () => {
    const dir = content({ 'a.yaml': 'a: 1\n' });
    const invalid = await runCli(pushArgs('oci://Bad Host/x:v1', dir));
    expect(invalid.code).toBe(2);
    expect(invalid.stderr.trim()).toMatch(/^error: push: invalid OCI reference 'oci:\/\/Bad Host\/x:v1'/);
    const unknown = await runCli(pushArgs('oci://registry.invalid/x:v1', dir, '--creds', 'a:b'));
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toMatch(/^error: cannot reach registry registry\.invalid: /);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    const noPath = await runCli(['push', 'oci://127.0.0.1:1/x:v1', '--source', 's', '--revision', 'r']);
    expect(noPath.code).toBe(2);
    expect(noPath.stderr.trim()).toBe('error: push: --path is required');
  }, 180000);
});
