import { ArgReader, parseKeyValue, type FlagSpec } from '../options/flags.js';
import { formatFlag, registryFlags, urlPositional, verboseFlag } from '../options/common.js';
import { defineCommand, type CommandResult } from './types.js';
import { verifyPath } from '../verify/path.js';
import { verifyReference } from '../verify/artifact.js';
import { verifyAttestationReference } from '../verify/attestation.js';
import { renderEngineFlags } from './render.js';
import { readRegistryCredentials } from './artifact-flags.js';
import type { VerifyOptions } from '../verify/options.js';
import {
  annotate,
  reportJson,
  verificationFailed,
  verificationMarkdown,
  verificationText,
} from '../verify/report.js';
import { defaultConcurrency } from '../render/options.js';
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

export type { VerifyOptions } from '../verify/options.js';

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
    // Of the render flags, what verify reads: the repository, --source mappings (scope), mirrors and parallelism (registries).
    ...renderEngineFlags.filter((f) => ['repo', 'source', 'registry-mirror', 'concurrency'].includes(f.name)),
    ...registryFlags,
    verboseFlag,
  ],
  toOptions(raw, env) {
    const args = new ArgReader('verify', raw);
    const reference = args.positional(0);
    if (reference !== undefined && !reference.startsWith('oci://')) {
      throw new UsageError(`verify: expected an oci:// reference, got '${reference}'`);
    }
    const pairs = (flag: string) =>
      new Map(args.list(flag).map((item) => parseKeyValue('verify', flag, item)));
    return {
      repo: args.string('repo') || '.',
      sources: pairs('source'),
      registryMirrors: pairs('registry-mirror'),
      concurrency: args.integer('concurrency', defaultConcurrency()),
      insecureRegistry: args.boolean('insecure-registry'),
      creds: readRegistryCredentials('verify', args, env, reference),
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
  async run(options, io): Promise<CommandResult> {
    if (options.attestation) {
      if (!options.reference)
        throw new UsageError('verify: --attestation needs an oci://HOST/REPO@DIGEST reference');
      const { report, verified, reason, text } = await verifyAttestationReference(options, io);
      io.stdout(options.format === 'json' ? JSON.stringify(report, null, 2) + '\n' : text);
      if (!verified) io.log.error(`${options.reference}: provenance not verified: ${reason}`);
      return {
        exitCode: verified ? 0 : 1,
        outputs: { verified: String(verified), json: JSON.stringify(report) },
      };
    }
    if (options.reference) {
      const { report, verified, reason } = await verifyReference(options, io);
      io.stdout(
        options.format === 'json' ? JSON.stringify(report, null, 2) + '\n' : verificationText(report),
      );
      if (!verified) io.log.error(`${options.reference}: not verified: ${reason}`);
      return {
        exitCode: verified ? 0 : 1,
        outputs: { verified: String(verified), json: JSON.stringify(report) },
      };
    }
    const result = await verifyPath(options, io);
    const report = reportJson(result.sources, result.findings);
    annotate(io.log, result);
    io.stdout(options.format === 'json' ? JSON.stringify(report, null, 2) + '\n' : verificationText(result));
    if (io.action) await io.action.appendSummary(verificationMarkdown(result));
    return {
      exitCode: verificationFailed(report.sources, report.findings) ? 1 : 0,
      outputs: {
        verified: String(report.sources.every((s) => s.verified)),
        findings: JSON.stringify(report.findings),
        json: JSON.stringify(report),
      },
    };
  },
});
