/**
 * `diff --cluster`: the head render against the Kubernetes API stand-in, through server-side
 * apply dry runs as kustomize-controller. The live state is what a cluster has after Flux applied
 * an earlier revision and someone edited a Deployment by hand.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { rmSync } from 'node:fs';
import { runCli } from '../support/cli.js';
import { startKubeApiServer, type KubeApiServer, type KubeObject } from '../support/kube-apiserver.js';
import { writeRepo } from '../support/repo.js';

const OWNER = {
  'kustomize.toolkit.fluxcd.io/name': 'flux-system',
  'kustomize.toolkit.fluxcd.io/namespace': 'flux-system',
};
const OLD_PASSWORD = 'old-password-from-the-cluster';
const NEW_PASSWORD = 'new-password-in-the-repository';

const deployment = (replicas: number): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'podinfo', namespace: 'apps', labels: { app: 'podinfo', ...OWNER } },
  spec: {
    replicas,
    selector: { matchLabels: { app: 'podinfo' } },
    template: {
      metadata: { labels: { app: 'podinfo' } },
      spec: { containers: [{ name: 'podinfo', image: 'ghcr.io/stefanprodan/podinfo:6.7.0' }] },
    },
  },
});

let api: KubeApiServer;
let repo: string;
let kubeconfig: string;

beforeAll(async () => {
  api = await startKubeApiServer({ token: 'diff-token' });
  repo = writeRepo({
    'clusters/prod/namespace.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: apps}\n',
    'clusters/prod/deployment.yaml': JSON.stringify({
      ...deployment(2),
      metadata: { name: 'podinfo', namespace: 'apps', labels: { app: 'podinfo' } },
    }),
    'clusters/prod/secret.yaml': `apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: apps}\nstringData: {password: ${NEW_PASSWORD}}\n`,
    'clusters/prod/settings.yaml':
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: apps}\ndata: {level: info}\n',
  });
  kubeconfig = api.writeKubeconfig(repo + '-kube');
  // What kustomize-controller applied from the previous revision.
  api.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'flux-system' } });
  api.put(
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps', labels: { ...OWNER } } },
    'kustomize-controller',
  );
  api.put(deployment(2), 'kustomize-controller');
  api.put(
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db', namespace: 'apps', labels: { ...OWNER } },
      type: 'Opaque',
      data: { password: Buffer.from(OLD_PASSWORD).toString('base64') },
    },
    'kustomize-controller',
  );
  api.put(
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'stale', namespace: 'apps', labels: { ...OWNER } },
      data: { a: '1' },
    },
    'kustomize-controller',
  );
  // Not Flux's: no owner labels, never listed as pruned.
  api.put({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'kube-root-ca.crt', namespace: 'apps' },
    data: { 'ca.crt': 'x' },
  });
  api.put({
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name: 'flux-system', namespace: 'flux-system' },
    spec: {
      interval: '10m',
      path: './clusters/prod',
      prune: true,
      sourceRef: { kind: 'GitRepository', name: 'flux-system' },
    },
  });
  // Someone scaled the Deployment by hand.
  const live = api.get('Deployment', 'apps', 'podinfo')!;
  api.put({ ...live, spec: { ...(live.spec as object), replicas: 5 } }, 'kubectl-edit');
});
afterAll(async () => {
  await api.stop();
  rmSync(repo, { recursive: true, force: true });
  rmSync(repo + '-kube', { recursive: true, force: true });
});

const diff = (...more: string[]) =>
  runCli([
    'diff',
    '--cluster',
    '--head',
    repo,
    '--path',
    'clusters/prod',
    '--kubeconfig',
    kubeconfig,
    '--timeout',
    '120s',
    ...more,
  ]);

describe('diff --cluster', () => {
  test('a hand edit shows as a change, a labelled live object the render lacks as pruned, a new one as added; nothing is written', async () => {
    const writesBefore = api.requests.filter((r) => r.method !== 'GET' && !r.dryRun).length;
    const r = await diff('--format', 'json');
    expect(r.stderr).not.toMatch(/error/i);
    const out = JSON.parse(r.stdout);
    const changes = Object.fromEntries(
      out.changes.map((c: { kind: string; name: string; action: string }) => [`${c.kind}/${c.name}`, c]),
    );
    expect(Object.keys(changes).sort()).toEqual([
      'ConfigMap/settings',
      'ConfigMap/stale',
      'Deployment/podinfo',
      'Secret/db',
    ]);
    expect(changes['Deployment/podinfo'].action).toBe('modified');
    expect(changes['Deployment/podinfo'].diff).toMatch(/-\s+replicas: 5\n\+\s+replicas: 2/);
    expect(changes['Deployment/podinfo'].owner).toEqual({
      kind: 'Kustomization',
      namespace: 'flux-system',
      name: 'flux-system',
    });
    expect(changes['ConfigMap/stale'].action).toBe('removed');
    expect(changes['ConfigMap/settings'].action).toBe('added');
    expect(changes['Secret/db'].action).toBe('modified');
    expect(r.code).toBe(0);
    // Each object went through a dry-run apply as kustomize-controller; nothing was stored.
    const dryRuns = api.requests.filter((q) => q.method === 'PATCH' && q.dryRun);
    // The Namespace, the Deployment and the new ConfigMap; never the Secret.
    expect(dryRuns.map((q) => q.path.split('/').slice(-2).join('/')).sort()).toEqual([
      'configmaps/settings',
      'deployments/podinfo',
      'namespaces/apps',
    ]);
    expect(new Set(dryRuns.map((q) => q.fieldManager))).toEqual(new Set(['kustomize-controller']));
    expect(
      dryRuns.every(
        (q) => q.query.includes('force=true') && q.contentType === 'application/apply-patch+yaml',
      ),
    ).toBe(true);
    expect(api.requests.filter((q) => q.method !== 'GET' && !q.dryRun).length).toBe(writesBefore);
    expect(api.get('ConfigMap', 'apps', 'settings')).toBeUndefined();
    expect(api.get('Deployment', 'apps', 'podinfo')!.spec).toMatchObject({ replicas: 5 });
  });

  test('the review has the owner section and the change list, and never a Secret value', async () => {
    const r = await diff();
    expect(r.code).toBe(0);
    const everything = r.stdout + r.stderr;
    for (const value of [OLD_PASSWORD, NEW_PASSWORD]) {
      expect(everything).not.toContain(value);
      expect(everything).not.toContain(Buffer.from(value).toString('base64'));
    }
    // No Secret value was sent to the server either (the dry runs skip Secrets).
    expect(
      api.requests.some(
        (q) =>
          q.body?.includes(NEW_PASSWORD) || q.body?.includes(Buffer.from(NEW_PASSWORD).toString('base64')),
      ),
    ).toBe(false);
    expect(r.stdout).toContain('flux-system/flux-system');
    expect(r.stdout).toMatch(/stale/);
    expect(r.stdout).toMatch(/\(secret:[0-9a-f]{12}\)/);
    expect(r.stdout).toContain('live cluster');
  });
});
