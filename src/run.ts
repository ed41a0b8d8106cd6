import { errorLine, exitCodeOf } from './errors.js';
import type { CommandDefinition, CommandIO } from './commands/types.js';
import { redactingLogger } from './log.js';
import type { RawArgs } from './options/flags.js';
import { credentialParts, SecretRegistry } from './util/redact.js';

import { readRunLimits } from './options/common.js';
import { deadlineError } from './util/http.js';
import { withRunLimits } from './util/run-limits.js';

/** After the deadline, how long the command has to report which reference it was waiting on. */
const DEADLINE_GRACE_MS = 2000;

/**
 * Runs one command for either front end: raw values → typed options → the command. Errors
 * become one line on the logger and the contract's exit code. The command runs within its
 * `--timeout`: at the deadline every request in flight is aborted (each fails naming its
 * reference); a command still busy shortly after is abandoned with one line. Every exit of the
 * command (stdout, log, action outputs and summary) goes through the run's secret scrub.
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
  const deadline = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let grace: NodeJS.Timeout | undefined;
  try {
    const limits = readRunLimits(command.name, raw, deadline.signal);
    const options = command.toOptions(raw, io.env);
    const abandoned = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        deadline.abort(deadlineError(limits.timeout));
        grace = setTimeout(
          () => reject(new Error(`${command.name}: ${deadlineError(limits.timeout).message}`)),
          DEADLINE_GRACE_MS,
        );
      }, limits.timeoutMs);
    });
    const result = await Promise.race([withRunLimits(limits, () => command.run(options, safe)), abandoned]);
    for (const [name, value] of Object.entries(result.outputs ?? {})) safe.action?.setOutput(name, value);
    return result.exitCode;
  } catch (err) {
    const line = errorLine(err);
    safe.log.error(exitCodeOf(err) === 2 && io.usageWords ? io.usageWords(line) : line);
    // The frames only: a message's later lines may quote input (a YAML code frame, a tool's stderr).
    if (err instanceof Error && err.stack)
      safe.log.debug(
        err.stack
          .split('\n')
          .filter((l) => /^\s+at /.test(l))
          .join('\n'),
      );
    return exitCodeOf(err);
  } finally {
    clearTimeout(timer);
    clearTimeout(grace);
    // Whatever is still running (a request, a tool) stops with the command.
    if (!deadline.signal.aborted) deadline.abort(deadlineError('the end of the command'));
  }
}
