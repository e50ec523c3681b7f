// Workflows end to end on the real control plane with KWOK: the operator (as
// its least-privilege ServiceAccount) runs DAGs of simulated agents as pods in
// a namespace that enforces Pod Security "restricted".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT, EVENT, WORKFLOW } from '../../operator/src/api/constants.ts';
import { NETWORK_POLICY, RESOURCE_QUOTA } from '../../operator/src/kube/core-types.ts';
import type { Agent, Workflow } from '../../operator/src/api/generated/index.ts';
import type { KubeObject } from '../../operator/src/kube/types.ts';
import { useCluster } from './support/cluster.ts';
import { OperatorProcess, operatorKubeconfig } from './support/operator.ts';
import { eventually, sleep } from './support/wait.ts';
import {
  createAll,
  inputsOfPod,
  podsOf,
  restrictedNamespace,
  simAgent,
  stepOf,
  waitForPhase,
  workflow,
} from './support/workflows.ts';

const NS = 'wf';

describe('workflows', () => {
  const env = useCluster();
  let op: OperatorProcess;

  beforeAll(async () => {
    const kc = operatorKubeconfig(env());
    env().kubectl(['apply', '-f', '-'], restrictedNamespace(NS));
    await createAll(env().admin, [
      simAgent('scanner', NS, { result: { findings: 2, patch: 'diff --git a/x b/x', summary: '2 issues' } }),
      simAgent('patcher', NS, { result: { applied: true, files: ['x'] } }),
      simAgent('notifier', NS, { result: { sent: true } }),
      simAgent('reviewer', NS, { result: { verdict: 'ok', score: 0.9 } }),
      simAgent('clean-scanner', NS, { result: { findings: 0, summary: 'clean' } }),
    ]);
    op = OperatorProcess.start(kc, ['--leader-elect=false']);
    for (const a of ['scanner', 'patcher', 'notifier', 'reviewer', 'clean-scanner']) {
      await eventually(
        `${a} Ready`,
        () => env().admin.get<Agent>(AGENT, NS, a),
        (x) => x.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
      );
    }
  });
  afterAll(async () => {
    if (process.env['DUMP_OPERATOR_LOGS']) console.log(op?.dumpLogs(400));
    await op?.stop();
  });

  it('runs a linear chain, passing outputs from step to step, to an exact final status', async () => {
    await createAll(env().admin, [
      workflow(
        'chain',
        NS,
        [
          { name: 'scan', agentRef: { name: 'scanner' }, inputs: { repo: '{{ inputs.repo }}' } },
          {
            name: 'patch',
            agentRef: { name: 'patcher' },
            dependsOn: ['scan'],
            when: 'steps.scan.outputs.findings > 0',
            inputs: { patch: '{{ steps.scan.outputs.patch }}', title: 'Fix {{ inputs.cve }}' },
          },
          {
            name: 'notify',
            agentRef: { name: 'notifier' },
            dependsOn: ['patch'],
            inputs: {
              text: '{{ inputs.cve }}: {{ steps.scan.outputs.summary }}',
              files: '{{ steps.patch.outputs.files }}',
            },
          },
        ],
        { inputs: { repo: 'https://example.com/acme/api', cve: 'CVE-2026-1234' } },
      ),
    ]);
    const wf = await waitForPhase(env().admin, NS, 'chain', ['Succeeded', 'Failed']);
    expect(wf.status?.phase).toBe('Succeeded');
    expect(wf.status?.progress).toBe('3/3');
    expect(wf.status?.observedGeneration).toBe(1);
    expect(
      wf.status?.steps?.map((s) => ({
        name: s.name,
        phase: s.phase,
        attempt: s.attempt,
        podName: s.podName,
        outputs: s.outputs,
      })),
    ).toEqual([
      {
        name: 'scan',
        phase: 'Succeeded',
        attempt: 1,
        podName: 'chain-scan-1',
        outputs: { findings: 2, patch: 'diff --git a/x b/x', summary: '2 issues' },
      },
      {
        name: 'patch',
        phase: 'Succeeded',
        attempt: 1,
        podName: 'chain-patch-1',
        outputs: { applied: true, files: ['x'] },
      },
      { name: 'notify', phase: 'Succeeded', attempt: 1, podName: 'chain-notify-1', outputs: { sent: true } },
    ]);
    const cond = (t: string) => wf.status?.conditions?.find((c) => c.type === t);
    expect(cond('Ready')).toMatchObject({ status: 'True', reason: 'Succeeded' });
    expect(cond('Reconciling')?.status).toBe('False');
    expect(cond('Stalled')?.status).toBe('False');
    expect(wf.status?.startedAt).toBeDefined();
    expect(wf.status?.finishedAt).toBeDefined();
    // Outputs flowed: the rendered inputs each pod received.
    const pods = new Map((await podsOf(env().admin, NS, 'chain')).map((p) => [p.metadata.name, p]));
    expect(inputsOfPod(pods.get('chain-scan-1')!)).toEqual({ repo: 'https://example.com/acme/api' });
    expect(inputsOfPod(pods.get('chain-patch-1')!)).toEqual({
      patch: 'diff --git a/x b/x',
      title: 'Fix CVE-2026-1234',
    });
    expect(inputsOfPod(pods.get('chain-notify-1')!)).toEqual({
      text: 'CVE-2026-1234: 2 issues',
      files: ['x'],
    });
    // The audit trail: history in status, an Event per transition.
    const types = wf.status?.history?.map((h) => `${h.type}${h.step ? `/${h.step}` : ''}`);
    expect(types).toEqual([
      'WorkflowStarted',
      'StepStarted/scan',
      'StepSucceeded/scan',
      'StepStarted/patch',
      'StepSucceeded/patch',
      'StepStarted/notify',
      'StepSucceeded/notify',
      'WorkflowSucceeded',
    ]);
    const events = await eventually(
      'workflow events',
      async () =>
        (
          await env().admin.list<KubeObject & { reason?: string; regarding?: { name?: string } }>(EVENT, NS)
        ).items.filter((e) => e.regarding?.name === 'chain'),
      (e) => e.some((x) => x.reason === 'WorkflowSucceeded'),
    );
    for (const r of ['WorkflowStarted', 'StepStarted', 'StepSucceeded', 'WorkflowSucceeded']) {
      expect(
        events.some((e) => e.reason === r),
        r,
      ).toBe(true);
    }
  });

  it('runs a 5-step DAG with fan-out and fan-in', async () => {
    await createAll(env().admin, [
      workflow(
        'dag',
        NS,
        [
          { name: 'scan', agentRef: { name: 'scanner' } },
          {
            name: 'review',
            agentRef: { name: 'reviewer' },
            dependsOn: ['scan'],
            inputs: { patch: '{{ steps.scan.outputs.patch }}' },
          },
          { name: 'lint', agentRef: { name: 'reviewer' }, dependsOn: ['scan'] },
          { name: 'compliance', agentRef: { name: 'reviewer' }, dependsOn: ['scan'] },
          {
            name: 'report',
            agentRef: { name: 'notifier' },
            dependsOn: ['review', 'lint', 'compliance'],
            inputs: {
              verdicts: [
                '{{ steps.review.outputs.verdict }}',
                '{{ steps.lint.outputs.verdict }}',
                '{{ steps.compliance.outputs.score }}',
              ],
            },
          },
        ],
        { parallelism: 3 },
      ),
    ]);
    const wf = await waitForPhase(env().admin, NS, 'dag', ['Succeeded', 'Failed']);
    expect(wf.status?.phase).toBe('Succeeded');
    expect(wf.status?.progress).toBe('5/5');
    expect(wf.status?.steps?.every((s) => s.phase === 'Succeeded' && s.attempt === 1)).toBe(true);
    const pods = new Map((await podsOf(env().admin, NS, 'dag')).map((p) => [p.metadata.name, p]));
    expect(inputsOfPod(pods.get('dag-report-1')!)).toEqual({ verdicts: ['ok', 'ok', 0.9] });
    // Fan-out really ran in parallel: the three middle pods were created before any of them finished.
    const created = (n: string) => Date.parse(pods.get(n)!.metadata.creationTimestamp!);
    const middle = ['dag-review-1', 'dag-lint-1', 'dag-compliance-1'].map(created);
    expect(Math.max(...middle) - Math.min(...middle)).toBeLessThanOrEqual(1000);
    expect(created('dag-report-1')).toBeGreaterThanOrEqual(Math.max(...middle));
  });

  it('skips a branch whose when condition is false; its dependents still run', async () => {
    await createAll(env().admin, [
      workflow('skip', NS, [
        { name: 'scan', agentRef: { name: 'clean-scanner' } },
        {
          name: 'patch',
          agentRef: { name: 'patcher' },
          dependsOn: ['scan'],
          when: 'steps.scan.outputs.findings > 0',
        },
        {
          name: 'notify',
          agentRef: { name: 'notifier' },
          dependsOn: ['patch'],
          inputs: { text: '{{ steps.scan.outputs.summary }}' },
        },
      ]),
    ]);
    const wf = await waitForPhase(env().admin, NS, 'skip', ['Succeeded', 'Failed']);
    expect(wf.status?.phase).toBe('Succeeded');
    expect(stepOf(wf, 'patch')).toMatchObject({ phase: 'Skipped', reason: 'ConditionFalse' });
    expect(stepOf(wf, 'notify')).toMatchObject({ phase: 'Succeeded' });
    expect((await podsOf(env().admin, NS, 'skip')).map((p) => p.metadata.name).sort()).toEqual([
      'skip-notify-1',
      'skip-scan-1',
    ]);
  });

  it('retries a failing step with growing delays, then fails the workflow with a reason', async () => {
    await createAll(env().admin, [
      simAgent(
        'flaky',
        NS,
        { failAttempts: 9 },
        { retries: { limit: 2, backoff: { seconds: 1, factor: 2, maxSeconds: 60 } } },
      ),
    ]);
    await eventually(
      'flaky Ready',
      () => env().admin.get<Agent>(AGENT, NS, 'flaky'),
      (x) => x.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    );
    await createAll(env().admin, [workflow('retry', NS, [{ name: 'work', agentRef: { name: 'flaky' } }])]);
    // Record when each attempt's pod appears.
    const seen = new Map<string, number>();
    const finished = new Map<string, number>();
    const wf = await eventually(
      'retry workflow Failed',
      async () => {
        for (const p of await podsOf(env().admin, NS, 'retry')) {
          const n = p.metadata.name ?? '';
          if (!seen.has(n)) seen.set(n, Date.now());
          if (p.status?.phase === 'Failed' && !finished.has(n)) finished.set(n, Date.now());
        }
        return env().admin.get<Workflow>(WORKFLOW, NS, 'retry');
      },
      (w) => w.status?.phase === 'Failed',
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    expect([...seen.keys()].sort()).toEqual(['retry-work-1', 'retry-work-2', 'retry-work-3']);
    const gap1 = seen.get('retry-work-2')! - finished.get('retry-work-1')!;
    const gap2 = seen.get('retry-work-3')! - finished.get('retry-work-2')!;
    expect(gap1).toBeGreaterThanOrEqual(800); // 1 s backoff (minus polling slack)
    expect(gap2).toBeGreaterThanOrEqual(1800); // 2 s backoff
    expect(gap2).toBeGreaterThan(gap1);
    expect(stepOf(wf, 'work')).toMatchObject({ phase: 'Failed', reason: 'Error', attempt: 3 });
    expect(stepOf(wf, 'work').message).toContain('after 3 attempts');
    expect(wf.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'Error',
    });
    expect(wf.status?.history?.filter((h) => h.type === 'StepRetrying').length).toBe(2);
  });

  it('fails a step whose outputs violate the outputsSchema with OutputSchemaInvalid and the JSON pointer', async () => {
    await createAll(env().admin, [
      simAgent(
        'liar',
        NS,
        { result: { count: 'many' } },
        { outputsSchema: { type: 'object', properties: { count: { type: 'integer' } } } },
      ),
    ]);
    await eventually(
      'liar Ready',
      () => env().admin.get<Agent>(AGENT, NS, 'liar'),
      (x) => x.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    );
    await createAll(env().admin, [workflow('badout', NS, [{ name: 'count', agentRef: { name: 'liar' } }])]);
    const wf = await waitForPhase(env().admin, NS, 'badout', ['Failed', 'Succeeded']);
    expect(stepOf(wf, 'count')).toMatchObject({ phase: 'Failed', reason: 'OutputSchemaInvalid' });
    expect(stepOf(wf, 'count').message).toContain('/count');
  });

  it('ends a step that runs past its timeout: the pod is removed and the step fails with Timeout', async () => {
    await createAll(env().admin, [simAgent('sleepy', NS, { duration: '10m' }, { timeoutSeconds: 2 })]);
    await eventually(
      'sleepy Ready',
      () => env().admin.get<Agent>(AGENT, NS, 'sleepy'),
      (x) => x.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    );
    await createAll(env().admin, [workflow('slow', NS, [{ name: 'nap', agentRef: { name: 'sleepy' } }])]);
    const wf = await waitForPhase(env().admin, NS, 'slow', ['Failed', 'Succeeded'], 30_000);
    expect(stepOf(wf, 'nap')).toMatchObject({ phase: 'Failed', reason: 'Timeout' });
    expect(wf.status?.history?.some((h) => h.type === 'StepFailed' && h.reason === 'Timeout')).toBe(true);
    await eventually(
      'timed-out pod removed',
      () => podsOf(env().admin, NS, 'slow'),
      (p) => p.length === 0,
      { timeoutMs: 15_000 },
    );
  });

  it('retries a step whose pod is deleted mid-run, and never leaves it Running', async () => {
    await createAll(env().admin, [
      simAgent('held', NS, { manual: true }, { retries: { limit: 1, backoff: { seconds: 1 } } }),
    ]);
    await eventually(
      'held Ready',
      () => env().admin.get<Agent>(AGENT, NS, 'held'),
      (x) => x.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    );
    await createAll(env().admin, [workflow('victim', NS, [{ name: 'hold', agentRef: { name: 'held' } }])]);
    await eventually(
      'pod 1 running',
      () => podsOf(env().admin, NS, 'victim'),
      (p) => p.some((x) => x.status?.phase === 'Running'),
    );
    env().kubectl(['delete', 'pod', '-n', NS, 'victim-hold-1', '--wait=false']);
    const second = await eventually(
      'attempt 2 pod',
      () => podsOf(env().admin, NS, 'victim'),
      (p) => p.some((x) => x.metadata.name === 'victim-hold-2' && x.status?.phase === 'Running'),
      { timeoutMs: 30_000 },
    );
    expect(second.length).toBeGreaterThan(0);
    const mid = await env().admin.get<Workflow>(WORKFLOW, NS, 'victim');
    expect(mid.status?.history?.some((h) => h.type === 'StepRetrying' && h.reason === 'PodDeleted')).toBe(
      true,
    );
    env().kubectl([
      'annotate',
      'pod',
      '-n',
      NS,
      'victim-hold-2',
      'sim.paddock.dev/outcome=succeed',
      'sim.paddock.dev/result={"ok":true}',
    ]);
    const wf = await waitForPhase(env().admin, NS, 'victim', ['Succeeded', 'Failed']);
    expect(stepOf(wf, 'hold')).toMatchObject({ phase: 'Succeeded', attempt: 2, outputs: { ok: true } });
  });

  it('stalls (not crashes) on an unknown Agent and a schema mismatch, then runs once the Agent exists', async () => {
    await createAll(env().admin, [
      workflow('stalled', NS, [{ name: 'a', agentRef: { name: 'not-yet' }, inputs: { n: 1 } }]),
    ]);
    const w1 = await eventually(
      'stalled',
      () => env().admin.get<Workflow>(WORKFLOW, NS, 'stalled'),
      (w) => w.status?.conditions?.some((c) => c.type === 'Stalled' && c.status === 'True') ?? false,
    );
    expect(w1.status?.phase).toBe('Pending');
    expect(w1.status?.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({
      reason: 'AgentNotFound',
    });
    expect(w1.status?.conditions?.find((c) => c.type === 'Stalled')?.message).toContain('not-yet');
    // The Agent appears, but wants a string where the step gives a number.
    await createAll(env().admin, [
      simAgent(
        'not-yet',
        NS,
        { result: {} },
        { inputsSchema: { type: 'object', properties: { n: { type: 'string' } } } },
      ),
    ]);
    const w2 = await eventually(
      'schema mismatch',
      () => env().admin.get<Workflow>(WORKFLOW, NS, 'stalled'),
      (w) =>
        w.status?.conditions?.some((c) => c.type === 'Stalled' && c.reason === 'InputsSchemaMismatch') ??
        false,
    );
    expect(w2.status?.conditions?.find((c) => c.type === 'Stalled')?.message).toContain(
      'spec.steps[a].inputs.n',
    );
    // Fix the Agent: the Workflow starts by itself.
    await env().admin.patch(AGENT, NS, 'not-yet', {
      spec: { inputsSchema: { properties: { n: { type: 'integer' } } } },
    });
    const w3 = await waitForPhase(env().admin, NS, 'stalled', ['Succeeded', 'Failed']);
    expect(w3.status?.phase).toBe('Succeeded');
    expect(op.exited).toBe(false);
  });

  it('cancels a running workflow: pods are removed and steps marked Cancelled', async () => {
    await createAll(env().admin, [
      workflow('cancelme', NS, [
        { name: 'hold', agentRef: { name: 'held' } },
        { name: 'after', agentRef: { name: 'notifier' }, dependsOn: ['hold'] },
      ]),
    ]);
    await eventually(
      'running',
      () => podsOf(env().admin, NS, 'cancelme'),
      (p) => p.some((x) => x.status?.phase === 'Running'),
    );
    await env().admin.patch(WORKFLOW, NS, 'cancelme', { spec: { cancel: true } });
    const wf = await waitForPhase(env().admin, NS, 'cancelme', ['Cancelled']);
    expect(stepOf(wf, 'hold').phase).toBe('Cancelled');
    expect(stepOf(wf, 'after').phase).toBe('Cancelled');
    await eventually(
      'pods gone',
      () => podsOf(env().admin, NS, 'cancelme'),
      (p) => p.length === 0,
    );
  });

  it('makes steps wait with QuotaExceeded when the agent quota is full, and proceeds once room frees', async () => {
    const QNS = 'wf-quota';
    env().kubectl(['apply', '-f', '-'], restrictedNamespace(QNS, { 'paddock.dev/agent-quota-pods': '2' }));
    await createAll(env().admin, [simAgent('worker', QNS, { result: { ok: true }, duration: '1500ms' })]);
    await eventually(
      'agent quota in place',
      () =>
        env().admin.get<KubeObject & { spec?: { hard?: Record<string, string> } }>(
          RESOURCE_QUOTA,
          QNS,
          'paddock-agents',
        ),
      (q) => q.spec?.hard?.['pods'] === '2',
    );
    await eventually(
      'worker Ready',
      () => env().admin.get<Agent>(AGENT, QNS, 'worker'),
      (x) => x.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    );
    await createAll(env().admin, [
      workflow(
        'crowd',
        QNS,
        ['a', 'b', 'c', 'd'].map((n) => ({ name: n, agentRef: { name: 'worker' } })),
        { parallelism: 4 },
      ),
    ]);
    const waiting = await eventually(
      'a step waits for quota',
      () => env().admin.get<Workflow>(WORKFLOW, QNS, 'crowd'),
      (w) => w.status?.steps?.some((st) => st.phase === 'Waiting' && st.reason === 'QuotaExceeded') ?? false,
    );
    const w = waiting.status!.steps!.find((st) => st.reason === 'QuotaExceeded')!;
    expect(w.message).toContain('ResourceQuota');
    const wf = await waitForPhase(env().admin, QNS, 'crowd', ['Succeeded', 'Failed'], 60_000);
    expect(wf.status?.phase).toBe('Succeeded');
    expect(wf.status?.steps?.every((st) => st.phase === 'Succeeded' && st.attempt === 1)).toBe(true);
    expect(wf.status?.history?.some((h) => h.type === 'StepWaiting' && h.reason === 'QuotaExceeded')).toBe(
      true,
    );
    // It waited, it did not fail-storm: no step failed or retried.
    expect(wf.status?.history?.some((h) => h.type === 'StepFailed' || h.type === 'StepRetrying')).toBe(false);
  });

  it('brings back a deleted sandbox NetworkPolicy while workflows run', async () => {
    env().kubectl(['delete', 'networkpolicy', '-n', NS, 'paddock-agents-default-deny']);
    const np = await eventually(
      'default deny back',
      () =>
        env().admin.get<KubeObject & { spec?: { policyTypes?: string[] } }>(
          NETWORK_POLICY,
          NS,
          'paddock-agents-default-deny',
        ),
      (x) => x.metadata.name !== undefined,
      { timeoutMs: 15_000 },
    );
    expect(np.spec?.policyTypes).toEqual(['Ingress', 'Egress']);
  });

  it('admits every agent pod under Pod Security restricted, with the sandbox contract', async () => {
    const pods = await podsOf(env().admin, NS, 'chain');
    expect(pods.length).toBe(3);
    for (const p of pods) {
      expect(p.spec.securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(p.spec.automountServiceAccountToken).toBe(false);
      expect(p.spec.containers[0]!.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      expect(p.spec.activeDeadlineSeconds).toBeGreaterThan(0);
      expect(p.metadata.ownerReferences?.[0]).toMatchObject({
        kind: 'Workflow',
        name: 'chain',
        controller: true,
      });
    }
    await sleep(0);
  });
});
