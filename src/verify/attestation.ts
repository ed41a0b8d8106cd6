/**
 * `verify oci://… --attestation provenance`: the artifact carries a SLSA provenance attestation
 * signed by the given workflow identity (or key), about this digest, from the given source
 * repository; prints its subject and builder. Fail-closed, as every verification here.
 */
import type { CommandIO, CommandResult } from '../commands/types.js';
import type { VerifyOptions } from '../commands/verify.js';
import { parseArtifactUrl, registryClientFor } from '../commands/artifact-flags.js';
import { UsageError } from '../errors.js';
import { RegistryError } from '../oci/errors.js';
import { SLSA_PROVENANCE_V1, verifyProvenance } from '../sign/attest/index.js';
import { cosignPolicyFromFlags } from './artifact.js';

/** `owner/repo` → `https://github.com/owner/repo` (GITHUB_SERVER_URL when set); a URL stays. */
function repositoryUrl(value: string, env: NodeJS.ProcessEnv): string {
  if (/^https?:\/\//.test(value)) return value.replace(/\/+$/, '').replace(/\.git$/, '');
  if (!/^[\w.-]+\/[\w.-]+$/.test(value))
    throw new UsageError(`verify: --source-repository '${value}': expected a URL or OWNER/REPO`);
  return `${env.GITHUB_SERVER_URL || 'https://github.com'}/${value}`;
}

export async function verifyAttestationReference(
  options: VerifyOptions,
  io: CommandIO,
): Promise<CommandResult> {
  const reference = options.reference!;
  const ref = parseArtifactUrl('verify', reference);
  if (options.provider !== 'cosign')
    throw new UsageError('verify: --attestation takes Sigstore bundles: use --provider cosign');
  const policy = {
    ...cosignPolicyFromFlags(options, io),
    sourceRepository: options.sourceRepository ? repositoryUrl(options.sourceRepository, io.env) : undefined,
  };
  const client = registryClientFor(options, io);
  const descriptor = await client.headManifest(
    ref.registry,
    ref.repository,
    ref.digest ?? ref.tag ?? 'latest',
  );
  if (!descriptor) throw new RegistryError(`verify: ${reference}: not found`);
  const target = {
    registry: ref.registry,
    repository: ref.repository,
    digest: descriptor.digest,
    mediaType: descriptor.mediaType,
    size: descriptor.size,
  };
  let outcome;
  try {
    outcome = await verifyProvenance(client, target, policy);
  } catch (err) {
    if (!(err instanceof RegistryError)) throw err;
    outcome = { verified: false as const, reason: err.message };
  }
  const source = {
    ref: reference,
    digest: descriptor.digest,
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
  const report = { sources: [source], findings: [] };
  if (options.format === 'json') io.stdout(JSON.stringify(report, null, 2) + '\n');
  else if (outcome.verified)
    io.stdout(
      [
        `${reference}: provenance verified (${outcome.by})`,
        ...outcome.subject.map((s) => `subject: ${s.name}@${s.digest}`),
        `builder: ${outcome.builder}`,
        `source: ${outcome.sourceRepository}${outcome.commit ? `@${outcome.commit}` : ''}`,
        '',
      ].join('\n'),
    );
  if (!outcome.verified) io.log.error(`${reference}: provenance not verified: ${outcome.reason}`);
  return {
    exitCode: outcome.verified ? 0 : 1,
    outputs: { verified: String(outcome.verified), json: JSON.stringify(report) },
  };
}
