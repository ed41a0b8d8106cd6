/**
 * The d2 reference architecture's pattern (controlplaneio-fluxcd/d2-fleet), rendered with real
 * kustomize and helm: a cluster bootstrapped by a FluxInstance syncing an OCIRepository path,
 * tenants declared by a ResourceSet with inline inputs and a static ResourceSetInputProvider
 * selected by label, each tenant getting RBAC, a verified OCIRepository, a Kustomization and a
 * HelmRelease. The tenants' own artifacts are mapped to fixture directories with --source.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { FIXTURES } from '../support/tools.js';

const FLEET = join(FIXTURES, 'flux-operator', 'd2-fleet');
const APPS = join(FIXTURES, 'flux-operator', 'd2-apps');
const TENANTS = ['frontend', 'backend', 'payments'];

interface Owner {
  kind: string;
  namespace: string;
  name: string;
}
interface Rendered {
  owner: Owner;
  object: { apiVersion: string; kind: string; metadata: Record<string, any>; [k: string]: any };
}

let result: { objects: Rendered[]; errors: unknown[]; warnings: { message: string }[]; suspended: Owner[] };
let stderr: string;
let code: number;

const find = (kind: string, namespace: string, name: string) =>
  result.objects.filter(
    (o) =>
      o.object.kind === kind &&
      (o.object.metadata.namespace ?? '') === namespace &&
      o.object.metadata.name === name,
  );
const ownerOf = (kind: string, namespace: string, name: string) => {
  const found = find(kind, namespace, name);
  expect(found).toHaveLength(1);
  return `${found[0]!.owner.kind}/${found[0]!.owner.namespace}/${found[0]!.owner.name}`;
};

beforeAll(async () => {
  const r = await runCli([
    'render',
    '--repo',
    FLEET,
    '--path',
    'clusters/staging',
    '--format',
    'json',
    ...TENANTS.flatMap((t) => ['--source', `OCIRepository/${t}/apps=${join(APPS, t)}`]),
  ]);
  code = r.code;
  stderr = r.stderr;
  result = JSON.parse(r.stdout);
}, 300000);

describe('fluxgate render of a Flux Operator fleet (d2 pattern)', () => {
  it('renders without errors', () => {
    expect(result.errors).toEqual([]);
    expect(code).toBe(0);
  });

  it('expands the ResourceSet for every tenant: inline inputs and the selected static provider only', () => {
    const namespaces = result.objects
      .filter((o) => o.object.kind === 'Namespace' && o.owner.kind === 'ResourceSet')
      .map((o) => o.object.metadata.name)
      .sort();
    expect(namespaces).toEqual([...TENANTS].sort());
    // The provider labelled for another ResourceSet generates nothing here.
    expect(
      result.objects.some(
        (o) => o.owner.kind === 'ResourceSet' && JSON.stringify(o.object).includes('legacy'),
      ),
    ).toBe(false);
  });

  it.each(TENANTS)(
    'gives tenant %s every generated object, owned by the ResourceSet, with its labels',
    (t) => {
      for (const [kind, name] of [
        ['Namespace', t],
        ['ConfigMap', 'flux-runtime-info'],
        ['Secret', 'registry-auth'],
        ['ServiceAccount', 'flux'],
        ['RoleBinding', 'flux'],
        ['OCIRepository', 'apps'],
        ['Kustomization', 'apps'],
        ['HelmRelease', 'quota'],
      ]) {
        const ns = kind === 'Namespace' ? '' : t;
        expect(ownerOf(kind!, ns, name!)).toBe('ResourceSet/flux-system/apps');
        const [o] = find(kind!, ns, name!);
        expect(o!.object.metadata.labels).toMatchObject({
          'resourceset.fluxcd.controlplane.io/name': 'apps',
          'resourceset.fluxcd.controlplane.io/namespace': 'flux-system',
          'fleet.example.com/managed-by': 'apps',
        });
      }
      const [oci] = find('OCIRepository', t, 'apps');
      // Templated after the parent Kustomization substituted ${ARTIFACT_TAG}; the provider's tag as given.
      expect(oci!.object.spec.ref).toEqual({ tag: t === 'payments' ? '2.1.0' : 'latest-stable' });
      expect(oci!.object.spec.url).toBe(`oci://registry.example.com/acme/apps/${t}`);
      expect(oci!.object.spec.verify.matchOIDCIdentity).toEqual([
        {
          issuer: '^https://token\\.actions\\.githubusercontent\\.com$',
          subject: `^https://github\\.com/acme/${t}/\\.github/workflows/release\\.yaml@refs/heads/main$`,
        },
      ]);
      // copyFrom of an object the render knows: the data is there.
      const [info] = find('ConfigMap', t, 'flux-runtime-info');
      expect(info!.object.data).toEqual({
        ENVIRONMENT: 'staging',
        ARTIFACT_TAG: 'latest-stable',
        CLUSTER_DOMAIN: 'staging.example.com',
      });
    },
  );

  it.each(TENANTS)('builds tenant %s’s generated Kustomization and templates its HelmRelease', (t) => {
    // Built from the tenant's artifact, its variables from the copied ConfigMap.
    expect(ownerOf('Deployment', t, t)).toBe(`Kustomization/${t}/apps`);
    expect(find('Deployment', t, t)[0]!.object.metadata.labels.environment).toBe('staging');
    expect(ownerOf('ResourceQuota', t, `${t}-quota`)).toBe(`HelmRelease/${t}/quota`);
  });

  it('keeps the owner chain: each object leads back to the cluster entry through the objects that apply it', () => {
    const chain = (kind: string, ns: string, name: string): string[] => {
      const owner = find(kind, ns, name)[0]!.owner;
      if (owner.kind === 'Kustomization' && owner.name === 'flux-system')
        return ['Kustomization/flux-system/flux-system'];
      return [
        `${owner.kind}/${owner.namespace}/${owner.name}`,
        ...chain(owner.kind, owner.namespace, owner.name),
      ];
    };
    expect(chain('Deployment', 'frontend', 'frontend')).toEqual([
      'Kustomization/frontend/apps',
      'ResourceSet/flux-system/apps',
      'Kustomization/flux-system/tenants',
      'Kustomization/flux-system/flux-system',
    ]);
  });

  it('renders the FluxInstance sync source and says, once, that the controllers are not rendered offline', () => {
    expect(ownerOf('OCIRepository', 'flux-system', 'flux-system')).toBe('FluxInstance/flux-system/flux');
    const [source] = find('OCIRepository', 'flux-system', 'flux-system');
    expect(source!.object.spec).toEqual({
      interval: '1m',
      ref: { tag: 'latest' },
      secretRef: { name: 'registry-auth' },
      url: 'oci://registry.example.com/acme/fleet',
      // The FluxInstance's spec.kustomize.patches, laid over it by kustomize.
      verify: {
        provider: 'cosign',
        matchOIDCIdentity: [
          {
            issuer: '^https://token\\.actions\\.githubusercontent\\.com$',
            subject:
              '^https://github\\.com/acme/fleet/\\.github/workflows/push-artifact\\.yaml@refs/heads/main$',
          },
        ],
      },
    });
    expect(stderr.match(/not rendered offline/g)).toHaveLength(1);
    expect(stderr).not.toMatch(/^error/m);
  });

  it('reports a copyFrom of an object only the cluster has as in-cluster only, per copy', () => {
    const copies = result.warnings.filter((w) =>
      w.message.includes('copies Secret flux-system/registry-auth in-cluster only'),
    );
    expect(copies).toHaveLength(TENANTS.length);
  });

  it('marks the suspended Kustomization', () => {
    expect(result.suspended).toEqual([
      { kind: 'Kustomization', namespace: 'flux-system', name: 'monitoring' },
    ]);
    expect(ownerOf('ConfigMap', 'monitoring', 'alert-rules')).toBe('Kustomization/flux-system/monitoring');
  });

  it('from a bootstrap directory whose FluxInstance syncs another path, says which path to render', async () => {
    const r = await runCli([
      'render',
      '--repo',
      FLEET,
      '--path',
      'clusters/staging/flux-system',
      '--format',
      'json',
    ]);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.errors).toEqual([]);
    expect(json.notices.map((n: { message: string }) => n.message)).toContain(
      'FluxInstance flux-system/flux: syncs path clusters/staging, not --path clusters/staging/flux-system; render --path clusters/staging for what the cluster applies',
    );
  });
});
