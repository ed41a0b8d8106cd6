import { ArgReader } from '../options/flags.js';
import { formatFlag, verboseFlag } from '../options/common.js';
import { defineCommand } from './types.js';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runDiff, type DiffRun } from '../diff/run.js';
import type { CommandIO } from './types.js';
import { commentMarker, postReview } from '../github/review.js';
import type { DiffOptions } from '../diff/options.js';
import { reviewHtml } from '../diff/html.js';
import { bytes, COMMENT_LIMIT, finalMarkdown, reviewMarkdown, SUMMARY_LIMIT } from '../diff/markdown.js';
import { readRenderEngineOptions, renderEngineFlags } from './render.js';
import { readVerifyPolicyOptions, verifyPolicyFlags } from './verify.js';
import { annotate, reportJson, verificationFailed } from '../verify/report.js';
import type { ClusterDiff } from '../diff/objects.js';
import type { CommentMode } from '../github/review.js';
import { UsageError } from '../errors.js';
import { ownerKey } from '../render/types.js';
import type { FlagSpec } from '../options/flags.js';
import type { CommandResult } from './types.js';
import { runDiffShard } from '../diff/run.js';
import { shardReport } from '../diff/shards.js';
import type { ShardSpec } from '../flux/shard.js';
import { readShardOptions, shardFlag, shardOutputFlag, writeShardReport } from './shard.js';
import { runClusterDiff } from '../diff/cluster.js';
import { clusterFlags, readClusterAccess } from './cluster-flags.js';

export const DEFAULT_STRIP_ATTRS = ['helm.sh/chart', 'checksum/config', 'app.kubernetes.io/version', 'chart'];

export type { DiffOptions } from '../diff/options.js';

/** The flags of a review's presentation: `diff`, and `merge` of a sharded diff. */
export const reviewFlags: FlagSpec[] = [
  {
    name: 'diff-path',
    type: 'string',
    value: 'FILE',
    description: 'Write the complete review (markdown) to this file.',
  },
  {
    name: 'fail-on-errors',
    type: 'string',
    value: 'new|all',
    description:
      'Which render errors fail the diff: new (default: those the change brings; errors on both sides are listed as pre-existing) or all.',
  },
  {
    name: 'comment',
    type: 'string',
    value: 'on-change|always|never',
    actionOnly: true,
    description:
      'The sticky PR comment: on-change (default: posted when the change alters what Flux applies, an existing one updated when that is gone), always, or never. The job summary is always written.',
  },
  {
    name: 'pr-number',
    type: 'string',
    value: 'N',
    actionOnly: true,
    description: 'Pull request to comment on, for workflow_run workflows (default: the event’s).',
  },
  {
    name: 'comment-key',
    type: 'string',
    value: 'KEY',
    description: 'Keeps one sticky comment per key (e.g. per cluster set). Default: the paths.',
  },
];

