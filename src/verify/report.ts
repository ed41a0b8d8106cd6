/**
 * How a verification is shown: JSON (the DESIGN.md contract), a text table, markdown for the job
 * summary and the PR review, annotations on the files at fault.
 */
import { escapeMarkdown } from '../diff/markdown.js';
import type { Logger } from '../log.js';
import type { Finding } from './policy.js';
import type { CheckedSource, SourceVerdict } from './sources.js';

export type { SourceVerdict, CheckedSource } from './sources.js';

/** `verify --format json`: exactly the documented fields. */
export interface VerifyReport {
  sources: SourceVerdict[];
  findings: Finding[];
}

export function reportJson(sources: CheckedSource[], findings: Finding[]): VerifyReport {
  return {
    sources: sources.map((s) => {
      const v: SourceVerdict = { ref: s.ref, provider: s.provider, verified: s.verified };
      if (s.digest) v.digest = s.digest;
      if (s.by) v.by = s.by;
      if (s.reason) v.reason = s.reason;
      if (s.warnings?.length) v.warnings = [...s.warnings];
      return v;
    }),
    // The documented fields only: suggestions are for the review.
    findings: findings.map(({ suggestion: _suggestion, ...f }) => f),
  };
}

/** The run fails when a signature does not verify or a finding is an error. */
export const verificationFailed = (sources: SourceVerdict[], findings: Finding[]) =>
  sources.some((s) => !s.verified) || findings.some((f) => f.severity === 'error');

const shortDigest = (d?: string) => (d ? d.replace(/^(sha256:[0-9a-f]{12})[0-9a-f]+$/, '$1') : '');

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

export function verificationText(report: { sources: CheckedSource[]; findings: Finding[] }): string {
  const lines: string[] = [];
  if (report.sources.length) {
    lines.push(
      ...table([
        ['SOURCE', 'OBJECT', 'PROVIDER', 'DIGEST', 'VERIFIED', 'BY / REASON'],
        ...report.sources.map((s) => [
          s.ref,
          s.object ?? '',
          s.provider,
          shortDigest(s.digest),
          s.verified ? 'yes' : 'NO',
          (s.verified ? s.by : s.reason) ?? '',
        ]),
      ]),
      '',
    );
    const warned = report.sources.filter((s) => s.warnings?.length);
    for (const s of warned)
      for (const w of s.warnings!) lines.push(`${s.ref}${s.object ? ` (${s.object})` : ''}: warning: ${w}`);
    if (warned.length) lines.push('');
  }
  for (const f of report.findings)
    lines.push(`${f.file}:${f.line}: ${f.severity}: ${f.rule}: ${f.object}: ${f.message}`);
  if (!report.findings.length) lines.push('no policy findings');
  return lines.join('\n') + '\n';
}

