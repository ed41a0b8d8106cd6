import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { field } from '../../flux/objects.js';
import { exactVersion, highestSatisfying } from '../../flux/versions.js';
import { resolveOciRef } from '../../flux/oci-ref.js';
import { RegistryClient } from '../../oci/client.js';
import { HELM_CHART_CONTENT } from '../../oci/media-types.js';
import { boundedGet } from '../../util/http.js';
import { parseOciReference } from '../../oci/reference.js';
import type { HelmRenderContext, KubeObject } from '../types.js';

/** A chart ready for `helm template`: a directory or a .tgz on disk. */
export interface ResolvedChart {
  path: string;
  /**
   * HelmChart `valuesFiles`: where they are read from (the Git source's root, or the chart
   * itself) and the files; merged, they replace the chart's values.yaml.
   */
  valuesFiles?: { base: 'source' | 'chart'; root: string; files: string[]; ignoreMissing: boolean };
}

interface ChartTemplate {
  chart: string;
  version?: string;
  sourceRef: { kind: string; name: string; namespace?: string };
  valuesFiles?: string[];
  ignoreMissingValuesFiles?: boolean;
}

/** Fetches each chart once per run: concurrent HelmReleases on one chart share the download. */
function once(ctx: HelmRenderContext, key: string, fetch: () => Promise<string>): Promise<string> {
  const cache = ctx.chartCache;
  if (!cache) return fetch();
  let p = cache.get(key);
  if (!p) {
    p = fetch();
    cache.set(key, p);
  }
  return p;
}

export async function resolveChart(release: KubeObject, ctx: HelmRenderContext): Promise<ResolvedChart> {
  const namespace = release.metadata.namespace || 'default';
  const chartRef = field<{ kind: string; name: string; namespace?: string }>(release, 'spec', 'chartRef');
  if (chartRef) {
    const ns = chartRef.namespace || namespace;
    if (chartRef.kind === 'OCIRepository') return { path: await ociRepositoryChart(ns, chartRef.name, ctx) };
    if (chartRef.kind === 'HelmChart') {
      const chart = ctx.lookup('HelmChart', ns, chartRef.name);
      if (!chart) throw new Error(`chartRef HelmChart ${ns}/${chartRef.name} not found in the rendered tree`);
      return templateChart(field<ChartTemplate>(chart, 'spec')!, ns, ctx);
    }
    if (chartRef.kind === 'ExternalArtifact') {
      return { path: await ctx.sourceDir('ExternalArtifact', ns, chartRef.name) };
    }
    throw new Error(`chartRef kind ${chartRef.kind} is not supported`);
  }
  const template = field<ChartTemplate>(release, 'spec', 'chart', 'spec');
  if (!template?.chart || !template.sourceRef?.name)
    throw new Error('spec.chart.spec.chart and sourceRef are required');
  return templateChart(template, namespace, ctx);
}

async function templateChart(
  template: ChartTemplate,
  namespace: string,
  ctx: HelmRenderContext,
): Promise<ResolvedChart> {
  const ns = template.sourceRef.namespace || namespace;
  const source = `${template.sourceRef.kind} ${ns}/${template.sourceRef.name}`;
  switch (template.sourceRef.kind) {
    case 'GitRepository': {
      const root = await ctx.sourceDir('GitRepository', ns, template.sourceRef.name);
      const path = resolve(root, template.chart);
      if (!path.startsWith(root + sep) || !existsSync(join(path, 'Chart.yaml'))) {
        throw new Error(`chart ${template.chart} not found in ${source}`);
      }
      return {
        path,
        valuesFiles: template.valuesFiles?.length
          ? {
              base: 'source',
              root,
              files: template.valuesFiles,
              ignoreMissing: template.ignoreMissingValuesFiles === true,
            }
          : undefined,
      };
    }
    case 'HelmRepository': {
      const repo = ctx.lookup('HelmRepository', ns, template.sourceRef.name);
      if (!repo) throw new Error(`${source} not found in the rendered tree`);
      const url = field<string>(repo, 'spec', 'url') ?? '';
      const path =
        field<string>(repo, 'spec', 'type') === 'oci'
          ? await ociRepoChart(
              url,
              template.chart,
              template.version || '*',
              field<boolean>(repo, 'spec', 'insecure') === true,
              ctx,
            )
          : await httpRepoChart(url, template.chart, template.version || '*', ctx, source);
      return {
        path,
        valuesFiles: template.valuesFiles?.length
          ? {
              base: 'chart',
              root: path,
              files: template.valuesFiles,
              ignoreMissing: template.ignoreMissingValuesFiles === true,
            }
          : undefined,
      };
    }
    case 'Bucket':
      throw new Error(`charts from Bucket sources (${source}) are not supported`);
    default:
      throw new Error(`unsupported chart source kind ${template.sourceRef.kind}`);
  }
}

function mirrored(url: string, mirrors: Map<string, string>): string {
  const norm = (u: string) => u.replace(/\/+$/, '');
  for (const [from, to] of mirrors) {
    if (norm(url) === norm(from) || url.startsWith(norm(from) + '/'))
      return norm(to) + url.slice(norm(from).length);
  }
  return url;
}

