import { resolve } from 'node:path';
import type { CommandIO, CommandResult } from '../commands/types.js';
import type { VerifyOptions } from '../commands/verify.js';
import { checkPolicies, indexObjects, scanObjects, type Finding } from './policy.js';
import {
  annotate,
  reportJson,
  verificationFailed,
  verificationMarkdown,
  verificationText,
} from './report.js';
import { isRepositoryRoot, scanCluster } from './scope.js';
import { VerifySecrets } from './secrets.js';
import { addMigrationSuggestions } from './migrate.js';
import { checkSources, verifyTargets, type CheckedSource, type VerifyTarget } from './sources.js';

export { verificationText, type VerifyReport } from './report.js';
export type { SourceVerdict } from './sources.js';

export interface RepositoryVerification {
  sources: CheckedSource[];
  findings: Finding[];
}

/** What verifying a repository's sources and policies needs of the verify options. */
export type RepositoryVerifyOptions = Pick<
  VerifyOptions,
  | 'verifySecrets'
  | 'requireSignatures'
  | 'requireDigests'
  | 'requireEncryptedSecrets'
  | 'fluxVersion'
  | 'insecureRegistry'
  | 'creds'
  | 'registryMirrors'
  | 'concurrency'
>;

/**
 * The policy checks on a repository's files and a verdict for every source that asks for
 * verification (or those `pick` keeps), each against its registry with its own policy.
 */
export async function verifyRepository(
  repo: string,
  options: RepositoryVerifyOptions,
  io: CommandIO,
  pick: { targets?: (t: VerifyTarget) => boolean; findings?: (f: Finding) => boolean } = {},
  /** A cluster entry directory: only what that cluster applies (see scope.ts); else every file. */
  cluster?: { path: string; sources: Map<string, string> },
): Promise<RepositoryVerification> {
  const scoped = cluster && !isRepositoryRoot(cluster.path) ? cluster.path : undefined;
  const { objects, findings: scanFindings } = scoped
    ? scanCluster(repo, scoped, cluster!.sources, io.log)
    : scanObjects(repo);
  const findings = [...scanFindings, ...checkPolicies(objects, options)].filter(
    pick.findings ?? (() => true),
  );
  addMigrationSuggestions(repo, findings);
  const targets = verifyTargets(objects).filter(pick.targets ?? (() => true));
  const secrets = new VerifySecrets(
    indexObjects(objects),
    options.verifySecrets,
    io.cwd,
    scoped ? `what cluster ${scoped} applies` : 'the repository',
  );
  const sources = await checkSources(targets, secrets, options, io);
  return { sources, findings };
}

/** `verify --path`: what the cluster at `--path` applies (all of `--repo` without it); exit 1 when a signature does not verify or a finding is an error. */
export async function verifyPath(options: VerifyOptions, io: CommandIO): Promise<CommandResult> {
  const repo = resolve(io.cwd, options.repo);
  const result = await verifyRepository(
    repo,
    options,
    io,
    {},
    { path: options.path, sources: options.sources },
  );
  const report = reportJson(result.sources, result.findings);
  annotate(io.log, result);
  if (options.format === 'json') io.stdout(JSON.stringify(report, null, 2) + '\n');
  else io.stdout(verificationText(result));
  if (io.action) await io.action.appendSummary(verificationMarkdown(result));
  return {
    exitCode: verificationFailed(report.sources, report.findings) ? 1 : 0,
    outputs: {
      verified: String(report.sources.every((s) => s.verified)),
      findings: JSON.stringify(report.findings),
      json: JSON.stringify(report),
    },
  };
}
