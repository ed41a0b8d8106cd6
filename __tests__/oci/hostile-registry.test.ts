import { afterAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { RegistryClient } from '../../src/oci/client.js';
import { parseCredsEntry, resolveCredentials } from '../../src/oci/auth.js';
import { packLayer } from '../../src/oci/artifact/tarball.js';
import { buildArtifactManifest } from '../../src/oci/artifact/manifest.js';
import { pushArtifact } from '../../src/oci/artifact/push.js';
import type { ArtifactEntry } from '../../src/oci/artifact/collect.js';
import { runCli } from '../support/cli.js';
import { sharedRegistryHost, startRegistry } from '../support/registry.js';
import { fluxKustomization, writeRepo } from '../support/repo.js';
import { PROJECT_ROOT, toolEnv } from '../support/tools.js';

const REV = 'main@sha1:0123456789abcdef0123456789abcdef01234567';
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

// ---- loopback stand-ins ----

interface Recorded {
  method: string;
  path: string;
  authorization?: string;
}

interface StandIn {
  host: string;
  requests: Recorded[];
  stop(): Promise<void>;
}

/** A loopback HTTP server that records every request's Authorization header. */
async function standIn(handler: (req: IncomingMessage, res: ServerResponse, self: string) => void) {
  const requests: Recorded[] = [];
  const sockets = new Set<Socket>();
  let self = '';
  const server: Server = createServer((req, res) => {
    requests.push({
      method: req.method ?? '',
      path: req.url ?? '',
      authorization: req.headers.authorization,
    });
    handler(req, res, self);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  self = `127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  const standIn: StandIn = {
    host: self,
    requests,
    stop: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
  cleanups.push(standIn.stop);
  return standIn;
}

/** Forwards a request to `upstream`, letting `rewrite` change the answer's Location. */
function forward(
  req: IncomingMessage,
  res: ServerResponse,
  upstream: string,
  rewrite: (location: string) => string = (l) => l,
) {
  const [host, port] = upstream.split(':');
  const { authorization: _dropped, ...headers } = req.headers;
  const out = request(
    { host, port: Number(port), method: req.method, path: req.url, headers: { ...headers, host: upstream } },
    (up) => {
      const h = { ...up.headers };
      if (typeof h.location === 'string') h.location = rewrite(h.location);
      res.writeHead(up.statusCode ?? 502, h);
      up.pipe(res);
    },
  );
  out.on('error', () => res.destroy());
  req.pipe(out);
}

/** A registry that wants credentials: a Bearer challenge whose token service is itself. */
const challenging = (req: IncomingMessage, res: ServerResponse, self: string) => {
  req.resume();
  res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${self}/token",service="evil"` }).end();
};

/** Answers with headers at once, then one byte every 200 ms, forever. */
const dripping = (contentType: string) => (req: IncomingMessage, res: ServerResponse) => {
  req.resume();
  res.writeHead(200, { 'content-type': contentType });
  const timer = setInterval(() => res.write(' '), 200);
  res.on('close', () => clearInterval(timer));
};

const hasAuth = (s: StandIn) => s.requests.filter((r) => r.authorization !== undefined);

// ---- artifacts ----

async function pushLayer(repository: string, layer: Buffer, host = sharedRegistryHost()): Promise<string> {
  const client = new RegistryClient({ env: {} });
  const artifact = buildArtifactManifest(layer, {
    source: 'https://github.com/acme/fleet',
    revision: REV,
    created: '2026-01-01T00:00:00Z',
    extra: [],
  });
  await pushArtifact(client, host, repository, artifact, ['v1']);
  return `oci://${host}/${repository}:v1`;
}

/** A ustar header for one regular file of `size` bytes. */
function tarHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  const field = (offset: number, length: number, value: string) => h.write(value, offset, length, 'ascii');
  field(0, 100, name);
  field(100, 8, '0000644\0');
  field(108, 8, '0000000\0');
  field(116, 8, '0000000\0');
  field(124, 12, size.toString(8).padStart(11, '0') + '\0');
  field(136, 12, '00000000000\0');
  field(148, 8, '        ');
  field(156, 1, '0');
  field(257, 6, 'ustar\0');
  field(263, 2, '00');
  let sum = 0;
  for (const b of h) sum += b;
  field(148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return h;
}

/**
 * A 1 MiB gzip layer that inflates to 1 GiB: a tar header for a 1 GiB file, then 1024 gzip
 * members of 1 MiB of zeros each (gzip readers, Go's and Node's, read concatenated members).
 */
function gzipBomb(): Buffer {
  const zeros = gzipSync(Buffer.alloc(1024 * 1024), { level: 9 });
  return Buffer.concat([gzipSync(tarHeader('bomb.yaml', 1024 ** 3)), ...Array<Buffer>(1024).fill(zeros)]);
}

/** A layer written by tar-stream from raw headers (any type, any name). */
async function rawLayer(
  entries: { header: Partial<tar.Header> & { name: string }; content?: string }[],
): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((r) => pack.on('end', () => r()));
  for (const e of entries) {
    if (e.content === undefined) pack.entry(e.header as tar.Header);
    else pack.entry(e.header as tar.Header, e.content);
  }
  pack.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}

