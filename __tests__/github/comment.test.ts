import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commentMarker, postReview, type PostOptions } from '../../src/github/review.js';
import { reviewMarkdown, escapeMarkdown, fence } from '../../src/diff/markdown.js';
import { emptyDiff, type ClusterDiff } from '../../src/diff/objects.js';
import { reviewHtml } from '../../src/diff/html.js';
import { execFileSync } from 'node:child_process';
import { startFakeGitHub, type FakeGitHub } from '../support/github-api.js';

let gh: FakeGitHub;
beforeAll(async () => {
  gh = await startFakeGitHub(
    {
      'workflow-token': 'github-actions[bot]',
      'app-token': 'acme-fluxgate[bot]',
      'pat-token': 'alice',
      'someone-token': 'mallory',
      'fork-token': 'github-actions[bot]',
    },
    ['fork-token'],
  );
});
afterAll(() => gh.stop());

const owner = { kind: 'Kustomization' as const, namespace: 'flux-system', name: 'apps' };
function diffOf(n: number, size = 10): ClusterDiff {
  return {
    ...emptyDiff(),
    changes: Array.from({ length: n }, (_, i) => ({
      cluster: 'clusters/production',
      owner: { ...owner, name: `app-${i}` },
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: 'default',
      name: `cm-${i}`,
      action: 'modified' as const,
      fields: [],
      risks: [],
      diff: `--- a\n+++ b\n@@ -1 +1 @@\n-${'x'.repeat(size)}\n+${'y'.repeat(size)}`,
    })),
  };
}

let pr = 100;
/** A pull_request event (or workflow_run) for a fresh PR number, so tests do not share comments. */
function actionEnv(token: string, event: 'pull_request' | 'workflow_run' = 'pull_request', fork = false) {
  const number = ++pr;
  const dir = mkdtempSync(join(tmpdir(), 'fg-event-'));
  const path = join(dir, 'event.json');
  writeFileSync(
    path,
    JSON.stringify(
      event === 'pull_request'
        ? {
            pull_request: {
              number,
              head: { repo: { full_name: fork ? 'someone/fleet' : 'acme/fleet' } },
              base: { repo: { full_name: 'acme/fleet' } },
            },
          }
        : { workflow_run: { event: 'pull_request', pull_requests: [] } },
    ),
  );
  return {
    number,
    env: {
      GITHUB_API_URL: gh.url,
      GITHUB_REPOSITORY: 'acme/fleet',
      GITHUB_EVENT_PATH: path,
      GITHUB_TOKEN: token,
    },
  };
}

function io(env: Record<string, string>) {
  const logs: string[] = [];
  return {
    logs,
    io: {
      log: {
        debug() {},
        info: (m: string) => logs.push(m),
        warn: (m: string) => logs.push(`warning: ${m}`),
        error: (m: string) => logs.push(`error: ${m}`),
        group: <T>(_: string, fn: () => Promise<T>) => fn(),
        mask() {},
      },
      env,
    },
  };
}

const post = (markdown: string, extra: Partial<PostOptions> = {}): PostOptions => ({
  mode: 'on-change',
  key: 'clusters/production',
  markdown,
  changed: true,
  gone: 'no longer changes anything',
  client: { retryAfterMs: 5 },
  ...extra,
});
const onPr = (n: number) =>
  gh.comments.filter((c) => c.issue === n || c.html_url.endsWith(`/pull/${n}#issuecomment-${c.id}`));

