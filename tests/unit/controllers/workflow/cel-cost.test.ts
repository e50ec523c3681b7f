import { describe, expect, it } from 'vitest';
import { CEL_PER_CALL_COST_LIMIT, callCost } from '../../../../operator/src/controllers/workflow/cel-cost.ts';
import {
  MAX_RENDERED_BYTES,
  MAX_TEMPLATE_RESULT_BYTES,
  evaluate,
  evaluateCondition,
  evaluationCost,
  render,
  type ExpressionContext,
} from '../../../../operator/src/controllers/workflow/expressions.ts';

const big = Array.from({ length: 2048 }, (_, i) => i);
const ctx: ExpressionContext = {
  inputs: { l: big, s: 'a'.repeat(4096), small: [3, 1, 2], words: ['ab', 'cd', 'ab'] },
  steps: { scan: { outputs: { files: ['a.go', 'b.go', 'c.ts'], n: 2 }, phase: 'Succeeded' } },
};

function value(expr: string): unknown {
  const r = evaluate(expr, ctx);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

describe('run-time cost limit', () => {
  it('stops a cubic template with CostLimitExceeded instead of building it', () => {
    const r = evaluate('inputs.l.map(x, inputs.l.map(y, inputs.l.map(z, z)))', ctx);
    expect(r).toEqual({
      ok: false,
      reason: 'CostLimitExceeded',
      error: `"inputs.l.map(x, inputs.l.map(y, inputs.l.map(z, z)))": cost limit exceeded (more than ${CEL_PER_CALL_COST_LIMIT} units)`,
    });
  });

  it('stops a cubic condition', () => {
    const r = evaluateCondition('inputs.l.all(x, inputs.l.all(y, inputs.l.all(z, z >= 0)))', ctx);
    expect(r).toMatchObject({ ok: false, reason: 'CostLimitExceeded' });
  });

  it('counts deterministically: the same evaluation always costs the same', () => {
    const e = 'inputs.l.filter(x, x % 3 == 0).map(x, x * 2).size()';
    const first = evaluationCost(e, ctx);
    expect(first).toBeGreaterThan(2048);
    for (let i = 0; i < 3; i++) expect(evaluationCost(e, ctx)).toBe(first);
    expect(evaluationCost('inputs.l.map(x, inputs.l.map(y, y))', ctx)).toBeGreaterThan(
      CEL_PER_CALL_COST_LIMIT,
    );
  });

  it('stops expressions that would build huge strings or lists, and the process stays small', () => {
    const before = process.memoryUsage().rss;
    for (const e of [
      'inputs.l.map(x, inputs.l.map(y, inputs.s + inputs.s + inputs.s + inputs.s))',
      'inputs.l.map(x, inputs.l.map(y, [y, y, y, y, y, y, y, y, y, y]))',
      'inputs.l.map(x, inputs.l.map(y, {"a": y, "b": inputs.s}))',
      'inputs.l.map(x, inputs.l.map(y, inputs.l))',
      'inputs.l.map(x, size(inputs.s + inputs.s + inputs.s + inputs.s + inputs.s))',
      'inputs.l.exists(x, inputs.l.map(y, inputs.l) == inputs.l.map(y, inputs.l))',
      'inputs.l.map(x, inputs.s.matches("^(a+)+$"))',
      'inputs.l.map(x, inputs.l.map(y, string(y) + inputs.s).exists(z, z.contains(inputs.s + "b")))',
    ]) {
      expect(evaluate(e, ctx), e).toMatchObject({ ok: false, reason: 'CostLimitExceeded' });
    }
    // The unmetered library needed gigabytes for the first two; the meter keeps them to megabytes.
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * 1024 * 1024);
  });

  it('charges functions by the sizes of their arguments', () => {
    const sized = (chars: number, items = 0) => ({ items, chars, deep: () => 1 + 0.1 * chars + items });
    expect(callCost('_+_', undefined, [sized(10), sized(20)])).toBeCloseTo(1 + 3);
    expect(callCost('size', undefined, [sized(0, 50)])).toBeCloseTo(1 + 5);
    expect(callCost('matches', sized(99), [sized(3)])).toBeCloseTo(1 + 0.25 * 100 * 4);
    expect(callCost('_==_', undefined, [sized(10), sized(10)])).toBeCloseTo(1 + 2 + 2);
  });
});

