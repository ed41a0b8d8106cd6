import { describe, expect, it } from '@jest/globals';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fluxKustomization, writeRepo } from '../support/repo.js';
import { PROJECT_ROOT, toolEnv } from '../support/tools.js';

/**
 * `--timeout` bounds every child of a run, the synchronous git reads of a commit's tree included
 * (an AbortSignal cannot stop those): a repository whose object store makes git stall ends the
 * diff at the deadline with the one line every other deadline gives.
 */
describe('diff --timeout', () => {
  it('stops a git read of a commit that never ends, with one line, exit 1', async () => {
    const repo = writeRepo({
      'clusters/dev/apps.yaml': fluxKustomization('apps', './apps'),
      'apps/config.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web, namespace: default}\n',
    });
    const git = (...args: string[]) =>
      execFileSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args]);
    git('init', '-q', '-b', 'main');
    git('add', '-A');
    git('commit', '-qm', 'base');
    writeFileSync(
      join(repo, 'apps/config.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web, namespace: default}\ndata: {a: b}\n',
    );
    git('commit', '-qam', 'head');

    // A git that stalls listing a tree and is itself for everything else.
    const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    const bin = mkdtempSync(join(tmpdir(), 'fg-stall-'));
    writeFileSync(
      join(bin, 'git'),
      `#!/bin/sh\nfor a in "$@"; do [ "$a" = ls-tree ] && exec sleep 600; done\nexec ${realGit} "$@"\n`,
    );
    chmodSync(join(bin, 'git'), 0o755);
    const env = toolEnv();
    env.PATH = `${bin}:${env.PATH}`;

    const child = spawn(
      process.execPath,
      [
        join(PROJECT_ROOT, 'dist', 'cli.js'),
        'diff',
        '--repo',
        repo,
        '--path',
        'clusters/dev',
        '--base',
        'HEAD~1',
        '--head',
        'HEAD',
        '--timeout',
        '5s',
      ],
      { env, cwd: repo },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((done) => child.on('close', done));
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([expect.stringMatching(/gave up at the --timeout of 5s$/)]);
  }, 120_000);
});
