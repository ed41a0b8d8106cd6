import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { postReview, upsertStickyComment, commentMarker } from '../../src/github/review.js';
import { GitHubApi } from '../../src/github/api.js';
import { reviewMarkdown, escapeMarkdown, fence } from '../../src/diff/markdown.js';
import type { ClusterDiff } from '../../src/diff/objects.js';
import type { DiffOptions } from '../../src/commands/diff.js';
import { startFakeGitHub, type FakeGitHub } from '../support/github-api.js';

let gh: FakeGitHub;
beforeAll(async () => {
  gh = await startFakeGitHub(
    { 'bot-token': 'github-actions[bot]', 'someone-token': 'mallory', 'fork-token': 'github-actions[bot]' },
    ['fork-token'],
  );
});
afterAll(() => gh.stop());

const owner = { kind: 'Kustomization' as const, namespace: 'flux-system', name: 'apps' };
function diffOf(n: number, size = 10): ClusterDiff {
  return {
    changes: Array.from({ length: n }, (_, i) => ({
      cluster: 'clusters/production',
      owner: { ...owner, name: `app-${i}` },
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: 'default',
      name: `cm-${i}`,
      action: 'modified' as const,
      diff: `--- a\n+++ b\n@@ -1 +1 @@\n-${'x'.repeat(size)}\n+${'y'.repeat(size)}`,
    })),
    images: [],
    errors: [],
  };
}

function actionEnv(token: string, fork = false) {
  const dir = mkdtempSync(join(tmpdir(), 'fg-event-'));
  const event = join(dir, 'event.json');
  writeFileSync(
    event,
    JSON.stringify({
      pull_request: {
        number: 7,
        head: { repo: { full_name: fork ? 'someone/fleet' : 'acme/fleet' } },
        base: { repo: { full_name: 'acme/fleet' } },
      },
    }),
  );
  return {
    GITHUB_API_URL: gh.url,
    GITHUB_REPOSITORY: 'acme/fleet',
    GITHUB_EVENT_PATH: event,
    GITHUB_TOKEN: token,
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
      stdout() {},
      env,
      cwd: process.cwd(),
    },
  };
}

const options = {
  paths: ['clusters/production'],
  commentKey: undefined,
  githubToken: undefined,
} as unknown as DiffOptions;

describe('the sticky PR comment', () => {
  it('is created once, then updated in place; someone else’s comment with the marker is left alone', async () => {
    const marker = commentMarker('clusters/production');
    gh.comments.push({
      id: 999,
      body: `${marker}\nplanted by someone else`,
      user: { login: 'mallory' },
      html_url: 'x',
    });
    const first = await postReview(diffOf(1), options, io(actionEnv('bot-token')).io as never);
    expect(first).toMatch(/#issuecomment-\d+$/);
    const mine = gh.comments.filter((c) => c.user.login === 'github-actions[bot]');
    expect(mine).toHaveLength(1);
    expect(mine[0]!.body.startsWith(marker)).toBe(true);

    const second = await postReview(diffOf(2), options, io(actionEnv('bot-token')).io as never);
    expect(second).toBe(first);
    expect(gh.comments.filter((c) => c.user.login === 'github-actions[bot]')).toHaveLength(1);
    expect(gh.comments.find((c) => c.user.login === 'github-actions[bot]')!.body).toContain(
      '**2** objects changed',
    );
    expect(gh.comments.find((c) => c.id === 999)!.body).toBe(`${marker}\nplanted by someone else`);
    expect(gh.requests.filter((r) => r.startsWith('PATCH'))).toEqual([
      `PATCH /repos/acme/fleet/issues/comments/${mine[0]!.id}`,
    ]);
  });

  it('keeps one comment per key (several cluster sets in one PR)', async () => {
    const api = new GitHubApi(gh.url, 'bot-token');
    const a = await upsertStickyComment(api, { repo: 'acme/fleet', number: 8 }, 'staging', 'review A');
    const b = await upsertStickyComment(api, { repo: 'acme/fleet', number: 8 }, 'production', 'review B');
    expect(a).not.toBe(b);
  });

  it('stays within 65,536 characters by folding the largest sections first, and says so', async () => {
    const big = diffOf(12, 9000);
    const review = reviewMarkdown(big, { limit: 60_000 });
    expect(review.markdown.length).toBeLessThanOrEqual(60_000);
    expect(review.folded.length).toBeGreaterThan(0);
    expect(review.markdown).toMatch(/_\d+ sections? folded to stay within 60000 characters\._/);
    // The summary table survives folding.
    expect(review.markdown).toContain(
      '| clusters/production | Kustomization flux-system/app-11 | 0 | 0 | 1 | 0 |',
    );
    const posted = await postReview(
      big,
      { ...options, commentKey: 'big' } as DiffOptions,
      io(actionEnv('bot-token')).io as never,
    );
    expect(posted).toBeDefined();
    expect(gh.comments.at(-1)!.body.length).toBeLessThanOrEqual(65_536);
  });

  it('on a fork PR (read-only token) says why it could not comment, without failing', async () => {
    const { io: ctx, logs } = io(actionEnv('fork-token', true));
    expect(
      await postReview(diffOf(1), { ...options, commentKey: 'fork' } as DiffOptions, ctx as never),
    ).toBeUndefined();
    expect(logs.join('\n')).toContain(
      "a fork pull request gets a read-only token): the workflow needs 'permissions: pull-requests: write'",
    );
  });

  it('escapes markdown and HTML from manifests, and fences cannot be broken by backticks in content', () => {
    expect(escapeMarkdown('<img src=x onerror=alert(1)> [link](http://x) | `x`')).toBe(
      '&lt;img src=x onerror=alert\\(1\\)&gt; \\[link\\]\\(http://x\\) \\| \\`x\\`',
    );
    const content = 'data:\n  script: "```\n</details>"';
    const fenced = fence(content);
    expect(fenced.startsWith('````diff\n')).toBe(true);
    expect(fenced.endsWith('\n````')).toBe(true);
  });
});
