import { describe, expect, it } from 'vitest';
import {
  compile,
  evaluate,
  evaluateCondition,
  evaluateWithin,
  freeVariables,
  fromCel,
  MAX_EXPRESSION_LENGTH,
  MAX_TEMPLATE_DEPTH,
  isTemplated,
  parseTemplate,
  referencedInputs,
  referencedSteps,
  render,
  rewriteStepRefs,
  templateExpressions,
  toCel,
  type ExpressionContext,
} from '../../../../operator/src/controllers/workflow/expressions.ts';

const ctx: ExpressionContext = {
  inputs: {
    n: 3,
    d: 1.5,
    s: 'x',
    flag: true,
    nothing: null,
    l: [1, 2],
    m: { a: 1, b: 'q' },
    repo: 'https://example.com/acme/api',
  },
  steps: {
    'fix-cve': { outputs: { count: 2, files: ['a.go', 'b.go'], ok: true }, phase: 'Succeeded' },
    scan: {
      outputs: { findings: 0, summary: 'clean', nested: { deep: [1, { k: 'v' }] } },
      phase: 'Succeeded',
    },
    later: { outputs: {}, phase: 'Pending' },
  },
};

function ok(expr: string): unknown {
  const r = evaluate(expr, ctx);
  if (!r.ok) throw new Error(`unexpected error: ${r.error}`);
  return r.value;
}

function err(expr: string): string {
  const r = evaluate(expr, ctx);
  if (r.ok) throw new Error(`expected an error, got ${JSON.stringify(r.value)}`);
  return r.error;
}

// --- rewriteStepRefs ----------------------------------------------------------------------

describe('rewriteStepRefs', () => {
  it('quotes dashed step names', () => {
    expect(rewriteStepRefs('steps.fix-cve.outputs.count > 0')).toBe('steps["fix-cve"].outputs.count > 0');
    expect(rewriteStepRefs('steps.a-b-c.phase')).toBe('steps["a-b-c"].phase');
  });

  it('leaves plain names alone', () => {
    expect(rewriteStepRefs('steps.scan.outputs.findings > 0')).toBe('steps.scan.outputs.findings > 0');
    expect(rewriteStepRefs('steps.step2.phase')).toBe('steps.step2.phase');
  });

  it('rewrites every reference, whatever follows it', () => {
    expect(rewriteStepRefs('steps.a-b.outputs.x + steps.c-d.outputs.y')).toBe(
      'steps["a-b"].outputs.x + steps["c-d"].outputs.y',
    );
    expect(rewriteStepRefs('has(steps.a-b)')).toBe('has(steps["a-b"])');
    expect(rewriteStepRefs('[steps.a-b, steps.c-d]')).toBe('[steps["a-b"], steps["c-d"]]');
    expect(rewriteStepRefs('steps.a-b')).toBe('steps["a-b"]');
    expect(rewriteStepRefs('steps.a-b\n.phase')).toBe('steps["a-b"]\n.phase');
  });

  it('does not touch string literals (double, single, with escaped quotes)', () => {
    expect(rewriteStepRefs('"steps.a-b.phase" == steps.a-b.phase')).toBe(
      '"steps.a-b.phase" == steps["a-b"].phase',
    );
    expect(rewriteStepRefs("steps.a-b.phase == 'steps.a-b.phase'")).toBe(
      'steps["a-b"].phase == \'steps.a-b.phase\'',
    );
    expect(rewriteStepRefs('"say \\"steps.a-b.x\\" " + steps.a-b.outputs.x')).toBe(
      '"say \\"steps.a-b.x\\" " + steps["a-b"].outputs.x',
    );
    expect(rewriteStepRefs('"it\'s steps.a-b.x" + steps.c-d.y')).toBe('"it\'s steps.a-b.x" + steps["c-d"].y');
  });

  it('leaves already-quoted references as they are', () => {
    expect(rewriteStepRefs('steps["fix-cve"].outputs.count')).toBe('steps["fix-cve"].outputs.count');
    expect(rewriteStepRefs("steps['fix-cve'].outputs.count")).toBe("steps['fix-cve'].outputs.count");
  });

  it('does not rewrite identifiers that merely end in "steps"', () => {
    expect(rewriteStepRefs('mysteps.a-b.x')).toBe('mysteps.a-b.x');
  });

  it('makes dashed references evaluate like the quoted form', () => {
    expect(ok('steps.fix-cve.outputs.count')).toBe(2);
    expect(ok('steps.fix-cve.outputs.count - 1')).toBe(1);
    expect(ok('steps["fix-cve"].outputs.count')).toBe(2);
    expect(ok('"steps.fix-cve.outputs.count"')).toBe('steps.fix-cve.outputs.count');
  });
});

