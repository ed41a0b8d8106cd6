/**
 * Issue 13, the build side: a pull request's manifests cannot make a render read outside its
 * source, fetch anything, see our environment, write outside its temp dirs or turn a field into
 * a tool option. Every build runs the real kubectl kustomize and helm of the test bed.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/log.js';
import { renderCluster } from '../../src/render/engine.js';
import { runProcess, type ProcessRunner } from '../../src/render/process.js';
import { runCli } from '../support/cli.js';
import { fluxKustomization, writeRepo } from '../support/repo.js';
import { toolEnv } from '../support/tools.js';

interface Rendered {
  objects: { owner: { kind: string; name: string }; object: Record<string, any> }[];
  errors: { owner: { kind: string; name: string }; message: string }[];
}

async function render(root: string, env: NodeJS.ProcessEnv = toolEnv()) {
  const r = await runCli(['render', '--repo', root, '--path', 'clusters/dev', '--format', 'json'], { env });
  const out: Rendered = JSON.parse(r.stdout || '{"objects":[],"errors":[]}');
  return { code: r.code, out, text: r.stdout + r.stderr };
}

const errorOf = (out: Rendered, name: string) => out.errors.find((e) => e.owner.name === name)?.message;

/** A file outside every repository and source copy, holding a marker a leak would show. */
function outsideFile(content: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'fg-outside-')), 'secret.yaml');
  writeFileSync(file, content);
  return file;
}

/** Enough `..` to climb from any temp directory to `/`. */
const UP = '../'.repeat(24);

const CHART = {
  'charts/leaky/Chart.yaml': 'apiVersion: v2\nname: leaky\nversion: 0.1.0\n',
  'charts/leaky/templates/cm.yaml': `apiVersion: v1
kind: ConfigMap
metadata:
  name: leaky
data:
  file: {{ .Files.Get "files/secret.txt" | quote }}
  value: {{ .Values.leak | default "" | quote }}
  x: {{ .Values.x | default "" | quote }}
`,
};

const helmRelease = (name: string, spec: Record<string, unknown>) =>
  JSON.stringify({
    apiVersion: 'helm.toolkit.fluxcd.io/v2',
    kind: 'HelmRelease',
    metadata: { name, namespace: 'apps' },
    spec: {
      interval: '5m',
      chart: {
        spec: {
          chart: './charts/leaky',
          sourceRef: { kind: 'GitRepository', name: 'flux-system', namespace: 'flux-system' },
          ...(spec.chartSpec as object),
        },
      },
      ...Object.fromEntries(Object.entries(spec).filter(([k]) => k !== 'chartSpec')),
    },
  });

