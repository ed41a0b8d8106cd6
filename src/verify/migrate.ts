/**
 * `fluxgate migrate`: deprecated and removed Flux API versions rewritten in place, as
 * `flux migrate -f` does (flux2 cmd/flux/migrate.go), with the version table `verify` checks
 * against (api-versions.ts). Only the apiVersion scalar changes: its source range, as the `yaml`
 * library parsed it, is rewritten and every other byte (comments, quotes, flow style, key order,
 * `---` separators, CRLF line ends) is left as it was.
 */
import { lstatSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { isMap, isScalar, LineCounter, parseAllDocuments, type Document } from 'yaml';
import { FluxgateError } from '../errors.js';
import type { Logger } from '../log.js';
import { apiVersionStatus, isDeprecatedBy, NEWEST_FLUX } from './api-versions.js';
import type { Finding } from './policy.js';

export interface ApiMigration {
  /** Repository-relative path, `/`-separated. */
  file: string;
  /** 1-based line of the apiVersion value. */
  line: number;
  kind: string;
  name: string;
  from: string;
  to: string;
  /** The whole line after the edit (without its line end): a GitHub suggestion's body. */
  after: string;
}

interface Edit {
  start: number;
  end: number;
  text: string;
  migration: Omit<ApiMigration, 'file' | 'after'>;
}

/** The edits a file's source needs; a document that does not parse is left alone. */
function planEdits(source: string, fluxVersion: string): Edit[] {
  const counter = new LineCounter();
  const edits: Edit[] = [];
  for (const doc of parseAllDocuments(source, { lineCounter: counter }) as Document[]) {
    if (doc.errors.length || !isMap(doc.contents)) continue;
    const pairOf = (key: string) =>
      (doc.contents as { items: { key: unknown; value: unknown }[] }).items.find(
        (p) => isScalar(p.key) && p.key.value === key,
      );
    const apiPair = pairOf('apiVersion');
    const kindPair = pairOf('kind');
    if (!apiPair || !kindPair || !isScalar(apiPair.value) || !isScalar(kindPair.value)) continue;
    const apiVersion = apiPair.value.value;
    const kind = kindPair.value.value;
    if (typeof apiVersion !== 'string' || typeof kind !== 'string') continue;
    const status = apiVersionStatus(apiVersion, kind);
    if (!status || !isDeprecatedBy(status, fluxVersion)) continue;
    const [start, end] = apiPair.value.range ?? [];
    if (start === undefined || end === undefined) continue;
    // The scalar's source (plain, or quoted): only the group/version inside it changes.
    const raw = source.slice(start, end);
    const to = `${status.group}/${status.migrateTo}`;
    if (!raw.includes(apiVersion)) continue; // escapes or a multi-line scalar: not ours to guess
    const metadata = doc.get('metadata');
    const named = isMap(metadata) ? metadata.get('name') : undefined;
    const name = typeof named === 'string' ? named : '';
    edits.push({
      start,
      end,
      text: raw.replace(apiVersion, to),
      migration: { line: counter.linePos(start).line, kind, name, from: apiVersion, to },
    });
  }
  return edits;
}

/** A file's source with its deprecated apiVersions rewritten, and what changed. */
export function migrateSource(
  source: string,
  file: string,
  fluxVersion = NEWEST_FLUX,
): { source: string; migrations: ApiMigration[] } {
  const edits = planEdits(source, fluxVersion);
  let out = source;
  for (const e of [...edits].sort((a, b) => b.start - a.start))
    out = out.slice(0, e.start) + e.text + out.slice(e.end);
  const lines = out.split(/\r?\n/);
  return {
    source: out,
    migrations: edits.map((e) => ({ ...e.migration, file, after: lines[e.migration.line - 1] ?? '' })),
  };
}

/** The YAML files under `root`, as flux migrate takes them: .yaml/.yml, no symlinks, no hidden dirs. */
function yamlFiles(root: string, log: Logger): string[] {
  let stat;
  try {
    stat = lstatSync(root);
  } catch {
    throw new FluxgateError('INPUT', `--path ${root}: no such file or directory`, { exitCode: 2 });
  }
  if (stat.isSymbolicLink()) throw new FluxgateError('INPUT', `--path ${root}: is a symlink`);
  if (stat.isFile()) return /\.ya?ml$/.test(root) ? [root] : [];
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    )) {
      const path = join(dir, entry.name);
      if (entry.isSymbolicLink()) {
        if (/\.ya?ml$/.test(entry.name)) log.debug(`${path}: a symlink, left alone`);
        continue;
      }
      if (entry.isDirectory()) {
        if (!entry.name.startsWith('.') && entry.name !== 'node_modules') walk(path);
      } else if (entry.isFile() && /\.ya?ml$/.test(entry.name)) out.push(path);
    }
  };
  walk(root);
  return out;
}

export interface MigrateResult {
  migrations: ApiMigration[];
  /** Files rewritten (or that would be, in a dry run), repository-relative. */
  files: string[];
}

/** Rewrites (or, with `dryRun`, only plans) every file under `path`; `base` names files in results. */
export function migrateTree(
  path: string,
  options: { base: string; dryRun: boolean; fluxVersion?: string; log: Logger },
): MigrateResult {
  const result: MigrateResult = { migrations: [], files: [] };
  for (const abs of yamlFiles(path, options.log)) {
    const file = relative(options.base, abs).split(sep).join('/');
    const source = readFileSync(abs, 'utf8');
    const migrated = migrateSource(source, file, options.fluxVersion);
    if (!migrated.migrations.length) continue;
    if (!options.dryRun) writeFileSync(abs, migrated.source);
    result.migrations.push(...migrated.migrations);
    result.files.push(file);
  }
  return result;
}

/**
 * The exact edit for each deprecated-api finding (its line with the apiVersion migrated), for
 * the review's GitHub suggestion blocks. Findings whose file cannot be read keep none.
 */
export function addMigrationSuggestions(repo: string, findings: Finding[]): void {
  const byFile = new Map<string, Map<number, string>>();
  for (const f of findings) {
    if (f.rule !== 'deprecated-api' || f.severity === 'info') continue;
    let lines = byFile.get(f.file);
    if (!lines) {
      lines = new Map();
      try {
        const { migrations } = migrateSource(readFileSync(join(repo, f.file), 'utf8'), f.file);
        for (const m of migrations) lines.set(m.line, m.after);
      } catch {
        // unreadable: no suggestion
      }
      byFile.set(f.file, lines);
    }
    const after = lines.get(f.line);
    if (after !== undefined) f.suggestion = after;
  }
}
