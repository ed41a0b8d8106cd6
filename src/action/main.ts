import * as core from '@actions/core';
import { errorLine } from '../errors.js';
import { routeProcessWarnings } from '../log.js';
import { runCommand } from '../run.js';
import { SecretRegistry } from '../util/redact.js';
import { givenInputs, inActionWords, readActionInputs } from './inputs.js';
import { ActionLogger } from './logger.js';
import { CappedAnnotations } from './annotations.js';
import { inertForLog } from './workflow-commands.js';

/**
 * The action front end: inputs in, outputs and exit status out; the engine does the rest.
 * Everything the command prints reaches the Actions log: secret values are scrubbed (runCommand)
 * and registered with the runner, and no printed line can act as a workflow command.
 */
export async function runAction(): Promise<void> {
  // One annotation per file and line, no more than GitHub shows per step (annotations.ts).
  const log = new CappedAnnotations(new ActionLogger());
  routeProcessWarnings((line) => log.info(line));
  let inputs;
  try {
    inputs = readActionInputs((name) => core.getInput(name), givenInputs(process.env));
  } catch (err) {
    core.setFailed(errorLine(err));
    log.finish();
    return;
  }
  for (const warning of inputs.warnings) log.warn(warning);
  const secrets = new SecretRegistry();
  // runCommand registers each with the runner too (core.setSecret).
  for (const secret of inputs.secrets) secrets.add(secret);
  const env = { ...process.env };
  if (inputs.githubToken) env.GITHUB_TOKEN = inputs.githubToken;

  const exitCode = await runCommand(inputs.command, inputs.raw, {
    log,
    stdout: (text) => process.stdout.write(inertForLog(text)),
    env,
    cwd: process.cwd(),
    secrets,
    usageWords: (message) => inActionWords(inputs.command, message),
    action: {
      setOutput: (name, value) => core.setOutput(name, value),
      appendSummary: async (markdown) => {
        await core.summary.addRaw(markdown, true).write();
      },
    },
  });
  log.finish();
  // The error itself was already reported as an annotation by the logger.
  if (exitCode !== 0) process.exitCode = exitCode;
}
