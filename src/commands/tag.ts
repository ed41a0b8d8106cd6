import type { RegistryCredentials } from '../oci/auth.js';
import { ArgReader } from '../options/flags.js';
import { formatFlag, registryFlags, urlPositional, verboseFlag } from '../options/common.js';
import { defineCommand } from './types.js';
import {
  parseArtifactUrl,
  printJson,
  readRegistryCredentials,
  readTags,
  registryClientFor,
} from './artifact-flags.js';
import { RegistryError } from '../oci/errors.js';
import { UsageError } from '../errors.js';

export interface TagOptions {
  url: string;
  tags: string[];
  format: 'text' | 'json';
  insecureRegistry: boolean;
  creds?: RegistryCredentials;
}

export const tagCommand = defineCommand<TagOptions>({
  name: 'tag',
  summary: 'Add tags to an artifact digest (no blob is pushed again).',
  positionals: [urlPositional(true, 'The artifact, by digest or tag.')],
  flags: [
    {
      name: 'tag',
      type: 'list',
      value: 'TAG',
      required: true,
      input: 'tags',
      deprecatedInputs: ['tag'],
      description: 'Tags to add.',
    },
    formatFlag(['text', 'json'], 'text'),
    ...registryFlags,
    verboseFlag,
  ],
  toOptions(raw, env) {
    const args = new ArgReader('tag', raw);
    const url = args.requiredPositional(0, 'an oci://HOST/REPO@DIGEST reference');
    if (!url.startsWith('oci://')) throw new UsageError(`tag: expected an oci:// reference, got '${url}'`);
    const tags = readTags('tag', args.list('tag'));
    if (tags.length === 0) throw new UsageError('tag: --tag is required');
    return {
      url,
      tags,
      format: args.choice('format', ['text', 'json'] as const, 'text'),
      insecureRegistry: args.boolean('insecure-registry'),
      creds: readRegistryCredentials('tag', args, env, url),
    };
  },
  async run(options, io) {
    const ref = parseArtifactUrl('tag', options.url);
    const client = registryClientFor(options, io);
    const source = ref.digest ?? ref.tag ?? 'latest';
    const { bytes, descriptor } = await client.getManifest(ref.registry, ref.repository, source);
    if (ref.digest && descriptor.digest !== ref.digest) {
      throw new RegistryError(`tag: ${options.url}: the registry returned ${descriptor.digest}`);
    }
    // Re-pointing a tag is one manifest PUT: the blobs are already there.
    for (const tag of options.tags) {
      await client.putManifest(ref.registry, ref.repository, tag, bytes, descriptor.mediaType);
      io.log.info(`artifact tagged as ${ref.registry}/${ref.repository}:${tag}`);
    }
    const result = {
      digest: descriptor.digest,
      url: `oci://${ref.registry}/${ref.repository}@${descriptor.digest}`,
      tags: options.tags,
    };
    if (options.format === 'json') printJson(io, result);
    return {
      exitCode: 0,
      outputs: { digest: descriptor.digest, tags: options.tags.join(','), json: JSON.stringify(result) },
    };
  },
});
