import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { resolveOciRef } from '../flux/oci-ref.js';
import { RegistryClient } from '../oci/client.js';
import { RegistryError } from '../oci/errors.js';
import { parseOciReference } from '../oci/reference.js';
import { readPublicKey } from '../sign/cosign/keys.js';
import { verifyArtifact } from '../sign/index.js';
import { secretValues } from '../render/secrets.js';
import type { KubeObject } from '../render/types.js';
import type { CommandIO, CommandResult } from '../commands/types.js';
import type { VerifyOptions } from '../commands/verify.js';
import { checkPolicies, scanObjects, type Finding } from './policy.js';

export interface SourceVerdict {
  ref: string;
  digest?: string;
  provider: string;
  verified: boolean;
  by?: string;
  reason?: string;
}

export interface VerifyReport {
  sources: SourceVerdict[];
  findings: Finding[];
}

/**
 * `verify --path`: the policy checks on the repository's files, and a verdict for every source
 * that asks for verification. Signature verification (cosign, notation) has not landed: such
 * sources are reported unverified, which fails the run (fail-closed), rather than skipped.
 */
export async function verifyPath(options: VerifyOptions, io: CommandIO): Promise<CommandResult> {
  const repo = resolve(io.cwd, options.repo);
  const { objects, findings: scanFindings } = scanObjects(repo);
  const findings = [...scanFindings, ...checkPolicies(objects, options)];
  const secrets = objects.filter((l) => l.object.kind === 'Secret').map((l) => l.object as KubeObject);
  const sources: SourceVerdict[] = [];
  for (const l of objects.filter((x) => x.object.kind === 'OCIRepository' && x.object.spec?.verify)) {
    sources.push(await verifySource(l.object as KubeObject, secrets, options, io));
  }
  const report: VerifyReport = { sources, findings };

  for (const f of findings) {
    const annotation = { file: f.file, line: f.line, title: f.rule };
    if (f.severity === 'error') io.log.error(`${f.object}: ${f.message}`, annotation);
    else if (f.severity === 'warning') io.log.warn(`${f.object}: ${f.message}`, annotation);
  }
  if (options.format === 'json') io.stdout(JSON.stringify(report, null, 2) + '\n');
  else io.stdout(verificationText(report));
  const failed = sources.some((s) => !s.verified) || findings.some((f) => f.severity === 'error');
  return {
    exitCode: failed ? 1 : 0,
    outputs: {
      verified: String(sources.every((s) => s.verified)),
      findings: JSON.stringify(findings),
      json: JSON.stringify(report),
    },
  };
}

export function verificationText(report: VerifyReport): string {
  const lines: string[] = [];
  if (report.sources.length) {
    lines.push('SOURCE\tPROVIDER\tVERIFIED\tBY / REASON');
    for (const s of report.sources)
      lines.push(`${s.ref}\t${s.provider}\t${s.verified ? 'yes' : 'NO'}\t${s.by ?? s.reason ?? ''}`);
    lines.push('');
  }
  for (const f of report.findings)
    lines.push(`${f.file}:${f.line}: ${f.severity}: ${f.rule}: ${f.object}: ${f.message}`);
  if (!report.findings.length) lines.push('no policy findings');
  return lines.join('\n') + '\n';
}

/** The `*.pub` keys of a cosign verify Secret: from --verify-secret NS/NAME=DIR, else the Secret in the repository. */
function verifyKeys(
  namespace: string,
  name: string,
  secrets: KubeObject[],
  options: VerifyOptions,
  io: CommandIO,
) {
  const dir = options.verifySecrets.get(`${namespace}/${name}`);
  const files = new Map<string, string>();
  if (dir) {
    const root = resolve(io.cwd, dir);
    for (const f of readdirSync(root)) files.set(f, readFileSync(join(root, f), 'utf8'));
  } else {
    const secret = secrets.find(
      (s) => s.metadata.name === name && (s.metadata.namespace ?? namespace) === namespace,
    );
    if (!secret) return undefined;
    for (const [k, v] of secretValues(secret)) files.set(k, v);
  }
  return [...files]
    .filter(([k]) => k.endsWith('.pub'))
    .map(([k, pem]) => ({
      name: `${namespace}/${name}/${k}`,
      key: readPublicKey(pem, `${namespace}/${name}/${k}`),
    }));
}

/** One OCIRepository with spec.verify: its ref resolved in its registry, then its own policy. */
async function verifySource(
  source: KubeObject,
  secrets: KubeObject[],
  options: VerifyOptions,
  io: CommandIO,
): Promise<SourceVerdict> {
  const spec = source.spec as {
    url: string;
    ref?: Record<string, string>;
    insecure?: boolean;
    verify: { provider?: string; secretRef?: { name: string } };
  };
  const namespace = source.metadata.namespace ?? 'flux-system';
  const provider = spec.verify.provider ?? 'cosign';
  const verdict: SourceVerdict = { ref: spec.url, provider, verified: false };
  try {
    const ref = parseOciReference(spec.url);
    const client = new RegistryClient({
      insecure: options.insecureRegistry || spec.insecure === true,
      creds: options.creds,
      env: io.env,
      log: io.log,
      mirrors: options.registryMirrors,
    });
    const resolved = await resolveOciRef(client, ref.registry, ref.repository, spec.ref);
    verdict.digest = resolved.digest;
    if (provider !== 'cosign')
      return { ...verdict, reason: `${provider} verification is not implemented yet` };
    if (!spec.verify.secretRef)
      return { ...verdict, reason: 'keyless cosign verification (matchOIDCIdentity) is not implemented yet' };
    const keys = verifyKeys(namespace, spec.verify.secretRef.name, secrets, options, io);
    if (!keys)
      return {
        ...verdict,
        reason: `Secret ${namespace}/${spec.verify.secretRef.name} not found (pass --verify-secret ${namespace}/${spec.verify.secretRef.name}=DIR)`,
      };
    if (!keys.length)
      return { ...verdict, reason: `Secret ${namespace}/${spec.verify.secretRef.name} holds no *.pub key` };
    const descriptor = await client.headManifest(ref.registry, ref.repository, resolved.digest);
    const outcome = await verifyArtifact(
      client,
      {
        registry: ref.registry,
        repository: ref.repository,
        digest: resolved.digest,
        mediaType: descriptor?.mediaType ?? '',
        size: descriptor?.size ?? 0,
      },
      { provider: 'cosign', keys, identities: [], ignoreTlog: false },
      { log: io.log, env: io.env },
    );
    return { ...verdict, verified: outcome.verified, by: outcome.by, reason: outcome.reason };
  } catch (err) {
    if (err instanceof RegistryError || err instanceof Error)
      return { ...verdict, reason: err.message.split('\n')[0] };
    throw err;
  }
}
