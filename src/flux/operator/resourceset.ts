/**
 * A ResourceSet expanded as the Flux Operator builds it (controlplaneio-fluxcd/flux-operator
 * internal/builder/resourceset.go, cmd/cli/build_resourceset.go): every `spec.resources` entry
 * is a template run once per input set, then `spec.resourcesTemplate` (multi-document YAML) per
 * input set; objects are deduplicated by group/kind/namespace/name, the first kept, and an
 * object annotated `fluxcd.controlplane.io/reconcile: disabled` is left out. `spec.steps` build
 * the same way per step, an object in two steps being an error. `commonMetadata` and the
 * ResourceSet's owner labels go on every object.
 */
import { executeResourceSetTemplate, jsonToYaml } from '../../util/gotemplate/index.js';
import { field, groupOf, OPERATOR_GROUP, parseObjects, type KubeObject } from '../objects.js';
import { combineInputs, providerInputs, selectProviders, type InputSet } from './inputs.js';

/** api/v1 common_types.go ReconcileAnnotation / DisabledValue. */
export const RECONCILE_ANNOTATION = `${OPERATOR_GROUP}/reconcile`;
/** api/v1 common_types.go CopyFromAnnotation. */
export const COPY_FROM_ANNOTATION = `${OPERATOR_GROUP}/copyFrom`;
/** api/v1 resourceset_types.go OwnerLabelResourceSetName / Namespace. */
export const RESOURCESET_NAME_LABEL = `resourceset.${OPERATOR_GROUP}/name`;
export const RESOURCESET_NAMESPACE_LABEL = `resourceset.${OPERATOR_GROUP}/namespace`;

/** The objects of one step (one unnamed step for a ResourceSet without `spec.steps`). */
export interface StepResult {
  name: string;
  objects: KubeObject[];
}

/** builder.go objectKey: group, kind, namespace, name (the version is not part of an identity). */
const identity = (o: KubeObject) =>
  [groupOf(o.apiVersion), o.kind, o.metadata?.namespace ?? '', o.metadata?.name ?? ''].join('/');

const describe = (o: KubeObject) =>
  `${o.kind}/${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name ?? ''}`;

/**
 * A resource as template text: sigs.k8s.io/yaml JSONToYAML (go-yaml v2: keys sorted, sequences
 * not indented under their key, its quoting); templates such as `nindent` count on the layout.
 */
const resourceText = (resource: unknown) => jsonToYaml(resource);

/**
 * fluxcd/pkg ssa/utils ReadObjects: the objects of a multi-document YAML text; empty documents,
 * documents that are not Kubernetes objects and kustomize's own Kustomization are skipped, Lists
 * are flattened.
 */
function readObjects(text: string, what: string): KubeObject[] {
  return parseObjects(text, what).filter(
    (o) =>
      typeof o.apiVersion === 'string' &&
      o.apiVersion !== '' &&
      typeof o.kind === 'string' &&
      o.kind !== '' &&
      !(o.kind === 'Kustomization' && groupOf(o.apiVersion) === 'kustomize.config.k8s.io'),
  );
}

/** ssa/utils ReadObject: exactly one object. */
function readObject(text: string, what: string): KubeObject {
  const objects = parseObjects(text, what);
  if (objects.length !== 1 || !objects[0]!.apiVersion || !objects[0]!.kind)
    throw new Error(`${what}: failed to read object: not a single Kubernetes object`);
  return objects[0]!;
}

const disabled = (o: KubeObject) => o.metadata?.annotations?.[RECONCILE_ANNOTATION] === 'disabled';

/**
 * builder.go BuildResourceSet: `resources` (each a template) then `resourcesTemplate`, every one
 * per input set (once, with no inputs, when there are none).
 */
export function buildResourceSet(
  resourcesTemplate: string | undefined,
  resources: unknown[] | undefined,
  inputs: InputSet[],
): KubeObject[] {
  const objects: KubeObject[] = [];
  const keys = new Set<string>();
  const add = (o: KubeObject, dedup: boolean) => {
    const key = identity(o);
    if (dedup && keys.has(key)) return;
    keys.add(key);
    objects.push(o);
  };
  for (const [i, resource] of (resources ?? []).entries()) {
    const text = resourceText(resource);
    if (inputs.length === 0) {
      add(readObject(executeResourceSetTemplate(text, undefined, 'resourceset'), `resources[${i}]`), false);
      continue;
    }
    for (const input of inputs) {
      let object: KubeObject;
      try {
        object = readObject(executeResourceSetTemplate(text, input, 'resourceset'), `resources[${i}]`);
      } catch (err) {
        throw new Error(`failed to build resources[${i}]: ${(err as Error).message}`, { cause: err });
      }
      if (disabled(object)) continue;
      add(object, true);
    }
  }
  if (resourcesTemplate) {
    const fromTemplate: KubeObject[] = [];
    for (const input of inputs.length ? inputs : [undefined]) {
      try {
        fromTemplate.push(
          ...readObjects(
            executeResourceSetTemplate(resourcesTemplate, input, 'resourceset'),
            'resourcesTemplate',
          ),
        );
      } catch (err) {
        throw new Error(`failed to build resources: ${(err as Error).message}`, { cause: err });
      }
    }
    for (const o of fromTemplate) if (!disabled(o)) add(o, true);
  }
  return objects;
}

