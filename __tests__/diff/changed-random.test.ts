import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_STRIP_ATTRS } from '../../src/commands/diff.js';
import { diffRenders } from '../../src/diff/objects.js';
import { StderrLogger } from '../../src/log.js';
import { renderCluster } from '../../src/render/engine.js';
import { createSecretMasker } from '../../src/render/secrets.js';
import type { RenderResult } from '../../src/render/types.js';
import { runCli } from '../support/cli.js';
import { writeRepo } from '../support/repo.js';
import { toolEnv } from '../support/tools.js';
import { gitIn } from '../support/history.js';

/**
 * The changed-only diff equals the full diff over a generated git history: random edits (seeded,
 * so a failure replays) spread over every edge kind of the Flux graph, batched into commits. The
 * full diff is the oracle: every commit rendered whole from its checkout (each render serves two
 * diffs), the consecutive renders compared; the changed-only diff is `fluxgate diff` between the
 * two commits, as a pull request runs it.
 */
const SEED = 20261130;
const COMMITS = 12;
const EDITS_PER_COMMIT = 17;
/** Then commits of one edit each, as most pull requests are: the plan skips the most there. */
const ONE_EDIT_COMMITS = 8;
const CLUSTER = 'clusters/main';

/** mulberry32: a small seeded generator, enough to pick edits deterministically. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]!,
    word: () =>
      ['amber', 'birch', 'cedar', 'delta', 'ember', 'fjord', 'grove', 'heron'][Math.floor(next() * 8)]!,
  };
}
type Random = ReturnType<typeof random>;

const KS = (name: string, path: string, extra = '', source = 'GitRepository, name: flux-system') => `
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: ${name}, namespace: flux-system}
spec:
  interval: 10m
  path: ${path}
  prune: true
  sourceRef: {kind: ${source}}${extra}
`;
const configMap = (name: string, data: Record<string, string>) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}, namespace: default}\ndata: ${JSON.stringify(data)}\n`;
const chart = (name: string, template: string) => ({
  [`charts/${name}/Chart.yaml`]: `apiVersion: v2\nname: ${name}\nversion: 0.1.0\n`,
  [`charts/${name}/values.yaml`]: 'color: plain\n',
  [`charts/${name}/templates/config.yaml`]: template,
});

function fleet(): string {
  return writeRepo({
    'clusters/main/flux-system/sync.yaml': `
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec:
  interval: 1m
  url: https://github.com/acme/fleet
  ref: {branch: main}
  ignore: |
    # nothing
`,
    'clusters/main/vars.yaml': configMap('cluster-vars', { greeting: 'hello' }).replace(
      'namespace: default',
      'namespace: flux-system',
    ),
    // One file with two Kustomizations, one with one: a changed-only diff leaves the files of
    // owners it does not build out of the entry's build (render/engine.ts entryOmissions).
    'clusters/main/kustomizations.yaml': [
      KS(
        'apps',
        './kubernetes/apps',
        '\n  postBuild:\n    substituteFrom: [{kind: ConfigMap, name: cluster-vars}]',
      ),
      KS('catalog', './prod', '', 'ExternalArtifact, name: catalog'),
    ].join('\n---\n'),
    'clusters/main/platform.yaml': KS(
      'platform',
      './kubernetes/platform',
      '\n  commonMetadata: {labels: {tier: base}}',
    ),
    'clusters/main/generator.yaml': `
apiVersion: source.extensions.fluxcd.io/v1beta1
kind: ArtifactGenerator
metadata: {name: catalog, namespace: flux-system}
spec:
  sources: [{alias: repo, kind: GitRepository, name: flux-system}]
  artifacts:
    - name: catalog
      copy: [{from: "@repo/catalog/**", to: "@artifact/"}]
`,
    // apps: no kustomization.yaml (generated), app directories with components outside the path.
    'kubernetes/apps/web/kustomization.yaml':
      'resources: [config.yaml]\ncomponents: [../../components/common]\n',
    'kubernetes/apps/web/config.yaml': configMap('web', { value: 'one', greeting: '${greeting}' }),
    'kubernetes/apps/api/kustomization.yaml':
      'resources: [config.yaml]\ncomponents: [../../components/common]\n',
    'kubernetes/apps/api/config.yaml': configMap('api', { value: 'one' }),
    'kubernetes/apps/extra/a.yaml': configMap('extra-a', { value: 'one' }),
    'kubernetes/apps/extra/b.yaml': configMap('extra-b', { value: 'one' }),
    'kubernetes/components/common/kustomization.yaml':
      'apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nlabels:\n  - pairs: {team: one}\n',
    // platform: patches, a generator's files, a chart through a HelmChart, a chart from a Git path.
    'kubernetes/platform/kustomization.yaml': `
resources: [policies.yaml, agent, worker]
configMapGenerator: [{name: settings, namespace: default, files: [settings.txt]}]
generatorOptions: {disableNameSuffixHash: true}
patches: [{path: patches/annotate.yaml, target: {kind: NetworkPolicy}}]
`,
    'kubernetes/platform/policies.yaml': `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: default}
spec: {podSelector: {}, policyTypes: [Ingress]}
`,
    'kubernetes/platform/settings.txt': 'one\n',
    'kubernetes/platform/patches/annotate.yaml':
      'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: any, annotations: {note: one}}\n',
    'kubernetes/platform/agent/kustomization.yaml': 'resources: [chart.yaml, release.yaml, values.yaml]\n',
    'kubernetes/platform/agent/chart.yaml': `
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmChart
metadata: {name: agent, namespace: flux-system}
spec:
  interval: 10m
  chart: ./charts/agent
  sourceRef: {kind: GitRepository, name: flux-system}
  valuesFiles: [charts/agent/values.yaml, kubernetes/values/agent.yaml]
`,
    'kubernetes/platform/agent/release.yaml': `
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: agent, namespace: flux-system}
spec:
  interval: 10m
  chartRef: {kind: HelmChart, name: agent}
  valuesFrom: [{kind: ConfigMap, name: agent-values}]
`,
    'kubernetes/platform/agent/values.yaml': `
apiVersion: v1
kind: ConfigMap
metadata: {name: agent-values, namespace: flux-system}
data: {values.yaml: "size: one"}
`,
    'kubernetes/platform/worker/kustomization.yaml': 'resources: [release.yaml]\n',
    'kubernetes/platform/worker/release.yaml': `
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: worker, namespace: flux-system}
spec:
  interval: 10m
  chart:
    spec:
      chart: ./charts/worker
      sourceRef: {kind: GitRepository, name: flux-system}
      valuesFiles: [charts/worker/values.yaml, kubernetes/values/worker.yaml]
  values: {size: one}
`,
    'kubernetes/values/agent.yaml': 'color: one\n',
    'kubernetes/values/worker.yaml': 'color: one\n',
    ...chart(
      'agent',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: agent}\ndata: {color: "{{ .Values.color }}", size: "{{ .Values.size }}", note: one}\n',
    ),
    ...chart(
      'worker',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: worker}\ndata: {color: "{{ .Values.color }}", size: "{{ .Values.size }}", note: one}\n',
    ),
    // catalog: copied into an ExternalArtifact by the ArtifactGenerator.
    'catalog/prod/kustomization.yaml': 'resources: [app.yaml, ../base]\n',
    'catalog/prod/app.yaml': configMap('catalog-app', { value: 'one' }),
    'catalog/base/kustomization.yaml': 'resources: [base.yaml]\n',
    'catalog/base/base.yaml': configMap('catalog-base', { value: 'one' }),
    'README.md': 'fleet\n',
  });
}

/** Replaces the first `from` (a string or pattern) in a file; the edit must apply. */
function replaceIn(repo: string, file: string, from: RegExp, to: string) {
  const path = join(repo, file);
  const text = readFileSync(path, 'utf8');
  if (!from.test(text)) throw new Error(`edit did not apply to ${file}: ${from}`);
  writeFileSync(path, text.replace(from, to));
}

