import { describe, expect, it } from '@jest/globals';
import { runCli, runDistCli } from '../support/cli.js';
import { commands } from '../../src/commands/index.js';

describe('fluxgate CLI', () => {
  it('lists every command in --help and exits 0', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const c of commands) expect(r.stdout).toContain(`  ${c.name}`);
  });

  it('prints the flags of a command with <command> --help', async () => {
    const r = await runCli(['push', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: fluxgate push oci://HOST/REPO');
    expect(r.stdout).toContain('--reproducible');
    expect(r.stdout).toContain('--insecure-registry');
  });

  it('answers an unknown command with one line and exit 2', async () => {
    const r = await runCli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain("unknown command 'frobnicate'");
  });

  it('answers an unknown flag with one line naming it and exit 2', async () => {
    const r = await runCli(['render', '--pathh', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('--pathh');
  });

  it('answers a missing required flag with one line naming it and exit 2', async () => {
    const r = await runCli(['diff', '--head', 'HEAD']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('error: diff: --base is required');
  });

  it('rejects a bad choice with the allowed values', async () => {
    const r = await runCli(['render', '--format', 'xml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--format must be one of yaml|json');
  });

  it('runs the committed bundle from a clean clone without a build', () => {
    const r = runDistCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: fluxgate <command>');
    const bad = runDistCli(['push']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe('error: push: an oci://HOST/REPO:TAG reference is required');
  });
});
