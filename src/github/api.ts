import { getOctokit } from '@actions/github';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { FluxgateError } from '../errors.js';
import type { Logger } from '../log.js';

export interface IssueComment {
  id: number;
  body?: string;
  html_url: string;
  user: { login: string; type?: string } | null;
}

export interface GitHubClientOptions {
  /** Base of the backoff between retries (ms); plugin-retry waits base × attempt². */
  retryAfterMs?: number;
  retries?: number;
}

/**
 * The few GitHub REST endpoints the review uses, through `@actions/github`'s Octokit with the
 * retry plugin (5xx and dropped connections, backoff) and the throttling plugin (primary and
 * secondary rate limits, as GitHub documents them). GITHUB_API_URL, so tests can stand in.
 */
export class GitHubApi {
  private readonly octokit: ReturnType<typeof getOctokit>;

  constructor(baseUrl: string, token: string, log: Logger, options: GitHubClientOptions = {}) {
    const retries = options.retries ?? 3;
    this.octokit = getOctokit(
      token,
      {
        baseUrl: baseUrl.replace(/\/+$/, ''),
        // The default proxy-aware fetch is bound to GITHUB_API_URL at load time; ours follows baseUrl.
        request: { fetch: globalThis.fetch, retries },
        retry: { retryAfterBaseValue: options.retryAfterMs ?? 1000, retries },
        throttle: {
          onRateLimit: (after: number, o: { method: string; url: string }, _k: unknown, count: number) => {
            log.warn(`GitHub rate limit on ${o.method} ${o.url}; retrying in ${after}s`);
            return count < 2;
          },
          onSecondaryRateLimit: (
            after: number,
            o: { method: string; url: string },
            _k: unknown,
            count: number,
          ) => {
            log.warn(`GitHub secondary rate limit on ${o.method} ${o.url}; retrying in ${after}s`);
            return count < 2;
          },
        },
        log: {
          debug: () => {},
          info: () => {},
          warn: (m: string) => log.debug(m),
          error: (m: string) => log.debug(m),
        },
      },
      retry,
      throttling,
    );
  }

  private async call<T>(what: string, fn: () => Promise<{ data: T }>): Promise<T> {
    try {
      return (await fn()).data;
    } catch (err) {
      const status = (err as { status?: number }).status ?? 0;
      const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
      throw new GitHubError(status, `${what}: ${status || 'failed'}${message ? ` ${message}` : ''}`);
    }
  }

  /** The token's own login; undefined for tokens that cannot read /user (workflow and App tokens). */
  async viewer(): Promise<string | undefined> {
    try {
      return (await this.call('GET /user', () => this.octokit.rest.users.getAuthenticated())).login;
    } catch (err) {
      if (err instanceof GitHubError && (err.status === 403 || err.status === 401)) return undefined;
      throw err;
    }
  }

  async listComments(repo: string, issue: number): Promise<IssueComment[]> {
    const [owner, name] = repo.split('/') as [string, string];
    try {
      return (await this.octokit.paginate(this.octokit.rest.issues.listComments, {
        owner,
        repo: name,
        issue_number: issue,
        per_page: 100,
      })) as IssueComment[];
    } catch (err) {
      const status = (err as { status?: number }).status ?? 0;
      throw new GitHubError(status, `GET /repos/${repo}/issues/${issue}/comments: ${status || 'failed'}`);
    }
  }

  createComment(repo: string, issue: number, body: string): Promise<IssueComment> {
    const [owner, name] = repo.split('/') as [string, string];
    return this.call(`POST /repos/${repo}/issues/${issue}/comments`, () =>
      this.octokit.rest.issues.createComment({ owner, repo: name, issue_number: issue, body }),
    );
  }

  updateComment(repo: string, id: number, body: string): Promise<IssueComment> {
    const [owner, name] = repo.split('/') as [string, string];
    return this.call(`PATCH /repos/${repo}/issues/comments/${id}`, () =>
      this.octokit.rest.issues.updateComment({ owner, repo: name, comment_id: id, body }),
    );
  }
}

export class GitHubError extends FluxgateError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super('GITHUB', message);
  }
}
