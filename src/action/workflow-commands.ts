import { randomBytes } from 'node:crypto';

/**
 * What the runner would read as a workflow command in a line of the log (actions/runner
 * ActionCommand.TryParseV2: `::` after leading whitespace; TryParse: `##[` anywhere in the line).
 */
const COMMAND = /^\s*::|##\[/m;

/**
 * Text a repository, chart or registry controls (rendered YAML, a diff, verify text, a pulled
 * artifact's revision), made inert for the Actions log: when a line could act as a workflow
 * command, the whole text is bracketed by `::stop-commands::TOKEN` … `::TOKEN::` (@actions/core
 * toolkit docs, "Stopping and starting workflow commands"), with a fresh random token the text
 * cannot know or contain. Text without such a line is returned as is.
 */
export function inertForLog(text: string): string {
  if (!COMMAND.test(text)) return text;
  let token: string;
  do token = randomBytes(16).toString('hex');
  while (text.includes(token));
  const body = text.endsWith('\n') ? text : `${text}\n`;
  return `::stop-commands::${token}\n${body}::${token}::\n`;
}
