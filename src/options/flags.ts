import { UsageError } from '../errors.js';

/**
 * Flag declarations, shared by both front ends: the CLI parses `--name value` against them and
 * the action reads the `with:` input of the same name. Each command turns the raw values into
 * its own typed options object (its `toOptions`), so that step exists once.
 */
export type FlagType = 'string' | 'boolean' | 'list';

export interface FlagSpec {
  name: string;
  type: FlagType;
  description: string;
  /** Placeholder shown in help, e.g. DIR. */
  value?: string;
  choices?: readonly string[];
  /** Default as documented (booleans default to false). */
  default?: string;
  /** Never printed; masked in the action. */
  secret?: boolean;
  /** Only meaningful in the action (e.g. comment posting); hidden from CLI help. */
  actionOnly?: boolean;
  /** The command fails without it (help marks it). */
  required?: boolean;
  /** The action input's name when it differs from the flag's (lists are plural there: `tags`). */
  input?: string;
  /** Earlier input names still read, with a warning (`tag` for `tags`). */
  deprecatedInputs?: string[];
}

/** The action input that carries a flag. */
export const inputName = (flag: FlagSpec) => flag.input ?? flag.name;

export interface PositionalSpec {
  name: string;
  description: string;
  required: boolean;
  /** The action input that carries it, e.g. `url`. */
  input: string;
}

/** Values as given, before a command types them. Lists are already split. */
export interface RawArgs {
  values: Map<string, string | boolean | string[]>;
  positionals: string[];
}

export function emptyRawArgs(): RawArgs {
  return { values: new Map(), positionals: [] };
}

export class ArgReader {
  constructor(
    private readonly command: string,
    private readonly raw: RawArgs,
  ) {}

  string(name: string): string | undefined {
    const v = this.raw.values.get(name);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw new UsageError(`${this.command}: --${name} takes a value`);
    return v;
  }

  /** `what` says what the value is, for the message when it is missing. */
  requiredString(name: string, what?: string): string {
    const v = this.string(name);
    if (v === undefined || v === '')
      throw new UsageError(`${this.command}: --${name} is required${what ? `: ${what}` : ''}`);
    return v;
  }

  choice<T extends string>(name: string, choices: readonly T[], fallback: T): T {
    const v = this.string(name);
    if (v === undefined || v === '') return fallback;
    if (!(choices as readonly string[]).includes(v)) {
      throw new UsageError(`${this.command}: --${name} must be one of ${choices.join('|')}, got '${v}'`);
    }
    return v as T;
  }

  boolean(name: string, fallback = false): boolean {
    const v = this.raw.values.get(name);
    if (v === undefined) return fallback;
    if (typeof v === 'boolean') return v;
    if (typeof v === 'string') return parseBoolean(this.command, name, v);
    throw new UsageError(`${this.command}: --${name} is a switch`);
  }

  list(name: string): string[] {
    const v = this.raw.values.get(name);
    if (v === undefined) return [];
    if (Array.isArray(v)) return v.flatMap(splitList);
    if (typeof v === 'string') return splitList(v);
    throw new UsageError(`${this.command}: --${name} takes values`);
  }

  integer(name: string, fallback: number, min = 1): number {
    const v = this.string(name);
    if (v === undefined || v === '') return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) {
      throw new UsageError(`${this.command}: --${name} must be a whole number ≥ ${min}, got '${v}'`);
    }
    return n;
  }

  /** A list whose items may contain commas (credentials): one per repetition or per line. */
  lines(name: string): string[] {
    const v = this.raw.values.get(name);
    if (v === undefined) return [];
    const items = Array.isArray(v) ? v : typeof v === 'string' ? [v] : undefined;
    if (!items) throw new UsageError(`${this.command}: --${name} takes values`);
    return items
      .flatMap((item) => item.split(/\r?\n/))
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
  }

  positional(index: number): string | undefined {
    return this.raw.positionals[index];
  }

  requiredPositional(index: number, what: string): string {
    const v = this.positional(index);
    if (!v) throw new UsageError(`${this.command}: ${what} is required`);
    return v;
  }
}

/** Lists are comma or newline separated, in action inputs and in each repeated CLI flag alike. */
export function splitList(value: string): string[] {
  return value
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export function parseBoolean(command: string, name: string, value: string): boolean {
  const v = value.trim().toLowerCase();
  if (v === '' || v === 'false' || v === '0' || v === 'no') return false;
  if (v === 'true' || v === '1' || v === 'yes') return true;
  throw new UsageError(`${command}: --${name} must be true or false, got '${value}'`);
}

/** `KEY=VALUE` pairs (mirrors, sources, annotations). */
export function parseKeyValue(command: string, flag: string, item: string): [string, string] {
  const i = item.indexOf('=');
  if (i <= 0 || i === item.length - 1) {
    throw new UsageError(`${command}: --${flag} expects KEY=VALUE, got '${item}'`);
  }
  return [item.slice(0, i), item.slice(i + 1)];
}
