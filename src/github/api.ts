import { FluxgateError } from '../errors.js';

export interface IssueComment {
  id: number;
  body: string;
  html_url: string;
  user: { login: string } | null;
}

/** The few GitHub REST endpoints the review uses, over fetch (GITHUB_API_URL, so tests can stand in). */
export class GitHubApi {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.baseUrl.replace(/\/+$/, '')}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        accept: 'application/vnd.github+json',
        'x-github-api-version': '2022-11-28',
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!res.ok) {
      const message = ((await res.json().catch(() => ({}))) as { message?: string }).message ?? '';
      throw new GitHubError(res.status, `${method} ${path}: ${res.status}${message ? ` ${message}` : ''}`);
    }
    return (await res.json()) as T;
  }

  /** The token's own user; a workflow token cannot read /user and is github-actions[bot]. */
  async viewer(): Promise<string> {
    try {
      return (await this.call<{ login: string }>('GET', '/user')).login;
    } catch (err) {
      if (err instanceof GitHubError && (err.status === 403 || err.status === 401))
        return 'github-actions[bot]';
      throw err;
    }
  }

  async listComments(repo: string, issue: number): Promise<IssueComment[]> {
    const all: IssueComment[] = [];
    for (let page = 1; ; page++) {
      const batch = await this.call<IssueComment[]>(
        'GET',
        `/repos/${repo}/issues/${issue}/comments?per_page=100&page=${page}`,
      );
      all.push(...batch);
      if (batch.length < 100) return all;
    }
  }

  createComment(repo: string, issue: number, body: string): Promise<IssueComment> {
    return this.call('POST', `/repos/${repo}/issues/${issue}/comments`, { body });
  }

  updateComment(repo: string, id: number, body: string): Promise<IssueComment> {
    return this.call('PATCH', `/repos/${repo}/issues/comments/${id}`, { body });
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
