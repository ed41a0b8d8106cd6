/**
 * `fluxgate diff` on a history of the d2-pattern fleet: adding a tenant input to the
 * ResourceSet shows exactly the new tenant's objects (those the ResourceSet generates and those
 * its generated Kustomization and HelmRelease render), in changed-only mode as in a full render;
 * a change under a suspended Kustomization is shown as suspended, not as a change.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { FIXTURES } from '../support/tools.js';
import { commitAll, editFile, gitIn, lastCommitDiffArgs } from '../support/history.js';

const APPS = join(FIXTURES, 'flux-operator', 'd2-apps');
let repo: string;

const git = (...args: string[]) => gitIn(repo, ...args);
const edit = (file: string, from: string, to: string) => editFile(repo, file, from, to);

interface Result {
  json: any;
  full: any;
  markdown: string;
  code: number;
}
const results = new Map<string, Result>();

const steps: { name: string; change: () => void }[] = [
  {
    name: 'a new tenant',
    change: () =>
      edit(
        'tenants/apps.yaml',
        '    - tenant: "backend"\n',
        '    - tenant: "search"\n      tag: "${ARTIFACT_TAG}"\n      environment: "${ENVIRONMENT}"\n    - tenant: "backend"\n',
      ),
  },
  {
    name: 'a change under a suspended Kustomization',
    change: () => edit('monitoring/alerts.yaml', 'threshold: "80"', 'threshold: "95"'),
  },
];

beforeAll(async () => {
  repo = mkdtempSync(join(tmpdir(), 'fg-d2-diff-'));
  rmSync(repo, { recursive: true });
  cpSync(join(FIXTURES, 'flux-operator', 'd2-fleet'), repo, { recursive: true });
  git('init', '-q');
  commitAll(repo, 'base');
  for (const step of steps) {
    step.change();
    commitAll(repo, step.name);
    const args = [
      ...lastCommitDiffArgs(repo, 'clusters/staging'),
      ...['frontend', 'backend', 'payments', 'search'].flatMap((t) => [
        '--source',
        `OCIRepository/${t}/apps=${join(APPS, t)}`,
      ]),
    ];
    const json = await runCli([...args, '--format', 'json']);
    const full = await runCli([...args, '--format', 'json', '--no-changed-only']);
    const markdown = await runCli([...args, '--format', 'markdown']);
    results.set(step.name, {
      json: JSON.parse(json.stdout),
      full: JSON.parse(full.stdout),
      markdown: markdown.stdout,
      code: json.code,
    });
  }
}, 900000);

const describeChange = (c: any) =>
  `${c.action} ${c.kind} ${c.namespace ? `${c.namespace}/` : ''}${c.name} by ${c.owner.kind}/${c.owner.namespace}/${c.owner.name}`;

describe('fluxgate diff of a Flux Operator fleet', () => {
  it('shows exactly the new tenant’s objects when a tenant input is added, in both modes', () => {
    const r = results.get('a new tenant')!;
    const expected = [
      'modified ResourceSet flux-system/apps by Kustomization/flux-system/tenants',
      'added Namespace search by ResourceSet/flux-system/apps',
      'added ConfigMap search/flux-runtime-info by ResourceSet/flux-system/apps',
      'added Secret search/registry-auth by ResourceSet/flux-system/apps',
      'added ServiceAccount search/flux by ResourceSet/flux-system/apps',
      'added RoleBinding search/flux by ResourceSet/flux-system/apps',
      'added OCIRepository search/apps by ResourceSet/flux-system/apps',
      'added Kustomization search/apps by ResourceSet/flux-system/apps',
      'added HelmRelease search/quota by ResourceSet/flux-system/apps',
      'added Deployment search/search by Kustomization/search/apps',
      'added ResourceQuota search/search-quota by HelmRelease/search/quota',
    ].sort();
    for (const json of [r.json, r.full]) {
      expect(json.errors).toEqual([]);
      expect(json.changes.map(describeChange).sort()).toEqual(expected);
    }
    expect(r.markdown).toContain('| clusters/staging | [ResourceSet flux-system/apps]');
  });

  it('shows a change under a suspended Kustomization as suspended, not as a change', () => {
    const r = results.get('a change under a suspended Kustomization')!;
    for (const json of [r.json, r.full]) {
      expect(json.errors).toEqual([]);
      expect(json.changes).toEqual([]);
      expect(json.suspended).toEqual([
        { owner: { kind: 'Kustomization', namespace: 'flux-system', name: 'monitoring' }, objects: 1 },
      ]);
    }
    expect(r.markdown).toContain('### ⏸️ Suspended');
    expect(r.markdown).toContain(
      '- clusters/staging · Kustomization flux-system/monitoring is **suspended**: 1 changed object under it would not be applied until it is resumed',
    );
    expect(r.markdown).toContain(
      '| clusters/staging | Kustomization flux-system/monitoring (suspended) | 0 | 0 | 0 | 0 |',
    );
    expect(r.markdown).not.toContain('alert-rules');
    expect(r.code).toBe(0);
  });
});
