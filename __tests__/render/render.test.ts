import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { runCli } from '../support/cli.js';
import { PODINFO_CHART, startChartRepo, type ChartRepo } from '../support/chart-repo.js';
import { fluxKustomization, writeRepo } from '../support/repo.js';
import { HELM, KUBECTL, PROJECT_ROOT, FIXTURES } from '../support/tools.js';

const CORPUS = join(FIXTURES, 'corpora', 'flux2-kustomize-helm-example');
const FLEET = join(PROJECT_ROOT, 'examples', 'fleet');

interface Rendered {
  objects: { owner: { kind: string; namespace: string; name: string }; object: Record<string, any> }[];
  errors: { owner: { kind: string; namespace: string; name: string }; message: string }[];
}

async function render(args: string[]): Promise<{ code: number; out: Rendered; stderr: string }> {
  const r = await runCli(['render', '--format', 'json', ...args]);
  return {
    code: r.code,
    out: r.stdout ? JSON.parse(r.stdout) : { objects: [], errors: [] },
    stderr: r.stderr,
  };
}

const ownedBy = (out: Rendered, key: string) =>
  out.objects
    .filter((o) => `${o.owner.kind}/${o.owner.namespace}/${o.owner.name}` === key)
    .map((o) => o.object);

/** The objects without the labels fluxgate adds, as kubectl kustomize / helm template print them. */
function withoutFluxLabels(o: Record<string, any>): Record<string, any> {
  const copy = structuredClone(o);
  for (const k of Object.keys(copy.metadata?.labels ?? {})) {
    if (/^(kustomize|helm)\.toolkit\.fluxcd\.io\//.test(k)) delete copy.metadata.labels[k];
  }
  if (copy.metadata?.labels && Object.keys(copy.metadata.labels).length === 0) delete copy.metadata.labels;
  return copy;
}

const docs = (text: string) =>
  parseAllDocuments(text)
    .map((d) => d.toJSON())
    .filter(Boolean);
const byId = (objs: Record<string, any>[]) =>
  Object.fromEntries(objs.map((o) => [`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, o]));

let repo: ChartRepo;
beforeAll(async () => {
  repo = await startChartRepo([PODINFO_CHART]);
});
afterAll(async () => {
  await repo.stop();
});

describe('render the upstream flux2-kustomize-helm-example', () => {
  it('renders the Kustomizations from the ExternalArtifacts and podinfo from a mirrored chart repo; unreachable charts fail only their HelmReleases', async () => {
    const { code, out } = await render([
      '--repo',
      CORPUS,
      '--path',
      'clusters/production',
      '--helm-repo-mirror',
      `https://stefanprodan.github.io/podinfo=${repo.url}`,
    ]);
    expect(code).toBe(1);
    expect(out.errors.map((e) => `${e.owner.kind}/${e.owner.namespace}/${e.owner.name}`).sort()).toEqual([
      'HelmRelease/cert-manager/cert-manager',
      'HelmRelease/envoy-gateway-system/envoy-gateway',
    ]);
    expect(out.errors[0]!.message).toContain('quay.io');

    // The apps Kustomization builds ./production of the ExternalArtifact cut from apps/base + apps/production:
    // the same objects kubectl kustomize gives for apps/production, plus Flux's owner labels.
    const apps = ownedBy(out, 'Kustomization/flux-system/apps');
    const byHand = docs(
      execFileSync(KUBECTL, ['kustomize', join(CORPUS, 'apps', 'production')], { encoding: 'utf8' }),
    );
    expect(byId(apps.map(withoutFluxLabels))).toEqual(byId(byHand));
    for (const o of apps) {
      expect(o.metadata.labels['kustomize.toolkit.fluxcd.io/name']).toBe('apps');
      expect(o.metadata.labels['kustomize.toolkit.fluxcd.io/namespace']).toBe('flux-system');
    }
    // infra-configs gets its Flux patches: the ClusterIssuer's ACME server is replaced.
    const issuer = ownedBy(out, 'Kustomization/flux-system/infra-configs').find(
      (o) => o.kind === 'ClusterIssuer',
    );
    expect(issuer?.spec.acme.server).toBe('https://acme-v02.api.letsencrypt.org/directory');

    // podinfo: helm template by hand on the same chart and the merged values.
    const podinfo = ownedBy(out, 'HelmRelease/podinfo/podinfo');
    const hr = byHand.find((o) => o.kind === 'HelmRelease')!;
    const values = mkdtempSync(join(tmpdir(), 'fg-values-'));
    writeFileSync(join(values, 'values.yaml'), stringify(hr.spec.values));
    const chart = readdirSync(repo.dir).find((f) => f.endsWith('.tgz'))!;
    const helmOut = docs(
      execFileSync(
        HELM,
        [
          'template',
          'podinfo',
          join(repo.dir, chart),
          '--namespace',
          'podinfo',
          '-f',
          join(values, 'values.yaml'),
          '--include-crds',
          '--skip-tests',
        ],
        {
          encoding: 'utf8',
        },
      ),
    ).map((o) => ({ ...o, metadata: { ...o.metadata, namespace: o.metadata.namespace ?? 'podinfo' } }));
    expect(byId(podinfo.map(withoutFluxLabels))).toEqual(byId(helmOut));
    expect(podinfo.every((o) => o.metadata.labels['helm.toolkit.fluxcd.io/name'] === 'podinfo')).toBe(true);
    // The production values patch reached the chart.
    const route = podinfo.find((o) => o.kind === 'HTTPRoute');
    expect(route?.spec.hostnames).toEqual(['podinfo.production']);
  });
});

