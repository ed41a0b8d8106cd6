import * as core from '@actions/core';
import { errorLine } from '../errors.js';
import { runCommand } from '../run.js';
import { readActionInputs } from './inputs.js';
import { ActionLogger } from './logger.js';

/** The action front end: inputs in, outputs and exit status out; the engine does the rest. */
export async function runAction(): Promise<void> {
  const log = new ActionLogger();
  let inputs;
  try {
    inputs = readActionInputs((name) => core.getInput(name));
  } catch (err) {
    core.setFailed(errorLine(err));
    return;
  }
  for (const secret of inputs.secrets) log.mask(secret);
  const env = { ...process.env };
  if (inputs.githubToken) env.GITHUB_TOKEN = inputs.githubToken;

  const exitCode = await runCommand(inputs.command, inputs.raw, {
    log,
    stdout: (text) => process.stdout.write(text),
    env,
    cwd: process.cwd(),
    action: {
      setOutput: (name, value) => core.setOutput(name, value),
      appendSummary: async (markdown) => {
        await core.summary.addRaw(markdown, true).write();
      },
    },
  });
  // The error itself was already reported as an annotation by the logger.
  if (exitCode !== 0) process.exitCode = exitCode;
}
