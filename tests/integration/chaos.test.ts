// The operator is SIGKILLed at random moments while 50 workflows run. After
// each restart it must pick up where it was: every workflow finishes, no step
// gets a second pod for one attempt or a spurious extra attempt, and the final
// statuses (and their audit history) equal those of an undisturbed run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT, WORKFLOW } from '../../operator/src/api/constants.ts';
import type { Agent, Workflow } from '../../operator/src/api/generated/index.ts';
import { LABEL_ATTEMPT, LABEL_STEP, LABEL_WORKFLOW } from '../../operator/src/api/labels.ts';
import { POD } from '../../operator/src/api/constants.ts';
import { SERVICE_ACCOUNT, type Pod } from '../../operator/src/kube/core-types.ts';
import { useCluster } from './support/cluster.ts';
import { OperatorProcess, operatorKubeconfig } from './support/operator.ts';
import { eventually, sleep } from './support/wait.ts';
import { createAll, simAgent, workflow } from './support/workflows.ts';

const NS = 'chaos';
const WORKFLOWS = 50;

function template(name: string): Workflow {
  return workflow(
    name,
    NS,
    [
      { name: 'a', agentRef: { name: 'fast' }, inputs: { id: '{{ inputs.id }}' } },
      { name: 'b', agentRef: { name: 'flaky' }, dependsOn: ['a'], inputs: { n: '{{ steps.a.outputs.n }}' } },
      { name: 'c', agentRef: { name: 'fast' }, dependsOn: ['a'], when: 'steps.a.outputs.n > 5' },
      { name: 'd', agentRef: { name: 'fast' }, dependsOn: ['b', 'c'] },
    ],
    { inputs: { id: name }, parallelism: 2 },
  );
}

/** What must be identical between runs: no times, no pod names, no free-text messages. */
function normalize(wf: Workflow): unknown {
  return {
    phase: wf.status?.phase,
    progress: wf.status?.progress,
    steps: wf.status?.steps?.map((s) => ({
      name: s.name,
      phase: s.phase,
      attempt: s.attempt,
      reason: s.reason,
      outputs: s.outputs,
    })),
    // The same audit entries, none missing and none twice. Their order records when the operator
    // observed things, which legitimately differs when it was down while steps finished.
    history: wf.status?.history?.map((h) => [h.type, h.step, h.attempt, h.reason].join('/')).sort(),
    conditions: wf.status?.conditions?.map((c) => [c.type, c.status, c.reason].join('/')).sort(),
  };
}

describe('chaos: the operator killed at random moments', () => {
  const env = useCluster({ nodes: 3 });
  let kc: string;
  let op: OperatorProcess | undefined;
  let kills = 0;

  const startOperator = (): OperatorProcess =>
    OperatorProcess.start(kc, ['--leader-elect=false', '--log-level=info']);

  beforeAll(async () => {
    kc = operatorKubeconfig(env());
    env().kubectl(['create', 'namespace', NS]);
    await createAll(env().admin, [
      simAgent('fast', NS, { result: { n: 1 }, duration: '800ms' }),
      simAgent(
        'flaky',
        NS,
        { result: { ok: true }, duration: '600ms', failAttempts: 1 },
        { retries: { limit: 2, backoff: { seconds: 1 } } },
      ),
    ]);
    op = startOperator();
    // The reference run should not include the one-time wait for the sandbox.
    await eventually(
      'agent ServiceAccount',
      () => env().admin.get(SERVICE_ACCOUNT, NS, 'paddock-agent'),
      () => true,
    );
    for (const a of ['fast', 'flaky']) {
      await eventually(
        `${a} Ready`,
        () => env().admin.get<Agent>(AGENT, NS, a),
        (x) => x.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
      );
    }
  });
  afterAll(async () => {
    await op?.stop();
  });

  let reference: unknown;

  it('an undisturbed run gives the reference status', async () => {
    await createAll(env().admin, [template('calm')]);
    const wf = await eventually(
      'calm finished',
      () => env().admin.get<Workflow>(WORKFLOW, NS, 'calm'),
      (w) => ['Succeeded', 'Failed'].includes(w.status?.phase ?? ''),
      { timeoutMs: 60_000 },
    );
    expect(wf.status?.phase).toBe('Succeeded');
    reference = normalize(wf);
    expect(reference).toMatchObject({
      steps: [
        { name: 'a', phase: 'Succeeded', attempt: 1 },
        { name: 'b', phase: 'Succeeded', attempt: 2 },
        { name: 'c', phase: 'Skipped', reason: 'ConditionFalse' },
        { name: 'd', phase: 'Succeeded', attempt: 1 },
      ],
    });
  });

  it(`finishes ${WORKFLOWS} workflows through repeated SIGKILLs with the same result`, async () => {
    const names = Array.from({ length: WORKFLOWS }, (_, i) => `storm-${i}`);
    const submit = (async () => {
      for (const n of names) {
        await env().admin.create(WORKFLOW, template(n));
        await sleep(300); // spread over ~15 s so kills land in every phase of many workflows
      }
    })();
    const deadline = Date.now() + 240_000;
    for (;;) {
      // Random moments: the operator needs ~0.5 s to start, so it gets 0.5-3 s of work per life.
      await sleep(1000 + Math.random() * 2500);
      const list = (await env().admin.list<Workflow>(WORKFLOW, NS)).items.filter((w) =>
        w.metadata.name?.startsWith('storm-'),
      );
      const finished = list.filter((w) =>
        ['Succeeded', 'Failed', 'Cancelled'].includes(w.status?.phase ?? ''),
      ).length;
      if (finished === WORKFLOWS) break;
      if (Date.now() > deadline)
        throw new Error(`only ${finished}/${WORKFLOWS} finished; operator log:\n${op?.dumpLogs(60) ?? ''}`);
      await op!.kill();
      kills++;
      op = startOperator();
    }
    await submit;
    console.log(`chaos: ${kills} SIGKILLs while ${WORKFLOWS} workflows ran`);
    expect(kills).toBeGreaterThanOrEqual(5);

    const pods = (await env().admin.list<Pod>(POD, NS)).items.filter((p) =>
      p.metadata.labels?.[LABEL_WORKFLOW]?.startsWith('storm-'),
    );
    // Exactly the attempts an undisturbed run makes: a1, b1, b2, d1 per workflow — never a second
    // pod for one attempt, never an extra attempt caused by a restart.
    const perAttempt = new Map<string, number>();
    for (const p of pods) {
      const k = `${p.metadata.labels![LABEL_WORKFLOW]}/${p.metadata.labels![LABEL_STEP]}/${p.metadata.labels![LABEL_ATTEMPT]}`;
      perAttempt.set(k, (perAttempt.get(k) ?? 0) + 1);
    }
    expect([...perAttempt.values()].every((n) => n === 1)).toBe(true);
    const expected = names.flatMap((n) => [`${n}/a/1`, `${n}/b/1`, `${n}/b/2`, `${n}/d/1`]).sort();
    expect([...perAttempt.keys()].sort()).toEqual(expected);

    for (const n of names) {
      const wf = await env().admin.get<Workflow>(WORKFLOW, NS, n);
      expect({ name: n, ...(normalize(wf) as object) }).toEqual({ name: n, ...(reference as object) });
    }
  }, 300_000);
});
