/**
 * The inputs a ResourceSet's templates run with, as the Flux Operator combines them
 * (controlplaneio-fluxcd/flux-operator internal/inputs): the ResourceSet's own `spec.inputs`
 * first, then every ResourceSetInputProvider `spec.inputsFrom` selects, in GVK/namespace/name
 * order; each input set carries `provider` (who exported it), and the strategy either
 * concatenates the sets (Flatten) or takes their Cartesian product (Permute).
 */
import { field, isInputProvider, OPERATOR_GROUP, type KubeObject } from '../objects.js';

/** One set of inputs: what `inputs` returns in a template. */
export type InputSet = Record<string, unknown>;

/** internal/inputs/permuter.go maxPermutations. */
const MAX_PERMUTATIONS = 10_000;

/** `inputs.id`: adler32 of a string, in decimal (internal/inputs/id.go ID). */
export function inputId(text: string): string {
  let a = 1;
  let b = 0;
  for (const byte of Buffer.from(text, 'utf8')) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return String(((b << 16) | a) >>> 0);
}

/**
 * A provider's name as a template key under Permute (internal/inputs/keys.go
 * NormalizeKeyForTemplate): lower case, spaces and punctuation to `_`, anything else but a-z0-9
 * dropped, runs of `_` collapsed and trimmed.
 */
export function normalizeKeyForTemplate(key: string): string {
  let out = '';
  for (const ch of key) {
    const r = ch.toLowerCase();
    if (/^[\s\u0085\u00a0]$/u.test(r) || /^\p{P}$/u.test(r)) out += '_';
    else if (/^[a-z0-9]$/.test(r)) out += r;
  }
  return out
    .split('_')
    .filter((w) => w !== '')
    .join('_');
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** metav1.LabelSelectorAsSelector(...).Matches: an empty selector matches everything. */
export function selectorMatches(selector: LabelSelector, labels: Record<string, string> = {}): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
        if (!has || !values.includes(labels[e.key]!)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(labels[e.key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        throw new Error(`failed to parse selector: "${e.operator}" is not a valid label selector operator`);
    }
  }
  return true;
}

/** What a provider offers offline: its input sets, or why they are known in-cluster only. */
export interface ProviderInputs {
  provider: KubeObject;
  inputs: InputSet[];
  /** A dynamic provider without `status.exportedInputs` in the repository. */
  inClusterOnly?: string;
}

const copy = <T>(v: T): T => structuredClone(v);

/**
 * A provider's exported inputs as the operator's CLI computes them offline
 * (cmd/cli/build_resourceset.go loadProvidersFromFile): a Static provider exports its
 * `defaultValues` with `id` = ID(name) (in-cluster the id hashes the object's UID, which no
 * repository knows); any other type exports what its `status.exportedInputs` holds, if the
 * repository has it, with `defaultValues` filling keys the status lacks.
 */
export function providerInputs(provider: KubeObject): ProviderInputs {
  const type = field<string>(provider, 'spec', 'type') ?? '';
  const defaults = field<InputSet>(provider, 'spec', 'defaultValues') ?? {};
  if (type === 'Static')
    return { provider, inputs: [{ ...copy(defaults), id: inputId(provider.metadata.name) }] };
  const exported = field<InputSet[]>(provider, 'status', 'exportedInputs');
  if (!Array.isArray(exported))
    return {
      provider,
      inputs: [],
      inClusterOnly: `ResourceSetInputProvider ${provider.metadata.namespace ?? ''}/${provider.metadata.name} (type ${type || 'unset'}) exports its inputs in-cluster only: no status.exportedInputs in the repository`,
    };
  return {
    provider,
    inputs: exported.map((e) => {
      const set = copy(e ?? {});
      for (const [k, v] of Object.entries(defaults)) if (!Object.hasOwn(set, k)) set[k] = copy(v);
      return set;
    }),
  };
}

interface ProviderRef {
  apiVersion?: string;
  kind?: string;
  name?: string;
  selector?: LabelSelector;
}

/**
 * The providers `spec.inputsFrom` selects among `candidates` (cmd/cli/build_resourceset.go
 * filterProviders): by name or by label selector, in the ResourceSet's namespace, each once.
 * A name that matches nothing is an error here, as the controller fails to get it.
 */
export function selectProviders(resourceSet: KubeObject, candidates: KubeObject[]): KubeObject[] {
  const namespace = resourceSet.metadata.namespace ?? '';
  const inNamespace = candidates.filter(
    (p) => isInputProvider(p) && (p.metadata.namespace || namespace) === namespace,
  );
  const selected = new Map<string, KubeObject>();
  for (const ref of field<ProviderRef[]>(resourceSet, 'spec', 'inputsFrom') ?? []) {
    if (ref.kind && ref.kind !== 'ResourceSetInputProvider')
      throw new Error(`inputsFrom: unsupported input provider kind ${ref.kind}`);
    if (ref.name) {
      const p = inNamespace.find((c) => c.metadata.name === ref.name);
      if (!p) throw new Error(`inputsFrom: ResourceSetInputProvider ${namespace}/${ref.name} not found`);
      selected.set(p.metadata.name, p);
    } else if (ref.selector) {
      for (const p of inNamespace)
        if (selectorMatches(ref.selector, p.metadata.labels)) selected.set(p.metadata.name, p);
    } else throw new Error('input provider reference must have either name or selector set');
  }
  return [...selected.values()];
}

const providerApiVersion = (o: KubeObject) => o.apiVersion || `${OPERATOR_GROUP}/v1`;

/** The `provider` value every exported input set carries (internal/inputs/provider.go getFromProvider). */
function withProvider(o: KubeObject, namespace: string, sets: InputSet[]): InputSet[] {
  return sets.map((s) => ({
    ...s,
    provider: {
      apiVersion: providerApiVersion(o),
      kind: o.kind,
      name: o.metadata.name,
      namespace: o.metadata.namespace || namespace,
    },
  }));
}

/** GroupVersionKind.String() order, then namespace, then name (provider.go compareProviderKeys). */
function providerOrder(a: KubeObject, b: KubeObject): number {
  const gvk = (o: KubeObject) => {
    const [group, version] = providerApiVersion(o).split('/');
    return `${group}/${version}, Kind=${o.kind}`;
  };
  const keys = (o: KubeObject) => [gvk(o), o.metadata.namespace ?? '', o.metadata.name];
  const ka = keys(a);
  const kb = keys(b);
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i]! < kb[i]! ? -1 : 1;
  return 0;
}

