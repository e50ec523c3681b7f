// A step's (or an attempt's) outcome, recorded once: the step's status, its history entry, Event and
// audit line, and the outcome metric, always together.
import type { Agent, StepStatus, WorkflowStep } from '../../api/generated/index.ts';
import type { Plan } from './plan.ts';
import { backoffMs, effectiveRetry, maxAttempts } from './retry.ts';

export function attemptFailed(
  plan: Plan,
  spec: WorkflowStep,
  st: StepStatus,
  agent: Agent | undefined,
  reason: string,
  message: string,
  opts: { retry?: boolean } = {},
): void {
  const attempt = st.attempt ?? 1;
  const retry = effectiveRetry(spec.retries, agent?.spec.retries);
  if ((opts.retry ?? true) && attempt < maxAttempts(retry)) {
    const delay = backoffMs(retry, attempt + 1);
    st.phase = 'Waiting';
    st.reason = 'RetryBackoff';
    st.message = `attempt ${attempt} failed (${reason}: ${message}); attempt ${attempt + 1} of ${maxAttempts(retry)} in ${Math.round(delay / 1000)}s`;
    // Millisecond precision: a 1 s backoff must not shrink to whatever is left of the second.
    st.nextRetryAt = new Date(plan.nowMs + delay).toISOString();
    plan.wakeAt(plan.nowMs + delay);
    plan.outcomes.push({ step: spec.name, agent: spec.agentRef.name, outcome: 'Retried', reason });
    plan.record('StepRetrying', {
      step: spec.name,
      attempt,
      reason,
      message: st.message,
      warning: true,
      agent: spec.agentRef.name,
    });
    return;
  }
  st.phase = 'Failed';
  st.reason = reason;
  st.message = attempt > 1 ? `${message} (after ${attempt} attempts)` : message;
  st.finishedAt = plan.now;
  delete st.nextRetryAt;
  plan.outcomes.push({
    step: spec.name,
    agent: spec.agentRef.name,
    outcome: 'Failed',
    reason,
    seconds: stepSeconds(st, plan),
  });
  plan.record('StepFailed', {
    step: spec.name,
    attempt,
    reason,
    message: st.message,
    warning: true,
    agent: spec.agentRef.name,
  });
}

export function finish(
  plan: Plan,
  st: StepStatus,
  spec: WorkflowStep,
  phase: 'Succeeded' | 'Failed' | 'Skipped' | 'Cancelled',
  reason: string,
  message: string,
  /** The Event's reason and note when they are not the history entry's (refused starts keep their own). */
  event?: { reason: string; note: string },
): void {
  st.phase = phase;
  st.reason = reason;
  st.message = message;
  st.finishedAt = plan.now;
  delete st.nextRetryAt;
  plan.outcomes.push({
    step: spec.name,
    agent: spec.agentRef.name,
    outcome: phase,
    reason,
    seconds: stepSeconds(st, plan),
  });
  plan.record(`Step${phase}`, {
    step: spec.name,
    ...(st.attempt !== undefined ? { attempt: st.attempt } : {}),
    reason,
    message,
    warning: phase === 'Failed',
    agent: spec.agentRef.name,
    ...(event ? { event } : {}),
  });
}

export function stepSeconds(st: StepStatus, plan: Plan): number | undefined {
  if (!st.startedAt) return undefined;
  return Math.max(0, (plan.nowMs - Date.parse(st.startedAt)) / 1000);
}
