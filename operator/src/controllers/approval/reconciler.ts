// Approval reconciler: turns admitted decisions into a verdict (status), marks
// Approvals Expired on time (fail closed), and records each decision as an
// Event and an audit line with the user the API server authenticated.
import type { Approval } from '../../api/generated/index.ts';
import { APPROVAL } from '../../api/constants.ts';
import { jsonEqual } from '../../api/json-equal.ts';
import type { Informer } from '../../kube/informer.ts';
import { audit } from '../../observability/logger.ts';
import { metaTime } from '../conditions.ts';
import type { ReconcileContext, ReconcileResult, Reconciler } from '../controller.ts';
import type { EventSink } from '../events.ts';
import type { Provenance } from '../provenance.ts';
import type { StatusWriter } from '../status-writer.ts';
import { approvalStatus, decide, invalidVerdict } from './decide.ts';

export interface ApprovalMetricsSink {
  outcome(phase: string): void;
}

export interface ApprovalReconcilerDeps {
  readonly approvals: Informer<Approval>;
  readonly status: StatusWriter;
  readonly events: EventSink;
  readonly metrics?: ApprovalMetricsSink;
  /** The operator's signing key: an Approval it did not sign is marked Invalid (gates nothing). */
  readonly provenance: () => Provenance;
  readonly now?: () => Date;
}

export class ApprovalReconciler implements Reconciler {
  private readonly deps: ApprovalReconcilerDeps;

  constructor(deps: ApprovalReconcilerDeps) {
    this.deps = deps;
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const approval = this.deps.approvals.get(key);
    if (!approval || approval.metadata.deletionTimestamp) {
      this.deps.status.forgetKey(key);
      return;
    }
    if (this.deps.status.cacheBehind(approval)) {
      ctx.logger.debug('cache behind our last status write; waiting for its event');
      return;
    }
    const now = (this.deps.now ?? (() => new Date()))();
    // Not made by this operator (no valid signature): it gates nothing and takes no decisions.
    // Only an undecided Approval is marked; a decided one keeps its verdict (status.phase is final),
    // and the Workflow controller checks the signature itself before anything counts.
    const forged = !this.deps.provenance().verifyApproval(approval);
    const open = (approval.status?.phase ?? 'Pending') === 'Pending';
    const verdict = forged && open ? invalidVerdict() : decide(approval, now.getTime());
    const status = approvalStatus(approval, verdict, metaTime(now), now.toISOString());
    const requeue =
      verdict.recheckAt !== undefined
        ? { requeueAfterMs: Math.max(0, verdict.recheckAt - now.getTime()) }
        : undefined;
    const same = approval.status !== undefined && jsonEqual(approval.status, status);
    ctx.logger.debug(
      { phase: verdict.phase, same, requeueAfterMs: requeue?.requeueAfterMs },
      'approval verdict',
    );
    if (same || this.deps.status.isPending(approval, status)) return requeue;
    await this.deps.status.apply<Approval>(APPROVAL, approval, status);

    const ns = approval.metadata.namespace;
    const base = {
      namespace: ns,
      approval: approval.metadata.name,
      workflow: approval.spec.workflowRef.name,
      step: approval.spec.step,
    };
    if (approval.status === undefined && verdict.phase !== 'Invalid') {
      // First sight of a new request: the Approval's own record of who asked, for what.
      const p = approval.spec.policy;
      // A retried run's request also names who asked for the retry: neither of them can approve.
      const retry = approval.spec.retryRequestedBy
        ? `, retried by ${approval.spec.retryRequestedBy} (who cannot approve it)`
        : '';
      const who = [
        ...(p.approvers?.users ?? []).map((u) => `user ${u}`),
        ...(p.approvers?.groups ?? []).map((g) => `group ${g}`),
      ];
      this.deps.events.record(approval, {
        type: 'Normal',
        reason: 'Requested',
        action: 'Request',
        note: `${approval.spec.requestedBy ?? 'an unnamed requester'} requests ${p.required} approval(s)${who.length ? ` from ${who.join(', ')}` : ''} to run Agent ${approval.spec.request.agent} in step ${approval.spec.step} of Workflow ${approval.spec.workflowRef.name}${retry}${p.expiresAt ? `; expires at ${p.expiresAt}` : ''}`.slice(
          0,
          1024,
        ),
      });
    }
    if (verdict.phase === 'Invalid') {
      this.deps.metrics?.outcome(verdict.phase);
      this.deps.events.record(approval, {
        type: 'Warning',
        reason: 'Invalid',
        action: 'Verify',
        note: verdict.message,
      });
      audit(ctx.logger, {
        ...base,
        event: 'approval.invalid',
        reason: verdict.reason,
        message: verdict.message,
      });
      return requeue;
    }
    // Decisions not yet reflected in the previous status: one Event each, naming the user.
    const prevApproved = new Set(approval.status?.approvedBy ?? []);
    const prevRejected = new Set(approval.status?.rejectedBy ?? []);
    for (const d of approval.spec.decisions ?? []) {
      const seen = d.decision === 'Approve' ? prevApproved.has(d.user) : prevRejected.has(d.user);
      if (seen) continue;
      this.deps.events.record(approval, {
        type: d.decision === 'Approve' ? 'Normal' : 'Warning',
        reason: d.decision === 'Approve' ? 'DecisionApprove' : 'DecisionReject',
        action: 'Decide',
        note: `${d.user} decided ${d.decision}${d.comment ? `: ${d.comment}` : ''}`.slice(0, 1024),
      });
      audit(ctx.logger, {
        ...base,
        event: 'approval.decision',
        user: d.user,
        reason: d.decision,
        message: d.comment ?? '',
      });
    }
    for (const i of verdict.ignored) {
      this.deps.events.record(approval, {
        type: 'Warning',
        reason: 'DecisionIgnored',
        action: 'Decide',
        note: `${i.user}: ${i.why}`,
      });
    }
    const before = approval.status?.phase ?? 'Pending';
    if (verdict.phase !== before) {
      this.deps.metrics?.outcome(verdict.phase);
      this.deps.events.record(approval, {
        type: verdict.phase === 'Approved' ? 'Normal' : 'Warning',
        reason: verdict.phase,
        action: 'Decide',
        note: verdict.message.slice(0, 1024),
      });
      audit(ctx.logger, {
        ...base,
        event: `approval.${verdict.phase.toLowerCase()}`,
        user: verdict.decidedBy,
        reason: verdict.reason,
        message: verdict.message,
      });
    }
    return requeue;
  }
}
