import { UsageError } from '../errors.js';
import {
  DEFAULT_MAX_ARTIFACT_SIZE,
  DEFAULT_TIMEOUT,
  parseDuration,
  parseSize,
  type RunLimits,
} from '../util/run-limits.js';
import type { FlagSpec, RawArgs } from './flags.js';

/** Flags every registry-talking command takes (DESIGN.md: `--insecure-registry`, `--creds`). */
export const registryFlags: FlagSpec[] = [
  {
    name: 'insecure-registry',
    type: 'boolean',
    description: 'Talk plain HTTP to the registry (loopback registries always may).',
  },
  {
    name: 'creds',
    type: 'list',
    value: 'HOST=USER:PASSWORD',
    secret: true,
    description:
      'Registry credentials bound to HOST (repeat, or one per line); HOST=TOKEN for a bearer token. A bare USER:PASSWORD is bound to the oci:// reference given (not accepted by render, diff and verify --path). Default: FLUXGATE_CREDS, docker config.json, and GITHUB_TOKEN for ghcr.io.',
  },
  {
    name: 'creds-file',
    type: 'string',
    value: 'FILE',
    description:
      'File of registry credentials, one HOST=USER:PASSWORD (or HOST=TOKEN) per line; # starts a comment.',
  },
  {
    name: 'max-artifact-size',
    type: 'string',
    value: 'SIZE',
    description:
      'Largest artifact unpacked (decompressed) or blob read, e.g. 500Mi. Default 100Mi (as fluxcd/pkg tar).',
  },
];

/** Every command's overall deadline (added to each command by defineCommand). */
export const timeoutFlag: FlagSpec = {
  name: 'timeout',
  type: 'string',
  value: 'DURATION',
  description: `Give up after this long, e.g. 90s or 15m. Default ${DEFAULT_TIMEOUT}. Each registry and chart repository request also gives up after 60s without a response or data.`,
};

/** The deadline and size cap of one run, from `--timeout` and `--max-artifact-size`. */
export function readRunLimits(command: string, raw: RawArgs, signal: AbortSignal) {
  const text = (name: string) => {
    const v = raw.values.get(name);
    return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
  };
  const timeout = text('timeout') ?? DEFAULT_TIMEOUT;
  const timeoutMs = parseDuration(timeout);
  if (timeoutMs === undefined || timeoutMs <= 0 || timeoutMs > 2 ** 31 - 1) {
    throw new UsageError(`${command}: --timeout must be a duration such as 90s or 15m, got '${timeout}'`);
  }
  const size = text('max-artifact-size');
  const maxArtifactSize = size === undefined ? DEFAULT_MAX_ARTIFACT_SIZE : parseSize(size);
  if (maxArtifactSize === undefined || maxArtifactSize <= 0) {
    throw new UsageError(
      `${command}: --max-artifact-size must be a size such as 500Mi or 2Gi, got '${size}'`,
    );
  }
  const limits: RunLimits & { timeoutMs: number } = {
    signal,
    timeout,
    timeoutMs,
    maxArtifactSize,
    deadline: Date.now() + timeoutMs,
  };
  return limits;
}

export function formatFlag(choices: readonly string[], fallback: string): FlagSpec {
  return {
    name: 'format',
    type: 'string',
    value: choices.join('|'),
    choices,
    default: fallback,
    description: `Output format on stdout (logs go to stderr). Default ${fallback}.`,
  };
}

export const verboseFlag: FlagSpec = {
  name: 'verbose',
  type: 'boolean',
  description: 'Log debug detail to stderr.',
};

/** Signing flags shared by `push --sign` and `sign`. */
export const signingFlags: FlagSpec[] = [
  {
    name: 'cosign-key',
    type: 'string',
    value: 'FILE',
    description:
      'cosign private key file (cosign format; password from COSIGN_PASSWORD or --cosign-password).',
  },
  {
    name: 'cosign-password',
    type: 'string',
    secret: true,
    description: 'Password of the cosign key (default: the COSIGN_PASSWORD environment variable).',
  },
  {
    name: 'keyless',
    type: 'boolean',
    description:
      'cosign keyless (the default without --cosign-key): the GitHub OIDC token, a Fulcio certificate and a Rekor entry.',
  },
  {
    name: 'bundle-format',
    type: 'boolean',
    description: 'cosign: also store a Sigstore bundle as an OCI 1.1 referrer (cosign v3 layout).',
  },
  {
    name: 'fulcio-url',
    type: 'string',
    value: 'URL',
    description: 'Fulcio for keyless signing (default public good).',
  },
  {
    name: 'rekor-url',
    type: 'string',
    value: 'URL',
    description: 'Rekor for keyless signing (default public good).',
  },
  {
    name: 'notation-key',
    type: 'string',
    value: 'FILE',
    description: 'notation: PEM private key of the signing certificate.',
  },
  {
    name: 'notation-cert',
    type: 'string',
    value: 'FILE',
    description: 'notation: PEM certificate chain, leaf first.',
  },
  {
    name: 'signature-format',
    type: 'string',
    value: 'jws|cose',
    choices: ['jws', 'cose'],
    default: 'jws',
    description: 'notation envelope format. Default jws.',
  },
  {
    name: 'expiry',
    type: 'string',
    value: 'DURATION',
    description: 'notation: signature expiry after signing, e.g. 720h.',
  },
];

/** Every flag a registry reference positional (`oci://HOST/REPO[:TAG|@DIGEST]`) goes with, in the action as `url`. */
export const urlPositional = (required: boolean, description: string) => ({
  name: 'oci://HOST/REPO[:TAG|@DIGEST]',
  input: 'url',
  required,
  description,
});
