import type { CommandDefinition } from '../commands/types.js';
import type { FlagSpec } from './flags.js';

export function mainHelp(commands: readonly CommandDefinition<never>[], version: string): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    `fluxgate ${version}: render, diff, verify, build, push and sign Flux manifests and OCI artifacts`,
    '',
    'Usage: fluxgate <command> [flags]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'fluxgate <command> --help' for the flags of a command.",
    'Exit codes: 0 success, 1 the work failed, 2 bad usage.',
    '',
  ].join('\n');
}

export function commandHelp(command: CommandDefinition<never>): string {
  const flags = command.flags.filter((f) => !f.actionOnly || f.type === 'boolean');
  const positional = (command.positionals ?? []).map((p) => (p.required ? p.name : `[${p.name}]`)).join(' ');
  const label = (f: FlagSpec) =>
    `--${f.name}${f.type === 'boolean' ? '' : ` ${f.value ?? 'VALUE'}`}${f.type === 'list' ? '...' : ''}`;
  const width = Math.min(40, Math.max(...flags.map((f) => label(f).length)));
  return [
    `fluxgate ${command.name}: ${command.summary}`,
    '',
    `Usage: fluxgate ${[command.name, positional, ...flags.filter((f) => f.required).map(label)].filter(Boolean).join(' ')} [flags]`,
    ...(command.positionals ?? []).map((p) => `  ${p.name}: ${p.description}`),
    '',
    'Flags:',
    ...flags.map((f) => {
      const l = label(f);
      const text = `${f.required ? 'Required. ' : ''}${f.description}`;
      return l.length > width ? `  ${l}\n  ${''.padEnd(width)}  ${text}` : `  ${l.padEnd(width)}  ${text}`;
    }),
    `  ${'--help'.padEnd(width)}  Show this help.`,
    '',
  ].join('\n');
}
