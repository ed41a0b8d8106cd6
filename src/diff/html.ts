import { Marked, type Tokens } from 'marked';

/**
 * The raw HTML the review's markdown may hold: ours (markdown.ts writes these, with every name
 * inside escaped). Any other tag in an HTML token is shown as text: text from a pull request
 * that got past the markdown escaping still cannot become markup.
 */
const OWN_TAGS = [
  /^<details( open)?>$/,
  /^<\/details>$/,
  /^<summary>$/,
  /^<\/summary>$/,
  /^<a id="fluxgate-owner-\d+">$/,
  /^<\/a>$/,
  /^<sub>$/,
  /^<\/sub>$/,
  /^<br ?\/?>$/,
];

const text = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const attribute = (s: string) => text(s).replace(/"/g, '&quot;');

function ownHtml(html: string): string {
  // Tags we wrote stay; anything else, and any stray angle bracket, is text.
  return html
    .split(/(<[^<>]*>)/)
    .map((part) => (OWN_TAGS.some((re) => re.test(part)) ? part : text(part)))
    .join('')
    .replace(/&amp;(#?\w+;)/g, '&$1');
}

/** Links go to the review's own sections or to https pages (the run, GitHub's autolinks). */
const safeHref = (href: string) => /^#[\w-]+$/.test(href) || /^https:\/\/[^\s"'<>]+$/.test(href);

const marked = new Marked({
  gfm: true,
  breaks: false,
  renderer: {
    html({ text: html }: Tokens.HTML | Tokens.Tag) {
      return ownHtml(html);
    },
    link({ href, tokens }: Tokens.Link) {
      const label = this.parser.parseInline(tokens);
      return safeHref(href) ? `<a href="${attribute(href)}">${label}</a>` : label;
    },
    image({ text: alt }: Tokens.Image) {
      return text(alt);
    },
  },
});

/** GitHub's look, close enough to read the review as reviewers see it; no external asset. */
const CSS = `
:root { color-scheme: light; }
body { font-family: -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; font-size: 14px;
  line-height: 1.5; color: #1f2328; background: #fff; margin: 0; padding: 24px; }
main { max-width: 1012px; margin: 0 auto; border: 1px solid #d1d9e0; border-radius: 6px; padding: 16px 24px; }
h2 { font-size: 1.5em; border-bottom: 1px solid #d1d9e0b3; padding-bottom: .3em; margin-top: 0; }
h3 { font-size: 1.25em; margin: 24px 0 16px; }
table { border-collapse: collapse; margin: 0 0 16px; display: block; max-width: 100%; overflow: auto; }
th, td { border: 1px solid #d1d9e0; padding: 6px 13px; }
th { font-weight: 600; background: #f6f8fa; } tr:nth-child(2n) { background: #f6f8fa; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 85%;
  background: #818b981f; border-radius: 6px; padding: .2em .4em; overflow-wrap: anywhere; }
pre { background: #f6f8fa; border-radius: 6px; padding: 16px; overflow: auto; font-size: 85%; line-height: 1.45; }
pre code { background: none; padding: 0; font-size: 100%; overflow-wrap: normal; }
details { margin: 0 0 8px; border: 1px solid #d1d9e0; border-radius: 6px; padding: 4px 12px; }
details[open] { padding-bottom: 8px; }
summary { cursor: pointer; font-weight: 600; }
blockquote { border-left: .25em solid #0969da; margin: 0 0 16px; padding: 0 1em; }
a { color: #0969da; text-decoration: none; } a:hover { text-decoration: underline; }
hr { border: 0; border-top: 1px solid #d1d9e0; } sub { color: #59636e; }
ul { padding-left: 2em; }
@media print { details { break-inside: avoid; } }
`;

/**
 * The review as one self-contained HTML page (a workflow artifact to open in a browser): the
 * markdown through marked (GitHub-flavoured), our own tags only, inline CSS, and a content
 * security policy that loads nothing and runs nothing.
 */
export function reviewHtml(markdown: string, title = 'fluxgate diff'): string {
  const body = marked.parse(markdown, { async: false });
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${attribute(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}
