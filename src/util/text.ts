/**
 * `text` as one printable line: control characters and the Unicode line separators (which YAML
 * 1.1 and some terminals treat as line breaks) become `\n`-style escapes, so a name from a
 * repository cannot start a line, a document or a workflow command of its own.
 */
export function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f\u0085\u2028\u2029]/g, (c) =>
    c === '\n'
      ? '\\n'
      : c === '\r'
        ? '\\r'
        : c === '\t'
          ? '\\t'
          : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