describe('referencedSteps / referencedInputs', () => {
  it('finds dotted, dashed and quoted step references, once each', () => {
    expect(
      [...referencedSteps('steps.scan.outputs.findings > 0 && steps.fix-cve.phase == "x"')].sort(),
    ).toEqual(['fix-cve', 'scan']);
    expect([...referencedSteps('steps["fix-cve"].outputs.count + steps[\'a-b\'].outputs.n')].sort()).toEqual([
      'a-b',
      'fix-cve',
    ]);
    expect([...referencedSteps('steps.scan.outputs.x + steps.scan.outputs.y')]).toEqual(['scan']);
    expect([...referencedSteps('size(steps.a-b)')]).toEqual(['a-b']);
  });

  it('finds nothing where there is no step reference', () => {
    expect(referencedSteps('inputs.n > 1').size).toBe(0);
    expect(referencedSteps('mysteps.scan.outputs').size).toBe(0);
  });

  it('finds workflow input references', () => {
    expect([...referencedInputs('inputs.repo + "/" + inputs.branch_1')].sort()).toEqual(['branch_1', 'repo']);
    expect([...referencedInputs('inputs.repo == inputs.repo')]).toEqual(['repo']);
    expect(referencedInputs('steps.scan.outputs.n').size).toBe(0);
  });
});

// --- evaluate ------------------------------------------------------------------------------

