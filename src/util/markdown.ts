/** A zero-width space after `@`: the name still reads, and GitHub notifies nobody. */
const unmention = (text: string) => text.replace(/@/g, '@\u200b');

/**
 * Text from manifests and the pull request (names, messages) in markdown flow or a table cell:
 * it cannot open HTML or markdown constructs, start a line, or mention anyone.
 */
export function escapeMarkdown(text: string): string {
  return unmention(
    text
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/([\\`*_{}[\]()#+!|~])/g, '\\$1')
      .replace(/\r?\n|\r/g, ' '),
  );
}

/** Text inside raw HTML (a `<summary>`): markdown is not parsed there, HTML is. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/@/g, '@&#8203;')
    .replace(/\r?\n|\r/g, ' ');
}

/** A value as inline code in a table cell: no backticks to close it, no pipe to split the cell. */
export function cellCode(text: string): string {
  const clean = unmention(text)
    .replace(/`/g, "'")
    .replace(/\r?\n|\r/g, ' ')
    .replace(/\|/g, '\\|');
  return clean ? `\`${clean}\`` : '""';
}
