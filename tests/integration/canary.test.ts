// Canaries: distinct strings planted in a Secret an Agent references, in a sensitive output, in
// the sensitive input it flows into (through a gated step's Approval), in a truncated and a
// non-JSON termination message, and in values that expressions and templates fail over. Then
// every sink the operator writes is searched (Workflow and Approval objects with their status
// and history, Events, the operator's log at debug level, /metrics): no canary may appear
// anywhere but in the pods' own env and files. docs/security.md.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../cluster/src/paths.ts';
import { AGENT, APPROVAL, EVENT, WORKFLOW } from '../../operator/src/api/constants.ts';
import type { Agent } from '../../operator/src/api/generated/index.ts';
import { KubeClient } from '../../operator/src/kube/client.ts';
import type { KubeObject } from '../../operator/src/kube/types.ts';
import { sreApprovers } from './support/approvals.ts';
import { useCluster } from './support/cluster.ts';
import { OperatorProcess, operatorKubeconfig } from './support/operator.ts';
import { eventually } from './support/wait.ts';
import {
  agentReady,
  podsOf,
  restrictedNamespace,
  simAgent,
  stepOf,
  waitForPhase,
  workflow,
} from './support/workflows.ts';

const NS = 'canary';
const tag = randomBytes(4).toString('hex');
const CANARY = {
  secret: `CANARY-SECRET-${tag}`,
  output: `CANARY-OUTPUT-${tag}`,
  expr: `CANARY-EXPR-${tag}`,
  truncated: `CANARY-TRUNC-${tag}`,
  truncatedFailed: `CANARY-TRUNCFAIL-${tag}`,
  nonJson: `CANARY-NONJSON-${tag}`,
  nonJsonFailed: `CANARY-NONJSONFAIL-${tag}`,
} as const;

const SENSITIVE_OUT = {
  type: 'object' as const,
  properties: { token: { type: 'string', 'x-paddock-sensitive': true }, id: { type: 'string' } },
};
/** A JSON object cut where the kubelet cuts termination messages (4096 bytes). */
const cut = (canary: string): string => `{"id":"1","token":"${canary}${'x'.repeat(5000)}"}`.slice(0, 4096);

