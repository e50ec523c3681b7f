// Wiring of the Workflow controller: the informers the engine reads (Workflows, Agents, agent
// pods, Approvals, the sandbox's ServiceAccounts), their indexes, and how a change to each maps
// to the Workflows that must look again.
import { AGENT, APPROVAL, POD, WORKFLOW } from '../../api/constants.ts';
import type { Agent, Approval, Workflow } from '../../api/generated/index.ts';
import { LABEL_AGENT_POD } from '../../api/labels.ts';
import type { Config } from '../../config.ts';
import { SERVICE_ACCOUNT, type Pod, type ServiceAccount } from '../../kube/core-types.ts';
import { objectKey } from '../../kube/types.ts';
import { DecisionClock } from '../approval/decision-clock.ts';
import { Controller } from '../controller.ts';
import { SANDBOX_OWNED_SELECTOR } from '../sandbox/desired.ts';
import { controllerMetrics, reportFailing, type SetupDeps } from '../setup.ts';
import { allSteps } from './verdict.ts';
import { StatusWriter } from '../status-writer.ts';
import { trimAgentPod } from './cached-pod.ts';
import { WAIT_TO_CREATE } from './plan.ts';
import {
  INDEX_BY_NAMESPACE,
  INDEX_BY_OWNER_UID,
  indexByNamespace,
  indexPodByOwnerUid,
  WorkflowReconciler,
  workflowKeyOfPod,
} from './reconciler.ts';

/** Workflows that use an Agent: "namespace/agent" -> workflow keys. */
const INDEX_WORKFLOW_BY_AGENT = 'agent';
/** Workflows with a step whose pod was refused (quota full, sandbox not ready), by namespace. */
const INDEX_WORKFLOW_CREATE_WAIT = 'create-wait';

export type WorkflowSetupDeps = Pick<
  SetupDeps,
  'client' | 'informer' | 'events' | 'logger' | 'metrics' | 'provenance'
> & {
  readonly config: Pick<Config, 'workers' | 'sandbox'>;
  /** Approval status writes, shared with the Approval controller (registry.ts says why). */
  readonly approvalStatus: StatusWriter;
};

export function setupWorkflowController(d: WorkflowSetupDeps): Controller {
  const workflows = d.informer<Workflow>(WORKFLOW, {
    indexes: {
      [INDEX_WORKFLOW_BY_AGENT]: (wf) => [
        ...new Set(allSteps(wf).map((s) => `${wf.metadata.namespace ?? ''}/${s.agentRef.name}`)),
      ],
      [INDEX_WORKFLOW_CREATE_WAIT]: (wf) =>
        wf.status?.steps?.some((s) => s.phase === 'Waiting' && WAIT_TO_CREATE.has(s.reason ?? ''))
          ? [wf.metadata.namespace ?? '']
          : [],
    },
  });
  const agents = d.informer<Agent>(AGENT, { indexes: { [INDEX_BY_NAMESPACE]: indexByNamespace } });
  // Only agent pods: the operator never caches the cluster's other pods.
  const pods = d.informer<Pod>(POD, {
    labelSelector: `${LABEL_AGENT_POD}=true`,
    // Only the fields the engine reads: 10,000 cached pods must fit the memory budget.
    transform: trimAgentPod,
    indexes: { [INDEX_BY_OWNER_UID]: indexPodByOwnerUid },
  });
  const approvals = d.informer<Approval>(APPROVAL);
  // The sandbox controller's informer (same selector, so the same cache).
  const serviceAccounts = d.informer<ServiceAccount>(SERVICE_ACCOUNT, {
    labelSelector: SANDBOX_OWNED_SELECTOR,
  });

  // Registered before the watch below, so the clock has the decision when the Workflow runs.
  const decisionClock = new DecisionClock();
  approvals.addHandler(decisionClock.handlers());
  d.metrics.setWorkflowPhaseSource(() => {
    const counts = new Map<string, number>();
    for (const wf of workflows.list()) {
      const p = wf.status?.phase ?? 'Pending';
      counts.set(p, (counts.get(p) ?? 0) + 1);
    }
    return counts;
  });

  const controller = new Controller({
    name: 'workflow',
    reconciler: new WorkflowReconciler({
      client: d.client,
      workflows,
      agents,
      pods,
      approvals,
      approvalStatus: d.approvalStatus,
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
    metrics: controllerMetrics(d.metrics),
    onFailing: reportFailing(d.events, 'workflow', workflows),
  });
  const waitingIn = (namespace: string): string[] =>
    workflows.byIndex(INDEX_WORKFLOW_CREATE_WAIT, namespace).map(objectKey);

  controller.watchPrimary(workflows);
  // A pod changed: its Workflow decides what that means.
  controller.watch(pods, workflowKeyOfPod);
  // A pod ended or went away: room in the namespace's quota for steps waiting on it.
  controller.watch(pods, (p) =>
    p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed' || p.metadata.deletionTimestamp
      ? waitingIn(p.metadata.namespace ?? '')
      : [],
  );
  // An Agent changed (created, fixed, became Ready): Workflows that use it look again.
  controller.watch(agents, (a) =>
    workflows
      .byIndex(INDEX_WORKFLOW_BY_AGENT, `${a.metadata.namespace ?? ''}/${a.metadata.name ?? ''}`)
      .map(objectKey),
  );
  // An Approval changed (decided, expired): its Workflow decides whether the step runs.
  controller.watch(approvals, (a) => [`${a.metadata.namespace ?? ''}/${a.spec.workflowRef.name}`]);
  // The agents' ServiceAccount appeared (or changed): steps waiting for the sandbox may start.
  controller.watch(serviceAccounts, (sa) => waitingIn(sa.metadata.namespace ?? ''));
  return controller;
}