export const diffCommand = defineCommand<DiffOptions>({
  name: 'diff',
  summary: 'Render base and head of a change and report the objects added, removed or modified, per owner.',
  flags: [
    {
      name: 'base',
      type: 'string',
      value: 'REF|DIR',
      required: true,
      description: 'Base of the change: a git ref or a directory.',
    },
    {
      name: 'head',
      type: 'string',
      value: 'REF|DIR',
      required: true,
      description: 'Head of the change: a git ref or a directory.',
    },
    {
      name: 'path',
      type: 'list',
      value: 'DIR',
      description: 'Cluster entry directories (one or more, e.g. clusters/production,clusters/staging).',
    },
    {
      name: 'cluster',
      type: 'boolean',
      description:
        'Compare head with the live cluster instead of a base: server-side apply dry runs as kustomize-controller (nothing is written), objects Flux would prune listed as removed.',
    },
    ...clusterFlags,
    formatFlag(['markdown', 'json', 'unified', 'html'], 'markdown'),
    {
      name: 'strip-attrs',
      type: 'list',
      value: 'KEY',
      description: `Labels/annotations ignored in the diff. Default: ${DEFAULT_STRIP_ATTRS.join(',')}.`,
    },
    {
      name: 'changed-only',
      type: 'boolean',
      description: 'Render only what the changed files can affect (default on for git refs).',
    },
    {
      name: 'verify',
      type: 'boolean',
      description:
        'Also verify, on the head side, the signatures of the sources the change touches and run the policy checks on the files it changes.',
    },
    ...verifyPolicyFlags,
    shardFlag,
    shardOutputFlag,
    ...reviewFlags,
    ...renderEngineFlags,
    verboseFlag,
  ],
  toOptions(raw, env) {
    const args = new ArgReader('diff', raw);
    const changed = raw.values.has('changed-only') ? args.boolean('changed-only') : undefined;
    const cluster = args.boolean('cluster');
    if (cluster && args.string('base'))
      throw new UsageError('diff: --cluster compares --head with the live cluster: drop --base');
    const options: DiffOptions = {
      ...readRenderEngineOptions(args, 'diff', env),
      ...readReviewOptions(args, 'diff', env),
      base: cluster ? 'cluster' : args.requiredString('base'),
      head: cluster ? args.string('head') || '.' : args.requiredString('head'),
      cluster: cluster ? readClusterAccess(args) : undefined,
      paths: args.list('path').length ? args.list('path') : ['.'],
      stripAttrs: raw.values.has('strip-attrs') ? args.list('strip-attrs') : DEFAULT_STRIP_ATTRS,
      changedOnly: changed,
      verify: args.boolean('verify'),
      ...readVerifyPolicyOptions(args, 'diff'),
      ...readShardOptions(args, 'diff', env),
    };
    if (options.shard && options.verify)
      throw new UsageError('diff: --verify is not available with --shard (run it in a job of its own)');
    if (options.shard && options.cluster)
      throw new UsageError('diff: --cluster and --shard do not go together');
    return options;
  },
  async run(options, io) {
    if (options.shard) return writeDiffShard(options, options.shard, io);
    const result = options.cluster ? await runClusterDiff(options, io) : await runDiff(options, io);
    return presentReview(options, result, io);
  },
});

/** The options of a review's presentation (format, comment, summary, exit status). */
export interface ReviewPresentation {
  paths: string[];
  format: 'markdown' | 'json' | 'unified' | 'html';
  comment: CommentMode;
  prNumber?: number;
  failOnErrors: 'new' | 'all';
  commentKey?: string;
  diffPath?: string;
  githubToken?: string;
}

export function readReviewOptions(
  args: ArgReader,
  command: string,
  env: NodeJS.ProcessEnv,
): Omit<ReviewPresentation, 'paths'> {
  return {
    format: args.choice('format', ['markdown', 'json', 'unified', 'html'] as const, 'markdown'),
    comment: commentMode(command, args.string('comment')),
    prNumber: prNumber(command, args.string('pr-number')),
    failOnErrors: args.choice('fail-on-errors', ['new', 'all'] as const, 'new'),
    commentKey: args.string('comment-key') || undefined,
    diffPath: args.string('diff-path') || undefined,
    githubToken: env.GITHUB_TOKEN || undefined,
  };
}

/**
 * `--shard I/N`: renders this cell's share and writes the partial report, to `--output`, or
 * stdout with `--format json`, or (in the action) a file under RUNNER_TEMP named in the
 * `report-path` output. Whether the change passes is for `merge` to say.
 */
async function writeDiffShard(options: DiffOptions, shard: ShardSpec, io: CommandIO): Promise<CommandResult> {
  const { renders, built } = await runDiffShard(options, io, shard);
  const report = shardReport(
    shard,
    {
      command: 'diff',
      paths: options.paths,
      base: renders.base,
      head: renders.head,
      stripAttrs: options.stripAttrs,
    },
    renders.clusters,
    built,
    renders.builds,
  );
  return writeShardReport(report, options, io);
}

/**
 * Everything `diff` does with a review, for a single run and for shards merged: the job summary
 * and sticky comment, stdout in the format asked, the review and JSON files, outputs, exit status.
 */
