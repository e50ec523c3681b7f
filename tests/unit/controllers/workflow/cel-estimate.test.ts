import { describe, expect, it } from 'vitest';
import { CEL_PER_CALL_COST_LIMIT } from '../../../../operator/src/controllers/workflow/cel-cost.ts';
import {
  MAX_OUTPUTS_BYTES,
  estimate,
  jsonWithin,
  shapeOfSchema,
  shapeOfValue,
  stringShape,
  type Shape,
} from '../../../../operator/src/controllers/workflow/cel-estimate.ts';
import {
  compile,
  evaluationCost,
  type ExpressionContext,
} from '../../../../operator/src/controllers/workflow/expressions.ts';

const OUTPUTS_SCHEMA = {
  type: 'object',
  properties: {
    findings: { type: 'integer' },
    summary: { type: 'string', maxLength: 200 },
    files: { type: 'array', maxItems: 50, items: { type: 'string', maxLength: 100 } },
    token: { type: 'string', 'x-paddock-sensitive': true, maxLength: 4 },
  },
};

function scope(
  inputs: Record<string, unknown>,
  outputs: Shape = jsonWithin(MAX_OUTPUTS_BYTES),
): Map<string, Shape> {
  const step: Shape = {
    items: 2,
    chars: 0,
    deep: MAX_OUTPUTS_BYTES + 10,
    fields: new Map([
      ['outputs', outputs],
      ['phase', stringShape(32)],
    ]),
  };
  return new Map([
    ['inputs', shapeOfValue(inputs)],
    ['steps', { items: 1, chars: 0, deep: step.deep + 5, fields: new Map([['scan', step]]) }],
  ]);
}

function cost(expr: string, s: Map<string, Shape>): number {
  const c = compile(expr);
  if (typeof c === 'string') throw new Error(c);
  return estimate(c.ast, s).cost;
}

const INPUTS = {
  repo: 'https://example.com/acme/api',
  l: Array.from({ length: 100 }, (_, i) => i),
  s: 'x'.repeat(50),
};

describe('estimate: what normal workflows write stays far under the limit', () => {
  const s = scope(INPUTS);
  for (const e of [
    'inputs.repo',
    'Fix in ' + '{{ inputs.repo }}'.slice(3, -3),
    'steps.scan.outputs.findings > 0 && has(steps.scan.outputs.patch)',
    'has(steps.scan.outputs.report) ? steps.scan.outputs.report : "no report"',
    'steps.scan.phase == "Succeeded"',
    'steps.scan.outputs.files.map(f, f + ".go")',
    'steps.scan.outputs.files.filter(f, f.startsWith("src/"))',
    'steps.scan.outputs.files.exists(f, f == "go.mod")',
    'steps.scan.outputs.items.all(i, i.severity != "critical")',
    'size(steps.scan.outputs.summary) > 100',
    'steps.scan.outputs.summary.matches("^[A-Za-z ]+$")',
    'inputs.l.map(x, x * 2)',
    'inputs.l.map(x, inputs.l.exists(y, y == x + 1))',
  ]) {
    it(e, () => {
      expect(cost(e, s)).toBeLessThan(CEL_PER_CALL_COST_LIMIT / 5);
    });
  }
});

