// The operator is SIGKILLed at random moments while 50 workflows run. After
// each restart it must pick up where it was: every workflow finishes, no step
// (and no instance of a forEach step) gets a second pod for one attempt or a
// spurious extra attempt, and the final statuses (their fan-outs' instances and
// their audit history included) equal those of an undisturbed run.
//
// Three kinds of run are mixed: a plain DAG with a retried step and a skipped
// one; a DAG with a forEach step over an upstream step's output (8 instances,
// each failing its first attempt, one failing every attempt, one skipped by its
// `when`) read by a fan-in step and by a finally step, the fan-out advisory so
// the run succeeds; and the same with the fan-out not advisory, so the fan-in is
// skipped, the run fails and the finally step reports it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT, POD, WORKFLOW } from '../../operator/src/api/constants.ts';
import type { Agent, Workflow, WorkflowStep } from '../../operator/src/api/generated/index.ts';
import {
  LABEL_ATTEMPT,
  LABEL_INSTANCE,
  LABEL_STEP,
  LABEL_WORKFLOW,
  attemptPodName,
} from '../../operator/src/api/labels.ts';
import { SERVICE_ACCOUNT, type Pod } from '../../operator/src/kube/core-types.ts';
import { useCluster } from './support/cluster.ts';
import { OperatorProcess, operatorKubeconfig } from './support/operator.ts';
import { eventually, sleep } from './support/wait.ts';
import { createAll, simAgent, workflow } from './support/workflows.ts';

const NS = 'chaos';
const WORKFLOWS = 50;
const AGENTS = ['fast', 'flaky', 'lister', 'echo', 'echo-flaky'];

/** The list the fan-out runs over (the `lister` Agent's output). */
const ITEMS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel'];
/** The instance whose `when` is false, and the one whose every attempt fails. */
const SKIPPED = 3;
const BROKEN = 5;
/** Attempts of the Agent `echo-flaky`: the first fails, then up to 2 retries. */
const ATTEMPTS = 3;

type Kind = 'dag' | 'fan' | 'fan-fail';
const KINDS: readonly Kind[] = ['dag', 'fan', 'fan-fail'];
const kindOf = (i: number): Kind => KINDS[i % KINDS.length]!;

function template(name: string, kind: Kind): Workflow {
  if (kind === 'dag') {
    return workflow(
      name,
      NS,
      [
        { name: 'a', agentRef: { name: 'fast' }, inputs: { id: '{{ inputs.id }}' } },
        {
          name: 'b',
          agentRef: { name: 'flaky' },
          dependsOn: ['a'],
          inputs: { n: '{{ steps.a.outputs.n }}' },
        },
        { name: 'c', agentRef: { name: 'fast' }, dependsOn: ['a'], when: 'steps.a.outputs.n > 5' },
        { name: 'd', agentRef: { name: 'fast' }, dependsOn: ['b', 'c'] },
      ],
      { inputs: { id: name }, parallelism: 2 },
    );
  }
  const each: WorkflowStep = {
    name: 'each',
    agentRef: { name: 'echo-flaky' },
    dependsOn: ['list'],
    forEach: { expression: 'steps.list.outputs.items', failurePolicy: 'RunAll' },
    when: `index != ${SKIPPED}`,
    // Echoed back as the instance's outputs; `run` shows they came from this run's pods.
    inputs: { item: '{{ item }}', index: '{{ index }}', run: '{{ inputs.id }}' },
    ...(kind === 'fan' ? { continueOnFailure: true } : {}),
  };
  return workflow(
    name,
    NS,
    [
      { name: 'list', agentRef: { name: 'lister' } },
      each,
      {
        name: 'gather',
        agentRef: { name: 'echo' },
        dependsOn: ['each'],
        inputs: {
          outputs: '{{ steps.each.outputs }}',
          succeeded: '{{ steps.each.outputs.filter(o, o != null).size() }}',
        },
      },
    ],
    {
      inputs: { id: name },
      parallelism: 3,
      finally: [
        {
          name: 'report',
          agentRef: { name: 'echo' },
          inputs: {
            status: '{{ workflow.status }}',
            failed: '{{ workflow.failedSteps }}',
            each: '{{ steps.each.phase }}',
            outputs: '{{ steps.each.outputs }}',
          },
        },
      ],
    },
  );
}

