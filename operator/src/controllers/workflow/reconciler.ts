// Workflow reconciler: gathers what the engine needs from the caches, runs
// the plan, and carries it out in a crash-safe order:
//   1. create pods (deterministic names: AlreadyExists means "already done");
//   2. write status once (server-side apply), so outcomes are persisted;
//   3. delete pods (timeouts, cancellation, podGC) — only after step 2;
//   4. Events, audit lines, metrics.
import type { Agent, Approval, Workflow } from '../../api/generated/index.ts';
import { APPROVAL, CORE_EVENT, POD, WORKFLOW } from '../../api/constants.ts';
import { ANNOTATION_INPUTS, LABEL_WORKFLOW } from '../../api/labels.ts';
import type { SandboxConfig } from '../../config.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { Pod } from '../../kube/core-types.ts';
import type { KubeObject } from '../../kube/types.ts';
import { isAlreadyExists, isNotFound } from '../../kube/errors.ts';
import type { Informer } from '../../kube/informer.ts';
import { audit } from '../../observability/logger.ts';
import { errorMessage } from '../../util/errors.ts';
import type { ReconcileContext, ReconcileResult, Reconciler } from '../controller.ts';
import type { EventSink } from '../events.ts';
import type { StatusWriter } from '../status-writer.ts';
import { Expectations } from '../expectations.ts';
import type { Provenance } from '../provenance.ts';
import {
  CACHE_LAG_MS,
  planWorkflow,
  type EngineInput,
  type EnginePlan,
  type Refusal,
  type StepOutcome,
} from './engine.ts';
import {
  apiMessage,
  approvalRefusal,
  inputStrings,
  podRefusal,
  scrubValues,
  type RefusalVerdict,
} from './refusals.ts';
import { workflowStatusEqual } from './status.ts';

export const INDEX_BY_NAMESPACE = 'namespace';

/** The fields of a core/v1 Event this reconciler reads. */
interface CoreEvent extends KubeObject {
  reason?: string;
  message?: string;
  lastTimestamp?: string;
  eventTime?: string;
  series?: { lastObservedTime?: string };
}

function eventTime(e: CoreEvent): number {
  const t = e.series?.lastObservedTime ?? e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp;
  return t ? Date.parse(t) || 0 : 0;
}
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
  readonly client: Pick<KubeClient, 'create' | 'delete' | 'get' | 'list'>;
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
  /** The operator's signing key (loaded before any controller starts). */
  readonly provenance: () => Provenance;
  readonly now?: () => Date;
}

export class WorkflowReconciler implements Reconciler {
  private readonly deps: WorkflowReconcilerDeps;
  /** Pods we created, by name, with when: the cache may show them a moment later. */
  private readonly expectations: Expectations<string>;
  /** Approvals we created, by name, with when. */
  private readonly approvalExpectations: Expectations<string>;
  /** Consecutive refusals per "namespace/workflow/step" (quota, API errors), for the retry backoff. */
  private readonly refusals = new Map<string, number>();

