// Agent reconciler: read the Agent from the cache, decide its status (pure),
// write it by server-side apply only when it differs, and report transitions
// as Events and audit log lines.
import type { Agent } from '../../api/generated/index.ts';
import { AGENT } from '../../api/constants.ts';
import type { Informer } from '../../kube/informer.ts';
import { audit } from '../../observability/logger.ts';
import { metaTime } from '../conditions.ts';
import type { ReconcileContext, ReconcileResult, Reconciler } from '../controller.ts';
import type { EventSink } from '../events.ts';
import type { StatusWriter } from '../status-writer.ts';
import { checkAgent } from './checks.ts';
import { agentStatusEqual, desiredAgentStatus, readyTransition } from './status.ts';

export interface AgentReconcilerDeps {
  readonly status: StatusWriter;
  readonly agents: Informer<Agent>;
  readonly events: EventSink;
  readonly now?: () => Date;
}

export class AgentReconciler implements Reconciler {
  private readonly deps: AgentReconcilerDeps;

  constructor(deps: AgentReconcilerDeps) {
    this.deps = deps;
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const agent = this.deps.agents.get(key);
    // Deleted: nothing of ours hangs off an Agent, so there is nothing to clean up.
    if (!agent || agent.metadata.deletionTimestamp) {
      this.deps.status.forgetKey(key);
      return;
    }
    const now = metaTime((this.deps.now ?? (() => new Date()))());
    const check = checkAgent(agent.spec);
    const status = desiredAgentStatus(agent.status, agent.metadata.generation, check, now);
    if (agentStatusEqual(agent.status, status)) return;

    // The cache may not have seen our last write yet; do not write the same status twice.
    if (this.deps.status.isPending(agent, status)) return;
    await this.deps.status.apply<Agent>(AGENT, agent, status);

    const t = readyTransition(agent.status, status);
    if (t) {
      const ok = t.to.status === 'True';
      this.deps.events.record(agent, {
        type: ok ? 'Normal' : 'Warning',
        reason: ok ? 'AgentReady' : t.to.reason,
        action: 'Validate',
        note: ok ? 'Agent spec is valid' : t.to.message,
      });
      audit(ctx.logger, {
        event: ok ? 'agent.ready' : 'agent.invalid',
        agent: agent.metadata.name,
        namespace: agent.metadata.namespace,
        reason: t.to.reason,
        message: t.to.message,
        reconcileId: ctx.reconcileId,
      });
    }
    const pinnedBefore = agent.status?.conditions?.find((c) => c.type === 'ImageNotPinned')?.status;
    if (check.imageNotPinned && pinnedBefore !== 'True') {
      this.deps.events.record(agent, {
        type: 'Warning',
        reason: 'ImageNotPinned',
        action: 'Validate',
        note: `spec.image ${agent.spec.image} is referenced by tag, not digest`,
      });
    }
  }
}