export async function presentReview(
  options: ReviewPresentation,
  result: DiffRun,
  io: CommandIO,
): Promise<CommandResult> {
  {
    await publishReview(options, result, io);
    const json = diffJson(result.diff, options.paths.length > 1, result.rendered, result.notRebuilt);
    io.log.info(
      `${result.rendered} owners rendered: ${result.builds.built} builds run, ${result.builds.shared} shared by both sides, ${result.builds.cached} from the cache`,
    );
    Object.assign(json, {
      builds: result.builds,
      ...(result.verification
        ? { verification: reportJson(result.verification.sources, result.verification.findings) }
        : {}),
    });
    if (result.verification) annotate(io.log, result.verification);
    const verification = result.verification
      ? reportJson(result.verification.sources, result.verification.findings)
      : undefined;
    const review = result.review;
    const temp = io.action && io.env.RUNNER_TEMP ? io.env.RUNNER_TEMP : undefined;
    const redact = (text: string) => io.secrets?.redact(text) ?? text;
    // In the action the page is a file for a workflow artifact (review-path), not a log.
    const page = options.format === 'html' ? reviewHtml(review) : undefined;
    const pagePath = page && temp ? join(temp, 'fluxgate-review.html') : undefined;
    if (pagePath) {
      writeFileSync(pagePath, redact(page!));
      io.log.info(`review page: ${pagePath} (the review-path output)`);
    } else if (page) io.stdout(page);
    else if (options.format === 'json') io.stdout(JSON.stringify(json, null, 2) + '\n');
    else if (options.format === 'unified') io.stdout(result.unified);
    else io.stdout(review + '\n');
    const diffPath = options.diffPath ?? (temp ? join(temp, 'fluxgate-diff.md') : undefined);
    if (diffPath) writeFileSync(resolve(io.cwd, diffPath), redact(review) + '\n');
    // The complete JSON goes to a file; the `json` output stays small enough for any step.
    const jsonPath = temp ? join(temp, 'fluxgate-diff.json') : undefined;
    if (jsonPath) writeFileSync(jsonPath, redact(JSON.stringify(json, null, 2)) + '\n');
    const count = (a: string) => String(result.diff.changes.filter((c) => c.action === a).length);
    return {
      // A touched source that does not verify, or an error finding in a changed file, fails the check.
      exitCode:
        renderFailed(result.diff, options.failOnErrors) ||
        (verification && verificationFailed(verification.sources, verification.findings))
          ? 1
          : 0,
      outputs: {
        changed: String(result.diff.changes.length > 0),
        added: count('added'),
        removed: count('removed'),
        modified: count('modified'),
        errors: String(result.diff.errors.filter((e) => e.status !== 'fixed').length),
        'diff-path': diffPath ?? '',
        'review-path': pagePath ?? diffPath ?? '',
        'json-path': jsonPath ?? '',
        'comment-url': result.commentUrl ?? '',
        ...(verification
          ? {
              verified: String(verification.sources.every((s) => s.verified)),
              findings: JSON.stringify(verification.findings),
            }
          : {}),
        json: boundedJson(json),
      },
    };
  }
}

/**
 * Whether the render errors fail the diff. An owner that cannot render on head, or any error the
 * change brings, always does; an error on both sides only with `all`, or when its owner changed.
 */
export function renderFailed(diff: ClusterDiff, failOn: 'new' | 'all'): boolean {
  if (failOn === 'all') return diff.errors.length > 0;
  if (diff.unrendered.some((u) => u.side === 'head')) return true;
  const changed = new Set(diff.changes.map((c) => `${c.cluster}\u0000${ownerKey(c.owner)}`));
  return diff.errors.some(
    (e) =>
      e.status === 'new' ||
      (e.status === 'pre-existing' && changed.has(`${e.cluster}\u0000${ownerKey(e.owner)}`)),
  );
}

