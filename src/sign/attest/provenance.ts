/**
 * The SLSA v1 provenance statement GitHub's `actions/attest-build-provenance` writes for a
 * workflow run (actions/toolkit packages/attest/src/provenance.ts buildSLSAProvenancePredicate,
 * intoto.ts buildIntotoStatement), filled from the Actions context.
 */
import { FluxgateError } from '../../errors.js';

export const IN_TOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
export const GITHUB_WORKFLOW_BUILD_TYPE = 'https://actions.github.io/buildtypes/workflow/v1';

/** The run facts the predicate records: the OIDC token's claims, as the toolkit reads them. */
export interface WorkflowRun {
  serverUrl: string;
  /** owner/repo */
  repository: string;
  /** owner/repo/.github/workflows/file.yml@ref: the workflow the run started from. */
  workflowRef: string;
  /** The workflow file that ran this job (differs from workflowRef in a reusable workflow). */
  jobWorkflowRef: string;
  ref: string;
  sha: string;
  eventName: string;
  repositoryId: string;
  repositoryOwnerId: string;
  runnerEnvironment: string;
  runId: string;
  runAttempt: string;
}

export interface ProvenanceSubject {
  name: string;
  digest: Record<string, string>;
}

export interface ProvenanceStatement {
  _type: string;
  subject: ProvenanceSubject[];
  predicateType: string;
  predicate: {
    buildDefinition: {
      buildType: string;
      externalParameters: { workflow: { ref: string; repository: string; path: string } };
      internalParameters: { github: Record<string, string> };
      resolvedDependencies: { uri: string; digest: { gitCommit: string } }[];
    };
    runDetails: { builder: { id: string }; metadata: { invocationId: string } };
  };
}

/**
 * The run as the toolkit sees it: the OIDC token's claims (`claims`, when a token was fetched)
 * over the runner's environment variables of the same facts. Fails when no run is described.
 */
export function workflowRunFrom(env: NodeJS.ProcessEnv, claims: Record<string, unknown> = {}): WorkflowRun {
  const claim = (name: string) => (typeof claims[name] === 'string' ? (claims[name] as string) : undefined);
  const read = (name: string, envName: string) => claim(name) ?? env[envName] ?? '';
  const run: WorkflowRun = {
    serverUrl: env.GITHUB_SERVER_URL || 'https://github.com',
    repository: read('repository', 'GITHUB_REPOSITORY'),
    workflowRef: read('workflow_ref', 'GITHUB_WORKFLOW_REF'),
    jobWorkflowRef: claim('job_workflow_ref') ?? env.GITHUB_WORKFLOW_REF ?? '',
    ref: read('ref', 'GITHUB_REF'),
    sha: read('sha', 'GITHUB_SHA'),
    eventName: read('event_name', 'GITHUB_EVENT_NAME'),
    repositoryId: read('repository_id', 'GITHUB_REPOSITORY_ID'),
    repositoryOwnerId: read('repository_owner_id', 'GITHUB_REPOSITORY_OWNER_ID'),
    runnerEnvironment: read('runner_environment', 'RUNNER_ENVIRONMENT'),
    runId: read('run_id', 'GITHUB_RUN_ID'),
    runAttempt: read('run_attempt', 'GITHUB_RUN_ATTEMPT'),
  };
  const missing = (
    [
      ['GITHUB_REPOSITORY', run.repository],
      ['GITHUB_WORKFLOW_REF', run.workflowRef],
      ['GITHUB_REF', run.ref],
      ['GITHUB_SHA', run.sha],
      ['GITHUB_RUN_ID', run.runId],
      ['GITHUB_RUN_ATTEMPT', run.runAttempt],
    ] as const
  )
    .filter(([, v]) => !v)
    .map(([n]) => n);
  if (missing.length)
    throw new FluxgateError(
      'INPUT',
      `provenance: the GitHub Actions context is incomplete (${missing.join(', ')} not set); attest from a workflow run`,
    );
  return run;
}

/** The in-toto statement for one OCI artifact (name without tag, lower case, as actions/attest). */
export function provenanceStatement(
  subject: { name: string; digest: string },
  run: WorkflowRun,
): ProvenanceStatement {
  const [alg, hex] = subject.digest.split(':');
  // owner/repo/.github/workflows/x.yml@refs/tags/v1 → .github/workflows/x.yml, refs/tags/v1;
  // a ref may itself hold '@' (changesets tags), hence the join.
  const [path, ...refParts] = run.workflowRef.replace(`${run.repository}/`, '').split('@');
  return {
    _type: IN_TOTO_STATEMENT_V1,
    subject: [{ name: subject.name.toLowerCase(), digest: { [alg!]: hex! } }],
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: GITHUB_WORKFLOW_BUILD_TYPE,
        externalParameters: {
          workflow: {
            ref: refParts.join('@'),
            repository: `${run.serverUrl}/${run.repository}`,
            path: path!,
          },
        },
        internalParameters: {
          github: {
            event_name: run.eventName,
            repository_id: run.repositoryId,
            repository_owner_id: run.repositoryOwnerId,
            runner_environment: run.runnerEnvironment,
          },
        },
        resolvedDependencies: [
          { uri: `git+${run.serverUrl}/${run.repository}@${run.ref}`, digest: { gitCommit: run.sha } },
        ],
      },
      runDetails: {
        builder: { id: `${run.serverUrl}/${run.jobWorkflowRef}` },
        metadata: {
          invocationId: `${run.serverUrl}/${run.repository}/actions/runs/${run.runId}/attempts/${run.runAttempt}`,
        },
      },
    },
  };
}
