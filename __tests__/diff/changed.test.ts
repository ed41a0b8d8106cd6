import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChartRepo, type ChartRepo } from '../support/chart-repo.js';
import { runCli } from '../support/cli.js';
import { writeRepo } from '../support/repo.js';
import { gitIn } from '../support/history.js';

/**
 * The diff from git refs on fleets laid out as home-ops fleets are: Kustomization paths without a
 * kustomization.yaml (kustomize-controller generates one), apps that share components from a
 * directory outside the path, charts of the repository used through a HelmChart, and
 * .sourceignore files. Each change is diffed changed-only (the default with refs) and in full.
 */
const KS = (name: string, path: string) => `
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: ${name}, namespace: flux-system}
spec:
  interval: 10m
  path: ${path}
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
`;

const configMap = (name: string, ns: string, value: string) => `
apiVersion: v1
kind: ConfigMap
metadata: {name: ${name}, namespace: ${ns}}
data: {value: "${value}"}
`;

function fleet(): string {
  return writeRepo({
    'clusters/main/flux-system/gotk-sync.yaml': `
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec:
  interval: 1m
  url: https://github.com/acme/home-ops
  ref: {branch: main}
`,
    'clusters/main/apps.yaml': KS('apps', './kubernetes/apps'),
    'clusters/main/platform.yaml': KS('platform', './kubernetes/platform'),
    // No kustomization.yaml in kubernetes/apps: each app directory has its own.
    'kubernetes/apps/web/kustomization.yaml': `
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: web
resources: [config.yaml]
components: [../../components/common]
`,
    'kubernetes/apps/web/config.yaml': configMap('web', 'web', 'one'),
    'kubernetes/apps/api/kustomization.yaml': `
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: api
resources: [config.yaml]
components: [../../components/common]
`,
    'kubernetes/apps/api/config.yaml': configMap('api', 'api', 'one'),
    'kubernetes/components/common/kustomization.yaml': `
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
labels:
  - pairs: {team: platform}
`,
    // The platform: policies as plain files, a chart of the repository through a HelmChart.
    'kubernetes/platform/policies/deny.yaml': `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: default}
spec: {podSelector: {}, policyTypes: [Ingress]}
`,
    'kubernetes/platform/policies/config.yaml': configMap('policies', 'default', 'one'),
    'kubernetes/platform/agent/kustomization.yaml': `
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [chart.yaml, release.yaml]
`,
    'kubernetes/platform/agent/chart.yaml': `
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmChart
metadata: {name: agent, namespace: flux-system}
spec:
  interval: 10m
  chart: ./charts/agent
  sourceRef: {kind: GitRepository, name: flux-system}
`,
    'kubernetes/platform/agent/release.yaml': `
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: agent, namespace: flux-system}
spec:
  interval: 10m
  chartRef: {kind: HelmChart, name: agent}
`,
    'charts/agent/Chart.yaml': 'apiVersion: v2\nname: agent\nversion: 0.1.0\n',
    'charts/agent/values.yaml': 'port: 8080\n',
    'charts/agent/templates/service.yaml': `
apiVersion: v1
kind: Service
metadata: {name: agent}
spec: {ports: [{port: {{ .Values.port }}}]}
`,
  });
}

const describeChange = (c: { action: string; kind: string; namespace?: string; name: string }) =>
  `${c.action} ${c.kind} ${c.namespace ? c.namespace + '/' : ''}${c.name}`;

interface DiffPair {
  changedOnly: {
    changes: { action: string; kind: string; namespace?: string; name: string }[];
    errors: unknown[];
  };
  full: { changes: unknown[]; errors: unknown[] };
}

/** Commits `edit` on top of a fresh fleet and diffs the two commits, changed-only and in full. */
async function diffEdit(
  edit: (repo: string) => void,
  baseFiles: Record<string, string> = {},
): Promise<DiffPair> {
  const repo = fleet();
  for (const [file, text] of Object.entries(baseFiles)) writeFileSync(join(repo, file), text);
  const git = (...args: string[]) => gitIn(repo, ...args);
  git('init', '-q');
  git('add', '-A');
  git('commit', '-qm', 'base');
  edit(repo);
  git('add', '-A');
  git('commit', '-qm', 'edit');
  const args = ['diff', '--repo', repo, '--base', 'HEAD~1', '--head', 'HEAD', '--path', 'clusters/main'];
  const changedOnly = await runCli([...args, '--format', 'json']);
  const full = await runCli([...args, '--format', 'json', '--no-changed-only']);
  return { changedOnly: JSON.parse(changedOnly.stdout), full: JSON.parse(full.stdout) };
}

const rewrite = (repo: string, file: string, from: string, to: string) => {
  const text = readFileSync(join(repo, file), 'utf8');
  if (!text.includes(from)) throw new Error(`fixture edit did not apply to ${file}`);
  writeFileSync(join(repo, file), text.replace(from, to));
};

