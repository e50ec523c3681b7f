// Pods that cannot start end their attempt within a bound, with a reason naming the cause
// (operator/src/controllers/workflow/pod-start.ts), and containers that end badly say how.
import { describe, expect, it } from 'vitest';
import { AGENT_CONTAINER } from '../../../../operator/src/api/labels.ts';
import {
  START_BOUNDS_MS,
  startVerdict,
  terminationCause,
} from '../../../../operator/src/controllers/workflow/pod-start.ts';
import type { Pod, PodStatus } from '../../../../operator/src/kube/core-types.ts';
import { agent, Sim, step, T0, workflow } from './engine-sim.ts';

const RETRIES = { limit: 2, backoff: { seconds: 5, factor: 1, maxSeconds: 5 } };

function sim(extra: Parameters<typeof agent>[1] = {}): Sim {
  const s = new Sim(workflow([step('a', { agentRef: { name: 'tool' } })]), [
    agent('tool', { timeoutSeconds: 600, retries: RETRIES, ...extra }),
  ]);
  s.pass();
  return s;
}

/** What the kubelet reports for wf-a-1, on node `node` (null: not scheduled). */
function report(s: Sim, status: PodStatus, node: string | null = 'real-0', name = 'wf-a-1'): void {
  const pod = s.pods.get(name)!;
  s.pods.set(name, {
    ...pod,
    spec: { ...pod.spec, ...(node ? { nodeName: node } : {}) },
    status,
  });
}

const waitingOn = (reason: string, message: string): PodStatus => ({
  phase: 'Pending',
  containerStatuses: [{ name: AGENT_CONTAINER, state: { waiting: { reason, message } } }],
});

describe('pods that cannot start', () => {
  it('an image that is not on the node and may not be pulled fails the step at once, without retrying', () => {
    const s = sim();
    report(
      s,
      waitingOn(
        'ErrImageNeverPull',
        'Container image "paddock.local/x:1" is not present with pull policy of Never',
      ),
    );
    const p = s.tick(2_000).pass();
    expect(p.delete).toEqual([{ name: 'wf-a-1', reason: 'ImageNotPresent' }]);
    expect(s.step('a')).toMatchObject({ phase: 'Failed', reason: 'ImageNotPresent' });
    expect(s.step('a').message).toContain('not present on node real-0');
    expect(s.step('a').message).toContain('paddock.local/x:1');
    const failed = p.events.find((e) => e.reason === 'StepFailed');
    expect(failed?.type).toBe('Warning');
    expect(failed?.note).toContain('not present on node real-0');
    expect(p.create).toEqual([]);
  });

  it('an invalid image reference fails at once too', () => {
    const s = sim();
    report(
      s,
      waitingOn('InvalidImageName', 'Failed to apply default image tag "UPPER/x": invalid reference format'),
    );
    s.tick(1_000).pass();
    expect(s.step('a')).toMatchObject({ phase: 'Failed', reason: 'InvalidImage' });
  });

  it('a failing pull is given two minutes, then the attempt ends (ImagePullFailed) and is retried', () => {
    const s = sim();
    report(s, waitingOn('ImagePullBackOff', 'Back-off pulling image "ghcr.io/acme/agent"'));
    const early = s.tick(START_BOUNDS_MS.pull - 1_000).pass();
    expect(early.delete).toEqual([]);
    expect(s.step('a').phase).toBe('Running');
    expect(early.requeueAfterMs).toBe(1_000);
    const p = s.tick(1_000).pass();
    expect(p.delete).toEqual([{ name: 'wf-a-1', reason: 'ImagePullFailed' }]);
    expect(s.step('a')).toMatchObject({ phase: 'Waiting', reason: 'RetryBackoff' });
    expect(s.step('a').message).toContain('ImagePullFailed: the image could not be pulled within 120s');
    expect(s.step('a').message).toContain('Back-off pulling image');
    expect(p.outcomes).toEqual([{ step: 'a', agent: 'tool', outcome: 'Retried', reason: 'ImagePullFailed' }]);
  });

  it('a missing Secret or key ends the attempt after a minute, naming it (ContainerConfigError)', () => {
    const s = sim({ retries: { limit: 0 } });
    report(s, waitingOn('CreateContainerConfigError', 'secret "model-api" not found'));
    expect(s.tick(START_BOUNDS_MS.config - 1).pass().delete).toEqual([]);
    s.tick(1).pass();
    expect(s.step('a')).toMatchObject({ phase: 'Failed', reason: 'ContainerConfigError' });
    expect(s.step('a').message).toContain('secret "model-api" not found');
  });

  it('scheduled but no container after two minutes: the pod Events are read, and their newest Warning names the cause', () => {
    const s = sim({ retries: { limit: 0 } });
    report(s, { phase: 'Pending' });
    expect(s.tick(START_BOUNDS_MS.sandbox - 1).plan().podsNeedingEvents).toEqual([]);
    const ask = s.tick(1).plan();
    expect(ask.podsNeedingEvents).toEqual(['wf-a-1']);
    expect(s.step('a').phase).toBe('Running');
    // Nothing said it failed (a large image may still be pulling): wait, look again later.
    const none = s.plan({ podWarnings: new Map([['wf-a-1', null]]) });
    expect(none.delete).toEqual([]);
    expect(none.status.steps?.[0]?.phase).toBe('Running');
    expect(none.requeueAfterMs).toBe(30_000);
    s.pass({
      podWarnings: new Map([
        [
          'wf-a-1',
          'FailedCreatePodSandBox: failed to get sandbox runtime: no runtime for "gvisor" is configured',
        ],
      ]),
    });
    expect(s.step('a')).toMatchObject({ phase: 'Failed', reason: 'PodStartFailed' });
    expect(s.step('a').message).toContain('no runtime for "gvisor" is configured');
    expect(s.step('a').message).toContain('within 120s on node real-0');
  });

  it('a pod never scheduled runs into the step timeout, whose message says why', () => {
    const s = sim({ timeoutSeconds: 30, retries: { limit: 0 } });
    report(
      s,
      {
        phase: 'Pending',
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: '0/3 nodes are available: 3 Insufficient memory.',
          },
        ],
      },
      null,
    );
    expect(s.tick(START_BOUNDS_MS.sandbox / 4).plan().podsNeedingEvents).toEqual([]);
    s.tick(60_000).pass();
    expect(s.step('a')).toMatchObject({ phase: 'Failed', reason: 'Timeout' });
    expect(s.step('a').message).toBe(
      'the step ran longer than its timeout (30s); the pod was never scheduled (Unschedulable: 0/3 nodes are available: 3 Insufficient memory.)',
    );
  });

  it('a running pod is never judged by the start bounds', () => {
    const s = sim();
    const p = s.tick(START_BOUNDS_MS.sandbox * 3).pass();
    expect(p.delete).toEqual([]);
    expect(p.podsNeedingEvents).toEqual([]);
    expect(s.step('a').phase).toBe('Running');
  });
});

