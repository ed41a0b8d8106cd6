/**
 * A repository's files as the Flux graph reads them: a git commit (diff/git.ts CommitTree) or a
 * directory on disk (`directoryTree`). Paths are repository-relative with `/`.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface RepoFiles {
  /** Every file, sorted. */
  readonly files: readonly string[];
  isDirectory(rel: string): boolean;
  read(rel: string): string | undefined;
  /** A content id (a git blob id): equal ids mean equal content, so a parse can be reused. */
  oid?(rel: string): string | undefined;
  /** Reads many files at once before they are asked for one by one (a batch `git cat-file`). */
  load?(oids: string[]): void;
}

/** A file's content id as git computes it (a blob id): files of a git side and of a directory compare. */
export function blobId(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

/**
 * The files of a directory on disk, `.git` left out; `withIds`: with their blob ids (read and
 * hashed when asked for), so that parses kept by id apply to it.
 */
export function directoryTree(root: string, withIds = false): RepoFiles {
  const files: string[] = [];
  const dirs = new Set<string>(['']);
  const walk = (rel: string) => {
    let entries;
    try {
      entries = readdirSync(join(root, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.name === '.git') continue;
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        dirs.add(path);
        walk(path);
      } else if (entry.isFile()) files.push(path);
    }
  };
  walk('');
  files.sort();
  return {
    files,
    ...(withIds
      ? {
          oid: (rel: string) => {
            try {
              return blobId(readFileSync(join(root, rel)));
            } catch {
              return undefined;
            }
          },
        }
      : {}),
    isDirectory: (rel) => dirs.has(rel),
    read: (rel) => {
      try {
        return readFileSync(join(root, rel), 'utf8');
      } catch {
        return undefined;
      }
    },
  };
}
