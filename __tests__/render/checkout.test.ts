/**
 * A GitRepository is read from this checkout only when it is this checkout: source-controller
 * clones each GitRepository from its own URL and ref, so another repository, branch or tag holds
 * other files, and rendering them from here would be silently wrong.
 */
import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { fluxKustomization, writeRepo } from '../support/repo.js';
import { normalizeGitUrl, notThisCheckout, readCheckout } from '../../src/flux/checkout.js';

const gitRepository = (name: string, url: string, ref: Record<string, string>) =>
  JSON.stringify({
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'GitRepository',
    metadata: { name, namespace: 'flux-system' },
    spec: { interval: '1m', url, ref },
  });

function checkout(files: Record<string, string>): string {
  const root = writeRepo(files);
  const git = (...args: string[]) => execFileSync('git', ['-C', root, ...args], { stdio: 'ignore' });
  git('init', '-q', '-b', 'main');
  git('remote', 'add', 'origin', 'git@github.com:acme/fleet.git');
  return root;
}

const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\n`;

describe('which GitRepository is this checkout', () => {
  it('normalises the URL forms Flux accepts to host/path', () => {
    for (const url of [
      'https://github.com/acme/fleet',
      'https://github.com/acme/fleet.git',
      'ssh://git@github.com/acme/fleet.git',
      'ssh://git@github.com:22/acme/fleet',
      'git@github.com:acme/fleet.git',
      'https://x-access-token@GitHub.com/acme/fleet/',
    ]) {
      expect(normalizeGitUrl(url)).toBe('github.com/acme/fleet');
    }
    expect(normalizeGitUrl('https://gitlab.example.com/group/sub/fleet.git')).toBe(
      'gitlab.example.com/group/sub/fleet',
    );
  });

  it('judges URL and ref against what is known of the checkout, and nothing when nothing is known', () => {
    const known = { urls: ['github.com/acme/fleet'], branches: ['main', 'feature'] };
    expect(
      notThisCheckout({ url: 'https://github.com/acme/fleet', ref: { branch: 'main' } }, known),
    ).toBeUndefined();
    expect(
      notThisCheckout({ url: 'https://github.com/acme/fleet', ref: { branch: 'feature' } }, known),
    ).toBeUndefined();
    expect(notThisCheckout({ url: 'https://github.com/acme/fleet' }, known)).toBeUndefined();
    expect(
      notThisCheckout({ url: 'https://github.com/acme/other', ref: { branch: 'main' } }, known),
    ).toContain('not this checkout');
    expect(
      notThisCheckout({ url: 'https://github.com/acme/fleet', ref: { branch: 'release' } }, known),
    ).toContain('branch release');
    expect(
      notThisCheckout({ url: 'https://github.com/acme/fleet', ref: { tag: 'v1.0.0' } }, known),
    ).toContain('tag v1.0.0');
    expect(
      notThisCheckout({ url: 'https://github.com/acme/other' }, { urls: [], branches: [] }),
    ).toBeUndefined();
  });

  it('reads remotes and branches from git, and the Actions repository only for the workspace checkout', () => {
    const root = checkout({ 'a.yaml': cm('a') });
    expect(readCheckout(root, {})).toEqual({ urls: ['github.com/acme/fleet'], branches: ['main'] });
    const env = { GITHUB_REPOSITORY: 'acme/mirror', GITHUB_BASE_REF: 'trunk', GITHUB_HEAD_REF: 'pr-1' };
    expect(readCheckout(root, { ...env, GITHUB_WORKSPACE: '/elsewhere' }).urls).toEqual([
      'github.com/acme/fleet',
    ]);
    const inside = readCheckout(root, { ...env, GITHUB_WORKSPACE: root });
    expect(inside.urls).toEqual(['github.com/acme/fleet', 'github.com/acme/mirror']);
    expect(inside.branches).toEqual(['main', 'trunk', 'pr-1']);
    // A directory inside the work tree, and a clone of a local directory, name no repository.
    mkdirSync(join(root, 'vendored'));
    expect(readCheckout(join(root, 'vendored'), {}).urls).toEqual([]);
    const local = mkdtempSync(join(tmpdir(), 'fg-local-clone-'));
    execFileSync('git', ['clone', '-q', root, local], { stdio: 'ignore' });
    expect(readCheckout(local, {}).urls).toEqual([]);
  });

  it('fails only the owner whose source is another repository or branch, pointing at --source; a mapping renders it', async () => {
    const files = {
      'clusters/dev/sources.yaml': [
        gitRepository('same', 'https://github.com/acme/fleet.git', { branch: 'main' }),
        gitRepository('other', 'https://github.com/acme/other', { branch: 'main' }),
        gitRepository('release', 'ssh://git@github.com/acme/fleet', { branch: 'release' }),
      ].join('\n---\n'),
      'clusters/dev/ks.yaml': [
        fluxKustomization('from-same', './apps', {}, 'GitRepository/same'),
        fluxKustomization('from-other', './apps', {}, 'GitRepository/other'),
        fluxKustomization('from-release', './apps', {}, 'GitRepository/release'),
      ].join('\n---\n'),
      'apps/app.yaml': cm('app'),
    };
    const root = checkout(files);
    const r = await runCli(['render', '--format', 'json', '--repo', root, '--path', 'clusters/dev']);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as {
      objects: { owner: { name: string } }[];
      errors: { owner: { name: string }; message: string }[];
    };
    expect(out.objects.filter((o) => o.owner.name === 'from-same')).toHaveLength(1);
    expect(out.errors.map((e) => e.owner.name).sort()).toEqual(['from-other', 'from-release']);
    const other = out.errors.find((e) => e.owner.name === 'from-other')!.message;
    expect(other).toContain('GitRepository flux-system/other is not this checkout');
    expect(other).toContain('--source GitRepository/flux-system/other=DIR');
    expect(out.errors.find((e) => e.owner.name === 'from-release')!.message).toContain('branch release');

    const elsewhere = writeRepo({ 'apps/app.yaml': cm('from-elsewhere') });
    const mapped = await runCli([
      'render',
      '--format',
      'json',
      '--repo',
      root,
      '--path',
      'clusters/dev',
      '--source',
      `GitRepository/flux-system/other=${elsewhere}`,
      '--source',
      `GitRepository/flux-system/release=${elsewhere}`,
    ]);
    expect(JSON.parse(mapped.stdout).errors).toEqual([]);
    expect(mapped.code).toBe(0);
  });
});
