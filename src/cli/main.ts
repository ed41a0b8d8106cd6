import { commands, findCommand } from '../commands/index.js';
import { errorLine } from '../errors.js';
import { StderrLogger } from '../log.js';
import { parseArgv } from '../options/argv.js';
import { commandHelp, mainHelp } from '../options/help.js';
import { runCommand } from '../run.js';
import { VERSION } from '../version.js';

export interface CliIO {
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdout(text: string): void;
  stderr(text: string): void;
  /** stderr is a terminal: progress lines are drawn and rewritten in place. */
  stderrIsTTY?: boolean;
}

const processIO: CliIO = {
  env: process.env,
  cwd: process.cwd(),
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  stderrIsTTY: process.stderr.isTTY === true,
};

/** The CLI front end: argv in, exit code out. Everything else is the engine's. */
export async function cli(argv: readonly string[], io: CliIO = processIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(mainHelp(commands, VERSION));
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === 'version') {
    io.stdout(`${VERSION}\n`);
    return 0;
  }
  const command = findCommand(name);
  if (!command) {
    io.stderr(`error: unknown command '${name}' (run 'fluxgate --help' for the list)\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(commandHelp(command as never));
    return 0;
  }
  const log = new StderrLogger(
    rest.includes('--verbose'),
    (line) => io.stderr(line + '\n'),
    io.stderrIsTTY ? { raw: (text) => io.stderr(text) } : undefined,
  );
  let raw;
  try {
    raw = parseArgv(name, rest, command.flags);
  } catch (err) {
    log.error(errorLine(err));
    return 2;
  }
  try {
    return await runCommand(command, raw, { log, stdout: io.stdout, env: io.env, cwd: io.cwd });
  } finally {
    log.progress('');
  }
}
