import { describe, expect, it } from '@jest/globals';
import { substitute } from '../../src/render/substitute.js';

const vars = new Map([
  ['app', 'web.frontend.svc'],
  ['empty', ''],
  ['n', '3'],
]);
const strict = (t: string) => substitute(t, vars, { strict: true });

describe("Flux's variable substitution", () => {
  it('expands only ${...}; $${x} is the literal; bare $var stays', () => {
    expect(strict('a: ${app}')).toBe('a: web.frontend.svc');
    expect(strict('a: $${app}')).toBe('a: ${app}');
    expect(strict('a: $app')).toBe('a: $app');
  });

  it('applies defaults and the string operators the controller supports', () => {
    expect(strict('${missing:-d}|${missing-d}|${empty:-d}|${empty-d}|${missing:=${n}}')).toBe('d|d|d||3');
    expect(strict('${#app}|${app^^}|${app^}|${app,,}')).toBe(
      '16|WEB.FRONTEND.SVC|Web.frontend.svc|web.frontend.svc',
    );
    expect(strict('${app#*.}|${app##*.}|${app%.*}|${app%%.*}')).toBe('frontend.svc|svc|web.frontend|web');
    expect(strict('${app/./-}|${app//./-}|${app/#web/api}|${app/%svc/local}|${app:4:8}|${app:-3}')).toBe(
      'web-frontend.svc|web-frontend-svc|api.frontend.svc|web.frontend.local|frontend|web.frontend.svc',
    );
  });

  it('fails on an undefined variable in strict mode, naming it, and leaves it empty otherwise', () => {
    expect(() => strict('x: ${undefined_var}')).toThrow("variable not set (strict mode): 'undefined_var'");
    expect(() => strict('x: ${undefined_var^^}')).toThrow('undefined_var');
    expect(substitute('x: ${undefined_var}', vars, { strict: false })).toBe('x: ');
  });

  it('refuses the operators Flux does not support', () => {
    expect(() => strict('${app:+x}')).toThrow('unsupported operator');
    expect(() => strict('${app:?x}')).toThrow('unsupported operator');
  });
});
