/**
 * What a FluxInstance's `spec.sync` makes the Flux Operator apply (flux-operator
 * internal/builder/templates.go syncTmpl): a source named after `sync.name` (the instance's
 * namespace by default) of kind GitRepository, OCIRepository or Bucket, and a Kustomization of
 * the same name building `sync.path` from it.
 */
import { field, type KubeObject } from '../objects.js';

interface Sync {
  name?: string;
  interval?: string;
  kind?: string;
  url?: string;
  ref?: string;
  path?: string;
  pullSecret?: string;
  provider?: string;
}

export const SYNC_KINDS = ['GitRepository', 'OCIRepository', 'Bucket'];

/** The sync source and Kustomization of a FluxInstance, or undefined without `spec.sync`. */
export function fluxInstanceSync(
  instance: KubeObject,
): { source: KubeObject; kustomization: KubeObject } | undefined {
  const sync = field<Sync>(instance, 'spec', 'sync');
  if (!sync) return undefined;
  const namespace = instance.metadata.namespace || 'flux-system';
  const name = sync.name || namespace;
  if (!sync.kind || !SYNC_KINDS.includes(sync.kind))
    throw new Error(
      `spec.sync.kind must be one of ${SYNC_KINDS.join(', ')}, not ${JSON.stringify(sync.kind ?? '')}`,
    );
  if (!sync.url) throw new Error('spec.sync.url is missing');
  if (!sync.path) throw new Error('spec.sync.path is missing');
  const spec: Record<string, unknown> = { interval: sync.interval || '1m' };
  if (sync.kind === 'GitRepository') spec.ref = { name: sync.ref };
  else if (sync.kind === 'OCIRepository') spec.ref = { tag: sync.ref };
  else spec.bucketName = sync.ref;
  if (sync.pullSecret) spec.secretRef = { name: sync.pullSecret };
  if (sync.provider) spec.provider = sync.provider;
  if (sync.kind === 'Bucket') spec.endpoint = sync.url;
  else spec.url = sync.url;
  return {
    source: {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: sync.kind,
      metadata: { name, namespace },
      spec,
    },
    kustomization: {
      apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
      kind: 'Kustomization',
      metadata: { name, namespace },
      spec: { interval: '10m0s', path: sync.path, prune: true, sourceRef: { kind: sync.kind, name } },
    },
  };
}
