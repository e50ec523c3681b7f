// Small builders for test Agents.
import { API_VERSION } from '../../../operator/src/api/constants.ts';
import type { Agent } from '../../../operator/src/api/generated/index.ts';

export function testAgent(name: string, namespace: string, spec: Partial<Agent['spec']> = {}): Agent {
  return {
    apiVersion: API_VERSION,
    kind: 'Agent',
    metadata: { name, namespace },
    spec: {
      image: `registry.example/agents/${name}@sha256:${'a'.repeat(64)}`,
      inputsSchema: { type: 'object', properties: { text: { type: 'string' } } },
      outputsSchema: { type: 'object', properties: { ok: { type: 'boolean' } } },
      ...spec,
    },
  };
}
