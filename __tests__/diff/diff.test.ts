import { beforeAll, describe, expect, it } from '@jest/globals';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { PROJECT_ROOT } from '../support/tools.js';
import { commitAll, editFile, gitIn, lastCommitDiffArgs } from '../support/history.js';

const SECRET_BEFORE = 'example-production-token-not-a-real-secret';
const SECRET_AFTER = 'rotated-production-token-value';
let repo: string;

const git = (...args: string[]) => gitIn(repo, ...args);
const edit = (file: string, from: string | RegExp, to: string) => editFile(repo, file, from, to);

/** Commits of the fixture history: each a kind of change a PR makes. */
const steps: { name: string; change: () => void; expect: string[] }[] = [
  {
    name: 'a replica count',
    change: () => edit('apps/production/kustomization.yaml', 'value: 4', 'value: 5'),
    expect: [
      'modified HelmRelease web/worker by Kustomization/flux-system/apps',
      'modified Deployment web/worker by HelmRelease/web/worker',
    ],
  },
  {
    name: 'a HelmRelease value',
    change: () =>
      edit(
        'apps/base/worker/release.yaml',
        'replicaCount: 1',
        'replicaCount: 1\n    image: ghcr.io/acme/worker:0.3.1',
      ),
    expect: [
      'modified HelmRelease web/worker by Kustomization/flux-system/apps',
      'modified Deployment web/worker by HelmRelease/web/worker',
    ],
  },
  {
    name: 'a substituted variable',
    change: () => edit('clusters/production/cluster-vars.yaml', 'domain: example.com', 'domain: example.org'),
    expect: [
      'modified ConfigMap flux-system/cluster-vars by Kustomization/flux-system/flux-system',
      'modified Deployment web/web by Kustomization/flux-system/apps',
    ],
  },
  {
    name: 'a Secret value',
    change: () => edit('clusters/production/cluster-secrets.yaml', SECRET_BEFORE, SECRET_AFTER),
    expect: [
      'modified Secret flux-system/cluster-secrets by Kustomization/flux-system/flux-system',
      'modified Secret web/web-api by Kustomization/flux-system/apps',
    ],
  },
  {
    name: 'a chart version',
    change: () => {
      edit('charts/worker/Chart.yaml', 'version: 0.3.0', 'version: 0.4.0');
      edit('charts/worker/templates/deployment.yaml', 'replicas:', 'revisionHistoryLimit: 3\n  replicas:');
    },
    expect: ['modified Deployment web/worker by HelmRelease/web/worker'],
  },
  {
    name: 'chart values files',
    change: () => {
      writeFileSync(join(repo, 'apps/base/worker/values-production.yaml'), 'tier: priority\n');
      edit(
        'charts/worker/templates/deployment.yaml',
        '  labels:\n',
        '  labels:\n    tier: {{ .Values.tier | default "none" }}\n',
      );
      edit(
        'apps/base/worker/release.yaml',
        'chart: ./charts/worker\n',
        'chart: ./charts/worker\n      valuesFiles: [charts/worker/values.yaml, apps/base/worker/values-production.yaml]\n',
      );
    },
    expect: [
      'modified HelmRelease web/worker by Kustomization/flux-system/apps',
      'modified Deployment web/worker by HelmRelease/web/worker',
    ],
  },
  {
    // Only a file the chart's valuesFiles name changes: no Flux object does.
    name: 'a chart values file',
    change: () => edit('apps/base/worker/values-production.yaml', 'tier: priority', 'tier: bulk'),
    expect: ['modified Deployment web/worker by HelmRelease/web/worker'],
  },
  {
    name: 'a removed app',
    change: () => edit('apps/production/kustomization.yaml', '  - ../base/worker\n', ''),
    expect: [
      'removed ConfigMap web/worker-values by Kustomization/flux-system/apps',
      'removed HelmRelease web/worker by Kustomization/flux-system/apps',
      'removed Deployment web/worker by HelmRelease/web/worker',
    ],
  },
  {
    name: 'an added app',
    change: () => {
      cpSync(
        join(repo, 'clusters/production/infrastructure.yaml'),
        join(repo, 'clusters/production/extra.yaml'),
      );
      edit('clusters/production/extra.yaml', 'name: infrastructure', 'name: extra');
      edit('clusters/production/extra.yaml', 'path: ./infrastructure', 'path: ./platform');
    },
    expect: [
      'added Kustomization flux-system/extra by Kustomization/flux-system/flux-system',
      'added ConfigMap alert-rules by Kustomization/flux-system/extra',
    ],
  },
];

