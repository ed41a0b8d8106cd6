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
});
