import { ArgReader, parseKeyValue } from '../options/flags.js';
import { formatFlag, registryFlags, signingFlags, urlPositional, verboseFlag } from '../options/common.js';
import { defineCommand } from './types.js';
import { notImplemented } from './not-implemented.js';
import {
  contentFlags,
  readContentOptions,
  readSigningOptions,
  type ContentOptions,
  type SigningOptions,
} from './artifact-flags.js';
import { UsageError } from '../errors.js';

export interface PushOptions extends ContentOptions {
  url: string;
  source?: string;
  revision?: string;
  tags: string[];
  reproducible: boolean;
  annotations: [string, string][];
  signing?: SigningOptions;
  format: 'text' | 'json';
  insecureRegistry: boolean;
  creds?: string;
}

export const pushCommand = defineCommand<PushOptions>({
  name: 'push',
  summary: 'Build a directory as a Flux OCI artifact, push it, tag it and optionally sign it.',
  positionals: [urlPositional(true, 'Where to push, e.g. oci://ghcr.io/org/app/manifests:v1.2.3.')],
  flags: [
    ...contentFlags,
    {
      name: 'source',
      type: 'string',
      value: 'URL',
      description: 'org.opencontainers.image.source (action default: the repository URL).',
    },
    {
      name: 'revision',
      type: 'string',
      value: 'REV',
      description:
        'org.opencontainers.image.revision, e.g. main@sha1:<sha> (action default: from the GitHub context).',
    },
    { name: 'tag', type: 'list', value: 'TAG', description: 'More tags for the pushed digest.' },
    {
      name: 'reproducible',
      type: 'boolean',
      description: 'Fixed created time: the same content gives the same digest.',
    },
    { name: 'annotation', type: 'list', value: 'KEY=VALUE', description: 'Extra manifest annotations.' },
    {
      name: 'sign',
      type: 'string',
      value: 'cosign|notation',
      choices: ['cosign', 'notation'],
      description: 'Sign the pushed digest.',
    },
    ...signingFlags,
    formatFlag(['text', 'json'], 'text'),
    ...registryFlags,
    verboseFlag,
  ],
  toOptions(raw, env) {
    const args = new ArgReader('push', raw);
    const url = args.requiredPositional(0, 'an oci://HOST/REPO:TAG reference');
    if (!url.startsWith('oci://')) throw new UsageError(`push: expected an oci:// reference, got '${url}'`);
    const sign = args.string('sign');
    if (sign && sign !== 'cosign' && sign !== 'notation') {
      throw new UsageError(`push: --sign must be cosign or notation, got '${sign}'`);
    }
    return {
      ...readContentOptions(args, raw),
      url,
      source: args.string('source') || undefined,
      revision: args.string('revision') || undefined,
      tags: args.list('tag'),
      reproducible: args.boolean('reproducible'),
      annotations: args.list('annotation').map((a) => parseKeyValue('push', 'annotation', a)),
      signing: sign ? readSigningOptions('push', args, sign as 'cosign' | 'notation', env) : undefined,
      format: args.choice('format', ['text', 'json'] as const, 'text'),
      insecureRegistry: args.boolean('insecure-registry'),
      creds: args.string('creds') || undefined,
    };
  },
  async run() {
    notImplemented('push');
  },
});
