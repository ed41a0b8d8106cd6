import type { FlagSpec } from './flags.js';

/** Flags every registry-talking command takes (DESIGN.md: `--insecure-registry`, `--creds`). */
export const registryFlags: FlagSpec[] = [
  {
    name: 'insecure-registry',
    type: 'boolean',
    description: 'Talk plain HTTP to the registry (loopback registries always may).',
  },
  {
    name: 'creds',
    type: 'string',
    value: 'USER:PASSWORD',
    secret: true,
    description:
      'Registry credentials; a value without ":" is sent as a bearer token. Default: docker config.json, and GITHUB_TOKEN for ghcr.io in the action.',
  },
];

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
