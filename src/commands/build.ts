import { writeFileSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ArgReader } from '../options/flags.js';
import { verboseFlag } from '../options/common.js';
import { defineCommand } from './types.js';
import { contentFlags, printJson, readContentOptions, type ContentOptions } from './artifact-flags.js';
import { buildLayer } from '../oci/artifact/content.js';
import { sha256Digest } from '../oci/client.js';

export interface BuildOptions extends ContentOptions {
  output: string;
  format: 'text' | 'json';
}

export const buildCommand = defineCommand<BuildOptions>({
  name: 'build',
  summary: 'Build the Flux artifact layer (tar+gzip) of a directory, reproducibly.',
  flags: [
    ...contentFlags,
    {
      name: 'output',
      type: 'string',
      value: 'FILE.tgz',
      description: 'Where to write the layer. Default artifact.tgz.',
    },
    {
      name: 'format',
      type: 'string',
      value: 'text|json',
      choices: ['text', 'json'],
      description: 'Output format.',
    },
    verboseFlag,
  ],
  toOptions(raw) {
    const args = new ArgReader('build', raw);
    return {
      ...readContentOptions(args, raw),
      output: args.string('output') || 'artifact.tgz',
      format: args.choice('format', ['text', 'json'] as const, 'text'),
    };
  },
  async run(options, io) {
    const layer = await buildLayer(options, io.cwd, io.log);
    const output = resolve(io.cwd, options.output);
    // Written beside the target and renamed, so a failed build never leaves half a file.
    const tmp = join(dirname(output), `.${Date.now()}-${process.pid}.tgz.tmp`);
    writeFileSync(tmp, layer, { mode: 0o640 });
    renameSync(tmp, output);
    const digest = sha256Digest(layer);
    if (options.format === 'json') printJson(io, { path: output, digest, size: layer.length });
    else io.log.info(`artifact built at ${output} (${digest}, ${layer.length} bytes)`);
    return { exitCode: 0, outputs: { digest } };
  },
});