/** The `--format json` document; each entry names its cluster when the review spans several. */
export function diffJson(diff: ClusterDiff, several: boolean, rendered: number, notRebuilt = 0) {
  const cluster = (c: string) => (several ? { cluster: c } : {});
  return {
    changes: diff.changes.map(({ cluster: c, ...rest }) => ({ ...cluster(c), ...rest })),
    errors: diff.errors.map((e) => ({
      ...cluster(e.cluster),
      owner: e.owner,
      message: e.message,
      side: e.side,
      status: e.status,
      ...(e.origin ? { origin: e.origin } : {}),
    })),
    unrendered: diff.unrendered.map(({ cluster: c, ...rest }) => ({ ...cluster(c), ...rest })),
    images: diff.images.map(({ cluster: c, ...rest }) => ({ ...cluster(c), ...rest })),
    suspended: diff.suspended.map(({ cluster: c, ...rest }) => ({ ...cluster(c), ...rest })),
    warnings: diff.warnings.map(({ cluster: c, origins, ...rest }) => ({
      ...cluster(c),
      ...rest,
      ...(origins.some(Boolean) ? { origins: origins.map((o) => o ?? null) } : {}),
    })),
    rendered,
    notRebuilt,
  } as Record<string, unknown>;
}

/** `comment: true|false` (the first releases' boolean) still work, as on-change and never. */
function commentMode(command: string, value: string | undefined): CommentMode {
  const v = (value ?? '').trim().toLowerCase();
  if (v === '' || v === 'on-change' || v === 'true') return 'on-change';
  if (v === 'always' || v === 'never') return v;
  if (v === 'false') return 'never';
  throw new UsageError(`${command}: input 'comment' must be one of on-change|always|never, got '${value}'`);
}

function prNumber(command: string, value: string | undefined): number | undefined {
  if (!value?.trim()) return undefined;
  if (!/^[1-9]\d*$/.test(value.trim()))
    throw new UsageError(`${command}: input 'pr-number' must be a pull request number, got '${value}'`);
  return Number(value.trim());
}

/** GitHub caps a step's outputs at 1 MiB in all: the `json` output drops diffs, then changes, to fit. */
export const JSON_OUTPUT_LIMIT = 256 * 1024;

export function boundedJson(json: Record<string, unknown>): string {
  const full = JSON.stringify(json);
  if (full.length <= JSON_OUTPUT_LIMIT) return full;
  const changes = json.changes as Record<string, unknown>[];
  const slim = JSON.stringify({
    ...json,
    changes: changes.map(({ diff: _d, fields: _f, ...rest }) => rest),
    truncated: 'diffs left out; the complete JSON is at the json-path output',
  });
  if (slim.length <= JSON_OUTPUT_LIMIT) return slim;
  const count = (a: string) => changes.filter((c) => c.action === a).length;
  return JSON.stringify({
    changes: { added: count('added'), removed: count('removed'), modified: count('modified') },
    errors: (json.errors as unknown[]).length,
    truncated: 'too large for an output; the complete JSON is at the json-path output',
  });
}

/**
 * The job summary and the sticky comment of a diff run in the action: each review fitted to its
 * own limit from the same review options. Neither can fail the step (postReview never throws).
 */
async function publishReview(options: ReviewPresentation, result: DiffRun, io: CommandIO): Promise<void> {
  const reviewOptions = result.reviewOptions;
  if (!io.action) return;
  {
    const foldedTo = 'the complete review is the `diff-path` file of the step';
    const summary = reviewMarkdown(result.diff, {
      ...reviewOptions,
      limit: SUMMARY_LIMIT,
      measure: bytes,
      foldedTo,
    });
    try {
      await io.action.appendSummary(finalMarkdown(summary.markdown));
    } catch (err) {
      io.log.warn(`job summary: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
    const key = options.commentKey ?? options.paths.join(',');
    const comment = reviewMarkdown(result.diff, {
      ...reviewOptions,
      limit: COMMENT_LIMIT - commentMarker(key).length - 1,
      foldedTo: 'the job summary has them',
    });
    result.commentUrl = await postReview(
      {
        mode: options.comment,
        key,
        prNumber: options.prNumber,
        token: options.githubToken,
        markdown: finalMarkdown(comment.markdown),
        changed: result.diff.changes.length + result.diff.errors.length + result.diff.unrendered.length > 0,
        gone: finalMarkdown(
          [
            '## fluxgate diff',
            '',
            '~~This pull request changed objects Flux applies.~~ It no longer does: no changes to the objects Flux applies.',
            '',
            '---',
            reviewOptions.footer!,
          ].join('\n'),
        ),
      },
      io,
    );
  }
}
