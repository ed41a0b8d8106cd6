import { errorLine, exitCodeOf } from './errors.js';
import type { CommandDefinition, CommandIO } from './commands/types.js';
import type { RawArgs } from './options/flags.js';

/**
 * Runs one command for either front end: raw values → typed options → the command. Errors
 * become one line on the logger and the contract's exit code.
 */
export async function runCommand(
  command: CommandDefinition<unknown>,
  raw: RawArgs,
  io: CommandIO,
): Promise<number> {
  try {
    const options = command.toOptions(raw, io.env);
    const result = await command.run(options, io);
    for (const [name, value] of Object.entries(result.outputs ?? {})) io.action?.setOutput(name, value);
    return result.exitCode;
  } catch (err) {
    io.log.error(errorLine(err));
    if (err instanceof Error && err.stack) io.log.debug(err.stack);
    return exitCodeOf(err);
  }
}