describe('a build reads only its source', () => {
  it('refuses generators reading /etc/passwd, /proc/self/environ and ../../.., at any depth, before kustomize runs', async () => {
    const kustomization = (body: string) => ({
      [`clusters/dev/ks.yaml`]: '',
      'clusters/dev/kustomization.yaml': body,
    });
    const cases: [string, Record<string, string>, string][] = [
      [
        'absolute',
        kustomization('configMapGenerator:\n  - name: leak\n    files: [/etc/passwd]\n'),
        'clusters/dev/kustomization.yaml: configMapGenerator[0].files[0]: "/etc/passwd" is an absolute path; a build reads only its source',
      ],
      [
        'environ',
        kustomization('secretGenerator:\n  - name: leak\n    files: [env=/proc/self/environ]\n'),
        'clusters/dev/kustomization.yaml: secretGenerator[0].files[0]: "/proc/self/environ" is an absolute path; a build reads only its source',
      ],
      [
        'climb',
        kustomization(`configMapGenerator:\n  - name: leak\n    envs: [${UP}etc/os-release]\n`),
        `clusters/dev/kustomization.yaml: configMapGenerator[0].envs[0]: "${UP}etc/os-release" leaves the source root`,
      ],
      [
        'nested',
        {
          'clusters/dev/kustomization.yaml': 'resources: [../../apps]\n',
          'apps/kustomization.yaml': `patches:\n  - path: ${UP}etc/passwd\n`,
        },
        `apps/kustomization.yaml: patches[0].path: "${UP}etc/passwd" leaves the source root`,
      ],
      [
        'plugin config',
        {
          'clusters/dev/kustomization.yaml': 'generators: [gen.yaml]\n',
          'clusters/dev/gen.yaml':
            'apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata: {name: leak}\nfiles: [/etc/hostname]\n',
        },
        'clusters/dev/gen.yaml: files[0]: "/etc/hostname" is an absolute path; a build reads only its source',
      ],
      [
        'helm inflation',
        kustomization('helmCharts:\n  - name: x\n    repo: https://charts.example\n'),
        'clusters/dev/kustomization.yaml: helmCharts: helm chart inflation is not supported (kustomize-controller builds without --enable-helm)',
      ],
    ];
    for (const [name, files, message] of cases) {
      const { code, out, text } = await render(writeRepo(files));
      expect([name, code]).toEqual([name, 1]);
      expect([name, out.errors.map((e) => e.message)]).toEqual([
        name,
        [`Kustomization flux-system/flux-system: ${message}`],
      ]);
      expect(text).not.toMatch(/root:x:0|PATH=|ID=/);
    }
  });

  it('leaves symlinks out of a Git source, as source-controller leaves them out of its artifact: a linked resource is not read', async () => {
    const marker = `leak-${randomBytes(6).toString('hex')}`;
    const outside = outsideFile(
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: leaked}\ndata: {v: ${marker}}\n`,
    );
    const root = writeRepo({ 'clusters/dev/kustomization.yaml': 'resources: [leak.yaml]\n' });
    symlinkSync(outside, join(root, 'clusters/dev/leak.yaml'));
    const { code, out, text } = await render(root);
    expect(code).toBe(1);
    expect(errorOf(out, 'flux-system')).toBe(
      'Kustomization flux-system/flux-system: clusters/dev/kustomization.yaml: resources[0]: "leak.yaml" not found in the source',
    );
    expect(text).not.toContain(marker);
  });

  it('leaves symlinks out of a Git source read from a commit (diff of git refs) as well', async () => {
    const marker = `leak-${randomBytes(6).toString('hex')}`;
    const outside = outsideFile(
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: leaked}\ndata: {v: ${marker}}\n`,
    );
    const root = writeRepo({
      'clusters/dev/kustomization.yaml': 'resources: [cm.yaml]\n',
      'clusters/dev/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\n',
    });
    const git = (...args: string[]) =>
      execFileSync('git', ['-C', root, '-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args]);
    git('init', '-q');
    git('add', '-A');
    git('commit', '-qm', 'base');
    writeFileSync(join(root, 'clusters/dev/kustomization.yaml'), 'resources: [cm.yaml, leak.yaml]\n');
    symlinkSync(outside, join(root, 'clusters/dev/leak.yaml'));
    git('add', '-A');
    git('commit', '-qm', 'head');
    const r = await runCli(
      [
        'diff',
        '--repo',
        root,
        '--base',
        'HEAD~1',
        '--head',
        'HEAD',
        '--path',
        'clusters/dev',
        '--format',
        'json',
      ],
      { env: toolEnv() },
    );
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).errors.map((e: { message: string }) => e.message)).toEqual([
      'Kustomization flux-system/flux-system: clusters/dev/kustomization.yaml: resources[1]: "leak.yaml" not found in the source',
    ]);
    expect(r.stdout + r.stderr).not.toContain(marker);
  });

  it('keeps chart files and values files inside the source: linked .Files and valuesFiles are absent', async () => {
    const marker = `leak-${randomBytes(6).toString('hex')}`;
    const root = writeRepo({
      ...CHART,
      'clusters/dev/files.yaml': helmRelease('files', {}),
      'clusters/dev/values.yaml': helmRelease('values', { chartSpec: { valuesFiles: ['values-leak.yaml'] } }),
    });
    mkdirSync(join(root, 'charts/leaky/files'));
    symlinkSync(outsideFile(`${marker}\n`), join(root, 'charts/leaky/files/secret.txt'));
    symlinkSync(outsideFile(`leak: ${marker}\n`), join(root, 'values-leak.yaml'));

    const { out, text } = await render(root);
    expect(text).not.toContain(marker);
    const cm = out.objects.find((o) => o.owner.name === 'files')?.object;
    expect(cm?.data).toEqual({ file: '', value: '', x: '' });
    expect(errorOf(out, 'values')).toBe(
      "HelmRelease apps/values: no values file found at path 'values-leak.yaml' in the chart's source",
    );
  });

  it("never writes the merged values through a chart's values.yaml symlink", async () => {
    const original = 'original: true\n';
    const target = outsideFile(original);
    const root = writeRepo({
      ...CHART,
      'charts/leaky/values-prod.yaml': 'leak: merged\n',
      'clusters/dev/release.yaml': helmRelease('victim', {
        chartSpec: { valuesFiles: ['charts/leaky/values-prod.yaml'] },
      }),
    });
    symlinkSync(target, join(root, 'charts/leaky/values.yaml'));
    const { code, out } = await render(root);
    expect(code).toBe(0);
    expect(out.objects.find((o) => o.owner.name === 'victim')?.object.data.value).toBe('merged');
    expect(readFileSync(target, 'utf8')).toBe(original);
  });
});

