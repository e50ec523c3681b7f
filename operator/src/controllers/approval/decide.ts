// An Approval's verdict from its decisions, policy and the time. Pure.
//
// Who may decide is enforced by the API server (ValidatingAdmissionPolicy in
// config/admission: the decision's user is the authenticated caller, who holds
// the `approve` verb, is in the approver users/groups, and is neither the
// requester nor whoever asked for the retry that made the request). This
// function counts what was admitted, and re-checks what it can (users list,
// requester, retry requester) as defence in depth.
import type { Approval, ApprovalStatus, Decision } from '../../api/generated/index.ts';

export type ApprovalPhase = 'Pending' | 'Approved' | 'Rejected' | 'Expired' | 'Superseded' | 'Invalid';
export const TERMINAL_APPROVAL: ReadonlySet<string> = new Set([
  'Approved',
  'Rejected',
  'Expired',
  'Superseded',
  'Invalid',
]);

export interface DecideOptions {
  /**
   * Whether an `Approved` already in status stands by itself (default true: the Approval
   * controller keeps its own verdicts). The Workflow controller passes false: a step starts only
   * when the admitted decisions themselves make the Approval approved, whatever the status says.
   * Closing verdicts in status (Rejected, Expired, Superseded, Invalid) always stand.
   */
  readonly trustApprovedStatus?: boolean;
}

export interface Verdict {
  readonly phase: ApprovalPhase;
  readonly approvedBy: string[];
  readonly rejectedBy: string[];
  readonly decidedBy?: string;
  readonly decidedAt?: string;
  readonly reason: string;
  readonly message: string;
  /** When to look again (expiry), if still pending. */
  readonly recheckAt?: number;
  /** Decisions that do not count (and why), for Events. */
  readonly ignored: Array<{ user: string; why: string }>;
}

export function decide(approval: Approval, nowMs: number, opts: DecideOptions = {}): Verdict {
  const stored = approval.status?.phase;
  const current = stored === 'Approved' && opts.trustApprovedStatus === false ? undefined : stored;
  const decisions: readonly Decision[] = approval.spec.decisions ?? [];
  const policy = approval.spec.policy;
  const required = Math.max(1, policy.required);
  const users = policy.approvers?.users ?? [];
  const requester = approval.spec.requestedBy;
  const retryRequester = approval.spec.retryRequestedBy;
  const ignored: Array<{ user: string; why: string }> = [];
  const approvedBy: string[] = [];
  const rejectedBy: string[] = [];
  let lastApproveAt: string | undefined;
  let firstReject: Decision | undefined;
  for (const d of decisions) {
    if (d.decision === 'Approve') {
      if (requester && d.user === requester) {
        ignored.push({ user: d.user, why: 'the requester cannot approve their own request' });
        continue;
      }
      if (retryRequester && d.user === retryRequester) {
        ignored.push({
          user: d.user,
          why: 'whoever asked for the retry of the run cannot approve the request it made',
        });
        continue;
      }
      // Group-only policies are checked at admission (the decision carries no groups).
      if (users.length > 0 && !users.includes(d.user) && (policy.approvers?.groups ?? []).length === 0) {
        ignored.push({ user: d.user, why: 'not among spec.policy.approvers.users' });
        continue;
      }
      if (!approvedBy.includes(d.user)) approvedBy.push(d.user);
      lastApproveAt = d.at ?? lastApproveAt;
    } else {
      if (!rejectedBy.includes(d.user)) rejectedBy.push(d.user);
      firstReject ??= d;
    }
  }
  // Not the operator's request: no decision on it counts, whatever was appended before.
  if (current === 'Invalid') return invalidVerdict();
  // A decided Approval keeps its verdict (the API server also refuses new decisions on it).
  if (current && TERMINAL_APPROVAL.has(current)) {
    return {
      phase: current,
      approvedBy,
      rejectedBy,
      ...(approval.status?.decidedBy ? { decidedBy: approval.status.decidedBy } : {}),
      ...(approval.status?.decidedAt ? { decidedAt: approval.status.decidedAt } : {}),
      reason: approval.status?.reason ?? current,
      message: approval.status?.message ?? '',
      ignored,
    };
  }
  if (firstReject) {
    return {
      phase: 'Rejected',
      approvedBy,
      rejectedBy,
      decidedBy: firstReject.user,
      ...(firstReject.at ? { decidedAt: firstReject.at } : {}),
      reason: 'Rejected',
      message: `rejected by ${firstReject.user}${firstReject.comment ? `: ${firstReject.comment}` : ''}`,
      ignored,
    };
  }
  if (approvedBy.length >= required) {
    return {
      phase: 'Approved',
      approvedBy,
      rejectedBy,
      decidedBy: approvedBy[approvedBy.length - 1]!,
      ...(lastApproveAt ? { decidedAt: lastApproveAt } : {}),
      reason: 'Approved',
      message: `approved by ${approvedBy.join(', ')} (${approvedBy.length} of ${required} required)`,
      ignored,
    };
  }
  const expires = policy.expiresAt ? Date.parse(policy.expiresAt) : Number.POSITIVE_INFINITY;
  if (nowMs >= expires) {
    return {
      phase: 'Expired',
      approvedBy,
      rejectedBy,
      decidedAt: new Date(expires).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      reason: 'Expired',
      message: `expired at ${policy.expiresAt ?? ''} with ${approvedBy.length} of ${required} approvals`,
      ignored,
    };
  }
  return {
    phase: 'Pending',
    approvedBy,
    rejectedBy,
    reason: 'WaitingForDecisions',
    message: `${approvedBy.length} of ${required} approvals${policy.expiresAt ? `; expires at ${policy.expiresAt}` : ''}`,
    ...(Number.isFinite(expires) ? { recheckAt: expires } : {}),
    ignored,
  };
}

