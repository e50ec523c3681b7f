import { describe, expect, it } from 'vitest';
import { describeEvaluationError } from '../../../../operator/src/controllers/workflow/cel-errors.ts';
import {
  evaluate,
  evaluateCondition,
  render,
  type ExpressionContext,
} from '../../../../operator/src/controllers/workflow/expressions.ts';

// Values no error message may ever show, nor any part of them.
const CANARY = 'Cnry7Secret';
const ctx: ExpressionContext = {
  inputs: {
    secret: CANARY,
    secretNumber: `${CANARY}42`,
    secretTime: `2026-13-45T${CANARY}`,
    secretList: [CANARY, `${CANARY}-2`],
    secretMap: { other: CANARY, k: `${CANARY}v` },
    n: 7,
    l: [1, 2, 3],
  },
  steps: {
    scan: {
      outputs: { token: CANARY, keys: [CANARY], nested: { [CANARY]: { deeper: CANARY } } },
      phase: 'Succeeded',
    },
  },
};

// Each expression fails, and each has a value of the context somewhere in the way.
const FAILING = [
  'inputs.secretMap[inputs.secret]', // no such key: a sensitive value used as a key
  'inputs[inputs.secret]',
  'steps.scan.outputs.nested[steps.scan.outputs.token].missing',
  'steps.scan.outputs[steps.scan.outputs.keys[0]]',
  'int(inputs.secret)', // conversions quote their input
  'uint(inputs.secretNumber)',
  'bool(inputs.secret)',
  'timestamp(inputs.secretTime)',
  'duration(inputs.secret)',
  'int(steps.scan.outputs.token)',
  'inputs.secret + 1', // type mismatches
  'inputs.secret && true',
  'inputs.secret ? 1 : 2',
  'inputs.secretList.all(x, x)',
  'inputs.secret.size() > inputs.secret',
  'inputs.n / (inputs.secret.size() - 11)', // division by zero
  'inputs.n % 0',
  'inputs.l[inputs.secret.size()]', // index out of range
  '{inputs.secret: 1, inputs.secretMap.other: 2}', // map key conflict
  '{inputs.secret: 1, steps.scan.outputs.token: 2}',
  'inputs.secret.matches(inputs.secret + "(")', // a pattern made of a value
  'inputs.secret.matches("[" + inputs.secret)',
  'string(bytes(inputs.secret) + b"\\xff")',
  '9223372036854775807 + inputs.n', // overflow
  'inputs.secretList.map(x, int(x))',
  'inputs.secret.nope(1)',
  'dyn(inputs.secret).field',
  'inputs.secretMap.k.foo',
];

describe('error messages never quote values', () => {
  it('evaluate: every failure message is free of the canary', () => {
    for (const e of FAILING) {
      const r = evaluate(e, ctx);
      expect(r.ok, e).toBe(false);
      if (!r.ok) {
        expect(r.error, e).not.toContain(CANARY);
        expect(r.error, e).not.toContain('Cnry');
        expect(r.error.startsWith(JSON.stringify(e)), e).toBe(true);
      }
    }
  });

  it('render and evaluateCondition: same, and the condition names only the kind it got', () => {
    for (const e of FAILING) {
      const r = render({ a: [`x {{ ${e} }} y`] }, ctx);
      expect(r.ok, e).toBe(false);
      if (!r.ok) {
        expect(r.error, e).not.toContain('Cnry');
        expect(r.path).toBe('/a/0');
      }
      const c = evaluateCondition(e, ctx);
      if (!c.ok) expect(c.error, e).not.toContain('Cnry');
    }
    for (const [e, kind] of [
      ['inputs.secret', 'a string'],
      ['inputs.secretList', 'a list'],
      ['inputs.secretMap', 'a map'],
      ['steps.scan.outputs.token', 'a string'],
      ['bytes(inputs.secret)', 'bytes'],
    ] as const) {
      const c = evaluateCondition(e, ctx);
      expect(c).toEqual({
        ok: false,
        reason: 'TypeError',
        error: `${JSON.stringify(e)} must evaluate to a boolean, got ${kind}`,
      });
    }
  });

  it('keeps names written in the expression, which are spec, not values', () => {
    expect(evaluate('inputs.secretMap.missing', ctx)).toMatchObject({
      reason: 'MissingReference',
      error: '"inputs.secretMap.missing": field not found: missing',
    });
    expect(evaluate('inputs.secretMap["also"]', ctx)).toMatchObject({
      error: '"inputs.secretMap[\\"also\\"]": field not found: also',
    });
    expect(evaluate('inputs.secretMap[inputs.secret]', ctx)).toMatchObject({
      reason: 'MissingReference',
      error: '"inputs.secretMap[inputs.secret]": field not found (a key computed from a value)',
    });
    expect(evaluate('inputs.secret + 1', ctx)).toMatchObject({
      reason: 'TypeError',
      error: `"inputs.secret + 1": no overload of _+_ for argument types (string, int)`,
    });
    expect(evaluate('int(inputs.secret)', ctx)).toMatchObject({
      reason: 'EvaluationError',
      error: '"int(inputs.secret)": conversion error: the value is not a valid number for int() or uint()',
    });
    expect(evaluate('inputs.n / 0', ctx)).toMatchObject({ error: '"inputs.n / 0": int divide by zero' });
    expect(evaluate('unknownVar + 1', ctx)).toMatchObject({ reason: 'MissingReference' });
  });
});

describe('describeEvaluationError', () => {
  const names = new Set(['spec_name', 'f']);
  it('maps known message shapes and quotes only spec names and type names', () => {
    expect(describeEvaluationError('field not found: spec_name', names).message).toBe(
      'field not found: spec_name',
    );
    expect(describeEvaluationError('field not found: other', names).message).not.toContain('other');
    expect(describeEvaluationError('index 12 out of bounds [0, 3)', names)).toEqual({
      reason: 'MissingReference',
      message: 'list index out of range',
    });
    expect(describeEvaluationError('map key conflict: hush', names).message).toBe('map key conflict');
    expect(describeEvaluationError("undeclared reference to 'hush' (in container '')", names).message).toBe(
      'undeclared reference',
    );
    expect(describeEvaluationError('unbound function: f', names).message).toBe('unknown function f');
    expect(describeEvaluationError('unbound function: hush', names).message).toBe('unknown function');
    expect(describeEvaluationError('type mismatch: expected bool, got string', names).message).toBe(
      'type mismatch: expected bool, got string',
    );
    expect(
      describeEvaluationError("found no matching overload for 'f' applied to '(hush hush)'", names).message,
    ).toBe('no function overload for these argument types');
    expect(describeEvaluationError('error parsing regexp: missing ): `hush(`', names).message).not.toContain(
      'hush',
    );
    expect(describeEvaluationError('something new with hush', names)).toEqual({
      reason: 'EvaluationError',
      message: 'evaluation error',
    });
  });
});
