// The Event an object gets when its reconciles keep failing: the kind of error, never its message.
import { describe, expect, it } from 'vitest';
import { reconcileFailingEvent } from '../../../operator/src/controllers/events.ts';
import { ApiError } from '../../../operator/src/kube/errors.ts';

describe('reconcileFailingEvent', () => {
  it('names the HTTP status and reason, or the error class, and never the message', () => {
    const api = new ApiError('PATCH', '/x', 422, {
      kind: 'Status',
      reason: 'Invalid',
      message: 'status.outputs.token: Invalid value: "CANARY-1"',
      code: 422,
    });
    const e1 = reconcileFailingEvent('workflow', 5, api);
    expect(e1).toMatchObject({ type: 'Warning', reason: 'ReconcileFailing', action: 'Reconcile' });
    expect(e1.note).toContain('(HTTP 422 Invalid)');
    expect(e1.note).toContain('5 times in a row');
    const e2 = reconcileFailingEvent(
      'workflow',
      5,
      new RangeError('Maximum call stack size exceeded CANARY-2'),
    );
    expect(e2.note).toContain('(RangeError)');
    for (const e of [e1, e2]) expect(e.note).not.toContain('CANARY');
    expect(reconcileFailingEvent('agent', 5, 'boom').note).toContain('(an error)');
  });
});
