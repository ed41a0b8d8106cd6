import { ArgReader } from '../options/flags.js';
import { formatFlag, registryFlags, signingFlags, urlPositional, verboseFlag } from '../options/common.js';
import { defineCommand } from './types.js';
import type { RegistryCredentials } from '../oci/auth.js';
import {
  readRegistryCredentials,
  printJson,
  resolveSubject,
  readSigningOptions,
  type SigningOptions,
} from './artifact-flags.js';
import { attestProvenance } from '../sign/attest/index.js';
import { UsageError } from '../errors.js';

export interface AttestOptions {
  url: string;
  predicateType: 'provenance';
  signing: SigningOptions;
  format: 'text' | 'json';
  insecureRegistry: boolean;
  creds?: RegistryCredentials;
}

/** The signing flags that make sense for a Sigstore bundle (cosign key or keyless). */
const COSIGN_FLAGS = new Set(['cosign-key', 'cosign-password', 'keyless', 'fulcio-url', 'rekor-url']);

export const attestCommand = defineCommand<AttestOptions>({
  name: 'attest',
  summary:
    'Attest an artifact digest: SLSA v1 provenance of this workflow run, as a Sigstore bundle referrer (the actions/attest layout).',
  positionals: [urlPositional(true, 'The artifact to attest, by digest: oci://HOST/REPO@sha256:….')],
  flags: [
    {
      name: 'predicate-type',
      type: 'string',
      value: 'provenance',
      choices: ['provenance'],
      default: 'provenance',
      description: 'What to attest. Default provenance (https://slsa.dev/provenance/v1).',
    },
    ...signingFlags.filter((f) => COSIGN_FLAGS.has(f.name)),
    formatFlag(['text', 'json'], 'text'),
    ...registryFlags,
    verboseFlag,
  ],
  toOptions(raw, env) {
    const args = new ArgReader('attest', raw);
    const url = args.requiredPositional(0, 'an oci://HOST/REPO@DIGEST reference');
    if (!url.startsWith('oci://')) throw new UsageError(`attest: expected an oci:// reference, got '${url}'`);
    return {
      url,
      predicateType: args.choice('predicate-type', ['provenance'] as const, 'provenance'),
      signing: readSigningOptions('attest', args, 'cosign', env),
      format: args.choice('format', ['text', 'json'] as const, 'text'),
      insecureRegistry: args.boolean('insecure-registry'),
      creds: readRegistryCredentials('attest', args, env, url),
    };
  },
  async run(options, io) {
    const { client, subject } = await resolveSubject('attest', options, io);
    const attestation = await attestProvenance(client, subject, options.signing, {
      log: io.log,
      env: io.env,
    });
    const result = { digest: subject.digest, attestations: [attestation] };
    if (options.format === 'json') printJson(io, result);
    else io.stdout(`${attestation.predicateType} ${attestation.ref} (${attestation.signer})\n`);
    return {
      exitCode: 0,
      outputs: {
        digest: subject.digest,
        attestations: JSON.stringify(result.attestations),
        json: JSON.stringify(result),
      },
    };
  },
});
