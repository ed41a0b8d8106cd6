/**
 * Cases where a real fleet rendered differently from Flux; each expectation names the upstream
 * code it follows.
 */
import { describe, expect, it } from '@jest/globals';
import { runCli } from '../support/cli.js';
import { fluxKustomization, writeRepo } from '../support/repo.js';

interface Rendered {
  objects: { owner: { kind: string; name: string }; object: Record<string, any> }[];
  errors: { owner: { name: string }; message: string }[];
  warnings: { owner: { name: string }; message: string }[];
}

async function render(
  root: string,
  path = 'clusters/dev',
): Promise<{ code: number; out: Rendered; stderr: string }> {
  const r = await runCli(['render', '--format', 'json', '--repo', root, '--path', path]);
  return { code: r.code, out: JSON.parse(r.stdout) as Rendered, stderr: r.stderr };
}

describe('fidelity on real fleets', () => {
  it('warns on both owners when two Kustomizations apply one object (both controllers would claim it), and still renders', async () => {
    const release = [
      'apiVersion: helm.toolkit.fluxcd.io/v2',
      'kind: HelmRelease',
      'metadata: {name: podinfo, namespace: apps}',
      'spec: {interval: 1m, chartRef: {kind: OCIRepository, name: podinfo}}',
    ].join('\n');
    const root = writeRepo({
      'clusters/dev/kustomization.yaml': 'resources: [../../apps/podinfo/release.yaml, apps.yaml]\n',
      'clusters/dev/apps.yaml': fluxKustomization('apps', './apps/podinfo'),
      'apps/podinfo/release.yaml': release,
    });
    const { out, stderr } = await render(root);
    const twice = out.objects.filter((o) => o.object.kind === 'HelmRelease');
    expect(twice.map((o) => o.owner.name).sort()).toEqual(['apps', 'flux-system']);
    expect(out.warnings.map((w) => w.owner.name).sort()).toEqual(['apps', 'flux-system']);
    expect(out.warnings[0]!.message).toContain(
      'HelmRelease apps/podinfo is also applied by Kustomization flux-system/',
    );
    expect(stderr).toContain('the owners would fight over it');
  });

  it('fails a generated kustomization on a YAML file that is not a Kubernetes object, as kustomize-controller does (fluxcd/pkg scanManifests, kyaml GetMeta)', async () => {
    const root = writeRepo({
      'clusters/dev/app.yaml': fluxKustomization('app', './apps/web'),
      'apps/web/deploy.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n',
      'apps/web/values.yaml': 'replicas: 3\n',
      'apps/web/notes.txt': 'not yaml, never read',
    });
    const { code, out } = await render(root);
    expect(code).toBe(1);
    expect(out.errors).toHaveLength(1);
    expect(out.errors[0]!.owner.name).toBe('app');
    expect(out.errors[0]!.message).toContain(
      'failed to decode Kubernetes YAML from apps/web/values.yaml: missing Resource metadata',
    );
  });

  it('annotates objects with their origin when an existing kustomization has no resources, as the controller sets buildMetadata then (fluxcd/pkg GenerateManifest)', async () => {
    const root = writeRepo({
      'clusters/dev/apps.yaml': [
        fluxKustomization('generated', './apps/generated'),
        fluxKustomization('listed', './apps/listed'),
      ].join('\n---\n'),
      'apps/generated/kustomization.yaml':
        'configMapGenerator: [{name: settings, literals: [a=b], options: {disableNameSuffixHash: true}}]\n',
      'apps/listed/kustomization.yaml': 'resources: [cm.yaml]\n',
      'apps/listed/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: listed}\n',
    });
    const { code, out } = await render(root);
    expect(out.errors).toEqual([]);
    expect(code).toBe(0);
    const byName = new Map(out.objects.map((o) => [o.object.metadata.name as string, o.object]));
    expect(byName.get('settings')!.metadata.annotations['config.kubernetes.io/origin']).toContain(
      'configuredIn: kustomization.yaml',
    );
    expect(byName.get('listed')!.metadata.annotations?.['config.kubernetes.io/origin']).toBeUndefined();
  });
});