/** Markdown: a signatures table and a findings table, under `heading` (e.g. `###`). */
export function verificationMarkdown(
  report: { sources: CheckedSource[]; findings: Finding[] },
  options: { heading?: string; title?: string; empty?: string } = {},
): string {
  const h = options.heading ?? '##';
  const out: string[] = [`${h} ${options.title ?? 'fluxgate verify'}`, ''];
  const failed = report.sources.filter((s) => !s.verified).length;
  const errors = report.findings.filter((f) => f.severity === 'error').length;
  const warnedCount = report.sources.filter((s) => s.verified && s.warnings?.length).length;
  if (!report.sources.length && !report.findings.length) {
    out.push(options.empty ?? 'No sources with spec.verify and no policy findings.', '');
    return out.join('\n');
  }
  out.push(
    report.sources.length === 0
      ? `No sources with spec.verify; ${report.findings.length} policy finding${report.findings.length === 1 ? '' : 's'}${errors ? ` (**${errors} error${errors === 1 ? '' : 's'}**)` : ''}.`
      : `**${report.sources.length - failed}/${report.sources.length}** signature${report.sources.length === 1 ? '' : 's'} verified${warnedCount ? ` (${warnedCount} with warnings)` : ''}; ${report.findings.length} policy finding${report.findings.length === 1 ? '' : 's'}${errors ? ` (**${errors} error${errors === 1 ? '' : 's'}**)` : ''}.`,
    '',
  );
  if (report.sources.length) {
    out.push(
      '| Source | Object | Provider | Digest | Verified | By / reason |',
      '| --- | --- | --- | --- | --- | --- |',
    );
    for (const s of report.sources)
      out.push(
        `| ${escapeMarkdown(s.ref)} | ${escapeMarkdown(s.object ?? '')}${s.file ? ` (${escapeMarkdown(`${s.file}:${s.line}`)})` : ''} | ${s.provider} | ${s.digest ? `\`${shortDigest(s.digest)}\`` : '—'} | ${s.verified ? (s.warnings?.length ? '⚠️ yes, with warnings' : '✅ yes') : '❌ **no**'} | ${escapeMarkdown((s.verified ? s.by : s.reason) ?? '')} |`,
      );
    out.push('');
    const warned = report.sources.filter((s) => s.warnings?.length);
    if (warned.length) {
      out.push('Warnings of the trust policies (checks they only log):', '');
      for (const s of warned)
        for (const w of s.warnings!)
          out.push(
            `- ⚠️ ${escapeMarkdown(s.ref)}${s.object ? ` (${escapeMarkdown(s.object)})` : ''}: ${escapeMarkdown(w)}`,
          );
      out.push('');
    }
  }
  if (report.findings.length) {
    out.push('| Severity | Rule | Where | Object | Message |', '| --- | --- | --- | --- | --- |');
    for (const f of report.findings)
      out.push(
        `| ${f.severity === 'error' ? '**error**' : f.severity} | ${f.rule} | ${escapeMarkdown(`${f.file}:${f.line}`)} | ${escapeMarkdown(f.object)} | ${escapeMarkdown(f.message)} |`,
      );
    out.push('');
    out.push(...suggestionsMarkdown(report.findings));
  }
  return out.join('\n');
}

/**
 * The exact edit for each deprecated API, as GitHub suggestion blocks (applied with one click
 * when posted on the line; `fluxgate migrate` makes them all). The fence is longer than any
 * backtick run in the line, so a hostile file cannot close it early.
 */
export function suggestionsMarkdown(findings: Finding[]): string[] {
  const withEdits = findings.filter((f) => f.suggestion !== undefined);
  if (!withEdits.length) return [];
  const out = ['Suggested edits (`fluxgate migrate` makes them all):', ''];
  for (const f of withEdits) {
    const fence = '`'.repeat(Math.max(3, ...(f.suggestion!.match(/`+/g) ?? []).map((r) => r.length + 1)));
    out.push(
      `${escapeMarkdown(`${f.file}:${f.line}`)} ${escapeMarkdown(f.object)}:`,
      '',
      `${fence}suggestion`,
      f.suggestion!,
      fence,
      '',
    );
  }
  return out;
}

/** Annotations: errors and warnings of the findings, and each source that did not verify. */
export function annotate(log: Logger, report: { sources: CheckedSource[]; findings: Finding[] }): void {
  for (const f of report.findings) {
    const annotation = { file: f.file, line: f.line, title: `fluxgate: ${f.rule}` };
    if (f.severity === 'error') log.error(`${f.object}: ${f.message}`, annotation);
    else if (f.severity === 'warning') log.warn(`${f.object}: ${f.message}`, annotation);
  }
  for (const s of report.sources) {
    const annotation = s.file ? { file: s.file, line: s.line, title: 'fluxgate: signature' } : undefined;
    const what = `${s.object ? `${s.object}: ` : ''}${s.ref}${s.digest ? `@${s.digest}` : ''}`;
    if (!s.verified)
      log.error(`${what}: not verified (${s.provider}): ${s.reason ?? 'no reason given'}`, annotation);
    for (const w of s.warnings ?? []) log.warn(`${what}: ${w}`, annotation);
  }
}
