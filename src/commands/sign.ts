import { ArgReader } from '../options/flags.js';
import { formatFlag, registryFlags, signingFlags, urlPositional, verboseFlag } from '../options/common.js';
import { defineCommand } from './types.js';
import { notImplemented } from './not-implemented.js';
import { readSigningOptions, type SigningOptions } from './artifact-flags.js';
import { UsageError } from '../errors.js';

export interface SignOptions {
  url: string;
  signing: SigningOptions;
  format: 'text' | 'json';
  insecureRegistry: boolean;
  creds?: string;
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
      creds: args.string('creds') || undefined,
    };
  },
  async run() {
    notImplemented('sign');
  },
});