  constructor(deps: WorkflowReconcilerDeps) {
    this.deps = deps;
    // Keyed "namespace/name": the same Workflow name in two namespaces makes the same pod names.
    const clock = { now: (): number => this.nowMs() };
    this.expectations = new Expectations<string>({ lagMs: CACHE_LAG_MS, clock });
    this.approvalExpectations = new Expectations<string>({ lagMs: CACHE_LAG_MS, clock });
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
    const expectedPods = this.expectedIn(this.expectations, ns, (name) => pods.has(name));
    // Looked up by name in the whole namespace, owner or not: the engine decides whether what it
    // finds is a request it made (a forgery under the name it would use fails the step closed).
    const approvalInformer = this.deps.approvals;
    const approvals = {
      get: (name: string): Approval | undefined => approvalInformer?.get(`${ns}/${name}`),
    };
    const expectedApprovals = this.expectedIn(this.approvalExpectations, ns, (name) => !!approvals.get(name));
    const provenance = this.deps.provenance();
    let input: EngineInput = {
      workflow: wf,
      agents,
      pods,
      now,
      sandbox: this.deps.sandbox,
      expectedPods,
      approvals,
      expectedApprovals,
      provenance,
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
          this.expectations.expectCreated(`${ns}/${name}`);
        } catch (err) {
          if (!isNotFound(err)) throw err;
          gone.add(name);
        }
      }
      input = { ...input, expectedPods: lagging, gonePods: gone };
      plan = planWorkflow(input);
    }
    if (plan.podsNeedingEvents.length > 0) {
      // Pods stuck starting with nothing on them saying why: the kubelet's Events do (rare).
      const podWarnings = new Map<string, string | null>();
      for (const name of plan.podsNeedingEvents)
        podWarnings.set(name, await this.latestWarning(ns, name, ctx));
      plan = planWorkflow({ ...input, podWarnings });
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
    const refused = new Map<string, Refusal>();
    const attempted = new Set<string>();
    const taken = await this.createApprovals(plan, wf, refused, attempted, ctx);
    if (taken) {
      // Something already holds a name we were about to use, and our cache does not show it yet.
      // Write nothing: the next pass sees it and decides (ours after a crash, an earlier run's, or
      // a forgery that fails the step closed).
      return { requeueAfterMs: 1_000 };
    }
    await this.createPods(plan, wf, refused, attempted, now, provenance);
    if (refused.size > 0) {
      // Refused starts go back through the engine as an input: the same plan, except that those
      // steps wait or fail, with their history, Events and metrics (refused-start.ts).
      plan = planWorkflow({ ...input, refused });
      // The same decisions, so nothing new to create; should a start appear anyway, carry it out
      // rather than leave a Running step without its child.
      await this.createApprovals(plan, wf, refused, attempted, ctx);
      await this.createPods(plan, wf, refused, attempted, now, provenance);
    }
    const status = plan.status;
    // The approval resume latency ends when the gated pods exist, before the status write.
    const podsCreatedAt = plan.resumed.length > 0 ? (this.deps.now ?? (() => new Date()))().getTime() : 0;
    const requeueAfterMs = plan.requeueAfterMs;

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

    for (const e of plan.events) this.deps.events.record(wf, e);
    for (const a of plan.audits)
      audit(ctx.logger, { ...a, event: a.event, namespace: ns, workflow: wf.metadata.name });
    for (const o of plan.outcomes) this.deps.metrics?.stepFinished(o);
    return requeueAfterMs === undefined ? undefined : { requeueAfterMs };
  }

  /**
   * The newest Warning Event of a pod, as "Reason: message", other than FailedScheduling (the pod
   * was scheduled since); null when there is none or Events cannot be read (the cause is then
   * unknown and the step's timeout bounds the wait).
   */
  private async latestWarning(ns: string, pod: string, ctx: ReconcileContext): Promise<string | null> {
    try {
      const list = await this.deps.client.list<CoreEvent>(CORE_EVENT, ns, {
        fieldSelector: `involvedObject.kind=Pod,involvedObject.name=${pod},type=Warning`,
      });
      const newest = list.items
        .filter((e) => e.reason !== 'FailedScheduling')
        .sort((a, b) => eventTime(b) - eventTime(a))[0];
      return newest ? `${newest.reason ?? 'Warning'}: ${newest.message ?? ''}` : null;
    } catch (err) {
      ctx.logger.debug(
        { err: apiMessage(err), pod },
        'could not read the Events of a pod that does not start',
      );
      return null;
    }
  }

  /**
   * Creates the planned Approval requests not yet attempted in this pass. A refusal goes into
   * `refused` (for the engine); a transient one rethrows (a quiet, rate-limited retry of the whole
   * reconcile). Returns true when a name was already taken (see reconcile).
   */
  private async createApprovals(
    plan: EnginePlan,
    wf: Workflow,
    refused: Map<string, Refusal>,
    attempted: Set<string>,
    ctx: ReconcileContext,
  ): Promise<boolean> {
    for (const a of plan.createApprovals) {
      const name = a.metadata.name ?? '';
      if (attempted.has(name)) continue;
      attempted.add(name);
      const step = a.spec.step;
      const key = this.refusalKey(wf, step);
      try {
        await this.deps.client.create(APPROVAL, a);
        this.approvalExpectations.expectCreated(`${wf.metadata.namespace ?? ''}/${name}`);
        this.refusals.delete(key);
      } catch (err) {
        if (isAlreadyExists(err)) {
          ctx.logger.info(
            { approval: name, step },
            'an Approval already holds this name; deciding on the next pass',
          );
          return true;
        }
        const verdict = approvalRefusal(err, this.bump(key));
        refused.set(name, this.refusal(wf, step, verdict, err, [], 'its Approval request'));
      }
    }
    return false;
  }

  /** Creates the planned pods not yet attempted in this pass, in parallel; refusals go into `refused`. */
  private async createPods(
    plan: EnginePlan,
    wf: Workflow,
    refused: Map<string, Refusal>,
    attempted: Set<string>,
    now: Date,
    provenance: Provenance,
  ): Promise<void> {
    const ns = wf.metadata.namespace ?? '';
    const todo = plan.create.filter((c) => !attempted.has(c.pod.metadata.name ?? ''));
    for (const c of todo) attempted.add(c.pod.metadata.name ?? '');
    const results = await Promise.allSettled(todo.map((c) => this.deps.client.create(POD, c.pod)));
    let quiet: unknown;
    for (let i = 0; i < results.length; i++) {
      const c = todo[i]!;
      const r = results[i]!;
      const name = c.pod.metadata.name ?? '';
      const key = this.refusalKey(wf, c.step);
      if (r.status === 'fulfilled') {
        this.expectations.expectCreated(`${ns}/${name}`);
        this.refusals.delete(key);
        this.deps.metrics?.podCreated(ns);
        continue;
      }
      if (isAlreadyExists(r.reason)) {
        // Ours from a pass that crashed before writing status, or someone else's under our name.
        const existing = await this.deps.client.get<Pod>(POD, ns, name).catch(() => undefined);
        if (!existing || provenance.verifyPod(existing)) {
          this.expectations.expectCreated(`${ns}/${name}`);
          this.refusals.delete(key);
          continue;
        }
        refused.set(name, {
          kind: 'fail',
          reason: 'PodMismatch',
          message: `pod ${name} already exists and was not created by the Paddock operator (no valid signature); the step failed closed`,
        });
        continue;
      }
      try {
        const verdict = podRefusal(r.reason, this.bump(key));
        refused.set(
          name,
          this.refusal(wf, c.step, verdict, r.reason, inputStrings(inputsOfPod(c.pod)), 'its pod'),
        );
      } catch (err) {
        // A quiet retry: the other pods' outcomes are still recorded in this pass (the expectations
        // above); the whole reconcile is retried, rate-limited.
        quiet ??= err;
      }
    }
    if (quiet !== undefined) throw quiet instanceof Error ? quiet : new Error(errorMessage(quiet));
  }

  /**
   * The engine's input for a refused child, or a rethrow for a quiet retry (a blip: the whole
   * reconcile is retried soon, rate-limited, saying nothing yet). Refusal messages come from the
   * API server and admission plugins, which may quote what they refused: the rendered inputs are
   * scrubbed out of them.
   */
  private refusal(
    wf: Workflow,
    step: string,
    verdict: RefusalVerdict,
    err: unknown,
    sensitive: readonly string[],
    what: string,
  ): Refusal {
    if (verdict.kind === 'retry') throw err;
    const message = scrubValues(apiMessage(err), sensitive).slice(0, 800);
    if (verdict.kind === 'wait')
      return {
        kind: 'wait',
        reason: verdict.reason,
        message,
        refusals: this.refusals.get(this.refusalKey(wf, step)) ?? 1,
      };
    this.refusals.delete(this.refusalKey(wf, step));
    return { kind: 'fail', reason: verdict.reason, message: `the API server refused ${what}: ${message}` };
  }

  private nowMs(): number {
    return (this.deps.now ?? (() => new Date()))().getTime();
  }

  private refusalKey(wf: Workflow, step: string): string {
    return `${wf.metadata.namespace ?? ''}/${wf.metadata.name ?? ''}/${step}`;
  }

  /** Counts one more consecutive refusal for a step; returns the count. */
  private bump(key: string): number {
    const n = (this.refusals.get(key) ?? 0) + 1;
    this.refusals.set(key, n);
    return n;
  }

  /** Names in `ns` this reconciler created that the cache does not show yet (within the lag allowance). */
  private expectedIn(
    expectations: Expectations<string>,
    ns: string,
    cached: (name: string) => boolean,
  ): Set<string> {
    const prefix = `${ns}/`;
    const out = new Set<string>();
    // Other namespaces' entries are left alone (never "seen" from here) and not returned.
    for (const key of expectations.pending((k) => ({
      present: k.startsWith(prefix) && cached(k.slice(prefix.length)),
    })))
      if (key.startsWith(prefix)) out.add(key.slice(prefix.length));
    return out;
  }
}

function inputsOfPod(pod: Pod): unknown {
  try {
    return JSON.parse(pod.metadata.annotations?.[ANNOTATION_INPUTS] ?? 'null');
  } catch {
    return null;
  }
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