/**
 * The verdict for an Approval the operator did not create (no valid signature): final, counts no
 * decision. Whoever made it, it never gates or opens a step (docs/approvals.md).
 */
export function invalidVerdict(): Verdict {
  return {
    phase: 'Invalid',
    approvedBy: [],
    rejectedBy: [],
    reason: 'NotCreatedByOperator',
    message:
      'this Approval was not created by the Paddock operator (no valid operator signature): it gates nothing and takes no decisions',
    ignored: [],
  };
}

/** The status to write for a verdict. */
export function approvalStatus(
  approval: Approval,
  v: Verdict,
  nowIso: string,
  /** The verdict's time with milliseconds (decidedAt feeds the decision-to-resume histogram). */
  decidedAtIso: string = nowIso,
): ApprovalStatus & Record<string, unknown> {
  const ready = v.phase === 'Approved';
  const decided = v.phase !== 'Pending';
  const prev = approval.status?.conditions ?? [];
  const cond = (type: string, status: 'True' | 'False', reason: string, message: string) => {
    const old = prev.find((c) => c.type === type);
    return {
      type,
      status,
      observedGeneration: approval.metadata.generation,
      lastTransitionTime: old && old.status === status ? old.lastTransitionTime : nowIso,
      reason,
      message,
    };
  };
  // decidedAt is when the operator saw the verdict, not the client-written decision time
  // (`decisions[].at` is whatever the client sent); kept once set. Millisecond precision: the
  // workflow controller measures decision-to-pod latency from it.
  const decidedAt = decided ? (approval.status?.decidedAt ?? decidedAtIso) : undefined;
  return {
    observedGeneration: approval.metadata.generation,
    phase: v.phase,
    ...(v.decidedBy ? { decidedBy: v.decidedBy } : {}),
    ...(decidedAt ? { decidedAt } : {}),
    approvedBy: v.approvedBy,
    rejectedBy: v.rejectedBy,
    reason: v.reason,
    message: v.message,
    ...(approval.status && 'supersededBy' in approval.status
      ? { supersededBy: (approval.status as { supersededBy?: string }).supersededBy }
      : {}),
    conditions: [
      cond('Ready', ready ? 'True' : 'False', v.reason, v.message),
      cond('Decided', decided ? 'True' : 'False', v.reason, v.message),
    ],
  };
}
