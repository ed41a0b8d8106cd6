/**
 * The Flux Operator's own golden files (internal/builder/testdata/resourceset, copied unchanged
 * into __tests__/fixtures/flux-operator/resourceset): each ResourceSet built with its inline
 * inputs, as internal/builder/resourceset_test.go builds it, must give the golden objects.
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { buildResourceSet, buildResourceSetSteps } from '../../src/flux/operator/resourceset.js';
import type { InputSet } from '../../src/flux/operator/inputs.js';
import { FIXTURES } from '../support/tools.js';

const dir = join(FIXTURES, 'flux-operator', 'resourceset');
const read = (name: string) => readFileSync(join(dir, name), 'utf8');
const resourceSet = (name: string) =>
  parse(read(name)) as {
    spec: { inputs?: InputSet[]; resources?: unknown[]; resourcesTemplate?: string; steps?: never[] };
  };
const documents = (text: string) =>
  parseAllDocuments(text)
    .map((d) => d.toJSON() as unknown)
    .filter((o) => o !== null);

describe('ResourceSet builds reproduce the flux-operator golden files', () => {
  it.each(['slugify', 'dedup', 'exclude', 'noinputs', 'nestedinputs', 'multi-doc-template'])('%s', (name) => {
    const rs = resourceSet(`${name}.yaml`);
    const objects = buildResourceSet(rs.spec.resourcesTemplate, rs.spec.resources, rs.spec.inputs ?? []);
    expect(objects).toEqual(documents(read(`${name}.golden.yaml`)));
  });

  it.each(['steps', 'steps-noinputs'])('%s (one result per step, in order, empty steps kept)', (name) => {
    const rs = resourceSet(`${name}.yaml`);
    const results = buildResourceSetSteps(rs.spec.steps ?? [], rs.spec.inputs ?? []);
    // The golden file is each step's objects under a `# step: NAME` line.
    const golden = read(`${name}.golden.yaml`)
      .split(/^# step: (.*)\n/m)
      .slice(1);
    const expected: { name: string; objects: unknown[] }[] = [];
    for (let i = 0; i < golden.length; i += 2)
      expected.push({ name: golden[i]!, objects: documents(golden[i + 1]!) });
    expect(results).toEqual(expected);
  });

  it('empty: a ResourceSet without resources builds nothing', () => {
    const rs = resourceSet('empty.yaml');
    expect(buildResourceSet(rs.spec.resourcesTemplate, rs.spec.resources, rs.spec.inputs ?? [])).toEqual([]);
  });

  it('invalid-output: a template whose output is not YAML fails on its resource', () => {
    const rs = resourceSet('invalid-output.yaml');
    expect(() =>
      buildResourceSet(rs.spec.resourcesTemplate, rs.spec.resources, rs.spec.inputs ?? []),
    ).toThrow(/^failed to build resources\[0\]: .*(YAML|yaml)/);
  });

  it('missing-inputs: a key an input set lacks is an error, as Go reports it', () => {
    const rs = resourceSet('missing-inputs.yaml');
    expect(() =>
      buildResourceSet(rs.spec.resourcesTemplate, rs.spec.resources, rs.spec.inputs ?? []),
    ).toThrow('map has no entry for key "semver"');
  });

  it('steps-duplicate: an object defined by two steps is an error naming both', () => {
    const rs = resourceSet('steps-duplicate.yaml');
    expect(() => buildResourceSetSteps(rs.spec.steps ?? [], rs.spec.inputs ?? [])).toThrow(
      'duplicate resource ConfigMap/apps/app-config in step "deploy", already defined in step "pre-deploy"',
    );
  });
});
