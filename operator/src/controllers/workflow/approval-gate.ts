// The approval gate: whether a gated step may start now, requesting, judging and superseding
// its Approvals (docs/approvals.md).
import type { Agent, Approval, StepStatus, Workflow, WorkflowStep } from '../../api/generated/index.ts';
import { decide } from '../approval/decide.ts';
import {
  approvalName,
  approvalPolicyOf,
  approvalSeq,
  buildApproval,
  matchRequest,
  type ApprovalPolicy,
  type RequestInput,
} from './approval-request.ts';
import { finish } from './outcomes.ts';
import { refuseStart } from './refused-start.ts';
import { RETRY_REQUESTED } from './retry-run.ts';
import type { Plan } from './plan.ts';
import { type EngineInput } from './plan.ts';

/** How many names of a step an earlier run of the same Workflow name may hold before we give up. */
export const MAX_APPROVAL_NAME_SKIPS = 32;

/**
 * Decides whether a gated step may start now. The operator honours only an Approval it signed, for
 * this run and step, whose request and policy equal what it would ask for now (approval-request.ts).
 * If what would run changed since the request, it is superseded and a new one requested (an
 * Approval binds to a keyed digest of the Agent generation, image and rendered inputs). An
 * Approval under one of this step's names that the operator did not sign fails the step closed
 * (ApprovalMismatch), with an Event naming it; it is never adopted.
 */
