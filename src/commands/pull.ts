import { ArgReader } from '../options/flags.js';
import { formatFlag, registryFlags, urlPositional, verboseFlag } from '../options/common.js';
import { defineCommand } from './types.js';
import { notImplemented } from './not-implemented.js';
import { UsageError } from '../errors.js';

export interface PullOptions {
  url: string;
  output: string;
  format: 'text' | 'json';
  insecureRegistry: boolean;
  creds?: string;
}

export const pullCommand = defineCommand<PullOptions>({
  name: 'pull',
  summary: "Write a Flux artifact's content to a directory.",
  positionals: [urlPositional(true, 'The artifact to pull.')],
  flags: [
    {
      name: 'output',
      type: 'string',
      value: 'DIR',
      description: 'Directory to write the content into (required).',
    },
    formatFlag(['text', 'json'], 'text'),
    ...registryFlags,
    verboseFlag,
  ],
  toOptions(raw) {
    const args = new ArgReader('pull', raw);
    const url = args.requiredPositional(0, 'an oci://HOST/REPO[:TAG|@DIGEST] reference');
    if (!url.startsWith('oci://')) throw new UsageError(`pull: expected an oci:// reference, got '${url}'`);
    return {
      url,
      output: args.requiredString('output'),
      format: args.choice('format', ['text', 'json'] as const, 'text'),
      insecureRegistry: args.boolean('insecure-registry'),
      creds: args.string('creds') || undefined,
    };
  },
  async run() {
    notImplemented('pull');
  },
});