/** Adds a line to an ignore text when absent, removes it when present. */
function toggleLine(text: string, line: string): string {
  const lines = text.split('\n');
  return lines.includes(line) ? lines.filter((l) => l !== line).join('\n') : `${text.trimEnd()}\n${line}\n`;
}

/** One edit per edge kind of the graph; each keeps the fleet buildable. */
const EDITS: Record<string, (repo: string, r: Random) => void> = {
  'file in a Kustomization path': (repo, r) =>
    replaceIn(repo, 'kubernetes/apps/web/config.yaml', /"value":"\w+"/, `"value":"${r.word()}"`),
  'kustomize component': (repo, r) =>
    replaceIn(repo, 'kubernetes/components/common/kustomization.yaml', /team: \w+/, `team: ${r.word()}`),
  'file of a generated kustomization': (repo, r) => {
    const file = join(repo, 'kubernetes/apps/extra', r.pick(['a.yaml', 'b.yaml', 'c.yaml']));
    if (existsSync(file) && r.int(3) === 0) rmSync(file);
    else writeFileSync(file, configMap(`extra-${file.slice(-6, -5)}`, { value: r.word() }));
  },
  'kustomize patch file': (repo, r) =>
    replaceIn(repo, 'kubernetes/platform/patches/annotate.yaml', /note: \w+/, `note: ${r.word()}`),
  'configMapGenerator file': (repo, r) =>
    writeFileSync(join(repo, 'kubernetes/platform/settings.txt'), `${r.word()}\n`),
  'ArtifactGenerator copy source': (repo, r) =>
    replaceIn(
      repo,
      r.pick(['catalog/base/base.yaml', 'catalog/prod/app.yaml']),
      /"value":"\w+"/,
      `"value":"${r.word()}"`,
    ),
  'chart of a chartRef HelmChart': (repo, r) => {
    const daemonSet = join(repo, 'charts/agent/templates/daemonset.yaml');
    if (r.int(2) === 0) {
      if (existsSync(daemonSet)) rmSync(daemonSet);
      else
        writeFileSync(
          daemonSet,
          'apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent}\nspec:\n  selector: {matchLabels: {app: agent}}\n  template:\n    metadata: {labels: {app: agent}}\n    spec: {containers: [{name: agent, image: ghcr.io/acme/agent:1.0.0}]}\n',
        );
    } else replaceIn(repo, 'charts/agent/templates/config.yaml', /note: \w+/, `note: ${r.word()}`);
  },
  'HelmChart valuesFiles file': (repo, r) =>
    writeFileSync(join(repo, 'kubernetes/values/agent.yaml'), `color: ${r.word()}\n`),
  'HelmChart object': (repo) => {
    const file = 'kubernetes/platform/agent/chart.yaml';
    const text = readFileSync(join(repo, file), 'utf8');
    writeFileSync(
      join(repo, file),
      text.includes(', kubernetes/values/agent.yaml')
        ? text.replace(', kubernetes/values/agent.yaml', '')
        : text.replace(
            'charts/agent/values.yaml]',
            'charts/agent/values.yaml, kubernetes/values/agent.yaml]',
          ),
    );
  },
  'chart of a Git path': (repo, r) =>
    replaceIn(repo, 'charts/worker/templates/config.yaml', /note: \w+/, `note: ${r.word()}`),
  'HelmRelease valuesFiles file': (repo, r) =>
    writeFileSync(join(repo, 'kubernetes/values/worker.yaml'), `color: ${r.word()}\n`),
  'HelmRelease object': (repo, r) =>
    replaceIn(repo, 'kubernetes/platform/worker/release.yaml', /size: \w+/, `size: ${r.word()}`),
  'valuesFrom object': (repo, r) =>
    replaceIn(repo, 'kubernetes/platform/agent/values.yaml', /size: \w+/, `size: ${r.word()}`),
  'substituteFrom object': (repo, r) =>
    replaceIn(repo, 'clusters/main/vars.yaml', /"greeting":"\w+"/, `"greeting":"${r.word()}"`),
  'Kustomization object': (repo, r) =>
    replaceIn(repo, 'clusters/main/platform.yaml', /tier: \w+/, `tier: ${r.word()}`),
  '.sourceignore at the root': (repo, r) => {
    const file = join(repo, '.sourceignore');
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '# fleet\n';
    writeFileSync(
      file,
      toggleLine(
        text,
        r.pick([
          '/kubernetes/apps/extra/a.yaml',
          '/charts/agent/templates/daemonset.yaml',
          '/catalog/prod/notes.md',
        ]),
      ),
    );
  },
  '.sourceignore in a directory': (repo, r) => {
    const file = join(repo, 'kubernetes/apps/extra/.sourceignore');
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    writeFileSync(file, toggleLine(text, r.pick(['b.yaml', 'c.yaml'])));
  },
  'GitRepository spec.ignore': (repo, r) => {
    const file = join(repo, 'clusters/main/flux-system/sync.yaml');
    const text = readFileSync(file, 'utf8');
    const line = `    ${r.pick(['/kubernetes/apps/extra/b.yaml', '/charts/worker/templates/extra.yaml'])}`;
    writeFileSync(file, text.includes(line) ? text.replace(`${line}\n`, '') : `${text}${line}\n`);
  },
  'file no Flux object reads': (repo, r) => writeFileSync(join(repo, 'README.md'), `fleet ${r.word()}\n`),
};

