import { readFileSync } from 'node:fs';
import type { CommandIO } from '../commands/types.js';
import type { DiffOptions } from '../commands/diff.js';
import { COMMENT_LIMIT, reviewMarkdown } from '../diff/markdown.js';
import type { ClusterDiff } from '../diff/objects.js';
import { GitHubApi, GitHubError } from './api.js';

interface PullRequestContext {
  repo: string;
  number: number;
  fork: boolean;
}

/** The pull request the workflow runs for, from the event payload (data only, never executed). */
export function pullRequestContext(env: NodeJS.ProcessEnv): PullRequestContext | undefined {
  if (!env.GITHUB_EVENT_PATH || !env.GITHUB_REPOSITORY) return undefined;
  let event: {
    pull_request?: {
      number?: number;
      head?: { repo?: { full_name?: string } };
      base?: { repo?: { full_name?: string } };
    };
  };
  try {
    event = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8'));
  } catch {
    return undefined;
  }
  const pr = event.pull_request;
  if (!pr?.number) return undefined;
  const fork = Boolean(
    pr.head?.repo?.full_name && pr.base?.repo?.full_name && pr.head.repo.full_name !== pr.base.repo.full_name,
  );
  return { repo: env.GITHUB_REPOSITORY, number: pr.number, fork };
}

/** Hidden marker of our sticky comment, one per comment key (e.g. per cluster set). */
export function commentMarker(key: string): string {
  return `<!-- fluxgate:${key.replace(/--+/g, '-').replace(/>/g, '')} -->`;
}

/**
 * Creates or updates the one sticky comment for this key. Only comments written by the token's
 * own user are candidates: someone else's comment carrying the marker is left alone.
 */
export async function upsertStickyComment(
  api: GitHubApi,
  pr: { repo: string; number: number },
  key: string,
  body: string,
): Promise<string> {
  const marker = commentMarker(key);
  const viewer = await api.viewer();
  const mine = (await api.listComments(pr.repo, pr.number)).find(
    (c) => c.user?.login === viewer && c.body.includes(marker),
  );
  const text = `${marker}\n${body}`;
  const comment = mine
    ? await api.updateComment(pr.repo, mine.id, text)
    : await api.createComment(pr.repo, pr.number, text);
  return comment.html_url;
}

/** Posts the review in the action; says why when it cannot (no PR, fork, missing permission). */
export async function postReview(
  diff: ClusterDiff,
  options: DiffOptions,
  io: CommandIO,
  /** Markdown after the summary (the `--verify` section); kept when sections are folded. */
  extra?: string,
): Promise<string | undefined> {
  const pr = pullRequestContext(io.env);
  if (!pr) {
    io.log.warn('comment: not a pull_request event; the review is in the job summary only');
    return undefined;
  }
  const token = options.githubToken ?? io.env.GITHUB_TOKEN;
  if (!token) {
    io.log.warn('comment: no github-token; the review is in the job summary only');
    return undefined;
  }
  const key = options.commentKey ?? options.paths.join(',');
  const budget = COMMENT_LIMIT - commentMarker(key).length - 1;
  const review = reviewMarkdown(diff, { limit: budget, extra });
  if (review.folded.length)
    io.log.info(`comment: folded ${review.folded.length} sections to fit GitHub's limit`);
  try {
    const url = await upsertStickyComment(
      new GitHubApi(io.env.GITHUB_API_URL || 'https://api.github.com', token),
      pr,
      key,
      // The run's exit scrub (src/util/redact.ts): no secret value reaches the comment.
      io.secrets?.redact(review.markdown) ?? review.markdown,
    );
    io.log.info(`comment: ${url}`);
    return url;
  } catch (err) {
    if (err instanceof GitHubError && (err.status === 403 || err.status === 404)) {
      io.log.warn(
        `comment: cannot comment on ${pr.repo}#${pr.number}${pr.fork ? ' (a fork pull request gets a read-only token)' : ''}: the workflow needs 'permissions: pull-requests: write'; the review is in the job summary`,
      );
      return undefined;
    }
    throw err;
  }
}
