// The Event an object gets when its reconciles keep failing: the kind of error, never its message.
import { describe, expect, it } from 'vitest';
import type { ReconcileFailure } from '../../../operator/src/controllers/controller.ts';
import { reconcileFailingEvent } from '../../../operator/src/controllers/events.ts';
import { ApiError } from '../../../operator/src/kube/errors.ts';

const retried = (err: unknown): ReconcileFailure => ({ failures: 5, err, kind: 'unknown', terminal: false });

describe('reconcileFailingEvent', () => {
  it('names the HTTP status and reason, or the error class, and never the message', () => {
    const api = new ApiError('PATCH', '/x', 422, {
      kind: 'Status',
      reason: 'Invalid',
      message: 'status.outputs.token: Invalid value: "CANARY-1"',
      code: 422,
    });
    const e1 = reconcileFailingEvent('workflow', retried(api));
    expect(e1).toMatchObject({ type: 'Warning', reason: 'ReconcileFailing', action: 'Reconcile' });
    expect(e1.note).toContain('(HTTP 422 Invalid)');
    expect(e1.note).toContain('5 times in a row');
    expect(e1.note).toContain('keeps retrying');
    const e2 = reconcileFailingEvent(
      'workflow',
      retried(new RangeError('Maximum call stack size exceeded CANARY-2')),
    );
    expect(e2.note).toContain('(RangeError)');
    const e3 = reconcileFailingEvent('workflow', { failures: 1, err: api, kind: 'invalid', terminal: true });
    for (const e of [e1, e2, e3]) expect(e.note).not.toContain('CANARY');
    expect(reconcileFailingEvent('agent', retried('boom')).note).toContain('(an error)');
  });

  it('says a terminal failure is not retried until the object changes', () => {
    const e = reconcileFailingEvent('agent', {
      failures: 1,
      err: new ApiError('PATCH', '/x', 422, { kind: 'Status', reason: 'Invalid', code: 422 }),
      kind: 'invalid',
      terminal: true,
    });
    expect(e.reason).toBe('ReconcileFailing');
    expect(e.note).toContain('(HTTP 422 Invalid)');
    expect(e.note).toContain('only when the object changes');
    expect(e.note).not.toContain('keeps retrying');
  });
});
