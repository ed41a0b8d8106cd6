/**
 * What a user reads when a template is wrong: Go's error messages (their meaning and the
 * template name and line they carry), for parse and execution failures.
 */
import { describe, expect, it } from '@jest/globals';

import {
  TemplateError,
  executeResourceSetTemplate,
  parseTemplate,
  resourceSetFunctions,
} from '../../../src/util/gotemplate/index.js';

function failure(
  text: string,
  data: unknown = {},
  missingKey: 'default' | 'zero' | 'error' = 'default',
): string {
  try {
    parseTemplate(text, { name: 'tenant.yaml', functions: resourceSetFunctions(), missingKey }).execute(data);
  } catch (err) {
    expect(err).toBeInstanceOf(TemplateError);
    return (err as Error).message;
  }
  throw new Error(`no error for ${text}`);
}

describe('parse errors name the template and the line', () => {
  it.each([
    ['a\nb\n{{ foo }}', 'template: tenant.yaml:3: function "foo" not defined'],
    ['{{ .name', 'template: tenant.yaml:1: unclosed action'],
    ['x\n{{ if .a }}y', 'template: tenant.yaml:2: unexpected EOF'],
    ['{{ end }}', 'template: tenant.yaml:1: unexpected {{end}}'],
    ['{{ $x }}', 'template: tenant.yaml:1: undefined variable "$x"'],
    ['{{ break }}', 'template: tenant.yaml:1: {{break}} outside {{range}}'],
    ['{{ "abc }}', 'template: tenant.yaml:1: unterminated quoted string'],
    ['{{/* never closed', 'template: tenant.yaml:1: unclosed comment'],
    ['{{ .a | "x" }}', 'template: tenant.yaml:1: non executable command in pipeline stage 2'],
    ['{{ print (1 }}', 'template: tenant.yaml:1: unclosed left paren'],
    ['{{ 1a }}', 'template: tenant.yaml:1: bad number syntax: "1a"'],
    [
      '{{define "x"}}a{{end}}{{define "x"}}b{{end}}',
      'template: tenant.yaml:1: template: multiple definition of template "x"',
    ],
  ])('%j', (text, message) => {
    expect(failure(text)).toBe(message);
  });

  it('reports where a multi-line action that never closes began', () => {
    expect(failure('{{ print\n  "a"\n')).toBe(
      'template: tenant.yaml:3: unclosed action started at tenant.yaml:1',
    );
  });
});

describe('execution errors name the template, the position and the action', () => {
  it('wrong argument count', () => {
    expect(failure('{{ upper "a" "b" }}')).toBe(
      'template: tenant.yaml:1:3: executing "tenant.yaml" at <upper>: wrong number of args for upper: want 1 got 2',
    );
  });

  it('index out of range', () => {
    expect(failure('{{ index .l 3 }}', { l: [1, 2] })).toBe(
      'template: tenant.yaml:1:3: executing "tenant.yaml" at <index .l 3>: error calling index: index out of range: 3',
    );
  });

  it('a field of a nil value', () => {
    expect(failure('line\n{{ .a.b }}', { a: null })).toBe(
      'template: tenant.yaml:2:3: executing "tenant.yaml" at <.a.b>: nil pointer evaluating interface {}.b',
    );
  });

  it('a missing key under missingkey=error, as the Flux Operator sets it', () => {
    expect(failure('{{ .tenant }}', { name: 'x' }, 'error')).toBe(
      'template: tenant.yaml:1:3: executing "tenant.yaml" at <.tenant>: map has no entry for key "tenant"',
    );
    expect(failure('{{ .a.b }}', {}, 'error')).toBe(
      'template: tenant.yaml:1:3: executing "tenant.yaml" at <.a.b>: map has no entry for key "a"',
    );
  });

  it('comparing an int with a float64 (every number from YAML values is a float64 in helm)', () => {
    expect(failure('{{ eq .n 1 }}', { n: 1 })).toMatch(
      /error calling eq: incompatible types for comparison$/,
    );
  });

  it('a value of the wrong type for a function argument', () => {
    expect(failure('{{ repeat (add 1 1) "x" }}')).toMatch(/wrong type for value; expected int; got int64$/);
    expect(failure('{{ upper .n }}', { n: 1 })).toMatch(
      /wrong type for value; expected string; got float64$/,
    );
  });

  it('a template that is not defined, and fail', () => {
    expect(failure('{{ template "nope" }}')).toMatch(/template "nope" not defined$/);
    expect(failure('{{ fail "tenant is required" }}')).toMatch(/error calling fail: tenant is required$/);
  });

  it('range over something that cannot be ranged', () => {
    expect(failure('{{ range .s }}{{ end }}', { s: 'abc' })).toMatch(/range can't iterate over abc$/);
  });

  it('errors are TemplateErrors with one line', () => {
    const message = failure('{{ index . "a" "b" }}', { a: 'x' });
    expect(message.split('\n')).toHaveLength(1);
  });
});

describe('the Flux Operator configuration', () => {
  it('names the template "resourceset" and uses << >>', () => {
    // Go reports the chain's first term (the inputs function) as the action, as here.
    expect(() => executeResourceSetTemplate('x\n  << inputs.missing >>', { tenant: 'a' })).toThrow(
      'template: resourceset:2:5: executing "resourceset" at <inputs>: map has no entry for key "missing"',
    );
  });
});

describe('hostile templates end with an error, not a hang or a crash', () => {
  it('endless recursion', () => {
    expect(failure('{{define "r"}}{{template "r" .}}{{end}}{{template "r" .}}')).toMatch(
      /exceeded maximum template depth/,
    );
  });

  it('a loop of a billion iterations', () => {
    expect(failure('{{range 1000000000}}{{end}}')).toMatch(/execution exceeds \d+ steps/);
  });

  it('output that would not fit in memory', () => {
    expect(failure('{{repeat 1000000000 "xxxxxxxxxx"}}')).toMatch(
      /error calling repeat: output exceeds 64 MiB/,
    );
    expect(failure('{{printf "%999999999d" 1}}')).toMatch(/output exceeds 64 MiB/);
  });

  it('nesting deeper than the stack', () => {
    expect(failure(`{{ ${'('.repeat(20000)}1${')'.repeat(20000)} }}`)).toMatch(/nesting too deep/);
  });

  it('date functions parse as in the operator but are reported when called', () => {
    expect(failure('{{ toDate "2006-01-02" "2024-01-01" }}')).toMatch(
      /date and time values are not supported/,
    );
    expect(
      parseTemplate('{{ if false }}{{ ago 1 }}{{ end }}ok', { functions: resourceSetFunctions() }).execute(
        {},
      ),
    ).toBe('ok');
  });
});