const blankMarkers = (value: unknown) =>
  JSON.parse(JSON.stringify(value).replace(/\(secret:[0-9a-f]{12}\)/g, '(secret)'));

describe('changed-only diff over a generated history', () => {
  it(`equals the full diff after each of ${COMMITS * EDITS_PER_COMMIT + ONE_EDIT_COMMITS} random edits over every edge kind`, async () => {
    const repo = fleet();
    const git = (...args: string[]) => gitIn(repo, ...args);
    git('init', '-q');
    git('add', '-A');
    git('commit', '-qm', 'base');
    const r = random(SEED);
    const kinds = Object.keys(EDITS);
    const cycle = [...kinds];
    for (let i = cycle.length - 1; i > 0; i--) {
      const j = r.int(i + 1);
      [cycle[i], cycle[j]] = [cycle[j]!, cycle[i]!];
    }
    let next = 0;
    const applied = new Map<string, number>();
    let withChanges = 0;
    let savedBuilds = 0;
    const masker = createSecretMasker();
    const io = { log: new StderrLogger(false, () => {}), env: toolEnv(), cwd: repo };
    const fullRender = async (): Promise<RenderResult> => {
      const rendered = await renderCluster(
        {
          repo,
          path: CLUSTER,
          masker,
          sources: new Map(),
          strictSubstitute: true,
          registryMirrors: new Map(),
          helmRepoMirrors: new Map(),
          concurrency: 2,
          apiVersions: [],
          insecureRegistry: false,
        },
        io,
      );
      expect(rendered.errors).toEqual([]);
      return rendered;
    };
    let before = await fullRender();
    for (let commit = 0; commit < COMMITS + ONE_EDIT_COMMITS; commit++) {
      // Two or three edge kinds per commit (the planner must skip the owners they do not reach),
      // taken in turn from a shuffled cycle so every kind comes round; the edits fall among them.
      const one = commit >= COMMITS;
      const chosen = Array.from({ length: one ? 1 : 2 + r.int(2) }, () => cycle[next++ % cycle.length]!);
      const names: string[] = [];
      for (let e = 0; e < (one ? 1 : EDITS_PER_COMMIT); e++) {
        const kind = e < chosen.length ? chosen[e]! : r.pick(chosen);
        EDITS[kind]!(repo, r);
        names.push(kind);
        applied.set(kind, (applied.get(kind) ?? 0) + 1);
      }
      git('add', '-A');
      git('commit', '-qm', names.join(', '), '--allow-empty');
      const after = await fullRender();
      const full = diffRenders(CLUSTER, before, after, DEFAULT_STRIP_ATTRS);
      const fullChanges = full.changes.map(({ cluster: _c, ...c }) => c);
      const args = ['diff', '--repo', repo, '--base', 'HEAD~1', '--head', 'HEAD', '--path', CLUSTER];
      const changedOnly = JSON.parse((await runCli([...args, '--format', 'json'])).stdout);
      // The first difference fails with the commit's edits (the seed replays the history).
      const edits = `commit ${commit}: ${[...new Set(names)].join(', ')}`;
      expect([edits, changedOnly.errors]).toEqual([edits, []]);
      expect([edits, blankMarkers(changedOnly.changes)]).toEqual([edits, blankMarkers(fullChanges)]);
      if (fullChanges.length) withChanges++;
      savedBuilds += before.rendered.length + after.rendered.length - changedOnly.rendered;
      before = after;
    }
    // Every edge kind was exercised, and the history changed what the cluster applies.
    expect(kinds.filter((k) => !applied.has(k))).toEqual([]);
    expect(withChanges).toBeGreaterThan((COMMITS + ONE_EDIT_COMMITS) / 2);
    // Changed-only mode built fewer owners somewhere: the test compares two different strategies.
    expect(savedBuilds).toBeGreaterThan(0);
  }, 1200000);
});
