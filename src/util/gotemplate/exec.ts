/**
 * Execution of parsed templates, after Go's src/text/template/exec.go: dot and `$`, variables
 * with their scopes, field chains over maps with the missingkey option, function calls with
 * Go's argument checks, and/or short-circuit, if/with/range (slices, maps in sorted key order,
 * integers) with break/continue and else, template invocation, and printing as fmt.Fprint does.
 */
import { formatValue } from './fmt.js';
import {
  type ArgNode,
  type BranchNode,
  type CommandNode,
  type FieldNode,
  type Node,
  type NumberNode,
  type PipeNode,
  type Tree,
  TemplateError,
  errorContext,
  nodeString,
} from './parse.js';
import {
  GoTypedInt,
  type GoFunction,
  type GoType,
  type GoValue,
  assignable,
  goTypeName,
  intValue,
  isFunc,
  isTrue,
  mapElemType,
  sortedKeys,
  typeName,
} from './value.js';

export type MissingKey = 'default' | 'zero' | 'error';

/** Thrown by a builtin that returns an error value; the message is Go's error text. */
export class GoCallError extends Error {}

const BREAK = Symbol('break');
const CONTINUE = Symbol('continue');
/** The pipeline's "no final value" marker (Go's missingVal). */
const MISSING = Symbol('missing');
type Final = GoValue | typeof MISSING;

interface Variable {
  name: string;
  value: GoValue;
}

export interface ExecContext {
  trees: Map<string, Tree>;
  functions: Map<string, GoFunction>;
  /** Names of Go's builtins that were not overridden (and/or short-circuit only then). */
  builtins: Set<string>;
  missingKey: MissingKey;
}

/** A value and its static Go type when it came out of a map[string]interface{} (an interface). */
interface Typed {
  value: GoValue;
  iface: boolean;
}

/**
 * Bounds for hostile templates (a pull request can hold any ResourceSet): Go allows 100000
 * nested template calls and has no step or output limit; JavaScript's stack ends sooner, and a
 * check must not spin on `range 1000000000`.
 */
const MAX_DEPTH = 1000;
const MAX_OUTPUT = 64 * 1024 * 1024;
const MAX_STEPS = 20_000_000;

export class State {
  private vars: Variable[];
  private node: { pos: number; tree: Tree } | undefined;
  private depth = 0;
  private steps = 0;
  private out: string[] = [];
  private outLength = 0;

  constructor(
    private readonly ctx: ExecContext,
    private tree: Tree,
    dot: GoValue,
  ) {
    this.vars = [{ name: '$', value: dot }];
  }

  run(dot: GoValue): string {
    if (!this.tree.root) this.errorf(`${JSON.stringify(this.tree.name)} is an incomplete or empty template`);
    this.walk(dot, this.tree.root!);
    return this.out.join('');
  }

  private write(s: string) {
    this.outLength += s.length;
    if (this.outLength > MAX_OUTPUT) this.errorf('output exceeds 64 MiB');
    this.out.push(s);
  }

  errorf(message: string): never {
    const name = this.tree.name;
    if (!this.node) throw new TemplateError(`template: ${name}: ${message}`);
    const { location, context } = errorContext(this.node as never);
    throw new TemplateError(
      `template: ${location}: executing ${JSON.stringify(name)} at <${context}>: ${message}`,
    );
  }

  private at(node: { pos: number; tree: Tree }) {
    this.node = node;
  }

