/**
 * The Flux vocabulary every part of fluxgate speaks: API groups, kinds, the names kustomize
 * reads a kustomization from, repository paths, and the object shapes.
 */
import { posix } from 'node:path';
import { parseAllDocuments } from 'yaml';

/** A Kubernetes object as read or rendered (plain JSON). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  } & Record<string, unknown>;
  [key: string]: unknown;
}

/**
 * The Flux object that applies an object: a Kustomization, a HelmRelease for chart output, a
 * ResourceSet (Flux Operator) for what its templates generate, a FluxInstance for its sync objects.
 */
export interface OwnerRef {
  kind: 'Kustomization' | 'HelmRelease' | 'ResourceSet' | 'FluxInstance';
  namespace: string;
  name: string;
}

/** API groups of the Flux objects fluxgate follows. */
export const KUSTOMIZE_GROUP = 'kustomize.toolkit.fluxcd.io';
export const HELM_GROUP = 'helm.toolkit.fluxcd.io';
export const SOURCE_GROUP = 'source.toolkit.fluxcd.io';
export const SOURCE_EXTENSIONS_GROUP = 'source.extensions.fluxcd.io';
export const NOTIFICATION_GROUP = 'notification.toolkit.fluxcd.io';
export const IMAGE_GROUP = 'image.toolkit.fluxcd.io';
/** The Flux Operator's API group (controlplaneio-fluxcd/flux-operator api/v1 groupversion_info.go). */
export const OPERATOR_GROUP = 'fluxcd.controlplane.io';

/** Source kinds a Kustomization or a HelmRelease can name (source-controller, source-watcher). */
export const SOURCE_KINDS = [
  'GitRepository',
  'OCIRepository',
  'Bucket',
  'HelmRepository',
  'HelmChart',
  'ExternalArtifact',
] as const;

/** The file names kustomize reads a kustomization from, in its order (konfig.RecognizedKustomizationFileNames). */
export const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

/** The ignore file source-controller reads in every directory of a Git source (fluxcd/pkg sourceignore). */
export const SOURCE_IGNORE_FILE = '.sourceignore';

/** Built-in and common kinds that have no namespace (no discovery offline): the rest are namespaced. */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PriorityClass',
  'StorageClass',
  'PersistentVolume',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
  'APIService',
  'IngressClass',
  'RuntimeClass',
  'CSIDriver',
  'VolumeAttachment',
  'ClusterIssuer',
  'GatewayClass',
  'Node',
  'PodSecurityPolicy',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
]);

/** Whether objects of `kind` live outside namespaces (helm and the controllers default the rest). */
export const isClusterScoped = (kind: string) => CLUSTER_SCOPED.has(kind);

export const groupOf = (apiVersion: string | undefined) =>
  apiVersion?.includes('/') ? apiVersion.split('/')[0]! : '';

/**
 * A repository-relative path: `/`-separated, without `./`, a leading or trailing slash; `''` is
 * the root. Undefined when the path leaves the repository (`../x`).
 */
export function repoPath(path: string): string | undefined {
  const p = posix.normalize(path.replace(/\\/g, '/').replace(/^\/+/, '')).replace(/\/+$/, '');
  if (p === '.' || p === '') return '';
  if (p === '..' || p.startsWith('../')) return undefined;
  return p;
}

/** `path` joined to a repository directory `dir` (undefined when it leaves the repository). */
export const joinRepoPath = (dir: string, path: string) => repoPath(posix.join(dir || '.', path));

/** Whether repository path `file` is `dir` or below it. */
export const isInside = (file: string, dir: string) =>
  dir === '' || file === dir || file.startsWith(`${dir}/`);

export const isFluxSource = (o: KubeObject) =>
  (groupOf(o.apiVersion) === SOURCE_GROUP || groupOf(o.apiVersion) === SOURCE_EXTENSIONS_GROUP) &&
  (SOURCE_KINDS as readonly string[]).includes(o.kind);
export const isArtifactGenerator = (o: KubeObject) =>
  o.kind === 'ArtifactGenerator' && groupOf(o.apiVersion) === SOURCE_EXTENSIONS_GROUP;

export const isFluxKustomization = (o: KubeObject) =>
  o.kind === 'Kustomization' && groupOf(o.apiVersion) === KUSTOMIZE_GROUP;
export const isHelmRelease = (o: KubeObject) =>
  o.kind === 'HelmRelease' && groupOf(o.apiVersion) === HELM_GROUP;

export const isResourceSet = (o: KubeObject) =>
  o.kind === 'ResourceSet' && groupOf(o.apiVersion) === OPERATOR_GROUP;
export const isInputProvider = (o: KubeObject) =>
  o.kind === 'ResourceSetInputProvider' && groupOf(o.apiVersion) === OPERATOR_GROUP;
export const isFluxInstance = (o: KubeObject) =>
  o.kind === 'FluxInstance' && groupOf(o.apiVersion) === OPERATOR_GROUP;

/**
 * Whether the controllers leave an owner alone: `spec.suspend: true` (kustomize-controller,
 * helm-controller), and for the Flux Operator's objects the `fluxcd.controlplane.io/reconcile:
 * disabled` annotation (api/v1 ResourceSet.IsDisabled).
 */
export function isSuspended(o: KubeObject): boolean {
  if (field(o, 'spec', 'suspend') === true) return true;
  return (
    groupOf(o.apiVersion) === OPERATOR_GROUP &&
    o.metadata?.annotations?.[`${OPERATOR_GROUP}/reconcile`]?.toLowerCase() === 'disabled'
  );
}

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