describe('ArtifactGenerator copy rules stay inside the source and the artifact', () => {
  const generator = (copy: { from: string; to: string }[]) =>
    JSON.stringify({
      apiVersion: 'source.extensions.fluxcd.io/v1beta1',
      kind: 'ArtifactGenerator',
      metadata: { name: 'gen', namespace: 'flux-system' },
      spec: {
        sources: [{ alias: 'repo', kind: 'GitRepository', name: 'flux-system' }],
        artifacts: [{ name: 'cut', copy }],
      },
    });
  const consumer = fluxKustomization('consumer', './', {}, 'ExternalArtifact/cut');

  it('refuses a `from` that climbs out of its source, and a `to` that climbs out of the artifact', async () => {
    const landing = mkdtempSync(join(tmpdir(), 'fg-landing-'));
    const cases: [{ from: string; to: string }, string][] = [
      [
        { from: `@repo/${UP}etc/passwd`, to: '@artifact/passwd.yaml' },
        `copy rule from "@repo/${UP}etc/passwd": the path must stay within the source (no absolute path, no '..')`,
      ],
      [
        { from: '@repo//etc/passwd', to: '@artifact/passwd.yaml' },
        `copy rule from "@repo//etc/passwd": the path must stay within the source (no absolute path, no '..')`,
      ],
      [
        { from: '@repo/apps/**', to: `@artifact/${UP}${landing.slice(1)}/` },
        `copy rule to "@artifact/${UP}${landing.slice(1)}/": the path must stay within the artifact (no absolute path, no '..')`,
      ],
    ];
    for (const [rule, message] of cases) {
      const root = writeRepo({
        'clusters/dev/gen.yaml': generator([rule]),
        'clusters/dev/consumer.yaml': consumer,
        'apps/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\n',
      });
      const { out, text } = await render(root);
      expect(errorOf(out, 'consumer')).toBe(
        `Kustomization flux-system/consumer: ArtifactGenerator flux-system/gen: ${message}`,
      );
      expect(text).not.toContain('root:x:0');
    }
    expect(existsSync(join(landing, 'cm.yaml'))).toBe(false);
  });
});

describe('no manifest field becomes a tool option', () => {
  it.each([
    ['--set-file=x=/etc/passwd', 'spec.releaseName "--set-file=x=/etc/passwd" is invalid'],
    ['--output-dir=OUT', 'spec.releaseName "--output-dir=OUT" is invalid'],
  ])('refuses releaseName %s with one line', async (name, message) => {
    const landing = mkdtempSync(join(tmpdir(), 'fg-output-dir-'));
    const releaseName = name.replace('OUT', join(landing, 'out'));
    const root = writeRepo({ ...CHART, 'clusters/dev/release.yaml': helmRelease('inject', { releaseName }) });
    const { code, out, text } = await render(root);
    expect(code).toBe(1);
    expect(errorOf(out, 'inject')).toBe(
      `HelmRelease apps/inject: ${message.replace('OUT', join(landing, 'out'))}: a Helm release name is a DNS-1123 subdomain of at most 53 characters`,
    );
    expect(text).not.toContain('root:x:0');
    expect(existsSync(join(landing, 'out'))).toBe(false);
  });

  it('refuses a target namespace that is not a namespace name', async () => {
    const root = writeRepo({
      ...CHART,
      'clusters/dev/release.yaml': helmRelease('ns', { targetNamespace: '--kubeconfig=/etc/passwd' }),
    });
    const { out } = await render(root);
    expect(errorOf(out, 'ns')).toBe(
      'HelmRelease apps/ns: spec.targetNamespace "--kubeconfig=/etc/passwd" is not a valid namespace name (DNS-1123 label)',
    );
  });
});

