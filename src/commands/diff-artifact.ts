import type { RegistryCredentials } from '../oci/auth.js';
import { ArgReader } from '../options/flags.js';
import { formatFlag, registryFlags, urlPositional, verboseFlag } from '../options/common.js';
import { defineCommand } from './types.js';
import {
  contentFlags,
  parseArtifactUrl,
  printJson,
  readContentOptions,
  registryClientFor,
  type ContentOptions,
  readRegistryCredentials,
} from './artifact-flags.js';
import { pullArtifact } from '../oci/artifact/pull.js';
import { collectContent } from '../oci/artifact/content.js';
import { readLayer } from '../oci/artifact/tarball.js';
import { compareEntries } from '../oci/artifact/compare.js';
import { UsageError } from '../errors.js';

export interface DiffArtifactOptions extends ContentOptions {
  url: string;
  format: 'text' | 'json';
  insecureRegistry: boolean;
  creds?: RegistryCredentials;
}

export const diffArtifactCommand = defineCommand<DiffArtifactOptions>({
  name: 'diff-artifact',
  summary: 'Say whether a directory differs from a pushed artifact, entry by entry (names, modes, contents).',
  positionals: [urlPositional(true, 'The pushed artifact.')],
  flags: [...contentFlags, formatFlag(['text', 'json'], 'text'), ...registryFlags, verboseFlag],
  toOptions(raw, env) {
    const args = new ArgReader('diff-artifact', raw);
    const url = args.requiredPositional(0, 'an oci://HOST/REPO[:TAG|@DIGEST] reference');
    if (!url.startsWith('oci://'))
      throw new UsageError(`diff-artifact: expected an oci:// reference, got '${url}'`);
    return {
      ...readContentOptions(args, raw),
      url,
      format: args.choice('format', ['text', 'json'] as const, 'text'),
      insecureRegistry: args.boolean('insecure-registry'),
      creds: readRegistryCredentials('diff-artifact', args, env, url),
    };
  },
  async run(options, io) {
    const ref = parseArtifactUrl('diff-artifact', options.url);
    const local = collectContent(options, io.cwd, io.log);
    const remote = await readLayer(
      (await pullArtifact(registryClientFor(options, io), ref)).layer,
      options.url,
    );
    const differences = compareEntries(local, remote);
    const changed = differences.length > 0;
    if (options.format === 'json') printJson(io, { changed, differences });
    else if (!changed) io.log.info('no changes detected');
    else {
      for (const d of differences) io.stdout(`${d.change.padEnd(8)} ${d.path}\n`);
      io.log.error(`${options.path} differs from ${options.url} in ${differences.length} entries`);
    }
    return {
      exitCode: changed ? 1 : 0,
      outputs: { changed: String(changed), json: JSON.stringify({ changed, differences }) },
    };
  },
});
