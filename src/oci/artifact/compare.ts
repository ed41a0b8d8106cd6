import type { ArtifactEntry } from './collect.js';
import type { UnpackedEntry } from './tarball.js';

export interface EntryDifference {
  path: string;
  change: 'added' | 'removed' | 'modified' | 'mode';
}

/**
 * Compares unpacked entries (names, types, modes, contents), not gzip bytes: the same files
 * packed by another tool or compressor count as equal, unlike `flux diff artifact`.
 * `added` = only in the local directory, `removed` = only in the artifact.
 */
export function compareEntries(local: ArtifactEntry[], remote: UnpackedEntry[]): EntryDifference[] {
  const remoteByName = new Map(remote.map((e) => [e.name, e]));
  const differences: EntryDifference[] = [];
  for (const l of local) {
    if (l.name === '.') continue;
    const r = remoteByName.get(l.name);
    remoteByName.delete(l.name);
    if (!r) differences.push({ path: l.name, change: 'added' });
    else if (r.type !== l.type || (l.type === 'file' && !l.content.equals(r.content ?? Buffer.alloc(0)))) {
      differences.push({ path: l.name, change: 'modified' });
    } else if (r.mode !== l.mode) differences.push({ path: l.name, change: 'mode' });
  }
  for (const name of remoteByName.keys())
    if (name !== '.') differences.push({ path: name, change: 'removed' });
  return differences.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
