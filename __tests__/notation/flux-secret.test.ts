/**
 * Flux's notation semantics (source-controller internal/oci/notation): a verify Secret's policy
 * has its `skip` statements cleaned before validation, and its certificates are trusted as they
 * are; and trust-store directories as notation-go reads them (no subdirectories, no symlinks).
 */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from '@jest/globals';
import { RegistryClient } from '../../src/oci/client.js';
import { verifyArtifact } from '../../src/sign/index.js';
import { parseTrustPolicy, TrustPolicyError } from '../../src/sign/notation/trust-policy.js';
import type { NotationVerifyPolicy, SignTarget } from '../../src/sign/types.js';
import { runCli } from '../support/cli.js';
import { createCa, issueLeaf, trustPolicy, writeSigningFiles, type TestCertificate } from '../support/pki.js';
import { sharedRegistryHost } from '../support/registry.js';
import { pushTestArtifact } from '../support/signing.js';
import { silentLogger } from '../../src/log.js';

const SUBJECT = 'C=US, ST=WA, L=Seattle, O=Fluxgate Test, CN=Fluxgate Leaf Trust';
const skipWithStores = JSON.stringify({
  version: '1.0',
  trustPolicies: [
    {
      name: 'skipped',
      registryScopes: ['example.com/skipped'],
      signatureVerification: { level: 'skip' },
      trustStores: ['ca:leftover'],
      trustedIdentities: ['*'],
    },
    {
      name: 'all',
      registryScopes: ['*'],
      signatureVerification: { level: 'strict' },
      trustStores: ['ca:flux'],
      trustedIdentities: ['*'],
    },
  ],
});

describe('a skip statement that still lists stores and identities', () => {
  test('notation refuses it; a Flux verify Secret has it cleaned first', () => {
    expect(() => parseTrustPolicy(skipWithStores)).toThrow(
      new TrustPolicyError(
        'statement "skipped": level skip must not list trust stores or trusted identities',
      ),
    );
    const doc = parseTrustPolicy(skipWithStores, { cleanSkipStatements: true });
    expect(doc.statements.map((s) => [s.name, s.trustStores, s.trustedIdentities])).toEqual([
      ['skipped', [], []],
      ['all', ['ca:flux'], ['*']],
    ]);
  });
});

describe('against the registry', () => {
  let work: string;
  let leaf: TestCertificate;
  let target: SignTarget;
  let ref: string;
  let signing: ReturnType<typeof writeSigningFiles>;
  const leafPem = () =>
    `-----BEGIN CERTIFICATE-----\n${leaf.chainDer[0]!.toString('base64')}\n-----END CERTIFICATE-----\n`;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'notation-flux-'));
    const ca = await createCa({ key: 'ec-p256' });
    leaf = await issueLeaf(ca, { key: 'ec-p256', subject: SUBJECT });
    signing = writeSigningFiles(work, leaf);
    const host = sharedRegistryHost();
    const out = await pushTestArtifact(`oci://${host}/notation-flux/app:v1`, {
      'a.yaml': `a: ${Math.random()}\n`,
    });
    const client = new RegistryClient();
    const d = (await client.headManifest(host, 'notation-flux/app', out.digest))!;
    target = { registry: host, repository: 'notation-flux/app', ...d };
    ref = `oci://${host}/notation-flux/app@${out.digest}`;
    const r = await runCli([
      'sign',
      ref,
      '--provider',
      'notation',
      '--notation-key',
      signing.keyFile,
      '--notation-cert',
      signing.certFile,
    ]);
    expect(r.code).toBe(0);
  });

  const verifyFlux = (json: string, certs: string[]) => {
    const policy: NotationVerifyPolicy = {
      provider: 'notation',
      trustPolicy: { source: 'Secret flux-system/notation trustpolicy.json', json },
      trustStores: new Map([
        ['*', certs.map((pem, i) => ({ name: `flux-system/notation/${i}.crt`, data: Buffer.from(pem) }))],
      ]),
      fluxSecret: true,
    };
    return verifyArtifact(new RegistryClient(), target, policy, { log: silentLogger, env: {} });
  };

  test('a Flux Secret holding only the signing (leaf) certificate verifies, with the skip statement cleaned', async () => {
    expect(await verifyFlux(skipWithStores, [leafPem()])).toMatchObject({
      verified: true,
      by: expect.stringContaining('CN=Fluxgate Leaf Trust'),
    });
  });

  test('notation trust-store directories: the leaf alone is refused, a subdirectory or a symlink is an error', async () => {
    const policyFile = join(work, 'policy.json');
    writeFileSync(policyFile, trustPolicy({ trustStores: ['ca:test'] }));
    const verify = (dir: string) =>
      runCli([
        'verify',
        ref,
        '--provider',
        'notation',
        '--trust-policy',
        policyFile,
        '--trust-store',
        `ca:test=${dir}`,
      ]);

    expect((await verify(signing.trustStoreDir)).code).toBe(0);
    const leafOnly = join(work, 'leaf-only');
    mkdirSync(leafOnly);
    writeFileSync(join(leafOnly, 'leaf.pem'), leafPem());
    const refused = await verify(leafOnly);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('is neither a CA nor a self-signed signing certificate');

    const withSubdir = join(work, 'with-subdir');
    mkdirSync(join(withSubdir, 'nested'), { recursive: true });
    writeFileSync(join(withSubdir, 'root.pem'), '');
    const sub = await verify(withSubdir);
    expect(sub.code).toBe(2);
    expect(sub.stderr.trim()).toBe(
      `error: verify: --trust-store ca:test=${withSubdir}: trusted certificate nested is not a regular file (directories or symlinks are not supported)`,
    );

    const withLink = join(work, 'with-link');
    mkdirSync(withLink);
    symlinkSync(join(signing.trustStoreDir, 'root.pem'), join(withLink, 'root.pem'));
    const link = await verify(withLink);
    expect(link.code).toBe(2);
    expect(link.stderr).toContain('trusted certificate root.pem is not a regular file');
  });
});