describe('render examples/fleet', () => {
  it('renders every owner with no error, and no Secret value appears in any format', async () => {
    const json = await render(['--repo', FLEET, '--path', 'clusters/production']);
    expect(json.code).toBe(0);
    expect(json.out.errors).toEqual([]);
    const owners = new Set(
      json.out.objects.map((o) => `${o.owner.kind}/${o.owner.namespace}/${o.owner.name}`),
    );
    expect([...owners].sort()).toEqual([
      'HelmRelease/web/worker',
      'Kustomization/flux-system/apps',
      'Kustomization/flux-system/flux-system',
      'Kustomization/flux-system/infrastructure',
      'Kustomization/flux-system/platform',
    ]);
    const web = ownedBy(json.out, 'Kustomization/flux-system/apps').find((o) => o.kind === 'Deployment')!;
    expect(web.spec.replicas).toBe(3);
    expect(web.metadata.labels['fleet.example.com/cluster']).toBe('production');
    const env = Object.fromEntries(
      web.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]),
    );
    expect(env).toEqual({ CLUSTER: 'production', PUBLIC_URL: 'https://web.example.com', LOG_LEVEL: 'info' });
    const worker = ownedBy(json.out, 'HelmRelease/web/worker')[0]!;
    expect(worker.spec.replicas).toBe(4);
    expect(worker.spec.template.spec.containers[0].args).toEqual(['--queue=jobs', '--cluster=production']);
    expect(ownedBy(json.out, 'Kustomization/flux-system/platform')[0]!.metadata.namespace).toBe('monitoring');

    const yaml = await runCli(['render', '--repo', FLEET, '--path', 'clusters/production']);
    for (const text of [JSON.stringify(json.out), yaml.stdout, yaml.stderr]) {
      expect(text).not.toContain('example-production-token-not-a-real-secret');
    }
    const secret = ownedBy(json.out, 'Kustomization/flux-system/apps').find((o) => o.kind === 'Secret')!;
    expect(secret.stringData.token).toMatch(/^\(secret:[0-9a-f]{12}\)$/);
  });

  it('writes one file per owner with --output-dir', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fg-out-'));
    const r = await runCli(['render', '--repo', FLEET, '--path', 'clusters/staging', '--output-dir', dir]);
    expect(r.code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual([
      'helmrelease-web-worker.yaml',
      'kustomization-flux-system-apps.yaml',
      'kustomization-flux-system-flux-system.yaml',
      'kustomization-flux-system-infrastructure.yaml',
      'kustomization-flux-system-platform.yaml',
    ]);
    expect(readFileSync(join(dir, 'kustomization-flux-system-apps.yaml'), 'utf8')).toContain(
      'ghcr.io/acme/web:1.5.0-rc.1',
    );
  });
});

