import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { createCa, issueLeaf } from '../support/pki.js';

const openssl = (args: string[]) => execFileSync('openssl', args, { encoding: 'utf8' });

describe('test PKI helper', () => {
  test('a leaf chains to its root in openssl, with code-signing extensions', async () => {
    const ca = await createCa({ key: 'ec-p384' });
    const leaf = await issueLeaf(ca, { key: 'ec-p256' });
    const dir = mkdtempSync(join(tmpdir(), 'pki-'));
    writeFileSync(join(dir, 'root.pem'), ca.pem);
    writeFileSync(join(dir, 'leaf.pem'), leaf.pem);
    expect(openssl(['verify', '-CAfile', join(dir, 'root.pem'), join(dir, 'leaf.pem')])).toContain('OK');
    const text = openssl(['x509', '-in', join(dir, 'leaf.pem'), '-noout', '-text']);
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature\n/);
    expect(text).toMatch(/Extended Key Usage:\s+Code Signing/);
    expect(text).toMatch(/CA:FALSE/);
  });

  test('bad variants carry the defect they are named for', async () => {
    const ca = await createCa({ key: 'ec-p256' });
    const show = (pem: string) => {
      const f = join(mkdtempSync(join(tmpdir(), 'pki-')), 'c.pem');
      writeFileSync(f, pem);
      return openssl(['x509', '-in', f, '-noout', '-text', '-enddate']);
    };
    expect(show((await issueLeaf(ca, { key: 'ec-p256', variant: 'no-code-signing' })).pem)).toMatch(
      /Extended Key Usage:\s+TLS Web Server Authentication/,
    );
    expect(show((await issueLeaf(ca, { key: 'ec-p256', variant: 'ca-leaf' })).pem)).toMatch(/CA:TRUE/);
    const expired = await issueLeaf(ca, { key: 'ec-p256', variant: 'expired' });
    expect(expired.notAfter.getTime()).toBeLessThan(Date.now());
  });
});
