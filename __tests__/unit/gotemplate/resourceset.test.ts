/**
 * ResourceSet templates as the Flux Operator renders them (internal/builder/resourceset.go):
 * `<<` `>>` delimiters, the input set behind `inputs`, numbers decoded by
 * k8s.io/apimachinery's json (whole numbers int64, so 1000000 prints as such, not 1e+06),
 * slugify, toYaml with its final newline, missingkey=error.
 */
import { describe, expect, it } from '@jest/globals';

import {
  executeResourceSetTemplate,
  fromJSONValue,
  parseTemplate,
  resourceSetFunctions,
} from '../../../src/util/gotemplate/index.js';

describe('executeResourceSetTemplate', () => {
  it('renders inputs with << >> and leaves {{ }} alone', () => {
    const out = executeResourceSetTemplate('name: << inputs.tenant >>-app\nhelm: "{{ .Values.x }}"\n', {
      tenant: 'team1',
    });
    expect(out).toBe('name: team1-app\nhelm: "{{ .Values.x }}"\n');
  });

  it('prints whole numbers as int64 and fractions as float64, as the operator decodes inputs', () => {
    const out = executeResourceSetTemplate(
      '<< inputs.big >> << inputs.ratio >> << inputs.replicas | quote >> << typeOf inputs.big >>',
      {
        big: 1000000,
        ratio: 0.5,
        replicas: 3,
      },
    );
    expect(out).toBe('1000000 0.5 "3" int64');
  });

  it('trims whitespace with <<- and ->>', () => {
    const out = executeResourceSetTemplate(
      'a:\n<<- range $i, $t := inputs.tenants >>\n  - << $t >>\n<<- end >>\n',
      {
        tenants: ['x', 'y'],
      },
    );
    expect(out).toBe('a:\n  - x\n  - y\n');
  });

  it('slugify as the operator configures gosimple/slug (63 characters, smart truncate)', () => {
    expect(executeResourceSetTemplate('<< inputs.v | slugify >>', { v: '>=1.0.0-rc.0' })).toBe('1-0-0-rc-0');
    expect(executeResourceSetTemplate('<< inputs.v | slugify >>', { v: '  Team One & Co @ HQ!  ' })).toBe(
      'team-one-and-co-at-hq',
    );
    expect(executeResourceSetTemplate('<< inputs.v | slugify >>', { v: 'Ünïcödé Ça' })).toBe('unicode-ca');
    const long = 'word-'.repeat(20);
    const slug = executeResourceSetTemplate('<< inputs.v | slugify >>', { v: long });
    expect(slug.length).toBeLessThanOrEqual(63);
    expect(slug.endsWith('-')).toBe(false);
    // cut at the last '-' at or before index 63
    expect(slug).toBe('word-'.repeat(11) + 'word');
  });

  it('toYaml keeps its final newline (the operator does not trim it, helm does)', () => {
    const out = executeResourceSetTemplate('<< inputs.values | toYaml >>', {
      values: { b: [1, 'two'], a: { on: 'true' } },
    });
    expect(out).toBe('a:\n  "on": "true"\nb:\n- 1\n- two\n');
  });

  it('fails on a missing input, as missingkey=error does', () => {
    expect(() => executeResourceSetTemplate('<< inputs.nope >>', { tenant: 'a' })).toThrow(
      /map has no entry for key "nope"/,
    );
  });

  it('gives a nil input set the empty map (the operator renders resources without inputs)', () => {
    expect(executeResourceSetTemplate('<< inputs >>', null)).toBe('map[]');
    expect(() => executeResourceSetTemplate('<< inputs.x >>', null)).toThrow(/map has no entry for key "x"/);
  });

  it('inputs.provider and nested maps print as Go prints them', () => {
    const out = executeResourceSetTemplate('<< inputs.provider >>', {
      provider: {
        apiVersion: 'fluxcd.controlplane.io/v1',
        kind: 'ResourceSetInputProvider',
        name: 'p',
        namespace: 'ns',
      },
    });
    expect(out).toBe(
      'map[apiVersion:fluxcd.controlplane.io/v1 kind:ResourceSetInputProvider name:p namespace:ns]',
    );
  });
});

describe('parseTemplate', () => {
  it('executes defined templates and accepts Go values as data', () => {
    const t = parseTemplate('{{ define "x" }}[{{ . }}]{{ end }}{{ template "x" .a }}', {
      functions: resourceSetFunctions(),
    });
    expect(t.execute({ a: 1.5 })).toBe('[1.5]');
    expect(t.execute(fromJSONValue({ a: 1 }, 'int64'))).toBe('[1]');
    expect(t.executeTemplate('x', 'y')).toBe('[y]');
  });

  it('prints missing keys as <no value> by default and <nil> through print', () => {
    const t = parseTemplate('{{ .a }} {{ print .a }} {{ .m }}');
    expect(t.execute({ m: { b: [1, null], a: 'x' } })).toBe('<no value> <nil> map[a:x b:[1 <nil>]]');
  });

  it('formats floats as Go does', () => {
    const t = parseTemplate('{{ .a }} {{ .b }} {{ .c }} {{ printf "%.1f %.0f %.2f" 0.25 2.5 1.005 }}');
    expect(t.execute({ a: 1e6, b: 123456.7, c: 1e-5 })).toBe('1e+06 123456.7 1e-05 0.2 2 1.00');
  });
});
