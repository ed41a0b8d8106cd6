import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ArgReader } from '../options/flags.js';
import { formatFlag, verboseFlag } from '../options/common.js';
import { defineCommand } from './types.js';
import { printJson } from './artifact-flags.js';
import { migrateTree } from '../verify/migrate.js';
import { NEWEST_FLUX } from '../verify/api-versions.js';
import { FluxgateError } from '../errors.js';

export interface MigrateOptions {
  path: string;
  dryRun: boolean;
  format: 'text' | 'json';
}

export const migrateCommand = defineCommand<MigrateOptions>({
  name: 'migrate',
  summary: `Rewrite deprecated and removed Flux API versions in place (as \`flux migrate -f\`, for Flux ${NEWEST_FLUX}); only the apiVersion lines change.`,
  flags: [
    {
      name: 'path',
      type: 'string',
      value: 'DIR|FILE',
      description:
        'Directory (walked, hidden directories skipped) or YAML file. Default: the current directory.',
    },
    { name: 'dry-run', type: 'boolean', description: 'Print the changes; write nothing.' },
    formatFlag(['text', 'json'], 'text'),
    verboseFlag,
  ],
  toOptions(raw) {
    const args = new ArgReader('migrate', raw);
    return {
      path: args.string('path') || '.',
      dryRun: args.boolean('dry-run'),
      format: args.choice('format', ['text', 'json'] as const, 'text'),
    };
  },
  async run(options, io) {
    if (!existsSync(resolve(io.cwd, options.path)))
      throw new FluxgateError('INPUT', `--path ${options.path}: no such file or directory`, { exitCode: 2 });
    const result = migrateTree(resolve(io.cwd, options.path), {
      base: io.cwd,
      dryRun: options.dryRun,
      log: io.log,
    });
    if (options.format === 'json') printJson(io, { dryRun: options.dryRun, ...result });
    else
      for (const m of result.migrations)
        io.stdout(`${m.file}:${m.line}: ${m.kind}/${m.name}: ${m.from} -> ${m.to}\n`);
    const verb = options.dryRun ? 'would rewrite' : 'rewrote';
    io.log.info(
      result.migrations.length
        ? `${verb} ${result.migrations.length} apiVersion${result.migrations.length === 1 ? '' : 's'} in ${result.files.length} file${result.files.length === 1 ? '' : 's'}`
        : 'no deprecated Flux API versions found',
    );
    return {
      exitCode: 0,
      outputs: {
        migrated: String(result.migrations.length),
        json: JSON.stringify({ dryRun: options.dryRun, ...result }),
      },
    };
  },
});