describe('estimate: blow-ups are over the limit', () => {
  const s = scope(INPUTS);
  for (const e of [
    'steps.scan.outputs.l.map(x, steps.scan.outputs.l.map(y, y))',
    'inputs.l.map(x, inputs.l.map(y, inputs.l.map(z, z)))',
    'inputs.l.all(x, inputs.l.all(y, inputs.l.all(z, z >= 0)))',
    'steps.scan.outputs.l.map(x, steps.scan.outputs.s.matches(steps.scan.outputs.p))',
    'steps.scan.outputs.l.map(x, steps.scan.outputs.l == steps.scan.outputs.l)',
  ]) {
    it(e, () => {
      expect(cost(e, s)).toBeGreaterThan(CEL_PER_CALL_COST_LIMIT);
    });
  }

  it('refuses expressions too deeply nested to estimate, as infinitely expensive', () => {
    let e = 'z';
    for (let i = 0; i < 12; i++) e = `inputs.l.map(v${i}, ${e})`;
    expect(cost(e, s)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('shapes', () => {
  it('are exact for known values', () => {
    const v = shapeOfValue({ a: 'xyz', l: [1, 'ab'] });
    expect(v.items).toBe(2);
    expect(v.fields?.get('a')).toMatchObject({ chars: 3, items: 0 });
    expect(v.fields?.get('l')).toMatchObject({ items: 2 });
    // Its JSON size, give or take the last comma of each list and map.
    const json = JSON.stringify({ a: 'xyz', l: [1, 'ab'] }).length;
    expect(v.bytes).toBeGreaterThanOrEqual(json);
    expect(v.bytes).toBeLessThanOrEqual(json + 2);
  });

  it('take the bounds an outputsSchema declares, within the termination message', () => {
    const o = shapeOfSchema(OUTPUTS_SCHEMA, MAX_OUTPUTS_BYTES);
    expect(o.fields?.get('summary')).toMatchObject({ chars: 200 });
    expect(o.fields?.get('files')).toMatchObject({ items: 50 });
    expect(o.fields?.get('files')?.elem).toMatchObject({ chars: 100 });
    // A sensitive value may be "[REDACTED]" in status: 10 characters, more than its maxLength.
    expect(o.fields?.get('token')?.chars).toBe(10);
    expect(shapeOfSchema({ type: 'array' }, MAX_OUTPUTS_BYTES).items).toBe(MAX_OUTPUTS_BYTES / 2);
    expect(shapeOfSchema({ type: 'string', maxLength: 1e9 }, MAX_OUTPUTS_BYTES).chars).toBe(
      MAX_OUTPUTS_BYTES,
    );
  });

  it('make a declared maxItems lower the estimate', () => {
    const e = 'steps.scan.outputs.files.map(x, steps.scan.outputs.files.map(y, y + x))';
    expect(cost(e, scope(INPUTS))).toBeGreaterThan(CEL_PER_CALL_COST_LIMIT);
    expect(cost(e, scope(INPUTS, shapeOfSchema(OUTPUTS_SCHEMA, MAX_OUTPUTS_BYTES)))).toBeLessThan(
      CEL_PER_CALL_COST_LIMIT,
    );
  });
});

/** Outputs of at most MAX_OUTPUTS_BYTES that make loops as long, or elements as large, as possible. */
function outputsVariants(): Record<string, unknown>[] {
  const longList = Array.from({ length: 1000 }, (_, i) => i % 10);
  const words = Array.from({ length: 300 }, (_, i) => `w${i}`);
  return [
    { l: longList, s: 'a'.repeat(30), p: 'a+' },
    { l: [1, 2], s: 'a'.repeat(3900), p: '(a|b)+c' },
    { l: words, s: 'abc', p: '^w1' },
    { l: [words.slice(0, 100), words.slice(100, 200)], s: '', p: '' },
    { l: ['a'.repeat(2000), 'b'.repeat(1900)], s: 'x', p: 'a' },
  ];
}

describe('the estimate bounds the run-time cost', () => {
  const expressions = [
    'steps.scan.outputs.l.map(x, x)',
    'steps.scan.outputs.l.filter(x, x == 1)',
    'steps.scan.outputs.l.map(x, [x, x])',
    'steps.scan.outputs.l.exists(x, x == "zz")',
    'steps.scan.outputs.l.map(x, string(x) + steps.scan.outputs.s)',
    'size(steps.scan.outputs.s) + size(steps.scan.outputs.l)',
    'steps.scan.outputs.s.matches(steps.scan.outputs.p)',
    'steps.scan.outputs.s.contains("b") || steps.scan.outputs.s.startsWith("a")',
    'steps.scan.outputs.l.all(x, x in steps.scan.outputs.l)',
    'steps.scan.outputs.l.map(x, {"k": x, "n": inputs.s})',
    'inputs.l.map(x, inputs.l.filter(y, y > x).size())',
    'inputs.l.exists_one(x, x == 3) ? inputs.repo : inputs.s + inputs.s',
    '[inputs.l, inputs.l].map(x, x.map(y, y + 1))',
    '{"a": inputs.l}.a.map(x, x)',
    'steps.scan.outputs.l == steps.scan.outputs.l',
  ];
  const s = scope(INPUTS);
  for (const e of expressions) {
    it(e, () => {
      const bound = cost(e, s);
      for (const outputs of outputsVariants()) {
        expect(JSON.stringify(outputs).length).toBeLessThanOrEqual(MAX_OUTPUTS_BYTES);
        const ctx: ExpressionContext = { inputs: INPUTS, steps: { scan: { outputs, phase: 'Succeeded' } } };
        const spent = evaluationCost(e, ctx);
        expect(spent).toBeDefined();
        expect(spent!).toBeLessThanOrEqual(bound);
      }
    });
  }
});
