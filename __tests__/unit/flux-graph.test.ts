import { describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { ChangePlanner } from '../../src/diff/changed.js';
import { FluxGraph } from '../../src/flux/graph.js';
import { kustomizeReach } from '../../src/flux/reach.js';
import { directoryTree } from '../../src/flux/tree.js';
import { highestSatisfying, npmRange } from '../../src/flux/versions.js';
import type { KubeObject } from '../../src/flux/objects.js';
import { memoryTree } from '../support/memory-tree.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

const ks = (name: string, path: string, source = 'GitRepository/flux-system') => {
  const [kind, sourceName] = source.split('/');
  return `
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: ${name}, namespace: flux-system}
spec: {path: "${path}", sourceRef: {kind: ${kind}, name: ${sourceName}}}
`;
};

describe('chart version constraints (Masterminds syntax)', () => {
  it.each([
    ['>=1.0.0, <2.0.0', '>=1.0.0 <2.0.0'],
    ['>= 1.2, < 2', '>=1.2 <2'],
    ['=> 1.2', '>=1.2'],
    ['!=1.5.0', '<1.5.0 || >1.5.0'],
    ['>=1, !=1.5.0, <2 || 3.x', '>=1 <1.5.0 <2 || >=1 >1.5.0 <2 || 3.x'],
    ['1.2 - 1.4.5', '1.2 - 1.4.5'],
    ['', '*'],
  ])('%s reads as node-semver %s', (constraint, range) => {
    expect(npmRange(constraint)).toBe(range);
  });

  it('picks the highest version inside a comma range and rejects what is not a constraint', () => {
    const versions = ['0.9.0', '1.0.0', '1.9.2', 'v1.9.10', '2.0.0', 'not-a-version'];
    expect(highestSatisfying(versions, '>=1.0.0, <2.0.0')).toBe('v1.9.10');
    expect(highestSatisfying(versions, '>=1.0.0, !=1.9.10, <2.0.0')).toBe('1.9.2');
    expect(highestSatisfying(versions, '>=3')).toBeUndefined();
    expect(() => npmRange('latest please')).toThrow("'latest please' is not a semver constraint");
  });
});

describe('kustomize reach', () => {
  const tree = memoryTree({
    'apps/web/kustomization.yaml': 'resources: [app.yaml]\ncomponents: [../../components/common]\n',
    'apps/web/app.yaml': '',
    'apps/api/nested/kustomization.yaml': 'resources: [https://example.com/x.yaml, ../../../../outside]\n',
    'apps/loose.yaml': '',
    'components/common/kustomization.yaml': 'patches: [{path: ../../patches/label.yaml}]\n',
    'patches/label.yaml': '',
    'unrelated/kustomization.yaml': '',
  });

  it('follows a generated kustomization into its nearest subdirectories with their own, and their references', () => {
    expect(kustomizeReach(tree, ['./apps/']).sort()).toEqual([
      'apps',
      'apps/api/nested',
      'apps/web',
      'apps/web/app.yaml',
      'components/common',
      'patches/label.yaml',
    ]);
  });
});

describe('the Flux graph', () => {
  const tree = memoryTree({
    'clusters/main/sync.yaml': `
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec: {url: https://example.com/fleet}
`,
    'clusters/main/apps.yaml': [
      ks('apps', './apps'),
      ks('bundle', './deploy', 'OCIRepository/bundle'),
      ks('bucket', './x', 'Bucket/old'),
      ks('generated', './production', 'ExternalArtifact/apps'),
      ks('variable', './apps/${CLUSTER}'),
    ].join('\n---\n'),
    'clusters/main/generator.yaml': `
apiVersion: source.extensions.fluxcd.io/v1beta1
kind: ArtifactGenerator
metadata: {name: gen, namespace: flux-system}
spec:
  sources: [{alias: repo, kind: GitRepository, name: flux-system}]
  artifacts:
    - name: apps
      copy:
        - {from: "@repo/catalog/base/**", to: "@artifact/base/"}
        - {from: "@repo/catalog/production/kustomization.yaml", to: "@artifact/production/"}
`,
    'apps/release.yaml': `
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: agent, namespace: flux-system}
spec:
  chartRef: {kind: HelmChart, name: agent}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmChart
metadata: {name: agent, namespace: flux-system}
spec:
  chart: ./charts/agent
  valuesFiles: [charts/agent/values.yaml, config/agent-values.yaml]
  sourceRef: {kind: GitRepository, name: flux-system}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: podinfo, namespace: flux-system}
spec:
  chart: {spec: {chart: podinfo, version: ">=6, <7", sourceRef: {kind: HelmRepository, name: podinfo}}}
`,
    'bundle/deploy/kustomization.yaml': 'resources: []\n',
    'charts/agent/Chart.yaml': 'name: agent\n',
    'charts/agent/templates/flux.yaml':
      'kind: Kustomization # {{ not a Flux object }}\napiVersion: kustomize.toolkit.fluxcd.io/v1\n',
  });
  const graph = new FluxGraph(tree, { mappings: new Map([['OCIRepository/flux-system/bundle', 'bundle']]) });
  const object = (name: string) => graph.objects.find((o) => o.object.metadata.name === name)!;

  it('knows every Flux object with its file and line, and skips chart templates', () => {
    // A document starts one line above its `kind:` line.
    const lineOf = (file: string, kind: string, name: string) => {
      const lines = tree.read(file)!.split('\n');
      return lines.findIndex(
        (l, i) => l === `kind: ${kind}` && lines[i + 1]!.startsWith(`metadata: {name: ${name},`),
      );
    };
    const where = (kind: string, name: string, file: string) =>
      `${kind}/${name} ${file}:${lineOf(file, kind, name)}`;
    expect(
      graph.objects.map((o) => `${o.object.kind}/${o.object.metadata.name} ${o.file}:${o.line}`).sort(),
    ).toEqual(
      [
        ...['apps', 'bundle', 'bucket', 'generated', 'variable'].map((n) =>
          where('Kustomization', n, 'clusters/main/apps.yaml'),
        ),
        where('ArtifactGenerator', 'gen', 'clusters/main/generator.yaml'),
        where('GitRepository', 'flux-system', 'clusters/main/sync.yaml'),
        where('HelmRelease', 'agent', 'apps/release.yaml'),
        where('HelmChart', 'agent', 'apps/release.yaml'),
        where('HelmRelease', 'podinfo', 'apps/release.yaml'),
      ].sort(),
    );
    expect(graph.objects.find((o) => o.object.metadata.name === 'bundle')!.line).toBe(8);
  });

  it('follows each edge kind to the repository paths and source objects it reads', () => {
    expect(graph.inputsOf(object('apps'))).toEqual({
      paths: ['apps'],
      sources: ['GitRepository/flux-system'],
    });
    expect(graph.inputsOf(object('bundle')).paths).toEqual(['bundle/deploy']);
    expect(graph.inputsOf(object('bucket')).opaque).toBe('Bucket old is not in the repository');
    expect(graph.inputsOf(object('variable')).opaque).toBe('spec.path ./apps/${CLUSTER} uses a variable');
    expect(graph.inputsOf(object('generated'))).toEqual({
      paths: ['catalog/base', 'catalog/production/kustomization.yaml'],
      sources: ['ExternalArtifact/apps', 'ArtifactGenerator/gen', 'GitRepository/flux-system'],
    });
    const agent = graph.objects.find(
      (o) => o.object.kind === 'HelmRelease' && o.object.metadata.name === 'agent',
    )!;
    expect(graph.inputsOf(agent)).toEqual({
      paths: ['charts/agent', 'charts/agent/values.yaml', 'config/agent-values.yaml'],
      sources: ['HelmChart/agent', 'GitRepository/flux-system'],
    });
    expect(graph.inputsOf(object('podinfo'))).toEqual({ paths: [], sources: ['HelmRepository/podinfo'] });
  });

  it('a GitRepository that is not this checkout reads nothing of this repository', () => {
    const elsewhere = new FluxGraph(tree, {
      otherRepository: (o) =>
        (o.spec as { url?: string }).url === 'https://example.com/fleet' ? undefined : 'another repository',
    });
    const other = new FluxGraph(tree, { otherRepository: () => 'another repository' });
    const apps = (g: FluxGraph) => g.inputsOf(g.objects.find((o) => o.object.metadata.name === 'apps')!);
    expect(apps(elsewhere).paths).toEqual(['apps']);
    expect(apps(other)).toEqual({ paths: [], sources: ['GitRepository/flux-system'] });
  });

  it("scopes the upstream example's production cluster through its ArtifactGenerator, not staging's", () => {
    const example = new FluxGraph(directoryTree(join(FIXTURES, 'corpora', 'flux2-kustomize-helm-example')));
    const scope = example.clusterScope('clusters/production');
    expect(scope.paths.sort()).toEqual([
      'apps/base',
      'apps/production',
      'clusters/production',
      'infrastructure',
    ]);
  });
});

describe('the changed-only planner over in-memory commits', () => {
  const base = {
    'clusters/main/apps.yaml': [ks('apps', './apps'), ks('infra', './infra')].join('\n---\n'),
    'apps/web/kustomization.yaml': 'resources: [app.yaml]\ncomponents: [../../components/common]\n',
    'apps/web/app.yaml': 'kind: ConfigMap\n',
    'apps/agent/kustomization.yaml': 'resources: [release.yaml]\n',
    'apps/agent/release.yaml': `
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: agent, namespace: flux-system}
spec:
  chartRef: {kind: HelmChart, name: agent}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmChart
metadata: {name: agent, namespace: flux-system}
spec: {chart: ./charts/agent, sourceRef: {kind: GitRepository, name: flux-system}}
`,
    'components/common/kustomization.yaml': 'kind: Component\n',
    'infra/kustomization.yaml': 'resources: [ns.yaml]\n',
    'infra/ns.yaml': 'kind: Namespace\n',
    'charts/agent/Chart.yaml': 'name: agent\n',
    'charts/agent/templates/a.yaml': 'kind: Service\n',
  };
  const flux = { apiVersion: 'v1', kind: 'x', metadata: { name: 'x' } } as KubeObject;
  const built = (edits: Record<string, string | undefined>) => {
    const head = { ...base, ...edits } as Record<string, string | undefined>;
    for (const [k, v] of Object.entries(head)) if (v === undefined) delete head[k];
    const changed = Object.keys(edits);
    const planner = new ChangePlanner(
      { base: memoryTree(base), head: memoryTree(head as Record<string, string>) },
      changed,
    );
    return ['Kustomization/apps', 'Kustomization/infra', 'HelmRelease/agent'].filter((key) => {
      const [kind, name] = key.split('/') as ['Kustomization' | 'HelmRelease', string];
      return planner.shouldBuild('head', { kind, namespace: 'flux-system', name }, flux);
    });
  };

  it('builds only the owners an edit can reach', () => {
    expect(built({ 'components/common/kustomization.yaml': 'kind: Component\nlabels: []\n' })).toEqual([
      'Kustomization/apps',
    ]);
    expect(built({ 'infra/ns.yaml': 'kind: Namespace\nmetadata: {}\n' })).toEqual(['Kustomization/infra']);
    // A chart of the repository behind a HelmChart: the HelmRelease, and the Kustomization defining it.
    expect(built({ 'charts/agent/templates/ds.yaml': 'kind: DaemonSet\n' })).toEqual([
      'Kustomization/apps',
      'HelmRelease/agent',
    ]);
    expect(built({ 'README.md': 'docs\n' })).toEqual([]);
  });

  it('a .sourceignore reaches every owner reading below its directory', () => {
    expect(built({ '.sourceignore': '/infra/ns.yaml\n' })).toEqual([
      'Kustomization/apps',
      'Kustomization/infra',
      'HelmRelease/agent',
    ]);
    expect(built({ 'infra/.sourceignore': 'ns.yaml\n' })).toEqual(['Kustomization/infra']);
  });
});
