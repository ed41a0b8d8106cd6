import type { Logger } from '../log.js';

/**
 * What domain work may touch of its surroundings: the logger, the environment and the working
 * directory. Printing, job summaries, outputs and comments belong to the commands.
 */
export interface WorkIO {
  log: Logger;
  env: NodeJS.ProcessEnv;
  cwd: string;
}
