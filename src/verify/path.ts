import { resolve } from 'node:path';
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
  const sources: SourceVerdict[] = objects
    .filter((l) => ['OCIRepository', 'HelmChart'].includes(l.object.kind) && l.object.spec?.verify)
    .map((l) => ({
      ref:
        l.object.spec.url ??
        `${l.object.kind}/${l.object.metadata?.namespace ?? ''}/${l.object.metadata?.name}`,
      provider: l.object.spec.verify.provider ?? 'cosign',
      verified: false,
      reason: `${l.object.spec.verify.provider ?? 'cosign'} verification is not implemented yet`,
    }));
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
