// Which controllers the operator runs, the informers they share, and how
// changes to one kind of object map to the keys of another. The manager owns
// the lifecycle (start, leadership, shutdown); this file owns the wiring.
import type { Logger } from 'pino';
import type { Agent, Approval, Workflow } from '../api/generated/index.ts';
import { AGENT, APPROVAL, POD, WORKFLOW, type ResourceRef } from '../api/constants.ts';
import { LABEL_AGENT_POD } from '../api/labels.ts';
import type { Config } from '../config.ts';
import type { KubeClient } from '../kube/client.ts';
import type { Pod } from '../kube/core-types.ts';
import type { IndexFunc, Informer } from '../kube/informer.ts';
import type { KubeObject } from '../kube/types.ts';
import { objectKey } from '../kube/types.ts';
import type { Metrics } from '../observability/metrics.ts';
import { AgentReconciler } from './agent/reconciler.ts';
import { DecisionClock } from './approval/decision-clock.ts';
import { trimAgentPod } from './workflow/cached-pod.ts';
import { ApprovalReconciler } from './approval/reconciler.ts';
import { Controller, type ControllerMetrics, type ReconcileFailure } from './controller.ts';
import { reconcileFailingEvent, type EventSink } from './events.ts';
import { createSandboxController, createSandboxInformers } from './sandbox/index.ts';
import type { Provenance } from './provenance.ts';
import { StatusWriter } from './status-writer.ts';
import { WAIT_TO_CREATE } from './workflow/engine.ts';
import {
  INDEX_BY_NAMESPACE,
  INDEX_BY_OWNER_UID,
  indexByNamespace,
  indexPodByOwnerUid,
  WorkflowReconciler,
  workflowKeyOfPod,
} from './workflow/reconciler.ts';

export interface InformerSpec<T extends KubeObject> {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** Cluster-scoped resources: only these objects, by name (one list + watch each). */
  readonly names?: readonly string[];
  readonly indexes?: Readonly<Record<string, IndexFunc<T>>>;
  /**
   * Shrinks each object before it is cached (default: drop managedFields). Set by the first
   * caller of a given informer; later callers share what it caches.
   */
  readonly transform?: (obj: T) => T;
}

/** Returns the shared informer for a resource (+ selectors), creating it on first use. */
export type InformerFactory = <T extends KubeObject>(ref: ResourceRef, spec?: InformerSpec<T>) => Informer<T>;

export interface RegistryDeps {
  readonly config: Config;
  readonly client: KubeClient;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly events: EventSink;
  readonly informer: InformerFactory;
  /** The operator's signing key; the manager loads it before any controller starts. */
  readonly provenance: () => Provenance;
}

function indexByWorkflowOwner(o: {
  metadata: { ownerReferences?: Array<{ kind: string; uid: string }> };
}): string[] {
  return (o.metadata.ownerReferences ?? []).filter((r) => r.kind === 'Workflow').map((r) => r.uid);
}

/** Workflows that use an Agent: "namespace/agent" -> workflow keys. */
const INDEX_WORKFLOW_BY_AGENT = 'agent';
/** Workflows with a step whose pod was refused (quota full, sandbox not ready), by namespace. */
const INDEX_WORKFLOW_CREATE_WAIT = 'create-wait';

