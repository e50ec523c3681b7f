// Workflow reconciler: gathers what the engine needs from the caches, runs
// the plan, and carries it out in a crash-safe order:
//   1. create pods (deterministic names: AlreadyExists means "already done");
//   2. write status once (server-side apply), so outcomes are persisted;
//   3. delete pods (timeouts, cancellation, podGC) — only after step 2;
//   4. Events, audit lines, metrics.
import type { Agent, Approval, Workflow } from '../../api/generated/index.ts';
import { APPROVAL, POD, WORKFLOW } from '../../api/constants.ts';
import { LABEL_WORKFLOW } from '../../api/labels.ts';
import type { SandboxConfig } from '../../config.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { Pod } from '../../kube/core-types.ts';
import { ApiError, isAlreadyExists, isNotFound, isQuotaExceeded } from '../../kube/errors.ts';
import type { Informer } from '../../kube/informer.ts';
import { audit } from '../../observability/logger.ts';
import type { ReconcileContext, ReconcileResult, Reconciler } from '../controller.ts';
import type { EventSink } from '../events.ts';
import type { StatusWriter } from '../status-writer.ts';
import { CACHE_LAG_MS, creationRefused, planWorkflow, type EnginePlan, type StepOutcome } from './engine.ts';
import { isSandboxNotReady } from '../sandbox/pod.ts';
import { workflowStatusEqual } from './status.ts';

export const INDEX_BY_NAMESPACE = 'namespace';
export const INDEX_BY_OWNER_UID = 'owner-uid';

export interface WorkflowMetricsSink {
  podCreated(namespace: string): void;
  stepFinished(outcome: StepOutcome): void;
  /** Seconds from the operator seeing an approval's deciding decision to its gated pod being created. */
  approvalResumed?(seconds: number): void;
  /** An Approval this controller marked Superseded (the other outcomes are the Approval controller's). */
  approvalSuperseded?(): void;
}

export interface WorkflowReconcilerDeps {
  readonly client: Pick<KubeClient, 'create' | 'delete' | 'get'>;
  readonly workflows: Informer<Workflow>;
  readonly agents: Informer<Agent>;
  readonly pods: Informer<Pod>;
  readonly approvals?: Informer<Approval>;
  readonly events: EventSink;
  readonly status: StatusWriter;
  readonly sandbox: SandboxConfig;
  readonly metrics?: WorkflowMetricsSink;
  /** Writes Approval status (to mark superseded requests); shared with the Approval controller. */
  readonly approvalStatus?: StatusWriter;
  /** When the operator saw an Approval's latest decision (ms), by namespace/name. */
  readonly approvalDecidedAt?: (key: string) => number | undefined;
  readonly now?: () => Date;
}

export class WorkflowReconciler implements Reconciler {
  private readonly deps: WorkflowReconcilerDeps;
  /** Pods we created, by name, with when: the cache may show them a moment later. */
  private readonly expectations = new Map<string, number>();
  /** Approvals we created, by name, with when. */
  private readonly approvalExpectations = new Map<string, number>();
  /** Consecutive quota refusals per "namespace/workflow/step", for the retry backoff. */
  private readonly quotaRefusals = new Map<string, number>();