/** The committed bundle under /usr/bin/time -v: exit code, stderr and peak memory (KiB). */
function runDistMeasured(args: string[]): Promise<{ code: number; stderr: string; maxRssKiB: number }> {
  return new Promise((resolve) => {
    const child = spawn(
      '/usr/bin/time',
      ['-v', process.execPath, join(PROJECT_ROOT, 'dist', 'cli.js'), ...args],
      {
        env: toolEnv(),
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => {
      const rss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1]);
      const ours = stderr.split('\n').filter((l) => l.startsWith('error: ') || l.startsWith('warning: '));
      resolve({ code: code ?? 1, stderr: ours.join('\n'), maxRssKiB: rss });
    });
  });
}

const artifactContent = writeRepo({
  'app/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-oci}\ndata: {k: v}\n',
});

const pushArgs = (url: string, ...extra: string[]) => [
  'push',
  url,
  '--path',
  artifactContent,
  '--source',
  'https://github.com/acme/fleet',
  '--revision',
  REV,
  ...extra,
];

describe('credentials are bound to hosts', () => {
  it('reads HOST=USER:PASSWORD, HOST=TOKEN and the bare forms, and resolves only the bound host', () => {
    expect(parseCredsEntry('ghcr.io=bot:pa=ss')).toEqual({
      host: 'ghcr.io',
      credentials: { kind: 'basic', username: 'bot', password: 'pa=ss' },
    });
    expect(parseCredsEntry('127.0.0.1:5000=tok')).toEqual({
      host: '127.0.0.1:5000',
      credentials: { kind: 'token', token: 'tok' },
    });
    expect(parseCredsEntry('docker.io=u:p').host).toBe('index.docker.io');
    // Bare: a user:password, a token ending in base64 padding, a password with '='.
    expect(parseCredsEntry('bot:s3=cret').host).toBeUndefined();
    expect(parseCredsEntry('dG9rZW4==')).toEqual({ credentials: { kind: 'token', token: 'dG9rZW4==' } });
    const creds = new Map([['registry.example.com', { kind: 'token' as const, token: 't' }]]);
    expect(resolveCredentials('registry.example.com', creds, {})).toEqual({ kind: 'token', token: 't' });
    expect(resolveCredentials('evil.example.com', creds, {})).toBeUndefined();
    expect(resolveCredentials('evil.example.com', creds, { GITHUB_TOKEN: 'ghs_x' })).toBeUndefined();
    expect(resolveCredentials('ghcr.io', creds, { GITHUB_TOKEN: 'ghs_x' })).toMatchObject({
      password: 'ghs_x',
    });
  });

  it('render never sends --creds to a registry that only the repository names (an OCIRepository in the PR)', async () => {
    const ours = await startRegistry({ basicAuth: { user: 'ci', password: 'pa55word' } });
    cleanups.push(ours.stop);
    const evil = await standIn(challenging);
    expect(
      (await runCli(pushArgs(`oci://${ours.host}/private/app:v1`, '--creds', `${ours.host}=ci:pa55word`)))
        .code,
    ).toBe(0);

    const oci = (name: string, url: string) =>
      `apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {name: ${name}, namespace: flux-system}\nspec: {url: "${url}", ref: {tag: v1}, interval: 5m}\n`;
    const root = writeRepo({
      'clusters/dev/sources.yaml': `${oci('app', `oci://${ours.host}/private/app`)}---\n${oci('stolen', `oci://${evil.host}/stolen/app`)}`,
      'clusters/dev/ks.yaml': `${fluxKustomization('app', './app', {}, 'OCIRepository/app')}\n---\n${fluxKustomization('stolen', './app', {}, 'OCIRepository/stolen')}`,
    });
    const render = (args: string[], env: NodeJS.ProcessEnv = {}) =>
      runCli(['render', '--repo', root, '--path', 'clusters/dev', '--format', 'json', ...args], {
        env: toolEnv({ GITHUB_TOKEN: '', ...env }),
      });

    // The flux CLI's bare form names no host: on a repository's registries it is sent nowhere.
    const bare = await render(['--creds', 'ci:pa55word']);
    expect(JSON.parse(bare.stdout).errors.map((e: any) => e.owner.name)).toEqual(['app', 'stolen']);
    expect(bare.stderr).toContain(
      'warning: --creds USER:PASSWORD is not used here: the repository names the registries, give --creds HOST=USER:PASSWORD',
    );
    expect(bare.stderr).not.toContain('pa55word');

    const credsFile = join(mkdtempSync(join(tmpdir(), 'fg-creds-')), 'creds');
    writeFileSync(credsFile, `# CI registry\n${ours.host}=ci:pa55word\n`);
    for (const [args, env] of [
      [['--creds', `${ours.host}=ci:pa55word`], {}],
      [['--creds-file', credsFile], {}],
      [[], { FLUXGATE_CREDS: `${ours.host}=ci:pa55word` }],
    ] as const) {
      const r = await render([...args], env);
      const out = JSON.parse(r.stdout);
      // Our registry got the password and its artifact rendered; the other one asked and got nothing.
      expect(out.objects.find((o: any) => o.owner.name === 'app')?.object.metadata.name).toBe('from-oci');
      expect(out.errors.map((e: any) => e.owner.name)).toEqual(['stolen']);
      expect(r.stderr).not.toContain('pa55word');
    }
    expect(evil.requests.length).toBeGreaterThan(0);
    expect(evil.requests.some((r) => r.path.startsWith('/token'))).toBe(true);
    expect(hasAuth(evil)).toEqual([]);
  });

  it('asks docker credential helpers (credsStore, credHelpers) for the one host being contacted', async () => {
    const ours = await startRegistry({ basicAuth: { user: 'ci', password: 'h3lper' } });
    cleanups.push(ours.stop);
    const bin = mkdtempSync(join(tmpdir(), 'fg-helper-'));
    const asked = join(bin, 'asked');
    writeFileSync(
      join(bin, 'docker-credential-fake'),
      `#!/bin/sh\nread host\necho "$host" >> ${asked}\nif [ "$host" = "${ours.host}" ]; then echo '{"Username":"ci","Secret":"h3lper"}'; else echo 'credentials not found' >&2; exit 1; fi\n`,
      { mode: 0o755 },
    );
    const env = toolEnv({ GITHUB_TOKEN: '' });
    env.PATH = `${bin}:${env.PATH}`;
    for (const config of [{ credsStore: 'fake' }, { credHelpers: { [ours.host]: 'fake' } }]) {
      const dir = mkdtempSync(join(tmpdir(), 'fg-docker-'));
      writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
      const r = await runCli(pushArgs(`oci://${ours.host}/helper/app:v1`), {
        env: { ...env, DOCKER_CONFIG: dir },
      });
      expect(r.code).toBe(0);
    }
    expect(readFileSync(asked, 'utf8').trim().split('\n')).toEqual([ours.host, ours.host]);
  });

  it('push sends no credentials to an upload Location on another host', async () => {
    const elsewhere = await standIn((req, res) => forward(req, res, sharedRegistryHost()));
    // The registry wants basic auth, then hands out upload locations on another origin.
    const front = await standIn((req, res) => {
      if (req.headers.authorization !== 'Basic ' + Buffer.from('ci:s3cret').toString('base64')) {
        req.resume();
        res.writeHead(401, { 'www-authenticate': 'Basic realm="front"' }).end();
        return;
      }
      forward(req, res, sharedRegistryHost(), (l) =>
        new URL(l, `http://${sharedRegistryHost()}`).href.replace(sharedRegistryHost(), elsewhere.host),
      );
    });
    const r = await runCli(
      pushArgs(`oci://${front.host}/hostile/location:v1`, '--creds', `${front.host}=ci:s3cret`),
    );
    expect(r.stderr).toContain('artifact successfully pushed');
    expect(r.code).toBe(0);
    expect(hasAuth(front).length).toBeGreaterThan(0);
    expect(elsewhere.requests.some((q) => q.method === 'PUT')).toBe(true);
    expect(hasAuth(elsewhere)).toEqual([]);
  });

  it('pull sends no credentials after a redirect to another host, nor to a token service that host names', async () => {
    const url = await pushLayer(
      'hostile/redirect',
      await packLayer([{ type: 'file', name: 'a.yaml', mode: 0o644, content: Buffer.from('a: 1\n') }]),
    );
    let mode: 'serve' | 'challenge' = 'serve';
    const elsewhere = await standIn((req, res, self) =>
      mode === 'serve' ? forward(req, res, sharedRegistryHost()) : challenging(req, res, self),
    );
    const front = await standIn((req, res) => {
      if (req.headers.authorization !== 'Basic ' + Buffer.from('ci:s3cret').toString('base64')) {
        req.resume();
        res.writeHead(401, { 'www-authenticate': 'Basic realm="front"' }).end();
        return;
      }
      if (req.url?.includes('/blobs/')) {
        req.resume();
        res.writeHead(307, { location: `http://${elsewhere.host}${req.url}` }).end();
        return;
      }
      forward(req, res, sharedRegistryHost());
    });
    const ref = url.replace(sharedRegistryHost(), front.host);
    const out = mkdtempSync(join(tmpdir(), 'fg-pull-'));
    const served = await runCli(['pull', ref, '--output', out, '--creds', 'ci:s3cret']);
    expect(served.code).toBe(0);
    expect(readdirSync(out)).toEqual(['a.yaml']);

    mode = 'challenge';
    const challenged = await runCli([
      'pull',
      ref,
      '--output',
      mkdtempSync(join(tmpdir(), 'fg-pull-')),
      '--creds',
      'ci:s3cret',
    ]);
    expect(challenged.code).toBe(1);
    expect(challenged.stderr.trim()).toBe(
      `error: authentication failed for ${front.host}/hostile/redirect (401)`,
    );
    expect(elsewhere.requests.length).toBeGreaterThan(1);
    expect(hasAuth(elsewhere)).toEqual([]);
  });
});

