// Approvals end to end: the operator gates ApprovalRequired steps behind an
// Approval, real users (static-token identities the API server authenticates)
// decide with their own credentials, and the step runs, fails closed, or asks
// again when what it would run has changed.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../cluster/src/paths.ts';
import { AGENT, APPROVAL, EVENT, WORKFLOW } from '../../operator/src/api/constants.ts';
import type { Agent, Approval, Workflow } from '../../operator/src/api/generated/index.ts';
import { KubeClient } from '../../operator/src/kube/client.ts';
import type { KubeObject } from '../../operator/src/kube/types.ts';
import { decideAs, sreApprovers } from './support/approvals.ts';
import { useCluster } from './support/cluster.ts';
import { OperatorProcess, operatorKubeconfig } from './support/operator.ts';
import { eventually } from './support/wait.ts';
import {
  podsOf,
  restrictedNamespace,
  simAgent,
  stepOf,
  waitForPhase,
  workflow,
} from './support/workflows.ts';

const NS = 'gated';

describe('approvals gate risky steps', () => {
  const env = useCluster();
  let op: OperatorProcess;
  const as: Record<string, KubeClient> = {};

  const decide = (user: string, name: string, decision: 'Approve' | 'Reject', comment = ''): Promise<void> =>
    decideAs(as[user]!, user, NS, name, decision, comment);

  type Ev = KubeObject & {
    reason?: string;
    note?: string;
    type?: string;
    regarding?: { name?: string; kind?: string };
  };
  /** Waits until the Events about `kind`/`name` include every reason in `reasons`. */
  const eventsAbout = (kind: string, name: string, reasons: string[]) =>
    eventually(
      `${kind} ${name} Events ${reasons.join(',')}`,
      async () =>
        (await env().admin.list<Ev>(EVENT, NS)).items.filter(
          (e) => e.regarding?.name === name && e.regarding.kind === kind,
        ),
      (es) => reasons.every((r) => es.some((e) => e.reason === r)),
    );

  const waitingApproval = (wfName: string, step: string) =>
    eventually(
      `${wfName}/${step} WaitingForApproval`,
      () => env().admin.get<Workflow>(WORKFLOW, NS, wfName),
      (w) =>
        w.status?.steps?.some(
          (s) => s.name === step && s.phase === 'WaitingForApproval' && !!s.approvalName,
        ) ?? false,
    );
  const agentReady = (name: string, generation?: number) =>
    eventually(
      `${name} Ready`,
      () => env().admin.get<Agent>(AGENT, NS, name),
      (a) =>
        (a.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false) &&
        (generation === undefined || a.status?.observedGeneration === generation),
    );

  beforeAll(async () => {
    const kc = operatorKubeconfig(env());
    env().kubectl(['apply', '-f', '-'], restrictedNamespace(NS));
    env().kubectl(['apply', '--server-side', '-k', join(REPO_ROOT, 'config', 'admission')]);
    // alice runs workflows; the sre group (bob, carol) may approve in this namespace only.
    env().kubectl(
      ['apply', '-f', '-'],
      `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: run-workflows, namespace: ${NS}}
rules:
- apiGroups: [paddock.dev]
  resources: [workflows]
  verbs: [get, list, watch, create]
# A Workflow's author must be allowed to get the Agents it runs (paddock-references, docs/security.md).
- apiGroups: [paddock.dev]
  resources: [agents]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: alice-runs, namespace: ${NS}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: run-workflows}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}]
---
${sreApprovers(NS)}`,
    );
    for (const u of ['alice', 'bob', 'carol']) as[u] = KubeClient.load(env().cluster.kubeconfigFor(u));
    await env().admin.create(
      AGENT,
      simAgent(
        'patcher',
        NS,
        { result: { applied: true } },
        {
          riskLevel: 'ApprovalRequired',
          approval: { required: 1, approvers: { groups: ['sre'] } },
          inputsSchema: {
            type: 'object',
            properties: { patch: { type: 'string' }, token: { type: 'string', 'x-paddock-sensitive': true } },
          },
        },
      ),
    );
    await env().admin.create(
      AGENT,
      simAgent(
        'two-key',
        NS,
        { result: { applied: true } },
        {
          riskLevel: 'ApprovalRequired',
          approval: { required: 2, approvers: { groups: ['sre'] } },
        },
      ),
    );
    await env().admin.create(
      AGENT,
      simAgent(
        'hasty',
        NS,
        { result: {} },
        { riskLevel: 'ApprovalRequired', approval: { required: 1, timeoutSeconds: 60 } },
      ),
    );
    op = OperatorProcess.start(kc, ['--leader-elect=false']);
    for (const a of ['patcher', 'two-key', 'hasty']) await agentReady(a);
  });
  afterAll(async () => {
    if (process.env['DUMP_OPERATOR_LOGS']) console.log(op?.dumpLogs(3000));
    await op?.stop();
  });

  const gated = (name: string, agent: string, inputs: Record<string, unknown> = { patch: 'diff' }) =>
    as['alice']!.create(
      WORKFLOW,
      workflow(name, NS, [{ name: 'fix', agentRef: { name: agent }, inputs }], {
        requestedBy: 'alice',
      }),
    );

  it('waits for an authorized approval, then runs the gated step', async () => {
    await gated('one', 'patcher', { patch: 'diff', token: 's3cret-token' });
    const w = await waitingApproval('one', 'fix');
    expect(w.status?.phase).toBe('WaitingForApproval');
    const name = stepOf(w, 'fix').approvalName!;
    expect(name).toBe('one-fix-approval-1');
    expect(await podsOf(env().admin, NS, 'one')).toEqual([]); // nothing runs before the decision
    const a = await env().admin.get<Approval>(APPROVAL, NS, name);
    expect(a.spec.request).toMatchObject({
      agent: 'patcher',
      agentGeneration: 1,
      inputs: { patch: 'diff', token: '[REDACTED]' },
    });
    expect(a.spec.request.digest).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(a.spec.requestedBy).toBe('alice');
    expect(a.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Workflow', name: 'one' });
    expect(JSON.stringify(a)).not.toContain('s3cret-token');

    await decide('bob', name, 'Approve', 'looks right');
    const done = await waitForPhase(env().admin, NS, 'one', ['Succeeded', 'Failed']);
    expect(done.status?.phase).toBe('Succeeded');
    const decided = await env().admin.get<Approval>(APPROVAL, NS, name);
    expect(decided.status).toMatchObject({ phase: 'Approved', decidedBy: 'bob' });
    expect(done.status?.history?.map((h) => h.type)).toEqual(
      expect.arrayContaining(['ApprovalRequested', 'StepApproved', 'StepStarted', 'StepSucceeded']),
    );
    // Audit: Events on the Approval (requested, each decision with its user, the verdict) and on
    // the Workflow (requested, approved).
    const events = await eventsAbout('Approval', name, ['Requested', 'DecisionApprove', 'Approved']);
    expect(events.find((e) => e.reason === 'Requested')?.note).toMatch(
      /^alice requests 1 approval\(s\) from group sre to run Agent patcher in step fix of Workflow one; expires at /,
    );
    expect(events.find((e) => e.reason === 'DecisionApprove')?.note).toBe('bob decided Approve: looks right');
    expect(events.find((e) => e.reason === 'Approved')?.note).toContain('approved by bob');
    for (const e of events) expect(JSON.stringify(e)).not.toContain('s3cret-token');
    const wfEvents = await eventsAbout('Workflow', 'one', [
      'ApprovalRequested',
      'StepApproved',
      'StepStarted',
    ]);
    expect(wfEvents.find((e) => e.reason === 'StepApproved')?.note).toContain('bob');
  });

  it('needs two distinct approvers from the group when the policy says 2', async () => {
    await gated('two', 'two-key', {});
    const name = stepOf(await waitingApproval('two', 'fix'), 'fix').approvalName!;
    await decide('bob', name, 'Approve');
    await eventually(
      '1 of 2 recorded',
      () => env().admin.get<Approval>(APPROVAL, NS, name),
      (a) => a.status?.approvedBy?.includes('bob') ?? false,
    );
    const mid = await env().admin.get<Workflow>(WORKFLOW, NS, 'two');
    expect(stepOf(mid, 'fix').phase).toBe('WaitingForApproval');
    await decide('carol', name, 'Approve');
    const done = await waitForPhase(env().admin, NS, 'two', ['Succeeded', 'Failed']);
    expect(done.status?.phase).toBe('Succeeded');
    expect((await env().admin.get<Approval>(APPROVAL, NS, name)).status?.approvedBy).toEqual([
      'bob',
      'carol',
    ]);
  });

  it('fails the step when anyone rejects (a veto), naming who and why', async () => {
    await gated('veto', 'two-key', {});
    const name = stepOf(await waitingApproval('veto', 'fix'), 'fix').approvalName!;
    await decide('bob', name, 'Approve');
    await decide('carol', name, 'Reject', 'not during the freeze');
    const done = await waitForPhase(env().admin, NS, 'veto', ['Succeeded', 'Failed']);
    expect(done.status?.phase).toBe('Failed');
    expect(stepOf(done, 'fix')).toMatchObject({ phase: 'Failed', reason: 'Rejected' });
    expect(stepOf(done, 'fix').message).toContain('carol');
    expect(stepOf(done, 'fix').message).toContain('not during the freeze');
    expect(await podsOf(env().admin, NS, 'veto')).toEqual([]);
    const events = await eventsAbout('Approval', name, ['DecisionApprove', 'DecisionReject', 'Rejected']);
    expect(events.find((e) => e.reason === 'DecisionReject')).toMatchObject({
      type: 'Warning',
      note: 'carol decided Reject: not during the freeze',
    });
  });

  it('fails closed when the Approval expires', { timeout: 120_000 }, async () => {
    await gated('late', 'hasty', {});
    const name = stepOf(await waitingApproval('late', 'fix'), 'fix').approvalName!;
    // The shortest timeout an Agent may set is 60 s.
    const expired = await eventually(
      'Approval Expired',
      () => env().admin.get<Approval>(APPROVAL, NS, name),
      (a) => a.status?.phase === 'Expired',
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    expect(expired.status?.reason).toBe('Expired');
    const done = await waitForPhase(env().admin, NS, 'late', ['Succeeded', 'Failed'], 20_000);
    expect(stepOf(done, 'fix')).toMatchObject({ phase: 'Failed', reason: 'ApprovalExpired' });
    expect((await env().admin.get<Approval>(APPROVAL, NS, name)).status?.phase).toBe('Expired');
    expect(await podsOf(env().admin, NS, 'late')).toEqual([]);
    await eventsAbout('Approval', name, ['Requested', 'Expired']);
  });

  it('supersedes the request when the Agent image changes before the step runs', async () => {
    await gated('moved', 'patcher', { patch: 'v1' });
    const first = stepOf(await waitingApproval('moved', 'fix'), 'fix').approvalName!;
    await env().admin.patch(AGENT, NS, 'patcher', {
      spec: { image: `registry.example/agents/patcher@sha256:${'c'.repeat(64)}` },
    });
    const old = await eventually(
      'superseded',
      () => env().admin.get<Approval>(APPROVAL, NS, first),
      (a) => a.status?.phase === 'Superseded',
    );
    expect(old.status).toMatchObject({ supersededBy: 'moved-fix-approval-2' });
    const sup = await eventsAbout('Approval', first, ['Superseded']);
    expect(sup.find((e) => e.reason === 'Superseded')?.note).toContain('the image changed');
    await eventsAbout('Workflow', 'moved', ['ApprovalSuperseded']);
    const w = await eventually(
      'new request',
      () => env().admin.get<Workflow>(WORKFLOW, NS, 'moved'),
      (x) => stepOf(x, 'fix').approvalName === 'moved-fix-approval-2',
    );
    expect(stepOf(w, 'fix').phase).toBe('WaitingForApproval');
    const second = await env().admin.get<Approval>(APPROVAL, NS, 'moved-fix-approval-2');
    expect(second.spec.request.image).toContain('cccc');
    await decide('bob', 'moved-fix-approval-2', 'Approve');
    const done = await waitForPhase(env().admin, NS, 'moved', ['Succeeded', 'Failed']);
    expect(done.status?.phase).toBe('Succeeded');
    const pods = await podsOf(env().admin, NS, 'moved');
    expect(pods[0]?.spec.containers[0]?.image).toContain('cccc');
  });
});
