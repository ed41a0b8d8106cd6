/**
 * ResourceSet inputs as the Flux Operator combines them (internal/inputs): the expected values
 * are those of flux-operator's combine_test.go, permuter_test.go and keys_test.go.
 */
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import {
  combineInputs,
  inputId,
  normalizeKeyForTemplate,
  providerInputs,
  selectProviders,
} from '../../src/flux/operator/inputs.js';
import type { KubeObject } from '../../src/flux/objects.js';

const rset = (spec: Record<string, unknown>): KubeObject => ({
  apiVersion: 'fluxcd.controlplane.io/v1',
  kind: 'ResourceSet',
  metadata: { name: 'rset', namespace: 'default' },
  spec,
});
const rsip = (name: string, extra: Partial<KubeObject> = {}): KubeObject => ({
  apiVersion: 'fluxcd.controlplane.io/v1',
  kind: 'ResourceSetInputProvider',
  metadata: { name, namespace: 'default' },
  ...extra,
});

describe('ResourceSet inputs', () => {
  const inline = { inputs: [{ id: inputId('foo') }, { id: inputId('bar') }] };
  const provider = providerInputs(rsip('rsip', { status: { exportedInputs: [{ id: inputId('baz') }] } }));
  const rsProvider = (kind: string, name: string) => ({
    apiVersion: 'fluxcd.controlplane.io/v1',
    kind,
    name,
    namespace: 'default',
  });

  it('flattens the inline inputs, then each provider, each set naming its provider', () => {
    expect(combineInputs(rset(inline), [provider])).toEqual([
      { id: '42074437', provider: rsProvider('ResourceSet', 'rset') },
      { id: '39649590', provider: rsProvider('ResourceSet', 'rset') },
      { id: '40173886', provider: rsProvider('ResourceSetInputProvider', 'rsip') },
    ]);
  });

  it('permutes them under their provider names, each permutation with its own id', () => {
    const permuted = combineInputs(rset({ ...inline, inputStrategy: { name: 'Permute' } }), [provider]);
    expect(permuted).toEqual(
      parse(`
- id: "563152006"
  rset: {id: "42074437", provider: {apiVersion: fluxcd.controlplane.io/v1, kind: ResourceSet, name: rset, namespace: default}}
  rsip: {id: "40173886", provider: {apiVersion: fluxcd.controlplane.io/v1, kind: ResourceSetInputProvider, name: rsip, namespace: default}}
- id: "563676295"
  rset: {id: "39649590", provider: {apiVersion: fluxcd.controlplane.io/v1, kind: ResourceSet, name: rset, namespace: default}}
  rsip: {id: "40173886", provider: {apiVersion: fluxcd.controlplane.io/v1, kind: ResourceSetInputProvider, name: rsip, namespace: default}}
`),
    );
  });

  it('skips a provider without inputs under Permute, unless includeEmptyProviders', () => {
    const empty = providerInputs(rsip('empty', { status: { exportedInputs: [] } }));
    expect(combineInputs(rset({ ...inline, inputStrategy: { name: 'Permute' } }), [empty])).toHaveLength(2);
    expect(
      combineInputs(rset({ ...inline, inputStrategy: { name: 'Permute', includeEmptyProviders: true } }), [
        empty,
      ]),
    ).toEqual([]);
  });

  it('refuses more than 10000 permutations and an unknown strategy', () => {
    const many = (name: string) =>
      providerInputs(rsip(name, { status: { exportedInputs: Array.from({ length: 10 }, () => ({})) } }));
    const five = ['p1', 'p2', 'p3', 'p4', 'p5'].map(many);
    expect(() => combineInputs(rset({ inputStrategy: { name: 'Permute' } }), five)).toThrow(
      "adding provider 'p5' with 10 inputs would exceed the maximum allowed permutations. max: 10000, got: 100000",
    );
    expect(() => combineInputs(rset({ inputStrategy: { name: 'Zip' } }), [])).toThrow(
      "unknown input strategy: 'Zip'",
    );
  });

  it('ids and template keys as the operator computes them', () => {
    expect(inputId('provider_1=0/provider_2=0')).toBe('2075461889');
    expect(inputId('provider_1=1/provider_2=1')).toBe('2076444931');
    for (const [key, want] of [
      ['My-ResourceSet', 'my_resourceset'],
      ['My:ResourceSet', 'my_resourceset'],
      ['My#ResourceSet', 'my_resourceset'],
      ['_a---b_-_', 'a_b'],
      ['A0..B', 'a0_b'],
      ['A  B', 'a_b'],
      ['__', ''],
      ['-£%^$%&$%$£%$', ''],
    ])
      expect(normalizeKeyForTemplate(key!)).toBe(want);
  });

  it('a Static provider exports its defaultValues with the id of its name, as the CLI builds it offline', () => {
    const p = providerInputs(
      rsip('tenants', { spec: { type: 'Static', defaultValues: { tenant: 'a', id: 'x' } } }),
    );
    expect(p.inputs).toEqual([{ tenant: 'a', id: inputId('tenants') }]);
    const dynamic = providerInputs(rsip('prs', { spec: { type: 'GitHubPullRequest' } }));
    expect(dynamic.inputs).toEqual([]);
    expect(dynamic.inClusterOnly).toMatch(/GitHubPullRequest.*in-cluster only/);
  });

  it('selects providers by name or label selector, in the ResourceSet namespace only, each once', () => {
    const candidates = [
      rsip('a', { metadata: { name: 'a', namespace: 'default', labels: { team: 'x' } } }),
      rsip('b', { metadata: { name: 'b', namespace: 'default', labels: { team: 'y' } } }),
      rsip('c', { metadata: { name: 'c', namespace: 'other', labels: { team: 'x' } } }),
    ];
    const pick = (inputsFrom: unknown[]) =>
      selectProviders(rset({ inputsFrom }), candidates).map((p) => p.metadata.name);
    expect(pick([{ selector: { matchLabels: { team: 'x' } } }, { name: 'a' }])).toEqual(['a']);
    expect(
      pick([{ selector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['x', 'y'] }] } }]),
    ).toEqual(['a', 'b']);
    expect(pick([{ selector: {} }])).toEqual(['a', 'b']);
    expect(() => pick([{ name: 'c' }])).toThrow('ResourceSetInputProvider default/c not found');
    expect(() => pick([{}])).toThrow('input provider reference must have either name or selector set');
  });
});