describe('resources are bounded', () => {
  it('a 1 MiB gzip layer inflating to 1 GiB fails with one line, writes nothing, and stays small in memory', async () => {
    const bomb = gzipBomb();
    expect(bomb.length).toBeLessThan(2 * 1024 * 1024);
    const url = await pushLayer('hostile/bomb', bomb);
    const out = join(mkdtempSync(join(tmpdir(), 'fg-bomb-')), 'out');
    const r = await runDistMeasured(['pull', url, '--output', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `error: ${url}: the artifact is larger than the limit of 100 MiB unpacked (--max-artifact-size)`,
    );
    expect(existsSync(out)).toBe(false);
    expect(r.maxRssKiB).toBeLessThan(400 * 1024);
  });

  it('a 400 MB manifest is refused without being read whole, by its length or while it streams', async () => {
    const sent = { announced: 0, streamed: 0 };
    const huge = await standIn((req, res) => {
      req.resume();
      const announced = req.url?.includes('/announced/');
      res.writeHead(200, {
        'content-type': 'application/vnd.oci.image.manifest.v1+json',
        ...(announced ? { 'content-length': String(400_000_000) } : {}),
      });
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      const pump = () => {
        while (sent.announced + sent.streamed < 400_000_000 && !res.destroyed) {
          if (announced) sent.announced += chunk.length;
          else sent.streamed += chunk.length;
          if (!res.write(chunk)) return res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    const announced = await runCli([
      'pull',
      `oci://${huge.host}/announced/app:v1`,
      '--output',
      mkdtempSync(join(tmpdir(), 'fg-')),
    ]);
    expect(announced.code).toBe(1);
    expect(announced.stderr.trim()).toBe(
      `error: ${huge.host}/announced/app: manifest v1: larger than the limit of 4 MiB`,
    );
    const streamed = await runDistMeasured([
      'pull',
      `oci://${huge.host}/streamed/app:v1`,
      '--output',
      mkdtempSync(join(tmpdir(), 'fg-')),
    ]);
    expect(streamed.code).toBe(1);
    expect(streamed.stderr).toBe(
      `error: ${huge.host}/streamed/app: manifest v1: larger than the limit of 4 MiB`,
    );
    // What left the server before we hung up: the cap plus socket buffers, not 400 MB.
    expect(sent.announced + sent.streamed).toBeLessThan(64 * 1024 * 1024);
    expect(streamed.maxRssKiB).toBeLessThan(400 * 1024);
  });

  it('a registry that drips bytes forever ends pull at its --timeout, with one line naming the reference', async () => {
    const drip = await standIn(dripping('application/vnd.oci.image.manifest.v1+json'));
    const r = await runCli([
      'pull',
      `oci://${drip.host}/drip/app:v1`,
      '--output',
      mkdtempSync(join(tmpdir(), 'fg-')),
      '--timeout',
      '2s',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`error: ${drip.host}/drip/app: manifest v1: gave up at the --timeout of 2s`);
    const bad = await runCli([
      'pull',
      `oci://${drip.host}/drip/app:v1`,
      '--output',
      'x',
      '--timeout',
      'soon',
    ]);
    expect(bad.code).toBe(2);
  });

  it('a chart repository that drips its index forever ends render at its --timeout, naming the repository', async () => {
    const drip = await standIn(dripping('text/yaml'));
    const root = writeRepo({
      'clusters/dev/repo.yaml': `apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata: {name: charts, namespace: apps}\nspec: {url: "http://${drip.host}", interval: 5m}\n`,
      'clusters/dev/release.yaml': JSON.stringify({
        apiVersion: 'helm.toolkit.fluxcd.io/v2',
        kind: 'HelmRelease',
        metadata: { name: 'demo', namespace: 'apps' },
        spec: {
          interval: '5m',
          chart: { spec: { chart: 'demo', sourceRef: { kind: 'HelmRepository', name: 'charts' } } },
        },
      }),
    });
    // Long enough for kustomize to build the entry on a loaded machine; then the index drips.
    const r = await runCli([
      'render',
      '--repo',
      root,
      '--path',
      'clusters/dev',
      '--format',
      'json',
      '--timeout',
      '20s',
    ]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).errors.map((e: any) => e.message)).toEqual([
      expect.stringContaining(`cannot fetch http://${drip.host}/index.yaml: gave up at the --timeout of 20s`),
    ]);
  });
});

describe('pull unpacks as Flux does', () => {
  it('keeps permission bits only: no setuid, setgid or sticky bit survives', async () => {
    const entries: ArtifactEntry[] = [
      { type: 'directory', name: 'bin', mode: 0o1777 },
      { type: 'file', name: 'bin/tool', mode: 0o4755, content: Buffer.from('#!/bin/sh\n') },
      { type: 'file', name: 'bin/group', mode: 0o2750, content: Buffer.from('#!/bin/sh\n') },
    ];
    const url = await pushLayer('hostile/setuid', await packLayer(entries));
    const out = mkdtempSync(join(tmpdir(), 'fg-setuid-'));
    const r = await runCli(['pull', url, '--output', out]);
    expect(r.code).toBe(0);
    for (const name of ['bin', 'bin/tool', 'bin/group']) {
      const mode = statSync(join(out, name)).mode;
      expect({ name, special: mode & 0o7000 }).toEqual({ name, special: 0 });
      expect(mode & 0o100).toBe(0o100);
    }
  });

  it('refuses entries that escape, hard links and devices, drops symlinks, and writes nothing when it refuses', async () => {
    const cases: [string, { header: Partial<tar.Header> & { name: string }; content?: string }, string][] = [
      [
        'escape',
        { header: { name: 'ok/../../escape.yaml', type: 'file', size: 2 }, content: 'x\n' },
        "refusing tar entry 'ok/../../escape.yaml'",
      ],
      [
        'absolute',
        { header: { name: '/etc/cron.d/x', type: 'file', size: 2 }, content: 'x\n' },
        "refusing tar entry '/etc/cron.d/x'",
      ],
      [
        'hardlink',
        { header: { name: 'passwd', type: 'link', linkname: '/etc/passwd' } },
        "unsupported file type link for 'passwd'",
      ],
      [
        'device',
        { header: { name: 'null', type: 'character-device', devmajor: 1, devminor: 3 } },
        "unsupported file type character-device for 'null'",
      ],
    ];
    for (const [name, entry, message] of cases) {
      const url = await pushLayer(
        `hostile/untar-${name}`,
        await rawLayer([{ header: { name: 'first.yaml', type: 'file', size: 2 }, content: 'a\n' }, entry]),
      );
      const out = join(mkdtempSync(join(tmpdir(), 'fg-untar-')), 'out');
      const r = await runCli(['pull', url, '--output', out]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toBe(`error: ${url}: ${message}`);
      expect(existsSync(out)).toBe(false);
    }
    const url = await pushLayer(
      'hostile/untar-symlink',
      await rawLayer([
        { header: { name: 'link', type: 'symlink', linkname: '/etc/passwd' } },
        { header: { name: 'a.yaml', type: 'file', size: 2 }, content: 'a\n' },
      ]),
    );
    const out = mkdtempSync(join(tmpdir(), 'fg-untar-'));
    expect((await runCli(['pull', url, '--output', out])).code).toBe(0);
    expect(readdirSync(out)).toEqual(['a.yaml']);
  });
});
