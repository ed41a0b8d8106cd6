/**
 * `push --wait` and `wait` against the Kubernetes API stand-in. The test plays source-controller
 * and kustomize-controller: when the reconcile annotation appears on an OCIRepository, it
 * resolves the ref in the real registry (as the controller does) and moves the status.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import {
  startKubeApiServer,
  type ChangeEvent,
  type KubeApiServer,
  type KubeObject,
} from '../support/kube-apiserver.js';
import { sharedRegistryHost } from '../support/registry.js';
import { freePort } from '../support/ports.js';

const REQUESTED_AT = 'reconcile.fluxcd.io/requestedAt';

let api: KubeApiServer;
let dir: string;
let kubeconfig: string;
let host: string;
let content: string;

beforeAll(async () => {
  host = sharedRegistryHost();
  api = await startKubeApiServer({ token: 'ci-token' });
  dir = mkdtempSync(join(tmpdir(), 'fluxgate-wait-'));
  kubeconfig = api.writeKubeconfig(dir);
  content = join(dir, 'manifests');
  mkdirSync(content);
  writeFileSync(
    join(content, 'cm.yaml'),
    'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: apps}\ndata: {a: "1"}\n',
  );
});
afterAll(async () => {
  await api.stop();
  rmSync(dir, { recursive: true, force: true });
});

let stopController: (() => void) | undefined;
afterEach(() => stopController?.());

/** The manifest digest a tag points at in the registry (what source-controller resolves). */
async function resolveTag(repository: string, tag: string): Promise<string> {
  const res = await fetch(`http://${host}/v2/${repository}/manifests/${tag}`, {
    method: 'HEAD',
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  return res.headers.get('docker-content-digest')!;
}

function fluxObjects(name: string, repository: string, spec: Record<string, unknown> = {}) {
  api.put({
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'OCIRepository',
    metadata: { name, namespace: 'flux-system' },
    spec: {
      url: `oci://${host}/${repository}`,
      ref: { tag: 'v1' },
      interval: '10m',
      insecure: true,
      ...spec,
    },
    status: { artifact: { revision: 'v0@sha256:' + '0'.repeat(64), digest: 'sha256:' + '1'.repeat(64) } },
  });
  api.put({
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name, namespace: 'flux-system' },
    spec: { sourceRef: { kind: 'OCIRepository', name }, path: './', prune: true, interval: '10m' },
  });
}

/**
 * Plays the controllers for OCIRepository `name`: on a new reconcile request, `source` decides
 * its status (given the digest the tag resolves to); then the Kustomization applies the revision.
 */
function controller(
  name: string,
  repository: string,
  source: (digest: string, requestedAt: string) => Record<string, unknown>,
  options: {
    beforeStatus?: () => Promise<void>;
    kustomization?: (revision: string) => Record<string, unknown>;
  } = {},
) {
  let handled = '';
  const react = async (e: ChangeEvent) => {
    if (e.kind !== 'OCIRepository' || e.object.metadata.name !== name) return;
    const requestedAt = e.object.metadata.annotations?.[REQUESTED_AT];
    if (!requestedAt || requestedAt === handled) return;
    handled = requestedAt;
    const digest = await resolveTag(repository, 'v1');
    await options.beforeStatus?.();
    await new Promise((r) => setTimeout(r, 300));
    const status = source(digest, requestedAt);
    api.setStatus('OCIRepository', 'flux-system', name, status);
    const revision = (status.artifact as { revision?: string } | undefined)?.revision;
    if (!revision) return;
    await new Promise((r) => setTimeout(r, 300));
    api.setStatus(
      'Kustomization',
      'flux-system',
      name,
      options.kustomization?.(revision) ?? {
        observedGeneration: 1,
        lastAttemptedRevision: revision,
        lastAppliedRevision: revision,
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'ReconciliationSucceeded',
            message: `Applied revision: ${revision}`,
          },
        ],
      },
    );
  };
  const off = api.onChange((e) => void react(e));
  stopController = off;
}

const ready = (digest: string, requestedAt: string) => ({
  lastHandledReconcileAt: requestedAt,
  artifact: { revision: `v1@${digest}`, digest: 'sha256:' + 'f'.repeat(64) },
  conditions: [
    {
      type: 'Ready',
      status: 'True',
      reason: 'Succeeded',
      message: `stored artifact for digest 'v1@${digest}'`,
    },
  ],
});