interface Step {
  name: string;
  resources?: unknown[];
  resourcesTemplate?: string;
}

/** builder.go ValidateResourceSetSpec (the CRD's CEL rules, for clusters without them). */
function validateSpec(spec: Record<string, unknown>): void {
  const steps = (spec.steps as Step[] | undefined) ?? [];
  if (steps.length && (((spec.resources as unknown[]) ?? []).length || spec.resourcesTemplate))
    throw new Error('spec.steps is mutually exclusive with spec.resources and spec.resourcesTemplate');
  for (const step of steps)
    if (!(step.resources ?? []).length && !step.resourcesTemplate)
      throw new Error(`step "${step.name}": at least one of resources or resourcesTemplate must be set`);
}

/** builder.go BuildResourceSetSteps: per step, in order; a resource defined by two steps is an error. */
export function buildResourceSetSteps(steps: Step[], inputs: InputSet[]): StepResult[] {
  const stepOf = new Map<string, string>();
  return steps.map((step) => {
    let objects: KubeObject[];
    try {
      objects = buildResourceSet(step.resourcesTemplate, step.resources, inputs);
    } catch (err) {
      throw new Error(`step "${step.name}": ${(err as Error).message}`, { cause: err });
    }
    for (const o of objects) {
      const key = identity(o);
      const previous = stepOf.get(key);
      if (previous !== undefined && previous !== step.name)
        throw new Error(
          `duplicate resource ${describe(o)} in step "${step.name}", already defined in step "${previous}"`,
        );
      stepOf.set(key, step.name);
    }
    return { name: step.name, objects };
  });
}

/** builder.go BuildResourceSetFromSpec. */
export function buildFromSpec(spec: Record<string, unknown>, inputs: InputSet[]): StepResult[] {
  validateSpec(spec);
  const steps = (spec.steps as Step[] | undefined) ?? [];
  if (steps.length) return buildResourceSetSteps(steps, inputs);
  return [
    {
      name: '',
      objects: buildResourceSet(
        spec.resourcesTemplate as string | undefined,
        spec.resources as unknown[] | undefined,
        inputs,
      ),
    },
  ];
}

export interface Expansion {
  objects: KubeObject[];
  steps: StepResult[];
  /** Why some inputs are not known offline (a dynamic provider without exported inputs). */
  notes: string[];
}

/**
 * A ResourceSet's objects, as `flux-operator build resourceset` prints them, with its input
 * providers looked up among `candidates` (the objects the repository defines). Throws on what
 * the operator would report as a failed reconciliation.
 */
export function expandResourceSet(resourceSet: KubeObject, candidates: KubeObject[]): Expansion {
  const namespace = resourceSet.metadata.namespace || 'default';
  const rset = { ...resourceSet, metadata: { ...resourceSet.metadata, namespace } };
  const providers = selectProviders(rset, candidates).map(providerInputs);
  const notes = providers.flatMap((p) => (p.inClusterOnly ? [p.inClusterOnly] : []));
  const inputs = combineInputs(rset, providers);
  const steps = buildFromSpec(field<Record<string, unknown>>(rset, 'spec') ?? {}, inputs);
  const labels = field<Record<string, string>>(rset, 'spec', 'commonMetadata', 'labels') ?? {};
  const annotations = field<Record<string, string>>(rset, 'spec', 'commonMetadata', 'annotations') ?? {};
  const objects = steps.flatMap((s) => s.objects);
  // ssa/utils SetCommonMetadata: commonMetadata, then the owner labels over it.
  for (const o of objects) {
    o.metadata.labels = {
      ...o.metadata.labels,
      ...labels,
      [RESOURCESET_NAME_LABEL]: rset.metadata.name,
      [RESOURCESET_NAMESPACE_LABEL]: namespace,
    };
    if (Object.keys(annotations).length)
      o.metadata.annotations = { ...o.metadata.annotations, ...annotations };
  }
  return { objects, steps, notes };
}
