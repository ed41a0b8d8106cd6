import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { FluxgateError } from '../../errors.js';
import { field, parseObjects } from '../../flux/objects.js';
import { findOnPath, lastLine, offlineEnv, runProcess } from '../process.js';
import type { HelmRenderContext, KubeObject } from '../types.js';
import { resolveChart, type ResolvedChart } from './chart.js';
import { mergeValuesFiles, unpackChart, withChartValues } from './values-files.js';
import { composeValues } from './values.js';

/** Kinds that have no namespace: everything else lands in the release namespace when helm applies it. */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PriorityClass',
  'StorageClass',
  'PersistentVolume',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
  'APIService',
  'IngressClass',
  'RuntimeClass',
  'CSIDriver',
  'VolumeAttachment',
  'ClusterIssuer',
  'GatewayClass',
  'Node',
  'PodSecurityPolicy',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
]);

/** helm-controller's release name: names over 53 characters are cut and suffixed with a hash. */
export function releaseName(release: KubeObject): string {
  const target = field<string>(release, 'spec', 'targetNamespace');
  const name =
    field<string>(release, 'spec', 'releaseName') ||
    (target ? `${target}-${release.metadata.name}` : release.metadata.name);
  if (name.length <= 53) return name;
  return `${name.slice(0, 40)}-${createHash('sha256').update(name).digest('hex').slice(0, 12)}`;
}

/** The chart as source-controller builds it: with valuesFiles, their merge is its values.yaml. */
async function chartWithValuesFiles(chart: ResolvedChart, work: string): Promise<string> {
  const vf = chart.valuesFiles;
  if (!vf) return chart.path;
  const chartDir = chart.path.endsWith('.tgz') ? await unpackChart(chart.path, work) : chart.path;
  const values =
    vf.base === 'source'
      ? mergeValuesFiles(vf.root, vf.files, vf.ignoreMissing, "the chart's source")
      : mergeValuesFiles(chartDir, vf.files, vf.ignoreMissing, 'the chart');
  return withChartValues(chartDir, values, work);
}

/**
 * Renders a HelmRelease as helm-controller installs it: the chart from its source, values in
 * Flux's order, `helm template` (never a post-renderer or plugin), then Flux's post-render chain
 * in-process: postRenderers' kustomize patches and images, commonMetadata, the origin labels.
 */
export async function renderHelmRelease(release: KubeObject, ctx: HelmRenderContext): Promise<KubeObject[]> {
  const what = `HelmRelease ${release.metadata.namespace ?? 'default'}/${release.metadata.name}`;
  const run = ctx.run ?? runProcess;
  const chart = await resolveChart(release, ctx);
  const values = composeValues(release, ctx, what);
  const namespace =
    field<string>(release, 'spec', 'targetNamespace') || release.metadata.namespace || 'default';
  const work = mkdtempSync(join(ctx.workDir ?? tmpdir(), 'helm-'));
  try {
    const valuesFile = join(work, 'values.yaml');
    writeFileSync(valuesFile, stringify(values), { mode: 0o600 });
    // Test hooks run only on `helm test`: helm-controller never applies them on install.
    const chartPath = await chartWithValuesFiles(chart, work);
    const args = ['template', releaseName(release), chartPath, '--namespace', namespace, '--skip-tests'];
    args.push('-f', valuesFile);
    const crds = field<string>(release, 'spec', 'install', 'crds') ?? 'Create';
    if (crds !== 'Skip' && field<boolean>(release, 'spec', 'install', 'skipCRDs') !== true)
      args.push('--include-crds');
    if (field<boolean>(release, 'spec', 'install', 'disableSchemaValidation'))
      args.push('--skip-schema-validation');
    if (field<boolean>(release, 'spec', 'install', 'disableHooks')) args.push('--no-hooks');
    if (ctx.kubeVersion) args.push('--kube-version', ctx.kubeVersion);
    for (const v of ctx.apiVersions) args.push('--api-versions', v);
    const helm = findOnPath('helm', ctx.env) ?? 'helm';
    const result = await run(helm, args, { env: offlineEnv(ctx.env), cwd: work });
    if (result.code !== 0)
      throw new FluxgateError('RENDER', `helm template failed: ${lastLine(result.stderr)}`);
    let manifest = result.stdout;

    for (const renderer of field<{ kustomize?: { patches?: unknown[]; images?: unknown[] } }[]>(
      release,
      'spec',
      'postRenderers',
    ) ?? []) {
      if (!renderer.kustomize) continue;
      manifest = await kustomizePostRender(manifest, renderer.kustomize, work, ctx, run);
    }

    const labels = field<Record<string, string>>(release, 'spec', 'commonMetadata', 'labels') ?? {};
    const annotations = field<Record<string, string>>(release, 'spec', 'commonMetadata', 'annotations') ?? {};
    return parseObjects(manifest, `${what}: helm output`).map((o) => {
      o.metadata = o.metadata ?? ({} as KubeObject['metadata']);
      if (!o.metadata.namespace && !CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = namespace;
      if (Object.keys(annotations).length)
        o.metadata.annotations = { ...o.metadata.annotations, ...annotations };
      o.metadata.labels = {
        ...o.metadata.labels,
        ...labels,
        'helm.toolkit.fluxcd.io/name': release.metadata.name,
        'helm.toolkit.fluxcd.io/namespace': release.metadata.namespace ?? 'default',
      };
      return o;
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** A postRenderers[].kustomize step: patches and images over the helm output, by kustomize alone. */
async function kustomizePostRender(
  manifest: string,
  spec: { patches?: unknown[]; images?: unknown[] },
  work: string,
  ctx: HelmRenderContext,
  run: NonNullable<HelmRenderContext['run']>,
): Promise<string> {
  const dir = mkdtempSync(join(work, 'post-render-'));
  writeFileSync(join(dir, 'helm-output.yaml'), manifest);
  const kustomization: Record<string, unknown> = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: ['helm-output.yaml'],
  };
  if (spec.patches?.length) kustomization.patches = spec.patches;
  if (spec.images?.length) kustomization.images = spec.images;
  writeFileSync(join(dir, 'kustomization.yaml'), stringify(kustomization));
  const kustomize = findOnPath('kustomize', ctx.env);
  const [command, args] = kustomize ? [kustomize, ['build', dir]] : ['kubectl', ['kustomize', dir]];
  const result = await run(command, args, { env: offlineEnv(ctx.env) });
  if (result.code !== 0)
    throw new FluxgateError('RENDER', `postRenderers kustomize failed: ${lastLine(result.stderr)}`);
  return result.stdout;
}
