// Finally steps and retrying a run on the real control plane with KWOK: finally steps run after
// success, failure and cancel; a failed run retried starts only the steps that did not succeed
// (the succeeded steps' pods are the same objects, never recreated), and a gated step rejected in
// the failed run asks for a fresh Approval when the run is retried, which whoever asked for the
// retry cannot approve (separation of duties, docs/approvals.md).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../cluster/src/paths.ts';
import { APPROVAL, EVENT, WORKFLOW } from '../../operator/src/api/constants.ts';
import type { Approval, Workflow, WorkflowStep } from '../../operator/src/api/generated/index.ts';
import { KubeClient } from '../../operator/src/kube/client.ts';
import { ApiError } from '../../operator/src/kube/errors.ts';
import type { KubeObject } from '../../operator/src/kube/types.ts';
import { decideAs, sreApprovers } from './support/approvals.ts';
import { useCluster } from './support/cluster.ts';
import { OperatorProcess, operatorKubeconfig } from './support/operator.ts';
import { eventually } from './support/wait.ts';
import {
  agentReady,
  createAll,
  inputsOfPod,
  podsOf,
  restrictedNamespace,
  simAgent,
  stepOf,
  waitForPhase,
  workflow,
} from './support/workflows.ts';

const NS = 'finally';

describe('finally steps and retries', () => {
  const env = useCluster();
  let op: OperatorProcess;
  const as: Record<string, KubeClient> = {};

  const notify: WorkflowStep = {
    name: 'notify',
    agentRef: { name: 'notifier' },
    inputs: { status: '{{ workflow.status }}', failed: '{{ workflow.failedSteps }}' },
  };
  const notifyInputs = async (wf: string): Promise<unknown> => {
    const pod = (await podsOf(env().admin, NS, wf)).find(
      (p) => p.metadata.labels?.['paddock.dev/step'] === 'notify',
    );
    return pod ? inputsOfPod(pod) : undefined;
  };
  const retryAs = (user: string, name: string, count: number, extra: Record<string, unknown> = {}) =>
    as[user]!.patch<Workflow>(WORKFLOW, NS, name, {
      spec: { retry: { count, requestedBy: user }, ...extra },
    });

  beforeAll(async () => {
    const kc = operatorKubeconfig(env());
    env().kubectl(['apply', '-f', '-'], restrictedNamespace(NS));
    env().kubectl(['apply', '--server-side', '-k', join(REPO_ROOT, 'config', 'admission')]);
    env().kubectl(
      ['apply', '-f', '-'],
      `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: run-workflows, namespace: ${NS}}
rules:
- apiGroups: [paddock.dev]
  resources: [workflows]
  verbs: [get, list, watch, create, patch, update]
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
# bob (sre, an approver here) may also retry runs.
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: bob-runs, namespace: ${NS}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: run-workflows}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: bob}]
---
${sreApprovers(NS)}`,
    );
    for (const u of ['alice', 'bob', 'carol']) as[u] = KubeClient.load(env().cluster.kubeconfigFor(u));
    await createAll(env().admin, [
      simAgent('ok', NS, { result: { n: 1 } }),
      simAgent('broken', NS, { result: {}, exitCode: 3 }),
      // Fails its first attempt only: a retried run gets past it.
      simAgent('flaky', NS, { result: { fixed: true }, failAttempts: 1 }),
      simAgent('slow', NS, { result: {}, duration: '60s' }),
      simAgent('notifier', NS, { result: { sent: true } }),
      simAgent(
        'patcher',
        NS,
        { result: { applied: true } },
        {
          riskLevel: 'ApprovalRequired',
          approval: { required: 1, approvers: { groups: ['sre'] } },
        },
      ),
    ]);
    op = OperatorProcess.start(kc, ['--leader-elect=false']);
    for (const a of ['ok', 'broken', 'flaky', 'slow', 'notifier', 'patcher'])
      await agentReady(env().admin, NS, a);
  });
  afterAll(async () => {
    if (process.env['DUMP_OPERATOR_LOGS']) console.log(op?.dumpLogs(400));
    await op?.stop();
  });

  it('runs the finally step after success, seeing the verdict', async () => {
    await createAll(env().admin, [
      workflow('after-ok', NS, [{ name: 'a', agentRef: { name: 'ok' } }], { finally: [notify] }),
    ]);
    const wf = await waitForPhase(env().admin, NS, 'after-ok', ['Succeeded', 'Failed']);
    expect(wf.status?.phase).toBe('Succeeded');
    expect(stepOf(wf, 'notify')).toMatchObject({ phase: 'Succeeded' });
    expect(Date.parse(stepOf(wf, 'notify').startedAt!)).toBeGreaterThanOrEqual(
      Date.parse(stepOf(wf, 'a').finishedAt!),
    );
    expect(await notifyInputs('after-ok')).toEqual({ status: 'Succeeded', failed: [] });
  });

  it('runs the finally step after a failure; the failure stays the verdict', async () => {
    await createAll(env().admin, [
      workflow(
        'after-fail',
        NS,
        [
          { name: 'a', agentRef: { name: 'broken' } },
          { name: 'b', agentRef: { name: 'ok' }, dependsOn: ['a'] },
        ],
        { finally: [notify] },
      ),
    ]);
    const wf = await waitForPhase(env().admin, NS, 'after-fail', ['Succeeded', 'Failed']);
    expect(wf.status?.phase).toBe('Failed');
    expect(stepOf(wf, 'b')).toMatchObject({ phase: 'Skipped', reason: 'UpstreamFailed' });
    expect(stepOf(wf, 'notify')).toMatchObject({ phase: 'Succeeded' });
    expect(wf.status?.conditions?.find((c) => c.type === 'Ready')?.message).toMatch(/^step a failed/);
    expect(await notifyInputs('after-fail')).toEqual({ status: 'Failed', failed: ['a'] });
  });

  it('runs the finally step after a cancel', async () => {
    await createAll(env().admin, [
      workflow('after-cancel', NS, [{ name: 'a', agentRef: { name: 'slow' } }], { finally: [notify] }),
    ]);
    await eventually(
      'a running',
      () => env().admin.get<Workflow>(WORKFLOW, NS, 'after-cancel'),
      (w) => w.status?.steps?.some((s) => s.name === 'a' && s.phase === 'Running') ?? false,
    );
    await env().admin.patch(WORKFLOW, NS, 'after-cancel', { spec: { cancel: true } });
    const wf = await waitForPhase(env().admin, NS, 'after-cancel', ['Succeeded', 'Failed', 'Cancelled']);
    expect(wf.status?.phase).toBe('Cancelled');
    expect(stepOf(wf, 'a').phase).toBe('Cancelled');
    expect(stepOf(wf, 'notify').phase).toBe('Succeeded');
    expect(await notifyInputs('after-cancel')).toEqual({ status: 'Cancelled', failed: [] });
  });

  it('retries a failed run: succeeded steps are not re-run and their pods not recreated', async () => {
    await createAll(env().admin, [
      workflow('retry-me', NS, [
        { name: 'a', agentRef: { name: 'ok' } },
        { name: 'b', agentRef: { name: 'flaky' }, dependsOn: ['a'] },
        { name: 'c', agentRef: { name: 'ok' }, dependsOn: ['b'] },
      ]),
    ]);
    const failed = await waitForPhase(env().admin, NS, 'retry-me', ['Succeeded', 'Failed']);
    expect(failed.status?.phase).toBe('Failed');
    const before = await podsOf(env().admin, NS, 'retry-me');
    const podA = before.find((p) => p.metadata.name === 'retry-me-a-1')!;
    expect(podA).toBeDefined();

    await retryAs('alice', 'retry-me', 1);
    const wf = await eventually(
      'retry-me retried and Succeeded',
      () => env().admin.get<Workflow>(WORKFLOW, NS, 'retry-me'),
      (w) => w.status?.retries === 1 && w.status.phase === 'Succeeded',
    );
    expect(stepOf(wf, 'a')).toMatchObject({ phase: 'Succeeded', attempt: 1, outputs: { n: 1 } });
    expect(stepOf(wf, 'b')).toMatchObject({ phase: 'Succeeded', attempt: 2, podName: 'retry-me-b-2' });
    expect(stepOf(wf, 'c')).toMatchObject({ phase: 'Succeeded', attempt: 1 });
    const after = await podsOf(env().admin, NS, 'retry-me');
    expect(after.map((p) => p.metadata.name).sort()).toEqual([
      'retry-me-a-1',
      'retry-me-b-1',
      'retry-me-b-2',
      'retry-me-c-1',
    ]);
    // The same pod object: never deleted and created again.
    expect(after.find((p) => p.metadata.name === 'retry-me-a-1')?.metadata.uid).toBe(podA.metadata.uid);
    expect(wf.status?.history?.filter((h) => h.type === 'WorkflowRetried')).toEqual([
      expect.objectContaining({ user: 'alice', reason: 'RetryRequested' }),
    ]);
    const events = (
      await env().admin.list<KubeObject & { reason?: string; note?: string; regarding?: { name?: string } }>(
        EVENT,
        NS,
      )
    ).items;
    expect(
      events.find((e) => e.regarding?.name === 'retry-me' && e.reason === 'WorkflowRetried')?.note,
    ).toContain('asked by alice');
  });

  it('retries a run failed by a rejection with a fresh Approval', async () => {
    await createAll(as['alice']!, [
      workflow('rejected', NS, [{ name: 'fix', agentRef: { name: 'patcher' } }], { requestedBy: 'alice' }),
    ]);
    await eventually(
      'approval requested',
      () => env().admin.get<Workflow>(WORKFLOW, NS, 'rejected'),
      (w) => w.status?.steps?.some((s) => s.approvalName === 'rejected-fix-approval-1') ?? false,
    );
    await decideAs(as['bob']!, 'bob', NS, 'rejected-fix-approval-1', 'Reject', 'not now');
    const failed = await waitForPhase(env().admin, NS, 'rejected', ['Succeeded', 'Failed']);
    expect(stepOf(failed, 'fix')).toMatchObject({ phase: 'Failed', reason: 'Rejected' });

    await retryAs('alice', 'rejected', 1);
    await eventually(
      'a fresh Approval',
      () => env().admin.get<Workflow>(WORKFLOW, NS, 'rejected'),
      (w) =>
        w.status?.steps?.some(
          (s) => s.phase === 'WaitingForApproval' && s.approvalName === 'rejected-fix-approval-2',
        ) ?? false,
    );
    expect(await podsOf(env().admin, NS, 'rejected')).toEqual([]);
    await decideAs(as['bob']!, 'bob', NS, 'rejected-fix-approval-2', 'Approve');
    const wf = await waitForPhase(env().admin, NS, 'rejected', ['Succeeded', 'Failed']);
    expect(wf.status?.phase).toBe('Succeeded');
    expect((await podsOf(env().admin, NS, 'rejected')).map((p) => p.metadata.name)).toEqual([
      'rejected-fix-1',
    ]);
  });

  it('refuses the retry requester approving the fresh Approval their retry made; another approver runs the step', async () => {
    await createAll(as['alice']!, [
      workflow('retried-by-bob', NS, [{ name: 'fix', agentRef: { name: 'patcher' } }], {
        requestedBy: 'alice',
      }),
    ]);
    await eventually(
      'approval requested',
      () => env().admin.get<Workflow>(WORKFLOW, NS, 'retried-by-bob'),
      (w) => w.status?.steps?.some((s) => s.approvalName === 'retried-by-bob-fix-approval-1') ?? false,
    );
    const first = await env().admin.get<Approval>(APPROVAL, NS, 'retried-by-bob-fix-approval-1');
    expect(first.spec.requestedBy).toBe('alice');
    expect(first.spec.retryRequestedBy).toBeUndefined();
    await decideAs(as['carol']!, 'carol', NS, 'retried-by-bob-fix-approval-1', 'Reject', 'not now');
    const failed = await waitForPhase(env().admin, NS, 'retried-by-bob', ['Succeeded', 'Failed']);
    expect(stepOf(failed, 'fix')).toMatchObject({ phase: 'Failed', reason: 'Rejected' });

    // bob, an approver, asks for the retry: the fresh request names him, and he cannot approve it.
    await retryAs('bob', 'retried-by-bob', 1);
    await eventually(
      'a fresh Approval',
      () => env().admin.get<Workflow>(WORKFLOW, NS, 'retried-by-bob'),
      (w) =>
        w.status?.steps?.some(
          (s) => s.phase === 'WaitingForApproval' && s.approvalName === 'retried-by-bob-fix-approval-2',
        ) ?? false,
    );
    const fresh = await env().admin.get<Approval>(APPROVAL, NS, 'retried-by-bob-fix-approval-2');
    expect(fresh.spec.requestedBy).toBe('alice');
    expect(fresh.spec.retryRequestedBy).toBe('bob');
    const refusal = await decideAs(as['bob']!, 'bob', NS, 'retried-by-bob-fix-approval-2', 'Approve').then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refusal).toBeInstanceOf(ApiError);
    expect((refusal as ApiError).status).toBe(422);
    expect((refusal as ApiError).message).toContain(
      'the retry requester (spec.retryRequestedBy) cannot approve the request their retry made',
    );
    const after = await env().admin.get<Approval>(APPROVAL, NS, 'retried-by-bob-fix-approval-2');
    expect(after.spec.decisions ?? []).toEqual([]);
    expect(stepOf(await env().admin.get<Workflow>(WORKFLOW, NS, 'retried-by-bob'), 'fix').phase).toBe(
      'WaitingForApproval',
    );
    expect(await podsOf(env().admin, NS, 'retried-by-bob')).toEqual([]);
    // Approvers see who asked for the retry on the request's own Event.
    await eventually(
      'the Requested Event naming the retry requester',
      async () =>
        (
          await env().admin.list<
            KubeObject & { reason?: string; note?: string; regarding?: { name?: string } }
          >(EVENT, NS)
        ).items.find((e) => e.regarding?.name === 'retried-by-bob-fix-approval-2' && e.reason === 'Requested')
          ?.note ?? '',
      (note) => note.includes(', retried by bob (who cannot approve it)'),
    );

    await decideAs(as['carol']!, 'carol', NS, 'retried-by-bob-fix-approval-2', 'Approve');
    const wf = await waitForPhase(env().admin, NS, 'retried-by-bob', ['Succeeded', 'Failed']);
    expect(wf.status?.phase).toBe('Succeeded');
    expect((await podsOf(env().admin, NS, 'retried-by-bob')).map((p) => p.metadata.name)).toEqual([
      'retried-by-bob-fix-1',
    ]);
    const approved = await env().admin.get<Approval>(APPROVAL, NS, 'retried-by-bob-fix-approval-2');
    expect(approved.status?.approvedBy).toEqual(['carol']);
  });
});
