import { readRegistryCredentials } from './artifact-flags.js';
import { ArgReader, parseKeyValue } from '../options/flags.js';
import { formatFlag, registryFlags, verboseFlag } from '../options/common.js';
import { defineCommand } from './types.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { renderCluster } from '../render/engine.js';
import { defaultConcurrency, type RenderEngineOptions } from '../render/options.js';
import { ownerFileName, renderJson, renderYaml } from '../render/output.js';
import { ownerKey } from '../render/types.js';
import { readShardOptions, shardFlag, shardOutputFlag, writeShardReport } from './shard.js';
import { ShardPlan, ShardSelector, type ShardSpec } from '../flux/shard.js';
import { directoryTree } from '../flux/tree.js';
import { ownedPart, shardReport } from '../diff/shards.js';
import { Git } from '../diff/git.js';
import type { CommandIO, CommandResult } from './types.js';

export type { RenderEngineOptions } from '../render/options.js';

/** Flags of the render engine, shared by `render`, `diff` and `verify --path`. */
export const renderEngineFlags = [
  {
    name: 'repo',
    type: 'string' as const,
    value: 'DIR',
    description:
      'Root of the repository being rendered (GitRepository sources resolve to it). Default: current directory.',
  },
  {
    name: 'source',
    type: 'list' as const,
    value: 'KIND/NS/NAME=DIR',
    description: 'Map a source (e.g. GitRepository/flux-system/infra, or NS/NAME) to a local directory.',
  },
  {
    name: 'no-strict-substitute',
    type: 'boolean' as const,
    description: 'Undefined postBuild variables become empty instead of failing (Flux < 2.9 behaviour).',
  },
  {
    name: 'registry-mirror',
    type: 'list' as const,
    value: 'HOST=HOST2',
    description: 'Fetch OCI sources and charts of HOST from HOST2 (air-gapped runners, pull-through caches).',
  },
  {
    name: 'helm-repo-mirror',
    type: 'list' as const,
    value: 'URL=URL2',
    description: 'Fetch charts of the HTTP Helm repository URL from URL2.',
  },
  {
    name: 'concurrency',
    type: 'string' as const,
    value: 'N',
    description:
      'Builds run in parallel. Default: the number of cores. Each kustomize or helm process gets the cores over N (at least 1) as GOMAXPROCS.',
  },
  {
    name: 'cache-dir',
    type: 'string' as const,
    value: 'DIR',
    description:
      'Cache of charts (by digest) and of build outputs (by the hash of all their inputs; never one holding a Secret), reused across runs.',
  },
  {
    name: 'kube-version',
    type: 'string' as const,
    value: 'VERSION',
    description: 'Kubernetes version charts see (.Capabilities.KubeVersion).',
  },
  {
    name: 'api-versions',
    type: 'list' as const,
    value: 'GROUP/VERSION[/KIND]',
    description: 'Extra API versions charts see (.Capabilities.APIVersions).',
  },
  {
    name: 'sops-age-key-file',
    type: 'list' as const,
    value: 'FILE',
    description:
      'age identities for SOPS-encrypted Secrets of Kustomizations with spec.decryption (also SOPS_AGE_KEY, SOPS_AGE_KEY_FILE). Read into memory only.',
  },
  {
    name: 'sops-pgp-key-file',
    type: 'list' as const,
    value: 'FILE',
    description:
      'Armored OpenPGP private keys (no passphrase) for SOPS-encrypted Secrets. Read into memory only.',
  },
  ...registryFlags,
];

/** `reference`: verify's oci:// positional, the one host a bare `--creds` may be bound to. */
export function readRenderEngineOptions(
  args: ArgReader,
  command: string,
  env: NodeJS.ProcessEnv,
  reference?: string,
): RenderEngineOptions {
  const pairs = (flag: string) => new Map(args.list(flag).map((item) => parseKeyValue(command, flag, item)));
  return {
    repo: args.string('repo') || '.',
    sources: pairs('source'),
    strictSubstitute: !args.boolean('no-strict-substitute'),
    registryMirrors: pairs('registry-mirror'),
    helmRepoMirrors: pairs('helm-repo-mirror'),
    concurrency: args.integer('concurrency', defaultConcurrency()),
    cacheDir: args.string('cache-dir') || undefined,
    kubeVersion: args.string('kube-version') || undefined,
    apiVersions: args.list('api-versions'),
    insecureRegistry: args.boolean('insecure-registry'),
    creds: readRegistryCredentials(command, args, env, reference),
    sopsAgeKeyFiles: args.list('sops-age-key-file'),
    sopsPgpKeyFiles: args.list('sops-pgp-key-file'),
  };
}

