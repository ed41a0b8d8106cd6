import { ArgReader } from '../options/flags.js';
import { verboseFlag } from '../options/common.js';
import { defineCommand } from './types.js';
import { notImplemented } from './not-implemented.js';
import { contentFlags, readContentOptions, type ContentOptions } from './artifact-flags.js';

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
  async run() {
    notImplemented('build');
  },
});