describe('Kustomization semantics', () => {
  it('generates a kustomization.yaml from the YAML files when a directory has none, and builds subdirectories that have one', async () => {
    const root = writeRepo({
      'clusters/dev/a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n',
      'clusters/dev/notes.txt': 'not yaml',
      'clusters/dev/sub/kustomization.yaml': 'resources: [b.yaml]\nnamePrefix: sub-\n',
      'clusters/dev/sub/b.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n',
    });
    const { code, out } = await render(['--repo', root, '--path', 'clusters/dev']);
    expect(code).toBe(0);
    expect(out.objects.map((o) => o.object.metadata.name).sort()).toEqual(['a', 'sub-b']);
  });

  it('leaves out what source-controller leaves out of a Git artifact: .sourceignore files, each scoped to its directory, and spec.ignore', async () => {
    const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\n`;
    const root = writeRepo({
      '.sourceignore': '# drafts stay out of the cluster\nclusters/dev/wip.yaml\n',
      'clusters/dev/git.yaml': [
        'apiVersion: source.toolkit.fluxcd.io/v1',
        'kind: GitRepository',
        'metadata: {name: flux-system, namespace: flux-system}',
        'spec:',
        '  interval: 1m',
        '  url: https://example.com/fleet.git',
        '  ignore: |',
        '    clusters/dev/local/',
        '    !clusters/dev/apps/keep.draft.yaml',
      ].join('\n'),
      'clusters/dev/a.yaml': cm('a'),
      'clusters/dev/wip.yaml': cm('wip'),
      'clusters/dev/local/l.yaml': cm('local'),
      'clusters/dev/apps/.sourceignore': '*.draft.yaml\n',
      'clusters/dev/apps/b.yaml': cm('b'),
      'clusters/dev/apps/c.draft.yaml': cm('c-draft'),
      'clusters/dev/apps/keep.draft.yaml': cm('keep-draft'),
      'other/d.draft.yaml': cm('d-draft'),
      'clusters/dev/other.yaml': fluxKustomization('other', './other'),
    });
    const { code, out } = await render(['--repo', root, '--path', 'clusters/dev']);
    expect(out.errors).toEqual([]);
    expect(code).toBe(0);
    expect(
      out.objects
        .filter((o) => o.object.kind === 'ConfigMap')
        .map((o) => o.object.metadata.name)
        .sort(),
    ).toEqual(['a', 'b', 'd-draft', 'keep-draft']);
  });

  it("keeps a file that a .sourceignore negation re-includes below an excluded directory, as source-controller's matcher does (fluxcd/pkg sourceignore/gitignore globMatch; storage Archive never prunes)", async () => {
    const root = writeRepo({
      '.sourceignore':
        '/kubernetes/clusters/**/secrets/\n!/kubernetes/clusters/**/secrets/cluster-config.yaml\n',
      'kubernetes/clusters/main/kustomization.yaml': 'resources: [secrets/cluster-config.yaml, app.yaml]\n',
      'kubernetes/clusters/main/secrets/cluster-config.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cluster-config, namespace: flux-system}\ndata: {domain: example.org}\n',
      'kubernetes/clusters/main/secrets/token.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: token}\n',
      'kubernetes/clusters/main/app.yaml': fluxKustomization('app', './kubernetes/apps', {
        postBuild: { substituteFrom: [{ kind: 'ConfigMap', name: 'cluster-config' }] },
      }),
      'kubernetes/apps/site.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: site}\ndata: {host: "www.${domain}"}\n',
    });
    const { code, out } = await render(['--repo', root, '--path', 'kubernetes/clusters/main']);
    expect(out.errors).toEqual([]);
    expect(code).toBe(0);
    expect(ownedBy(out, 'Kustomization/flux-system/app')[0]!.data).toEqual({ host: 'www.example.org' });
    expect(out.objects.map((o) => o.object.metadata.name)).not.toContain('token');
  });

  it('drops the default exclusions once a .sourceignore exists, as source-controller does (fluxcd/pkg artifact/storage SourceIgnoreFilter)', async () => {
    const files = {
      'clusters/dev/kustomization.yaml':
        'configMapGenerator: [{name: branding, files: [logo.png], options: {disableNameSuffixHash: true}}]\n',
      'clusters/dev/logo.png': 'not really a png',
    };
    const withDefaults = await render(['--repo', writeRepo(files), '--path', 'clusters/dev']);
    expect(withDefaults.code).toBe(1);
    expect(withDefaults.out.errors[0]!.message).toContain('logo.png');
    const withIgnore = await render([
      '--repo',
      writeRepo({ ...files, '.sourceignore': 'docs/\n' }),
      '--path',
      'clusters/dev',
    ]);
    expect(withIgnore.out.errors).toEqual([]);
    expect(withIgnore.out.objects.map((o) => o.object.metadata.name)).toEqual(['branding']);
  });

  it('applies targetNamespace, namePrefix, images and components, and substitutes with defaults, optional sources and the opt-out', async () => {
    const root = writeRepo({
      'clusters/dev/vars.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: vars, namespace: flux-system}\ndata: {size: large}\n',
      'clusters/dev/app.yaml': fluxKustomization('app', './app', {
        targetNamespace: 'team-a',
        namePrefix: 'a-',
        images: [{ name: 'nginx', newTag: '1.27.1' }],
        components: ['../components/extra'],
        postBuild: {
          substitute: { tier: 'gold' },
          substituteFrom: [
            { kind: 'ConfigMap', name: 'vars' },
            { kind: 'ConfigMap', name: 'absent', optional: true },
          ],
        },
      }),
      'app/kustomization.yaml': 'resources: [deploy.yaml, raw.yaml]\n',
      'app/deploy.yaml':
        'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, labels: {tier: "${tier}", size: "${size}", zone: "${zone:=eu}"}}\nspec: {template: {spec: {containers: [{name: c, image: "nginx:1.0"}]}}}\n',
      'app/raw.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: raw, annotations: {kustomize.toolkit.fluxcd.io/substitute: disabled}}\ndata: {script: "echo ${HOME}"}\n',
      'components/extra/kustomization.yaml':
        'apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [extra.yaml]\n',
      'components/extra/extra.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\n',
    });
    const { code, out, stderr } = await render(['--repo', root, '--path', 'clusters/dev']);
    expect(stderr).toContain('0 errors');
    expect(code).toBe(0);
    const app = ownedBy(out, 'Kustomization/flux-system/app');
    const deploy = app.find((o) => o.kind === 'Deployment')!;
    expect(deploy.metadata).toMatchObject({ name: 'a-web', namespace: 'team-a' });
    expect(deploy.metadata.labels).toMatchObject({ tier: 'gold', size: 'large', zone: 'eu' });
    expect(deploy.spec.template.spec.containers[0].image).toBe('nginx:1.27.1');
    expect(app.find((o) => o.metadata.name === 'a-raw')!.data.script).toBe('echo ${HOME}');
    expect(app.some((o) => o.metadata.name === 'a-extra')).toBe(true);
  });

  it('fails a Kustomization on an undefined variable (strict by default) and names it; --no-strict-substitute relaxes it', async () => {
    const root = writeRepo({
      'clusters/dev/app.yaml': fluxKustomization('app', './app', { postBuild: { substitute: { a: 'x' } } }),
      'clusters/dev/ok.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n',
      'app/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {v: "${not_defined}"}\n',
    });
    const strict = await render(['--repo', root, '--path', 'clusters/dev']);
    expect(strict.code).toBe(1);
    expect(strict.out.errors).toEqual([
      {
        owner: { kind: 'Kustomization', namespace: 'flux-system', name: 'app' },
        message:
          "Kustomization flux-system/app: postBuild substitution in ConfigMap cm, field data.v: variable not set (strict mode): 'not_defined'",
        // The line that uses the variable.
        origin: { file: 'app/cm.yaml', line: 4 },
      },
    ]);
    // The rest still renders.
    expect(
      ownedBy(strict.out, 'Kustomization/flux-system/flux-system').map((o) => o.metadata.name),
    ).toContain('ok');
    const relaxed = await render(['--repo', root, '--path', 'clusters/dev', '--no-strict-substitute']);
    expect(relaxed.code).toBe(0);
    // As in Flux: the substituted text `v: ` is YAML null once turned back into JSON.
    expect(ownedBy(relaxed.out, 'Kustomization/flux-system/app')[0]!.data.v).toBeNull();
  });

  it('reports a missing path, a cycle and malformed YAML on their owners, naming the file', async () => {
    const root = writeRepo({
      'clusters/dev/missing.yaml': fluxKustomization('missing', './nowhere'),
      'clusters/dev/a.yaml': fluxKustomization('a', './a'),
      'a/b.yaml': fluxKustomization('b', './b'),
      'b/a.yaml': fluxKustomization('a', './a'),
      'clusters/dev/broken.yaml': fluxKustomization('broken', './broken'),
      'broken/bad.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n',
    });
    const { code, out } = await render(['--repo', root, '--path', 'clusters/dev']);
    expect(code).toBe(1);
    const messages = Object.fromEntries(out.errors.map((e) => [e.owner.name, e.message]));
    expect(messages.missing).toBe(
      'Kustomization flux-system/missing: path ./nowhere not found in GitRepository flux-system/flux-system',
    );
    expect(messages.b).toBe(
      'Kustomization flux-system/b: cycle: flux-system/flux-system → flux-system/a → flux-system/b → flux-system/a',
    );
    expect(messages.broken).toMatch(
      /^Kustomization flux-system\/broken: failed to decode Kubernetes YAML from broken\/bad\.yaml: /,
    );
  });

  it('never runs kustomize plugins or fetches remote bases', async () => {
    const root = writeRepo({
      'clusters/dev/kustomization.yaml':
        'resources: [https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v5.0.0]\n',
    });
    const { code, out } = await render(['--repo', root, '--path', 'clusters/dev']);
    expect(code).toBe(1);
    expect(out.errors[0]!.message).toBe(
      'Kustomization flux-system/flux-system: clusters/dev/kustomization.yaml: resources[0]: "https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v5.0.0" is a remote reference; builds have no network',
    );
  });
});
