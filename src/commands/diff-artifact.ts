import { ArgReader } from '../options/flags.js';
import { formatFlag, registryFlags, urlPositional, verboseFlag } from '../options/common.js';
import { defineCommand } from './types.js';
import { notImplemented } from './not-implemented.js';
import { contentFlags, readContentOptions, type ContentOptions } from './artifact-flags.js';
import { UsageError } from '../errors.js';

export interface DiffArtifactOptions extends ContentOptions {
  url: string;
  format: 'text' | 'json';
  insecureRegistry: boolean;
  creds?: string;
}

export const diffArtifactCommand = defineCommand<DiffArtifactOptions>({
  name: 'diff-artifact',
  summary: 'Say whether a directory differs from a pushed artifact, entry by entry (names, modes, contents).',
  positionals: [urlPositional(true, 'The pushed artifact.')],
  flags: [...contentFlags, formatFlag(['text', 'json'], 'text'), ...registryFlags, verboseFlag],
  toOptions(raw) {
    const args = new ArgReader('diff-artifact', raw);
    const url = args.requiredPositional(0, 'an oci://HOST/REPO[:TAG|@DIGEST] reference');
    if (!url.startsWith('oci://'))
      throw new UsageError(`diff-artifact: expected an oci:// reference, got '${url}'`);
    return {
      ...readContentOptions(args, raw),
      url,
      format: args.choice('format', ['text', 'json'] as const, 'text'),
      insecureRegistry: args.boolean('insecure-registry'),
      creds: args.string('creds') || undefined,
    };
  },
  async run() {
    notImplemented('diff-artifact');
  },
});
