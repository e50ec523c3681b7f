// The approval benchmark: how long from an approver's decision being written to
// the gated step's pod being created, with the Approval watch fresh and after it
// has sat idle (docs/benchmarks.md, "The performance budget": a watch must not go silently stale).
//
// A round arms K single-step Workflows whose Agent is ApprovalRequired, waits
// until each Approval is Pending (the operator wrote its status), and later
// decides them one at a time as a real approver (the static-token user `bob`,
// group `sre`) the way `kubectl paddock approve` does: read the Approval, then
// server-side apply his one decision (the plugin's own request body), through
// the admission policies of config/admission. Every timestamp is taken in this
// process: the decision's send and acknowledgement, and the ADDED event of the
// gated pod on a watch opened before the round.
import { join } from 'node:path';
import { buildDecision, decisionApply, fieldManagerFor, type ApprovalView } from '../../cli/lib/approval.ts';
import { REPO_ROOT } from '../../cluster/src/paths.ts';
import { AGENT, APPROVAL, WORKFLOW } from '../../operator/src/api/constants.ts';
import type { Approval, Workflow } from '../../operator/src/api/generated/index.ts';
import type { KubeClient } from '../../operator/src/kube/client.ts';
import { simAgent } from '../../tests/integration/support/workflows.ts';
import type { BenchCluster } from './env.ts';
import { pooledClient, WatchRecorder } from './kube.ts';
import type { Tracker } from './scenarios.ts';
import { now, sleep } from './stats.ts';

/** The approver the bench decides as: authenticated by the API server, in group `sre`. */
export const APPROVER = 'bob';
const GATED_STEP = 'g';

/**
 * Installs the admission policies, lets group `sre` approve in `namespace` (RBAC verb
 * `approve`), and creates an ApprovalRequired Agent needing one approval from `sre`.
 */
export async function setupApprovals(
  env: BenchCluster,
  namespace: string,
  agent: string,
  sim: { duration: string; result: unknown },
): Promise<void> {
  env.kubectl(['apply', '--server-side', '-k', join(REPO_ROOT, 'config', 'admission')]);
  env.kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'Role',
          metadata: { name: 'bench-approve', namespace },
          rules: [
            {
              apiGroups: ['paddock.dev'],
              resources: ['approvals'],
              verbs: ['get', 'list', 'watch', 'patch', 'update', 'approve'],
            },
          ],
        },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: 'bench-sre-approves', namespace },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'bench-approve' },
          subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'sre' }],
        },
      ],
    }),
  );
  await env.admin.create(
    AGENT,
    simAgent(
      agent,
      namespace,
      { result: sim.result, duration: sim.duration },
      { riskLevel: 'ApprovalRequired', approval: { required: 1, approvers: { groups: ['sre'] } } },
    ),
  );
}

interface ApprovalRec {
  phase?: string;
  workflow?: string;
}

/** Follows the Approvals of a namespace; remembers when the last event of any kind arrived. */
export class ApprovalWatch {
  readonly approvals = new Map<string, ApprovalRec>();
  /** Arrival time (ms, this process) of the last Approval watch event. */
  lastEventAt = 0;
  private readonly watch: WatchRecorder<Approval>;

  constructor(client: KubeClient, namespace: string) {
    this.watch = new WatchRecorder<Approval>(client, APPROVAL, namespace, (_t, a, at) => {
      this.lastEventAt = at;
      this.approvals.set(a.metadata.name ?? '', {
        ...(a.status?.phase ? { phase: a.status.phase } : {}),
        workflow: a.spec.workflowRef.name,
      });
    });
  }

  start(): Promise<void> {
    return this.watch.start();
  }

  stop(): Promise<void> {
    return this.watch.stop();
  }

  get events(): number {
    return this.watch.events;
  }
}

export interface ApprovalRound {
  readonly prefix: string;
  readonly workflows: readonly string[];
}

/** The Approval the operator creates for a round's workflow (first request). */
export function approvalFor(workflow: string): string {
  return `${workflow}-${GATED_STEP}-approval-1`;
}

