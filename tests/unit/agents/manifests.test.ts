// The example manifests (examples/agents, examples/workflows, examples/fixtures) agree with the agents' code: the
// same schemas the SDK checks in the container, images from `make images`, egress that reaches the fixtures.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import * as codeReviewer from '../../../agents/code-reviewer/schemas.ts';
import * as complianceChecker from '../../../agents/compliance-checker/schemas.ts';
import * as notifier from '../../../agents/notifier/schemas.ts';
import * as patcher from '../../../agents/patcher/schemas.ts';
import * as securityScanner from '../../../agents/security-scanner/schemas.ts';

const repo = new URL('../../../', import.meta.url);
const load = (path: string): unknown => parse(readFileSync(new URL(path, repo), 'utf8'));

interface AgentManifest {
  metadata: { name: string };
  spec: {
    image: string;
    inputsSchema: unknown;
    outputsSchema: unknown;
    egress: { cidr: string; ports: number[] }[];
  };
}

const AGENTS = {
  'security-scanner': securityScanner,
  'compliance-checker': complianceChecker,
  'code-reviewer': codeReviewer,
  patcher,
  notifier,
} as const;

const fixtureDocs = parseAllDocuments(
  readFileSync(new URL('examples/fixtures/fixtures.yaml', repo), 'utf8'),
).map((d) => d.toJS() as { kind: string; spec: { clusterIP?: string; ports?: { port: number }[] } });
const service = fixtureDocs.find((d) => d.kind === 'Service');

describe.each(Object.entries(AGENTS))('examples/agents/%s.yaml', (name, schemas) => {
  const agent = load(`examples/agents/${name}.yaml`) as AgentManifest;

  it('declares exactly the schemas the agent checks', () => {
    expect(agent.metadata.name).toBe(name);
    expect(agent.spec.inputsSchema).toEqual(schemas.inputsSchema);
    expect(agent.spec.outputsSchema).toEqual(schemas.outputsSchema);
  });

  it('runs the image make images builds from agents/<name>/', () => {
    expect(agent.spec.image).toMatch(new RegExp(`^paddock\\.local/agent-${name}:`));
  });

  it("may reach the fixtures' Service on its port, and nothing else", () => {
    expect(service?.spec.clusterIP).toBeDefined();
    expect(agent.spec.egress).toEqual([
      { cidr: `${service?.spec.clusterIP}/32`, ports: [service?.spec.ports?.[0]?.port] },
      { cidr: '10.88.0.0/16', ports: [service?.spec.ports?.[0]?.port] },
    ]);
  });
});

describe('the example Workflows', () => {
  it('work on the fixture repository served in the cluster', () => {
    for (const file of ['fix-cve', 'repo-audit']) {
      const wf = load(`examples/workflows/${file}.yaml`) as { spec: { inputs: { repo: string } } };
      expect(wf.spec.inputs.repo).toBe(
        `http://fixtures.paddock-fixtures.svc.cluster.local:${service?.spec.ports?.[0]?.port}/git/app.git`,
      );
    }
  });

  it('use every example Agent', () => {
    const used = new Set(
      ['fix-cve', 'repo-audit'].flatMap((file) =>
        (
          load(`examples/workflows/${file}.yaml`) as { spec: { steps: { agentRef: { name: string } }[] } }
        ).spec.steps.map((s) => s.agentRef.name),
      ),
    );
    expect([...used].sort()).toEqual(Object.keys(AGENTS).sort());
  });
});
