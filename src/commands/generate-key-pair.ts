import { ArgReader } from '../options/flags.js';
import { formatFlag, verboseFlag } from '../options/common.js';
import { printJson } from './artifact-flags.js';
import { defineCommand } from './types.js';
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { FluxgateError } from '../errors.js';
import { generateCosignKeyPair, publicKeyPem, writeCosignPrivateKey } from '../sign/cosign/keys.js';

export interface GenerateKeyPairOptions {
  outputKeyPrefix: string;
  password?: string;
  format: 'text' | 'json';
}

export const generateKeyPairCommand = defineCommand<GenerateKeyPairOptions>({
  name: 'generate-key-pair',
  summary:
    'Write cosign.key and cosign.pub as `cosign generate-key-pair` does (password from COSIGN_PASSWORD).',
  flags: [
    {
      name: 'output-key-prefix',
      type: 'string',
      value: 'PREFIX',
      description: 'File name prefix. Default cosign (cosign.key, cosign.pub).',
    },
    formatFlag(['text', 'json'], 'text'),
    verboseFlag,
  ],
  toOptions(raw, env) {
    const args = new ArgReader('generate-key-pair', raw);
    return {
      outputKeyPrefix: args.string('output-key-prefix') || 'cosign',
      password: env.COSIGN_PASSWORD,
      format: args.choice('format', ['text', 'json'] as const, 'text'),
    };
  },
  async run(options, io) {
    if (options.password === undefined) {
      throw new FluxgateError(
        'INPUT',
        'generate-key-pair: set COSIGN_PASSWORD (it may be empty) to encrypt the private key',
        { exitCode: 2 },
      );
    }
    // Names are built at run time: a `resolve(cwd, `${prefix}.pub`)` literal makes ncc bundle
    // every *.pub file below the project (test fixtures included) as an asset of dist/.
    const [keyFile, pubFile] = ['key', 'pub'].map((ext) =>
      resolve(io.cwd, [options.outputKeyPrefix, ext].join('.')),
    );
    for (const f of [keyFile, pubFile]) {
      if (existsSync(f))
        throw new FluxgateError('INPUT', `generate-key-pair: ${f} exists; not overwriting it`);
    }
    const key = generateCosignKeyPair();
    writeFileSync(keyFile, writeCosignPrivateKey(key, options.password), { mode: 0o600 });
    writeFileSync(pubFile, publicKeyPem(key), { mode: 0o644 });
    io.log.info(`Private key written to ${keyFile}\nPublic key written to ${pubFile}`);
    // The paths only: the private key stays in its file.
    if (options.format === 'json') printJson(io, { privateKeyFile: keyFile, publicKeyFile: pubFile });
    return { exitCode: 0 };
  },
});
