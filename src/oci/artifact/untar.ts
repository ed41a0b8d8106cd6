import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { FluxgateError } from '../../errors.js';
import { readLayer } from './tarball.js';

/** Writes a layer's files under `destDir` (dirs get perm|0700, as source-controller extracts). */
export async function extractLayer(layer: Buffer, destDir: string, what = 'layer'): Promise<void> {
  const root = resolve(destDir);
  mkdirSync(root, { recursive: true });
  for (const entry of await readLayer(layer, what)) {
    const target = resolve(root, entry.name);
    if (target !== root && !target.startsWith(root + sep)) {
      throw new FluxgateError('INPUT', `${what}: tar entry '${entry.name}' escapes the destination`);
    }
    if (entry.type === 'directory') {
      mkdirSync(target, { recursive: true, mode: entry.mode | 0o700 });
    } else {
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(join(target), entry.content!, { mode: entry.mode || 0o600 });
    }
  }
}
