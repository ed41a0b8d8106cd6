import type { RegistryCredentials } from '../oci/auth.js';
import { ArgReader } from '../options/flags.js';
import { formatFlag, registryFlags, signingFlags, urlPositional, verboseFlag } from '../options/common.js';
import { defineCommand } from './types.js';
import {
  printJson,
  resolveSubject,
  readSigningOptions,
  type SigningOptions,
  readRegistryCredentials,
} from './artifact-flags.js';
import { signArtifact } from '../sign/index.js';
import { UsageError } from '../errors.js';

export interface SignOptions {
  url: string;
  signing: SigningOptions;
  format: 'text' | 'json';
  insecureRegistry: boolean;
  creds?: RegistryCredentials;
}

export const signCommand = defineCommand<SignOptions>({
  name: 'sign',
  summary: 'Sign an artifact by digest with cosign (key or keyless) or notation (X.509).',
  positionals: [urlPositional(true, 'The artifact to sign, by digest: oci://HOST/REPO@sha256:….')],
  flags: [
    {
      name: 'provider',
      type: 'string',
      value: 'cosign|notation',
      choices: ['cosign', 'notation'],
      default: 'cosign',
      description: 'Signature format. Default cosign.',
    },
    ...signingFlags,
    formatFlag(['text', 'json'], 'text'),
    ...registryFlags,
    verboseFlag,
  ],
  toOptions(raw, env) {
    const args = new ArgReader('sign', raw);
    const url = args.requiredPositional(0, 'an oci://HOST/REPO@DIGEST reference');
    if (!url.startsWith('oci://')) throw new UsageError(`sign: expected an oci:// reference, got '${url}'`);
    const provider = args.choice('provider', ['cosign', 'notation'] as const, 'cosign');
    return {
      url,
      signing: readSigningOptions('sign', args, provider, env),
      format: args.choice('format', ['text', 'json'] as const, 'text'),
      insecureRegistry: args.boolean('insecure-registry'),
      creds: readRegistryCredentials('sign', args, env, url),
    };
  },
  async run(options, io) {
    const { client, subject } = await resolveSubject('sign', options, io);
    const signatures = await signArtifact(client, subject, options.signing, { log: io.log, env: io.env });
    const result = { digest: subject.digest, signatures };
    if (options.format === 'json') printJson(io, result);
    return {
      exitCode: 0,
      outputs: {
        digest: subject.digest,
        signatures: JSON.stringify(signatures),
        json: JSON.stringify(result),
      },
    };
  },
});