describe('containers that end badly', () => {
  function ended(reason: string, exitCode: number, message?: string): Pod {
    return {
      metadata: { name: 'p' },
      spec: {
        containers: [{ name: AGENT_CONTAINER, image: 'i', resources: { limits: { memory: '64Mi' } } }],
      },
      status: {
        phase: 'Failed',
        containerStatuses: [
          {
            name: AGENT_CONTAINER,
            state: { terminated: { exitCode, reason, ...(message ? { message } : {}) } },
          },
        ],
      },
    };
  }

  it('out of memory says so, with the limit', () => {
    expect(terminationCause(ended('OOMKilled', 137))).toEqual({
      reason: 'OOMKilled',
      message: 'the container ran out of memory (limit 64Mi) and was killed (exit code 137)',
    });
  });

  it('a container that could not start says what the runtime said', () => {
    expect(
      terminationCause(ended('StartError', 128, 'exec: "/agent": stat /agent: no such file or directory')),
    ).toEqual({
      reason: 'ContainerStartFailed',
      message:
        'the container could not be started (StartError: exec: "/agent": stat /agent: no such file or directory)',
    });
  });

  it('an ordinary error is left to the exit code', () => {
    expect(terminationCause(ended('Error', 3, 'boom'))).toBeUndefined();
  });

  it('a failed network gate means the agent never started, and says why', () => {
    const gateFailed: Pod = {
      metadata: { name: 'p' },
      spec: { containers: [{ name: AGENT_CONTAINER, image: 'i' }] },
      status: {
        phase: 'Failed',
        initContainerStatuses: [
          {
            name: 'paddock-network-gate',
            state: { terminated: { exitCode: 1, message: "the pod's network was not isolated within 30s" } },
          },
        ],
        containerStatuses: [{ name: AGENT_CONTAINER, state: { waiting: { reason: 'PodInitializing' } } }],
      },
    };
    expect(terminationCause(gateFailed)).toEqual({
      reason: 'NetworkNotIsolated',
      message: "the agent was not started: the pod's network was not isolated within 30s",
    });
    // A gate that passed is nobody's cause.
    const passed = structuredClone(gateFailed);
    passed.status!.initContainerStatuses![0]!.state!.terminated!.exitCode = 0;
    expect(terminationCause(passed)).toBeUndefined();
  });

  it('the step fails with OOMKilled through the engine, and the limit is quoted', () => {
    const s = sim({ retries: { limit: 0 }, resources: { limits: { memory: '64Mi' } } });
    report(s, {
      phase: 'Failed',
      containerStatuses: [
        { name: AGENT_CONTAINER, state: { terminated: { exitCode: 137, reason: 'OOMKilled' } } },
      ],
    });
    s.tick(1_000).pass();
    expect(s.step('a')).toMatchObject({
      phase: 'Failed',
      reason: 'OOMKilled',
      message: 'the container ran out of memory (limit 64Mi) and was killed (exit code 137)',
      exitCode: 137,
    });
  });
});

