import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { readActionInputs, ACTION_COMMANDS } from '../../src/action/inputs.js';
import { commands } from '../../src/commands/index.js';
import { ACTION_OUTPUTS } from '../../src/action/outputs.js';
import { PROJECT_ROOT } from '../support/tools.js';
import { inputName } from '../../src/options/flags.js';

const inputsOf = (values: Record<string, string>) => (name: string) => values[name] ?? '';

describe('action inputs', () => {
  it('maps with: inputs of the flag names to the same options the CLI builds', () => {
    const inputs = readActionInputs(
      inputsOf({
        command: 'push',
        url: 'oci://ghcr.io/acme/app:v1',
        path: 'deploy/',
        tags: 'v1.2.3,latest',
        reproducible: 'true',
        creds: 'bot:s3cr3t-token',
        'github-token': 'ghs_abcdef',
      }),
    );
    expect(inputs.command.name).toBe('push');
    const github = {
      GITHUB_ACTIONS: 'true',
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: 'acme/app',
      GITHUB_REF_NAME: 'v1.2.3',
      GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
    };
    const options = inputs.command.toOptions(inputs.raw, github) as Record<string, unknown>;
    expect(options).toMatchObject({
      url: 'oci://ghcr.io/acme/app:v1',
      tags: ['v1.2.3', 'latest'],
      reproducible: true,
      path: 'deploy/',
      // In a workflow, source and revision default from the GitHub context (RFC-0005 revision).
      source: 'https://github.com/acme/app',
      revision: 'v1.2.3@sha1:0123456789abcdef0123456789abcdef01234567',
    });
    expect(() => inputs.command.toOptions(inputs.raw, {})).toThrow('push: --source is required');
    // Every credential is handed over for masking, the password part on its own too.
    expect(inputs.secrets).toEqual(
      expect.arrayContaining(['bot:s3cr3t-token', 's3cr3t-token', 'ghs_abcdef']),
    );
  });

  it('fails with one clear line for a missing or unknown command', () => {
    expect(() => readActionInputs(inputsOf({}))).toThrow("input 'command' is required");
    expect(() => readActionInputs(inputsOf({ command: 'generate-key-pair' }))).toThrow(
      "unknown command 'generate-key-pair'",
    );
  });

  it('action.yml declares every flag of every action command, each output, and runs on node24', () => {
    const action = parse(readFileSync(join(PROJECT_ROOT, 'action.yml'), 'utf8'));
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.js' });
    for (const name of ACTION_COMMANDS) {
      const command = commands.find((c) => c.name === name)!;
      for (const flag of command.flags.filter((f) => f.name !== 'verbose')) {
        expect(action.inputs[inputName(flag)]?.description).toContain(name);
      }
    }
    expect(Object.keys(action.outputs).sort()).toEqual(ACTION_OUTPUTS.map((o) => o.name).sort());
    expect(action.branding).toBeDefined();
  });
});
