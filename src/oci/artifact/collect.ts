import { lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import ignore from 'ignore';
import { FluxgateError } from '../../errors.js';

/** `flux build/push artifact`'s default `--ignore-paths` (sourceignore ExcludeVCS + ExcludeExt). */
export const FLUX_DEFAULT_IGNORE = [
  '.git/',
  '.gitignore',
  '.gitmodules',
  '.gitattributes',
  '*.jpg',
  '*.jpeg',
  '*.gif',
  '*.png',
  '*.wmv',
  '*.flv',
  '*.tar.gz',
  '*.zip',
];

/** One tar entry, as the flux CLI writes it: relative slash-separated name, permission bits from disk. */
export type ArtifactEntry =
  | { type: 'directory'; name: string; mode: number }
  | { type: 'file'; name: string; mode: number; content: Buffer };

export interface CollectOptions {
  /** undefined: the flux CLI's defaults; a list replaces them. */
  ignorePaths?: string[];
  resolveSymlinks?: boolean;
  /** Called for each symlink skipped (flux skips them silently; we say so). */
  onSkip?: (path: string, why: string) => void;
}

/**
 * Walks a directory in `filepath.WalkDir` order (lexical, depth first, the root as `.`),
 * leaving out ignored paths and, unless asked to follow them, symlinks and special files.
 */
export function collectDirectory(root: string, options: CollectOptions = {}): ArtifactEntry[] {
  const matcher = ignore().add(options.ignorePaths ?? FLUX_DEFAULT_IGNORE);
  const rootReal = realpathSync(root);
  const entries: ArtifactEntry[] = [{ type: 'directory', name: '.', mode: statSync(root).mode & 0o7777 }];

  const walk = (dir: string, rel: string, ancestors: Set<string>) => {
    for (const name of readdirSync(dir).sort(byteOrder)) {
      const path = join(dir, name);
      const relName = rel ? `${rel}/${name}` : name;
      if (name.includes('\\')) {
        throw new FluxgateError(
          'INPUT',
          `${path}: file names with a backslash cannot be unpacked by source-controller`,
        );
      }
      let stat = lstatSync(path);
      if (stat.isSymbolicLink()) {
        if (!options.resolveSymlinks) {
          options.onSkip?.(relName, 'symlink (use --resolve-symlinks to copy its target)');
          continue;
        }
        let target: string;
        try {
          target = realpathSync(path);
        } catch {
          throw new FluxgateError('INPUT', `${path}: the symlink's target does not exist`);
        }
        if (target !== rootReal && !target.startsWith(rootReal + sep)) {
          throw new FluxgateError('INPUT', `${path}: the symlink points outside ${root} (to ${target})`);
        }
        stat = statSync(path);
      }
      const isDir = stat.isDirectory();
      if (matcher.ignores(isDir ? `${relName}/` : relName)) continue;
      if (isDir) {
        const real = realpathSync(path);
        // A symlinked directory that leads back up the tree would never end: break the cycle.
        if (ancestors.has(real)) {
          options.onSkip?.(relName, 'symlink cycle');
          continue;
        }
        entries.push({ type: 'directory', name: relName, mode: stat.mode & 0o7777 });
        walk(path, relName, new Set([...ancestors, real]));
      } else if (stat.isFile()) {
        entries.push({ type: 'file', name: relName, mode: stat.mode & 0o7777, content: readFileSync(path) });
      } else {
        options.onSkip?.(relName, 'not a regular file');
      }
    }
  };
  walk(root, '', new Set([rootReal]));
  return entries;
}

/** A single file, as the flux CLI packs it: inside a 0700 temp directory, under its base name. */
export function collectFile(path: string): ArtifactEntry[] {
  return [
    { type: 'directory', name: '.', mode: 0o700 },
    { type: 'file', name: basename(path), mode: statSync(path).mode & 0o7777, content: readFileSync(path) },
  ];
}

/**
 * Standard input, as the flux CLI packs it (trailing CR/LF trimmed, mode 0600). The flux CLI
 * names the file randomly; we name it after its content so that builds stay reproducible.
 */
export function collectStdin(content: Buffer): ArtifactEntry[] {
  const text = content.toString('utf8').replace(/[\r\n]+$/, '');
  return [
    { type: 'directory', name: '.', mode: 0o700 },
    { type: 'file', name: 'stdin.yaml', mode: 0o600, content: Buffer.from(text) },
  ];
}

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

export function relativeTo(root: string, path: string): string {
  return relative(root, path).split(sep).join('/');
}
