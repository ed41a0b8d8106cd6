import { Readable } from 'node:stream';
import { createGunzip, gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { FluxgateError } from '../../errors.js';
import type { ArtifactEntry } from './collect.js';
import { formatSize, runLimits } from '../../util/run-limits.js';

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
  /** Permission bits only (0o777): setuid, setgid and sticky never survive an unpack. */
  mode: number;
  content?: Buffer;
}

/**
 * Reads a layer with source-controller's rules (fluxcd/pkg tar.Untar): gzip required unless the
 * caller skips it, names never empty, absolute, with `\` or `../`; symlinks dropped; hard links
 * and other types refused; modes kept to their permission bits (`mode.Perm()`).
 *
 * Size: the files' sizes add up to at most `maxSize` (fluxcd/pkg tar `WithMaxUntarSize`, counted
 * from the headers as it does, so a bomb fails at its first oversized header); the decompressed
 * stream itself stops at twice that (headers and padding of a real artifact are far less).
 * Decompression streams: a gzip bomb never sits in memory.
 */
export async function readLayer(
  layer: Buffer,
  what: string,
  maxSize = runLimits().maxArtifactSize,
): Promise<UnpackedEntry[]> {
  const gzipped = layer[0] === 0x1f && layer[1] === 0x8b;
  const source = Readable.from([layer]);
  const gunzip = gzipped ? createGunzip() : undefined;
  const extract = tar.extract();
  const entries: UnpackedEntry[] = [];
  const tooLarge = () =>
    new FluxgateError(
      'INPUT',
      `${what}: the artifact is larger than the limit of ${formatSize(maxSize)} unpacked (--max-artifact-size)`,
    );
  let contentBytes = 0;
  let streamBytes = 0;
  let fail: (err: Error) => void = () => undefined;
  const stop = (err: Error) => {
    fail(err);
    source.destroy();
    gunzip?.destroy();
    extract.destroy();
  };
  const done = new Promise<void>((resolve, reject) => {
    fail = reject;
    extract.on('entry', (header, stream, next) => {
      contentBytes += header.size ?? 0;
      const name = header.name.replace(/\/+$/, '');
      if (contentBytes > maxSize) return stop(tooLarge());
      if (!name || name.startsWith('/') || name.includes('\\') || name === '..' || name.includes('../')) {
        return stop(new FluxgateError('INPUT', `${what}: refusing tar entry '${header.name}'`));
      }
      if (header.type !== 'file' && header.type !== 'directory' && header.type !== 'symlink') {
        return stop(
          new FluxgateError('INPUT', `${what}: unsupported file type ${header.type} for '${header.name}'`),
        );
      }
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        if (header.type === 'file' || header.type === 'directory') {
          entries.push({
            name: name.replace(/^\.\//, '') || '.',
            type: header.type,
            mode: (header.mode ?? 0) & 0o777,
            content: header.type === 'file' ? Buffer.concat(chunks) : undefined,
          });
        }
        next();
      });
    });
    extract.on('finish', resolve);
    extract.on('error', (err) =>
      reject(
        err instanceof FluxgateError
          ? err
          : new FluxgateError('INPUT', `${what}: the layer is not a valid tarball: ${err.message}`),
      ),
    );
    gunzip?.on('error', (err) =>
      reject(
        new FluxgateError('INPUT', `${what}: the layer is not valid gzip: ${err.message}`, { cause: err }),
      ),
    );
    (gunzip ?? source).on('data', (chunk: Buffer) => {
      streamBytes += chunk.length;
      if (streamBytes > 2 * maxSize) stop(tooLarge());
    });
  });
  if (gunzip) source.pipe(gunzip).pipe(extract);
  else source.pipe(extract);
  try {
    await done;
  } finally {
    source.destroy();
    gunzip?.destroy();
  }
  return entries;
}