describe('evaluate', () => {
  it('evaluates integer arithmetic to JS numbers', () => {
    expect(ok('inputs.n + 1')).toBe(4);
    expect(ok('inputs.n * inputs.n')).toBe(9);
    expect(ok('7 / 2')).toBe(3);
  });

  it('keeps doubles as doubles', () => {
    expect(ok('inputs.d + 0.25')).toBe(1.75);
    expect(ok('inputs.d')).toBe(1.5);
  });

  it('evaluates strings, booleans and null', () => {
    expect(ok('inputs.s + "-y"')).toBe('x-y');
    expect(ok('inputs.repo.startsWith("https://")')).toBe(true);
    expect(ok('inputs.flag && steps.fix-cve.outputs.ok')).toBe(true);
    expect(ok('inputs.nothing')).toBeNull();
    expect(ok('steps.scan.phase')).toBe('Succeeded');
  });

  it('returns lists as arrays', () => {
    expect(ok('inputs.l')).toEqual([1, 2]);
    expect(ok('inputs.l + [3]')).toEqual([1, 2, 3]);
    expect(ok('steps.fix-cve.outputs.files')).toEqual(['a.go', 'b.go']);
    expect(ok('size(steps.fix-cve.outputs.files)')).toBe(2);
    expect(ok('[1, 2.5, "x", true]')).toEqual([1, 2.5, 'x', true]);
  });

  it('returns maps as plain objects, nested', () => {
    expect(ok('inputs.m')).toEqual({ a: 1, b: 'q' });
    expect(ok('inputs.m.b')).toBe('q');
    expect(ok('{"k": inputs.n, "l": [inputs.m]}')).toEqual({ k: 3, l: [{ a: 1, b: 'q' }] });
    expect(ok('steps.scan.outputs.nested')).toEqual({ deep: [1, { k: 'v' }] });
    const v = ok('inputs.m');
    expect(v).not.toBeInstanceOf(Map);
  });

  it('compares and tests membership', () => {
    expect(ok('steps.scan.outputs.findings > 0')).toBe(false);
    expect(ok('"a.go" in steps.fix-cve.outputs.files')).toBe(true);
    expect(ok('has(inputs.m.a)')).toBe(true);
    expect(ok('has(inputs.m.zz)')).toBe(false);
  });

  it('reports a missing field as an error naming the expression', () => {
    expect(err('inputs.missing')).toBe('"inputs.missing": field not found: missing');
    expect(err('steps.scan.outputs.nope')).toMatch(/^"steps\.scan\.outputs\.nope": .*nope/);
    expect(err('steps.unknown-step.outputs.x')).toMatch(/^"steps\.unknown-step\.outputs\.x": .*unknown-step/);
  });

  it('reports parse errors with the expression', () => {
    expect(err('inputs.n +')).toMatch(/^cannot parse "inputs\.n \+": /);
    expect(evaluate('inputs.n +', ctx)).toMatchObject({ ok: false, reason: 'ParseError' });
  });

  it('gives a machine-readable reason with each failure', () => {
    expect(evaluate('inputs.missing', ctx)).toMatchObject({ ok: false, reason: 'MissingReference' });
    expect(evaluate('inputs.s + 1', ctx)).toMatchObject({ ok: false, reason: 'TypeError' });
    expect(evaluate('1 / 0', ctx)).toMatchObject({ ok: false, reason: 'EvaluationError' });
  });

  it('reports runtime errors with the expression', () => {
    expect(err('1 / 0')).toMatch(/^"1 \/ 0": .*divide by zero/);
    expect(err('inputs.s + 1')).toMatch(/^"inputs\.s \+ 1": /);
  });
});

describe('evaluateCondition', () => {
  it('returns booleans', () => {
    expect(evaluateCondition('inputs.n > 2', ctx)).toEqual({ ok: true, value: true });
    expect(evaluateCondition('inputs.n > 3', ctx)).toEqual({ ok: true, value: false });
  });

  it('refuses anything that is not a boolean, saying what kind of value it got (never the value)', () => {
    expect(evaluateCondition('inputs.n', ctx)).toEqual({
      ok: false,
      error: '"inputs.n" must evaluate to a boolean, got an int',
      reason: 'TypeError',
    });
    expect(evaluateCondition('inputs.s', ctx)).toEqual({
      ok: false,
      error: '"inputs.s" must evaluate to a boolean, got a string',
      reason: 'TypeError',
    });
    const double = evaluateCondition('inputs.d', ctx);
    if (double.ok) throw new Error('expected an error');
    expect(double.error).toMatch(/got a double$/);
    const list = evaluateCondition('inputs.l', ctx);
    expect(list.ok).toBe(false);
    if (!list.ok) expect(list.error).toMatch(/got a list$/);
    const map = evaluateCondition('inputs.m', ctx);
    if (map.ok) throw new Error('expected an error');
    expect(map.error).toMatch(/got a map$/);
    const nul = evaluateCondition('inputs.nothing', ctx);
    if (nul.ok) throw new Error('expected an error');
    expect(nul.error).toMatch(/got null$/);
  });

  it('passes evaluation errors through', () => {
    expect(evaluateCondition('inputs.missing == 1', ctx)).toEqual({
      ok: false,
      error: '"inputs.missing == 1": field not found: missing',
      reason: 'MissingReference',
    });
  });
});

// --- templates -------------------------------------------------------------------------------

