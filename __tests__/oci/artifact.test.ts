import { describe, expect, it } from '@jest/globals';
import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { collectDirectory } from '../../src/oci/artifact/collect.js';
import { packLayer, readLayer } from '../../src/oci/artifact/tarball.js';
import { runCli } from '../support/cli.js';

function tree(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fg-art-'));
  mkdirSync(join(dir, 'b/sub'), { recursive: true });
  mkdirSync(join(dir, '.git'));
  writeFileSync(join(dir, '.git/HEAD'), 'ref');
  writeFileSync(join(dir, 'a.yaml'), 'a: 1\n');
  writeFileSync(join(dir, 'b/sub/c.yaml'), 'c: 1\n');
  writeFileSync(join(dir, 'logo.png'), 'png');
  writeFileSync(join(dir, 'run.sh'), '#!/bin/sh\n');
  chmodSync(join(dir, 'run.sh'), 0o755);
  chmodSync(join(dir, 'a.yaml'), 0o600);
  return dir;
}

describe('Flux artifact layer', () => {
  it('has the entries flux build artifact writes: root ".", lexical depth-first, modes from disk, VCS and binaries left out', async () => {
    const dir = tree();
    const entries = await readLayer(await packLayer(collectDirectory(dir)), 'test');
    expect(entries.map((e) => `${e.name} ${e.type} ${e.mode.toString(8)}`)).toEqual([
      '. directory 700',
      'a.yaml file 600',
      'b directory 755',
      'b/sub directory 755',
      'b/sub/c.yaml file 644',
      'run.sh file 755',
    ]);
  });

  it('writes uid/gid 0, no owner names, zero times, no trailing slash, and a Go-style gzip header', async () => {
    const gz = await packLayer(collectDirectory(tree()));
    expect([...gz.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    const tar = gunzipSync(gz);
    // ustar header of the second entry (a.yaml): name, mode, uid, gid, mtime fields.
    const header = tar.subarray(512, 1024);
    const field = (off: number, len: number) =>
      header
        .subarray(off, off + len)
        .toString('latin1')
        .replace(/\0.*$/s, '');
    expect(field(0, 100)).toBe('a.yaml');
    expect(parseInt(field(108, 8), 8)).toBe(0);
    expect(parseInt(field(116, 8), 8)).toBe(0);
    expect(parseInt(field(136, 12), 8)).toBe(0);
    expect(field(265, 32)).toBe('');
    expect(tar.subarray(0, 100).toString('latin1').replace(/\0.*$/s, '')).toBe('.');
    const dir = tar.indexOf(Buffer.from('b\0'));
    expect(dir).toBeGreaterThan(0);
  });

  it('is byte-for-byte reproducible', async () => {
    const dir = tree();
    const a = await packLayer(collectDirectory(dir));
    const b = await packLayer(collectDirectory(dir));
    expect(a.equals(b)).toBe(true);
  });

  it('replaces the default ignore list with --ignore-paths', async () => {
    const dir = tree();
    const names = (await readLayer(await packLayer(collectDirectory(dir, { ignorePaths: ['b/'] })), 't')).map(
      (e) => e.name,
    );
    expect(names).toContain('logo.png');
    expect(names).toContain('.git/HEAD');
    expect(names).not.toContain('b/sub/c.yaml');
  });

  it('skips symlinks unless asked, then copies their targets and breaks cycles', async () => {
    const dir = tree();
    symlinkSync('a.yaml', join(dir, 'link.yaml'));
    symlinkSync('..', join(dir, 'b/up'));
    const skipped: string[] = [];
    const plain = collectDirectory(dir, { onSkip: (p) => skipped.push(p) }).map((e) => e.name);
    expect(plain).not.toContain('link.yaml');
    expect(skipped).toEqual(expect.arrayContaining(['link.yaml', 'b/up']));
    const resolved = collectDirectory(dir, { resolveSymlinks: true });
    const link = resolved.find((e) => e.name === 'link.yaml');
    expect(link?.type === 'file' && link.content.toString()).toBe('a: 1\n');
    expect(resolved.some((e) => e.name.startsWith('b/up/'))).toBe(false);
  });

  it('refuses a symlink escaping the directory with one line naming it (exit 1)', async () => {
    const dir = tree();
    symlinkSync('/etc/hostname', join(dir, 'escape'));
    const r = await runCli([
      'build',
      '--path',
      dir,
      '--output',
      join(dir, '..', 'x.tgz'),
      '--resolve-symlinks',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('escape: the symlink points outside');
  });

  it('builds a single file as the flux CLI does, and answers a missing path with one line', async () => {
    const dir = tree();
    const out = join(dir, 'one.tgz');
    const r = await runCli(['build', '--path', join(dir, 'a.yaml'), '--output', out, '--format', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ path: out, digest: expect.stringMatching(/^sha256:/) });
    const missing = await runCli(['build', '--path', join(dir, 'nope')]);
    expect(missing.code).toBe(2); // bad usage: the path names nothing
    expect(missing.stderr.trim()).toBe(`error: --path ${join(dir, 'nope')}: no such file or directory`);
  });
});
