import { beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { sharedRegistryHost } from '../support/registry.js';
import { writeRepo } from '../support/repo.js';
import { cosignKeyPairs, pushTestArtifact } from '../support/signing.js';
import { gitIn } from '../support/history.js';

/**
 * `diff --verify` on a real git history: the review gets a verification section for the sources
 * the change touches (added or modified sources, sources of changed consumers), checked on head.
 */
const prefix = `vdiff-${process.pid}-${Date.now().toString(36)}`;
let repo: string;
let keys: string;
const digests = new Map<string, string>();
const host = () => sharedRegistryHost();
const url = (name: string) => `oci://${host()}/${prefix}/${name}`;

const git = (...args: string[]) => gitIn(repo, ...args);

async function push(name: string, tag: string, key?: string) {
  const out = await pushTestArtifact(
    `${url(name)}:${tag}`,
    {
      'cm.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}, namespace: default}\ndata: {tag: ${tag}}\n`,
    },
    { revision: tag, extra: key ? ['--sign', 'cosign', '--cosign-key', join(keys, key)] : [] },
  );
  digests.set(`${name}:${tag}`, out.digest);
}

const source = (name: string, tag: string) => `
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: ${name}, namespace: flux-system}
spec:
  interval: 5m
  url: ${url(name)}
  ref: {tag: ${tag}}
  insecure: true
  verify: {provider: cosign, secretRef: {name: cosign-keys}}
`;

const kustomization = (name: string, from: string, interval: string) => `
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: ${name}, namespace: flux-system}
spec:
  interval: ${interval}
  path: ./
  prune: true
  sourceRef: {kind: OCIRepository, name: ${from}}
`;

let json: any;
let markdown: string;
let code: number;
let plain: any;

beforeAll(async () => {
  keys = await cosignKeyPairs('ours', 'theirs');
  await push('app', 'v1', 'ours.key');
  await push('app', 'v2');
  await push('lib', 'v1', 'ours.key');
  await push('stable', 'v1', 'ours.key');
  await push('extra', 'v1', 'theirs.key');

  const secret = `
apiVersion: v1
kind: Secret
metadata: {name: cosign-keys, namespace: flux-system}
stringData:
  ours.pub: |
${readFileSync(join(keys, 'ours.pub'), 'utf8').replace(/^(?=.)/gm, '    ')}`;
  repo = writeRepo({
    'clusters/dev/apps.yaml': [
      kustomization('app', 'app', '10m'),
      kustomization('consumer', 'lib', '10m'),
      kustomization('stable', 'stable', '10m'),
    ].join('---'),
    'clusters/dev/sources.yaml': [source('app', 'v1'), source('lib', 'v1'), secret].join('---'),
    'clusters/dev/stable.yaml': source('stable', 'v1'),
  });
  git('init', '-q');
  git('add', '-A');
  git('commit', '-qm', 'base');
  // The change: a new tag for app (unsigned), a changed consumer of lib, a new source signed
  // by a key the Secret does not hold, and an Alert on a removed API.
  writeRepo(
    {
      'clusters/dev/sources.yaml': [source('app', 'v2'), source('lib', 'v1'), secret].join('---'),
      'clusters/dev/apps.yaml': [
        kustomization('app', 'app', '10m'),
        kustomization('consumer', 'lib', '5m'),
        kustomization('stable', 'stable', '10m'),
      ].join('---'),
      'clusters/dev/extra.yaml': `${source('extra', 'v1')}---
apiVersion: notification.toolkit.fluxcd.io/v1beta2
kind: Alert
metadata: {name: on-call, namespace: flux-system}
spec:
  providerRef: {name: slack}
  eventSources: [{kind: Kustomization, name: '*'}]
`,
    },
    repo,
  );
  git('add', '-A');
  git('commit', '-qm', 'head');
  const args = ['diff', '--repo', repo, '--base', 'HEAD~1', '--head', 'HEAD', '--path', 'clusters/dev'];
  const j = await runCli([...args, '--verify', '--format', 'json']);
  code = j.code;
  json = JSON.parse(j.stdout);
  markdown = (await runCli([...args, '--verify', '--format', 'markdown'])).stdout;
  plain = JSON.parse((await runCli([...args, '--format', 'json'])).stdout);
}, 240000);

describe('diff --verify: the verification section of the PR review', () => {
  it('verifies on head exactly the sources the change touches, and fails for the bad ones', () => {
    expect(json.errors).toEqual([]);
    expect(json.verification.sources).toEqual([
      {
        ref: url('extra'),
        digest: digests.get('extra:v1'),
        provider: 'cosign',
        verified: false,
        reason: 'no signature verifies with the given key',
      },
      {
        ref: url('app'),
        digest: digests.get('app:v2'),
        provider: 'cosign',
        verified: false,
        reason: 'no cosign signature found',
      },
      {
        ref: url('lib'),
        digest: digests.get('lib:v1'),
        provider: 'cosign',
        verified: true,
        by: 'flux-system/cosign-keys/ours.pub',
      },
    ]);
    expect(code).toBe(1);
  });

  it('keeps the policy findings of the files the change alters', () => {
    const files = new Set(json.verification.findings.map((f: any) => f.file));
    expect(files.has('clusters/dev/stable.yaml')).toBe(false);
    expect(json.verification.findings).toContainEqual({
      severity: 'error',
      rule: 'deprecated-api',
      file: 'clusters/dev/extra.yaml',
      // The apiVersion line right above `kind: Alert`, read off the file.
      line: readFileSync(join(repo, 'clusters/dev/extra.yaml'), 'utf8').split('\n').indexOf('kind: Alert'),
      object: 'Alert/flux-system/on-call',
      message:
        'notification.toolkit.fluxcd.io/v1beta2 Alert is removed in Flux 2.9: migrate to notification.toolkit.fluxcd.io/v1beta3',
    });
  });

  it('shows the table in the markdown review, after the summary and before the per-owner sections', () => {
    const section = markdown.indexOf('### Verification');
    expect(section).toBeGreaterThan(markdown.indexOf('| Cluster | Owner |'));
    expect(section).toBeLessThan(markdown.indexOf('<details>'));
    expect(markdown).toContain('**1/3** signatures verified');
    expect(markdown).toMatch(
      /\| oci:\/\/\S+\/app \| OCIRepository\/flux-system\/app \(clusters\/dev\/sources\.yaml:\d+\) \| cosign \| `sha256:[0-9a-f]{12}` \| ❌ \*\*no\*\* \| no cosign signature found \|/,
    );
    expect(markdown).not.toContain('/stable |');
  });

  it('leaves the review as it was without --verify', () => {
    expect(plain.verification).toBeUndefined();
    expect(plain.changes.map((c: any) => `${c.action} ${c.kind} ${c.name}`).sort()).toEqual(
      json.changes.map((c: any) => `${c.action} ${c.kind} ${c.name}`).sort(),
    );
  });
});