const describeChange = (c: any) =>
  `${c.action} ${c.kind} ${c.namespace ? c.namespace + '/' : ''}${c.name} by ${c.owner.kind}/${c.owner.namespace}/${c.owner.name}`;

const results: {
  name: string;
  json: any;
  full: any;
  markdown: string;
  unified: string;
  stderr: string;
  expect: string[];
}[] = [];

beforeAll(async () => {
  repo = mkdtempSync(join(tmpdir(), 'fg-diff-'));
  rmSync(repo, { recursive: true });
  cpSync(join(PROJECT_ROOT, 'examples', 'fleet'), repo, { recursive: true });
  git('init', '-q');
  commitAll(repo, 'base');
  for (const step of steps) {
    step.change();
    commitAll(repo, step.name);
    const args = [...lastCommitDiffArgs(repo, 'clusters/production')];
    const json = await runCli([...args, '--format', 'json']);
    const full = await runCli([...args, '--format', 'json', '--no-changed-only']);
    const markdown = await runCli([...args, '--format', 'markdown']);
    const unified = await runCli([...args, '--format', 'unified']);
    results.push({
      name: step.name,
      json: JSON.parse(json.stdout),
      full: JSON.parse(full.stdout),
      markdown: markdown.stdout,
      unified: unified.stdout,
      stderr: json.stderr + markdown.stderr + unified.stderr,
      expect: step.expect,
    });
  }
}, 900000);

describe('fluxgate diff --base HEAD~1 --head HEAD on a real history', () => {
  it.each(steps.map((s) => s.name))(
    'reports exactly the objects %s changes, under the right owners',
    (name) => {
      const r = results.find((x) => x.name === name)!;
      expect(r.json.errors).toEqual([]);
      expect(r.json.changes.map(describeChange).sort()).toEqual([...r.expect].sort());
    },
  );

  it('never shows the Secret value in any format, yet shows that it changed', () => {
    const r = results.find((x) => x.name === 'a Secret value')!;
    for (const text of [JSON.stringify(r.json), r.markdown, r.unified, r.stderr]) {
      expect(text).not.toContain(SECRET_BEFORE);
      expect(text).not.toContain(SECRET_AFTER);
    }
    expect(r.unified).toMatch(
      /-\s+api_token: \(secret:[0-9a-f]{12}\)\n\+\s+api_token: \(secret:[0-9a-f]{12}\)/,
    );
  });

  it('lists image changes old → new', () => {
    const r = results.find((x) => x.name === 'a HelmRelease value')!;
    expect(r.json.images).toEqual([
      expect.objectContaining({
        object: 'Deployment/worker',
        container: 'worker',
        before: 'ghcr.io/acme/worker:0.3.0',
        after: 'ghcr.io/acme/worker:0.3.1',
      }),
    ]);
    expect(r.markdown).toContain('| `ghcr.io/acme/worker:0.3.0` | `ghcr.io/acme/worker:0.3.1` |');
  });

  it('changed-only mode gives the same changes as a full render and renders fewer owners', () => {
    // Markers are keyed per run, so two runs compare with the markers blanked.
    const blank = (changes: unknown) =>
      JSON.parse(JSON.stringify(changes).replace(/\(secret:[0-9a-f]{12}\)/g, '(secret)'));
    for (const r of results) {
      expect(blank(r.json.changes)).toEqual(blank(r.full.changes));
      expect(r.json.rendered).toBeLessThanOrEqual(r.full.rendered);
    }
    const fewer = results.filter((r) => r.json.rendered < r.full.rendered).map((r) => r.name);
    expect(fewer).toEqual(expect.arrayContaining(['a replica count', 'a chart version']));
  });

  it('starts the review with a summary table and folds each owner into a section', () => {
    const r = results.find((x) => x.name === 'a removed app')!;
    const table = r.markdown.indexOf('| Cluster | Owner | Added | Removed | Modified | Errors |');
    expect(table).toBeGreaterThan(0);
    expect(table).toBeLessThan(r.markdown.indexOf('<details>'));
    expect(r.markdown).toContain(
      '| clusters/production | [HelmRelease web/worker](#fluxgate-owner-1) | 0 | 1 | 0 | 0 |',
    );
  });
});
