import { rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { FluxgateError } from '../../errors.js';
import { field, isClusterScoped, parseObjects } from '../../flux/objects.js';
import { confineChart, confineKustomization, ConfinementError, quoted } from '../confine.js';
import { findOnPath, lastLine, runProcess, runTool, type ProcessRunner } from '../process.js';
import type { HelmRenderContext, KubeObject } from '../types.js';
import { resolveChart, type ResolvedChart } from './chart.js';
import { mergeValuesFiles, unpackChart, withChartValues } from './values-files.js';
import { composeValues } from './values.js';
import { blobId } from '../cache.js';

const versions = new Map<string, Promise<string>>();

/** The helm that renders, as a cache key names it (`helm version`, once per binary and process). */
export function helmVersion(run: ProcessRunner, env: NodeJS.ProcessEnv): Promise<string> {
  const binary = findOnPath('helm', env) ?? 'helm';
  let version = versions.get(binary);
  if (!version) {
    version = runTool(run, 'helm', ['version', '--template', '{{.Version}} {{.GitCommit}}'], { env }).then(
      (r) => {
        if (r.code !== 0) throw new FluxgateError('RENDER', `helm version failed: ${lastLine(r.stderr)}`);
        return `helm ${r.stdout.trim()}`;
      },
    );
    versions.set(binary, version);
  }
  return version;
}

/** Helm's release name rule (pkg/chartutil ValidateReleaseName): a DNS-1123 subdomain, at most 53 characters. */
const RELEASE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** A namespace name: a DNS-1123 label. */
const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * helm-controller's release name (HelmRelease.GetReleaseName, then release.ShortenName): the
 * spec's releaseName (the CRD caps it at 53 characters), else `[targetNamespace-]name`, cut to
 * 40 characters and suffixed with a hash when longer than 53. Validated as Helm validates it,
 * so no field of a manifest can become an option of `helm`.
 */
export function releaseName(release: KubeObject): string {
  const target = field<string>(release, 'spec', 'targetNamespace');
  const explicit = field<unknown>(release, 'spec', 'releaseName');
  if (explicit !== undefined && explicit !== '' && (typeof explicit !== 'string' || explicit.length > 53))
    throw new FluxgateError(
      'RENDER',
      `spec.releaseName ${quoted(String(explicit))} is longer than 53 characters`,
    );
  let name =
    (explicit as string) || (target ? `${target}-${release.metadata.name}` : String(release.metadata.name));
  if (name.length > 53)
    name = `${name.slice(0, 40)}-${createHash('sha256').update(name).digest('hex').slice(0, 12)}`;
  if (!RELEASE_NAME.test(name))
    throw new FluxgateError(
      'RENDER',
      `${explicit ? 'spec.releaseName' : 'release name'} ${quoted(name)} is invalid: a Helm release name is a DNS-1123 subdomain of at most 53 characters`,
    );
  return name;
}

/** The namespace helm renders into: spec.targetNamespace or the object's, a DNS-1123 label. */
function releaseNamespace(release: KubeObject): string {
  const target = field<unknown>(release, 'spec', 'targetNamespace');
  const namespace = target || release.metadata.namespace || 'default';
  if (typeof namespace !== 'string' || namespace.length > 63 || !NAMESPACE_NAME.test(namespace))
    throw new FluxgateError(
      'RENDER',
      `${target ? 'spec.targetNamespace' : 'metadata.namespace'} ${quoted(String(namespace))} is not a valid namespace name (DNS-1123 label)`,
    );
  return namespace;
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
  const namespace = releaseNamespace(release);
  const name = releaseName(release);
  const chart = await resolveChart(release, ctx);
  const values = composeValues(release, ctx, what);
  const work = mkdtempSync(join(ctx.workDir ?? tmpdir(), 'helm-'));
  try {
    const valuesFile = join(work, 'values.yaml');
    writeFileSync(valuesFile, stringify(values), { mode: 0o600 });
    // Test hooks run only on `helm test`: helm-controller never applies them on install.
    const chartPath = await chartWithValuesFiles(chart, work);
    try {
      if (!chartPath.endsWith('.tgz')) confineChart(chartPath);
    } catch (err) {
      if (err instanceof ConfinementError) throw new FluxgateError('RENDER', err.message);
      throw err;
    }
    const args = ['template', `--namespace=${namespace}`, '--skip-tests', '--values', valuesFile];
    const flags: string[] = [];
    const crds = field<string>(release, 'spec', 'install', 'crds') ?? 'Create';
    if (crds !== 'Skip' && field<boolean>(release, 'spec', 'install', 'skipCRDs') !== true)
      flags.push('--include-crds');
    if (field<boolean>(release, 'spec', 'install', 'disableSchemaValidation'))
      flags.push('--skip-schema-validation');
    if (field<boolean>(release, 'spec', 'install', 'disableHooks')) flags.push('--no-hooks');
    if (ctx.kubeVersion) flags.push('--kube-version', ctx.kubeVersion);
    for (const v of ctx.apiVersions) flags.push('--api-versions', v);
    args.push(...flags, '--', name, chartPath);
    const postRenderers =
      field<{ kustomize?: { patches?: unknown[]; images?: unknown[] } }[]>(
        release,
        'spec',
        'postRenderers',
      ) ?? [];
    const build = async () => {
      const result = await runTool(run, 'helm', args, { env: ctx.env, cwd: work, home: ctx.toolHome });
      if (result.code !== 0)
        throw new FluxgateError('RENDER', `helm template failed: ${lastLine(result.stderr)}`);
      let output = result.stdout;
      for (const renderer of postRenderers) {
        if (!renderer.kustomize) continue;
        output = await kustomizePostRender(output, renderer.kustomize, work, ctx, run);
      }
      return output;
    };
    // Everything the output depends on: the chart's content, the values, the flags, the release.
    const chartId = ctx.buildOutput ? chartContentId(chartPath) : undefined;
    const manifest =
      ctx.buildOutput && chartId
        ? await ctx.buildOutput(
            {
              chart: chartId,
              values: stringify(values),
              flags,
              namespace,
              name,
              postRenderers: postRenderers.filter((r) => r.kustomize),
            },
            build,
          )
        : await build();

    const labels = field<Record<string, string>>(release, 'spec', 'commonMetadata', 'labels') ?? {};
    const annotations = field<Record<string, string>>(release, 'spec', 'commonMetadata', 'annotations') ?? {};
    return parseObjects(manifest, `${what}: helm output`).map((o) => {
      o.metadata = o.metadata ?? ({} as KubeObject['metadata']);
      if (!o.metadata.namespace && !isClusterScoped(o.kind)) o.metadata.namespace = namespace;
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
    // Asynchronously: other builds start while this one's scratch (in no source) is deleted.
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Inline kustomize patches (with targets) over a multi-document manifest, by kustomize alone:
 * also how the Flux Operator lays a FluxInstance's `spec.kustomize.patches` over what it
 * generates (flux-operator internal/builder/build.go).
 */
export function kustomizePatches(
  manifest: string,
  patches: unknown[],
  work: string,
  env: NodeJS.ProcessEnv,
  run: NonNullable<HelmRenderContext['run']>,
  toolHome?: HelmRenderContext['toolHome'],
): Promise<string> {
  return kustomizePostRender(manifest, { patches }, work, { env, toolHome }, run);
}

/**
 * A chart's content id: its archive's digest, or the blob ids of every file of its directory.
 * Undefined (not reusable) when the chart reads files outside itself (a `file://` dependency).
 */
function chartContentId(path: string): string | undefined {
  if (path.endsWith('.tgz')) return `sha256:${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
  const files: [string, string][] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(path, dir), { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    )) {
      const rel = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (!walk(rel)) return false;
      } else if (entry.isFile()) files.push([rel, blobId(readFileSync(join(path, rel)))]);
      else return false;
    }
    return true;
  };
  if (walk('') === false) return undefined;
  for (const meta of ['Chart.yaml', 'requirements.yaml']) {
    if (existsSync(join(path, meta)) && readFileSync(join(path, meta), 'utf8').includes('file://'))
      return undefined;
  }
  return createHash('sha256').update(JSON.stringify(files)).digest('hex');
}

/** A postRenderers[].kustomize step: patches and images over the helm output, by kustomize alone. */
async function kustomizePostRender(
  manifest: string,
  spec: { patches?: unknown[]; images?: unknown[] },
  work: string,
  ctx: Pick<HelmRenderContext, 'env' | 'toolHome'>,
  run: NonNullable<HelmRenderContext['run']>,
): Promise<string> {
  const dir = mkdtempSync(join(work, 'post-render-'));
  writeFileSync(join(dir, 'helm-output.yaml'), manifest);
  const kustomization: Record<string, unknown> = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: ['helm-output.yaml'],
  };
  // helm-controller's Kustomize post-renderer: inline patches with targets, and images; nothing
  // else of the HelmRelease reaches kustomize (a `path:` would be a file to read).
  if (spec.patches?.length)
    kustomization.patches = spec.patches.map((p) => {
      const { patch, target } = (p ?? {}) as { patch?: unknown; target?: unknown };
      return target === undefined ? { patch } : { patch, target };
    });
  if (spec.images?.length) kustomization.images = spec.images;
  try {
    confineKustomization(dir, dir, kustomization, 'spec.postRenderers');
  } catch (err) {
    if (err instanceof ConfinementError) throw new FluxgateError('RENDER', err.message);
    throw err;
  }
  writeFileSync(join(dir, 'kustomization.yaml'), stringify(kustomization));
  const [tool, args] = findOnPath('kustomize', ctx.env)
    ? ['kustomize', ['build', '--', dir]]
    : ['kubectl', ['kustomize', '--', dir]];
  const result = await runTool(run, tool, args, { env: ctx.env, home: ctx.toolHome });
  if (result.code !== 0)
    throw new FluxgateError('RENDER', `postRenderers kustomize failed: ${lastLine(result.stderr)}`);
  return result.stdout;
}