describe('changed-only diff from git refs reaches what Flux reads', () => {
  it('a Kustomization path without kustomization.yaml whose apps use ../../components: exactly the one edited object', async () => {
    const r = await diffEdit((repo) => rewrite(repo, 'kubernetes/apps/web/config.yaml', 'one', 'two'));
    expect(r.changedOnly.errors).toEqual([]);
    expect(r.changedOnly.changes.map(describeChange)).toEqual(['modified ConfigMap web/web']);
    expect(r.changedOnly.changes).toEqual(r.full.changes);
  });

  it('an edit to the shared component changes every app that uses it', async () => {
    const r = await diffEdit((repo) =>
      rewrite(repo, 'kubernetes/components/common/kustomization.yaml', 'team: platform', 'team: infra'),
    );
    expect(r.changedOnly.errors).toEqual([]);
    expect(r.changedOnly.changes.map(describeChange).sort()).toEqual([
      'modified ConfigMap api/api',
      'modified ConfigMap web/web',
    ]);
    expect(r.changedOnly.changes).toEqual(r.full.changes);
  });

  it('a DaemonSet added to a chart of the repository used through chartRef HelmChart', async () => {
    const r = await diffEdit((repo) =>
      writeFileSync(
        join(repo, 'charts/agent/templates/daemonset.yaml'),
        `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: agent, image: ghcr.io/acme/agent:1.0.0}]}
`,
      ),
    );
    expect(r.changedOnly.errors).toEqual([]);
    expect(r.changedOnly.changes.map(describeChange)).toEqual(['added DaemonSet flux-system/agent']);
    expect(r.changedOnly.changes).toEqual(r.full.changes);
  });

  it('the NetworkPolicy a new .sourceignore drops from the source', async () => {
    const r = await diffEdit((repo) =>
      writeFileSync(join(repo, '.sourceignore'), '# not applied\n/kubernetes/platform/policies/deny.yaml\n'),
    );
    expect(r.changedOnly.errors).toEqual([]);
    expect(r.changedOnly.changes.map(describeChange)).toEqual(['removed NetworkPolicy default/deny-all']);
    expect(r.changedOnly.changes).toEqual(r.full.changes);
  });
});

/**
 * A one-app change leaves the entry's files that define only untouched Kustomizations out of the
 * entry's build (engine.ts entryOmissions). What the entry's full build reports about itself
 * must still be reported, on both sides, as the full diff reports it.
 */
describe('the entry directory of a changed-only diff', () => {
  const webEdit = (repo: string) => rewrite(repo, 'kubernetes/apps/web/config.yaml', 'one', 'two');

  it('reports the owners it did not build as a full render finds them', async () => {
    const r = await diffEdit(webEdit);
    expect(r.changedOnly.changes).toEqual(r.full.changes);
    const notRebuilt = (r.changedOnly as unknown as { notRebuilt: number }).notRebuilt;
    // platform, and the HelmRelease it applies (found only by building platform).
    expect(notRebuilt).toBe(1);
  });

  it('a file of the entry that does not decode fails its build on both sides, as in full', async () => {
    const r = await diffEdit(webEdit, { 'clusters/main/broken.yaml': 'kind: [unclosed\n' });
    expect(r.full.errors.length).toBeGreaterThan(0);
    expect(r.changedOnly.errors).toEqual(r.full.errors);
    expect(r.changedOnly.changes).toEqual(r.full.changes);
  });

  it('a Kustomization defined twice in the entry fails its build on both sides, as in full', async () => {
    const r = await diffEdit(webEdit, {
      'clusters/main/platform-again.yaml': KS('platform', './kubernetes/platform'),
    });
    expect(JSON.stringify(r.full.errors)).toContain('platform');
    expect(r.changedOnly.errors).toEqual(r.full.errors);
    expect(r.changedOnly.changes).toEqual(r.full.changes);
  });

  it('an untouched Kustomization whose path is missing is still reported, as in full', async () => {
    const r = await diffEdit(webEdit, { 'clusters/main/gone.yaml': KS('gone', './kubernetes/gone') });
    expect(JSON.stringify(r.full.errors)).toContain('kubernetes/gone');
    expect(r.changedOnly.errors).toEqual(r.full.errors);
    expect(r.changedOnly.changes).toEqual(r.full.changes);
  });
});

describe('chart versions in Helm constraint syntax', () => {
  let charts: ChartRepo;
  beforeAll(async () => {
    const dirs = ['1.4.0', '1.9.2', '2.1.0'].map((version) =>
      writeRepo({
        'Chart.yaml': `apiVersion: v2\nname: ranged\nversion: ${version}\n`,
        'templates/config.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ranged}\ndata: {version: "{{ .Chart.Version }}"}\n`,
      }),
    );
    charts = await startChartRepo(dirs);
  });
  afterAll(async () => {
    await charts.stop();
  });

  it('a HelmRepository chart with version ">=1.0.0, <2.0.0" renders the highest 1.x', async () => {
    const repo = writeRepo({
      'clusters/main/release.yaml': `
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: charts, namespace: flux-system}
spec: {interval: 10m, url: "${charts.url}"}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: ranged, namespace: flux-system}
spec:
  interval: 10m
  chart:
    spec:
      chart: ranged
      version: ">=1.0.0, <2.0.0"
      sourceRef: {kind: HelmRepository, name: charts}
`,
    });
    const r = await runCli(['render', '--repo', repo, '--path', 'clusters/main', '--format', 'json'], {
      cwd: mkdtempSync(join(tmpdir(), 'fg-cwd-')),
    });
    const out = JSON.parse(r.stdout);
    expect(out.errors).toEqual([]);
    const config = out.objects.find((o: { object: { kind: string } }) => o.object.kind === 'ConfigMap');
    expect(config.object.data).toEqual({ version: '1.9.2' });
  });
});
