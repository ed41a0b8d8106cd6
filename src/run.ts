import { errorLine, exitCodeOf } from './errors.js';
import type { CommandDefinition, CommandIO } from './commands/types.js';
import { redactingLogger } from './log.js';
import type { RawArgs } from './options/flags.js';
import { credentialParts, SecretRegistry } from './util/redact.js';

/**
 * Runs one command for either front end: raw values → typed options → the command. Errors
 * become one line on the logger and the contract's exit code. Every exit of the command
 * (stdout, log, action outputs and summary) goes through the run's secret scrub.
 */
export async function runCommand(
  command: CommandDefinition<unknown>,
  raw: RawArgs,
  io: CommandIO,
): Promise<number> {
  const secrets = io.secrets ?? new SecretRegistry();
  // The action registers each value with the runner too (core.setSecret).
  secrets.onAdd((form) => io.log.mask(form));
  for (const flag of command.flags) {
    const value = raw.values.get(flag.name);
    if (flag.secret && typeof value === 'string')
      for (const part of credentialParts(value)) secrets.add(part);
  }
  const redact = (text: string) => secrets.redact(text);
  const action = io.action;
  const safe: CommandIO = {
    ...io,
    secrets,
    log: redactingLogger(io.log, redact),
    stdout: (text) => io.stdout(redact(text)),
    action: action && {
      setOutput: (name, value) => action.setOutput(name, redact(value)),
      appendSummary: (markdown) => action.appendSummary(redact(markdown)),
    },
  };
  try {
    const options = command.toOptions(raw, io.env);
    const result = await command.run(options, safe);
    for (const [name, value] of Object.entries(result.outputs ?? {})) safe.action?.setOutput(name, value);
    return result.exitCode;
  } catch (err) {
    safe.log.error(errorLine(err));
    // The frames only: a message's later lines may quote input (a YAML code frame, a tool's stderr).
    if (err instanceof Error && err.stack)
      safe.log.debug(
        err.stack
          .split('\n')
          .filter((l) => /^\s+at /.test(l))
          .join('\n'),
      );
    return exitCodeOf(err);
  }
}
