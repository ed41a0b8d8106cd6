import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { sharedRegistryHost } from '../support/registry.js';
import { fluxKustomization, writeRepo } from '../support/repo.js';
import { HELM, toolEnv } from '../support/tools.js';

const CHART = {
  'charts/demo/Chart.yaml': 'apiVersion: v2\nname: demo\nversion: 1.2.0\n',
  'charts/demo/values.yaml': 'replicas: 1\nimage: example/demo:1.0.0\nconfig: {}\nlist: [a, b]\n',
  'charts/demo/templates/deploy.yaml': `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  labels:
    helm.sh/chart: demo-{{ .Chart.Version }}
spec:
  replicas: {{ .Values.replicas }}
  template:
    spec:
      containers:
        - name: demo
          image: {{ .Values.image }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-config
data:
  config: {{ toJson .Values.config | quote }}
  list: {{ toJson .Values.list | quote }}
  password: {{ .Values.password | default "none" | quote }}
`,
};

const hr = (name: string, spec: Record<string, unknown>) =>
  JSON.stringify({
    apiVersion: 'helm.toolkit.fluxcd.io/v2',
    kind: 'HelmRelease',
    metadata: { name, namespace: 'apps' },
    spec: { interval: '5m', ...spec },
  });

const gitChart = {
  chart: {
    spec: {
      chart: './charts/demo',
      sourceRef: { kind: 'GitRepository', name: 'flux-system', namespace: 'flux-system' },
    },
  },
};

async function render(root: string, ...extra: string[]) {
  const r = await runCli(['render', '--repo', root, '--path', 'clusters/dev', '--format', 'json', ...extra]);
  return { code: r.code, stderr: r.stderr, out: JSON.parse(r.stdout || '{"objects":[],"errors":[]}') };
}

