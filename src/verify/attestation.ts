/**
 * `verify oci://… --attestation provenance`: the artifact carries a SLSA provenance attestation
 * signed by the given workflow identity (or key), about this digest, from the given source
 * repository; prints its subject and builder. Fail-closed, as every verification here.
 */
import { UsageError } from '../errors.js';
import type { WorkIO } from '../util/io.js';
import type { VerifyOptions } from './options.js';
import type { VerifyReport } from './report.js';
import { RegistryError } from '../oci/errors.js';
import { SLSA_PROVENANCE_V1, verifyProvenance } from '../sign/attest/index.js';
import { cosignPolicyFromFlags, resolveReference } from './artifact.js';

/** `owner/repo` → `https://github.com/owner/repo` (GITHUB_SERVER_URL when set); a URL stays. */
function repositoryUrl(value: string, env: NodeJS.ProcessEnv): string {
  if (/^https?:\/\//.test(value)) return value.replace(/\/+$/, '').replace(/\.git$/, '');
  if (!/^[\w.-]+\/[\w.-]+$/.test(value))
    throw new UsageError(`verify: --source-repository '${value}': expected a URL or OWNER/REPO`);
  return `${env.GITHUB_SERVER_URL || 'https://github.com'}/${value}`;
}

/** The outcome of an attestation check, with the text the command prints for it. */
export interface AttestationVerification {
  report: VerifyReport;
  verified: boolean;
  reason?: string;
  text: string;
}

export async function verifyAttestationReference(
  options: VerifyOptions,
  io: WorkIO,
): Promise<AttestationVerification> {
  const reference = options.reference!;
  if (options.provider !== 'cosign')
    throw new UsageError('verify: --attestation takes Sigstore bundles: use --provider cosign');
  const policy = {
    ...cosignPolicyFromFlags(options, io),
    sourceRepository: options.sourceRepository ? repositoryUrl(options.sourceRepository, io.env) : undefined,
  };
  const { client, target } = await resolveReference(options, io);
  let outcome;
  try {
    outcome = await verifyProvenance(client, target, policy);
  } catch (err) {
    if (!(err instanceof RegistryError)) throw err;
    outcome = { verified: false as const, reason: err.message };
  }
  const source = {
    ref: reference,
    digest: target.digest,
    provider: 'cosign' as const,
    attestation: SLSA_PROVENANCE_V1,
    verified: outcome.verified,
    ...(outcome.verified
      ? {
          by: outcome.by,
          subject: outcome.subject,
          builder: outcome.builder,
          sourceRepository: outcome.sourceRepository,
          workflow: outcome.workflow,
          ...(outcome.commit ? { commit: outcome.commit } : {}),
        }
      : { reason: outcome.reason }),
  };
  const report = { sources: [source], findings: [] } as VerifyReport;
  const text = outcome.verified
    ? [
        `${reference}: provenance verified (${outcome.by})`,
        ...outcome.subject.map((s) => `subject: ${s.name}@${s.digest}`),
        `builder: ${outcome.builder}`,
        `source: ${outcome.sourceRepository}${outcome.commit ? `@${outcome.commit}` : ''}`,
        '',
      ].join('\n')
    : '';
  return { report, verified: outcome.verified, reason: outcome.verified ? undefined : outcome.reason, text };
}
