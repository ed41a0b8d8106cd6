import { UsageError } from '../errors.js';
import type { FlagSpec, RawArgs } from './flags.js';

/**
 * The CLI's argument parser: `--name value`, `--name=value`, `--switch`, `--no-switch`,
 * repeated list flags. Unknown flags are bad usage (exit 2), named in the message.
 */
export function parseArgv(command: string, argv: readonly string[], flags: readonly FlagSpec[]): RawArgs {
  const byName = new Map(flags.map((f) => [f.name, f]));
  const values = new Map<string, string | boolean | string[]>();
  const positionals: string[] = [];
  let onlyPositionals = false;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (onlyPositionals || !arg.startsWith('--') || arg === '-') {
      if (arg === '--' && !onlyPositionals) {
        onlyPositionals = true;
        continue;
      }
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    let name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    let inline: string | undefined = eq >= 0 ? arg.slice(eq + 1) : undefined;
    let spec = byName.get(name);
    if (!spec && name.startsWith('no-') && byName.get(name.slice(3))?.type === 'boolean') {
      spec = byName.get(name.slice(3));
      name = name.slice(3);
      if (inline !== undefined) throw new UsageError(`${command}: --no-${name} takes no value`);
      inline = 'false';
    }
    if (!spec) throw new UsageError(`${command}: unknown flag --${name} (see 'fluxgate ${command} --help')`);

    if (spec.type === 'boolean') {
      values.set(name, inline === undefined ? true : inline);
      continue;
    }
    if (inline === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        throw new UsageError(`${command}: --${name} needs a value`);
      }
      inline = next;
      i++;
    }
    if (spec.type === 'list') {
      const prev = values.get(name);
      const list = Array.isArray(prev) ? prev : [];
      list.push(inline);
      values.set(name, list);
    } else {
      if (values.has(name)) throw new UsageError(`${command}: --${name} given twice`);
      values.set(name, inline);
    }
  }
  return { values, positionals };
}
