import { ArgReader } from '../options/flags.js';
import { formatFlag, registryFlags, urlPositional, verboseFlag } from '../options/common.js';
import { defineCommand, type CommandIO } from './types.js';
import { parseArtifactUrl, printJson, readRegistryCredentials, registryClientFor } from './artifact-flags.js';
import type { RegistryCredentials } from '../oci/auth.js';
import { UsageError } from '../errors.js';
import { clusterFlags, connectCluster, readClusterAccess, refResolver } from './cluster-flags.js';
import type { ClusterAccessOptions } from '../cluster/client.js';
import { waitForArtifact, type WaitResult, type WaitTarget } from '../cluster/wait.js';
import type { RegistryClient } from '../oci/client.js';
import type { ClusterClient } from '../cluster/client.js';

export interface WaitOptions {
  url: string;
  cluster: ClusterAccessOptions;
  format: 'text' | 'json';
  insecureRegistry: boolean;
  creds?: RegistryCredentials;
}

export const waitCommand = defineCommand<WaitOptions>({
  name: 'wait',
  summary:
    'Request reconciliation of the OCIRepositories that point at an artifact and wait until they and their Kustomizations applied it.',
  positionals: [urlPositional(true, 'The artifact, oci://HOST/REPO@DIGEST (a tag is resolved first).')],
  flags: [...clusterFlags, formatFlag(['text', 'json'], 'text'), ...registryFlags, verboseFlag],
  toOptions(raw, env) {
    const args = new ArgReader('wait', raw);
    const url = args.requiredPositional(0, 'an oci://HOST/REPO@DIGEST reference');
    if (!url.startsWith('oci://')) throw new UsageError(`wait: expected an oci:// reference, got '${url}'`);
    return {
      url,
      cluster: readClusterAccess(args),
      format: args.choice('format', ['text', 'json'] as const, 'text'),
      insecureRegistry: args.boolean('insecure-registry'),
      creds: readRegistryCredentials('wait', args, env, url),
    };
  },
  async run(options, io) {
    const ref = parseArtifactUrl('wait', options.url);
    const cluster = await connectCluster(options.cluster, io);
    const registry = registryClientFor(options, io);
    const digest =
      ref.digest ??
      (await registry.getManifest(ref.registry, ref.repository, ref.tag ?? 'latest')).descriptor.digest;
    const target = { registry: ref.registry, repository: ref.repository, digest };
    const result = await waitInCluster(cluster, registry, target, io).finally(() => cluster.close());
    const json = { digest, url: `oci://${ref.registry}/${ref.repository}@${digest}`, ...result };
    if (options.format === 'json') printJson(io, json);
    else io.stdout(pickedUpText(result));
    return {
      exitCode: 0,
      outputs: { digest, 'picked-up': JSON.stringify(result), json: JSON.stringify(json) },
    };
  },
});

/** The wait, in its own log group (push --wait and wait). */
export function waitInCluster(
  cluster: ClusterClient,
  registry: RegistryClient,
  target: WaitTarget,
  io: CommandIO,
): Promise<WaitResult> {
  return io.log.group(`Wait for cluster ${cluster.server} to apply ${target.digest}`, () =>
    waitForArtifact(cluster, target, refResolver(registry, target.registry, target.repository), io.log),
  );
}

export function pickedUpText(result: WaitResult): string {
  return (
    [...result.sources, ...result.kustomizations]
      .map(
        (p) =>
          `${p.kind} ${p.namespace}/${p.name} ${p.kind === 'OCIRepository' ? 'fetched' : 'applied'} ${p.revision} at ${p.at}`,
      )
      .join('\n') + '\n'
  );
}
