import { gunzipSync, gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { FluxgateError } from '../../errors.js';
import type { ArtifactEntry } from './collect.js';

/**
 * The Flux content layer: a tar (uid/gid 0, no owner names, zero times) gzipped with a fixed
 * header (no name, mtime 0, OS byte 255 as Go writes it), so the same entries give the same bytes.
 */
export async function packLayer(entries: ArtifactEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  const common = { uid: 0, gid: 0, uname: '', gname: '', mtime: new Date(0) };
  for (const e of entries) {
    if (e.type === 'directory') {
      await addEntry(pack, { ...common, name: e.name, mode: e.mode, type: 'directory' } as tar.Header);
    } else {
      await addEntry(
        pack,
        { ...common, name: e.name, mode: e.mode, type: 'file', size: e.content.length } as tar.Header,
        e.content,
      );
    }
  }
  pack.finalize();
  await done;
  const gz = gzipSync(Buffer.concat(chunks));
  gz[9] = 0xff; // OS "unknown", as Go's compress/gzip writes: zlib would say which OS built it
  return gz;
}

function addEntry(pack: tar.Pack, header: tar.Header, content?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const callback = (err?: Error | null) => (err ? reject(err) : resolve());
    if (content) pack.entry(header, content, callback);
    else pack.entry(header, callback);
  });
}

export interface UnpackedEntry {
  name: string;
  type: 'file' | 'directory';
  mode: number;
  content?: Buffer;
}

/**
 * Reads a layer with source-controller's rules (fluxcd/pkg tar.Untar): gzip required unless the
 * caller skips it, names never empty, absolute, with `\` or `../`; symlinks dropped; hard links
 * and other types refused.
 */
export async function readLayer(layer: Buffer, what: string): Promise<UnpackedEntry[]> {
  let data: Buffer;
  try {
    data = layer[0] === 0x1f && layer[1] === 0x8b ? gunzipSync(layer) : layer;
  } catch (err) {
    throw new FluxgateError('INPUT', `${what}: the layer is not valid gzip`, { cause: err });
  }
  const extract = tar.extract();
  const entries: UnpackedEntry[] = [];
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        try {
          const name = header.name.replace(/\/+$/, '');
          if (!name || name.startsWith('/') || name.includes('\\') || name === '..' || name.includes('../')) {
            throw new FluxgateError('INPUT', `${what}: refusing tar entry '${header.name}'`);
          }
          if (header.type === 'file' || header.type === 'directory') {
            entries.push({
              name: name.replace(/^\.\//, '') || '.',
              type: header.type,
              mode: (header.mode ?? 0) & 0o7777,
              content: header.type === 'file' ? Buffer.concat(chunks) : undefined,
            });
          } else if (header.type !== 'symlink') {
            throw new FluxgateError(
              'INPUT',
              `${what}: unsupported file type ${header.type} for '${header.name}'`,
            );
          }
          next();
        } catch (err) {
          reject(err);
        }
      });
      stream.resume();
    });
    extract.on('finish', resolve);
    extract.on('error', (err) =>
      reject(new FluxgateError('INPUT', `${what}: the layer is not a valid tarball: ${err.message}`)),
    );
  });
  extract.end(data);
  await done;
  return entries;
}
