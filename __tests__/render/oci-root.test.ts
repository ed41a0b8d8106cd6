/**
 * A fleet whose root is an OCIRepository that CI pushes from a directory of the repository
 * (`flux push artifact oci://ghcr.io/org/fleet:latest --path=./kubernetes`), with a
 * `.sourceignore` at the repository root left from its GitRepository days.
 *
 * What Flux applies: flux push reads no `.sourceignore` (fluxcd/pkg oci/client Build matches only
 * its --ignore-paths, default excludeOCI = ExcludeVCS + ExcludeExt, flux2
 * cmd/flux/push_artifact.go), so the root `.sourceignore` never reaches the artifact; the
 * `.sourceignore` files inside `./kubernetes` travel in it and source-controller applies them
 * when it stores the unpacked layer (ocirepository_controller.go reconcileArtifact:
 * LoadIgnorePatterns + spec.ignore, SourceIgnoreFilter). Every path of the source is relative
 * to `./kubernetes`.
 */
import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { runCli } from '../support/cli.js';
import { fluxKustomization, writeRepo } from '../support/repo.js';
import { sharedRegistryHost } from '../support/registry.js';
import { toolEnv } from '../support/tools.js';
import { SourceResolver } from '../../src/render/sources.js';
import { RegistryClient } from '../../src/oci/client.js';
import { silentLogger } from '../../src/log.js';
import type { KubeObject } from '../../src/flux/objects.js';

const OCI_SOURCE = {
  apiVersion: 'source.toolkit.fluxcd.io/v1',
  kind: 'OCIRepository',
  metadata: { name: 'flux-system', namespace: 'flux-system' },
  spec: { interval: '5m', url: 'oci://ghcr.io/org/fleet', ref: { tag: 'latest' } },
};

function fleet(): string {
  const cm = (name: string, data: Record<string, string>) =>
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: 'flux-system' },
      data,
    });
  const root = writeRepo({
    // Written when the fleet was a GitRepository; the artifact never sees it.
    '.sourceignore': [
      '/kubernetes/clusters/**/secrets/',
      '!/kubernetes/clusters/**/secrets/cluster-config.yaml',
      '/docs/',
    ].join('\n'),
    '.github/workflows/push.yaml':
      'on: {push: {branches: [main]}}\njobs: {push: {runs-on: ubuntu-latest, steps: [{uses: actions/checkout@v5}, {uses: fluxcd/flux2/action@main}, {run: "flux push artifact oci://ghcr.io/org/fleet:latest --path=./kubernetes --source=$GITHUB_SERVER_URL/$GITHUB_REPOSITORY --revision=$GITHUB_REF_NAME@sha1:$GITHUB_SHA"}]}}\n',
    'docs/README.md': '# fleet\n',
    // Travels in the artifact: scoped to the artifact's root.
    'kubernetes/.sourceignore': 'apps/**/examples/\n',
    'kubernetes/clusters/production/flux-system/kustomization.yaml': 'resources: [gotk-sync.yaml]\n',
    'kubernetes/clusters/production/flux-system/gotk-sync.yaml': [
      JSON.stringify(OCI_SOURCE),
      fluxKustomization('flux-system', './clusters/production', {}, 'OCIRepository/flux-system'),
    ].join('\n---\n'),
    'kubernetes/clusters/production/apps.yaml': fluxKustomization(
      'apps',
      './apps/production',
      { postBuild: { substituteFrom: [{ kind: 'ConfigMap', name: 'cluster-config' }] } },
      'OCIRepository/flux-system',
    ),
    'kubernetes/clusters/production/secrets/cluster-config.yaml': cm('cluster-config', {
      DOMAIN: 'example.org',
    }),
    'kubernetes/clusters/production/secrets/registry-mirror.yaml': cm('registry-mirror', {
      mirror: 'mirror.example.org',
    }),
    'kubernetes/apps/production/web.yaml': [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata: {name: web, namespace: default}',
      'data: {host: "web.${DOMAIN}"}',
    ].join('\n'),
    'kubernetes/apps/production/examples/demo.yaml':
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: demo, namespace: default}\n',
    'kubernetes/apps/production/logo.png': 'not really a png',
  });
  const git = (...args: string[]) => execFileSync('git', ['-C', root, ...args], { stdio: 'ignore' });
  git('init', '-q', '-b', 'main');
  git('remote', 'add', 'origin', 'https://github.com/org/fleet.git');
  return root;
}

async function render(args: string[]) {
  const r = await runCli(['render', '--format', 'json', ...args]);
  const out = JSON.parse(r.stdout) as {
    objects: { owner: { name: string }; object: KubeObject }[];
    errors: { message: string }[];
  };
  return { ...r, out };
}

const names = (objects: { object: KubeObject }[]) =>
  objects.map((o) => `${o.object.kind}/${o.object.metadata.name}`);

