// Helpers for Workflow tests: simulated Agents (see docs/testing.md for the
// SIM_* contract KWOK follows), Workflow builders, and waiting for phases.
import { AGENT, API_VERSION, POD, WORKFLOW } from '../../../operator/src/api/constants.ts';
import type { Agent, Workflow, WorkflowStep } from '../../../operator/src/api/generated/index.ts';
import { LABEL_WORKFLOW } from '../../../operator/src/api/labels.ts';
import type { KubeClient } from '../../../operator/src/kube/client.ts';
import type { Pod } from '../../../operator/src/kube/core-types.ts';
import { eventually } from './wait.ts';

export interface SimBehaviour {
  /** JSON outputs (the termination message). */
  result?: unknown;
  /** Raw termination message (overrides result). */
  rawResult?: string;
  exitCode?: number;
  duration?: string;
  failAttempts?: number;
  manual?: boolean;
  /** The outputs are the rendered inputs. */
  echoInputs?: boolean;
  /** forEach instances (by index) whose pods fail. */
  failInstances?: readonly number[];
}

export function simAgent(
  name: string,
  namespace: string,
  sim: SimBehaviour,
  spec: Partial<Agent['spec']> = {},
): Agent {
  const env: Array<{ name: string; value: string }> = [];
  if (sim.rawResult !== undefined) env.push({ name: 'SIM_RESULT', value: sim.rawResult });
  else if (sim.result !== undefined) env.push({ name: 'SIM_RESULT', value: JSON.stringify(sim.result) });
  if (sim.exitCode !== undefined) env.push({ name: 'SIM_EXIT_CODE', value: String(sim.exitCode) });
  env.push({ name: 'SIM_DURATION', value: sim.duration ?? '50ms' });
  if (sim.failAttempts !== undefined)
    env.push({ name: 'SIM_FAIL_ATTEMPTS', value: String(sim.failAttempts) });
  if (sim.manual) env.push({ name: 'SIM_MANUAL', value: 'true' });
  if (sim.echoInputs) env.push({ name: 'SIM_ECHO_INPUTS', value: 'true' });
  if (sim.failInstances) env.push({ name: 'SIM_FAIL_INSTANCES', value: sim.failInstances.join(',') });
  return {
    apiVersion: API_VERSION,
    kind: 'Agent',
    metadata: { name, namespace },
    spec: {
      image: `registry.example/agents/${name}@sha256:${'b'.repeat(64)}`,
      env,
      inputsSchema: { type: 'object' },
      outputsSchema: { type: 'object' },
      resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '64Mi' } },
      ...spec,
    },
  };
}

export function workflow(
  name: string,
  namespace: string,
  steps: WorkflowStep[],
  spec: Partial<Workflow['spec']> = {},
): Workflow {
  return {
    apiVersion: API_VERSION,
    kind: 'Workflow',
    metadata: { name, namespace },
    spec: { steps, ...spec },
  };
}

/** Waits until the Agent is Ready=True. */
export async function agentReady(client: KubeClient, namespace: string, name: string): Promise<Agent> {
  return eventually(
    `Agent ${name} Ready`,
    () => client.get<Agent>(AGENT, namespace, name),
    (a) => a.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
  );
}

export async function waitForPhase(
  client: KubeClient,
  namespace: string,
  name: string,
  phases: readonly string[],
  timeoutMs = 60_000,
): Promise<Workflow> {
  return eventually(
    `workflow ${name} phase in ${phases.join('|')}`,
    () => client.get<Workflow>(WORKFLOW, namespace, name),
    (w) => phases.includes(w.status?.phase ?? ''),
    { timeoutMs, intervalMs: 100 },
  );
}

export async function podsOf(client: KubeClient, namespace: string, wf: string): Promise<Pod[]> {
  return (await client.list<Pod>(POD, namespace, { labelSelector: `${LABEL_WORKFLOW}=${wf}` })).items;
}

export async function createAll(client: KubeClient, objs: Array<Agent | Workflow>): Promise<void> {
  for (const o of objs) await client.create(o.kind === 'Agent' ? AGENT : WORKFLOW, o);
}

export function stepOf(wf: Workflow, name: string) {
  const s = wf.status?.steps?.find((x) => x.name === name);
  if (!s) throw new Error(`workflow ${wf.metadata.name} has no status for step ${name}`);
  return s;
}

export function inputsOfPod(p: Pod): unknown {
  return JSON.parse(p.metadata.annotations?.['paddock.dev/inputs'] ?? 'null');
}

/** A Namespace manifest enforcing the `restricted` Pod Security profile, as agents run under it. */
export function restrictedNamespace(name: string, annotations: Record<string, string> = {}): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name,
      labels: {
        'pod-security.kubernetes.io/enforce': 'restricted',
        'pod-security.kubernetes.io/enforce-version': 'latest',
      },
      ...(Object.keys(annotations).length ? { annotations } : {}),
    },
  });
}