/** The pods an undisturbed run makes: `<step>/<attempt>`, or `<step>/<instance>/<attempt>` for an instance. */
function expectedPods(kind: Kind): string[] {
  if (kind === 'dag') return ['a/1', 'b/1', 'b/2', 'd/1'];
  const instances = ITEMS.flatMap((_, i) => {
    if (i === SKIPPED) return [];
    const attempts = i === BROKEN ? ATTEMPTS : 2;
    return Array.from({ length: attempts }, (_, a) => `each/${i}/${a + 1}`);
  });
  return ['list/1', ...instances, ...(kind === 'fan' ? ['gather/1'] : []), 'report/1'];
}

/** What must be identical between runs: no times, no pod names, no free-text messages. */
function normalize(wf: Workflow): unknown {
  const out = {
    phase: wf.status?.phase,
    progress: wf.status?.progress,
    steps: wf.status?.steps?.map((s) => ({
      name: s.name,
      phase: s.phase,
      attempt: s.attempt,
      reason: s.reason,
      outputs: s.outputs,
      ...(s.instances
        ? {
            instances: {
              count: s.instances.count,
              phases: s.instances.phases,
              attempts: s.instances.attempts,
              outputs: s.instances.outputs,
              // Nothing left active once the run has ended; the failures are the same instances.
              active: (s.instances.active ?? []).map((a) => a.index),
              failures: (s.instances.failures ?? []).map((f) => [f.index, f.attempt, f.reason].join('/')),
            },
          }
        : {}),
    })),
    // The same audit entries, none missing and none twice. Their order records when the operator
    // observed things, which legitimately differs when it was down while steps finished.
    history: wf.status?.history?.map((h) => [h.type, h.step, h.attempt, h.reason].join('/')).sort(),
    conditions: wf.status?.conditions?.map((c) => [c.type, c.status, c.reason].join('/')).sort(),
  };
  // Echoed outputs carry the run's own name: compare runs with it written as <self>.
  const self = wf.metadata.name ?? '';
  return JSON.parse(JSON.stringify(out).replaceAll(`"${self}"`, '"<self>"'));
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
      simAgent('lister', NS, { result: { items: ITEMS }, duration: '500ms' }),
      simAgent('echo', NS, { echoInputs: true, duration: '300ms' }),
      // Every instance fails its first attempt; instance BROKEN fails all of them.
      simAgent(
        'echo-flaky',
        NS,
        { echoInputs: true, duration: '400ms', failAttempts: 1, failInstances: [BROKEN] },
        { retries: { limit: ATTEMPTS - 1, backoff: { seconds: 1 } } },
      ),
    ]);
    op = startOperator();
    // The reference run should not include the one-time wait for the sandbox.
    await eventually(
      'agent ServiceAccount',
      () => env().admin.get(SERVICE_ACCOUNT, NS, 'paddock-agent'),
      () => true,
    );
    for (const a of AGENTS) {
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

  const reference = new Map<Kind, unknown>();

  it('undisturbed runs give the reference statuses', async () => {
    await createAll(
      env().admin,
      KINDS.map((k) => template(`calm-${k}`, k)),
    );
    for (const k of KINDS) {
      const wf = await eventually(
        `calm-${k} finished`,
        () => env().admin.get<Workflow>(WORKFLOW, NS, `calm-${k}`),
        (w) => ['Succeeded', 'Failed'].includes(w.status?.phase ?? ''),
        { timeoutMs: 90_000 },
      );
      reference.set(k, normalize(wf));
    }
    expect(reference.get('dag')).toMatchObject({
      phase: 'Succeeded',
      steps: [
        { name: 'a', phase: 'Succeeded', attempt: 1 },
        { name: 'b', phase: 'Succeeded', attempt: 2 },
        { name: 'c', phase: 'Skipped', reason: 'ConditionFalse' },
        { name: 'd', phase: 'Succeeded', attempt: 1 },
      ],
    });
    // The fan-out: every instance retried once, SKIPPED skipped, BROKEN failed after all its attempts.
    const phases = ITEMS.map((_, i) => (i === SKIPPED ? 'K' : i === BROKEN ? 'F' : 'S')).join('');
    const outputs = ITEMS.map((item, index) =>
      index === SKIPPED || index === BROKEN ? null : { item, index, run: '<self>' },
    );
    const each = {
      name: 'each',
      phase: 'Failed',
      reason: 'InstancesFailed',
      instances: {
        count: ITEMS.length,
        phases,
        // Each ran instance's last attempt (toMatchObject: how a skipped one is kept is not the point).
        attempts: Object.fromEntries(
          ITEMS.flatMap((_, i) => (i === SKIPPED ? [] : [[String(i), i === BROKEN ? ATTEMPTS : 2]])),
        ),
        outputs,
        active: [],
        failures: [`${BROKEN}/${ATTEMPTS}/Error`],
      },
    };
    const report = (status: string) => ({
      name: 'report',
      phase: 'Succeeded',
      attempt: 1,
      outputs: { status, failed: ['each'], each: 'Failed', outputs },
    });
    expect(reference.get('fan')).toMatchObject({
      phase: 'Succeeded',
      steps: [
        { name: 'list', phase: 'Succeeded', attempt: 1 },
        each,
        {
          name: 'gather',
          phase: 'Succeeded',
          attempt: 1,
          outputs: { outputs, succeeded: ITEMS.length - 2 },
        },
        report('Succeeded'),
      ],
    });
    expect(reference.get('fan-fail')).toMatchObject({
      phase: 'Failed',
      steps: [
        { name: 'list', phase: 'Succeeded', attempt: 1 },
        each,
        { name: 'gather', phase: 'Skipped', reason: 'UpstreamFailed' },
        report('Failed'),
      ],
    });
    for (const k of KINDS) {
      const pods = await podKeys((w) => w === `calm-${k}`);
      expect([...pods.values()].every((n) => n === 1)).toBe(true);
      expect([...pods.keys()].sort()).toEqual(
        expectedPods(k)
          .map((p) => `calm-${k}/${p}`)
          .sort(),
      );
    }
  }, 120_000);

  /**
   * The agent pods of the workflows `which` selects, counted by `<workflow>/<step>[/<instance>]/<attempt>`
   * from their labels; each pod's name must be the one its labels give.
   */
  async function podKeys(which: (wf: string) => boolean): Promise<Map<string, number>> {
    const pods = (await env().admin.list<Pod>(POD, NS)).items.filter((p) =>
      which(p.metadata.labels?.[LABEL_WORKFLOW] ?? ''),
    );
    const keys = new Map<string, number>();
    for (const p of pods) {
      const l = p.metadata.labels!;
      const [wf, step, instance, attempt] = [
        l[LABEL_WORKFLOW]!,
        l[LABEL_STEP]!,
        l[LABEL_INSTANCE],
        l[LABEL_ATTEMPT]!,
      ];
      expect(p.metadata.name).toBe(
        attemptPodName(wf, step, Number(attempt), instance === undefined ? undefined : Number(instance)),
      );
      const k = [wf, step, ...(instance === undefined ? [] : [instance]), attempt].join('/');
      keys.set(k, (keys.get(k) ?? 0) + 1);
    }
    return keys;
  }

  it(`finishes ${WORKFLOWS} workflows through repeated SIGKILLs with the same result`, async () => {
    const names = Array.from({ length: WORKFLOWS }, (_, i) => `storm-${i}`);
    const submit = (async () => {
      for (const [i, n] of names.entries()) {
        await env().admin.create(WORKFLOW, template(n, kindOf(i)));
        await sleep(300); // spread over ~15 s so kills land in every phase of many workflows
      }
    })();
    // Where the kills landed: with a fan-out running, with a finally step running.
    let inFanOut = 0;
    let inFinally = 0;
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
      const running = (step: string) =>
        list.some((w) => w.status?.steps?.some((s) => s.name === step && s.phase === 'Running'));
      if (running('each')) inFanOut++;
      if (running('report')) inFinally++;
      await op!.kill();
      kills++;
      op = startOperator();
    }
    await submit;
    console.log(
      `chaos: ${kills} SIGKILLs while ${WORKFLOWS} workflows ran (${inFanOut} during a fan-out, ${inFinally} during a finally step)`,
    );
    expect(kills).toBeGreaterThanOrEqual(5);
    expect(inFanOut).toBeGreaterThanOrEqual(3);
    expect(inFinally).toBeGreaterThanOrEqual(1);

    // Exactly the attempts an undisturbed run makes (a1, b1, b2, d1 for a plain DAG; each instance's
    // attempts for a fan-out) — never a second pod for one attempt of a step or of an instance,
    // never an extra attempt caused by a restart.
    const perAttempt = await podKeys((w) => w.startsWith('storm-'));
    expect([...perAttempt].filter(([, n]) => n !== 1)).toEqual([]);
    const expected = names.flatMap((n, i) => expectedPods(kindOf(i)).map((p) => `${n}/${p}`)).sort();
    expect([...perAttempt.keys()].sort()).toEqual(expected);

    for (const [i, n] of names.entries()) {
      const wf = await env().admin.get<Workflow>(WORKFLOW, NS, n);
      expect({ name: n, ...(normalize(wf) as object) }).toEqual({
        name: n,
        ...(reference.get(kindOf(i)) as object),
      });
    }
  }, 300_000);
});