async function push(repository: string, extra: string[] = [], config = kubeconfig) {
  return runCli([
    'push',
    `oci://${host}/${repository}:v1`,
    '--path',
    content,
    '--source',
    'https://github.com/octo/app',
    '--revision',
    `main@sha1:${'a'.repeat(40)}`,
    '--wait',
    '--kubeconfig',
    config,
    '--timeout',
    '90s',
    '--format',
    'json',
    ...extra,
  ]);
}

describe('push --wait', () => {
  test('passes when the OCIRepository moves to the pushed digest and its Kustomization applied it; only the annotation is written', async () => {
    const repository = 'cluster/wait-ok';
    fluxObjects('app', repository);
    // A source of another repository is left alone.
    api.put({
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'OCIRepository',
      metadata: { name: 'other', namespace: 'flux-system' },
      spec: { url: `oci://${host}/cluster/other`, ref: { tag: 'v1' }, interval: '10m' },
    });
    controller('app', repository, ready);
    const since = api.requests.length;
    const r = await push(repository);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.wait.sources).toEqual([
      expect.objectContaining({
        kind: 'OCIRepository',
        namespace: 'flux-system',
        name: 'app',
        revision: `v1@${out.digest}`,
      }),
    ]);
    expect(out.wait.kustomizations).toEqual([
      expect.objectContaining({ kind: 'Kustomization', name: 'app', revision: `v1@${out.digest}` }),
    ]);
    expect(Date.parse(out.wait.kustomizations[0].at)).toBeGreaterThanOrEqual(
      Date.parse(out.wait.sources[0].at),
    );
    expect(r.stderr).toContain('► annotating OCIRepository flux-system/app');
    expect(r.stderr).toContain('✔ Kustomization flux-system/app applied');
    expect(
      api.get('OCIRepository', 'flux-system', 'other')!.metadata.annotations?.[REQUESTED_AT],
    ).toBeUndefined();
    // As flux reconcile: one merge patch of the annotation, RFC 3339; no other write.
    const writes = api.requests.slice(since).filter((q) => q.method !== 'GET');
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatchObject({
      method: 'PATCH',
      path: '/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/ocirepositories/app',
      contentType: 'application/merge-patch+json',
    });
    const patch = JSON.parse(writes[0]!.body!);
    expect(Object.keys(patch)).toEqual(['metadata']);
    expect(Object.keys(patch.metadata.annotations)).toEqual([REQUESTED_AT]);
    expect(patch.metadata.annotations[REQUESTED_AT]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  });

  test('fails with the condition message when verification fails, before --timeout', async () => {
    const repository = 'cluster/wait-unverified';
    fluxObjects('unverified', repository, {
      verify: { provider: 'cosign', secretRef: { name: 'cosign-pub' } },
    });
    const message = `failed to verify the signature using provider 'cosign': no matching signatures were found for '${host}/${repository}:v1'`;
    controller('unverified', repository, (_digest, requestedAt) => ({
      lastHandledReconcileAt: requestedAt,
      conditions: [
        { type: 'Ready', status: 'False', reason: 'VerificationError', message },
        { type: 'SourceVerified', status: 'False', reason: 'VerificationError', message },
      ],
    }));
    const r = await push(repository);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toBe(
      `error: OCIRepository flux-system/unverified: verification failed: ${message}`,
    );
  });

  test('a Kustomization whose build fails fails the wait with its message', async () => {
    const repository = 'cluster/wait-buildfail';
    fluxObjects('broken', repository);
    // kustomize-controller fails to build the new revision and keeps the last one applied.
    controller('broken', repository, ready, {
      kustomization: (revision) => ({
        observedGeneration: 1,
        lastAppliedRevision: 'v0@sha256:' + '0'.repeat(64),
        lastAttemptedRevision: revision,
        conditions: [
          {
            type: 'Ready',
            status: 'False',
            reason: 'BuildFailed',
            message: 'kustomize build failed: accumulating resources: missing.yaml: no such file',
          },
        ],
      }),
    });
    const r = await push(repository);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toBe(
      'error: Kustomization flux-system/broken: BuildFailed: kustomize build failed: accumulating resources: missing.yaml: no such file',
    );
  });

  test('survives a dropped watch and an expired resourceVersion (410 Gone: it lists again)', async () => {
    const repository = 'cluster/wait-dropped';
    fluxObjects('flaky', repository);
    let dropped = 0;
    controller('flaky', repository, ready, {
      beforeStatus: async () => {
        // Once the wait watches the sources, cut the stream and forget the history it resumes from.
        const deadline = Date.now() + 30_000;
        while (api.watchCount() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        dropped = api.dropWatches();
        api.compact();
      },
    });
    const since = api.requests.length;
    const r = await push(repository, ['--verbose']);
    expect(r.code).toBe(0);
    expect(dropped).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/watch of OCIRepository dropped/);
    expect(r.stderr).toMatch(/expired \(410 Gone\); listing again/);
    const sourceReads = api.requests
      .slice(since)
      .filter((q) => q.path === '/apis/source.toolkit.fluxcd.io/v1/ocirepositories');
    expect(sourceReads.filter((q) => q.query.includes('watch=1')).length).toBeGreaterThanOrEqual(2);
    expect(sourceReads.filter((q) => !q.query.includes('watch=1')).length).toBeGreaterThanOrEqual(2);
    expect(JSON.parse(r.stdout).wait.kustomizations).toHaveLength(1);
  });

  test('at --timeout, one line naming what it still waited for and its last state', async () => {
    const repository = 'cluster/wait-slow';
    fluxObjects('slow', repository);
    const pushed = await push(repository, ['--wait=false']);
    expect(pushed.code).toBe(0);
    const digest = JSON.parse(pushed.stdout).digest as string;
    // source-controller is busy: it reports progress and never gets to the new digest.
    const off = api.onChange((e) => {
      if (
        e.kind !== 'OCIRepository' ||
        e.object.metadata.name !== 'slow' ||
        (e.object.status as { conditions?: unknown } | undefined)?.conditions
      )
        return;
      setTimeout(() =>
        api.setStatus('OCIRepository', 'flux-system', 'slow', {
          conditions: [
            { type: 'Ready', status: 'Unknown', reason: 'Progressing', message: 'building artifact' },
          ],
        }),
      );
    });
    try {
      const r = await runCli([
        'wait',
        `oci://${host}/${repository}@${digest}`,
        '--kubeconfig',
        kubeconfig,
        '--timeout',
        '5s',
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n').at(-1)).toBe(
        `error: gave up at the --timeout of 5s waiting for OCIRepository flux-system/slow to fetch ${digest} (last: OCIRepository flux-system/slow: Ready Unknown (Progressing): building artifact)`,
      );
    } finally {
      off();
    }
  });

  test('no OCIRepository points at the artifact: one line, exit 1', async () => {
    const r = await push('cluster/wait-nobody');
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(
      /^error: no OCIRepository in cluster https:\/\/127\.0\.0\.1:\d+ points at oci:\/\/.*cluster\/wait-nobody@sha256:[0-9a-f]{64}/,
    );
  });
});

describe('cluster access', () => {
  test('an unreachable server or refused credentials: one line naming the server, exit 1, nothing pushed', async () => {
    const port = await freePort();
    const closed = join(dir, 'closed');
    mkdirSync(closed, { recursive: true });
    writeFileSync(
      join(closed, 'config'),
      `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:${port}"}}]\nusers: [{name: u, user: {token: abc}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`,
    );
    const unreachable = await push('cluster/unreachable', [], join(closed, 'config'));
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr.trim()).toBe(
      `error: cluster https://127.0.0.1:${port}: unreachable (ECONNREFUSED)`,
    );
    expect((await fetch(`http://${host}/v2/cluster/unreachable/tags/list`)).status).toBe(404);

    const secret = 'wrong-token-do-not-print';
    const refused = await push(
      'cluster/refused',
      [],
      api.writeKubeconfig(join(dir, 'wrong'), { token: secret }),
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toBe(
      `error: cluster ${api.url}: refused the credentials (401 Unauthorized)`,
    );
  });

  test('wait takes the kubeconfig content (the action input) and a --context; its token never shows', async () => {
    const repository = 'cluster/wait-content';
    fluxObjects('content', repository);
    controller('content', repository, ready);
    const first = await push(repository, ['--wait=false']);
    expect(first.code).toBe(0);
    const digest = JSON.parse(first.stdout).digest as string;
    const config = api.writeKubeconfig(join(dir, 'ctx'), { context: 'prod' });
    const text = (await import('node:fs')).readFileSync(config, 'utf8');
    const r = await runCli([
      'wait',
      `oci://${host}/${repository}@${digest}`,
      '--kubeconfig',
      text,
      '--context',
      'prod',
      '--timeout',
      '90s',
      '--verbose',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Kustomization flux-system/content applied v1@${digest}`);
    expect(r.stdout + r.stderr).not.toContain('ci-token');
    const missing = await runCli([
      'wait',
      `oci://${host}/${repository}@${digest}`,
      '--kubeconfig',
      text,
      '--context',
      'nope',
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--context nope: no such context in the kubeconfig');
  });
});

export type { KubeObject };
