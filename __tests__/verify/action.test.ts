import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { sharedRegistryHost } from '../support/registry.js';
import { writeRepo } from '../support/repo.js';
import { PROJECT_ROOT, toolEnv } from '../support/tools.js';
import { readOutputs } from './github-outputs.js';

describe('the action runs verify: annotations on the files, outputs, a job summary section', () => {
  it('annotates the finding and the unverified source at their lines and sets verified=false', async () => {
    const host = sharedRegistryHost();
    const repoName = `vaction-${process.pid}/app`;
    const pushed = await runCli([
      'push',
      `oci://${host}/${repoName}:v1`,
      '--path',
      writeRepo({ 'a.yaml': 'a: 1\n' }),
      '--source',
      'https://example.com/x',
      '--revision',
      'v1@sha1:0123456789abcdef0123456789abcdef01234567',
      '--format',
      'json',
    ]);
    expect(pushed.code).toBe(0);
    const digest = JSON.parse(pushed.stdout).digest;
    // A real P-256 public key in the repository's Secret: it parses, and the signature lookup decides.
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString();
    const repo = writeRepo({
      'clusters/dev/app.yaml': `
apiVersion: helm.toolkit.fluxcd.io/v2beta2
kind: HelmRelease
metadata: {name: web, namespace: web}
spec:
  interval: 5m
  chartRef: {kind: OCIRepository, name: app, namespace: flux-system}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: app, namespace: flux-system}
spec:
  interval: 5m
  url: oci://${host}/${repoName}
  ref: {tag: v1}
  verify:
    provider: cosign
    secretRef: {name: cosign-pub}
---
apiVersion: v1
kind: Secret
metadata: {name: cosign-pub, namespace: flux-system}
stringData:
  cosign.pub: |
${pem.replace(/^(?=.)/gm, '    ')}`,
    });
    const runner = mkdtempSync(join(tmpdir(), 'fg-runner-'));
    const outputs = join(runner, 'output');
    const summary = join(runner, 'summary');
    writeFileSync(outputs, '');
    writeFileSync(summary, '');
    const r = spawnSync(process.execPath, ['--import', './scripts/ts-loader.mjs', 'src/index.ts'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      env: toolEnv({
        GITHUB_ACTIONS: 'true',
        GITHUB_OUTPUT: outputs,
        GITHUB_STEP_SUMMARY: summary,
        INPUT_COMMAND: 'verify',
        INPUT_REPO: repo,
        'INPUT_GITHUB-TOKEN': '',
      }),
      timeout: 120000,
    });
    expect(r.status).toBe(1);
    // Workflow commands: each annotation at its file and line.
    expect(r.stdout).toContain(
      '::error title=fluxgate%3A deprecated-api,file=clusters/dev/app.yaml,line=1::HelmRelease/web/web: helm.toolkit.fluxcd.io/v2beta2 HelmRelease is removed in Flux 2.8: migrate to helm.toolkit.fluxcd.io/v2',
    );
    expect(r.stdout).toContain(
      `::error title=fluxgate%3A signature,file=clusters/dev/app.yaml,line=15::OCIRepository/flux-system/app: oci://${host}/${repoName}@${digest}: not verified (cosign): no cosign signature found`,
    );
    const out = readOutputs(outputs);
    expect(out.verified).toBe('false');
    expect(JSON.parse(out.findings!)).toEqual([
      expect.objectContaining({ rule: 'deprecated-api', file: 'clusters/dev/app.yaml', line: 1 }),
    ]);
    expect(JSON.parse(out.json!).sources).toEqual([
      {
        ref: `oci://${host}/${repoName}`,
        digest,
        provider: 'cosign',
        verified: false,
        reason: 'no cosign signature found',
      },
    ]);
    const md = readFileSync(summary, 'utf8');
    expect(md).toContain('## fluxgate verify');
    expect(md).toContain('**0/1** signature verified; 1 policy finding (**1 error**).');
    expect(md).toMatch(
      /\| oci:\/\/[^|]+\/app \| OCIRepository\/flux-system\/app \(clusters\/dev\/app\.yaml:15\) \| cosign \| `sha256:[0-9a-f]{12}` \| ❌ \*\*no\*\* \| no cosign signature found \|/,
    );
    // The Secret's key material never reaches the log or the summary.
    const keyBody = pem.split('\n')[1]!;
    expect(r.stdout + r.stderr + md).not.toContain(keyBody);
  });
});
