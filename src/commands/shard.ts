/** `--shard I/N` and `--output`, shared by `render` and `diff`, and where a partial report goes. */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import type { ShardReport } from '../diff/shards.js';
import { parseShard, type ShardSpec } from '../flux/shard.js';
import type { ArgReader, FlagSpec } from '../options/flags.js';
import type { CommandIO, CommandResult } from './types.js';

export const shardFlag: FlagSpec = {
  name: 'shard',
  type: 'string',
  value: 'I/N',
  description:
    'Render only cell I of N (1-based) of the owners, balanced by their size, and write a partial report (see --output) for `fluxgate merge`. Every cell also builds the entry directory and the owners every cell needs.',
};

export const shardOutputFlag: FlagSpec = {
  name: 'output',
  type: 'string',
  value: 'FILE',
  description:
    'With --shard: write the partial report (JSON) here. Default: stdout with --format json, else a file under RUNNER_TEMP (the report-path output).',
};

export function readShardOptions(
  args: ArgReader,
  command: string,
  env: NodeJS.ProcessEnv,
): { shard?: ShardSpec; output?: string } {
  const value = args.string('shard');
  const output = args.string('output') || undefined;
  if (!value) {
    if (output)
      throw new UsageError(`${command}: --output is the partial report of --shard; give --shard I/N`);
    return {};
  }
  const shard = parseShard(command, value);
  if (!output && args.string('format') !== 'json' && !env.RUNNER_TEMP)
    throw new UsageError(`${command}: --shard writes a partial report: give --output FILE or --format json`);
  return { shard, output };
}

/** The report to `--output`, stdout (`--format json`) or RUNNER_TEMP; secrets scrubbed. */
export function writeShardReport(
  report: ShardReport,
  options: { output?: string; format: string },
  io: CommandIO,
): CommandResult {
  const text = JSON.stringify(report) + '\n';
  const redacted = io.secrets?.redact(text) ?? text;
  const { index, count } = report.shard;
  const temp = io.env.RUNNER_TEMP || undefined;
  const file = options.output
    ? resolve(io.cwd, options.output)
    : temp && options.format !== 'json'
      ? join(temp, `fluxgate-shard-${index}-of-${count}.json`)
      : undefined;
  if (!file && options.format !== 'json')
    throw new UsageError(
      `${report.fleet.command}: --shard writes a partial report: give --output FILE or --format json`,
    );
  if (file) writeFileSync(file, redacted);
  else io.stdout(redacted);
  const owners = report.clusters.reduce(
    (n, c) =>
      n +
      new Set(
        [...(c.base?.rendered ?? []), ...c.head.rendered].map((o) => `${o.kind}/${o.namespace}/${o.name}`),
      ).size,
    0,
  );
  io.log.info(`shard ${index}/${count}: ${owners} owners reported${file ? ` in ${file}` : ''}`);
  return { exitCode: 0, outputs: { 'report-path': file ?? '' } };
}
