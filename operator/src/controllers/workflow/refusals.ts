// What a refusal by the API server to create a step's child (its pod or its Approval request)
// means for the step. Every refusal ends the attempt or makes the step wait with a reason and an
// Event: nothing is ever stuck silently (docs/workflow-authors.md, "When the API server says no").
// Pure.
import { ApiError, isAdmissionDenial, isQuotaExceeded } from '../../kube/errors.ts';
import { isSandboxNotReady } from '../sandbox/pod.ts';
import type { CreateWaitReason } from './engine.ts';
import { errorMessage } from '../../util/errors.ts';

/** Transient errors retried quickly (whole reconcile, rate-limited) before the step says it waits. */
export const QUIET_RETRIES = 2;

export type PodFailReason = 'PodRejected' | 'PodInvalid' | 'PodTooLarge';

export type RefusalVerdict =
  /** Retry the reconcile soon, saying nothing yet (a blip). */
  | { kind: 'retry' }
  /** The step waits, says why, and the same attempt is tried again with backoff. */
  | { kind: 'wait'; reason: CreateWaitReason }
  /** Retrying the same request cannot help: the attempt (or the step) fails with this reason. */
  | { kind: 'fail'; reason: PodFailReason | 'ApprovalRequestRefused' };

function isTransientStatus(err: unknown): boolean {
  if (!(err instanceof ApiError)) return true; // connection refused, reset, timeout
  return (
    err.status === 0 ||
    err.status === 429 ||
    err.status >= 500 ||
    (err.status === 409 && err.reason !== 'AlreadyExists')
  );
}

/** RBAC said no to the operator itself (as opposed to an admission plugin refusing the object). */
export function isOperatorForbidden(err: unknown): boolean {
  return err instanceof ApiError && err.status === 403 && / cannot create resource /.test(err.message);
}

/**
 * A refused pod create. `refusals` counts consecutive refusals of this step's child (1 for the
 * first). AlreadyExists is not a refusal (the caller checks whose pod it is).
 */
export function podRefusal(err: unknown, refusals: number): RefusalVerdict {
  if (isQuotaExceeded(err)) return { kind: 'wait', reason: 'QuotaExceeded' };
  if (isSandboxNotReady(err)) return { kind: 'wait', reason: 'SandboxNotReady' };
  if (isOperatorForbidden(err)) return { kind: 'wait', reason: 'OperatorForbidden' };
  if (isTransientStatus(err))
    return refusals <= QUIET_RETRIES ? { kind: 'retry' } : { kind: 'wait', reason: 'CreateFailed' };
  const status = (err as ApiError).status;
  // Admission (Pod Security, a missing RuntimeClass, a policy) or a malformed pod: the same pod
  // would be refused again.
  if (status === 413) return { kind: 'fail', reason: 'PodTooLarge' };
  if (status === 422 || status === 400) return { kind: 'fail', reason: 'PodInvalid' };
  return { kind: 'fail', reason: 'PodRejected' };
}

/**
 * A refused Approval create. A 403 waits (missing RBAC or an admission policy the administrator
 * has not set up yet: both fixable without touching the Workflow); a malformed or oversized
 * request fails the step.
 */
export function approvalRefusal(err: unknown, refusals: number): RefusalVerdict {
  if (isTransientStatus(err))
    return refusals <= QUIET_RETRIES ? { kind: 'retry' } : { kind: 'wait', reason: 'ApprovalRequestFailed' };
  const status = (err as ApiError).status;
  if (status === 403 || isAdmissionDenial(err)) return { kind: 'wait', reason: 'ApprovalRequestFailed' };
  return { kind: 'fail', reason: 'ApprovalRequestRefused' };
}

/** The server's words for an error (never headers or tokens; see kube/errors.ts). */
export function apiMessage(err: unknown): string {
  if (err instanceof ApiError) return err.body?.message ?? err.message;
  return errorMessage(err);
}

/**
 * `message` with every occurrence of the given values replaced by "[REDACTED]". Refusal messages
 * come from the API server and admission plugins, which may quote what they refused; the values
 * passed here are the rendered inputs the refused object carried. Short values (under 4
 * characters) are left alone: replacing them would shred the message and hide nothing.
 */
export function scrubValues(message: string, values: Iterable<string>): string {
  let out = message;
  const sorted = [...new Set(values)].filter((v) => v.length >= 4).sort((a, b) => b.length - a.length);
  for (const v of sorted) out = out.split(v).join('[REDACTED]');
  return out;
}

/** Every string (and the JSON of every value) inside rendered inputs: what scrubValues hides. */
export function inputStrings(inputs: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') out.push(v, JSON.stringify(v).slice(1, -1));
    else if (typeof v === 'number' || typeof v === 'boolean') out.push(String(v));
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
    if (v !== null && typeof v === 'object') out.push(JSON.stringify(v));
  };
  walk(inputs);
  return out;
}
