// Which failed reconciles the controller retries: the classification behind its backoff and the
// kind label of paddock_reconcile_errors_total.
import { describe, expect, it } from 'vitest';
import {
  classifyReconcileError,
  RECONCILE_ERROR_KINDS,
  TerminalReconcileError,
} from '../../../operator/src/controllers/reconcile-errors.ts';
import { API_ERROR_KINDS, ApiError } from '../../../operator/src/kube/errors.ts';

const answer = (status: number, reason: string, message = 'no'): ApiError =>
  new ApiError('PUT', '/x', status, { kind: 'Status', code: status, reason, message });

describe('classifyReconcileError', () => {
  it('a TerminalReconcileError is terminal, also when wrapped', () => {
    const t = new TerminalReconcileError('cannot');
    expect(t.name).toBe('TerminalReconcileError');
    expect(t).toBeInstanceOf(Error);
    expect(classifyReconcileError(t)).toEqual({ kind: 'terminal', terminal: true });
    const wrapped = new Error('outer', { cause: new Error('middle', { cause: t }) });
    expect(classifyReconcileError(wrapped)).toEqual({ kind: 'terminal', terminal: true });
  });

  it("the API server's own 400/422 is terminal; an admission policy's 422 is not", () => {
    expect(classifyReconcileError(answer(422, 'Invalid'))).toEqual({ kind: 'invalid', terminal: true });
    expect(classifyReconcileError(answer(400, 'BadRequest'))).toEqual({ kind: 'invalid', terminal: true });
    expect(
      classifyReconcileError(answer(422, 'Invalid', "ValidatingAdmissionPolicy 'p' denied request: x")),
    ).toEqual({ kind: 'forbidden', terminal: false });
  });

  it('conflicts, throttling, server errors, network errors, timeouts and the unforeseen are retried', () => {
    const retried: Array<[unknown, string]> = [
      [answer(409, 'Conflict'), 'conflict'],
      [answer(429, 'TooManyRequests'), 'throttled'],
      [answer(500, 'InternalError'), 'server'],
      [answer(504, 'Timeout'), 'timeout'],
      [new ApiError('GET', '/x', 0, { reason: 'ConnectionError' }), 'network'],
      [answer(404, 'NotFound'), 'notFound'],
      [answer(403, 'Forbidden'), 'forbidden'],
      [new RangeError('Maximum call stack size exceeded'), 'unknown'],
      ['thrown string', 'unknown'],
    ];
    for (const [err, kind] of retried) expect(classifyReconcileError(err)).toEqual({ kind, terminal: false });
  });

  it('the label set is the API kinds plus terminal, with no duplicates', () => {
    expect(RECONCILE_ERROR_KINDS).toEqual([...API_ERROR_KINDS, 'terminal']);
    expect(new Set(RECONCILE_ERROR_KINDS).size).toBe(RECONCILE_ERROR_KINDS.length);
  });
});
