import { ArgReader } from '../options/flags.js';
import { formatFlag, verboseFlag } from '../options/common.js';
import { defineCommand } from './types.js';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runDiff } from '../diff/run.js';
import { readRenderEngineOptions, renderEngineFlags, type RenderEngineOptions } from './render.js';
import { readVerifyPolicyOptions, verifyPolicyFlags } from './verify.js';
import { annotate, reportJson, verificationFailed } from '../verify/report.js';

export const DEFAULT_STRIP_ATTRS = ['helm.sh/chart', 'checksum/config', 'app.kubernetes.io/version', 'chart'];

export interface DiffOptions extends RenderEngineOptions {
  base: string;
  head: string;
  paths: string[];
  format: 'markdown' | 'json' | 'unified';
  stripAttrs: string[];
  /** undefined: on for git refs, off for directories. */
  changedOnly?: boolean;
  comment: boolean;
  commentKey?: string;
  verify: boolean;
  /** `--verify`: Secrets kept outside the repository, and the policy knobs of `verify`. */
  verifySecrets: Map<string, string>;
  requireSignatures: boolean;
  requireDigests: boolean;
  requireEncryptedSecrets: boolean;
  fluxVersion?: string;
  diffPath?: string;
  githubToken?: string;
}

export const diffCommand = defineCommand<DiffOptions>({
  name: 'diff',
  summary: 'Render base and head of a change and report the objects added, removed or modified, per owner.',
  flags: [
    {
      name: 'base',
      type: 'string',
      value: 'REF|DIR',
      description: 'Base of the change: a git ref or a directory.',
    },
    {
      name: 'head',
      type: 'string',
      value: 'REF|DIR',
      description: 'Head of the change: a git ref or a directory.',
    },
    {
      name: 'path',
      type: 'list',
      value: 'DIR',
      description: 'Cluster entry directories (one or more, e.g. clusters/production,clusters/staging).',
    },
    formatFlag(['markdown', 'json', 'unified'], 'markdown'),
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
      name: 'diff-path',
      type: 'string',
      value: 'FILE',
      description: 'Write the complete review (markdown) to this file.',
    },
    {
      name: 'verify',
      type: 'boolean',
      description:
        'Also verify, on the head side, the signatures of the sources the change touches and run the policy checks on the files it changes.',
    },
    ...verifyPolicyFlags,
    {
      name: 'comment',
      type: 'boolean',
      actionOnly: true,
      description: 'Post the review as a sticky PR comment, with job summary and annotations.',
    },
    {
      name: 'comment-key',
      type: 'string',
      value: 'KEY',
      description: 'Keeps one sticky comment per key (e.g. per cluster set). Default: the paths.',
    },
    ...renderEngineFlags,
    verboseFlag,
  ],
  toOptions(raw, env) {
    const args = new ArgReader('diff', raw);
    const changed = raw.values.has('changed-only') ? args.boolean('changed-only') : undefined;
    return {
      ...readRenderEngineOptions(args, 'diff'),
      base: args.requiredString('base'),
      head: args.requiredString('head'),
      paths: args.list('path').length ? args.list('path') : ['.'],
      format: args.choice('format', ['markdown', 'json', 'unified'] as const, 'markdown'),
      stripAttrs: raw.values.has('strip-attrs') ? args.list('strip-attrs') : DEFAULT_STRIP_ATTRS,
      changedOnly: changed,
      comment: args.boolean('comment'),
      commentKey: args.string('comment-key') || undefined,
      verify: args.boolean('verify'),
      ...readVerifyPolicyOptions(args, 'diff'),
      diffPath: args.string('diff-path') || undefined,
      githubToken: env.GITHUB_TOKEN || undefined,
    };
  },
  async run(options, io) {
    const result = await runDiff(options, io);
    const json = {
      changes: result.diff.changes.map(({ cluster: _c, ...c }) => c),
      errors: result.diff.errors.map((e) => ({ owner: e.owner, message: e.message, side: e.side })),
      images: result.diff.images,
      rendered: result.rendered,
      ...(result.verification
        ? { verification: reportJson(result.verification.sources, result.verification.findings) }
        : {}),
    };
    if (result.verification) annotate(io.log, result.verification);
    const verification = json.verification;
    const review = result.review;
    if (options.format === 'json') io.stdout(JSON.stringify(json, null, 2) + '\n');
    else if (options.format === 'unified') io.stdout(result.unified);
    else io.stdout(review + '\n');
    const diffPath =
      options.diffPath ??
      (io.action && io.env.RUNNER_TEMP ? join(io.env.RUNNER_TEMP, 'fluxgate-diff.md') : undefined);
    if (diffPath) writeFileSync(resolve(io.cwd, diffPath), (io.secrets?.redact(review) ?? review) + '\n');
    const count = (a: string) => String(result.diff.changes.filter((c) => c.action === a).length);
    return {
      // A touched source that does not verify, or an error finding in a changed file, fails the check.
      exitCode:
        result.diff.errors.length ||
        (verification && verificationFailed(verification.sources, verification.findings))
          ? 1
          : 0,
      outputs: {
        changed: String(result.diff.changes.length > 0),
        added: count('added'),
        removed: count('removed'),
        modified: count('modified'),
        errors: String(result.diff.errors.length),
        'diff-path': diffPath ?? '',
        'comment-url': result.commentUrl ?? '',
        ...(verification
          ? {
              verified: String(verification.sources.every((s) => s.verified)),
              findings: JSON.stringify(verification.findings),
            }
          : {}),
        json: JSON.stringify(json),
      },
    };
  },
});