describe('comprehensions under the meter', () => {
  it('evaluates the macros as before', () => {
    expect(value('inputs.small.map(x, x * 10)')).toEqual([30, 10, 20]);
    expect(value('inputs.small.filter(x, x > 1)')).toEqual([3, 2]);
    expect(value('inputs.small.all(x, x > 0)')).toBe(true);
    expect(value('inputs.small.exists(x, x > 2)')).toBe(true);
    expect(value('inputs.small.exists_one(x, x > 2)')).toBe(true);
    expect(value('inputs.words.filter(w, w == "ab").size()')).toBe(2);
    expect(value('steps.scan.outputs.files.map(f, f + ".bak")')).toEqual([
      'a.go.bak',
      'b.go.bak',
      'c.ts.bak',
    ]);
    expect(value('steps.scan.outputs.files.filter(f, f.endsWith(".go")).map(f, [f])')).toEqual([
      ['a.go'],
      ['b.go'],
    ]);
  });

  it('keeps each evaluation of a nested macro separate', () => {
    expect(value('inputs.small.map(x, inputs.small.map(y, x * y))')).toEqual([
      [9, 3, 6],
      [3, 1, 2],
      [6, 2, 4],
    ]);
    expect(value('[1, 2].map(x, [].map(y, y) + [x])')).toEqual([[1], [2]]);
    // The same expression evaluated twice starts from an empty accumulator each time.
    expect(value('inputs.small.map(x, x)')).toEqual([3, 1, 2]);
    expect(value('inputs.small.map(x, x)')).toEqual([3, 1, 2]);
  });

  it('builds long lists that can be read back (the lazy concatenation overflowed the stack)', () => {
    const long: ExpressionContext = { inputs: { l: Array.from({ length: 30_000 }, (_, i) => i) }, steps: {} };
    const r = evaluate('inputs.l.map(x, x + 1)[29999]', long);
    expect(r).toEqual({ ok: true, value: 30000 });
    expect(evaluate('29999 in inputs.l.map(x, x)', long)).toEqual({ ok: true, value: true });
    expect(evaluate('inputs.l.map(x, x).size()', long)).toEqual({ ok: true, value: 30000 });
  });
});

describe('result size limit', () => {
  it('refuses a template value larger than MAX_TEMPLATE_RESULT_BYTES', () => {
    const r = evaluate('inputs.l.map(x, inputs.s)', {
      inputs: { l: big.slice(0, 20), s: 'b'.repeat(4096) },
      steps: {},
    });
    expect(r).toEqual({
      ok: false,
      reason: 'ResultTooLarge',
      error: `"inputs.l.map(x, inputs.s)": the value is larger than ${MAX_TEMPLATE_RESULT_BYTES} bytes`,
    });
    const ok = evaluate('inputs.l.map(x, inputs.s)', {
      inputs: { l: big.slice(0, 10), s: 'b'.repeat(4096) },
      steps: {},
    });
    expect(ok.ok).toBe(true);
  });

  it('refuses values nested too deeply to convert', () => {
    const deep = `${'['.repeat(150)}1${']'.repeat(150)}`;
    expect(evaluate(deep, ctx)).toMatchObject({ ok: false, reason: 'ResultTooLarge' });
  });

  it('bounds what all the templates of one render produce together', () => {
    const c: ExpressionContext = { inputs: { s: 'c'.repeat(60 * 1024) }, steps: {} };
    const inputs = {
      a: '{{ inputs.s }}',
      b: ['{{ inputs.s }}', 'x {{ inputs.s }}'],
      c: '{{ inputs.s }}{{ inputs.s }}',
    };
    const r = render(inputs, c);
    expect(r).toMatchObject({ ok: false, reason: 'ResultTooLarge', path: '/c' });
    if (!r.ok) expect(r.error).toContain(`more than ${MAX_RENDERED_BYTES} bytes together`);
    expect(render({ a: '{{ inputs.s }}', b: '{{ inputs.s }}' }, c).ok).toBe(true);
  });
});
