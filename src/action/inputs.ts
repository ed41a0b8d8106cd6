import { findCommand } from '../commands/index.js';
import type { CommandDefinition } from '../commands/types.js';
import { UsageError } from '../errors.js';
import type { RawArgs } from '../options/flags.js';
import { credentialParts } from '../util/redact.js';
import { credentialSecrets } from '../oci/auth.js';

/** The action's commands: the CLI's, minus the ones that only make sense at a terminal. */
export const ACTION_COMMANDS = [
  'render',
  'diff',
  'verify',
  'build',
  'push',
  'sign',
  'attest',
  'tag',
  'pull',
  'wait',
  'diff-artifact',
  'migrate',
];

export interface ActionInputs {
  command: CommandDefinition<unknown>;
  raw: RawArgs;
  /** Credentials to mask before anything is logged. */
  secrets: string[];
  githubToken?: string;
}

/**
 * The action's one inputs boundary: `with:` inputs of the command's flag names (kebab-case)
 * become the same raw values the CLI parser produces, so both front ends share `toOptions`.
 */
export function readActionInputs(getInput: (name: string) => string): ActionInputs {
  const name = getInput('command').trim();
  if (!name) throw new UsageError(`input 'command' is required (one of ${ACTION_COMMANDS.join(', ')})`);
  const command = ACTION_COMMANDS.includes(name) ? findCommand(name) : undefined;
  if (!command)
    throw new UsageError(`input 'command': unknown command '${name}' (one of ${ACTION_COMMANDS.join(', ')})`);

  const values = new Map<string, string | boolean | string[]>();
  const secrets: string[] = [];
  for (const flag of command.flags) {
    const value = getInput(flag.name);
    if (value === '') continue;
    if (flag.secret)
      secrets.push(...(flag.name === 'creds' ? credentialSecrets(value) : credentialParts(value)));
    values.set(flag.name, value);
  }
  const positionals: string[] = [];
  for (const p of command.positionals ?? []) {
    const value = getInput(p.input).trim();
    if (value) positionals.push(value);
  }
  const githubToken = getInput('github-token') || undefined;
  if (githubToken) secrets.push(githubToken);
  return { command, raw: { values, positionals }, secrets, githubToken };
}