export interface RenderOptions extends RenderEngineOptions {
  path: string;
  format: 'yaml' | 'json';
  outputDir?: string;
  /** `--shard I/N`: this cell's share, as a partial report for `merge`. */
  shard?: ShardSpec;
  output?: string;
}

export const renderCommand = defineCommand<RenderOptions>({
  name: 'render',
  summary: 'Render every object Flux would apply to a cluster, with the Flux object that applies it.',
  flags: [
    {
      name: 'path',
      type: 'string',
      value: 'DIR',
      required: true,
      description: 'Cluster entry directory, relative to the repository root (e.g. clusters/production).',
    },
    formatFlag(['yaml', 'json'], 'yaml'),
    {
      name: 'output-dir',
      type: 'string',
      value: 'DIR',
      description: 'Also write one YAML file per owner here.',
    },
    shardFlag,
    shardOutputFlag,
    ...renderEngineFlags,
    verboseFlag,
  ],
  toOptions(raw, env) {
    const args = new ArgReader('render', raw);
    return {
      ...readRenderEngineOptions(args, 'render', env),
      format: args.choice('format', ['yaml', 'json'] as const, 'yaml'),
      path: args.requiredString(
        'path',
        "the cluster's entry directory, relative to the repository root (e.g. clusters/production; . for the root)",
      ),
      outputDir: args.string('output-dir') || undefined,
      ...readShardOptions(args, 'render', env),
    };
  },
  async run(options, io) {
    if (options.shard) return renderShard(options, options.shard, io);
    const result = await io.log.group(`Render ${options.path}`, () => renderCluster(options, io));
    for (const e of result.errors) io.log.error(e.message, e.origin && { ...e.origin });
    for (const w of result.warnings ?? []) io.log.warn(w.message, w.origin && { ...w.origin });
    for (const n of result.notices ?? []) io.log.info(n.message);
    for (const s of result.suspended ?? [])
      io.log.info(
        `${s.kind} ${s.namespace}/${s.name} is suspended: the controllers would not apply what it renders`,
      );
    if (options.format === 'json') io.stdout(renderJson(result));
    else io.stdout(renderYaml(result));
    if (options.outputDir) {
      const dir = resolve(io.cwd, options.outputDir);
      mkdirSync(dir, { recursive: true });
      const owners = new Map(result.objects.map((o) => [ownerKey(o.owner), o.owner]));
      for (const owner of owners.values()) {
        const yaml = renderYaml(result, owner);
        writeFileSync(join(dir, ownerFileName(owner)), io.secrets?.redact(yaml) ?? yaml);
      }
    }
    io.log.info(
      `rendered ${result.objects.length} objects from ${result.rendered.length} owners, ${result.errors.length} errors; builds: ${result.builds?.built ?? 0} run, ${result.builds?.cached ?? 0} from the cache`,
    );
    return {
      exitCode: result.errors.length ? 1 : 0,
      outputs: {
        objects: String(result.objects.length),
        errors: String(result.errors.length),
        json: renderJson(result),
      },
    };
  },
});

/** `render --shard I/N`: the owners of cell I, as a partial report (`merge` puts the cells together). */
async function renderShard(options: RenderOptions, shard: ShardSpec, io: CommandIO): Promise<CommandResult> {
  const repo = resolve(io.cwd, options.repo);
  const selector = new ShardSelector(new ShardPlan(directoryTree(repo), options.path, shard));
  const result = await io.log.group(`Render ${options.path} (shard ${shard.index}/${shard.count})`, () =>
    renderCluster(
      {
        ...options,
        discovered: (owner, parent) => selector.discovered(owner, parent),
        shouldBuild: (owner) => selector.shouldBuild(owner),
      },
      io,
    ),
  );
  const owned = ownedPart(result, selector);
  for (const e of owned.errors) io.log.error(e.message);
  let commit: string | undefined;
  try {
    commit = await new Git(repo, io.env).resolveRef('HEAD');
  } catch {
    // Not a git work tree: the paths are the identity.
  }
  const report = shardReport(
    shard,
    { command: 'render', paths: [options.path], head: { ref: options.repo, ...(commit ? { commit } : {}) } },
    [{ path: options.path, head: owned }],
    [{ path: options.path, head: result.rendered }],
  );
  return writeShardReport(report, options, io);
}
