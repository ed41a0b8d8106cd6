import { parseAllDocuments } from 'yaml';
import type { KubeObject, OwnerRef } from '../render/types.js';

/** API groups of the Flux objects the renderer follows. */
export const KUSTOMIZE_GROUP = 'kustomize.toolkit.fluxcd.io';
export const HELM_GROUP = 'helm.toolkit.fluxcd.io';
export const SOURCE_GROUP = 'source.toolkit.fluxcd.io';
export const SOURCE_EXTENSIONS_GROUP = 'source.extensions.fluxcd.io';

export const groupOf = (apiVersion: string | undefined) =>
  apiVersion?.includes('/') ? apiVersion.split('/')[0]! : '';

export const isFluxKustomization = (o: KubeObject) =>
  o.kind === 'Kustomization' && groupOf(o.apiVersion) === KUSTOMIZE_GROUP;
export const isHelmRelease = (o: KubeObject) =>
  o.kind === 'HelmRelease' && groupOf(o.apiVersion) === HELM_GROUP;

export function objectKey(kind: string, namespace: string | undefined, name: string): string {
  return `${kind}/${namespace ?? ''}/${name}`;
}

export function ownerOf(object: KubeObject, fallbackNamespace: string): OwnerRef {
  return {
    kind: object.kind as OwnerRef['kind'],
    namespace: object.metadata.namespace || fallbackNamespace,
    name: object.metadata.name,
  };
}

export const describeOwner = (o: OwnerRef) => `${o.kind} ${o.namespace}/${o.name}`;

/** Parses a multi-document YAML text into objects; empty documents are skipped. Throws the first error. */
export function parseObjects(text: string, what: string): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new Error(`${what}: invalid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
    const value = doc.toJSON();
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value))
      throw new Error(`${what}: a document is not a Kubernetes object`);
    objects.push(value as KubeObject);
  }
  return objects;
}

/** Nested field access for plain JSON objects. */
export function field<T = unknown>(object: unknown, ...path: string[]): T | undefined {
  let v: unknown = object;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v as T | undefined;
}
