import { createHash } from 'node:crypto';
import type { PlanTree } from '../../src/diff/changed.js';

/** A repository as an in-memory map of path → text, read as a git commit is (unit tests). */
export function memoryTree(files: Record<string, string>): PlanTree {
  const paths = Object.keys(files).sort();
  const dirs = new Set<string>(['']);
  for (const p of paths)
    for (let i = p.indexOf('/'); i >= 0; i = p.indexOf('/', i + 1)) dirs.add(p.slice(0, i));
  return {
    files: paths,
    isDirectory: (rel) => dirs.has(rel),
    read: (rel) => (rel in files ? files[rel]!.replace(/^\n/, '') : undefined),
    oid: (rel) => (rel in files ? createHash('sha1').update(files[rel]!).digest('hex') : undefined),
    load: () => {},
  };
}
