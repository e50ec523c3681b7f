// The engine's test world, shared by the engine's test files: fixtures, and a
// Sim that carries out each pass's plan as the reconciler and KWOK would (pods
// appear when planned, move through Running to Succeeded/Failed, status is
// persisted), so the next pass starts from what the last one wrote.
import { expect } from 'vitest';
import type {
  Agent,
  AgentSpec,
  HistoryEntry,
  StepStatus,
  Workflow,
  WorkflowSpec,
  WorkflowStep,
} from '../../../../operator/src/api/generated/index.ts';
import { ANNOTATION_INPUTS } from '../../../../operator/src/api/labels.ts';
import type { SandboxConfig } from '../../../../operator/src/config.ts';
import { metaTime } from '../../../../operator/src/controllers/conditions.ts';
import {
  planWorkflow,
  type EngineInput,
  type EnginePlan,
} from '../../../../operator/src/controllers/workflow/engine.ts';
import type { Pod } from '../../../../operator/src/kube/core-types.ts';
import { Provenance } from '../../../../operator/src/controllers/provenance.ts';

export const NS = 'team-a';
/** The operator's signing key in these tests (a real key is 32 random bytes in a Secret). */
export const PROVENANCE = new Provenance(Buffer.alloc(32, 7));
export const IMAGE = `ghcr.io/acme/agent@sha256:${'cd'.repeat(32)}`;
export const T0 = new Date('2025-03-01T10:00:00.000Z');
export const T0S = '2025-03-01T10:00:00Z';
export const SANDBOX: SandboxConfig = {
  quota: { pods: 50, cpu: '8', memory: '16Gi' },
  limitRange: { defaultRequest: { cpu: '100m', memory: '128Mi' }, default: { cpu: '1', memory: '512Mi' } },
};

// --- fixtures ----------------------------------------------------------------------------------

export function agent(name: string, spec: Partial<AgentSpec> = {}): Agent {
  return {
    apiVersion: 'paddock.dev/v1alpha1',
    kind: 'Agent',
    metadata: { name, namespace: NS, generation: 3, uid: `agent-${name}` },
    spec: { image: IMAGE, ...spec },
    status: {
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          lastTransitionTime: T0S,
          reason: 'Ready',
          message: '',
          observedGeneration: 3,
        },
      ],
    },
  };
}

export function step(name: string, extra: Partial<WorkflowStep> = {}): WorkflowStep {
  return { name, agentRef: { name: 'scanner' }, ...extra };
}

export function workflow(steps: WorkflowStep[], spec: Partial<WorkflowSpec> = {}): Workflow {
  return {
    apiVersion: 'paddock.dev/v1alpha1',
    kind: 'Workflow',
    metadata: { name: 'wf', namespace: NS, uid: 'wf-uid', generation: 1, creationTimestamp: T0S },
    spec: { ...spec, steps },
  };
}

export const SENSITIVE_SCHEMA = {
  type: 'object' as const,
  properties: {
    token: { type: 'string', 'x-paddock-sensitive': true },
    id: { type: 'string' },
  },
};

/** The world one Workflow lives in: its status, its pods, the Agents and the clock. */
export class Sim {
  wf: Workflow;
  readonly agents: Map<string, Agent>;
  readonly pods = new Map<string, Pod>();
  now: Date;

  constructor(wf: Workflow, agents: Agent[], now: Date = T0) {
    this.wf = wf;
    this.agents = new Map(agents.map((a) => [a.metadata.name ?? '', a]));
    this.now = now;
  }

  input(extra: Partial<EngineInput> = {}): EngineInput {
    return {
      workflow: this.wf,
      agents: this.agents,
      pods: this.pods,
      now: this.now,
      sandbox: SANDBOX,
      provenance: PROVENANCE,
      ...extra,
    };
  }

  /** Plans without changing the world. */
  plan(extra: Partial<EngineInput> = {}): EnginePlan {
    return planWorkflow(this.input(extra));
  }

  /** One reconcile: plan, create pods, persist the status, delete pods. */
  pass(extra: Partial<EngineInput> = {}): EnginePlan {
    const plan = this.plan(extra);
    this.apply(plan);
    return plan;
  }

  apply(plan: EnginePlan, opts: { persist?: boolean } = {}): void {
    for (const c of plan.create) {
      const name = c.pod.metadata.name ?? '';
      if (this.pods.has(name)) throw new Error(`pod ${name} created twice`);
      this.pods.set(name, {
        ...c.pod,
        metadata: { ...c.pod.metadata, creationTimestamp: metaTime(this.now) },
        status: { phase: 'Running', containerStatuses: [{ name: 'agent', state: { running: {} } }] },
      });
    }
    if (opts.persist ?? true) this.wf = { ...this.wf, status: plan.status };
    for (const d of plan.delete) this.pods.delete(d.name);
  }

  tick(ms: number): this {
    this.now = new Date(this.now.getTime() + ms);
    return this;
  }

  spec(patch: Partial<WorkflowSpec>): void {
    this.wf = { ...this.wf, spec: { ...this.wf.spec, ...patch } };
  }

  succeed(name: string, outputs: unknown = {}): void {
    this.end(name, 'Succeeded', 0, typeof outputs === 'string' ? outputs : JSON.stringify(outputs));
  }

  fail(name: string, exitCode = 1, message?: string, podReason?: string): void {
    this.end(name, 'Failed', exitCode, message, podReason);
  }

  private end(
    name: string,
    phase: 'Succeeded' | 'Failed',
    exitCode: number,
    message: string | undefined,
    podReason?: string,
  ): void {
    const pod = this.pods.get(name);
    if (!pod) throw new Error(`no pod ${name}`);
    this.pods.set(name, {
      ...pod,
      status: {
        phase,
        ...(podReason ? { reason: podReason } : {}),
        containerStatuses: [
          {
            name: 'agent',
            state: {
              terminated: {
                exitCode,
                reason: exitCode === 0 ? 'Completed' : 'Error',
                ...(message !== undefined ? { message } : {}),
              },
            },
          },
        ],
      },
    });
  }

  step(name: string): StepStatus {
    const s = this.wf.status?.steps?.find((x) => x.name === name);
    if (!s) throw new Error(`no step ${name} in status`);
    return s;
  }

  condition(type: string): { status: string; reason: string; message: string; lastTransitionTime: string } {
    const c = this.wf.status?.conditions?.find((x) => x.type === type);
    if (!c) throw new Error(`no condition ${type}`);
    return c;
  }

  history(type?: string): HistoryEntry[] {
    return (this.wf.status?.history ?? []).filter((h) => type === undefined || h.type === type);
  }
}

export function created(plan: EnginePlan): string[] {
  return plan.create.map((c) => c.pod.metadata.name ?? '');
}

export function inputsOf(pod: Pod): unknown {
  return JSON.parse(pod.metadata.annotations?.[ANNOTATION_INPUTS] ?? 'null');
}

/** Planning again with nothing changed in the world decides nothing new. */
export function expectSteady(sim: Sim): void {
  const again = sim.plan();
  expect(again.status).toEqual(sim.wf.status);
  expect(again.create).toEqual([]);
  expect(again.events).toEqual([]);
  expect(again.audits).toEqual([]);
  expect(again.outcomes).toEqual([]);
  expect(again.unknownPods).toEqual([]);
}