describe('parseTemplate', () => {
  it('splits text and trimmed expressions', () => {
    expect(parseTemplate('Fix {{ inputs.cve }} in {{inputs.repo}}!')).toEqual([
      { kind: 'text', text: 'Fix ' },
      { kind: 'expr', expr: 'inputs.cve' },
      { kind: 'text', text: ' in ' },
      { kind: 'expr', expr: 'inputs.repo' },
      { kind: 'text', text: '!' },
    ]);
  });

  it('handles adjacent expressions, plain text and the empty string', () => {
    expect(parseTemplate('{{a}}{{b}}')).toEqual([
      { kind: 'expr', expr: 'a' },
      { kind: 'expr', expr: 'b' },
    ]);
    expect(parseTemplate('no templates here')).toEqual([{ kind: 'text', text: 'no templates here' }]);
    expect(parseTemplate('')).toEqual([]);
  });

  it('lets an expression span lines', () => {
    expect(parseTemplate('{{ inputs.n +\n 1 }}')).toEqual([{ kind: 'expr', expr: 'inputs.n +\n 1' }]);
  });
});

describe('isTemplated / templateExpressions', () => {
  it('looks into nested objects and arrays', () => {
    const v = {
      a: 'plain',
      b: [1, { c: 'x {{ inputs.n }}' }],
      d: { e: '{{ steps.scan.outputs.findings }}' },
    };
    expect(isTemplated(v)).toBe(true);
    expect(templateExpressions(v)).toEqual(['inputs.n', 'steps.scan.outputs.findings']);
    expect(isTemplated({ a: 'plain', b: [1, true, null, { c: 'y' }] })).toBe(false);
    expect(templateExpressions({ a: 'plain', n: 5 })).toEqual([]);
    expect(isTemplated('{{ x }}')).toBe(true);
    expect(isTemplated(42)).toBe(false);
  });
});