describe('a fleet pushed as an OCI artifact from a directory of the repository', () => {
  it('renders the same objects from its Git root as from the pushed directory mapped with --source, and as Flux would', async () => {
    const root = fleet();
    const mapping = `OCIRepository/flux-system/flux-system=${join(root, 'kubernetes')}`;
    const fromGitRoot = await render(['--repo', root, '--path', 'kubernetes/clusters/production']);
    const fromGitRootMapped = await render([
      '--repo',
      root,
      '--path',
      'kubernetes/clusters/production',
      '--source',
      mapping,
    ]);
    const fromSubdirectory = await render([
      '--repo',
      join(root, 'kubernetes'),
      '--path',
      'clusters/production',
      '--source',
      mapping,
    ]);
    for (const r of [fromGitRoot, fromGitRootMapped, fromSubdirectory]) {
      expect(r.out.errors).toEqual([]);
      expect(r.code).toBe(0);
    }
    expect(fromGitRoot.out.objects).toEqual(fromSubdirectory.out.objects);
    expect(fromGitRootMapped.out.objects).toEqual(fromSubdirectory.out.objects);
    // Without --source, the Git root render says where the artifact's paths resolve.
    expect(fromGitRoot.stderr).toContain(
      "OCIRepository flux-system/flux-system: the entry Kustomization's source, read from kubernetes of this checkout",
    );

    const rendered = names(fromGitRoot.out.objects);
    // The root .sourceignore is not the artifact's: secrets/ is pushed whole.
    expect(rendered).toContain('ConfigMap/registry-mirror');
    expect(rendered).toContain('ConfigMap/cluster-config');
    // kubernetes/.sourceignore is the artifact's, scoped to its root.
    expect(rendered).not.toContain('ConfigMap/demo');
    const web = fromGitRoot.out.objects.find((o) => o.object.metadata.name === 'web')!;
    expect(web.owner.name).toBe('apps');
    expect(web.object.data).toEqual({ host: 'web.example.org' });
  });

  it('reads a directory mapped to an OCIRepository as the artifact flux push makes of it and source-controller stores', async () => {
    const root = fleet();
    const host = sharedRegistryHost();
    const ref = `oci://${host}/oci-root/fleet:latest`;
    const pushed = await runCli(
      [
        'push',
        ref,
        '--path',
        join(root, 'kubernetes'),
        '--source',
        'https://github.com/org/fleet',
        '--revision',
        'main@sha1:0000000000000000000000000000000000000000',
      ],
      { env: toolEnv() },
    );
    expect(pushed.stderr).not.toContain('error');
    expect(pushed.code).toBe(0);

    const source: KubeObject = {
      ...OCI_SOURCE,
      spec: { ...OCI_SOURCE.spec, url: `oci://${host}/oci-root/fleet` },
    };
    const resolver = new SourceResolver({
      repo: root,
      mappings: new Map([['OCIRepository/flux-system/mapped', join(root, 'kubernetes')]]),
      lookup: (kind, _ns, name) => (kind === 'OCIRepository' && name === 'flux-system' ? source : undefined),
      findGenerator: () => undefined,
      registry: () => new RegistryClient({ insecure: true, env: toolEnv() }),
      log: silentLogger,
    });
    const files = (dir: string): string[] =>
      readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => relative(dir, join(e.parentPath, e.name)))
        .sort();
    const mapped = files(await resolver.resolve('OCIRepository', 'flux-system', 'mapped'));
    const pulled = files(await resolver.resolve('OCIRepository', 'flux-system', 'flux-system'));
    expect(mapped).toEqual(pulled);
    // flux push drops *.png by default; source-controller drops what kubernetes/.sourceignore names.
    expect(pulled).toEqual([
      '.sourceignore',
      'apps/production/web.yaml',
      'clusters/production/apps.yaml',
      'clusters/production/flux-system/gotk-sync.yaml',
      'clusters/production/flux-system/kustomization.yaml',
      'clusters/production/secrets/cluster-config.yaml',
      'clusters/production/secrets/registry-mirror.yaml',
    ]);
  });

  it('diffs the pushed directory at each side of the change (a changed-only diff builds the owner whose artifact path changed)', async () => {
    const root = fleet();
    const git = (...args: string[]) =>
      execFileSync('git', ['-C', root, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args], {
        stdio: 'ignore',
      });
    git('add', '-A');
    git('commit', '-q', '-m', 'base');
    writeRepo(
      {
        'kubernetes/apps/production/web.yaml':
          'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web, namespace: default}\ndata: {host: "www.${DOMAIN}"}\n',
      },
      root,
    );
    git('commit', '-q', '-am', 'head');
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
        'kubernetes/clusters/production',
        '--format',
        'json',
      ],
      { env: toolEnv() },
    );
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as {
      changes: { action: string; owner: { name: string }; kind: string; name: string; diff: string }[];
    };
    // Base and head each read kubernetes/ at their commit (not the working tree twice).
    expect(out.changes.map((c) => [c.action, c.owner.name, c.kind, c.name])).toEqual([
      ['modified', 'apps', 'ConfigMap', 'web'],
    ]);
    expect(out.changes[0]!.diff).toContain('-  host: web.example.org');
    expect(out.changes[0]!.diff).toContain('+  host: www.example.org');
  });
});
