// Which failed reconciles are worth retrying. Most are: a conflict, a throttled or failing API
// server, a lost connection or an error nobody foresaw may all pass on the next try, so they back
// off per key (controller.ts). Some cannot: the API server called the request itself invalid, or
// the reconciler said so by throwing a TerminalReconcileError. Retrying those only burns API
// calls and buries the one useful log line under identical ones.
import { API_ERROR_KINDS, apiErrorKind, type ApiErrorKind } from '../kube/errors.ts';

/**
 * Thrown by a reconciler when retrying cannot help until the object (or what it refers to)
 * changes, e.g. a spec the reconciler cannot act on. Like controller-runtime's
 * reconcile.TerminalError: logged and counted, not retried. Found through `cause` too, so
 * wrapping it keeps it terminal.
 */
export class TerminalReconcileError extends Error {
  override readonly name = 'TerminalReconcileError';
}

/** The `kind` label of paddock_reconcile_errors_total: a bounded set, never user data. */
export const RECONCILE_ERROR_KINDS = [...API_ERROR_KINDS, 'terminal'] as const;
export type ReconcileErrorKind = ApiErrorKind | 'terminal';

export interface ReconcileErrorClass {
  readonly kind: ReconcileErrorKind;
  /** Retrying the same reconcile cannot help: no backoff retry, only a change of the object. */
  readonly terminal: boolean;
}

/**
 * `terminal` for a TerminalReconcileError (anywhere in the cause chain), else the API error's
 * kind (kube/errors.ts apiErrorKind). Of those, only `invalid` is terminal (400, 413, 422 from
 * the API server itself, not from an admission policy, which an admin may change): the same
 * request is refused the same way until its content changes, and a change of the object
 * enqueues it anyway.
 */
export function classifyReconcileError(err: unknown): ReconcileErrorClass {
  if (hasTerminalCause(err)) return { kind: 'terminal', terminal: true };
  const kind = apiErrorKind(err);
  return { kind, terminal: kind === 'invalid' };
}

function hasTerminalCause(err: unknown, depth = 0): boolean {
  if (err instanceof TerminalReconcileError) return true;
  if (!(err instanceof Error) || depth >= 5) return false;
  return hasTerminalCause(err.cause, depth + 1);
}
