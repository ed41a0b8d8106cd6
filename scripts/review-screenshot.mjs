// Renders a review (markdown from `fluxgate diff`) the way GitHub shows it, close enough to judge
// by eye: GitHub-flavoured markdown through `marked`, GitHub-like CSS, then a headless Chromium
// screenshot. Usage: node scripts/review-screenshot.mjs REVIEW.md OUT.png
// Owner <details> sections are opened so the screenshot shows the change lists.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { marked } from 'marked';

const [input, output] = process.argv.slice(2);
// Owner sections are opened; the folded long tables stay folded, as a reader first sees them.
const markdown = readFileSync(input, 'utf8').replace(/<details>(?!<summary>[^<]*: the table<\/summary>)/g, '<details open>');
const css = `
body { font-family: -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; font-size: 14px;
  line-height: 1.5; color: #1f2328; background: #fff; margin: 0; padding: 24px; }
.comment { max-width: 900px; border: 1px solid #d1d9e0; border-radius: 6px; padding: 16px 24px; }
h2 { font-size: 1.5em; border-bottom: 1px solid #d1d9e0b3; padding-bottom: .3em; margin-top: 0; }
h3 { font-size: 1.25em; margin: 24px 0 16px; }
table { border-collapse: collapse; margin: 0 0 16px; display: block; overflow: auto; }
th, td { border: 1px solid #d1d9e0; padding: 6px 13px; }
th { font-weight: 600; } tr:nth-child(2n) { background: #f6f8fa; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 85%; background: #818b981f;
  border-radius: 6px; padding: .2em .4em; }
pre { background: #f6f8fa; border-radius: 6px; padding: 16px; overflow: auto; font-size: 85%; line-height: 1.45; }
pre code { background: none; padding: 0; font-size: 100%; }
details { margin: 0 0 16px; } summary { cursor: pointer; font-weight: 600; }
blockquote { border-left: .25em solid #0969da; color: #1f2328; margin: 0 0 16px; padding: 0 1em; }
a { color: #0969da; text-decoration: none; } hr { border: 0; border-top: 1px solid #d1d9e0; }
sub { color: #59636e; }
`;
const html = `<!doctype html><meta charset="utf-8"><style>${css}</style><div class="comment">${marked.parse(markdown, { gfm: true })}</div>`;
const dir = mkdtempSync(join(tmpdir(), 'fluxgate-shot-'));
writeFileSync(join(dir, 'review.html'), html);
execFileSync(
  'chromium',
  [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--no-first-run',
    `--user-data-dir=${join(dir, 'profile')}`,
    `--screenshot=${resolve(output)}`,
    '--window-size=1000,2000',
    `file://${join(dir, 'review.html')}`,
  ],
  { stdio: 'ignore' },
);