describe('render', () => {
  function rendered(v: unknown): unknown {
    const r = render(v, ctx);
    if (!r.ok) throw new Error(`unexpected error: ${r.error}`);
    return r.value;
  }

  it('keeps the JSON type of a string that is exactly one expression', () => {
    expect(rendered('{{ inputs.n }}')).toBe(3);
    expect(rendered('{{inputs.d}}')).toBe(1.5);
    expect(rendered('{{ inputs.flag }}')).toBe(true);
    expect(rendered('{{ inputs.l }}')).toEqual([1, 2]);
    expect(rendered('{{ inputs.m }}')).toEqual({ a: 1, b: 'q' });
    expect(rendered('{{ inputs.nothing }}')).toBeNull();
    expect(rendered('{{ inputs.s }}')).toBe('x');
    expect(rendered('{{ steps.fix-cve.outputs.files }}')).toEqual(['a.go', 'b.go']);
  });

  it('makes a string when there is text around expressions, JSON for non-strings', () => {
    expect(rendered('n={{ inputs.n }}')).toBe('n=3');
    expect(rendered(' {{ inputs.n }}')).toBe(' 3');
    expect(rendered('s={{ inputs.s }}')).toBe('s=x');
    expect(rendered('l={{ inputs.l }} m={{ inputs.m }}')).toBe('l=[1,2] m={"a":1,"b":"q"}');
    expect(rendered('{{ inputs.flag }}/{{ inputs.nothing }}/{{ inputs.d }}')).toBe('true/null/1.5');
    expect(rendered('{{ inputs.s }}{{ inputs.s }}')).toBe('xx');
  });

  it('renders nested objects and arrays, leaving non-strings and plain text alone', () => {
    expect(
      rendered({
        title: 'Fix in {{ inputs.repo }}',
        count: '{{ steps.fix-cve.outputs.count }}',
        list: ['{{ inputs.n }}', 'lit', 7, false, null, { deep: '{{ inputs.m.b }}' }],
        keep: { n: 1, b: true, z: null },
      }),
    ).toEqual({
      title: 'Fix in https://example.com/acme/api',
      count: 2,
      list: [3, 'lit', 7, false, null, { deep: 'q' }],
      keep: { n: 1, b: true, z: null },
    });
  });

  it('does not render object keys', () => {
    expect(rendered({ '{{ inputs.s }}': 'v' })).toEqual({ '{{ inputs.s }}': 'v' });
  });

  it('never renders a missing reference as an empty string', () => {
    for (const t of ['{{ inputs.missing }}', 'a{{ inputs.missing }}b', 'x {{ steps.scan.outputs.nope }}']) {
      const r = render(t, ctx);
      expect(r.ok).toBe(false);
    }
    const r = render({ a: 'ok', b: 'pre {{ steps.later.outputs.result }} post' }, ctx);
    expect(r).toEqual({
      ok: false,
      error: '"steps.later.outputs.result": field not found: result',
      path: '/b',
      reason: 'MissingReference',
    });
  });

  it('gives the JSON pointer of the failing value', () => {
    expect(render('{{ inputs.zz }}', ctx)).toMatchObject({ ok: false, path: '' });
    expect(render({ a: { b: ['ok', '{{ inputs.zz }}'] } }, ctx)).toMatchObject({ ok: false, path: '/a/b/1' });
    // "~" and "/" in keys are escaped as in RFC 6901.
    const r = render({ c: ['{{ inputs.d }}', { 'x/y~': '{{ inputs.zz }}' }] }, ctx);
    expect(r).toMatchObject({ ok: false, path: '/c/1/x~1y~0' });
    if (!r.ok) expect(r.error).toContain('inputs.zz');
  });

  it('reports the first failing value and its expression', () => {
    const r = render({ a: '{{ inputs.first }}', b: '{{ inputs.second }}' }, ctx);
    expect(r).toEqual({
      ok: false,
      error: '"inputs.first": field not found: first',
      path: '/a',
      reason: 'MissingReference',
    });
  });

  it('walks inputs of any depth: deep plain values are kept, templates too deep fail the render', () => {
    let plain: unknown = 'leaf';
    let templated: unknown = '{{ inputs.n }}';
    for (let i = 0; i < 10_000; i++) {
      plain = { a: [plain] };
      templated = { a: [templated] };
    }
    expect(isTemplated(plain)).toBe(false);
    expect(isTemplated(templated)).toBe(true);
    expect(templateExpressions(templated)).toEqual(['inputs.n']);
    expect(render({ keep: plain, n: '{{ inputs.n }}' }, ctx)).toEqual({
      ok: true,
      value: { keep: plain, n: 3 },
    });
    const r = render({ deep: templated }, ctx);
    expect(r).toMatchObject({ ok: false, reason: 'EvaluationError' });
    if (!r.ok)
      expect(r.error).toBe(`a template is nested more than ${MAX_TEMPLATE_DEPTH} levels deep in the inputs`);
    let shallow: unknown = '{{ inputs.n }}';
    for (let i = 0; i < 20; i++) shallow = { a: [shallow] };
    expect(render(shallow, ctx).ok).toBe(true);
  });

  it('renders the empty string and text-only strings as they are', () => {
    expect(rendered('')).toBe('');
    expect(rendered('plain')).toBe('plain');
  });
});

// --- compile and CEL values --------------------------------------------------------------------

describe('compile', () => {
  it('returns the same compiled expression for the same expression', () => {
    const a = compile('inputs.n + 41');
    const b = compile('inputs.n + 41');
    expect(typeof a).toBe('object');
    expect(b).toBe(a);
    expect(compile('inputs.n + 42')).not.toBe(a);
  });

  it('caches parse errors as messages', () => {
    const a = compile('inputs.(');
    expect(typeof a).toBe('string');
    expect(compile('inputs.(')).toBe(a);
  });

  it('refuses expressions longer than MAX_EXPRESSION_LENGTH, and nested too deeply to parse', () => {
    const long = `1${' + 1'.repeat(MAX_EXPRESSION_LENGTH / 4)}`;
    expect(compile(long)).toBe(`the expression is longer than ${MAX_EXPRESSION_LENGTH} characters`);
    expect(evaluate(long, ctx)).toMatchObject({ ok: false, reason: 'ParseError' });
    expect(typeof compile(`1${' + 1'.repeat(MAX_EXPRESSION_LENGTH / 4 - 1)}`)).toBe('object');
    expect(compile(`${'['.repeat(1000)}${']'.repeat(1000)}`)).toBe('the expression is nested too deeply');
  });

  it('plans dashed step references', () => {
    expect(typeof compile('steps.fix-cve.outputs.count > 1')).toBe('object');
  });
});

