import type { CommandDefinition } from './types.js';
import { renderCommand } from './render.js';
import { diffCommand } from './diff.js';
import { mergeCommand } from './merge.js';
import { verifyCommand } from './verify.js';
import { buildCommand } from './build.js';
import { pushCommand } from './push.js';
import { signCommand } from './sign.js';
import { tagCommand } from './tag.js';
import { pullCommand } from './pull.js';
import { diffArtifactCommand } from './diff-artifact.js';
import { generateKeyPairCommand } from './generate-key-pair.js';
import { attestCommand } from './attest.js';
import { migrateCommand } from './migrate.js';
import { waitCommand } from './wait.js';

/** Every command, in the order help lists them. */
export const commands: readonly CommandDefinition<never>[] = [
  renderCommand,
  diffCommand,
  mergeCommand,
  verifyCommand,
  buildCommand,
  pushCommand,
  signCommand,
  attestCommand,
  tagCommand,
  pullCommand,
  waitCommand,
  diffArtifactCommand,
  migrateCommand,
  generateKeyPairCommand,
] as unknown as CommandDefinition<never>[];

export function findCommand(name: string): CommandDefinition<unknown> | undefined {
  return commands.find((c) => c.name === name) as CommandDefinition<unknown> | undefined;
}
