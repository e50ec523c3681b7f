import type { HistoryEntry, StepStatus, WorkflowStatus } from '../../api/generated/index.ts';
import { metaTime } from '../conditions.ts';
import {
  CREATE_WAIT_REASONS,
  HISTORY_LIMIT,
  QUOTA_RETRY_MS,
  truncate,
  type CreateWaitReason,
} from './plan.ts';

/** History entries this pass recorded for a start (or request) the API server then refused. */
export function refusedStart(h: HistoryEntry, step: string, now: Date): boolean {
  return (
    h.step === step && (h.type === 'StepStarted' || h.type === 'ApprovalRequested') && h.at === metaTime(now)
  );
}

/**
 * The API server did not create the step's pod (or its Approval request) for a reason that may
 * pass: a full ResourceQuota, the sandbox not ready yet, missing RBAC, an overloaded or failing API
 * server or admission webhook. The step waits and tries again with backoff, saying so in its
 * status (and, the first time, in its history). `refusals` counts consecutive refusals for this
 * step (1 for the first). `approvalName` is the request the persisted status names, restored when
 * the refused child was a new Approval request.
 */
export function creationRefused(
  status: WorkflowStatus,
  step: string,
  reason: CreateWaitReason,
  message: string,
  refusals: number,
  now: Date,
  approvalName?: string,
): {
  status: WorkflowStatus;
  retryInMs: number;
  firstTime: boolean;
} {
  const retryInMs = Math.min(QUOTA_RETRY_MS.max, QUOTA_RETRY_MS.min * 2 ** Math.max(0, refusals - 1));
  let firstTime = false;
  const steps = (status.steps ?? []).map((s) => {
    if (s.name !== step) return s;
    // The status passed in is the plan's, where start() cleared the reason: whether the step
    // already waits for this is read from its last history entry (the refused start aside).
    const last = (status.history ?? []).filter((h) => h.step === step && !refusedStart(h, step, now)).at(-1);
    firstTime = s.reason !== reason && !(last?.type === 'StepWaiting' && last.reason === reason);
    const next: StepStatus = {
      ...s,
      phase: 'Waiting',
      reason,
      message: `${CREATE_WAIT_REASONS[reason]}: ${truncate(message, 512)}`,
      nextRetryAt: new Date(now.getTime() + retryInMs).toISOString(),
    };
    delete next.podName;
    if (reason === 'ApprovalRequestFailed') {
      if (approvalName === undefined) delete next.approvalName;
      else next.approvalName = approvalName;
    }
    // No pod ran yet for a first attempt: the step has not started.
    if ((s.attempt ?? 1) === 1) delete next.startedAt;
    return next;
  });
  const kept = (status.history ?? []).filter((h) => !refusedStart(h, step, now));
  const history = firstTime
    ? [
        ...kept,
        { at: metaTime(now), type: 'StepWaiting', step, reason, message: truncate(message, 1024) },
      ].slice(-HISTORY_LIMIT)
    : kept;
  return { status: { ...status, steps, history }, retryInMs, firstTime };
}