describe('builds have no network, loopback included', () => {
  let server: Server;
  let requests = 0;
  let base = '';
  beforeAll(async () => {
    server = createServer((_req, res) => {
      requests++;
      res.end('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fetched}\n');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  it('refuses URL resources, remote patches and remote bases before kustomize runs; the server gets no request', async () => {
    const cases: [string, string][] = [
      [`resources: [${base}/x.yaml]\n`, `resources[0]: "${base}/x.yaml" is a remote reference`],
      [`patches:\n  - path: ${base}/p.yaml\n`, `patches[0].path: "${base}/p.yaml" is a remote reference`],
      [
        'resources: [github.com/org/repo//deploy?ref=main]\n',
        'resources[0]: "github.com/org/repo//deploy?ref=main" is a remote reference',
      ],
      [
        'resources: [git@127.0.0.1:org/repo.git]\n',
        'resources[0]: "git@127.0.0.1:org/repo.git" is a remote reference',
      ],
    ];
    for (const [kustomization, message] of cases) {
      const { out } = await render(writeRepo({ 'clusters/dev/kustomization.yaml': kustomization }));
      expect(errorOf(out, 'flux-system')).toBe(
        `Kustomization flux-system/flux-system: clusters/dev/kustomization.yaml: ${message}; builds have no network`,
      );
    }
    expect(requests).toBe(0);
  });
});

describe('tools run with a minimal, private environment', () => {
  const secret = `ghs_${randomBytes(12).toString('hex')}`;
  const hostileEnv = () =>
    toolEnv({ GITHUB_TOKEN: secret, INPUT_CREDS: `user:${secret}`, AWS_SECRET_ACCESS_KEY: secret });

  it('helm and kustomize get a fixed PATH, a private HOME and TMPDIR removed afterwards, and none of our variables', async () => {
    const root = writeRepo({
      ...CHART,
      // A bare key in an env file is a variable lookup for some kustomize versions.
      'clusters/dev/kustomization.yaml':
        'resources: [release.yaml]\nconfigMapGenerator:\n  - name: env\n    envs: [grab.env]\n',
      'clusters/dev/grab.env': 'GITHUB_TOKEN\nINPUT_CREDS\nAWS_SECRET_ACCESS_KEY\n',
      'clusters/dev/release.yaml': helmRelease('env', {
        postRenderers: [
          {
            kustomize: {
              patches: [
                { patch: '[{"op":"add","path":"/data/p","value":"1"}]', target: { kind: 'ConfigMap' } },
              ],
            },
          },
        ],
      }),
    });
    const seen: { command: string; env: NodeJS.ProcessEnv }[] = [];
    const recording: ProcessRunner = (command, args, options) => {
      seen.push({ command, env: options.env });
      return runProcess(command, args, options);
    };
    const env = hostileEnv();
    const result = await renderCluster(
      {
        repo: root,
        path: 'clusters/dev',
        sources: new Map(),
        strictSubstitute: true,
        registryMirrors: new Map(),
        helmRepoMirrors: new Map(),
        concurrency: 2,
        apiVersions: [],
        insecureRegistry: false,
        run: recording,
      },
      { log: silentLogger, env, cwd: root },
    );
    expect(result.errors).toEqual([]);
    expect(JSON.stringify(result.objects)).not.toContain(secret);
    const generated = result.objects.find((o) => o.object.metadata.name.startsWith('env-'))!.object;
    expect(generated.data).toEqual({ GITHUB_TOKEN: '', INPUT_CREDS: '', AWS_SECRET_ACCESS_KEY: '' });
    expect(seen.map((s) => s.command.split('/').pop()).sort()).toEqual(['helm', 'kubectl', 'kubectl']);
    for (const { command, env: toolEnvUsed } of seen) {
      expect(JSON.stringify(toolEnvUsed)).not.toContain(secret);
      expect(Object.keys(toolEnvUsed).filter((k) => /^(GITHUB|INPUT|ACTIONS|RUNNER|AWS)_/.test(k))).toEqual(
        [],
      );
      expect(toolEnvUsed.PATH).toBe(`${command.slice(0, command.lastIndexOf('/'))}:/usr/bin:/bin`);
      expect(toolEnvUsed.HOME).not.toBe(env.HOME);
      expect(toolEnvUsed.TMPDIR!.startsWith(toolEnvUsed.HOME!)).toBe(true);
      expect(toolEnvUsed.HELM_CACHE_HOME!.startsWith(toolEnvUsed.HOME!)).toBe(true);
      expect(existsSync(toolEnvUsed.HOME!)).toBe(false);
      // Two builds at once: each Go tool gets its share of the cores, not all of them.
      expect(toolEnvUsed.GOMAXPROCS).toBe(String(Math.max(1, Math.floor(availableParallelism() / 2))));
    }
  });
});