/**
 * Creates `count` one-step gated Workflows and waits until each one's Approval exists and the
 * operator has written it Pending: after this the round causes no Approval events until decided.
 */
export async function armRound(o: {
  client: KubeClient;
  watch: ApprovalWatch;
  namespace: string;
  agent: string;
  prefix: string;
  count: number;
  timeoutMs: number;
}): Promise<ApprovalRound> {
  const names = Array.from({ length: o.count }, (_, i) => `${o.prefix}-${String(i).padStart(4, '0')}`);
  for (const name of names) {
    const wf: Workflow = {
      apiVersion: WORKFLOW.group + '/' + WORKFLOW.version,
      kind: 'Workflow',
      metadata: { name, namespace: o.namespace },
      spec: { steps: [{ name: GATED_STEP, agentRef: { name: o.agent } }], podGC: { strategy: 'Never' } },
    };
    await o.client.create(WORKFLOW, wf);
  }
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    const pending = names.filter((n) => o.watch.approvals.get(approvalFor(n))?.phase === 'Pending');
    if (pending.length === names.length) break;
    if (Date.now() > deadline)
      throw new Error(
        `${o.prefix}: only ${pending.length}/${names.length} Approvals Pending after ${o.timeoutMs} ms`,
      );
    await sleep(50);
  }
  return { prefix: o.prefix, workflows: names };
}

export interface DecisionSample {
  readonly workflow: string;
  /** Decision send -> gated pod ADDED on the bench's pod watch, ms. */
  readonly sendToPodMs: number;
  /** Decision acknowledged by the API server (written) -> gated pod ADDED, ms. */
  readonly writtenToPodMs: number;
  /** The decision's server-side apply round trip, ms. */
  readonly writeRttMs: number;
}

export interface DecideResult {
  readonly samples: DecisionSample[];
  /** Workflows whose gated pod did not appear within the timeout. */
  readonly missing: string[];
  /** Workflows that ended Succeeded after the decision. */
  readonly succeeded: number;
}

/**
 * Decides a round's Approvals one at a time as `APPROVER` (each waits for the previous gated
 * pod), so every sample is the unloaded decision-to-pod latency.
 */
export async function decideRound(o: {
  approver: KubeClient;
  tracker: Tracker;
  namespace: string;
  round: ApprovalRound;
  gapMs: number;
  timeoutMs: number;
}): Promise<DecideResult> {
  const samples: DecisionSample[] = [];
  const missing: string[] = [];
  for (const wf of o.round.workflows) {
    const pod = `${wf}-${GATED_STEP}-1`;
    // As the plugin: read the Approval first (it refuses early on a decided one), then apply.
    const a = await o.approver.get<ApprovalView>(APPROVAL, o.namespace, approvalFor(wf));
    const body = decisionApply(a, buildDecision(APPROVER, 'Approve', 'bench', new Date()));
    const t0 = now();
    await o.approver.apply(APPROVAL, body, { fieldManager: fieldManagerFor(APPROVER) });
    const t1 = now();
    const ok = await o.tracker.untilPod(pod, o.timeoutMs);
    const added = o.tracker.pods.get(pod)?.added;
    if (!ok || added === undefined) {
      missing.push(wf);
      continue;
    }
    samples.push({ workflow: wf, sendToPodMs: added - t0, writtenToPodMs: added - t1, writeRttMs: t1 - t0 });
    if (o.gapMs > 0) await sleep(o.gapMs);
  }
  const done = await o.tracker.until(
    () => o.round.workflows.every((w) => o.tracker.wfs.get(w)?.terminalAt !== undefined),
    o.timeoutMs,
  );
  const succeeded = o.round.workflows.filter((w) => o.tracker.wfs.get(w)?.phase === 'Succeeded').length;
  if (!done) missing.push(...o.round.workflows.filter((w) => o.tracker.wfs.get(w)?.terminalAt === undefined));
  return { samples, missing: [...new Set(missing)], succeeded };
}

/** A client authenticated as the approver (static token of the local cluster). */
export function approverClient(env: BenchCluster): Promise<KubeClient> {
  return pooledClient(env.cluster.kubeconfigFor(APPROVER));
}
