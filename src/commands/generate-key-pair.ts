import { ArgReader } from '../options/flags.js';
import { verboseFlag } from '../options/common.js';
import { defineCommand } from './types.js';
import { notImplemented } from './not-implemented.js';

export interface GenerateKeyPairOptions {
  outputKeyPrefix: string;
  password?: string;
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
    verboseFlag,
  ],
  toOptions(raw, env) {
    const args = new ArgReader('generate-key-pair', raw);
    return { outputKeyPrefix: args.string('output-key-prefix') || 'cosign', password: env.COSIGN_PASSWORD };
  },
  async run() {
    notImplemented('generate-key-pair');
  },
});