describe('no sensitive value reaches any sink', () => {
  const env = useCluster();
  let op: OperatorProcess;

  beforeAll(async () => {
    const kc = operatorKubeconfig(env());
    env().kubectl(['apply', '-f', '-'], restrictedNamespace(NS));
    env().kubectl(['apply', '--server-side', '-k', join(REPO_ROOT, 'config', 'admission')]);
    env().kubectl(
      ['apply', '-f', '-'],
      `apiVersion: v1
kind: Secret
metadata: {name: db, namespace: ${NS}}
stringData: {password: ${CANARY.secret}}
---
${sreApprovers(NS)}`,
    );
    const a = env().admin;
    const agents: Agent[] = [
      // Holds a Secret (env DB_PASSWORD) and returns a sensitive token.
      simAgent(
        'vault',
        NS,
        { result: { token: CANARY.output, id: '42' } },
        {
          outputsSchema: SENSITIVE_OUT,
          secrets: [{ env: 'DB_PASSWORD', secretKeyRef: { name: 'db', key: 'password' } }],
        },
      ),
      simAgent(
        'vault-expr',
        NS,
        { result: { token: CANARY.expr, id: '7' } },
        { outputsSchema: SENSITIVE_OUT },
      ),
      // Takes the token as a sensitive input, behind an Approval.
      simAgent(
        'consumer',
        NS,
        { result: {} },
        {
          inputsSchema: {
            type: 'object',
            properties: { token: { type: 'string', 'x-paddock-sensitive': true }, note: { type: 'string' } },
          },
          riskLevel: 'ApprovalRequired',
          approval: { required: 1, approvers: { groups: ['sre'] } },
        },
      ),
      simAgent('plain', NS, { result: {} }),
      simAgent('cut-ok', NS, { rawResult: cut(CANARY.truncated) }, { outputsSchema: SENSITIVE_OUT }),
      simAgent(
        'cut-fail',
        NS,
        { rawResult: cut(CANARY.truncatedFailed), exitCode: 1 },
        { outputsSchema: SENSITIVE_OUT },
      ),
      simAgent(
        'text-ok',
        NS,
        { rawResult: `Traceback: token=${CANARY.nonJson}` },
        { outputsSchema: SENSITIVE_OUT },
      ),
      simAgent(
        'text-fail',
        NS,
        { rawResult: `Traceback: token=${CANARY.nonJsonFailed}`, exitCode: 1 },
        { outputsSchema: SENSITIVE_OUT },
      ),
    ];
    for (const ag of agents) await a.create(AGENT, ag);
    op = OperatorProcess.start(kc, ['--leader-elect=false', '--log-level=debug']);
    for (const ag of agents) await agentReady(env().admin, NS, ag.metadata.name!);
  });

  afterAll(async () => {
    await op?.stop();
  });

  it('runs the workflows that carry the canaries, each to its expected end', async () => {
    const a = env().admin;
    const cont = { continueOnFailure: true };
    await a.create(
      WORKFLOW,
      workflow('flow', NS, [
        { name: 'mint', agentRef: { name: 'vault' } },
        {
          name: 'use',
          agentRef: { name: 'consumer' },
          dependsOn: ['mint'],
          inputs: { token: '{{ steps.mint.outputs.token }}', note: 'rotate' },
        },
      ]),
    );
    await a.create(
      WORKFLOW,
      workflow('exprs', NS, [
        { name: 'mint', agentRef: { name: 'vault-expr' } },
        {
          name: 'not-bool',
          agentRef: { name: 'plain' },
          dependsOn: ['mint'],
          when: 'steps.mint.outputs.token',
          ...cont,
        },
        {
          name: 'compare',
          agentRef: { name: 'plain' },
          dependsOn: ['mint'],
          when: 'steps.mint.outputs.token > 3',
          ...cont,
        },
        {
          name: 'as-key',
          agentRef: { name: 'plain' },
          dependsOn: ['mint'],
          when: "{'a': true}[steps.mint.outputs.token]",
          ...cont,
        },
        {
          name: 'convert',
          agentRef: { name: 'plain' },
          dependsOn: ['mint'],
          inputs: { n: '{{ int(steps.mint.outputs.token) }}' },
          ...cont,
        },
        {
          name: 'key-tpl',
          agentRef: { name: 'plain' },
          dependsOn: ['mint'],
          inputs: { n: "{{ {'a': 1}[steps.mint.outputs.token] }}" },
          ...cont,
        },
        {
          name: 'concat',
          agentRef: { name: 'plain' },
          dependsOn: ['mint'],
          inputs: { n: '{{ steps.mint.outputs.token + 1 }}' },
          ...cont,
        },
      ]),
    );
    await a.create(
      WORKFLOW,
      workflow('outputs', NS, [
        { name: 'cut-ok', agentRef: { name: 'cut-ok' }, ...cont },
        { name: 'cut-fail', agentRef: { name: 'cut-fail' }, ...cont },
        { name: 'text-ok', agentRef: { name: 'text-ok' }, ...cont },
        { name: 'text-fail', agentRef: { name: 'text-fail' }, ...cont },
      ]),
    );
    // The gated step: bob approves its request, whose inputs hold the sensitive token.
    const waiting = await eventually(
      'flow waits for approval',
      () =>
        a.get<
          KubeObject & { status?: { steps?: Array<{ name: string; approvalName?: string; phase: string }> } }
        >(WORKFLOW, NS, 'flow'),
      (w) => w.status?.steps?.some((s) => s.name === 'use' && s.phase === 'WaitingForApproval') ?? false,
    );
    const approvalName = waiting.status!.steps!.find((s) => s.name === 'use')!.approvalName!;
    await KubeClient.load(env().cluster.kubeconfigFor('bob')).apply(
      APPROVAL,
      {
        apiVersion: 'paddock.dev/v1alpha1',
        kind: 'Approval',
        metadata: { name: approvalName, namespace: NS },
        spec: { decisions: [{ user: 'bob', decision: 'Approve' }] },
      } as KubeObject,
      { fieldManager: 'test-bob' },
    );

    expect((await waitForPhase(a, NS, 'flow', ['Succeeded', 'Failed'])).status?.phase).toBe('Succeeded');
    const exprs = await waitForPhase(a, NS, 'exprs', ['Succeeded', 'Failed']);
    for (const s of ['not-bool', 'compare', 'as-key'])
      expect(stepOf(exprs, s)).toMatchObject({ phase: 'Failed', reason: 'InvalidCondition' });
    expect(stepOf(exprs, 'convert')).toMatchObject({ phase: 'Failed', reason: 'InvalidTemplate' });
    expect(stepOf(exprs, 'key-tpl')).toMatchObject({ phase: 'Failed', reason: 'MissingReference' });
    expect(stepOf(exprs, 'concat')).toMatchObject({ phase: 'Failed', reason: 'InvalidTemplate' });
    const outs = await waitForPhase(a, NS, 'outputs', ['Succeeded', 'Failed']);
    expect(stepOf(outs, 'cut-ok')).toMatchObject({ phase: 'Failed', reason: 'OutputTooLarge' });
    expect(stepOf(outs, 'text-ok')).toMatchObject({ phase: 'Failed', reason: 'OutputNotJSON' });
    for (const s of ['cut-fail', 'text-fail']) {
      expect(stepOf(outs, s)).toMatchObject({ phase: 'Failed', reason: 'Error' });
      expect(stepOf(outs, s).message).toContain('withheld');
    }
  });

  it('the canaries did reach the pods (the control: they were really planted)', async () => {
    const pods = JSON.stringify([
      ...(await podsOf(env().admin, NS, 'flow')),
      ...(await podsOf(env().admin, NS, 'exprs')),
      ...(await podsOf(env().admin, NS, 'outputs')),
    ]);
    // The token as the consumer's input (annotation and env), the outputs as termination messages.
    for (const c of [CANARY.output, CANARY.expr, CANARY.truncated, CANARY.nonJson, CANARY.nonJsonFailed])
      expect(pods).toContain(c);
    // The Secret is referenced, never copied into the pod.
    expect(pods).toMatch(/"secretKeyRef":\{("key":"password","name":"db"|"name":"db","key":"password")\}/);
  });

  it('finds no canary in Workflows, Approvals, Events, Agents, the debug log or /metrics', async () => {
    const a = env().admin;
    // Let the last Events and log lines be written.
    await new Promise((r) => setTimeout(r, 2_000));
    const sinks: Record<string, string> = {
      workflows: JSON.stringify((await a.list(WORKFLOW, NS)).items),
      approvals: JSON.stringify((await a.list(APPROVAL, NS)).items),
      // The simulated agents carry their outputs in their own spec (SIM_RESULT, docs/testing.md):
      // only what the operator writes, their status, is a sink.
      agentStatus: JSON.stringify((await a.list<Agent>(AGENT, NS)).items.map((x) => x.status)),
      events: JSON.stringify((await a.list(EVENT, NS)).items),
      coreEvents: JSON.stringify(
        (await a.list({ group: '', version: 'v1', kind: 'Event', plural: 'events', namespaced: true }, NS))
          .items,
      ),
      log: op.raw.join('\n'),
      metrics: await op.metricsText(),
    };
    // The sinks are not empty: the search means something.
    expect(sinks['approvals']).toContain('[REDACTED]');
    expect(sinks['log']).toContain('"level":"debug"'); // debug lines were written
    expect(sinks['events']).toContain('StepFailed');
    for (const [sink, text] of Object.entries(sinks))
      for (const [what, canary] of Object.entries(CANARY)) {
        expect(text.includes(canary), `canary ${what} found in ${sink}`).toBe(false);
        // Not even a long piece of it.
        expect(text.includes(canary.slice(0, 16)), `start of canary ${what} found in ${sink}`).toBe(false);
      }
  });
});
