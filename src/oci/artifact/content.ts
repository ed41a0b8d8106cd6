import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { FluxgateError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { ContentOptions } from './options.js';
import { collectDirectory, collectFile, collectStdin, type ArtifactEntry } from './collect.js';
import { packLayer } from './tarball.js';

/** The entries of `--path` (directory, single file or `-` for stdin), as the flux CLI collects them. */
export function collectContent(
  options: ContentOptions,
  cwd: string,
  log: Logger,
  stdin?: () => Buffer,
): ArtifactEntry[] {
  if (options.path === '-') return collectStdin(stdin ? stdin() : readFileSync(0));
  const path = resolve(cwd, options.path);
  if (!existsSync(path))
    throw new FluxgateError('INPUT', `--path ${options.path}: no such file or directory`, { exitCode: 2 });
  if (statSync(path).isFile()) return collectFile(path);
  return collectDirectory(path, {
    ignorePaths: options.ignorePaths,
    resolveSymlinks: options.resolveSymlinks,
    onSkip: (p, why) => log.warn(`${options.path}/${p}: skipped, ${why}`),
  });
}

export async function buildLayer(options: ContentOptions, cwd: string, log: Logger): Promise<Buffer> {
  return packLayer(collectContent(options, cwd, log));
}
