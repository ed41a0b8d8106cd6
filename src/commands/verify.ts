import { ArgReader, parseKeyValue, type FlagSpec } from '../options/flags.js';
import { formatFlag, registryFlags, urlPositional, verboseFlag } from '../options/common.js';
import { defineCommand } from './types.js';
import { verifyPath } from '../verify/path.js';
import { verifyReference } from '../verify/artifact.js';
import { verifyAttestationReference } from '../verify/attestation.js';
import { readRenderEngineOptions, renderEngineFlags, type RenderEngineOptions } from './render.js';
import { UsageError } from '../errors.js';
import { normalizeFluxVersion, OLDEST_FLUX, PLANNED_FLUX } from '../verify/api-versions.js';

function fluxVersion(command: string, value: string | undefined): string | undefined {
  if (!value) return undefined;
  const v = normalizeFluxVersion(value);
  if (!v)
    throw new UsageError(
      `${command}: --flux-version '${value}': expected a Flux release from ${OLDEST_FLUX} to ${PLANNED_FLUX} (the v2.10 plan), e.g. 2.9`,
    );
  return v;
}

function readAttestation(value: string | undefined): 'provenance' | undefined {
  if (!value) return undefined;
  if (value !== 'provenance')
    throw new UsageError(`verify: --attestation must be provenance, got '${value}'`);
  return value;
}

export interface VerifyOptions extends RenderEngineOptions {
  /** `oci://…` given: verify that one artifact; otherwise every source under `path`. */
  reference?: string;
  path: string;
  format: 'text' | 'json';
  provider: 'cosign' | 'notation';
  keys: string[];
  certificateIdentity?: string;
  certificateIdentityRegexp?: string;
  certificateOidcIssuer?: string;
  certificateOidcIssuerRegexp?: string;
  trustedRoot?: string;
  insecureIgnoreTlog: boolean;
  trustPolicy?: string;
  /** `TYPE:NAME` → directory, e.g. `ca:acme` → `certs/`. */
  trustStores: Map<string, string>;
  /** `NS/NAME` → directory holding a verify Secret's files. */
  verifySecrets: Map<string, string>;
  requireSignatures: boolean;
  requireDigests: boolean;
  requireEncryptedSecrets: boolean;
  fluxVersion?: string;
  /** `provenance`: check the artifact's provenance attestation instead of its signatures. */
  attestation?: 'provenance';
  /** With --attestation: the repository the attested workflow ran in (URL or OWNER/REPO). */
  sourceRepository?: string;
}

/** The policy flags `verify` shares with `diff --verify`. */
export const verifyPolicyFlags: FlagSpec[] = [
  {
    name: 'verify-secret',
    type: 'list',
    value: 'NS/NAME=DIR',
    description: 'Files of a verify Secret kept outside the repository.',
  },
  {
    name: 'require-signatures',
    type: 'boolean',
    description: 'OCI sources without spec.verify are errors.',
  },
  { name: 'require-digests', type: 'boolean', description: 'OCI refs by mutable tag are errors.' },
  {
    name: 'require-encrypted-secrets',
    type: 'boolean',
    description: 'Secrets committed in clear (without SOPS) are errors, not warnings.',
  },
  {
    name: 'flux-version',
    type: 'string',
    value: '2.N',
    description:
      'Flux release the deprecation check targets (2.2 to 2.10, the v2.10 roadmap plan). Default: the newest release, 2.9.',
  },
];

/** Reads the flags of verifyPolicyFlags. */
export function readVerifyPolicyOptions(args: ArgReader, command: string) {
  return {
    verifySecrets: new Map(
      args.list('verify-secret').map((item) => parseKeyValue(command, 'verify-secret', item)),
    ),
    requireSignatures: args.boolean('require-signatures'),
    requireDigests: args.boolean('require-digests'),
    requireEncryptedSecrets: args.boolean('require-encrypted-secrets'),
    fluxVersion: fluxVersion(command, args.string('flux-version')),
  };
}

