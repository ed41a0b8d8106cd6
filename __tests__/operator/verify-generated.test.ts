/**
 * `fluxgate verify` covers what ResourceSets generate: an OCIRepository per tenant with
 * `spec.verify`, templated from the ResourceSet's inputs, is verified against the real test
 * registry like one written out, and a failure names the ResourceSet's file.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { runCli } from '../support/cli.js';
import { sharedRegistryHost } from '../support/registry.js';
import { writeRepo } from '../support/repo.js';
import { cosignKeyPairs, pushTestArtifact } from '../support/signing.js';

const prefix = `vgen-${process.pid}-${Date.now().toString(36)}`;
const url = (tenant: string) => `oci://${sharedRegistryHost()}/${prefix}/tenant-${tenant}`;
const digests = new Map<string, string>();
let keys: string;

beforeAll(async () => {
  keys = await cosignKeyPairs('ours');
  for (const [tenant, signed] of [
    ['signed', true],
    ['unsigned', false],
  ] as const) {
    const out = await pushTestArtifact(
      `${url(tenant)}:v1.0.0`,
      { 'app.yaml': `tenant: ${tenant}\n` },
      { extra: signed ? ['--sign', 'cosign', '--cosign-key', join(keys, 'ours.key')] : [] },
    );
    digests.set(tenant, out.digest);
  }
}, 300000);

function fleet() {
  const publicKey = readFileSync(join(keys, 'ours.pub'), 'utf8').replace(/^/gm, '    ');
  return writeRepo({
    'clusters/dev/keys.yaml': `
apiVersion: v1
kind: Secret
metadata: {name: cosign-keys, namespace: flux-system}
stringData:
  ours.pub: |
${publicKey}`,
    'clusters/dev/tenants.yaml': `
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSet
metadata:
  name: tenants
  namespace: flux-system
spec:
  inputs:
    - tenant: signed
    - tenant: unsigned
  resources:
    - apiVersion: source.toolkit.fluxcd.io/v1
      kind: OCIRepository
      metadata:
        name: apps-<< inputs.tenant >>
        namespace: flux-system
      spec:
        interval: 5m
        url: oci://${sharedRegistryHost()}/${prefix}/tenant-<< inputs.tenant >>
        ref: {tag: v1.0.0}
        insecure: true
        verify: {provider: cosign, secretRef: {name: cosign-keys}}
`,
    'clusters/dev/legacy.yaml': `
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSet
metadata:
  name: legacy
  namespace: flux-system
spec:
  inputs:
    - tenant: old
  resourcesTemplate: |
    apiVersion: source.toolkit.fluxcd.io/v1beta2
    kind: OCIRepository
    metadata:
      name: legacy-<< inputs.tenant >>
      namespace: flux-system
    spec:
      interval: 5m
      url: oci://registry.example.com/<< inputs.tenant >>
`,
  });
}

describe('verify: OCIRepositories a ResourceSet generates', () => {
  it('verifies each generated source with its own spec.verify and fails on the unsigned one', async () => {
    const repo = fleet();
    const r = await runCli(['verify', '--repo', repo, '--path', 'clusters/dev', '--format', 'json']);
    const report = JSON.parse(r.stdout);
    expect(report.sources).toEqual([
      {
        ref: url('signed'),
        digest: digests.get('signed'),
        provider: 'cosign',
        verified: true,
        by: 'flux-system/cosign-keys/ours.pub',
      },
      {
        ref: url('unsigned'),
        digest: digests.get('unsigned'),
        provider: 'cosign',
        verified: false,
        reason: 'no cosign signature found',
      },
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /clusters\/dev\/tenants\.yaml:\d+: OCIRepository\/flux-system\/apps-unsigned: .*not verified/,
    );
  });

  it('reports a deprecated API a template generates at the ResourceSet that generates it', async () => {
    const r = await runCli(['verify', '--repo', fleet(), '--path', 'clusters/dev', '--format', 'json']);
    const findings = JSON.parse(r.stdout).findings as {
      rule: string;
      file: string;
      line: number;
      object: string;
    }[];
    expect(findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          rule: 'deprecated-api',
          file: 'clusters/dev/legacy.yaml',
          line: 9, // spec.resourcesTemplate
          object: 'OCIRepository/flux-system/legacy-old',
        }),
      ]),
    );
  });
});