describe('startVerdict', () => {
  const base = (status: PodStatus, node?: string): Pod => ({
    metadata: { name: 'p', creationTimestamp: T0.toISOString() },
    spec: { containers: [], ...(node ? { nodeName: node } : {}) },
    status,
  });

  const gated = (gate: NonNullable<PodStatus['initContainerStatuses']>[number]['state']): PodStatus => ({
    phase: 'Pending',
    initContainerStatuses: [{ name: 'paddock-network-gate', state: gate }],
    containerStatuses: [{ name: AGENT_CONTAINER, state: { waiting: { reason: 'PodInitializing' } } }],
  });

  it('a gated pod stuck before any container (PodInitializing everywhere) is bounded by the sandbox bound and its Events', () => {
    const pod = base(gated({ waiting: { reason: 'PodInitializing' } }), 'n');
    expect(startVerdict(pod, T0.getTime() + 5_000)).toEqual({
      kind: 'ok',
      wakeAtMs: T0.getTime() + START_BOUNDS_MS.sandbox,
    });
    expect(startVerdict(pod, T0.getTime() + START_BOUNDS_MS.sandbox)).toEqual({ kind: 'needEvents' });
    expect(
      startVerdict(pod, T0.getTime() + START_BOUNDS_MS.sandbox, 'FailedCreatePodSandBox: no runtime for "x"'),
    ).toMatchObject({ kind: 'failed', problem: { reason: 'PodStartFailed' } });
  });

  it("the gate's own waiting reason counts: its image cannot be pulled", () => {
    const pod = base(
      gated({ waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "op:1"' } }),
      'n',
    );
    expect(startVerdict(pod, T0.getTime() + START_BOUNDS_MS.pull)).toMatchObject({
      kind: 'failed',
      problem: { reason: 'ImagePullFailed', message: expect.stringContaining('op:1') as unknown },
    });
  });

  it('a running gate is a started container: its own timeout bounds it', () => {
    const pod = base(gated({ running: {} }), 'n');
    expect(startVerdict(pod, T0.getTime() + START_BOUNDS_MS.sandbox + 1)).toEqual({ kind: 'ok' });
  });

  it('wakes the caller exactly when a bound runs out', () => {
    const v = startVerdict(base(waitingOn('CreateContainerConfigError', 'x'), 'n'), T0.getTime() + 5_000);
    expect(v).toEqual({ kind: 'ok', wakeAtMs: T0.getTime() + START_BOUNDS_MS.config });
  });

  it('ignores pods that are running or done', () => {
    for (const phase of ['Running', 'Succeeded', 'Failed'] as const)
      expect(startVerdict(base({ phase }, 'n'), T0.getTime() + 10 * START_BOUNDS_MS.sandbox).kind).toBe('ok');
  });

  it('clips what the kubelet said', () => {
    const v = startVerdict(base(waitingOn('ErrImageNeverPull', 'y'.repeat(10_000)), 'n'), T0.getTime());
    expect(v.kind).toBe('failed');
    if (v.kind === 'failed') expect(v.problem.message.length).toBeLessThan(700);
  });
});
