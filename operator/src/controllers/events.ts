// What reconcilers need from an Event recorder. The implementation
// (operator/src/kube/events.ts) writes events.k8s.io/v1 Events; tests can
// substitute a recorder that collects them.
import type { KubeObject } from '../kube/types.ts';
import type { ReconcileFailure } from './controller.ts';

export interface EventInput {
  readonly type: 'Normal' | 'Warning';
  /** UpperCamelCase, machine-readable. */
  readonly reason: string;
  /** What the controller did or failed to do. */
  readonly action: string;
  /** Human-readable; never contains secrets. */
  readonly note: string;
  readonly related?: KubeObject;
}

export interface EventSink {
  record(regarding: KubeObject, event: EventInput): void;
}

/**
 * What a controller's onFailing hook records: a Warning Event on the object whose reconcile keeps
 * failing, or failed in a way no retry can fix. The note names the kind of error only (an HTTP
 * status and reason, or an error class), never its message, which may quote what the object
 * holds; the operator log has the details.
 */
export function reconcileFailingEvent(controller: string, failure: ReconcileFailure): EventInput {
  const { err } = failure;
  const kind =
    err !== null && typeof err === 'object' && 'status' in err && typeof err.status === 'number'
      ? `HTTP ${err.status}${'reason' in err && typeof err.reason === 'string' && err.reason ? ` ${err.reason}` : ''}`
      : err instanceof Error
        ? err.name
        : 'an error';
  return {
    type: 'Warning',
    reason: 'ReconcileFailing',
    action: 'Reconcile',
    note: failure.terminal
      ? `the ${controller} controller cannot reconcile this object (${kind}): a retry would fail the same way, so it tries again only when the object changes; the operator log has the details`
      : `the ${controller} controller failed to reconcile this object ${failure.failures} times in a row (${kind}); it keeps retrying with backoff, up to about 17 minutes apart; the operator log has the details`,
  };
}