  constructor(deps: WorkflowReconcilerDeps) {
    this.deps = deps;
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const wf = this.deps.workflows.get(key);
    if (!wf) {
      this.deps.status.forgetKey(key);
      return;
    }
    // Being deleted: the garbage collector removes the pods it owns.
    if (wf.metadata.deletionTimestamp) return;
    // Our last status write is not in the cache yet: its watch event will bring us back.
    if (this.deps.status.cacheBehind(wf)) return;
    const now = (this.deps.now ?? (() => new Date()))();
    const ns = wf.metadata.namespace ?? '';
    const agents = new Map(
      this.deps.agents.byIndex(INDEX_BY_NAMESPACE, ns).map((a) => [a.metadata.name ?? '', a] as const),
    );
    const pods = new Map(
      this.deps.pods
        .byIndex(INDEX_BY_OWNER_UID, wf.metadata.uid ?? '')
        .map((p) => [p.metadata.name ?? '', p] as const),
    );
    const expectedPods = this.pendingExpectations(pods, now.getTime());
    const approvals = new Map(
      (this.deps.approvals?.byIndex(INDEX_BY_OWNER_UID, wf.metadata.uid ?? '') ?? []).map(
        (a) => [a.metadata.name ?? '', a] as const,
      ),
    );
    const expectedApprovals = new Set<string>();
    for (const [name, at] of this.approvalExpectations) {
      if (approvals.has(name) || now.getTime() - at > CACHE_LAG_MS) this.approvalExpectations.delete(name);
      else expectedApprovals.add(name);
    }
    const input = {
      workflow: wf,
      agents,
      pods,
      now,
      sandbox: this.deps.sandbox,
      expectedPods,
      approvals,
      expectedApprovals,
    };
    let plan = planWorkflow(input);
    if (plan.unknownPods.length > 0) {
      // The status names pods the cache lacks and we did not just create: ask the API server
      // (rare: after a restart, or when someone deleted a pod).
      const gone = new Set<string>();
      const lagging = new Set(expectedPods);
      for (const name of plan.unknownPods) {
        try {
          await this.deps.client.get<Pod>(POD, ns, name);
          lagging.add(name);
          this.expectations.set(name, now.getTime());
        } catch (err) {
          if (!isNotFound(err)) throw err;
          gone.add(name);
        }
      }
      plan = planWorkflow({ ...input, expectedPods: lagging, gonePods: gone });
    }

    if (plan.deleteWorkflow) {
      await this.deps.client.delete(WORKFLOW, ns, wf.metadata.name ?? '', {
        propagationPolicy: 'Background',
      });
      audit(ctx.logger, {
        event: 'workflow.deleted',
        namespace: ns,
        workflow: wf.metadata.name,
        reason: 'TTLExpired',
      });
      return;
    }

    // Approval requests first: a step shows WaitingForApproval only once its request exists.
    for (const a of plan.createApprovals) {
      try {
        await this.deps.client.create(APPROVAL, a);
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
      this.approvalExpectations.set(a.metadata.name ?? '', now.getTime());
    }
    const { status, requeueMs, failedStarts } = await this.createPods(plan, wf, now, ctx);
    // The approval resume latency ends when the gated pods exist, before the status write.
    const podsCreatedAt = plan.resumed.length > 0 ? (this.deps.now ?? (() => new Date()))().getTime() : 0;
    let requeueAfterMs = plan.requeueAfterMs;
    if (requeueMs !== undefined)
      requeueAfterMs = requeueAfterMs === undefined ? requeueMs : Math.min(requeueAfterMs, requeueMs);

    if (!workflowStatusEqual(wf.status, status) && !this.deps.status.isPending(wf, status)) {
      await this.deps.status.apply<Workflow>(WORKFLOW, wf, status);
    }

    for (const sup of plan.supersede) {
      const current = approvals.get(sup.name);
      if (!current || !this.deps.approvalStatus) continue;
      // The whole status, changed where superseding changes it: server-side apply drops the
      // fields a manager stops sending, and the Approval controller writes as the same manager.
      await this.deps.approvalStatus.apply<Approval>(APPROVAL, current, {
        ...(current.status ?? {}),
        phase: 'Superseded',
        supersededBy: sup.by,
        reason: 'RequestChanged',
        message: sup.message,
      });
      // Recorded here, on the Approval: only this controller sees the transition happen.
      this.deps.events.record(current, {
        type: 'Warning',
        reason: 'Superseded',
        action: 'Supersede',
        note: sup.message,
      });
      this.deps.metrics?.approvalSuperseded?.();
    }
    for (const r of plan.resumed) {
      if (failedStarts.has(r.step)) continue;
      const seen = this.deps.approvalDecidedAt?.(`${ns}/${r.approval}`);
      if (seen !== undefined)
        this.deps.metrics?.approvalResumed?.(Math.max(0, (podsCreatedAt - seen) / 1000));
    }
    for (const d of plan.delete) {
      try {
        await this.deps.client.delete(POD, ns, d.name, { propagationPolicy: 'Background' });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }

    const startedButRefused = (action: string, reason: string): boolean =>
      reason === 'StepStarted' && failedStarts.has(action.replace(/^Step\//, ''));
    for (const e of plan.events) if (!startedButRefused(e.action, e.reason)) this.deps.events.record(wf, e);
    for (const a of plan.audits) {
      if (a.event === 'step.started' && a.step && failedStarts.has(a.step)) continue;
      audit(ctx.logger, { ...a, event: a.event, namespace: ns, workflow: wf.metadata.name });
    }
    for (const o of plan.outcomes) this.deps.metrics?.stepFinished(o);
    return requeueAfterMs === undefined ? undefined : { requeueAfterMs };
  }

  /** Creates the planned pods in parallel; quota refusals turn into a waiting step. */
  private async createPods(
    plan: EnginePlan,
    wf: Workflow,
    now: Date,
    ctx: ReconcileContext,
  ): Promise<{ status: EnginePlan['status']; requeueMs: number | undefined; failedStarts: Set<string> }> {
    let status = plan.status;
    let requeueMs: number | undefined;
    const failedStarts = new Set<string>();
    const ns = wf.metadata.namespace ?? '';
    const results = await Promise.allSettled(plan.create.map((c) => this.deps.client.create(POD, c.pod)));
    for (let i = 0; i < results.length; i++) {
      const c = plan.create[i]!;
      const r = results[i]!;
      const name = c.pod.metadata.name ?? '';
      const refusalKey = `${ns}/${wf.metadata.name ?? ''}/${c.step}`;
      if (r.status === 'fulfilled' || isAlreadyExists(r.reason)) {
        this.expectations.set(name, now.getTime());
        this.quotaRefusals.delete(refusalKey);
        if (r.status === 'fulfilled') this.deps.metrics?.podCreated(ns);
        continue;
      }
      const err: unknown = r.reason;
      failedStarts.add(c.step);
      const waitReason = isQuotaExceeded(err)
        ? 'QuotaExceeded'
        : isSandboxNotReady(err)
          ? 'SandboxNotReady'
          : undefined;
      if (waitReason) {
        const refusals = (this.quotaRefusals.get(refusalKey) ?? 0) + 1;
        this.quotaRefusals.set(refusalKey, refusals);
        const q = creationRefused(status, c.step, waitReason, apiMessage(err), refusals, now);
        status = q.status;
        requeueMs = requeueMs === undefined ? q.retryInMs : Math.min(requeueMs, q.retryInMs);
        if (q.firstTime) {
          this.deps.events.record(wf, {
            type: 'Warning',
            reason: waitReason,
            action: `Step/${c.step}`,
            note: `step ${c.step} waits: ${apiMessage(err).slice(0, 800)}`,
          });
          audit(ctx.logger, {
            event: 'step.waiting',
            namespace: ns,
            workflow: wf.metadata.name,
            step: c.step,
            reason: waitReason,
          });
        }
        continue;
      }
      if (err instanceof ApiError && (err.status === 403 || err.status === 422)) {
        // Refused by admission (Pod Security, a missing RuntimeClass, ...): retrying will not help.
        status = refuseStep(status, c.step, apiMessage(err), now);
        this.deps.events.record(wf, {
          type: 'Warning',
          reason: 'PodRejected',
          action: `Step/${c.step}`,
          note: `step ${c.step}: the API server refused its pod: ${apiMessage(err).slice(0, 800)}`,
        });
        audit(ctx.logger, {
          event: 'step.failed',
          namespace: ns,
          workflow: wf.metadata.name,
          step: c.step,
          reason: 'PodRejected',
        });
        continue;
      }
      // Transient (connection, 5xx, 429): retry the whole reconcile with backoff. Pods created
      // in this pass are adopted next time, by their deterministic names.
      throw err;
    }
    return { status, requeueMs, failedStarts };
  }

  /** Expected pods not yet in the cache and not older than the cache lag allowance. */
  private pendingExpectations(pods: ReadonlyMap<string, Pod>, nowMs: number): Set<string> {
    const out = new Set<string>();
    for (const [name, at] of this.expectations) {
      if (pods.has(name) || nowMs - at > CACHE_LAG_MS) this.expectations.delete(name);
      else out.add(name);
    }
    return out;
  }
}

function refuseStep(
  status: EnginePlan['status'],
  step: string,
  message: string,
  now: Date,
): EnginePlan['status'] {
  const at = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    ...status,
    steps: (status.steps ?? []).map((s) =>
      s.name === step
        ? {
            ...s,
            phase: 'Failed',
            reason: 'PodRejected',
            message: `the API server refused the pod: ${message.slice(0, 900)}`,
            finishedAt: at,
          }
        : s,
    ),
  };
}

function apiMessage(err: unknown): string {
  if (err instanceof ApiError) return err.body?.message ?? err.message;
  return err instanceof Error ? err.message : String(err);
}

/** Index functions the manager registers on the shared informers. */
export function indexByNamespace(o: { metadata: { namespace?: string } }): string[] {
  return [o.metadata.namespace ?? ''];
}

export function indexPodByOwnerUid(p: Pod): string[] {
  return (p.metadata.ownerReferences ?? []).filter((r) => r.kind === 'Workflow').map((r) => r.uid);
}

/** Maps an agent pod to its Workflow's key. */
export function workflowKeyOfPod(p: Pod): string[] {
  const wf = p.metadata.labels?.[LABEL_WORKFLOW];
  return wf ? [`${p.metadata.namespace ?? ''}/${wf}`] : [];
}