  private mark() {
    return this.vars.length;
  }
  private pop(mark: number) {
    this.vars.length = mark;
  }
  private setVar(name: string, value: GoValue) {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i]!.name === name) {
        this.vars[i]!.value = value;
        return;
      }
    }
    this.errorf(`undefined variable: ${name}`);
  }
  private varValue(name: string): GoValue {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i]!.name === name) return this.vars[i]!.value;
    }
    this.errorf(`undefined variable: ${name}`);
  }

  private walk(dot: GoValue, node: Node): void {
    this.at(node);
    if (++this.steps > MAX_STEPS) this.errorf(`execution exceeds ${MAX_STEPS} steps`);
    switch (node.type) {
      case 'action': {
        const val = this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.printValue(node, val);
        return;
      }
      case 'break':
        throw BREAK;
      case 'continue':
        throw CONTINUE;
      case 'comment':
        return;
      case 'if':
      case 'with':
        return this.walkIfOrWith(node.type, dot, node);
      case 'list':
        for (const n of node.nodes) this.walk(dot, n);
        return;
      case 'range':
        return this.walkRange(dot, node);
      case 'template':
        return this.walkTemplate(dot, node);
      case 'text':
        this.write(node.text);
        return;
    }
  }

  private walkIfOrWith(type: 'if' | 'with', dot: GoValue, node: BranchNode): void {
    const mark = this.mark();
    try {
      const val = this.evalPipeline(dot, node.pipe);
      if (isTrue(val)) this.walk(type === 'with' ? val : dot, node.list);
      else if (node.elseList) this.walk(dot, node.elseList);
    } finally {
      this.pop(mark);
    }
  }

  private walkRange(dot: GoValue, r: BranchNode): void {
    this.at(r);
    const outer = this.mark();
    try {
      const val = this.evalPipeline(dot, r.pipe);
      const mark = this.mark();
      const decl = r.pipe.decl;
      const oneIteration = (index: GoValue, elem: GoValue): boolean => {
        if (decl.length > 0) {
          if (r.pipe.isAssign) this.setVar(decl[0]!.ident[0]!, decl.length > 1 ? index : elem);
          else this.vars[this.vars.length - 1]!.value = elem;
        }
        if (decl.length > 1) {
          if (r.pipe.isAssign) this.setVar(decl[1]!.ident[0]!, elem);
          else this.vars[this.vars.length - 2]!.value = index;
        }
        try {
          this.walk(elem, r.list);
        } catch (e) {
          if (e === BREAK) return false;
          if (e !== CONTINUE) throw e;
        } finally {
          this.pop(mark);
        }
        return true;
      };
      if (Array.isArray(val)) {
        if (val.length > 0) {
          for (let i = 0; i < val.length; i++) if (!oneIteration(BigInt(i), val[i])) break;
          return;
        }
      } else if (val instanceof Map) {
        if (val.size > 0) {
          for (const key of sortedKeys(val)) if (!oneIteration(key, val.get(key))) break;
          return;
        }
      } else if (typeof val === 'bigint' || val instanceof GoTypedInt) {
        if (decl.length > 1)
          this.errorf(`can't use ${formatValue(val)} to iterate over more than one variable`);
        const n = intValue(val);
        if (n > 0n) {
          for (let i = 0n; i < n; i++) {
            const v = typeof val === 'bigint' ? i : new GoTypedInt(val.type, i);
            if (!oneIteration(v, v)) break;
          }
          return;
        }
      } else if (val === undefined || val === null) {
        // An invalid value is likely a nil map, etc. and acts like an empty map.
      } else if (isFunc(val)) {
        this.errorf(`range can't iterate over ${formatValue(val)}`);
      } else {
        this.errorf(`range can't iterate over ${formatValue(val)}`);
      }
      if (r.elseList) this.walk(dot, r.elseList);
    } finally {
      this.pop(outer);
    }
  }

  private walkTemplate(dot: GoValue, t: Node & { type: 'template' }): void {
    this.at(t);
    const tree = this.ctx.trees.get(t.name);
    if (!tree || !tree.root) this.errorf(`template ${JSON.stringify(t.name)} not defined`);
    if (this.depth >= MAX_DEPTH) this.errorf(`exceeded maximum template depth (${MAX_DEPTH})`);
    const newDot = this.evalPipeline(dot, t.pipe);
    const saved = { tree: this.tree, vars: this.vars };
    this.tree = tree;
    this.vars = [{ name: '$', value: newDot }];
    this.depth++;
    try {
      this.walk(newDot, tree.root);
    } finally {
      this.depth--;
      this.tree = saved.tree;
      this.vars = saved.vars;
    }
  }

  evalPipeline(dot: GoValue, pipe: PipeNode | undefined): GoValue {
    if (!pipe) return undefined;
    this.at(pipe);
    let value: Final = MISSING;
    for (const cmd of pipe.cmds) {
      value = this.evalCommand(dot, cmd, value);
      // An interface{} holding nil is no value at all (Go: value.Elem() of a nil interface).
      if (value === null) value = undefined;
    }
    const result = value === MISSING ? undefined : value;
    for (const v of pipe.decl) {
      if (pipe.isAssign) this.setVar(v.ident[0]!, result);
      else this.vars.push({ name: v.ident[0]!, value: result });
    }
    return result;
  }

  private notAFunction(args: ArgNode[], final: Final) {
    if (args.length > 1 || final !== MISSING)
      this.errorf(`can't give argument to non-function ${nodeString(args[0])}`);
  }

  private evalCommand(dot: GoValue, cmd: CommandNode, final: Final): GoValue {
    const first = cmd.args[0]!;
    switch (first.type) {
      case 'field':
        return this.evalFieldNode(dot, first, cmd.args, final).value;
      case 'chain':
        return this.evalChain(dot, first, cmd.args, final).value;
      case 'identifier':
        return this.evalFunction(dot, first, cmd, cmd.args, final).value;
      case 'pipe':
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, first);
      case 'variable':
        return this.evalVariableNode(dot, first, cmd.args, final).value;
    }
    this.at(first);
    this.notAFunction(cmd.args, final);
    switch (first.type) {
      case 'bool':
        return first.value;
      case 'dot':
        return dot;
      case 'nil':
        this.errorf('nil is not a command');
      case 'number':
        return this.idealConstant(first);
      case 'string':
        return first.text;
    }
  }

  private idealConstant(n: NumberNode): GoValue {
    this.at(n);
    if (n.isFloat && !isHexInt(n.text) && n.text[0] !== "'" && /[.eEpP]/.test(n.text)) return n.float;
    if (n.isInt) return n.int;
    if (n.isUint) this.errorf(`${n.text} overflows int`);
    return undefined;
  }

  private evalFieldNode(dot: GoValue, field: FieldNode, args: ArgNode[], final: Final): Typed {
    this.at(field);
    return this.evalFieldChain(dot, { value: dot, iface: false }, field, field.ident, args, final);
  }

  private evalChain(dot: GoValue, chain: ArgNode & { type: 'chain' }, args: ArgNode[], final: Final): Typed {
    this.at(chain);
    if (chain.node.type === 'nil') this.errorf(`indirection through explicit nil in ${nodeString(chain)}`);
    const pipe = this.evalArg(dot, undefined, chain.node);
    return this.evalFieldChain(dot, pipe, chain, chain.field, args, final);
  }

  private evalVariableNode(
    dot: GoValue,
    v: ArgNode & { type: 'variable' },
    args: ArgNode[] | undefined,
    final: Final,
  ): Typed {
    this.at(v);
    const value = this.varValue(v.ident[0]!);
    if (v.ident.length === 1) {
      this.notAFunction(args ?? [v], final);
      return { value, iface: false };
    }
    return this.evalFieldChain(dot, { value, iface: false }, v, v.ident.slice(1), args, final);
  }

  private evalFieldChain(
    dot: GoValue,
    receiver: Typed,
    node: ArgNode,
    ident: string[],
    args: ArgNode[] | undefined,
    final: Final,
  ): Typed {
    let r = receiver;
    for (let i = 0; i < ident.length - 1; i++)
      r = this.evalField(dot, ident[i]!, node, undefined, MISSING, r);
    return this.evalField(dot, ident[ident.length - 1]!, node, args, final, r);
  }

  private evalField(
    _dot: GoValue,
    name: string,
    _node: ArgNode,
    args: ArgNode[] | undefined,
    final: Final,
    receiver: Typed,
  ): Typed {
    const rv = receiver.value;
    if (rv === undefined) {
      if (this.ctx.missingKey === 'error') this.errorf(`nil data; no entry for key ${JSON.stringify(name)}`);
      return { value: undefined, iface: false };
    }
    const typ = receiver.iface ? 'interface {}' : typeName(rv);
    if (rv === null) this.errorf(`nil pointer evaluating ${typ}.${name}`);
    const hasArgs = (args !== undefined && args.length > 1) || final !== MISSING;
    if (rv instanceof Map) {
      if (hasArgs) this.errorf(`${name} is not a method but has arguments`);
      if (rv.has(name)) return { value: rv.get(name) ?? null, iface: mapElemType(rv) === 'interface {}' };
      switch (this.ctx.missingKey) {
        case 'default':
          return { value: undefined, iface: false };
        case 'zero':
          return {
            value: mapElemType(rv) === 'string' ? '' : null,
            iface: mapElemType(rv) === 'interface {}',
          };
        case 'error':
          this.errorf(`map has no entry for key ${JSON.stringify(name)}`);
      }
    }
    this.errorf(`can't evaluate field ${name} in type ${typ}`);
  }

  private evalFunction(
    dot: GoValue,
    node: ArgNode & { type: 'identifier' },
    cmd: ArgNode | CommandNode,
    args: ArgNode[] | undefined,
    final: Final,
  ): Typed {
    this.at(node);
    const fn = this.ctx.functions.get(node.name);
    if (!fn) this.errorf(`${JSON.stringify(node.name)} is not a defined function`);
    return {
      value: this.evalCall(dot, fn, this.ctx.builtins.has(node.name), cmd, node.name, args, final),
      iface: false,
    };
  }

  private evalCall(
    dot: GoValue,
    fn: GoFunction,
    isBuiltin: boolean,
    node: ArgNode | CommandNode,
    name: string,
    allArgs: ArgNode[] | undefined,
    final: Final,
  ): GoValue {
    const args = allArgs ? allArgs.slice(1) : [];
    let numIn = args.length;
    if (final !== MISSING) numIn++;
    const nParams = fn.params.length + (fn.variadic ? 1 : 0);
    let numFixed = args.length;
    if (fn.variadic) {
      numFixed = fn.params.length;
      if (numIn < numFixed)
        this.errorf(`wrong number of args for ${name}: want at least ${numFixed} got ${args.length}`);
    } else if (numIn !== nParams) {
      this.errorf(`wrong number of args for ${name}: want ${nParams} got ${numIn}`);
    }

    if (isBuiltin && (name === 'and' || name === 'or')) {
      let v: GoValue = undefined;
      for (const arg of args) {
        v = this.evalArg(dot, 'reflect', arg).value;
        if (isTrue(v) === (name === 'or')) return v;
      }
      if (final !== MISSING) v = final;
      return v;
    }

    const argv: GoValue[] = [];
    let i = 0;
    for (; i < numFixed && i < args.length; i++) argv.push(this.evalArg(dot, fn.params[i]!, args[i]!).value);
    if (fn.variadic) for (; i < args.length; i++) argv.push(this.evalArg(dot, fn.variadic, args[i]!).value);
    if (final !== MISSING) {
      let t: GoType;
      if (fn.variadic) t = numIn - 1 < numFixed ? fn.params[numIn - 1]! : fn.variadic;
      else t = fn.params[fn.params.length - 1]!;
      argv.push(this.validateType({ value: final, iface: false }, t).value);
    }
    try {
      const result = fn.call(...argv);
      return result === undefined ? null : result;
    } catch (err) {
      if (err instanceof TemplateError) throw err;
      if (err === BREAK || err === CONTINUE) throw err;
      this.at(node as never);
      const message = err instanceof Error ? err.message : String(err);
      this.errorf(`error calling ${name}: ${message}`);
    }
  }

  private validateType(v: Typed, t: GoType | undefined): Typed {
    const value = v.value;
    if (value === undefined) {
      if (t === undefined) return { value: null, iface: false };
      if (t === 'interface' || t === 'reflect' || t === 'slice' || t === 'strings' || t === 'map')
        return { value: null, iface: false };
      this.errorf(`invalid value; expected ${goTypeName(t)}`);
    }
    if (t === undefined || t === 'interface' || t === 'reflect') return v;
    if (value === null) {
      this.errorf(
        `wrong type for value; expected ${goTypeName(t)}; got ${v.iface ? 'interface {}' : '<nil>'}`,
      );
    }
    if (!assignable(value, t))
      this.errorf(`wrong type for value; expected ${goTypeName(t)}; got ${typeName(value)}`);
    return { value, iface: false };
  }

  private evalArg(dot: GoValue, t: GoType | undefined, n: ArgNode): Typed {
    this.at(n);
    switch (n.type) {
      case 'dot':
        return this.validateType({ value: dot, iface: false }, t);
      case 'nil':
        if (
          t === undefined ||
          t === 'interface' ||
          t === 'reflect' ||
          t === 'slice' ||
          t === 'strings' ||
          t === 'map'
        ) {
          return { value: null, iface: false };
        }
        this.errorf(`cannot assign nil to ${goTypeName(t)}`);
      case 'field':
        return this.validateType(this.evalFieldNode(dot, n, [n], MISSING), t);
      case 'variable':
        return this.validateType(this.evalVariableNode(dot, n, undefined, MISSING), t);
      case 'pipe':
        return this.validateType({ value: this.evalPipeline(dot, n), iface: false }, t);
      case 'identifier':
        return this.validateType(this.evalFunction(dot, n, n, undefined, MISSING), t);
      case 'chain':
        return this.validateType(this.evalChain(dot, n, [], MISSING), t);
    }
    switch (t) {
      case 'bool':
        if (n.type === 'bool') return { value: n.value, iface: false };
        this.errorf(`expected bool; found ${nodeString(n)}`);
      case 'float64':
        if (n.type === 'number' && n.isFloat) return { value: n.float, iface: false };
        this.errorf(`expected float; found ${nodeString(n)}`);
      case 'int':
      case 'int64':
        if (n.type === 'number' && n.isInt)
          return { value: t === 'int' ? n.int : new GoTypedInt('int64', n.int), iface: false };
        this.errorf(`expected integer; found ${nodeString(n)}`);
      case 'uint8':
        if (n.type === 'number' && n.isUint && n.int < 256n)
          return { value: new GoTypedInt('uint8', n.int), iface: false };
        this.errorf(`expected unsigned integer; found ${nodeString(n)}`);
      case 'string':
        if (n.type === 'string') return { value: n.text, iface: false };
        this.errorf(`expected string; found ${nodeString(n)}`);
      case undefined:
      case 'interface':
      case 'reflect':
        switch (n.type) {
          case 'bool':
            return { value: n.value, iface: false };
          case 'number':
            return { value: this.idealConstant(n), iface: false };
          case 'string':
            return { value: n.text, iface: false };
        }
    }
    this.errorf(`can't handle ${nodeString(n)} for arg of type ${goTypeName(t!)}`);
  }

  private printValue(node: Node, v: GoValue): void {
    this.at(node);
    if (v === undefined || v === null) {
      this.write('<no value>');
      return;
    }
    if (isFunc(v)) this.errorf(`can't print ${nodeString(node)} of type ${typeName(v)}`);
    this.write(formatValue(v));
  }
}

function isHexInt(s: string): boolean {
  return s.length > 2 && s[0] === '0' && (s[1] === 'x' || s[1] === 'X') && !/[pP]/.test(s);
}