describe('toCel / fromCel', () => {
  it('turns safe integers into CEL ints and keeps other numbers doubles', () => {
    expect(toCel(3)).toBe(3n);
    expect(toCel(-7)).toBe(-7n);
    expect(toCel(1.5)).toBe(1.5);
    expect(toCel(2 ** 60)).toBe(2 ** 60);
    expect(toCel('s')).toBe('s');
    expect(toCel(true)).toBe(true);
    expect(toCel(null)).toBeNull();
  });

  it('turns objects into maps, recursively', () => {
    const v = toCel({ a: 1, b: [2, { c: 0.5 }] });
    expect(v).toBeInstanceOf(Map);
    const m = v as Map<string, unknown>;
    expect(m.get('a')).toBe(1n);
    const b = m.get('b') as unknown[];
    expect(b[0]).toBe(2n);
    expect((b[1] as Map<string, unknown>).get('c')).toBe(0.5);
  });

  it('round-trips JSON values', () => {
    const values: unknown[] = [
      0,
      42,
      -3,
      Number.MAX_SAFE_INTEGER,
      0.1,
      -2.75,
      'text',
      true,
      null,
      [],
      {},
      [1, 2.5, 'x', [true, null]],
      { a: { b: { c: [1, { d: 0.25 }] } }, e: 'f' },
    ];
    for (const v of values) expect(fromCel(toCel(v))).toEqual(v);
    expect(fromCel(toCel(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
    expect(typeof fromCel(10n)).toBe('number');
  });

  it('converts CEL results: ints, uints, maps with non-string keys', () => {
    expect(ok('uint(5)')).toBe(5);
    expect(ok('{1: "one", true: "yes"}')).toEqual({ 1: 'one', true: 'yes' });
    expect(ok('{"a": [uint(1), 2.0]}')).toEqual({ a: [1, 2] });
  });
});

describe('forEach instances in expressions', () => {
  const ast = (e: string) => {
    const c = compile(e);
    if (typeof c === 'string') throw new Error(c);
    return c.ast;
  };

  it('freeVariables names the variables read, not those a comprehension binds', () => {
    expect([...freeVariables(ast('item.x + index'))].sort()).toEqual(['index', 'item']);
    expect([...freeVariables(ast('inputs.l.map(item, item + 1)'))]).toEqual(['inputs']);
    expect([...freeVariables(ast('inputs.l.exists(x, x == item)'))].sort()).toEqual(['inputs', 'item']);
    expect([...freeVariables(ast('{"k": steps.a.outputs}[index]'))].sort()).toEqual(['index', 'steps']);
  });

  it('item and index are variables of an instance context', () => {
    const inst: ExpressionContext = { ...ctx, instance: { item: { file: 'a.go' }, index: 7 } };
    expect(evaluate('item.file + ":" + string(index)', inst)).toEqual({ ok: true, value: 'a.go:7' });
    expect(evaluate('item', ctx).ok).toBe(false);
  });

  it('evaluateWithin bounds the value by its own limit', () => {
    const big: ExpressionContext = {
      ...ctx,
      inputs: { xs: Array.from({ length: 2000 }, (_, i) => `item-${i}`) },
    };
    expect(evaluateWithin('inputs.xs', big, 1024 * 1024)).toMatchObject({ ok: true });
    expect(evaluateWithin('inputs.xs', big, 1000)).toMatchObject({ ok: false, reason: 'ResultTooLarge' });
  });
});
