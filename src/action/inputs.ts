import { findCommand } from '../commands/index.js';
import type { CommandDefinition } from '../commands/types.js';
import { UsageError } from '../errors.js';
import { inputName, type RawArgs } from '../options/flags.js';
import { credentialParts } from '../util/redact.js';
import { credentialSecrets } from '../oci/auth.js';

/** The action's commands: the CLI's, minus the ones that only make sense at a terminal. */
export const ACTION_COMMANDS = [
  'render',
  'diff',
  'merge',
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
  /** Inputs the command does not read, deprecated names: said as warnings, never a failure. */
  warnings: string[];
}

/** Inputs every command reads. */
const COMMON_INPUTS = ['command', 'github-token'];

/**
 * The inputs a step was given, from the runner's `INPUT_<NAME>` variables (the name upper-cased,
 * as @actions/core getInput reads it), non-empty only.
 */
export function givenInputs(env: NodeJS.ProcessEnv): string[] {
  return Object.entries(env)
    .filter(([key, value]) => key.startsWith('INPUT_') && value !== undefined && value.trim() !== '')
    .map(([key]) => key.slice('INPUT_'.length).toLowerCase());
}

/**
 * The action's one inputs boundary: `with:` inputs of the command's flag names (kebab-case;
 * lists plural, as docker's actions name them: `tags`, `annotations`) become the same raw values
 * the CLI parser produces, so both front ends share `toOptions`. `given` are the inputs the step
 * set: one the command does not read is a warning naming it.
 */
export function readActionInputs(getInput: (name: string) => string, given: string[] = []): ActionInputs {
  const name = getInput('command').trim();
  if (!name) throw new UsageError(`input 'command' is required (one of ${ACTION_COMMANDS.join(', ')})`);
  const command = ACTION_COMMANDS.includes(name) ? findCommand(name) : undefined;
  if (!command)
    throw new UsageError(`input 'command': unknown command '${name}' (one of ${ACTION_COMMANDS.join(', ')})`);

  const values = new Map<string, string | boolean | string[]>();
  const secrets: string[] = [];
  const warnings: string[] = [];
  const read = new Set(COMMON_INPUTS);
  for (const flag of command.flags) {
    const input = inputName(flag);
    read.add(input);
    let value = getInput(input);
    for (const old of flag.deprecatedInputs ?? []) {
      read.add(old);
      const oldValue = getInput(old);
      if (oldValue === '') continue;
      if (value === '') {
        value = oldValue;
        warnings.push(`input '${old}' is deprecated: use '${input}'`);
      } else warnings.push(`input '${old}' is ignored: '${input}' is given (and '${old}' is deprecated)`);
    }
    if (value === '') continue;
    if (flag.secret)
      secrets.push(...(flag.name === 'creds' ? credentialSecrets(value) : credentialParts(value)));
    values.set(flag.name, value);
  }
  const positionals: string[] = [];
  for (const p of command.positionals ?? []) {
    read.add(p.input);
    const value = getInput(p.input).trim();
    if (value) positionals.push(value);
  }
  for (const input of given)
    if (!read.has(input)) warnings.push(`input '${input}' is not used by command '${command.name}'; ignored`);
  const githubToken = getInput('github-token') || undefined;
  if (githubToken) secrets.push(githubToken);
  return { command, raw: { values, positionals }, secrets, githubToken, warnings };
}

/**
 * A usage error as the action's user reads it: flags named as the inputs that carry them
 * (`--tag` → input 'tags'), the reference positional as input 'url'.
 */
export function inActionWords(command: CommandDefinition<unknown>, message: string): string {
  const flags = new Map(command.flags.map((f) => [f.name, inputName(f)]));
  const url = command.positionals?.[0]?.input;
  return message
    .replace(/--(?:no-)?([a-z0-9][a-z0-9-]*)/g, (all, flag: string) =>
      flags.has(flag) ? `input '${flags.get(flag)}'` : all,
    )
    .replace(/\ban? oci:\/\/\S+ reference is required/, (all) =>
      url ? `input '${url}' is required (${all.replace(/ is required$/, '')})` : all,
    );
}
