// Retrying a run (spec.retry): when spec.retry.count is above status.retries and the run Failed or
// was Cancelled, every step that did not succeed, and every finally step, goes back to Pending.
// Succeeded steps keep their outputs and their pods are never recreated; the others start new
// attempts (new pod names, so no old pod is ever adopted), and a gated step asks for a new
// Approval (approval-gate.ts): a decision on the failed run never approves the retried one.
// Recorded as WorkflowRetried in history, Events and the audit log, naming who asked
// (spec.retry.requestedBy, which the paddock-workflow-retry admission policy checks).
import type { StepStatus, Workflow } from '../../api/generated/index.ts';
import { retryInstances } from './instances.ts';
import type { Plan } from './plan.ts';
import { allSteps } from './verdict.ts';

/** The reason of a step put back to Pending by a retry; its next attempt is a new one. */
export const RETRY_REQUESTED = 'RetryRequested';

/**
 * Who asked for the retry that restarted the run, once it has been retried (`handled`, the retry
 * requests handled so far, this pass included, is above 0): spec.retry.requestedBy, which the
 * paddock-workflow-retry admission policy keeps to the caller and lets change only with a new request
 * of a Failed or Cancelled run. Every Approval the retried run requests names them as
 * spec.retryRequestedBy, so whoever asked for a retry cannot approve the gated steps it re-requested
 * (docs/approvals.md). Undefined for a run never retried.
 */
export function retryRequester(wf: Workflow, handled: number): string | undefined {
  return handled > 0 ? wf.spec.retry?.requestedBy || undefined : undefined;
}

/**
 * Applies a pending retry request to `steps` (in place). Returns undefined when there is none,
 * else the retries now handled and whether the run restarted (a request made while the run was
 * not Failed or Cancelled is recorded and dropped: there is nothing to retry).
 */
export function retryRun(
  plan: Plan,
  wf: Workflow,
  phase: string,
  handled: number,
  steps: Map<string, StepStatus>,
): { retries: number; restarted: boolean } | undefined {
  const want = wf.spec.retry?.count ?? 0;
  if (want <= handled) return undefined;
  const by = wf.spec.retry?.requestedBy ?? 'unknown';
  if (phase !== 'Failed' && phase !== 'Cancelled') {
    plan.record('WorkflowRetryIgnored', {
      reason: 'NotFinished',
      message: `retry ${want} asked by ${by} while the run is ${phase}; only a Failed or Cancelled run can be retried`,
      warning: true,
      user: by,
    });
    return { retries: want, restarted: false };
  }
  if (wf.spec.cancel) {
    // Retrying while spec.cancel stays true would cancel the retry at once; kubectl paddock retry
    // clears it in the same update.
    plan.record('WorkflowRetryIgnored', {
      reason: 'StillCancelled',
      message: `retry ${want} asked by ${by}, but spec.cancel is still true; clear it in the same update`,
      warning: true,
      user: by,
    });
    return { retries: want, restarted: false };
  }
  const finallyNames = new Set((wf.spec.finally ?? []).map((s) => s.name));
  const again: string[] = [];
  for (const spec of allSteps(wf)) {
    const st = steps.get(spec.name)!;
    if (st.phase === 'Succeeded' && !finallyNames.has(spec.name)) continue;
    again.push(spec.name);
    const next: StepStatus = {
      name: st.name,
      phase: 'Pending',
      reason: RETRY_REQUESTED,
      message: `retry ${want}, asked by ${by}`,
    };
    // The last attempt and Approval are kept: the next attempt is numbered after it, and the
    // next Approval request after it.
    if (st.attempt !== undefined) next.attempt = st.attempt;
    if (st.approvalName !== undefined) next.approvalName = st.approvalName;
    // A forEach step keeps its succeeded instances (a finally step's run again); the others start
    // new attempts (instances.ts keeps their numbers).
    if (st.instances) next.instances = retryInstances(st.instances, finallyNames.has(spec.name));
    steps.set(spec.name, next);
  }
  plan.record('WorkflowRetried', {
    reason: RETRY_REQUESTED,
    message: `retry ${want} asked by ${by}: ${again.length} step(s) run again (${again.join(', ')})`,
    user: by,
  });
  return { retries: want, restarted: true };
}
