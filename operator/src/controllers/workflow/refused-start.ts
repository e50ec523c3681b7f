// A start the API server refused: the step's pod or Approval request was not created. The engine
// plans the pass again with the refusals as input (EngineInput.refused); there the refused start
// becomes a step that waits and tries the same attempt again with backoff, or a failed step,
// recorded like every other outcome (history, Event, audit line, outcome metric). The refused
// start's own StepStarted or ApprovalRequested is never recorded, and its slot stays taken for
// the pass, so the second plan differs from the first only where a start was refused.
import type { StepStatus, WorkflowStep } from '../../api/generated/index.ts';
import { truncate } from '../../util/truncate.ts';
import { finish } from './outcomes.ts';
import { CREATE_WAIT_REASONS, QUOTA_RETRY_MS, type Plan, type Refusal } from './plan.ts';

/** The backoff before the `refusals`-th consecutive refused start is tried again. */
export function refusedRetryMs(refusals: number): number {
  return Math.min(QUOTA_RETRY_MS.max, QUOTA_RETRY_MS.min * 2 ** Math.max(0, refusals - 1));
}

/**
 * Applies a refusal of the step's child (`child`). A failing refusal's message is the whole story
 * ("the API server refused its pod: ..."); a waiting one's is the API server's own words.
 * `persistedApprovalName` is the request the persisted status names, restored when the refused
 * child was a new Approval request.
 */
export function refuseStart(
  plan: Plan,
  spec: WorkflowStep,
  st: StepStatus,
  refusal: Refusal,
  attempt: number,
  child: 'pod' | 'approval',
  persistedApprovalName: string | undefined,
): void {
  const message = truncate(refusal.message, 800);
  st.attempt = attempt;
  if (refusal.kind === 'fail') {
    finish(plan, st, spec, 'Failed', refusal.reason, message, {
      reason: refusal.reason,
      note: `step ${spec.name}: ${message}`,
    });
    return;
  }
  const retryInMs = refusedRetryMs(refusal.refusals);
  // Said once per wait: a step already waiting for this reason (in status, or as its last history
  // entry) only moves its retry time.
  const last = plan.history.filter((h) => h.step === spec.name).at(-1);
  const firstTime =
    st.reason !== refusal.reason && !(last?.type === 'StepWaiting' && last.reason === refusal.reason);
  st.phase = 'Waiting';
  st.reason = refusal.reason;
  st.message = `${CREATE_WAIT_REASONS[refusal.reason]}: ${truncate(message, 512)}`;
  st.nextRetryAt = new Date(plan.nowMs + retryInMs).toISOString();
  delete st.podName;
  if (child === 'approval') {
    if (persistedApprovalName === undefined) delete st.approvalName;
    else st.approvalName = persistedApprovalName;
  }
  // No pod ran yet for a first attempt: the step has not started.
  if ((st.attempt ?? 1) === 1) delete st.startedAt;
  plan.wakeAt(plan.nowMs + retryInMs);
  if (firstTime)
    plan.record('StepWaiting', {
      step: spec.name,
      reason: refusal.reason,
      message,
      warning: true,
      agent: spec.agentRef.name,
      event: { reason: refusal.reason, note: `step ${spec.name} waits: ${message}` },
    });
}
