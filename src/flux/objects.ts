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

/**
 * Parses a multi-document YAML text (a tool's output) into the objects Flux applies; empty
 * documents are skipped. Throws the first error. Lists are flattened, as both controllers do
 * before applying (fluxcd/pkg ssa/utils ReadObjects: any object with an `items` array; kustomize
 * api/resource/factory.go inlineAnyEmbeddedLists; helm pkg/kube Client.Build, `Flatten()`), and
 * nested Lists with them: a Secret inside a List is a Secret like any other.
 */
export function parseObjects(text: string, what: string): KubeObject[] {
  const objects: KubeObject[] = [];
  const add = (value: unknown, depth: number): void => {
    if (value === null || value === undefined) return;
    if (typeof value !== 'object' || Array.isArray(value))
      throw new Error(`${what}: a ${depth ? 'List item' : 'document'} is not a Kubernetes object`);
    const items = (value as { items?: unknown }).items;
    if (Array.isArray(items)) {
      if (depth > 16) throw new Error(`${what}: Lists nested too deep`);
      for (const item of items) add(item ?? 'null', depth + 1);
      return;
    }
    objects.push(value as KubeObject);
  };
  // Warnings stay in doc.warnings: the `yaml` library would print them with the source line.
  for (const doc of parseAllDocuments(text, { logLevel: 'error' })) {
    if (doc.errors.length) throw new Error(`${what}: invalid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
    add(doc.toJSON(), 0);
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