export function approvalGate(
  plan: Plan,
  wf: Workflow,
  spec: WorkflowStep,
  st: StepStatus,
  /** The attempt that starts once the gate opens. */
  attempt: number,
  agent: Agent,
  rendered: unknown,
  digest: string,
  input: EngineInput,
): 'proceed' | 'wait' | 'failed' {
  const recorded = st.approvalName ? input.approvals?.get(st.approvalName) : undefined;
  const policy = approvalPolicyOf(spec, agent) ?? latchedPolicy(st, recorded, input);
  if (!policy) return 'proceed';
  const req: RequestInput = {
    workflow: wf,
    step: spec,
    agent,
    rendered,
    digest,
    policy,
    nowMs: plan.nowMs,
    // A retried run's requests name who asked for the retry, who cannot approve them either.
    ...(plan.retryRequestedBy ? { retryRequestedBy: plan.retryRequestedBy } : {}),
  };

  const mismatch = (name: string, what: string): 'failed' => {
    finish(
      plan,
      st,
      spec,
      'Failed',
      'ApprovalMismatch',
      `Approval ${name} ${what}; it gates nothing, and the step failed closed`,
    );
    return 'failed';
  };
  /** Requests the first free name from `seq` on, skipping an earlier run's requests. */
  const request = (seq: number, why: string): 'proceed' | 'wait' | 'failed' => {
    for (let n = seq; n < seq + MAX_APPROVAL_NAME_SKIPS; n++) {
      const name = approvalName(wf.metadata.name ?? '', spec.name, n);
      if (input.expectedApprovals?.has(name)) return waitFor(name);
      const found = input.approvals?.get(name);
      if (!found) {
        const refusal = input.refused?.get(name);
        if (refusal) {
          // The API server did not create the request (refused-start.ts).
          const persisted = input.workflow.status?.steps?.find((x) => x.name === spec.name)?.approvalName;
          plan.refusedStarts.push(() => refuseStart(plan, spec, st, refusal, attempt, 'approval', persisted));
          return refusal.kind === 'wait' ? 'wait' : 'failed';
        }
        plan.createApprovals.push(buildApproval(req, n, input.provenance));
        st.approvalName = name;
        plan.record('ApprovalRequested', {
          step: spec.name,
          reason: why,
          message: `Approval ${name}: waiting for ${policy.required} approval(s)${
            req.retryRequestedBy ? ` (retry asked by ${req.retryRequestedBy}, who cannot approve it)` : ''
          }`,
          agent: agent.metadata.name ?? '',
        });
        return waitFor(name);
      }
      const m = matchRequest(found, req, input.provenance);
      if (m.kind === 'stale') continue;
      if (m.kind === 'ours' || m.kind === 'changed') {
        // Our own request from a pass whose status write was lost (a crash): take it up again.
        st.approvalName = name;
        return judge(found);
      }
      return mismatch(
        name,
        m.kind === 'unverified'
          ? 'already exists under the name the operator would use, but the operator did not create it (no valid signature)'
          : `already exists under the name the operator would use, but ${m.what}`,
      );
    }
    return mismatch(
      approvalName(wf.metadata.name ?? '', spec.name, seq + MAX_APPROVAL_NAME_SKIPS - 1),
      `and the ${MAX_APPROVAL_NAME_SKIPS - 1} names before it belong to earlier runs of this Workflow name`,
    );
  };
  const waitFor = (name: string): 'wait' => {
    st.approvalName = name;
    st.phase = 'WaitingForApproval';
    st.reason = 'WaitingForApproval';
    st.message = `waiting for ${policy.required} approval(s) on Approval ${name}`;
    return 'wait';
  };
  /** What the Approval the step waits on says now. */
  const judge = (current: Approval): 'proceed' | 'wait' | 'failed' => {
    const name = current.metadata.name ?? '';
    const seq = approvalSeq(name);
    const m = matchRequest(current, req, input.provenance);
    if (m.kind === 'unverified') {
      // Named by our own status, so once requested by us: signed with an earlier key, or its
      // signature was tampered with. Never count it; ask again under a new name.
      plan.record('ApprovalUnverified', {
        step: spec.name,
        reason: 'ApprovalUnverified',
        message: `Approval ${name} no longer carries a valid operator signature; it gates nothing`,
        warning: true,
      });
      return request(seq + 1, 'ApprovalUnverified');
    }
    if (m.kind === 'stale') return mismatch(name, 'belongs to another run of this Workflow name');
    if (m.kind === 'mismatch') return mismatch(name, m.what);
    // The verdict comes from the admitted decisions themselves (the same pure function the
    // Approval controller writes to status), so the step starts on the decision's own watch event
    // instead of one status write and one more watch delivery later. A closing verdict already in
    // status (Rejected, Expired, Superseded, Invalid) stands; an Approved status is never taken on
    // trust: the decisions must make it so.
    const verdict = decide(current, plan.nowMs, { trustApprovedStatus: false });
    const phase = verdict.phase;
    if (
      phase === 'Superseded' ||
      phase === 'Invalid' ||
      (m.kind === 'changed' && (phase === 'Pending' || phase === 'Approved'))
    ) {
      const next = approvalName(wf.metadata.name ?? '', spec.name, seq + 1);
      if (m.kind === 'changed' && phase !== 'Superseded' && phase !== 'Invalid') {
        plan.supersede.push({
          name,
          by: next,
          message: `the ${m.what} changed after the request; superseded by ${next}`,
        });
        plan.record('ApprovalSuperseded', {
          step: spec.name,
          reason: 'RequestChanged',
          message: `Approval ${name}: the ${m.what} changed; requesting ${next}`,
          warning: true,
        });
      }
      return request(seq + 1, phase === 'Invalid' ? 'ApprovalInvalid' : 'RequestChanged');
    }
    if (phase === 'Approved') {
      if (st.phase === 'WaitingForApproval') {
        plan.record('StepApproved', {
          step: spec.name,
          reason: 'Approved',
          message: verdict.decidedBy ? `approved (last by ${verdict.decidedBy})` : 'approved',
        });
        plan.resumed.push({ step: spec.name, approval: name });
      }
      return 'proceed';
    }
    if (phase === 'Rejected') {
      const msg = verdict.message || `rejected by ${verdict.decidedBy ?? 'an approver'}`;
      finish(plan, st, spec, 'Failed', 'Rejected', `Approval ${name}: ${msg}`);
      return 'failed';
    }
    if (phase === 'Expired') {
      finish(plan, st, spec, 'Failed', 'ApprovalExpired', `Approval ${name} expired before enough approvals`);
      return 'failed';
    }
    // Pending: keep waiting. At the deadline both this engine and the Approval controller (which
    // marks it Expired) see it expire, whichever looks first.
    waitFor(name);
    if (verdict.recheckAt !== undefined && verdict.recheckAt > plan.nowMs) plan.wakeAt(verdict.recheckAt);
    return 'wait';
  };

  if (!st.approvalName) return request(1, 'GatedStep');
  // The run was retried (retry-run.ts): the last request decided the failed run, not this one.
  if (st.phase === 'Pending' && st.reason === RETRY_REQUESTED)
    return request(approvalSeq(st.approvalName) + 1, RETRY_REQUESTED);
  if (!recorded) {
    if (input.expectedApprovals?.has(st.approvalName)) return waitFor(st.approvalName);
    // It existed (the status names it) and is gone: someone deleted the request. Fail closed.
    finish(
      plan,
      st,
      spec,
      'Failed',
      'ApprovalDeleted',
      `Approval ${st.approvalName} was deleted before it was decided`,
    );
    return 'failed';
  }
  return judge(recorded);
}

/**
 * A step gated once in this run stays gated: if its Agent was switched to Auto (or lost its
 * approval policy) after the request, the last request's policy still applies.
 */
export function latchedPolicy(
  st: StepStatus,
  recorded: Approval | undefined,
  input: EngineInput,
): ApprovalPolicy | undefined {
  if (!st.approvalName) return undefined;
  if (recorded && input.provenance.verifyApproval(recorded))
    return {
      required: recorded.spec.policy.required,
      ...(recorded.spec.policy.approvers ? { approvers: recorded.spec.policy.approvers } : {}),
    };
  return { required: 1 };
}
