import type { FlagSpec } from '../options/flags.js';
import type { ArgReader } from '../options/flags.js';
import { ClusterClient, type ClusterAccessOptions } from '../cluster/client.js';
import { resolveOciRef } from '../flux/oci-ref.js';
import type { RegistryClient } from '../oci/client.js';
import type { RefResolver } from '../cluster/wait.js';
import type { CommandIO } from './types.js';

/** How a command reaches the cluster (push --wait, wait, diff --cluster). */
export const clusterFlags: FlagSpec[] = [
  {
    name: 'kubeconfig',
    type: 'string',
    value: 'FILE',
    description:
      'The cluster: a kubeconfig file (the action input may hold its content; its credentials are masked). Default: KUBECONFIG, the in-cluster service account, ~/.kube/config.',
  },
  {
    name: 'context',
    type: 'string',
    value: 'NAME',
    description: 'The kubeconfig context to use (default: its current context).',
  },
];

export function readClusterAccess(args: ArgReader): ClusterAccessOptions {
  return {
    kubeconfig: args.string('kubeconfig')?.trim() || undefined,
    context: args.string('context')?.trim() || undefined,
  };
}

/** The cluster client, after a first request that proves the server answers and accepts us. */
export async function connectCluster(access: ClusterAccessOptions, io: CommandIO): Promise<ClusterClient> {
  const client = await ClusterClient.connect(access, io.env, io.log, io.secrets);
  try {
    await client.ping();
  } finally {
    // Nothing stays connected while other work (a push) runs; later requests connect again.
    client.close();
  }
  return client;
}

/** An OCIRepository `spec.ref` resolved in the registry, as source-controller resolves it. */
export function refResolver(
  registryClient: RegistryClient,
  registry: string,
  repository: string,
): RefResolver {
  return async (ref) => (await resolveOciRef(registryClient, registry, repository, ref)).digest;
}