export function buildControllers(d: RegistryDeps): Controller[] {
  const metrics: ControllerMetrics = {
    reconcile: (c, r, s, k) => d.metrics.observeReconcile(c, r, s, k),
    workqueue: (n) => d.metrics.workqueue(n),
  };
  const agents = d.informer<Agent>(AGENT, { indexes: { [INDEX_BY_NAMESPACE]: indexByNamespace } });
  const workflows = d.informer<Workflow>(WORKFLOW, {
    indexes: {
      [INDEX_WORKFLOW_BY_AGENT]: (wf) => [
        ...new Set(wf.spec.steps.map((s) => `${wf.metadata.namespace ?? ''}/${s.agentRef.name}`)),
      ],
      [INDEX_WORKFLOW_CREATE_WAIT]: (wf) =>
        wf.status?.steps?.some((s) => s.phase === 'Waiting' && WAIT_TO_CREATE.has(s.reason ?? ''))
          ? [wf.metadata.namespace ?? '']
          : [],
    },
  });
  // Only agent pods: the operator never caches the cluster's other pods.
  const pods = d.informer<Pod>(POD, {
    labelSelector: `${LABEL_AGENT_POD}=true`,
    // Only the fields the engine reads: 10,000 cached pods must fit the memory budget.
    transform: trimAgentPod,
    indexes: { [INDEX_BY_OWNER_UID]: indexPodByOwnerUid },
  });
  const approvals = d.informer<Approval>(APPROVAL, {
    indexes: { [INDEX_BY_OWNER_UID]: indexByWorkflowOwner },
  });
  const approvalStatus = new StatusWriter(d.client);
  const decisionClock = new DecisionClock();
  approvals.addHandler(decisionClock.handlers());
  d.metrics.setApprovalSource(() => approvals.list());
  d.metrics.setWorkflowPhaseSource(() => {
    const counts = new Map<string, number>();
    for (const wf of workflows.list()) {
      const p = wf.status?.phase ?? 'Pending';
      counts.set(p, (counts.get(p) ?? 0) + 1);
    }
    return counts;
  });

  /** Says on the object itself when its reconciles keep failing (controller.ts FAILING_AFTER). */
  const failing =
    <T extends KubeObject>(name: string, informer: Informer<T>) =>
    (key: string, failure: ReconcileFailure): void => {
      const obj = informer.get(key);
      if (obj) d.events.record(obj, reconcileFailingEvent(name, failure));
    };

  const agentController = new Controller({
    name: 'agent',
    reconciler: new AgentReconciler({ status: new StatusWriter(d.client), agents, events: d.events }),
    onFailing: failing('agent', agents),
    logger: d.logger,
    workers: d.config.workers,
    metrics,
  });
  agentController.watchPrimary(agents);

  const workflowController = new Controller({
    name: 'workflow',
    reconciler: new WorkflowReconciler({
      client: d.client,
      workflows,
      agents,
      pods,
      approvals,
      approvalStatus,
      approvalDecidedAt: (key) => decisionClock.decidedAt(key),
      provenance: d.provenance,
      events: d.events,
      status: new StatusWriter(d.client),
      sandbox: d.config.sandbox,
      metrics: {
        podCreated: () => d.metrics.podCreated(),
        stepFinished: (o) => d.metrics.stepFinished(o.outcome, o.reason, o.seconds),
        approvalResumed: (s) => d.metrics.approvalResumed(s),
        approvalSuperseded: () => d.metrics.approvalOutcome('Superseded'),
      },
    }),
    logger: d.logger,
    workers: d.config.workers,
    metrics,
    onFailing: failing('workflow', workflows),
  });
  workflowController.watchPrimary(workflows);
  // A pod changed: its Workflow decides what that means.
  workflowController.watch(pods, workflowKeyOfPod);
  // A pod ended or went away: room in the namespace's quota for steps waiting on it.
  workflowController.watch(pods, (p) =>
    p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed' || p.metadata.deletionTimestamp
      ? workflows.byIndex(INDEX_WORKFLOW_CREATE_WAIT, p.metadata.namespace ?? '').map(objectKey)
      : [],
  );
  // An Agent changed (created, fixed, became Ready): Workflows that use it look again.
  workflowController.watch(agents, (a) =>
    workflows
      .byIndex(INDEX_WORKFLOW_BY_AGENT, `${a.metadata.namespace ?? ''}/${a.metadata.name ?? ''}`)
      .map(objectKey),
  );

  // An Approval changed (decided, expired): its Workflow decides whether the step runs.
  workflowController.watch(approvals, (a) => [`${a.metadata.namespace ?? ''}/${a.spec.workflowRef.name}`]);

  const approvalController = new Controller({
    name: 'approval',
    reconciler: new ApprovalReconciler({
      approvals,
      status: approvalStatus,
      events: d.events,
      provenance: d.provenance,
      metrics: { outcome: (p) => d.metrics.approvalOutcome(p) },
    }),
    logger: d.logger,
    workers: d.config.workers,
    metrics,
    onFailing: failing('approval', approvals),
  });
  approvalController.watchPrimary(approvals);

  const sandboxInformers = createSandboxInformers(d.informer, agents, d.config.watchNamespaces);
  const sandboxController = createSandboxController({
    client: d.client,
    informers: sandboxInformers,
    events: d.events,
    defaults: d.config.sandbox,
    logger: d.logger,
    workers: d.config.workers,
    metrics,
  });
  // The agents' ServiceAccount appeared (or changed): steps waiting for the sandbox may start.
  workflowController.watch(sandboxInformers.serviceAccounts, (sa) =>
    workflows.byIndex(INDEX_WORKFLOW_CREATE_WAIT, sa.metadata.namespace ?? '').map(objectKey),
  );

  return [agentController, workflowController, approvalController, sandboxController];
}