export const verifyCommand = defineCommand<VerifyOptions>({
  name: 'verify',
  summary:
    'Verify signatures (one artifact, or every source with spec.verify) and run the Flux policy checks.',
  positionals: [urlPositional(false, 'One artifact to verify; without it, every source under --path.')],
  flags: [
    {
      name: 'path',
      type: 'string',
      value: 'DIR',
      description: 'Cluster entry directory (without an oci:// reference).',
    },
    formatFlag(['text', 'json'], 'text'),
    {
      name: 'provider',
      type: 'string',
      value: 'cosign|notation',
      choices: ['cosign', 'notation'],
      default: 'cosign',
      description: 'Signature provider for an oci:// reference. Default cosign.',
    },
    {
      name: 'key',
      type: 'list',
      value: 'FILE',
      description: 'cosign public key(s); any one verifying is enough.',
    },
    {
      name: 'certificate-identity',
      type: 'string',
      value: 'S',
      description: 'Keyless: exact certificate subject.',
    },
    {
      name: 'certificate-identity-regexp',
      type: 'string',
      value: 'RE',
      description: 'Keyless: certificate subject regular expression.',
    },
    {
      name: 'certificate-oidc-issuer',
      type: 'string',
      value: 'S',
      description: 'Keyless: exact OIDC issuer.',
    },
    {
      name: 'certificate-oidc-issuer-regexp',
      type: 'string',
      value: 'RE',
      description: 'Keyless: OIDC issuer regular expression.',
    },
    {
      name: 'trusted-root',
      type: 'string',
      value: 'FILE',
      description: 'Sigstore trusted_root.json (default: the public-good root).',
    },
    {
      name: 'insecure-ignore-tlog',
      type: 'boolean',
      description: 'Keyless: do not require a Rekor entry (as cosign). Off by default.',
    },
    {
      name: 'attestation',
      type: 'string',
      value: 'provenance',
      choices: ['provenance'],
      description:
        'Check a SLSA provenance attestation (Sigstore bundle referrer) by the identity flags or --key; prints its subject and builder.',
    },
    {
      name: 'source-repository',
      type: 'string',
      value: 'URL|OWNER/REPO',
      description: 'With --attestation: the repository the attested workflow ran in.',
    },
    { name: 'trust-policy', type: 'string', value: 'FILE', description: 'notation trust policy document.' },
    {
      name: 'trust-store',
      type: 'list',
      value: 'TYPE:NAME=DIR',
      description: 'notation trust store, e.g. ca:acme=certs/.',
    },
    ...verifyPolicyFlags,
    ...renderEngineFlags.filter((f) => !registryFlags.some((r) => r.name === f.name)),
    ...registryFlags,
    verboseFlag,
  ],
  toOptions(raw) {
    const args = new ArgReader('verify', raw);
    const reference = args.positional(0);
    if (reference !== undefined && !reference.startsWith('oci://')) {
      throw new UsageError(`verify: expected an oci:// reference, got '${reference}'`);
    }
    const pairs = (flag: string) =>
      new Map(args.list(flag).map((item) => parseKeyValue('verify', flag, item)));
    return {
      ...readRenderEngineOptions(args, 'verify'),
      reference,
      path: args.string('path') || '.',
      format: args.choice('format', ['text', 'json'] as const, 'text'),
      provider: args.choice('provider', ['cosign', 'notation'] as const, 'cosign'),
      keys: args.list('key'),
      certificateIdentity: args.string('certificate-identity') || undefined,
      certificateIdentityRegexp: args.string('certificate-identity-regexp') || undefined,
      certificateOidcIssuer: args.string('certificate-oidc-issuer') || undefined,
      certificateOidcIssuerRegexp: args.string('certificate-oidc-issuer-regexp') || undefined,
      trustedRoot: args.string('trusted-root') || undefined,
      insecureIgnoreTlog: args.boolean('insecure-ignore-tlog'),
      attestation: readAttestation(args.string('attestation')),
      sourceRepository: args.string('source-repository') || undefined,
      trustPolicy: args.string('trust-policy') || undefined,
      trustStores: pairs('trust-store'),
      ...readVerifyPolicyOptions(args, 'verify'),
    };
  },
  run(options, io) {
    if (options.attestation) {
      if (!options.reference)
        throw new UsageError('verify: --attestation needs an oci://HOST/REPO@DIGEST reference');
      return verifyAttestationReference(options, io);
    }
    return options.reference ? verifyReference(options, io) : verifyPath(options, io);
  },
});
