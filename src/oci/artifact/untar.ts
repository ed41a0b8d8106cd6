import { closeSync, constants, lstatSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import { FluxgateError } from '../../errors.js';
import { readLayer } from './tarball.js';

/**
 * Writes a layer's files under `destDir`, as fluxcd/pkg tar.Untar does: files keep their
 * permission bits only (no setuid, setgid or sticky), directories get perm|0700. The whole
 * layer is read and checked first (size cap, names, types, a name used as both file and
 * directory), so a refused layer writes nothing; nothing is written through a symlink that
 * already sits in the destination.
 */
export async function extractLayer(
  layer: Buffer,
  destDir: string,
  what = 'layer',
  maxSize?: number,
): Promise<void> {
  const root = resolve(destDir);
  const entries = await readLayer(layer, what, maxSize);
  const kinds = new Map<string, 'file' | 'directory'>();
  for (const entry of entries) {
    const target = resolve(root, entry.name);
    if (target !== root && !target.startsWith(root + sep)) {
      throw new FluxgateError('INPUT', `${what}: tar entry '${entry.name}' escapes the destination`);
    }
    for (let dir = dirname(target); dir.startsWith(root + sep); dir = dirname(dir)) {
      if (kinds.get(dir) === 'file') {
        throw new FluxgateError('INPUT', `${what}: tar entry '${entry.name}' is inside a file`);
      }
      kinds.set(dir, 'directory');
    }
    const known = kinds.get(target);
    if (known && known !== entry.type) {
      throw new FluxgateError('INPUT', `${what}: tar entry '${entry.name}' is both a file and a directory`);
    }
    kinds.set(target, entry.type);
  }

  mkdirSync(root, { recursive: true });
  for (const entry of entries) {
    const target = resolve(root, entry.name);
    refuseLinks(root, target, what);
    if (entry.type === 'directory') {
      mkdirSync(target, { recursive: true, mode: entry.mode | 0o700 });
      continue;
    }
    mkdirSync(dirname(target), { recursive: true });
    // A file already there is replaced, not rewritten: its old mode (and any link) goes with it.
    if (lstatSync(target, { throwIfNoEntry: false })) unlinkSync(target);
    const fd = openSync(
      target,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      (entry.mode || 0o600) & 0o777,
    );
    try {
      writeSync(fd, entry.content!);
    } finally {
      closeSync(fd);
    }
  }
}

/** Every existing component between the destination and the target must be a real directory. */
function refuseLinks(root: string, target: string, what: string): void {
  let path = root;
  for (const part of relative(root, target).split(sep).slice(0, -1)) {
    path = resolve(path, part);
    const stat = lstatSync(path, { throwIfNoEntry: false });
    if (!stat) return;
    if (!stat.isDirectory()) {
      throw new FluxgateError(
        'INPUT',
        `${what}: '${relative(root, path)}' in the destination is not a directory`,
      );
    }
  }
}
