/**
 * Go's text/template in TypeScript, with the function set the Flux Operator gives ResourceSet
 * templates (controlplaneio-fluxcd/flux-operator internal/builder/resourceset.go newTemplate):
 * delimiters `<<` `>>`, slim-sprig's HermeticTxtFuncMap, `slugify`, `inputs`, `toYaml`,
 * `mustToYaml`, and `missingkey=error`.
 */
import { builtinFunctions } from './builtins.js';
import { type ExecContext, type MissingKey, State } from './exec.js';
import { TemplateError, parseTrees } from './parse.js';
import { resourceSetExtras, slimSprigFunctions } from './sprig.js';
import { goYamlMarshal } from './goyaml.js';
import { type GoFunction, type GoValue, fromJSONValue, goFunc } from './value.js';

export { TemplateError } from './parse.js';
export {
  type GoFunction,
  type GoValue,
  type GoType,
  GoTypedInt,
  fromJSONValue,
  goFunc,
  int64,
  toPlain,
} from './value.js';
export { slimSprigFunctions } from './sprig.js';
export { goYamlMarshal } from './goyaml.js';

/**
 * sigs.k8s.io/yaml.JSONToYAML of JSON-like data, as the operator turns each `spec.resources`
 * entry into the YAML text it then templates (BuildResource): keys in go-yaml's order, go-yaml
 * v2's quoting and line folding.
 */
export function jsonToYaml(value: unknown): string {
  return goYamlMarshal(fromJSONValue(value, 'float64'));
}

export interface TemplateOptions {
  /** The template's name, as Go's errors quote it (the operator: "resourceset"). */
  name?: string;
  leftDelim?: string;
  rightDelim?: string;
  /** Go's `missingkey=` option: default prints `<no value>`, zero the zero value, error fails. */
  missingKey?: MissingKey;
  /** Functions added to (or overriding) Go's builtins, as Template.Funcs. */
  functions?: Record<string, GoFunction>;
}

export interface Template {
  /** Executes the main template with `data` as dot; data is JSON-like or already Go values. */
  execute(data: unknown): string;
  /** Executes the named (defined) template. */
  executeTemplate(name: string, data: unknown): string;
}

/** Parses `text` as Go's template.New(name).Delims(…).Funcs(…).Option(…).Parse(text). Throws TemplateError. */
export function parseTemplate(text: string, options: TemplateOptions = {}): Template {
  const name = options.name ?? 'template';
  const functions = new Map<string, GoFunction>(Object.entries(builtinFunctions()));
  const builtins = new Set(functions.keys());
  for (const [fname, fn] of Object.entries(options.functions ?? {})) {
    functions.set(fname, fn);
    builtins.delete(fname);
  }
  let trees: ReturnType<typeof parseTrees>;
  try {
    trees = parseTrees(name, text, options.leftDelim ?? '{{', options.rightDelim ?? '}}', (f) =>
      functions.has(f),
    );
  } catch (err) {
    throw tooDeep(err, name);
  }
  const ctx: ExecContext = { trees, functions, builtins, missingKey: options.missingKey ?? 'default' };
  const run = (tname: string, data: unknown): string => {
    const tree = trees.get(tname);
    if (!tree) {
      if (tname === name)
        throw new TemplateError(
          `template: ${name}: ${JSON.stringify(name)} is an incomplete or empty template`,
        );
      throw new TemplateError(
        `template: no template ${JSON.stringify(tname)} associated with template ${JSON.stringify(name)}`,
      );
    }
    const dot = toGo(data);
    try {
      return new State(ctx, tree, dot).run(dot);
    } catch (err) {
      throw tooDeep(err, name);
    }
  };
  return {
    execute: (data) => run(name, data),
    executeTemplate: (tname, data) => run(tname, data),
  };
}

/** JavaScript's stack ends before Go's would: nesting that deep is reported, not crashed on. */
function tooDeep(err: unknown, name: string): unknown {
  if (err instanceof RangeError && /call stack/.test(err.message)) {
    return new TemplateError(`template: ${name}: nesting too deep to evaluate`);
  }
  return err;
}

/** Data handed to execute: Go values pass through, plain JSON-like data is converted (numbers as float64). */
function toGo(data: unknown): GoValue {
  // Go's reflect.ValueOf(nil) is the invalid value: fields of it are "no value".
  if (data === undefined || data === null) return undefined;
  return isGoValue(data) ? data : fromJSONValue(data);
}

function isGoValue(v: unknown): v is GoValue {
  if (v === null || v === undefined) return true;
  if (typeof v !== 'object') return typeof v !== 'function' && typeof v !== 'symbol';
  if (v instanceof Map || Array.isArray(v)) return deepGo(v);
  return (v as { kind?: unknown }).kind === 'func' || v.constructor?.name === 'GoTypedInt';
}

function deepGo(v: unknown): boolean {
  if (Array.isArray(v)) return v.every((e) => isGoValue(e));
  if (v instanceof Map) return [...v.values()].every((e) => isGoValue(e));
  return isGoValue(v);
}

/** slim-sprig's hermetic functions plus what the Flux Operator registers (slugify, toYaml, mustToYaml). */
export function resourceSetFunctions(): Record<string, GoFunction> {
  return { ...slimSprigFunctions(), ...resourceSetExtras() };
}

/**
 * Renders a ResourceSet template as the operator does: the template is executed with nil data
 * and the input set is reached through the `inputs` function (`<< inputs.tenant >>`).
 * `inputs` should already be Go values (see fromJSONValue with 'int64', the operator's decoding);
 * plain objects are converted with whole numbers as int64.
 */
export function executeResourceSetTemplate(text: string, inputs: unknown, name = 'resourceset'): string {
  // A nil input set is still a map[string]any: its keys are missing, not nil pointers.
  const inputSet: GoValue =
    inputs === undefined || inputs === null
      ? new Map()
      : isGoValue(inputs)
        ? inputs
        : fromJSONValue(inputs, 'int64');
  const template = parseTemplate(text, {
    name,
    leftDelim: '<<',
    rightDelim: '>>',
    missingKey: 'error',
    functions: { ...resourceSetFunctions(), inputs: goFunc([], () => inputSet, { result: 'interface {}' }) },
  });
  return template.execute(undefined);
}
