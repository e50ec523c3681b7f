// Running agents/sandbox-probe as a Paddock Agent on the real node and reading what it observed (its outputs).
import { AGENT, API_VERSION, WORKFLOW } from '../../../operator/src/api/constants.ts';
import type { Agent, Workflow, WorkflowStep } from '../../../operator/src/api/generated/index.ts';
import type { Identity } from '../../../agents/sandbox-probe/probe.ts';
import type { KubeClient } from '../../../operator/src/kube/client.ts';
import { agentReady, waitForPhase } from '../../integration/support/workflows.ts';

export const PROBE_IMAGE_NAME = 'agent-sandbox-probe';

/** What `mode: inspect` reports (agents/sandbox-probe/main.ts). */
export interface Inspection {
  identity: Identity;
  writes: { root: string; etc: string; tmp: string };
  tokenMounted: boolean;
  visible: Record<string, boolean>;
  connect: Record<string, string>;
  resolve: Record<string, string[] | string>;
}

export function probeAgent(
  name: string,
  namespace: string,
  image: string,
  spec: Partial<Agent['spec']> = {},
): Agent {
  return {
    apiVersion: API_VERSION,
    kind: 'Agent',
    metadata: { name, namespace },
    spec: {
      image,
      inputsSchema: { type: 'object' },
      outputsSchema: { type: 'object' },
      resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '192Mi' } },
      timeoutSeconds: 300,
      ...spec,
    },
  };
}

export async function createAgent(client: KubeClient, agent: Agent): Promise<void> {
  await client.create(AGENT, agent);
  await agentReady(client, agent.metadata.namespace ?? '', agent.metadata.name ?? '');
}

/** Creates a one-step Workflow running `agent` with `inputs`. */
export async function submit(
  client: KubeClient,
  namespace: string,
  name: string,
  agent: string,
  inputs: Record<string, unknown>,
  step: Partial<WorkflowStep> = {},
): Promise<void> {
  const wf: Workflow = {
    apiVersion: API_VERSION,
    kind: 'Workflow',
    metadata: { name, namespace },
    spec: { steps: [{ name: 'probe', agentRef: { name: agent }, inputs, ...step }] },
  };
  await client.create(WORKFLOW, wf);
}

export function finished(client: KubeClient, namespace: string, name: string, timeoutMs = 180_000) {
  return waitForPhase(client, namespace, name, ['Succeeded', 'Failed', 'Cancelled'], timeoutMs);
}
