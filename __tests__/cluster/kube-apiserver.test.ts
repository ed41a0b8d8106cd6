/**
 * The Kubernetes API stand-in (support/kube-apiserver.ts) checked with the real kubectl: if it
 * answered anything a real API server would not, kubectl would fail or print something else.
 * kubectl runs as an asynchronous child (a synchronous one would block the in-process server).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKubeApiServer, type KubeApiServer } from '../support/kube-apiserver.js';
import { KUBECTL } from '../support/tools.js';

interface Child {
  stdout: () => string;
  stderr: () => string;
  done: Promise<number>;
  kill: () => void;
}

function kubectl(kubeconfig: string, args: string[]): Child {
  const child = spawn(KUBECTL, ['--kubeconfig', kubeconfig, '--request-timeout=60s', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, HOME: tmpdir() },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));
  return { stdout: () => out, stderr: () => err, done, kill: () => child.kill('SIGTERM') };
}

async function until(what: string, check: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const deployment = (replicas: number) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'podinfo', namespace: 'apps', labels: { app: 'podinfo' } },
  spec: {
    replicas,
    selector: { matchLabels: { app: 'podinfo' } },
    template: {
      metadata: { labels: { app: 'podinfo' } },
      spec: { containers: [{ name: 'podinfo', image: 'ghcr.io/stefanprodan/podinfo:6.7.0' }] },
    },
  },
});

describe('the Kubernetes API stand-in, as kubectl sees it', () => {
  let api: KubeApiServer;
  let dir: string;
  let kubeconfig: string;

  beforeAll(async () => {
    api = await startKubeApiServer({ token: 'kubectl-token' });
    dir = mkdtempSync(join(tmpdir(), 'fluxgate-kubectl-'));
    kubeconfig = api.writeKubeconfig(dir);
    api.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps' } });
    api.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'flux-system' } });
    api.put(deployment(2), 'kustomize-controller');
    api.put({
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'OCIRepository',
      metadata: { name: 'podinfo', namespace: 'flux-system' },
      spec: { url: 'oci://registry.example/podinfo', ref: { tag: 'latest' }, interval: '10m' },
    });
    api.put({
      apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
      kind: 'Kustomization',
      metadata: { name: 'podinfo', namespace: 'flux-system' },
      spec: {
        sourceRef: { kind: 'OCIRepository', name: 'podinfo' },
        path: './',
        prune: true,
        interval: '10m',
      },
    });
  });
  afterAll(async () => {
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('kubectl get lists built-in and Flux objects, and says NotFound for a missing one', async () => {
    const deployments = kubectl(kubeconfig, ['get', 'deployments', '-n', 'apps']);
    expect(await deployments.done).toBe(0);
    expect(deployments.stdout()).toMatch(/^NAME\s+AGE\npodinfo\s+\d+s\n$/);
    const flux = kubectl(kubeconfig, ['get', 'ocirepositories.source.toolkit.fluxcd.io', '-A', '-o', 'json']);
    expect(await flux.done).toBe(0);
    const list = JSON.parse(flux.stdout());
    expect(list.items.map((o: { metadata: { name: string } }) => o.metadata.name)).toEqual(['podinfo']);
    expect(list.items[0].apiVersion).toBe('source.toolkit.fluxcd.io/v1');
    const missing = kubectl(kubeconfig, ['get', 'kustomization', 'nope', '-n', 'flux-system']);
    expect(await missing.done).toBe(1);
    expect(missing.stderr()).toContain('kustomizations.kustomize.toolkit.fluxcd.io "nope" not found');
  });

  test('kubectl refuses a wrong token with the server’s 401', async () => {
    const bad = api.writeKubeconfig(join(dir, 'bad'), { token: 'wrong' });
    const run = kubectl(bad, ['get', 'deployments', '-n', 'apps']);
    expect(await run.done).toBe(1);
    expect(run.stderr()).toMatch(/Unauthorized|must be logged in/);
  });

  test('kubectl get -w receives an event for a change made after it started', async () => {
    const watch = kubectl(kubeconfig, [
      'get',
      'ocirepository',
      'podinfo',
      '-n',
      'flux-system',
      '-w',
      '-o',
      'jsonpath={.metadata.annotations.marker}{"\\n"}',
    ]);
    await until('the watch to open', () => api.watchCount() > 0);
    const live = api.get('OCIRepository', 'flux-system', 'podinfo')!;
    api.put({ ...live, metadata: { ...live.metadata, annotations: { marker: 'moved' } } });
    await until('kubectl to print the event', () => watch.stdout().includes('moved'));
    watch.kill();
    await watch.done;
  });

  test('kubectl apply --server-side --dry-run=server merges without storing, and reports a conflict', async () => {
    const file = join(dir, 'deployment.json');
    writeFileSync(file, JSON.stringify(deployment(5)));
    const before = api.get('Deployment', 'apps', 'podinfo')!;
    const dry = kubectl(kubeconfig, [
      'apply',
      '--server-side',
      '--dry-run=server',
      '--field-manager',
      'kustomize-controller',
      '-f',
      file,
      '-o',
      'json',
      '--show-managed-fields',
    ]);
    expect(await dry.done).toBe(0);
    const merged = JSON.parse(dry.stdout());
    expect(merged.spec.replicas).toBe(5);
    expect(merged.metadata.managedFields.map((f: { manager: string }) => f.manager)).toContain(
      'kustomize-controller',
    );
    expect(api.get('Deployment', 'apps', 'podinfo')!.metadata.resourceVersion).toBe(
      before.metadata.resourceVersion,
    );
    expect(
      api.requests.some(
        (r) => r.method === 'PATCH' && r.dryRun && r.contentType === 'application/apply-patch+yaml',
      ),
    ).toBe(true);
    // Another manager setting a field kustomize-controller owns, with another value: a conflict.
    const other = kubectl(kubeconfig, [
      'apply',
      '--server-side',
      '--dry-run=server',
      '--field-manager',
      'someone-else',
      '-f',
      file,
    ]);
    expect(await other.done).toBe(1);
    expect(other.stderr()).toContain('conflict with "kustomize-controller"');
    expect(other.stderr()).toContain('.spec.replicas');
  });

  test('kubectl annotate writes the annotation', async () => {
    const run = kubectl(kubeconfig, [
      'annotate',
      '--overwrite',
      '-n',
      'flux-system',
      'ocirepository/podinfo',
      'reconcile.fluxcd.io/requestedAt=2026-01-01T00:00:00Z',
    ]);
    expect(await run.done).toBe(0);
    expect(run.stdout()).toContain('annotated');
    expect(api.get('OCIRepository', 'flux-system', 'podinfo')!.metadata.annotations).toMatchObject({
      'reconcile.fluxcd.io/requestedAt': '2026-01-01T00:00:00Z',
    });
  });

  test('kubectl wait --for=condition=Ready returns when a controller marks the object Ready', async () => {
    const wait = kubectl(kubeconfig, [
      'wait',
      '--for=condition=Ready',
      '-n',
      'flux-system',
      'kustomization/podinfo',
      '--timeout=90s',
    ]);
    await until(
      'kubectl wait to watch',
      () => api.watchCount() > 0 || api.requests.some((r) => r.query.includes('watch')),
    );
    api.setStatus('Kustomization', 'flux-system', 'podinfo', {
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'ReconciliationSucceeded',
          message: 'Applied revision: latest@sha256:abc',
          lastTransitionTime: '2026-01-01T00:00:00Z',
          observedGeneration: 1,
        },
      ],
    });
    expect(await wait.done).toBe(0);
    expect(wait.stdout()).toContain('condition met');
  });
});
