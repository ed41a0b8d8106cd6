/**
 * HelmChart `valuesFiles`, as source-controller builds the chart: the listed files, merged in
 * order, become the chart's values.yaml (the chart's own defaults count only when `values.yaml`
 * is listed). Paths are in the Git source for charts from a GitRepository, in the chart for
 * charts from a HelmRepository.
 */
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isWithin } from '../confine.js';
import { parse as parseYaml, stringify } from 'yaml';
import { extractLayer } from '../../oci/artifact/untar.js';

type Values = Record<string, unknown>;

const isMap = (v: unknown): v is Values => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Maps merge key by key, recursively; anything else in `over` replaces what is in `base`. */
export function mergeMaps(base: Values, over: Values): Values {
  const out: Values = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isMap(v) && isMap(b) ? mergeMaps(b, v) : v;
  }
  return out;
}

function readValues(file: string, reference: string): Values {
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(
      `unmarshaling values from '${reference}' failed: ${(err as Error).message.split('\n')[0]}`,
    );
  }
  if (parsed == null) return {};
  if (!isMap(parsed)) throw new Error(`unmarshaling values from '${reference}' failed: not a map`);
  return parsed;
}

/**
 * A path inside `base` (never outside it, as securejoin keeps it), or undefined when it isn't a
 * file there; a symlink leading out of `base` is not followed.
 */
function fileWithin(base: string, reference: string): string | undefined {
  const path = resolve(base, reference.replace(/^\/+/, ''));
  if (!isWithin(base, path) || !existsSync(path) || !statSync(path).isFile()) return undefined;
  return isWithin(realpathSync(base), realpathSync(path)) ? path : undefined;
}

/**
 * Merges values files in order; `base` is the Git source's root for charts from a GitRepository,
 * the chart's directory for packaged charts (where `values.yaml` is the chart's own defaults).
 */
export function mergeValuesFiles(
  base: string,
  references: string[],
  ignoreMissing: boolean,
  where: string,
): Values {
  let merged: Values = {};
  for (const reference of references) {
    const file = fileWithin(base, reference);
    if (!file) {
      if (ignoreMissing) continue;
      throw new Error(`no values file found at path '${reference}' in ${where}`);
    }
    merged = mergeMaps(merged, readValues(file, reference));
  }
  return merged;
}

/** A packaged chart (.tgz) unpacked into `workDir`; returns the chart's directory. */
export async function unpackChart(tgz: string, workDir: string): Promise<string> {
  const dir = mkdtempSync(join(workDir, 'chart-'));
  await extractLayer(await readFile(tgz), dir, tgz);
  const top = readdirSync(dir, { withFileTypes: true }).find(
    (e) => e.isDirectory() && existsSync(join(dir, e.name, 'Chart.yaml')),
  );
  if (!top) throw new Error(`${tgz}: no Chart.yaml in the chart archive`);
  return join(dir, top.name);
}

/**
 * A copy of the chart directory whose values.yaml is `values`, as the built chart has it. The
 * copy holds no symlinks, and values.yaml is a new file: nothing is written through a link.
 */
export function withChartValues(chartDir: string, values: Values, workDir: string): string {
  const copy = join(mkdtempSync(join(workDir, 'chart-values-')), 'chart');
  cpSync(chartDir, copy, { recursive: true, filter: (src) => !lstatSync(src).isSymbolicLink() });
  const file = join(copy, 'values.yaml');
  rmSync(file, { force: true });
  writeFileSync(file, stringify(values), { flag: 'wx' });
  return copy;
}
