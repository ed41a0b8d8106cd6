import { resolve } from 'node:path';
import type { WorkIO } from '../util/io.js';
import type { VerifyOptions } from './options.js';
import { checkPolicies, indexObjects, scanObjects, type Finding } from './policy.js';
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
  io: WorkIO,
  pick: { targets?: (t: VerifyTarget) => boolean; findings?: (f: Finding) => boolean } = {},
  /** A cluster entry directory: only what that cluster applies (see scope.ts); else every file. */
  cluster?: { path: string; sources: Map<string, string> },
): Promise<RepositoryVerification> {
  const scoped = cluster && !isRepositoryRoot(cluster.path) ? cluster.path : undefined;
  const { objects, findings: scanFindings } = scoped
    ? scanCluster(repo, scoped, cluster!.sources, io.log, io.cwd, io.env)
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

/** `verify --path`: what the cluster at `--path` applies (all of `--repo` without it). */
export function verifyPath(options: VerifyOptions, io: WorkIO): Promise<RepositoryVerification> {
  return verifyRepository(
    resolve(io.cwd, options.repo),
    options,
    io,
    {},
    { path: options.path, sources: options.sources },
  );
}