describe('HelmRelease rendering', () => {
  it('merges valuesFrom in order, targetPath with --set semantics, inline values last; Secret values only as markers', async () => {
    const root = writeRepo({
      ...CHART,
      'clusters/dev/release.yaml': hr('demo', {
        ...gitChart,
        valuesFrom: [
          { kind: 'ConfigMap', name: 'base-values' },
          { kind: 'ConfigMap', name: 'override-values', valuesKey: 'custom.yaml' },
          { kind: 'ConfigMap', name: 'scalars', valuesKey: 'replicas', targetPath: 'replicas' },
          { kind: 'ConfigMap', name: 'scalars', valuesKey: 'quoted', targetPath: 'config.port' },
          { kind: 'Secret', name: 'db', valuesKey: 'password', targetPath: 'password' },
          { kind: 'ConfigMap', name: 'absent', optional: true },
        ],
        values: { config: { inline: true } },
        postRenderers: [
          {
            kustomize: {
              images: [{ name: 'example/demo', newTag: '2.0.0' }],
              patches: [
                {
                  target: { kind: 'Deployment' },
                  patch: '- op: add\n  path: /metadata/annotations\n  value: {patched: "yes"}',
                },
              ],
            },
          },
        ],
        commonMetadata: { labels: { team: 'platform', 'helm.toolkit.fluxcd.io/name': 'spoofed' } },
      }),
      'clusters/dev/values.yaml': `
apiVersion: v1
kind: ConfigMap
metadata: {name: base-values, namespace: apps}
data:
  values.yaml: |
    list: [x]
    config: {a: 1, b: 1}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: override-values, namespace: apps}
data:
  custom.yaml: |
    config: {b: 2}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: scalars, namespace: apps}
data:
  replicas: "5"
  quoted: '"8080"'
---
apiVersion: v1
kind: Secret
metadata: {name: db, namespace: apps}
stringData:
  password: hunter2-super-secret
`,
    });
    const { code, out, stderr } = await render(root);
    expect(stderr).toContain('0 errors');
    expect(code).toBe(0);
    const owned = out.objects.filter((o: any) => o.owner.kind === 'HelmRelease').map((o: any) => o.object);
    const deploy = owned.find((o: any) => o.kind === 'Deployment');
    const cm = owned.find((o: any) => o.kind === 'ConfigMap');
    expect(deploy.spec.replicas).toBe(5);
    expect(deploy.spec.template.spec.containers[0].image).toBe('example/demo:2.0.0');
    expect(deploy.metadata.annotations).toEqual({ patched: 'yes' });
    expect(deploy.metadata.namespace).toBe('apps');
    // Origin labels win over commonMetadata.
    expect(deploy.metadata.labels).toMatchObject({
      team: 'platform',
      'helm.toolkit.fluxcd.io/name': 'demo',
      'helm.toolkit.fluxcd.io/namespace': 'apps',
    });
    expect(JSON.parse(cm.data.config)).toEqual({ a: 1, b: 2, port: '8080', inline: true });
    expect(JSON.parse(cm.data.list)).toEqual(['x']);
    expect(cm.data.password).toMatch(/^\(secret:[0-9a-f]{12}\)$/);
    expect(JSON.stringify(out)).not.toContain('hunter2-super-secret');
  });

  it('builds the chart with valuesFiles as source-controller does: the listed files, merged, replace the chart defaults', async () => {
    const withFiles = (name: string, valuesFiles: string[], ignoreMissingValuesFiles?: boolean) =>
      hr(name, {
        chart: { spec: { ...gitChart.chart.spec, valuesFiles, ignoreMissingValuesFiles } },
        values: { list: ['inline'] },
      });
    const root = writeRepo({
      ...CHART,
      'charts/demo/values-prod.yaml': 'replicas: 5\nconfig: {tier: prod}\n',
      'clusters/dev/releases.yaml': [
        withFiles('prod-only', ['charts/demo/values-prod.yaml']),
        withFiles('defaults-then-prod', ['charts/demo/values.yaml', 'charts/demo/values-prod.yaml']),
        withFiles('missing-ignored', ['charts/demo/values-prod.yaml', 'charts/demo/nope.yaml'], true),
        withFiles('missing', ['charts/demo/nope.yaml']),
      ].join('\n---\n'),
    });
    const { out } = await render(root);
    const deploy = (name: string) =>
      out.objects.find((o: any) => o.object.kind === 'Deployment' && o.object.metadata.name === name)?.object;
    const config = (name: string) =>
      out.objects.find(
        (o: any) => o.object.kind === 'ConfigMap' && o.object.metadata.name === `${name}-config`,
      )?.object.data;
    // Only the listed file: the chart's own values.yaml no longer counts (no image default).
    expect(deploy('prod-only').spec.replicas).toBe(5);
    expect(deploy('prod-only').spec.template.spec.containers[0].image ?? null).toBeNull();
    expect(JSON.parse(config('prod-only').list)).toEqual(['inline']);
    // values.yaml listed first: defaults, then the prod file over them, then the release's values.
    expect(deploy('defaults-then-prod').spec.replicas).toBe(5);
    expect(deploy('defaults-then-prod').spec.template.spec.containers[0].image).toBe('example/demo:1.0.0');
    expect(JSON.parse(config('defaults-then-prod').config)).toEqual({ tier: 'prod' });
    expect(deploy('missing-ignored').spec.replicas).toBe(5);
    expect(out.errors).toEqual([
      {
        owner: { kind: 'HelmRelease', namespace: 'apps', name: 'missing' },
        message: expect.stringMatching(
          /HelmRelease apps\/missing: .*no values file found at path 'charts\/demo\/nope.yaml'/,
        ),
        // Where the HelmRelease is defined: the fourth document of the file.
        origin: { file: 'clusters/dev/releases.yaml', line: 7 },
      },
    ]);
  });

  it('shortens release names over 53 characters as helm-controller does', async () => {
    const long = 'a-very-long-helmrelease-name-that-keeps-going-and-going';
    const root = writeRepo({
      ...CHART,
      'clusters/dev/release.yaml': hr(long, { ...gitChart, targetNamespace: 'apps' }),
    });
    const { out } = await render(root);
    const deploy = out.objects.find((o: any) => o.object.kind === 'Deployment').object;
    const full = `apps-${long}`;
    const hash = createHash('sha256').update(full).digest('hex').slice(0, 12);
    expect(deploy.metadata.name).toBe(`${full.slice(0, 40)}-${hash}`);
    expect(deploy.metadata.name).toHaveLength(53);
  });

  it('renders a chart pushed with helm push through HelmRepository type oci and chartRef OCIRepository, via --registry-mirror', async () => {
    const host = sharedRegistryHost();
    const root = writeRepo({ ...CHART, 'charts/demo/values-prod.yaml': 'replicas: 7\n' });
    const pkg = mkdtempSync(join(tmpdir(), 'fg-pkg-'));
    execFileSync(HELM, ['package', join(root, 'charts/demo'), '--destination', pkg], {
      stdio: 'ignore',
      env: toolEnv(),
    });
    execFileSync(
      HELM,
      ['push', join(pkg, 'demo-1.2.0.tgz'), `oci://${host}/render-test/charts`, '--plain-http'],
      {
        stdio: 'ignore',
        env: toolEnv({ HELM_REGISTRY_CONFIG: join(pkg, 'registry.json') }),
      },
    );
    writeRepo(
      {
        'clusters/dev/sources.yaml': `
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: charts, namespace: apps}
spec: {type: oci, url: oci://charts.example.com/render-test/charts, interval: 1h}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: demo-chart, namespace: apps}
spec:
  url: oci://charts.example.com/render-test/charts/demo
  ref: {semver: "1.x"}
  layerSelector: {mediaType: application/vnd.cncf.helm.chart.content.v1.tar+gzip, operation: copy}
  interval: 1h
`,
        'clusters/dev/releases.yaml':
          hr('via-repo', {
            chart: {
              spec: {
                chart: 'demo',
                version: '1.2.0',
                sourceRef: { kind: 'HelmRepository', name: 'charts' },
              },
            },
          }) +
          '\n---\n' +
          hr('via-ref', { chartRef: { kind: 'OCIRepository', name: 'demo-chart' } }) +
          '\n---\n' +
          // valuesFiles of a packaged chart are files inside the chart.
          hr('via-repo-prod', {
            chart: {
              spec: {
                chart: 'demo',
                version: '1.2.0',
                sourceRef: { kind: 'HelmRepository', name: 'charts' },
                valuesFiles: ['values.yaml', 'values-prod.yaml'],
              },
            },
          }),
      },
      root,
    );
    const { code, out, stderr } = await render(root, '--registry-mirror', `charts.example.com=${host}`);
    expect(stderr).toContain('0 errors');
    expect(code).toBe(0);
    const names = out.objects
      .filter((o: any) => o.object.kind === 'Deployment')
      .map((o: any) => o.object.metadata.name)
      .sort();
    expect(names).toEqual(['via-ref', 'via-repo', 'via-repo-prod']);
    const replicas = (name: string) =>
      out.objects.find((o: any) => o.object.kind === 'Deployment' && o.object.metadata.name === name).object
        .spec.replicas;
    expect([replicas('via-repo'), replicas('via-repo-prod')]).toEqual([1, 7]);

    // A version the registry does not have is one error on that HelmRelease only.
    writeRepo(
      {
        'clusters/dev/missing.yaml': hr('missing', {
          chart: {
            spec: { chart: 'demo', version: '9.9.9', sourceRef: { kind: 'HelmRepository', name: 'charts' } },
          },
        }),
      },
      root,
    );
    const missing = await render(root, '--registry-mirror', `charts.example.com=${host}`);
    expect(missing.code).toBe(1);
    expect(missing.out.errors).toEqual([
      {
        owner: { kind: 'HelmRelease', namespace: 'apps', name: 'missing' },
        message: 'HelmRelease apps/missing: charts.example.com/render-test/charts/demo:9.9.9: not found',
        origin: { file: 'clusters/dev/missing.yaml', line: 1 },
      },
    ]);
  });

  it('builds a Kustomization from an OCIRepository pushed to the registry', async () => {
    const host = sharedRegistryHost();
    const content = writeRepo({
      'app/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-oci}\ndata: {k: v}\n',
    });
    const pushed = await runCli([
      'push',
      `oci://${host}/render-test/manifests:v1.0.0`,
      '--path',
      content,
      '--source',
      'https://example.com/app',
      '--revision',
      'v1.0.0@sha1:0123456789abcdef0123456789abcdef01234567',
    ]);
    expect(pushed.code).toBe(0);
    const root = writeRepo({
      'clusters/dev/source.yaml': `
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: app, namespace: flux-system}
spec: {url: oci://registry.example.com/render-test/manifests, ref: {semver: ">=1.0.0"}, interval: 5m}
`,
      'clusters/dev/app.yaml': fluxKustomization(
        'app',
        './app',
        { targetNamespace: 'team' },
        'OCIRepository/app',
      ),
    });
    const { code, out } = await render(root, '--registry-mirror', `registry.example.com=${host}`);
    expect(code).toBe(0);
    const cm = out.objects.find((o: any) => o.owner.name === 'app');
    expect(cm.object).toMatchObject({
      kind: 'ConfigMap',
      metadata: { name: 'from-oci', namespace: 'team' },
      data: { k: 'v' },
    });
  });
});
