import type { Logger } from '../log.js';
import type { FlagSpec, PositionalSpec, RawArgs } from '../options/flags.js';
import type { SecretRegistry } from '../util/redact.js';
import { timeoutFlag } from '../options/common.js';

/** What a command may touch: everything else comes in through its typed options. */
export interface CommandIO {
  log: Logger;
  /** Machine or human output (stdout). */
  stdout(text: string): void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Present when running as the GitHub Action. */
  action?: ActionSink;
  /**
   * The run's secret values (src/util/redact.ts). runCommand creates it and scrubs stdout, the
   * log, outputs and the summary with it; code that writes anywhere else (a file, the PR comment)
   * passes its text through `secrets.redact`.
   */
  secrets?: SecretRegistry;
  /** Rewords a usage error (exit 2) for the front end: the action names inputs, not flags. */
  usageWords?: (message: string) => string;
}

/** What the action front end does with a command's results; the CLI has none. */
export interface ActionSink {
  setOutput(name: string, value: string): void;
  appendSummary(markdown: string): Promise<void>;
}

export interface CommandResult {
  exitCode: 0 | 1;
  /** Action outputs (kebab-case), mirrors of the JSON output. */
  outputs?: Record<string, string>;
}

export interface CommandDefinition<O = unknown> {
  name: string;
  summary: string;
  flags: FlagSpec[];
  positionals?: PositionalSpec[];
  /** The one place raw CLI/action values become this command's typed options. */
  toOptions(raw: RawArgs, env: NodeJS.ProcessEnv): O;
  run(options: O, io: CommandIO): Promise<CommandResult>;
}

/** Every command also takes `--timeout`, its overall deadline (run.ts enforces it). */
export function defineCommand<O>(def: CommandDefinition<O>): CommandDefinition<O> {
  return def.flags.some((f) => f.name === timeoutFlag.name)
    ? def
    : { ...def, flags: [...def.flags, timeoutFlag] };
}
