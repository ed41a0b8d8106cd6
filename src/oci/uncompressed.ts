import { gunzipSync, zstdDecompressSync } from 'node:zlib';
import { FluxgateError } from '../errors.js';
import { formatSize, runLimits } from '../util/run-limits.js';

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/**
 * A layer's uncompressed bytes as go-containerregistry reads them (pkg/v1/partial/compressed.go
 * compressedLayerExtender.Uncompressed, internal/compression PeekCompression): the first bytes,
 * not the media type, decide: gzip or zstd magic is decompressed, anything else is taken as it
 * is. At most `maxSize` bytes come out (default: the run's `--max-artifact-size`). Bytes after
 * the compressed stream fail, as Go's gzip and zstd readers fail on them (a second zstd frame,
 * which Go would read, is refused here too).
 */
export function uncompressedLayer(
  layer: Buffer,
  what: string,
  maxSize = runLimits().maxArtifactSize,
): Buffer {
  const format = layer.subarray(0, 2).equals(GZIP_MAGIC)
    ? 'gzip'
    : layer.subarray(0, 4).equals(ZSTD_MAGIC)
      ? 'zstd'
      : undefined;
  if (!format) return layer;
  let result: { buffer: Buffer; engine: { bytesWritten: number } };
  try {
    const options = { maxOutputLength: maxSize, info: true } as const;
    result = (format === 'gzip'
      ? gunzipSync(layer, options)
      : zstdDecompressSync(layer, options)) as unknown as {
      buffer: Buffer;
      engine: { bytesWritten: number };
    };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
      throw new FluxgateError(
        'INPUT',
        `${what}: larger than the limit of ${formatSize(maxSize)} uncompressed (--max-artifact-size)`,
      );
    throw new FluxgateError('INPUT', `${what}: not valid ${format}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  // node's readers stop early where Go's fail: zero padding after gzip, anything after a zstd frame.
  if (result.engine.bytesWritten !== layer.length)
    throw new FluxgateError('INPUT', `${what}: not valid ${format}: data after the compressed stream`);
  return result.buffer;
}