/**
 * internal/inputs/combine.go Combine: the ResourceSet's inline inputs, then the providers',
 * by `spec.inputStrategy` (Flatten by default, or Permute).
 */
export function combineInputs(resourceSet: KubeObject, providers: ProviderInputs[]): InputSet[] {
  const namespace = resourceSet.metadata.namespace ?? '';
  const inline = (field<InputSet[]>(resourceSet, 'spec', 'inputs') ?? []).map((s) => copy(s ?? {}));
  const all = [
    { name: resourceSet.metadata.name, inputs: withProvider(resourceSet, namespace, inline) },
    ...[...providers]
      .sort((a, b) => providerOrder(a.provider, b.provider))
      .map((p) => ({
        name: p.provider.metadata.name,
        inputs: withProvider(p.provider, namespace, p.inputs),
      })),
  ];
  const strategy = field<string>(resourceSet, 'spec', 'inputStrategy', 'name') || 'Flatten';
  if (strategy === 'Flatten') return all.flatMap((p) => p.inputs);
  if (strategy !== 'Permute') throw new Error(`unknown input strategy: '${strategy}'`);
  const includeEmpty = field<boolean>(resourceSet, 'spec', 'inputStrategy', 'includeEmptyProviders') === true;
  return permute(all, includeEmpty);
}

/** internal/inputs/permuter.go: each set scoped under its provider's normalized name, plus an `id`. */
function permute(providers: { name: string; inputs: InputSet[] }[], includeEmpty: boolean): InputSet[] {
  const scoped: { key: string; inputs: InputSet[] }[] = [];
  let expected = 0;
  for (const p of providers) {
    if (!includeEmpty && p.inputs.length === 0) continue;
    expected = scoped.length === 0 ? p.inputs.length : expected * p.inputs.length;
    if (expected > MAX_PERMUTATIONS)
      throw new Error(
        `adding provider '${p.name}' with ${p.inputs.length} inputs would exceed the maximum allowed permutations. max: ${MAX_PERMUTATIONS}, got: ${expected}`,
      );
    const key = normalizeKeyForTemplate(p.name);
    if (key === '') throw new Error(`normalized provider name is empty: '${p.name}'`);
    scoped.push({ key, inputs: p.inputs });
  }
  if (!scoped.length || scoped.some((s) => s.inputs.length === 0)) return [];
  const out: InputSet[] = [];
  const pick = (level: number, chosen: number[]) => {
    if (level === scoped.length) {
      const perm: InputSet = {};
      for (const [i, index] of chosen.entries()) perm[scoped[i]!.key] = copy(scoped[i]!.inputs[index]!);
      perm.id = inputId(chosen.map((index, i) => `${scoped[i]!.key}=${index}`).join('/'));
      out.push(perm);
      return;
    }
    for (let i = 0; i < scoped[level]!.inputs.length; i++) pick(level + 1, [...chosen, i]);
  };
  pick(0, []);
  return out;
}