async function httpRepoChart(
  url: string,
  chart: string,
  range: string,
  ctx: HelmRenderContext,
  source: string,
): Promise<string> {
  const repoUrl = mirrored(url, ctx.helmRepoMirrors).replace(/\/+$/, '');
  const indexText = await once(ctx, `index|${repoUrl}`, async () =>
    (await fetchLimited(`${repoUrl}/index.yaml`, MAX_INDEX_SIZE, `${url}/index.yaml`)).toString('utf8'),
  );
  const index = parseYaml(indexText) as {
    entries?: Record<string, { version: string; urls: string[]; digest?: string }[]>;
  };
  const entries = index.entries?.[chart] ?? [];
  if (!entries.length) throw new Error(`chart ${chart} not found in ${source} (${url})`);
  // Helm reads the constraint with Masterminds/semver (`>=1.0.0, <2.0.0`): see flux/versions.ts.
  const version = highestSatisfying(
    entries.map((e) => e.version),
    range,
  );
  if (!version) throw new Error(`no chart version of ${chart} matches '${range}' in ${source}`);
  const entry = entries.find((e) => e.version === version)!;
  const chartUrl = mirrored(new URL(entry.urls[0]!, `${repoUrl}/`).href, ctx.helmRepoMirrors);
  return once(ctx, `chart|${chartUrl}`, async () =>
    storeChart(
      ctx,
      await fetchLimited(chartUrl, MAX_CHART_SIZE, `chart ${chart} ${version} (${chartUrl})`),
      chart,
    ),
  );
}

/**
 * source-controller's defaults for what a chart repository may send (`--helm-index-max-size`
 * 50 MiB, `--helm-chart-max-size` 10 MiB; internal/helm/helm.go MaxIndexSize, MaxChartSize).
 */
export const MAX_INDEX_SIZE = 50 * 1024 * 1024;
export const MAX_CHART_SIZE = 10 * 1024 * 1024;

/** A chart repository GET within its size cap, the request deadlines and the run's --timeout. */
async function fetchLimited(url: string, max: number, what: string): Promise<Buffer> {
  try {
    return await boundedGet(url, max);
  } catch (err) {
    const cause = (err as Error & { cause?: Error }).cause;
    throw new Error(`cannot fetch ${what}: ${cause?.message ?? (err as Error).message}`);
  }
}

/** Charts are kept by digest in the cache directory (the action can persist it). */
function storeChart(ctx: HelmRenderContext, bytes: Buffer, chart: string): string {
  mkdirSync(ctx.cacheDir, { recursive: true });
  const digest = createHash('sha256').update(bytes).digest('hex');
  const file = join(ctx.cacheDir, `${chart.replace(/[^\w.-]/g, '_')}-${digest.slice(0, 16)}.tgz`);
  if (!existsSync(file)) writeFileSync(file, bytes);
  return file;
}

function client(ctx: HelmRenderContext, insecure: boolean): RegistryClient {
  return ctx.registry
    ? ctx.registry(insecure)
    : new RegistryClient({
        insecure: insecure || ctx.insecureRegistry,
        creds: ctx.creds,
        env: ctx.env,
        log: ctx.log,
        mirrors: ctx.registryMirrors,
      });
}

async function ociRepoChart(
  url: string,
  chart: string,
  range: string,
  insecure: boolean,
  ctx: HelmRenderContext,
): Promise<string> {
  const ref = parseOciReference(`${url.replace(/\/+$/, '')}/${chart}`);
  const exact = exactVersion(range);
  const spec = exact ? { tag: exact.replace(/\+/g, '_') } : { semver: range === '*' ? '*' : range };
  return pullChart(ref.registry, ref.repository, spec, insecure, ctx);
}

async function ociRepositoryChart(namespace: string, name: string, ctx: HelmRenderContext): Promise<string> {
  const source = ctx.lookup('OCIRepository', namespace, name);
  if (!source) throw new Error(`chartRef OCIRepository ${namespace}/${name} not found in the rendered tree`);
  const ref = parseOciReference(field<string>(source, 'spec', 'url') ?? '');
  return pullChart(
    ref.registry,
    ref.repository,
    field(source, 'spec', 'ref') ?? {},
    field<boolean>(source, 'spec', 'insecure') === true,
    ctx,
  );
}

async function pullChart(
  registry: string,
  repository: string,
  ref: { tag?: string; semver?: string; digest?: string; semverFilter?: string },
  insecure: boolean,
  ctx: HelmRenderContext,
): Promise<string> {
  const c = client(ctx, insecure);
  const resolved = await resolveOciRef(c, registry, repository, ref, { helmTags: true });
  return once(ctx, `oci|${registry}/${repository}@${resolved.digest}`, async () => {
    const { manifest } = await c.getManifest(registry, repository, resolved.digest);
    const layer = ((manifest.layers ?? []) as { mediaType: string; digest: string }[]).find(
      (l) => l.mediaType === HELM_CHART_CONTENT,
    );
    if (!layer) throw new Error(`${registry}/${repository}@${resolved.digest} has no Helm chart layer`);
    return storeChart(
      ctx,
      await c.getBlob(registry, repository, layer.digest, MAX_CHART_SIZE),
      repository.split('/').pop()!,
    );
  });
}
