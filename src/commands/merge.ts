import { readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { ArgReader, splitList } from '../options/flags.js';
import { formatFlag, verboseFlag } from '../options/common.js';
import { defineCommand } from './types.js';
import { UsageError } from '../errors.js';
import { compareRenders, reviewRun } from '../diff/run.js';
import { checkShards, mergeRenders, mergeResults, readShardReports } from '../diff/shards.js';
import { renderJson, renderYaml } from '../render/output.js';
import { presentReview, readReviewOptions, reviewFlags, type ReviewPresentation } from './diff.js';

export interface MergeOptions extends Omit<ReviewPresentation, 'paths' | 'format'> {
  reports: string[];
  format: 'markdown' | 'json' | 'unified' | 'html' | 'yaml';
}

export const mergeCommand = defineCommand<MergeOptions>({
  name: 'merge',
  summary:
    'Combine the partial reports of `diff --shard` (or `render --shard`) cells into one review, comment, summary and exit status.',
  positionals: [
    {
      name: 'REPORT.json...',
      description:
        'The partial reports, one per cell (files or glob patterns; the action input takes a list).',
      required: true,
      input: 'reports',
    },
  ],
  flags: [
    formatFlag(['markdown', 'json', 'unified', 'html', 'yaml'], 'markdown'),
    ...reviewFlags,
    verboseFlag,
  ],
  toOptions(raw, env) {
    const args = new ArgReader('merge', raw);
    const patterns = raw.positionals.flatMap(splitList);
    if (!patterns.length) throw new UsageError('merge: give the partial reports (REPORT.json...)');
    const format = args.choice(
      'format',
      ['markdown', 'json', 'unified', 'html', 'yaml'] as const,
      'markdown',
    );
    return {
      ...readReviewOptions(new ArgReader('merge', withoutFormat(raw)), 'merge', env),
      format,
      reports: patterns,
    };
  },
  async run(options, io) {
    const files = expand(options.reports, io.cwd);
    const reports = checkShards(readShardReports(files));
    const fleet = reports[0]!.fleet;
    io.log.info(`merging ${reports.length} shards of ${fleet.command} ${fleet.paths.join(',')}`);
    if (fleet.command === 'render') {
      const result = mergeResults(reports.map((r) => r.clusters[0]!.head));
      for (const e of result.errors) io.log.error(e.message);
      io.stdout(options.format === 'json' ? renderJson(result) : renderYaml(result));
      return {
        exitCode: result.errors.length ? 1 : 0,
        outputs: {
          objects: String(result.objects.length),
          errors: String(result.errors.length),
          json: renderJson(result),
        },
      };
    }
    const renders = mergeRenders(reports);
    const compared = compareRenders(renders, fleet.stripAttrs ?? [], io);
    const format = options.format === 'yaml' ? 'markdown' : options.format;
    return presentReview({ ...options, format, paths: fleet.paths }, reviewRun(compared, renders, io), io);
  },
});

/** The review options read the `format` of a diff; merge also takes yaml (a render's). */
function withoutFormat(raw: { values: Map<string, string | boolean | string[]>; positionals: string[] }) {
  const values = new Map(raw.values);
  values.delete('format');
  return { values, positionals: raw.positionals };
}

/** Files as given, glob patterns expanded (sorted); a pattern matching nothing is an error. */
function expand(patterns: string[], cwd: string): string[] {
  const files: string[] = [];
  for (const p of patterns) {
    if (!/[*?]/.test(p)) {
      files.push(resolve(cwd, p));
      continue;
    }
    const matched = glob(p, cwd);
    if (!matched.length) throw new UsageError(`merge: no report matches ${p}`);
    files.push(...matched.map((m) => resolve(cwd, m)));
  }
  return [...new Set(files)];
}

/**
 * The files a pattern matches (`*` and `?` within a name, `**` across directories), sorted;
 * walked from the part before the first wildcard (what actions/download-artifact lays out).
 */
function glob(pattern: string, cwd: string): string[] {
  const parts = pattern.split('/');
  const fixed = parts.findIndex((part) => /[*?]/.test(part));
  const root = resolve(cwd, parts.slice(0, fixed).join('/') || '.');
  const rest = parts.slice(fixed).map((part) =>
    part === '**'
      ? '(?:[^/]+/)*'
      : part
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*/g, '[^/]*')
          .replace(/\?/g, '[^/]') + '/',
  );
  const match = new RegExp(`^${rest.join('').replace(/\/$/, '')}$`);
  const found: string[] = [];
  const walk = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.isFile() && match.test(relative(root, path).split('\\').join('/'))) found.push(path);
    }
  };
  walk(root);
  return found.sort();
}
