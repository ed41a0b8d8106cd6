import type { RegistryCredentials } from '../oci/auth.js';
import { ArgReader } from '../options/flags.js';
import { formatFlag, registryFlags, urlPositional, verboseFlag } from '../options/common.js';
import { defineCommand } from './types.js';
import { parseArtifactUrl, printJson, registryClientFor, readRegistryCredentials } from './artifact-flags.js';
import { pullArtifact } from '../oci/artifact/pull.js';
import { extractLayer } from '../oci/artifact/untar.js';
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';

export interface PullOptions {
  url: string;
  output: string;
  format: 'text' | 'json';
  insecureRegistry: boolean;
  creds?: RegistryCredentials;
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
      required: true,
      description: 'Directory to write the content into.',
    },
    formatFlag(['text', 'json'], 'text'),
    ...registryFlags,
    verboseFlag,
  ],
  toOptions(raw, env) {
    const args = new ArgReader('pull', raw);
    const url = args.requiredPositional(0, 'an oci://HOST/REPO[:TAG|@DIGEST] reference');
    if (!url.startsWith('oci://')) throw new UsageError(`pull: expected an oci:// reference, got '${url}'`);
    return {
      url,
      output: args.requiredString('output'),
      format: args.choice('format', ['text', 'json'] as const, 'text'),
      insecureRegistry: args.boolean('insecure-registry'),
      creds: readRegistryCredentials('pull', args, env, url),
    };
  },
  async run(options, io) {
    const ref = parseArtifactUrl('pull', options.url);
    const client = registryClientFor(options, io);
    const pulled = await pullArtifact(client, ref);
    const output = resolve(io.cwd, options.output);
    await extractLayer(pulled.layer, output, options.url);
    const result = {
      digest: pulled.digest,
      url: `oci://${ref.registry}/${ref.repository}@${pulled.digest}`,
      source: pulled.annotations['org.opencontainers.image.source'],
      revision: pulled.annotations['org.opencontainers.image.revision'],
      output,
    };
    if (options.format === 'json') printJson(io, result);
    else
      io.log.info(`artifact ${result.url} (revision ${result.revision ?? 'unknown'}) extracted to ${output}`);
    return {
      exitCode: 0,
      outputs: { digest: pulled.digest, revision: result.revision ?? '', json: JSON.stringify(result) },
    };
  },
});
