import { readFileSync } from 'node:fs';
import type { Logger } from '../log.js';
import type { SecretRegistry } from '../util/redact.js';
import { GitHubApi, type GitHubClientOptions, GitHubError } from './api.js';

export type CommentMode = 'on-change' | 'always' | 'never';

export interface PullRequestContext {
  repo: string;
  number: number;
  fork: boolean;
}

interface EventPayload {
  pull_request?: {
    number?: number;
    head?: { repo?: { full_name?: string } };
    base?: { repo?: { full_name?: string } };
  };
  workflow_run?: {
    event?: string;
    head_repository?: { full_name?: string };
    repository?: { full_name?: string };
    pull_requests?: { number?: number }[];
  };
}

/**
 * The pull request to comment on: `pr-number` when given (workflow_run workflows, where fork PRs
 * are not listed in the payload), else the event's own (data only, never executed).
 */
export function pullRequestContext(
  env: NodeJS.ProcessEnv,
  prNumber?: number,
): PullRequestContext | undefined {
  if (!env.GITHUB_REPOSITORY) return undefined;
  let event: EventPayload = {};
  try {
    if (env.GITHUB_EVENT_PATH) event = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8'));
  } catch {
    event = {};
  }
  const pr = event.pull_request;
  const run = event.workflow_run;
  const number = prNumber ?? pr?.number ?? run?.pull_requests?.[0]?.number;
  if (!number) return undefined;
  const headRepo = pr?.head?.repo?.full_name ?? run?.head_repository?.full_name;
  const baseRepo = pr?.base?.repo?.full_name ?? run?.repository?.full_name;
  return {
    repo: env.GITHUB_REPOSITORY,
    number,
    fork: Boolean(headRepo && baseRepo && headRepo !== baseRepo),
  };
}

/** Hidden marker of our sticky comment, one per comment key (e.g. per cluster set). */
export function commentMarker(key: string): string {
  return `<!-- fluxgate:${key.replace(/--+/g, '-').replace(/>/g, '')} -->`;
}

/**
 * What a rerun compares: a review that differs only in secret markers (random per run) or the
 * run link is the same review, and the comment is left as it is (no edit, no notification).
 */
export function comparable(body: string): string {
  return body
    .replace(/\\?\(secret:[0-9a-f]{12}\\?\)/g, '(secret)')
    .replace(/\[run [^\]]*\]\([^)]*\)/g, '[run]');
}

/**
 * Our comment among the PR's: it carries the marker, and it was written by a bot (the workflow
 * token and GitHub App tokens comment as bots, which no person can impersonate) or by the
 * token's own user. /user is asked only for that last case, as App tokens are refused it.
 */
async function findOurs(api: GitHubApi, pr: PullRequestContext, marker: string) {
  const marked = (await api.listComments(pr.repo, pr.number)).filter((c) => c.body?.includes(marker));
  const bot = marked.find((c) => c.user?.type === 'Bot' || c.user?.login.endsWith('[bot]'));
  if (bot || !marked.length) return bot;
  const viewer = await api.viewer();
  return viewer ? marked.find((c) => c.user?.login === viewer) : undefined;
}

export interface StickyResult {
  url?: string;
  action: 'created' | 'updated' | 'unchanged' | 'skipped';
}

/**
 * Creates or updates the one sticky comment for this key. `body` undefined: there is nothing to
 * say (on-change, no change): an existing comment is updated to say so, none is created.
 */
export async function upsertStickyComment(
  api: GitHubApi,
  pr: PullRequestContext,
  key: string,
  body: string,
  options: { create: boolean } = { create: true },
): Promise<StickyResult> {
  const marker = commentMarker(key);
  const text = `${marker}\n${body}`;
  const ours = await findOurs(api, pr, marker);
  if (ours) {
    if (comparable(ours.body ?? '') === comparable(text)) return { url: ours.html_url, action: 'unchanged' };
    return { url: (await api.updateComment(pr.repo, ours.id, text)).html_url, action: 'updated' };
  }
  if (!options.create) return { action: 'skipped' };
  return { url: (await api.createComment(pr.repo, pr.number, text)).html_url, action: 'created' };
}

export interface PostOptions {
  mode: CommentMode;
  key: string;
  prNumber?: number;
  token?: string;
  /** The review, fitted to the comment limit (marker excluded). */
  markdown: string;
  /** Whether the review has anything to report (changes or errors). */
  changed: boolean;
  /** Body of an on-change comment whose change is gone. */
  gone: string;
  client?: GitHubClientOptions;
}

/**
 * Posts the review as the sticky comment. Never throws: a failed call (after retries) is a
 * warning, so the diff's outputs and exit status never depend on the comment.
 */
export async function postReview(
  options: PostOptions,
  io: { env: NodeJS.ProcessEnv; log: Logger; secrets?: SecretRegistry },
): Promise<string | undefined> {
  if (options.mode === 'never') return undefined;
  // The run's exit scrub (src/util/redact.ts): no secret value reaches the comment.
  const redact = (text: string) => io.secrets?.redact(text) ?? text;
  const pr = pullRequestContext(io.env, options.prNumber);
  if (!pr) {
    io.log.warn(
      'comment: no pull request (not a pull_request event; set pr-number for workflow_run); the review is in the job summary only',
    );
    return undefined;
  }
  const token = options.token ?? io.env.GITHUB_TOKEN;
  if (!token) {
    io.log.warn('comment: no github-token; the review is in the job summary only');
    return undefined;
  }
  const api = new GitHubApi(io.env.GITHUB_API_URL || 'https://api.github.com', token, io.log, options.client);
  const always = options.mode === 'always' || options.changed;
  try {
    const result = await upsertStickyComment(
      api,
      pr,
      options.key,
      redact(always ? options.markdown : options.gone),
      {
        create: always,
      },
    );
    if (result.action === 'skipped') io.log.info('comment: no change to report; no comment posted');
    else io.log.info(`comment: ${result.action} ${result.url}`);
    return result.url;
  } catch (err) {
    const status = err instanceof GitHubError ? err.status : 0;
    const why =
      status === 403 || status === 404
        ? `${pr.fork ? ' (a fork pull request gets a read-only token)' : ''}: the workflow needs 'permissions: pull-requests: write'`
        : `: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
    io.log.warn(`comment: cannot comment on ${pr.repo}#${pr.number}${why}; the review is in the job summary`);
    return undefined;
  }
}