describe('the sticky PR comment', () => {
  it('is created once, then updated in place; someone else’s comment with the marker is left alone', async () => {
    const { env, number } = actionEnv('workflow-token');
    const marker = commentMarker('clusters/production');
    gh.comments.push({
      id: 9999,
      body: `${marker}\nplanted by someone else`,
      user: { login: 'mallory', type: 'User' },
      html_url: 'x',
      issue: number,
    });
    const first = await postReview(post('review one'), io(env).io);
    expect(first).toMatch(/#issuecomment-\d+$/);
    const second = await postReview(post('review two'), io(env).io);
    expect(second).toBe(first);
    const mine = onPr(number).filter((c) => c.user.login === 'github-actions[bot]');
    expect(mine).toHaveLength(1);
    expect(mine[0]!.body).toBe(`${marker}\nreview two`);
    expect(gh.comments.find((c) => c.id === 9999)!.body).toBe(`${marker}\nplanted by someone else`);
  });

  it('three runs with a GitHub App token (refused GET /user) leave one comment', async () => {
    const { env, number } = actionEnv('app-token');
    for (const text of ['run 1', 'run 2', 'run 3']) await postReview(post(text), io(env).io);
    const comments = onPr(number);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.user.login).toBe('acme-fluxgate[bot]');
    expect(comments[0]!.body).toContain('run 3');
  });

  it('a personal token finds its own comment through /user', async () => {
    const { env, number } = actionEnv('pat-token');
    await postReview(post('first'), io(env).io);
    await postReview(post('second'), io(env).io);
    expect(onPr(number).map((c) => [c.user.login, c.body.split('\n')[1]])).toEqual([['alice', 'second']]);
  });

  it('keeps one comment per key (several cluster sets in one PR)', async () => {
    const { env, number } = actionEnv('workflow-token');
    const a = await postReview(post('review A', { key: 'staging' }), io(env).io);
    const b = await postReview(post('review B', { key: 'production' }), io(env).io);
    expect(a).not.toBe(b);
    expect(onPr(number)).toHaveLength(2);
  });

  it('a 500 then a 200 from the API still posts (retried)', async () => {
    const { env, number } = actionEnv('workflow-token');
    gh.fail(500, 1);
    const url = await postReview(post('after a 500'), io(env).io);
    expect(url).toBeDefined();
    expect(onPr(number)).toHaveLength(1);
  });

  it('a permanent 500 becomes a warning, never an exception', async () => {
    const { env } = actionEnv('workflow-token');
    gh.fail(500, 20);
    const { io: ctx, logs } = io(env);
    expect(await postReview(post('never posted'), ctx)).toBeUndefined();
    expect(logs.join('\n')).toMatch(/warning: comment: cannot comment on acme\/fleet#\d+: .*500/);
    gh.heal();
  });

  it('comment: never posts nothing', async () => {
    const { env, number } = actionEnv('workflow-token');
    const before = gh.requests.length;
    expect(await postReview(post('quiet', { mode: 'never' }), io(env).io)).toBeUndefined();
    expect(gh.requests.length).toBe(before);
    expect(onPr(number)).toHaveLength(0);
  });

  it('on-change: no comment for no change; an existing one is updated to say the change is gone', async () => {
    const { env, number } = actionEnv('workflow-token');
    await postReview(post('nothing', { changed: false }), io(env).io);
    expect(onPr(number)).toHaveLength(0);
    await postReview(post('a change'), io(env).io);
    await postReview(post('nothing', { changed: false }), io(env).io);
    expect(onPr(number).map((c) => c.body.split('\n')[1])).toEqual(['no longer changes anything']);
    await postReview(post('nothing', { changed: false, mode: 'always' }), io(env).io);
    expect(onPr(number).map((c) => c.body.split('\n')[1])).toEqual(['nothing']);
  });

  it('pr-number from a workflow_run event posts to that pull request', async () => {
    const { env } = actionEnv('workflow-token', 'workflow_run');
    const { logs, io: ctx } = io(env);
    expect(await postReview(post('no pr known'), ctx)).toBeUndefined();
    expect(logs.join('\n')).toContain('set pr-number for workflow_run');
    const url = await postReview(post('to PR 4242', { prNumber: 4242 }), io(env).io);
    expect(url).toMatch(/\/pull\/4242#issuecomment-\d+$/);
    expect(onPr(4242)).toHaveLength(1);
  });

  it('a rerun whose review differs only in secret markers does not edit the comment', async () => {
    const { env } = actionEnv('workflow-token');
    const body = (m: string) => `token: (secret:${m}) → changed · [run 1](https://x/runs/1)`;
    await postReview(post(body('aaaaaaaaaaaa')), io(env).io);
    const patches = gh.requests.filter((r) => r.startsWith('PATCH')).length;
    await postReview(post(body('bbbbbbbbbbbb').replace('run 1', 'run 2')), io(env).io);
    expect(gh.requests.filter((r) => r.startsWith('PATCH')).length).toBe(patches);
    await postReview(post(body('bbbbbbbbbbbb').replace('changed', 'changed again')), io(env).io);
    expect(gh.requests.filter((r) => r.startsWith('PATCH')).length).toBe(patches + 1);
  });

  it('on a fork PR (read-only token) says why it could not comment, without failing', async () => {
    const { env } = actionEnv('fork-token', 'pull_request', true);
    const { io: ctx, logs } = io(env);
    expect(await postReview(post('x', { key: 'fork' }), ctx)).toBeUndefined();
    expect(logs.join('\n')).toContain(
      "a fork pull request gets a read-only token): the workflow needs 'permissions: pull-requests: write'",
    );
  });
});

describe('the review markdown', () => {
  it('stays within the limit by folding the largest sections first, and says so at the top', () => {
    const big = diffOf(12, 9000);
    big.changes[3]!.diff += '\n' + '+z'.repeat(20000);
    const review = reviewMarkdown(big, { limit: 60_000 });
    expect(review.markdown.length).toBeLessThanOrEqual(60_000);
    expect(review.folded[0]).toContain('app-3');
    const note = review.markdown.indexOf('folded, the largest first');
    expect(note).toBeGreaterThan(0);
    expect(note).toBeLessThan(review.markdown.indexOf('| Cluster | Owner |'));
    // The summary table survives folding.
    expect(review.markdown).toContain(
      '| clusters/production | [Kustomization flux\\-system/app\\-11](#fluxgate-owner-4) | 0 | 0 | 1 | 0 |'.replace(
        /\\-/g,
        '-',
      ),
    );
  });

  it('nothing a pull request controls can add HTML, a section, a broken table or a mention', () => {
    const evil =
      'x</summary></details>\n\n## Approved by @octocat <img src=x onerror=alert(1)> [ok](https://evil.example) | `';
    const d: ClusterDiff = {
      ...diffOf(1),
      images: [
        {
          cluster: 'clusters/production',
          owner: { ...owner, name: evil },
          namespace: evil,
          object: `Deployment/${evil}`,
          container: evil,
          before: 'ghcr.io/acme/web:1.0 | `</td>',
          after: `ghcr.io/acme/web:@octocat\n## Fake <b>bold</b>`,
        },
      ],
      errors: [
        {
          cluster: 'clusters/production',
          owner: { ...owner, name: evil },
          message: `failed: ${evil}\n\`\`\`\n</details>\n## LGTM`,
          side: 'head',
          status: 'new',
        },
      ],
    };
    d.changes[0]!.name = evil;
    d.changes[0]!.owner = { ...owner, name: evil };
    d.changes[0]!.risks = [`deletes a Namespace ${evil}`];
    d.changes[0]!.fields = [{ path: `data.${evil}`, before: evil, after: '@octocat' }];
    const md = reviewMarkdown(d).markdown;
    // No HTML but ours outside code (code blocks and spans show HTML as text).
    const prose = md
      .replace(/^(\s*`{3,})[^\n]*\n[\s\S]*?\n\1\s*$/gm, '')
      .replace(/(?<!\\)`[^`\n]*(?<!\\)`/g, '');
    const tags = [...prose.matchAll(/<\/?([a-z]+)[\s>]/gi)].map((m) => m[1]!.toLowerCase());
    expect(new Set(tags)).toEqual(
      new Set(['a', 'details', 'summary', 'sub'].filter((t) => tags.includes(t))),
    );
    expect(prose).not.toMatch(/<img|<b>|<\/td>/i);
    // Every @ outside code blocks is followed by a zero-width space (or its entity): nobody is
    // notified (GitHub does not mention from code blocks).
    expect(md.replace(/^(\s*`{3,})[^\n]*\n[\s\S]*?\n\1\s*$/gm, '')).not.toMatch(/@(?!\u200b|&#8203;)/);
    // Headings are fluxgate's own, whatever the names say.
    const headings = prose.split('\n').filter((l) => /^\s{0,3}#{1,6}\s/.test(l));
    expect(
      headings.every((h) => /^(## fluxgate diff|### (⚠️ Needs a second look|Images|Render errors))$/.test(h)),
    ).toBe(true);
    // Table rows keep their cell count: no unescaped pipe splits a cell.
    const imageRow = md.split('\n').find((l) => l.includes('ghcr.io/acme/web:1.0'))!;
    expect(imageRow.split(/(?<!\\)\|/).length - 2).toBe(6);
    // The error message stays inside its code block: the fence outlasts the backticks in it.
    expect(md).toMatch(/````text\n[\s\S]*## LGTM[\s\S]*\n\s*````/);
    expect(prose.match(/<details>/g)!.length).toBe(prose.match(/<\/details>/g)!.length);
  });

  it('escapes markdown and HTML from manifests; fences cannot be broken by backticks in content', () => {
    expect(escapeMarkdown('<img src=x onerror=alert(1)> [link](http://x) | `x` @octocat')).toBe(
      '&lt;img src=x onerror=alert\\(1\\)&gt; \\[link\\]\\(http://x\\) \\| \\`x\\` @\u200boctocat',
    );
    const content = 'data:\n  script: "```\n</details>"';
    const fenced = fence(content);
    expect(fenced.startsWith('````diff\n')).toBe(true);
    expect(fenced.endsWith('\n````')).toBe(true);
  });

  it('as an HTML page: self-contained, and a hostile object name cannot inject markup (checked in Chromium)', () => {
    const evil = `x</summary></details><script>alert(1)</script><img src=x onerror=alert(2)> [ok](javascript:alert(3)) <a href="https://evil.example">x</a>`;
    const d: ClusterDiff = {
      ...diffOf(2),
      errors: [
        {
          cluster: 'clusters/production',
          owner: { ...owner, name: evil },
          message: `failed: ${evil}`,
          side: 'head',
          status: 'new',
          origin: { file: `apps/${evil}.yaml`, line: 3 },
        },
      ],
      warnings: [
        {
          cluster: 'clusters/production',
          object: `ConfigMap default/${evil}`,
          owners: [owner, { ...owner, name: evil }],
          origins: [undefined, { file: evil, line: 1 }],
          status: 'new',
        },
      ],
    };
    d.changes[0]!.name = evil;
    d.changes[0]!.owner = { ...owner, name: evil };
    d.changes[0]!.risks = [`deletes a Namespace ${evil}`];
    d.changes[0]!.fields = [{ path: `data.${evil}`, before: evil, after: '@octocat' }];
    const page = reviewHtml(
      reviewMarkdown(d, {
        footer: '<sub>fluxgate test · [run 7](https://github.com/acme/fleet/actions/runs/7)</sub>',
      }).markdown,
    );
    // The tags of a rendered review, and no others.
    const tags = new Set([...page.matchAll(/<([a-z][a-z0-9]*)[\s>/]/gi)].map((m) => m[1]!.toLowerCase()));
    const allowed = [
      'html',
      'head',
      'meta',
      'title',
      'style',
      'body',
      'main',
      'h2',
      'h3',
      'p',
      'ul',
      'li',
      'table',
      'thead',
      'tbody',
      'tr',
      'th',
      'td',
      'code',
      'pre',
      'strong',
      'em',
      'a',
      'details',
      'summary',
      'sub',
      'hr',
      'blockquote',
    ];
    expect([...tags].filter((t) => !allowed.includes(t))).toEqual([]);
    expect(page).not.toMatch(/<[^>]+\son\w+=/i);
    for (const [, href] of page.matchAll(/<a [^>]*href="([^"]*)"/g))
      expect(href).toMatch(
        /^(#fluxgate-owner-\d+|https:\/\/(github\.com\/acme\/fleet\/actions\/runs\/7|evil\.example))$/,
      );
    // Nothing loaded from elsewhere, nothing run.
    expect(page).not.toMatch(/<link|<script|<img|@import|url\(|<[^>]*\ssrc=/i);
    expect(page).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);

    // Raw HTML that got past the markdown escaping anyway is shown as text; our own tags stay.
    const raw = reviewHtml(
      '<img src=x onerror=alert(1)>\n\n<details><summary>ok</summary>\n\n<script>alert(1)</script>\n\n</details>\n\n[x](javascript:alert(1))',
    );
    expect(raw).not.toMatch(/<img|<script|href="javascript/);
    expect(raw).toContain('<details><summary>ok</summary>');
    expect(raw).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');

    // What a browser builds from it: the hostile text is text, never an element.
    const dir = mkdtempSync(join(tmpdir(), 'fg-html-'));
    writeFileSync(join(dir, 'review.html'), page);
    const dom = execFileSync(
      'chromium',
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        `--user-data-dir=${join(dir, 'profile')}`,
        '--dump-dom',
        `file://${join(dir, 'review.html')}`,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 120000 },
    );
    expect(dom).not.toMatch(/<script|<img/i);
    expect(dom).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(dom.match(/<details>/g)!.length).toBe(dom.match(/<\/details>/g)!.length);
  });
});
