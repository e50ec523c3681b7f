// The workflow engine driven pass by pass, as the reconciler drives it: each
// pass's plan is carried out on a simulated world (engine-sim.ts), and the next
// pass starts from what the last one wrote.
import { describe, expect, it } from 'vitest';
import type { HistoryEntry } from '../../../../operator/src/api/generated/index.ts';
import type { Pod } from '../../../../operator/src/kube/core-types.ts';
import {
  ANNOTATION_INPUTS_DIGEST,
  ANNOTATION_SIGNATURE,
  LABEL_ATTEMPT,
  LABEL_STEP,
} from '../../../../operator/src/api/labels.ts';
import { MAX_INPUTS_BYTES } from '../../../../operator/src/controllers/sandbox/pod.ts';
import {
  CACHE_LAG_MS,
  HISTORY_LIMIT,
  planWorkflow,
  QUOTA_RETRY_MS,
  refusedRetryMs,
  TIMEOUT_GRACE_MS,
  type CreateWaitReason,
  type EnginePlan,
  type Refusal,
} from '../../../../operator/src/controllers/workflow/engine.ts';
import {
  agent,
  created,
  expectSteady,
  IMAGE,
  inputsOf,
  NS,
  PROVENANCE,
  SENSITIVE_SCHEMA,
  Sim,
  step,
  T0,
  T0S,
  workflow,
} from './engine-sim.ts';

// --- starting -----------------------------------------------------------------------------------

describe('planWorkflow: the first pass', () => {
  const sim = new Sim(
    workflow([step('a'), step('b', { inputs: { n: 1 } }), step('c', { dependsOn: ['a', 'b'] })]),
    [agent('scanner', { timeoutSeconds: 120 })],
  );
  const plan = sim.pass();

  it('creates the root steps, attempt 1, in spec order', () => {
    expect(plan.create.map((c) => [c.step, c.attempt, c.pod.metadata.name])).toEqual([
      ['a', 1, 'wf-a-1'],
      ['b', 1, 'wf-b-1'],
    ]);
  });

  it('builds each pod for its step, attempt and workflow', () => {
    const pod = plan.create[1]!.pod;
    expect(pod.metadata.namespace).toBe(NS);
    expect(pod.metadata.labels?.[LABEL_STEP]).toBe('b');
    expect(pod.metadata.labels?.[LABEL_ATTEMPT]).toBe('1');
    expect(pod.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Workflow', name: 'wf', uid: 'wf-uid' });
    expect(inputsOf(pod)).toEqual({ n: 1 });
    expect(pod.metadata.annotations?.[ANNOTATION_INPUTS_DIGEST]).toBe(
      PROVENANCE.inputsDigest(3, IMAGE, { n: 1 }),
    );
    expect(pod.spec.activeDeadlineSeconds).toBe(120);
    expect(inputsOf(plan.create[0]!.pod)).toEqual({});
  });

  it('writes a Running status with the started steps', () => {
    expect(plan.status).toEqual({
      observedGeneration: 1,
      phase: 'Running',
      startedAt: T0S,
      progress: '0/3',
      conditions: [
        {
          type: 'Ready',
          status: 'False',
          observedGeneration: 1,
          lastTransitionTime: T0S,
          reason: 'Running',
          message: 'workflow is Running',
        },
        {
          type: 'Reconciling',
          status: 'True',
          observedGeneration: 1,
          lastTransitionTime: T0S,
          reason: 'Running',
          message: '',
        },
        {
          type: 'Stalled',
          status: 'False',
          observedGeneration: 1,
          lastTransitionTime: T0S,
          reason: 'Running',
          message: '',
        },
        {
          type: 'Suspended',
          status: 'False',
          observedGeneration: 1,
          lastTransitionTime: T0S,
          reason: 'NotSuspended',
          message: '',
        },
      ],
      steps: [
        { name: 'a', phase: 'Running', attempt: 1, podName: 'wf-a-1', startedAt: T0S },
        { name: 'b', phase: 'Running', attempt: 1, podName: 'wf-b-1', startedAt: T0S },
        { name: 'c', phase: 'Pending' },
      ],
      history: [
        { at: T0S, type: 'WorkflowStarted', reason: 'Started', message: 'running 3 steps' },
        {
          at: T0S,
          type: 'StepStarted',
          step: 'a',
          attempt: 1,
          reason: 'Started',
          message: 'pod wf-a-1 (Agent scanner)',
        },
        {
          at: T0S,
          type: 'StepStarted',
          step: 'b',
          attempt: 1,
          reason: 'Started',
          message: 'pod wf-b-1 (Agent scanner)',
        },
      ],
    });
  });

  it('records WorkflowStarted and StepStarted as Events and audit lines', () => {
    expect(plan.events).toEqual([
      { type: 'Normal', reason: 'WorkflowStarted', action: 'Workflow', note: 'running 3 steps' },
      {
        type: 'Normal',
        reason: 'StepStarted',
        action: 'Step/a',
        note: 'step a (attempt 1): pod wf-a-1 (Agent scanner)',
      },
      {
        type: 'Normal',
        reason: 'StepStarted',
        action: 'Step/b',
        note: 'step b (attempt 1): pod wf-b-1 (Agent scanner)',
      },
    ]);
    expect(plan.audits).toEqual([
      { event: 'workflow.started', reason: 'Started', message: 'running 3 steps' },
      {
        event: 'step.started',
        step: 'a',
        agent: 'scanner',
        attempt: 1,
        reason: 'Started',
        message: 'pod wf-a-1 (Agent scanner)',
      },
      {
        event: 'step.started',
        step: 'b',
        agent: 'scanner',
        attempt: 1,
        reason: 'Started',
        message: 'pod wf-b-1 (Agent scanner)',
      },
    ]);
    expect(plan.outcomes).toEqual([]);
    expect(plan.delete).toEqual([]);
    expect(plan.unknownPods).toEqual([]);
    expect(plan.deleteWorkflow).toBe(false);
    expect(plan.requeueAfterMs).toBeUndefined();
  });

  it('then waits for the running pods, looking again at their timeout', () => {
    sim.tick(1_000);
    const next = sim.plan();
    expect(next.create).toEqual([]);
    expect(next.events).toEqual([]);
    expect(next.status).toEqual(plan.status);
    expect(next.requeueAfterMs).toBe(120_000 + TIMEOUT_GRACE_MS - 1_000);
  });
});

describe('planWorkflow: parallelism', () => {
  it('starts at most spec.parallelism steps, and more as running ones finish', () => {
    const sim = new Sim(workflow([step('p1'), step('p2'), step('p3'), step('p4')], { parallelism: 2 }), [
      agent('scanner'),
    ]);
    expect(created(sim.pass())).toEqual(['wf-p1-1', 'wf-p2-1']);
    expect(sim.step('p3').phase).toBe('Pending');
    expect(created(sim.tick(1_000).pass())).toEqual([]);
    sim.succeed('wf-p2-1');
    expect(created(sim.tick(1_000).pass())).toEqual(['wf-p3-1']);
    expect(sim.wf.status?.steps?.filter((s) => s.phase === 'Running').map((s) => s.name)).toEqual([
      'p1',
      'p3',
    ]);
    sim.succeed('wf-p1-1');
    sim.succeed('wf-p3-1');
    expect(created(sim.tick(1_000).pass())).toEqual(['wf-p4-1']);
  });

  it('defaults to 4', () => {
    const sim = new Sim(workflow(['a', 'b', 'c', 'd', 'e', 'f'].map((n) => step(n))), [agent('scanner')]);
    expect(created(sim.pass())).toEqual(['wf-a-1', 'wf-b-1', 'wf-c-1', 'wf-d-1']);
  });
});

// --- running to the end ----------------------------------------------------------------------

describe('planWorkflow: outputs flow down a chain', () => {
  const sim = new Sim(
    workflow(
      [
        step('scan', { inputs: { repo: '{{ inputs.repo }}' } }),
        step('fix-it', {
          agentRef: { name: 'patcher' },
          dependsOn: ['scan'],
          when: 'steps.scan.outputs.findings > 0',
          inputs: {
            patch: '{{ steps.scan.outputs.patch }}',
            count: '{{ steps.scan.outputs.findings }}',
            files: '{{ steps.scan.outputs.files }}',
            title: 'Fix {{ inputs.cve }} ({{ steps.scan.outputs.findings }} findings)',
            fixed: true,
          },
        }),
        step('notify', {
          dependsOn: ['fix-it'],
          inputs: { applied: '{{ steps.fix-it.outputs.applied }}', phase: '{{ steps.scan.phase }}' },
        }),
      ],
      { inputs: { repo: 'https://example.com/acme/api', cve: 'CVE-2026-1' } },
    ),
    [agent('scanner'), agent('patcher')],
  );

  it('runs the chain to Succeeded, rendering each step from its upstream outputs', () => {
    const p1 = sim.pass();
    expect(created(p1)).toEqual(['wf-scan-1']);
    expect(inputsOf(sim.pods.get('wf-scan-1')!)).toEqual({ repo: 'https://example.com/acme/api' });
    expectSteady(sim);

    sim.tick(10_000).succeed('wf-scan-1', { findings: 2, patch: 'diff --git a/x b/x', files: ['x', 'y'] });
    const p2 = sim.pass();
    expect(sim.step('scan')).toEqual({
      name: 'scan',
      phase: 'Succeeded',
      attempt: 1,
      podName: 'wf-scan-1',
      startedAt: T0S,
      finishedAt: '2025-03-01T10:00:10Z',
      exitCode: 0,
      outputs: { findings: 2, patch: 'diff --git a/x b/x', files: ['x', 'y'] },
      reason: 'Completed',
      message: 'succeeded on attempt 1',
    });
    expect(p2.outcomes).toEqual([
      { step: 'scan', agent: 'scanner', outcome: 'Succeeded', reason: 'Completed', seconds: 10 },
    ]);
    expect(created(p2)).toEqual(['wf-fix-it-1']);
    const rendered = {
      patch: 'diff --git a/x b/x',
      count: 2,
      files: ['x', 'y'],
      title: 'Fix CVE-2026-1 (2 findings)',
      fixed: true,
    };
    expect(inputsOf(sim.pods.get('wf-fix-it-1')!)).toEqual(rendered);
    expect(sim.pods.get('wf-fix-it-1')!.metadata.annotations?.[ANNOTATION_INPUTS_DIGEST]).toBe(
      PROVENANCE.inputsDigest(3, IMAGE, rendered),
    );
    expect(sim.pods.get('wf-fix-it-1')!.spec.containers[0]!.env).toContainEqual({
      name: 'PADDOCK_INPUTS',
      value: JSON.stringify(rendered),
    });
    expect(sim.wf.status?.progress).toBe('1/3');
    expectSteady(sim);

    sim.tick(5_000).succeed('wf-fix-it-1', { applied: true });
    expect(created(sim.pass())).toEqual(['wf-notify-1']);
    expect(inputsOf(sim.pods.get('wf-notify-1')!)).toEqual({ applied: true, phase: 'Succeeded' });

    sim.tick(5_000).succeed('wf-notify-1');
    const last = sim.pass();
    expect(sim.wf.status?.phase).toBe('Succeeded');
    expect(sim.wf.status?.finishedAt).toBe('2025-03-01T10:00:20Z');
    expect(sim.wf.status?.progress).toBe('3/3');
    expect(sim.step('notify').outputs).toEqual({});
    expect(sim.condition('Ready')).toMatchObject({
      status: 'True',
      reason: 'Succeeded',
      message: 'all steps finished',
    });
    expect(sim.condition('Reconciling')).toMatchObject({ status: 'False', reason: 'Succeeded' });
    expect(sim.condition('Stalled')).toMatchObject({ status: 'False', reason: 'Succeeded' });
    expect(sim.history().at(-1)).toEqual({
      at: '2025-03-01T10:00:20Z',
      type: 'WorkflowSucceeded',
      reason: 'Succeeded',
      message: 'all 3 steps finished',
    });
    expect(last.events.map((e) => [e.type, e.reason])).toEqual([
      ['Normal', 'StepSucceeded'],
      ['Normal', 'WorkflowSucceeded'],
    ]);
    expect(last.audits.map((a) => a.event)).toEqual(['step.succeeded', 'workflow.succeeded']);
    expect(last.requeueAfterMs).toBeUndefined();
    expectSteady(sim);
  });
});

describe('planWorkflow: fan-out and fan-in', () => {
  it('runs the middle steps together and the join only after all of them', () => {
    const sim = new Sim(
      workflow([
        step('root'),
        step('b', { dependsOn: ['root'] }),
        step('c', { dependsOn: ['root'] }),
        step('d', { dependsOn: ['root'] }),
        step('join', {
          dependsOn: ['b', 'c', 'd'],
          inputs: { all: '{{ [steps.b.outputs.v, steps.c.outputs.v, steps.d.outputs.v] }}' },
        }),
      ]),
      [agent('scanner')],
    );
    expect(created(sim.pass())).toEqual(['wf-root-1']);
    sim.tick(1_000).succeed('wf-root-1');
    expect(created(sim.pass())).toEqual(['wf-b-1', 'wf-c-1', 'wf-d-1']);
    sim.tick(1_000).succeed('wf-b-1', { v: 1 });
    sim.succeed('wf-d-1', { v: 3 });
    expect(created(sim.pass())).toEqual([]);
    expect(sim.step('join').phase).toBe('Pending');
    sim.tick(1_000).succeed('wf-c-1', { v: 2 });
    expect(created(sim.pass())).toEqual(['wf-join-1']);
    expect(inputsOf(sim.pods.get('wf-join-1')!)).toEqual({ all: [1, 2, 3] });
    sim.tick(1_000).succeed('wf-join-1');
    sim.pass();
    expect(sim.wf.status?.phase).toBe('Succeeded');
    expect(sim.wf.status?.progress).toBe('5/5');
  });
});

describe('planWorkflow: when conditions', () => {
  function skipSim(outputs: unknown): Sim {
    const sim = new Sim(
      workflow([
        step('scan'),
        step('patch', { dependsOn: ['scan'], when: 'steps.scan.outputs.findings > 0' }),
        step('notify', { dependsOn: ['patch'], inputs: { text: '{{ steps.scan.outputs.summary }}' } }),
      ]),
      [agent('scanner')],
    );
    sim.pass();
    sim.tick(2_000).succeed('wf-scan-1', outputs);
    return sim;
  }

  it('skips a step whose condition is false; its dependents still run', () => {
    const sim = skipSim({ findings: 0, summary: 'clean' });
    const p = sim.pass();
    expect(sim.step('patch')).toEqual({
      name: 'patch',
      phase: 'Skipped',
      reason: 'ConditionFalse',
      message: 'when "steps.scan.outputs.findings > 0" is false',
      finishedAt: '2025-03-01T10:00:02Z',
    });
    expect(p.outcomes).toContainEqual({
      step: 'patch',
      agent: 'scanner',
      outcome: 'Skipped',
      reason: 'ConditionFalse',
      seconds: undefined,
    });
    expect(created(p)).toEqual(['wf-notify-1']);
    expect(inputsOf(sim.pods.get('wf-notify-1')!)).toEqual({ text: 'clean' });
    sim.tick(1_000).succeed('wf-notify-1');
    sim.pass();
    expect(sim.wf.status?.phase).toBe('Succeeded');
    expect([...sim.pods.keys()].sort()).toEqual(['wf-notify-1', 'wf-scan-1']);
  });

  it('runs the step when the condition is true', () => {
    const sim = skipSim({ findings: 1, summary: 'one' });
    expect(created(sim.pass())).toEqual(['wf-patch-1']);
  });

  it('fails a step whose condition cannot be evaluated', () => {
    const sim = skipSim({ summary: 'no findings field' });
    sim.pass();
    expect(sim.step('patch')).toMatchObject({ phase: 'Failed', reason: 'InvalidCondition' });
    expect(sim.step('patch').message).toMatch(/^when: "steps\.scan\.outputs\.findings > 0": .*findings/);
    expect(sim.pods.has('wf-patch-1')).toBe(false);
    expect(sim.pods.has('wf-notify-1')).toBe(false);
  });
});

// --- failures ---------------------------------------------------------------------------------

describe('planWorkflow: failures', () => {
  it('skips the dependents of a failed step as UpstreamFailed', () => {
    const sim = new Sim(
      workflow([step('a'), step('b', { dependsOn: ['a'] }), step('c', { dependsOn: ['b'] })]),
      [agent('scanner')],
    );
    sim.pass();
    sim.tick(3_000).fail('wf-a-1', 2, 'boom');
    const p = sim.pass();
    expect(sim.step('a')).toMatchObject({
      phase: 'Failed',
      reason: 'Error',
      message: 'exit code 2: boom',
      exitCode: 2,
    });
    expect(sim.step('b')).toMatchObject({ phase: 'Skipped', reason: 'UpstreamFailed' });
    expect(sim.step('c')).toMatchObject({ phase: 'Skipped', reason: 'UpstreamFailed' });
    expect(created(p)).toEqual([]);
    expect(sim.wf.status?.phase).toBe('Failed');
    expect(p.outcomes.map((o) => [o.step, o.outcome, o.reason])).toEqual([
      ['a', 'Failed', 'Error'],
      ['b', 'Skipped', 'UpstreamFailed'],
      ['c', 'Skipped', 'UpstreamFailed'],
    ]);
  });

  it('fails fast: pending steps are skipped, running ones finish, then the workflow fails', () => {
    const sim = new Sim(
      workflow([step('a'), step('b'), step('d'), step('c', { dependsOn: ['a'] })], { parallelism: 2 }),
      [agent('scanner')],
    );
    expect(created(sim.pass())).toEqual(['wf-a-1', 'wf-b-1']);
    sim.tick(1_000).fail('wf-a-1', 1, 'boom');
    const p = sim.pass();
    expect(created(p)).toEqual([]);
    expect(p.delete).toEqual([]);
    expect(sim.step('a')).toMatchObject({ phase: 'Failed', reason: 'Error' });
    expect(sim.step('b')).toMatchObject({ phase: 'Running' });
    expect(sim.step('d')).toMatchObject({
      phase: 'Skipped',
      reason: 'WorkflowFailed',
      message: 'not started: another step failed the workflow',
    });
    expect(sim.step('c')).toMatchObject({ phase: 'Skipped', reason: 'UpstreamFailed' });
    expect(sim.wf.status?.phase).toBe('Running');
    expect(sim.wf.status?.finishedAt).toBeUndefined();
    expect(sim.condition('Ready')).toMatchObject({ status: 'False', reason: 'Running' });
    expectSteady(sim);

    sim.tick(1_000).succeed('wf-b-1', { fine: true });
    const end = sim.pass();
    expect(sim.step('b')).toMatchObject({ phase: 'Succeeded', outputs: { fine: true } });
    expect(sim.wf.status?.phase).toBe('Failed');
    expect(sim.wf.status?.finishedAt).toBe('2025-03-01T10:00:02Z');
    expect(sim.condition('Ready')).toMatchObject({
      status: 'False',
      reason: 'Error',
      message: 'step a failed: exit code 1: boom',
    });
    expect(sim.condition('Stalled')).toMatchObject({ status: 'True', reason: 'Error' });
    expect(sim.condition('Reconciling')).toMatchObject({ status: 'False', reason: 'Error' });
    expect(end.events.at(-1)).toEqual({
      type: 'Warning',
      reason: 'WorkflowFailed',
      action: 'Workflow',
      note: 'step a failed: exit code 1: boom',
    });
    expect(sim.history().at(-1)).toMatchObject({ type: 'WorkflowFailed', reason: 'Error' });
  });

  it('fails the workflow with the reason of the first failure, not of the first step in the spec', () => {
    const sim = new Sim(workflow([step('a'), step('b', { agentRef: { name: 'liar' } })]), [
      agent('scanner'),
      agent('liar'),
    ]);
    sim.pass();
    sim.tick(1_000).succeed('wf-b-1', 'not json');
    sim.pass();
    expect(sim.step('b')).toMatchObject({ phase: 'Failed', reason: 'OutputNotJSON' });
    sim.tick(1_000).fail('wf-a-1', 3, 'later');
    sim.pass();
    expect(sim.wf.status?.phase).toBe('Failed');
    expect(sim.condition('Ready')).toMatchObject({ reason: 'OutputNotJSON' });
    expect(sim.condition('Ready').message).toMatch(/^step b failed: /);
  });

  it('starts nothing after a step fails to start in the same pass', () => {
    const sim = new Sim(
      workflow([
        step('a'),
        step('b', { dependsOn: ['a'], inputs: { v: '{{ steps.a.outputs.missing }}' } }),
        step('c', { dependsOn: ['b'] }),
        step('x', { dependsOn: ['a'] }),
      ]),
      [agent('scanner')],
    );
    sim.pass();
    sim.tick(1_000).succeed('wf-a-1');
    const p = sim.pass();
    expect(sim.step('b')).toMatchObject({ phase: 'Failed', reason: 'MissingReference' });
    expect(sim.step('c')).toMatchObject({ phase: 'Skipped', reason: 'UpstreamFailed' });
    expect(sim.step('x')).toMatchObject({ phase: 'Skipped', reason: 'WorkflowFailed' });
    expect(p.create).toEqual([]);
    expect(sim.wf.status?.phase).toBe('Failed');
    expect(sim.condition('Ready').reason).toBe('MissingReference');
  });

  it('lets dependents of a continueOnFailure step run, and the workflow succeed', () => {
    const sim = new Sim(
      workflow([
        step('lint', { continueOnFailure: true }),
        step('build'),
        step('ship', { dependsOn: ['lint', 'build'] }),
      ]),
      [agent('scanner')],
    );
    sim.pass();
    sim.tick(1_000).fail('wf-lint-1', 1, 'style');
    const p = sim.pass();
    expect(sim.step('lint')).toMatchObject({ phase: 'Failed', reason: 'Error' });
    expect(created(p)).toEqual([]);
    expect(sim.step('ship').phase).toBe('Pending');
    sim.tick(1_000).succeed('wf-build-1');
    expect(created(sim.pass())).toEqual(['wf-ship-1']);
    sim.tick(1_000).succeed('wf-ship-1');
    sim.pass();
    expect(sim.wf.status?.phase).toBe('Succeeded');
    expect(sim.condition('Ready')).toMatchObject({ status: 'True', reason: 'Succeeded' });
    expect(sim.wf.status?.progress).toBe('3/3');
  });

  it('fails a step whose inputs reference outputs its upstream did not produce, never rendering ""', () => {
    const sim = new Sim(
      workflow([
        step('a'),
        step('b', { dependsOn: ['a'], inputs: { x: { y: ['pre {{ steps.a.outputs.nope }}'] } } }),
      ]),
      [agent('scanner')],
    );
    sim.pass();
    sim.tick(1_000).succeed('wf-a-1', { other: 1 });
    sim.pass();
    expect(sim.pods.has('wf-b-1')).toBe(false);
    expect(sim.step('b')).toMatchObject({ phase: 'Failed', reason: 'MissingReference' });
    expect(sim.step('b').message).toMatch(/^inputs\.x\.y\.0: "steps\.a\.outputs\.nope": .*nope/);
  });

  it('fails a step whose rendered inputs do not match the inputsSchema', () => {
    const sim = new Sim(
      workflow([
        step('a'),
        step('b', {
          dependsOn: ['a'],
          agentRef: { name: 'strict' },
          inputs: { count: '{{ steps.a.outputs.n }}' },
        }),
      ]),
      [
        agent('scanner'),
        agent('strict', { inputsSchema: { type: 'object', properties: { count: { type: 'integer' } } } }),
      ],
    );
    sim.pass();
    sim.tick(1_000).succeed('wf-a-1', { n: 'many' });
    sim.pass();
    expect(sim.pods.has('wf-b-1')).toBe(false);
    expect(sim.step('b')).toMatchObject({ phase: 'Failed', reason: 'InputsInvalid' });
    expect(sim.step('b').message).toMatch(
      /^rendered inputs do not match Agent "strict" inputsSchema at \/count: /,
    );
  });

  it('fails a step whose Agent disappeared while the workflow runs', () => {
    const sim = new Sim(workflow([step('a'), step('b', { dependsOn: ['a'], agentRef: { name: 'gone' } })]), [
      agent('scanner'),
      agent('gone'),
    ]);
    sim.pass();
    sim.agents.delete('gone');
    sim.tick(1_000).succeed('wf-a-1');
    sim.pass();
    expect(sim.step('b')).toMatchObject({
      phase: 'Failed',
      reason: 'AgentNotFound',
      message: 'Agent "gone" no longer exists',
    });
    expect(sim.wf.status?.phase).toBe('Failed');
  });
});

describe('planWorkflow: outputs', () => {
  const schema = { type: 'object' as const, properties: { count: { type: 'integer' } }, required: ['count'] };

  it('fails a step whose outputs violate the outputsSchema, naming the JSON pointer', () => {
    const sim = new Sim(workflow([step('a', { agentRef: { name: 'liar' } })]), [
      agent('liar', { outputsSchema: schema }),
    ]);
    sim.pass();
    sim.tick(1_000).succeed('wf-a-1', { count: 'many' });
    sim.pass();
    expect(sim.step('a')).toMatchObject({ phase: 'Failed', reason: 'OutputSchemaInvalid' });
    expect(sim.step('a').message).toMatch(/^outputs do not match the Agent's outputsSchema at \/count: /);
    expect(sim.step('a').outputs).toBeUndefined();
    expect(sim.condition('Ready').reason).toBe('OutputSchemaInvalid');
  });

  it('fails a step whose termination message is not a JSON object', () => {
    for (const text of ['hello', '[1]']) {
      const sim = new Sim(workflow([step('a')]), [agent('scanner')]);
      sim.pass();
      sim.tick(1_000).succeed('wf-a-1', text);
      sim.pass();
      expect(sim.step('a')).toMatchObject({ phase: 'Failed', reason: 'OutputNotJSON' });
    }
  });
});

describe('planWorkflow: sensitive outputs', () => {
  function sensitiveSim(): Sim {
    const sim = new Sim(
      workflow([
        step('mint', { agentRef: { name: 'vault' } }),
        step('use', {
          dependsOn: ['mint'],
          inputs: { token: '{{ steps.mint.outputs.token }}', id: '{{ steps.mint.outputs.id }}' },
        }),
      ]),
      [agent('scanner'), agent('vault', { outputsSchema: SENSITIVE_SCHEMA })],
    );
    sim.pass();
    return sim;
  }

  it('redacts them in status but templates the real value from the pod', () => {
    const sim = sensitiveSim();
    sim.tick(1_000).succeed('wf-mint-1', { token: 's3cr3t-value', id: '42' });
    const p = sim.pass();
    expect(sim.step('mint').outputs).toEqual({ token: '[REDACTED]', id: '42' });
    expect(inputsOf(sim.pods.get('wf-use-1')!)).toEqual({ token: 's3cr3t-value', id: '42' });
    expect(JSON.stringify(p.status)).not.toContain('s3cr3t');
    expect(JSON.stringify(p.events)).not.toContain('s3cr3t');
    expect(JSON.stringify(p.audits)).not.toContain('s3cr3t');
  });

  it('keeps them out of status when a pass later re-reads the pod', () => {
    const sim = sensitiveSim();
    sim.tick(1_000).succeed('wf-mint-1', { token: 's3cr3t-value', id: '42' });
    sim.pass();
    sim.tick(1_000).succeed('wf-use-1');
    const p = sim.pass();
    expect(sim.wf.status?.phase).toBe('Succeeded');
    expect(JSON.stringify(p.status)).not.toContain('s3cr3t');
  });

  /** mint succeeds while the Workflow is suspended; then its pod is deleted; then it resumes. */
  function mintPodGone(extra: Partial<Parameters<typeof step>[1]> = {}): Sim {
    const sim = new Sim(
      workflow([
        step('mint', { agentRef: { name: 'vault' } }),
        step('use', {
          dependsOn: ['mint'],
          inputs: { token: '{{ steps.mint.outputs.token }}', id: '{{ steps.mint.outputs.id }}' },
          ...extra,
        }),
      ]),
      [agent('scanner'), agent('vault', { outputsSchema: SENSITIVE_SCHEMA })],
    );
    sim.pass();
    sim.spec({ suspend: true });
    sim.tick(1_000).succeed('wf-mint-1', { token: 's3cr3t-value', id: '42' });
    sim.pass();
    expect(sim.step('mint').phase).toBe('Succeeded');
    expect(sim.pods.has('wf-use-1')).toBe(false);
    sim.pods.delete('wf-mint-1');
    sim.spec({ suspend: false });
    return sim;
  }

  it('fails the step that needs them, rather than render "[REDACTED]", once the pod that held them is gone', () => {
    const sim = mintPodGone();
    const p = sim.tick(1_000).pass();
    expect(p.create).toEqual([]);
    expect(sim.step('use')).toMatchObject({ phase: 'Failed', reason: 'OutputsUnavailable' });
    expect(sim.step('use').message).toBe(
      "inputs: step mint's outputs are marked sensitive and its pod wf-mint-1 is gone, so only their redacted copy in status remains; run the Workflow again",
    );
    expect(sim.wf.status?.phase).toBe('Failed');
  });

  it('a step reading only non-sensitive outputs of that step still runs from the status copy', () => {
    const sim = mintPodGone({ inputs: { id: '{{ steps.mint.outputs.id }}' } });
    const p = sim.tick(1_000).pass();
    expect(created(p)).toEqual(['wf-use-1']);
    expect(inputsOf(p.create[0]!.pod)).toEqual({ id: '42' });
  });

  it('a condition on such a step fails closed too', () => {
    const sim = mintPodGone({ when: "steps.mint.outputs.token != ''", inputs: {} });
    sim.tick(1_000).pass();
    expect(sim.step('use')).toMatchObject({ phase: 'Failed', reason: 'OutputsUnavailable' });
    expect(sim.step('use').message).toMatch(/^when: step mint's outputs are marked sensitive/);
  });

  it('never writes them from the termination message of a failed attempt', () => {
    const sim = sensitiveSim();
    sim.tick(1_000).fail('wf-mint-1', 1, JSON.stringify({ token: 's3cr3t-value', id: '42' }));
    const p = sim.pass();
    expect(sim.step('mint')).toMatchObject({ phase: 'Failed', reason: 'Error' });
    expect(sim.step('mint').message).toContain('[REDACTED]');
    expect(sim.step('mint').message).toContain('42');
    expect(JSON.stringify(p.status)).not.toContain('s3cr3t');
    expect(JSON.stringify(p.events)).not.toContain('s3cr3t');
    expect(JSON.stringify(p.audits)).not.toContain('s3cr3t');
  });
});

describe('planWorkflow: no message quotes a sensitive value', () => {
  const CANARY = 'CANARY-7f3a9c';
  /** mint outputs a sensitive token; `use` runs `when` / `inputs` over it. */
  function over(useStep: Partial<Parameters<typeof step>[1]>): Sim {
    const sim = new Sim(
      workflow([
        step('mint', { agentRef: { name: 'vault' } }),
        step('use', { dependsOn: ['mint'], ...useStep }),
      ]),
      [agent('scanner'), agent('vault', { outputsSchema: SENSITIVE_SCHEMA })],
    );
    sim.pass();
    sim.tick(1_000).succeed('wf-mint-1', { token: CANARY, id: '42' });
    sim.pass();
    return sim;
  }
  const everywhere = (sim: Sim, p: EnginePlan): string =>
    JSON.stringify([sim.wf.status, p.status, p.events, p.audits]);

  it.each([
    ['a when that is not a boolean', { when: 'steps.mint.outputs.token' }, 'InvalidCondition'],
    ['a when comparing types', { when: 'steps.mint.outputs.token > 3' }, 'InvalidCondition'],
    ['a when converting it', { when: 'int(steps.mint.outputs.token) > 3' }, 'InvalidCondition'],
    ['a when using it as a key', { when: "{'a': 1}[steps.mint.outputs.token] == 1" }, 'InvalidCondition'],
    ['a template converting it', { inputs: { n: '{{ int(steps.mint.outputs.token) }}' } }, 'InvalidTemplate'],
    [
      'a template using it as a key',
      { inputs: { n: "{{ {'a': 1}[steps.mint.outputs.token] }}" } },
      'MissingReference',
    ],
    [
      'a template dividing by it',
      { inputs: { n: '{{ 1 / int(steps.mint.outputs.id) * 0 / 0 }}' } },
      'InvalidTemplate',
    ],
  ])('%s: the step fails with a reason, the message names the expression only', (_what, useStep, reason) => {
    const sim = over(useStep);
    const p = sim.tick(1_000).pass();
    expect(sim.step('use')).toMatchObject({ phase: 'Failed', reason });
    expect(everywhere(sim, p)).not.toContain(CANARY);
    expect(everywhere(sim, p)).not.toContain(CANARY.slice(0, 10));
  });

  it('a failed attempt whose termination message is not JSON is withheld when outputs are sensitive', () => {
    const sim = new Sim(workflow([step('mint', { agentRef: { name: 'vault' } })]), [
      agent('vault', { outputsSchema: SENSITIVE_SCHEMA }),
    ]);
    sim.pass();
    // Cut at 4096 bytes by the kubelet: no longer JSON, so nothing says which part is sensitive.
    sim.tick(1_000).fail('wf-mint-1', 1, `{"token":"${CANARY}${'x'.repeat(5000)}`.slice(0, 4096));
    const p = sim.pass();
    expect(sim.step('mint')).toMatchObject({ phase: 'Failed', reason: 'Error' });
    expect(sim.step('mint').message).toContain('withheld');
    expect(everywhere(sim, p)).not.toContain(CANARY);
  });

  it('an expression whose worst case is over the cost budget never starts: Stalled, ExpressionTooExpensive', () => {
    const list = Array.from({ length: 400 }, (_, i) => i);
    const sim = new Sim(
      workflow([step('a', { inputs: { n: '{{ inputs.l.map(x, inputs.l.map(y, inputs.l.map(z, z))) }}' } })], {
        inputs: { l: list },
      }),
      [agent('scanner')],
    );
    sim.pass();
    // Refused before it ever starts (the estimate is far over the budget): Stalled, not run.
    expect(sim.wf.status?.phase).toBe('Pending');
    expect(sim.condition('Stalled')).toMatchObject({ status: 'True', reason: 'ExpressionTooExpensive' });
  });
});

// --- retries and timeouts ---------------------------------------------------------------------

describe('planWorkflow: retries', () => {
  function flakySim(): Sim {
    const sim = new Sim(workflow([step('work', { agentRef: { name: 'flaky' } })]), [
      agent('flaky', { retries: { limit: 2, backoff: { seconds: 2, factor: 3, maxSeconds: 60 } } }),
    ]);
    sim.pass();
    return sim;
  }

  it('waits with RetryBackoff, then starts the next attempt exactly when due, then gives up', () => {
    const sim = flakySim();
    sim.tick(10_250).fail('wf-work-1', 1, 'boom');
    const p2 = sim.pass();
    expect(sim.step('work')).toEqual({
      name: 'work',
      phase: 'Waiting',
      attempt: 1,
      podName: 'wf-work-1',
      startedAt: T0S,
      exitCode: 1,
      reason: 'RetryBackoff',
      message: 'attempt 1 failed (Error: exit code 1: boom); attempt 2 of 3 in 2s',
      nextRetryAt: '2025-03-01T10:00:12.250Z',
    });
    expect(p2.requeueAfterMs).toBe(2_000);
    expect(p2.create).toEqual([]);
    expect(p2.delete).toEqual([]);
    expect(p2.outcomes).toEqual([{ step: 'work', agent: 'flaky', outcome: 'Retried', reason: 'Error' }]);
    expect(p2.events).toEqual([
      {
        type: 'Warning',
        reason: 'StepRetrying',
        action: 'Step/work',
        note: 'step work (attempt 1): attempt 1 failed (Error: exit code 1: boom); attempt 2 of 3 in 2s',
      },
    ]);
    expect(sim.wf.status?.phase).toBe('Running');
    expectSteady(sim);

    const early = sim.tick(1_999).pass();
    expect(early.create).toEqual([]);
    expect(early.requeueAfterMs).toBe(1);

    const p3 = sim.tick(1).pass();
    expect(p3.create.map((c) => [c.step, c.attempt, c.pod.metadata.name])).toEqual([
      ['work', 2, 'wf-work-2'],
    ]);
    expect(p3.create[0]!.pod.spec.containers[0]!.env).toContainEqual({ name: 'PADDOCK_ATTEMPT', value: '2' });
    expect(sim.step('work')).toMatchObject({
      phase: 'Running',
      attempt: 2,
      podName: 'wf-work-2',
      startedAt: T0S,
    });
    expect(sim.step('work').reason).toBeUndefined();
    expect(sim.step('work').nextRetryAt).toBeUndefined();
    expect(sim.history().at(-1)).toMatchObject({
      type: 'StepStarted',
      step: 'work',
      attempt: 2,
      reason: 'Retried',
    });
    expectSteady(sim);

    sim.tick(500).fail('wf-work-2', 1, 'boom');
    const p4 = sim.pass();
    expect(sim.step('work')).toMatchObject({
      phase: 'Waiting',
      attempt: 2,
      message: 'attempt 2 failed (Error: exit code 1: boom); attempt 3 of 3 in 6s',
      nextRetryAt: new Date(sim.now.getTime() + 6_000).toISOString(),
    });
    expect(p4.requeueAfterMs).toBe(6_000);

    expect(created(sim.tick(6_000).pass())).toEqual(['wf-work-3']);
    sim.tick(1_000).fail('wf-work-3', 1, 'boom');
    const p5 = sim.pass();
    expect(sim.step('work')).toMatchObject({
      phase: 'Failed',
      attempt: 3,
      reason: 'Error',
      message: 'exit code 1: boom (after 3 attempts)',
    });
    expect(sim.step('work').nextRetryAt).toBeUndefined();
    expect(p5.outcomes).toEqual([
      {
        step: 'work',
        agent: 'flaky',
        outcome: 'Failed',
        reason: 'Error',
        seconds: (sim.now.getTime() - T0.getTime()) / 1000,
      },
    ]);
    expect(sim.wf.status?.phase).toBe('Failed');
    expect(sim.condition('Ready')).toMatchObject({
      reason: 'Error',
      message: 'step work failed: exit code 1: boom (after 3 attempts)',
    });
    expect(sim.history('StepRetrying')).toHaveLength(2);
    expect(sim.history('StepStarted').map((h) => h.attempt)).toEqual([1, 2, 3]);
    expect([...sim.pods.keys()]).toEqual(['wf-work-1', 'wf-work-2', 'wf-work-3']);
  });

  it("lets the step's retry policy override the Agent's", () => {
    const sim = new Sim(workflow([step('work', { agentRef: { name: 'flaky' }, retries: { limit: 0 } })]), [
      agent('flaky', { retries: { limit: 5 } }),
    ]);
    sim.pass();
    sim.tick(1_000).fail('wf-work-1');
    sim.pass();
    expect(sim.step('work')).toMatchObject({ phase: 'Failed', message: 'exit code 1' });
  });

  it('does not fail the workflow while a failed step still has retries', () => {
    const sim = new Sim(
      workflow([step('work', { retries: { limit: 1, backoff: { seconds: 1 } } }), step('other')]),
      [agent('scanner')],
    );
    sim.pass();
    sim.tick(1_000).fail('wf-work-1');
    sim.pass();
    expect(sim.step('work').phase).toBe('Waiting');
    expect(sim.step('other').phase).toBe('Running');
    sim.tick(1_000);
    expect(created(sim.pass())).toEqual(['wf-work-2']);
    sim.succeed('wf-work-2');
    sim.succeed('wf-other-1');
    sim.tick(1_000).pass();
    expect(sim.wf.status?.phase).toBe('Succeeded');
    expect(sim.step('work')).toMatchObject({
      phase: 'Succeeded',
      attempt: 2,
      podName: 'wf-work-2',
      message: 'succeeded on attempt 2',
    });
  });
});

describe('planWorkflow: timeouts', () => {
  it('deletes a pod running past its timeout plus grace and fails the attempt with Timeout', () => {
    const sim = new Sim(workflow([step('a', { agentRef: { name: 'slow' } })]), [
      agent('slow', { timeoutSeconds: 30 }),
    ]);
    const p1 = sim.pass();
    expect(p1.create[0]!.pod.spec.activeDeadlineSeconds).toBe(30);
    expect(sim.tick(1_000).plan().requeueAfterMs).toBe(34_000);
    const before = sim.tick(33_999).pass();
    expect(before.delete).toEqual([]);
    expect(before.requeueAfterMs).toBe(1);
    expect(sim.step('a').phase).toBe('Running');
    const p = sim.tick(1).pass();
    expect(p.delete).toEqual([{ name: 'wf-a-1', reason: 'Timeout' }]);
    expect(sim.step('a')).toMatchObject({
      phase: 'Failed',
      reason: 'Timeout',
      message: 'the step ran longer than its timeout (30s)',
    });
    expect(sim.pods.has('wf-a-1')).toBe(false);
    expect(sim.wf.status?.phase).toBe('Failed');
  });

  it("uses the step's timeoutSeconds over the Agent's, and retries a timed-out attempt", () => {
    const sim = new Sim(
      workflow([
        step('a', {
          agentRef: { name: 'slow' },
          timeoutSeconds: 10,
          retries: { limit: 1, backoff: { seconds: 1 } },
        }),
      ]),
      [agent('slow', { timeoutSeconds: 30 })],
    );
    expect(sim.pass().create[0]!.pod.spec.activeDeadlineSeconds).toBe(10);
    const p = sim.tick(10_000 + TIMEOUT_GRACE_MS).pass();
    expect(p.delete).toEqual([{ name: 'wf-a-1', reason: 'Timeout' }]);
    expect(sim.step('a')).toMatchObject({ phase: 'Waiting', reason: 'RetryBackoff', attempt: 1 });
    expect(sim.step('a').message).toContain('Timeout: the step ran longer than its timeout (10s)');
    expect(created(sim.tick(1_000).pass())).toEqual(['wf-a-2']);
  });

  it('takes a pod the kubelet ended with DeadlineExceeded as a Timeout', () => {
    const sim = new Sim(workflow([step('a', { agentRef: { name: 'slow' } })]), [
      agent('slow', { timeoutSeconds: 30 }),
    ]);
    sim.pass();
    sim.tick(30_000).fail('wf-a-1', 137, undefined, 'DeadlineExceeded');
    const p = sim.pass();
    expect(sim.step('a')).toMatchObject({
      phase: 'Failed',
      reason: 'Timeout',
      exitCode: 137,
      message: 'the pod ran longer than its activeDeadlineSeconds (30)',
    });
    expect(p.delete).toEqual([]);
  });

  it('defaults the timeout to 600 s', () => {
    const sim = new Sim(workflow([step('a')]), [agent('scanner')]);
    expect(sim.pass().create[0]!.pod.spec.activeDeadlineSeconds).toBe(600);
  });
});

// --- pods that vanish, crashes -----------------------------------------------------------------

describe('planWorkflow: missing pods', () => {
  function runningSim(retries?: number): Sim {
    const sim = new Sim(
      workflow([
        step('a', retries === undefined ? {} : { retries: { limit: retries, backoff: { seconds: 1 } } }),
      ]),
      [agent('scanner')],
    );
    sim.pass();
    sim.pods.delete('wf-a-1');
    sim.tick(2_000);
    return sim;
  }

  it('asks about a pod the status names but the cache lacks, deciding nothing', () => {
    const sim = runningSim();
    const p = sim.plan();
    expect(p.unknownPods).toEqual(['wf-a-1']);
    expect(p.status.steps).toEqual(sim.wf.status?.steps);
    expect(p.events).toEqual([]);
    expect(p.create).toEqual([]);
  });

  it('fails the attempt with PodDeleted when the API server says the pod is gone', () => {
    const sim = runningSim();
    const p = sim.pass({ gonePods: new Set(['wf-a-1']) });
    expect(p.unknownPods).toEqual([]);
    expect(sim.step('a')).toMatchObject({
      phase: 'Failed',
      reason: 'PodDeleted',
      message: 'pod wf-a-1 was deleted before it finished',
    });
  });

  it('retries a deleted pod when retries are left', () => {
    const sim = runningSim(1);
    sim.pass({ gonePods: new Set(['wf-a-1']) });
    expect(sim.step('a')).toMatchObject({ phase: 'Waiting', reason: 'RetryBackoff' });
    expect(sim.step('a').message).toContain('PodDeleted: pod wf-a-1 was deleted before it finished');
    expect(created(sim.tick(1_000).pass())).toEqual(['wf-a-2']);
  });

  it('waits for a pod it just created that the cache does not show yet', () => {
    const sim = runningSim();
    const p = sim.plan({ expectedPods: new Set(['wf-a-1']) });
    expect(p.unknownPods).toEqual([]);
    expect(p.status).toEqual(sim.wf.status);
    expect(p.requeueAfterMs).toBe(CACHE_LAG_MS);
  });

  it('a pod that ends Failed while being deleted (a real kubelet stopping the agent) is PodDeleted, retried', () => {
    const sim = new Sim(workflow([step('a', { retries: { limit: 1, backoff: { seconds: 1 } } })]), [
      agent('scanner'),
    ]);
    sim.pass();
    const stopped = 'stopped by SIGTERM before it finished (the pod was deleted, cancelled or timed out)';
    sim.fail('wf-a-1', 143, stopped);
    const pod = sim.pods.get('wf-a-1')!;
    sim.pods.set('wf-a-1', { ...pod, metadata: { ...pod.metadata, deletionTimestamp: T0S } });
    sim.tick(1_000).pass();
    expect(sim.step('a')).toMatchObject({ phase: 'Waiting', reason: 'RetryBackoff' });
    expect(sim.step('a').message).toContain(
      `PodDeleted: pod wf-a-1 was deleted before it finished (exit code 143: ${stopped})`,
    );
    expect(created(sim.tick(1_000).pass())).toEqual(['wf-a-2']);
  });

  it('a pod that ends Succeeded with valid outputs while being deleted counts: the work was done', () => {
    const sim = new Sim(workflow([step('a')]), [agent('scanner')]);
    sim.pass();
    sim.succeed('wf-a-1', { done: true });
    const pod = sim.pods.get('wf-a-1')!;
    sim.pods.set('wf-a-1', { ...pod, metadata: { ...pod.metadata, deletionTimestamp: T0S } });
    sim.tick(1_000).pass();
    expect(sim.step('a')).toMatchObject({ phase: 'Succeeded', outputs: { done: true } });
  });

  it('waits (no retry, no timeout) for a pod being deleted', () => {
    const sim = new Sim(workflow([step('a')]), [agent('scanner')]);
    sim.pass();
    const pod = sim.pods.get('wf-a-1')!;
    sim.pods.set('wf-a-1', { ...pod, metadata: { ...pod.metadata, deletionTimestamp: T0S } });
    const p = sim.tick(1_000).plan();
    expect(p.status.steps?.[0]?.phase).toBe('Running');
    expect(p.requeueAfterMs).toBe(5_000);
  });
});

describe('planWorkflow: only pods the operator made count', () => {
  /** A pod someone else made under the name of attempt 1 of step a (copying labels and owner). */
  function forged(sim: Sim, signature?: string): void {
    const fresh = { ...sim.wf };
    delete fresh.status;
    const real = new Sim(fresh, [...sim.agents.values()]).plan().create[0]!.pod;
    const annotations = { ...real.metadata.annotations };
    if (signature === undefined) delete annotations[ANNOTATION_SIGNATURE];
    else annotations[ANNOTATION_SIGNATURE] = signature;
    sim.pods.set('wf-a-1', {
      ...real,
      metadata: { ...real.metadata, annotations, creationTimestamp: T0S },
      status: { phase: 'Running' },
    });
  }

  it('never adopts a foreign pod of a newer attempt: the step starts its own and that fails on the name', () => {
    const sim = new Sim(workflow([step('a'), step('b', { dependsOn: ['a'] })]), [agent('scanner')]);
    forged(sim);
    sim.succeed('wf-a-1', { v: 'forged' });
    const p = sim.plan();
    // Not adopted: the engine plans its own attempt 1 (whose create the API server will refuse
    // with AlreadyExists; the reconciler then fails the step, PodMismatch).
    expect(created(p)).toEqual(['wf-a-1']);
    expect(p.status.steps?.find((x) => x.name === 'a')?.outputs).toBeUndefined();
  });

  it('fails the step closed when the pod under its attempt name is not signed, ignoring its outputs', () => {
    const sim = new Sim(workflow([step('a'), step('b', { dependsOn: ['a'] })]), [agent('scanner')]);
    sim.pass();
    // Replaced (deleted and created again) by someone else, with a copied or made-up signature.
    for (const sig of [undefined, 'v1:' + '0'.repeat(64)]) {
      const run = new Sim(sim.wf, [...sim.agents.values()]);
      forged(run, sig);
      run.succeed('wf-a-1', { v: 'forged' });
      const p = run.pass();
      expect(run.step('a')).toMatchObject({ phase: 'Failed', reason: 'PodMismatch' });
      expect(run.step('a').outputs).toBeUndefined();
      expect(run.step('a').message).toContain('wf-a-1');
      expect(p.create).toEqual([]);
      expect(run.step('b').phase).toBe('Skipped');
    }
  });

  it('a signature copied from the real pod does not cover another attempt', () => {
    const sim = new Sim(workflow([step('a')]), [agent('scanner')]);
    const real = sim.plan().create[0]!.pod;
    const copy: Pod = {
      ...real,
      metadata: {
        ...real.metadata,
        name: 'wf-a-2',
        labels: { ...real.metadata.labels, [LABEL_ATTEMPT]: '2' },
      },
    };
    expect(PROVENANCE.verifyPod(real)).toBe(true);
    expect(PROVENANCE.verifyPod(copy)).toBe(false);
  });
});

describe('planWorkflow: inputs too large to deliver', () => {
  it('fails the step before any pod or Approval, naming the size and the limit', () => {
    const big = 'x'.repeat(MAX_INPUTS_BYTES);
    const sim = new Sim(workflow([step('a', { inputs: { blob: big } })]), [agent('scanner')]);
    const p = sim.pass();
    expect(p.create).toEqual([]);
    expect(p.createApprovals).toEqual([]);
    expect(sim.step('a')).toMatchObject({ phase: 'Failed', reason: 'InputsTooLarge' });
    expect(sim.step('a').message).toContain(`at most ${MAX_INPUTS_BYTES}`);
    expect(sim.step('a').message).not.toContain('xxxx');
  });

  it('delivers inputs just under the limit', () => {
    const sim = new Sim(workflow([step('a', { inputs: { blob: 'x'.repeat(MAX_INPUTS_BYTES - 20) } })]), [
      agent('scanner'),
    ]);
    expect(created(sim.pass())).toEqual(['wf-a-1']);
  });
});

describe('planWorkflow: crash safety (adoption)', () => {
  it('adopts the pod of a newer attempt than a Waiting status knows, creating no second pod', () => {
    const sim = new Sim(workflow([step('work', { retries: { limit: 3, backoff: { seconds: 1 } } })]), [
      agent('scanner'),
    ]);
    sim.pass();
    sim.tick(1_000).fail('wf-work-1');
    sim.pass();
    sim.tick(1_000);
    const crashed = sim.plan();
    expect(created(crashed)).toEqual(['wf-work-2']);
    sim.apply(crashed, { persist: false }); // the pod exists; the status write never happened
    expect(sim.step('work').phase).toBe('Waiting');

    sim.tick(500);
    const p = sim.pass();
    expect(p.create).toEqual([]);
    expect(sim.step('work')).toMatchObject({ phase: 'Running', attempt: 2, podName: 'wf-work-2' });
    expect(sim.step('work').reason).toBeUndefined();
    expect(sim.step('work').nextRetryAt).toBeUndefined();
    expect(sim.step('work').message).toBeUndefined();
    // The start that was never recorded is recorded now, once.
    expect(p.events).toEqual([
      {
        type: 'Normal',
        reason: 'StepStarted',
        action: 'Step/work',
        note: 'step work (attempt 2): pod wf-work-2 (adopted after a restart)',
      },
    ]);
    expect(sim.history().at(-1)).toMatchObject({
      type: 'StepStarted',
      step: 'work',
      attempt: 2,
      reason: 'Retried',
    });
    expect(sim.history('StepStarted').map((h) => h.attempt)).toEqual([1, 2]);
    expectSteady(sim);
  });

  it('adopts an attempt-1 pod of a step the status still has Pending', () => {
    const sim = new Sim(workflow([step('a'), step('b', { dependsOn: ['a'] })]), [agent('scanner')]);
    sim.apply(sim.plan(), { persist: false });
    expect(sim.pods.has('wf-a-1')).toBe(true);
    sim.tick(5_000);
    const p = sim.pass();
    expect(p.create).toEqual([]);
    expect(sim.step('a')).toEqual({
      name: 'a',
      phase: 'Running',
      attempt: 1,
      podName: 'wf-a-1',
      startedAt: T0S,
    });
    expect(sim.history().map((h) => [h.type, h.step, h.attempt, h.reason])).toEqual([
      ['WorkflowStarted', undefined, undefined, 'Started'],
      ['StepStarted', 'a', 1, 'Started'],
    ]);
    expectSteady(sim);
  });

  it('adopts a pod that already finished and observes it in the same pass', () => {
    const sim = new Sim(workflow([step('a'), step('b', { dependsOn: ['a'] })]), [agent('scanner')]);
    sim.apply(sim.plan(), { persist: false });
    sim.tick(1_000).succeed('wf-a-1', { v: 1 });
    const p = sim.pass();
    expect(sim.step('a')).toMatchObject({ phase: 'Succeeded', outputs: { v: 1 } });
    expect(created(p)).toEqual(['wf-b-1']);
  });

  it('does not adopt a pod of an attempt the status already knows', () => {
    const sim = new Sim(workflow([step('work', { retries: { limit: 1, backoff: { seconds: 10 } } })]), [
      agent('scanner'),
    ]);
    sim.pass();
    sim.tick(1_000).fail('wf-work-1');
    sim.pass();
    const p = sim.tick(1_000).pass();
    expect(sim.step('work')).toMatchObject({ phase: 'Waiting', attempt: 1 });
    expect(p.create).toEqual([]);
  });
});

// --- pod garbage collection -----------------------------------------------------------------

describe('planWorkflow: podGC', () => {
  function gcSim(strategy: 'Never' | 'OnPodSuccess' | 'OnWorkflowSuccess' | 'OnWorkflowCompletion'): Sim {
    return new Sim(
      workflow(
        [
          step('a'),
          step('s', { agentRef: { name: 'vault' } }),
          step('f', { continueOnFailure: true }),
          step('z', { dependsOn: ['a', 's', 'f'] }),
        ],
        { podGC: { strategy } },
      ),
      [agent('scanner'), agent('vault', { outputsSchema: SENSITIVE_SCHEMA })],
    );
  }

  function runToEnd(sim: Sim, zFails = false): EnginePlan[] {
    const plans: EnginePlan[] = [];
    plans.push(sim.pass());
    sim.tick(1_000).succeed('wf-a-1');
    sim.succeed('wf-s-1', { token: 't', id: '1' });
    sim.fail('wf-f-1');
    plans.push(sim.pass()); // observes a, s, f; starts z
    plans.push(sim.tick(1_000).pass()); // persisted status now says a, s Succeeded
    if (zFails) sim.fail('wf-z-1');
    else sim.succeed('wf-z-1');
    plans.push(sim.tick(1_000).pass()); // finishes the workflow
    plans.push(sim.tick(1_000).pass()); // persisted status now says finished
    return plans;
  }

  it('OnPodSuccess: deletes a succeeded pod once status holds its outcome; keeps failed and sensitive pods until the end', () => {
    const sim = gcSim('OnPodSuccess');
    const [, observe, next, finish, after] = runToEnd(sim);
    expect(observe!.delete).toEqual([]);
    expect(next!.delete).toEqual([{ name: 'wf-a-1', reason: 'podGC OnPodSuccess' }]);
    expect(finish!.delete).toEqual([]);
    expect(sim.wf.status?.phase).toBe('Succeeded');
    expect(after!.delete.map((d) => d.name).sort()).toEqual(['wf-s-1', 'wf-z-1']);
    expect([...sim.pods.keys()]).toEqual(['wf-f-1']);
  });

  it('OnPodSuccess: does not delete a pod whose outputs failed validation', () => {
    const sim = new Sim(
      workflow([step('a', { agentRef: { name: 'liar' } })], { podGC: { strategy: 'OnPodSuccess' } }),
      [agent('liar', { outputsSchema: { type: 'object', required: ['x'] } })],
    );
    sim.pass();
    sim.tick(1_000).succeed('wf-a-1', {});
    sim.pass();
    expect(sim.step('a').phase).toBe('Failed');
    expect(sim.tick(1_000).pass().delete).toEqual([]);
  });

  it('OnWorkflowSuccess: deletes every pod once the workflow succeeded', () => {
    const sim = gcSim('OnWorkflowSuccess');
    const plans = runToEnd(sim);
    expect(plans.slice(0, 4).flatMap((p) => p.delete)).toEqual([]);
    expect(plans[4]!.delete.map((d) => d.name).sort()).toEqual(['wf-a-1', 'wf-f-1', 'wf-s-1', 'wf-z-1']);
    expect(plans[4]!.delete.every((d) => d.reason === 'podGC OnWorkflowSuccess')).toBe(true);
  });

  it('OnWorkflowSuccess: keeps every pod of a failed workflow', () => {
    const sim = gcSim('OnWorkflowSuccess');
    const plans = runToEnd(sim, true);
    expect(sim.wf.status?.phase).toBe('Failed');
    expect(plans.flatMap((p) => p.delete)).toEqual([]);
  });

  it('OnWorkflowCompletion: deletes every pod once the workflow finished, whatever its phase', () => {
    const sim = gcSim('OnWorkflowCompletion');
    const plans = runToEnd(sim, true);
    expect(sim.wf.status?.phase).toBe('Failed');
    expect(plans.slice(0, 4).flatMap((p) => p.delete)).toEqual([]);
    expect(plans[4]!.delete.map((d) => d.name).sort()).toEqual(['wf-a-1', 'wf-f-1', 'wf-s-1', 'wf-z-1']);
  });

  it('Never (the default): keeps every pod', () => {
    for (const sim of [gcSim('Never'), new Sim(workflow([step('a')]), [agent('scanner')])]) {
      const first = sim.pass();
      sim.tick(1_000).succeed('wf-a-1');
      sim.pods.forEach((_p, name) =>
        name === 'wf-a-1' ? undefined : sim.succeed(name, name === 'wf-s-1' ? { id: '1' } : {}),
      );
      const plans = [first, sim.pass(), sim.tick(1_000).pass(), sim.tick(1_000).pass()];
      expect(plans.flatMap((p) => p.delete)).toEqual([]);
    }
  });

  it('does not delete a pod that is already being deleted', () => {
    const sim = new Sim(workflow([step('a')], { podGC: { strategy: 'OnPodSuccess' } }), [agent('scanner')]);
    sim.pass();
    sim.tick(1_000).succeed('wf-a-1');
    sim.pass();
    const pod = sim.pods.get('wf-a-1')!;
    sim.pods.set('wf-a-1', { ...pod, metadata: { ...pod.metadata, deletionTimestamp: T0S } });
    expect(sim.tick(1_000).plan().delete).toEqual([]);
  });
});

// --- run controls -------------------------------------------------------------------------------

describe('planWorkflow: cancel', () => {
  it('deletes running pods and ends every unfinished step and the workflow as Cancelled', () => {
    const sim = new Sim(workflow([step('a'), step('b'), step('c', { dependsOn: ['a'] }), step('done')]), [
      agent('scanner'),
    ]);
    sim.pass();
    sim.tick(1_000).succeed('wf-done-1');
    sim.pass();
    sim.spec({ cancel: true });
    const p = sim.tick(1_000).pass();
    expect(p.delete).toEqual([
      { name: 'wf-a-1', reason: 'Cancelled' },
      { name: 'wf-b-1', reason: 'Cancelled' },
    ]);
    expect(p.create).toEqual([]);
    for (const n of ['a', 'b', 'c']) {
      expect(sim.step(n)).toMatchObject({
        phase: 'Cancelled',
        reason: 'Cancelled',
        message: 'cancelled by spec.cancel',
      });
    }
    expect(sim.step('done').phase).toBe('Succeeded');
    expect(sim.wf.status?.phase).toBe('Cancelled');
    expect(sim.wf.status?.finishedAt).toBe('2025-03-01T10:00:02Z');
    expect(sim.condition('Ready')).toMatchObject({
      status: 'False',
      reason: 'Cancelled',
      message: 'spec.cancel is true',
    });
    expect(sim.condition('Stalled')).toMatchObject({ status: 'True', reason: 'Cancelled' });
    expect(p.events.at(-1)).toEqual({
      type: 'Warning',
      reason: 'WorkflowCancelled',
      action: 'Workflow',
      note: 'spec.cancel is true',
    });
    expect(p.outcomes.map((o) => [o.step, o.outcome])).toEqual([
      ['a', 'Cancelled'],
      ['b', 'Cancelled'],
      ['c', 'Cancelled'],
    ]);
    const again = sim.tick(1_000).plan();
    expect(again.delete).toEqual([]);
    expect(again.status).toEqual(sim.wf.status);
  });

  it('also deletes a pod it just created that the cache does not show yet', () => {
    const sim = new Sim(workflow([step('a')]), [agent('scanner')]);
    sim.pass();
    sim.pods.delete('wf-a-1'); // created, but not in the cache yet
    sim.spec({ cancel: true });
    const p = sim.pass({ expectedPods: new Set(['wf-a-1']) });
    expect(p.delete).toEqual([{ name: 'wf-a-1', reason: 'Cancelled' }]);
    expect(sim.wf.status?.phase).toBe('Cancelled');
  });
});

describe('planWorkflow: activeDeadlineSeconds', () => {
  it('looks again at the deadline, then stops everything and fails with DeadlineExceeded', () => {
    const sim = new Sim(
      workflow([step('a'), step('b', { dependsOn: ['a'] })], { activeDeadlineSeconds: 60 }),
      [agent('scanner')],
    );
    expect(sim.pass().requeueAfterMs).toBe(60_000);
    expect(sim.tick(10_000).pass().requeueAfterMs).toBe(50_000);
    const before = sim.tick(49_999).pass();
    expect(before.requeueAfterMs).toBe(1);
    expect(sim.wf.status?.phase).toBe('Running');
    const p = sim.tick(1).pass();
    expect(sim.wf.status?.phase).toBe('Failed');
    expect(p.delete).toEqual([{ name: 'wf-a-1', reason: 'DeadlineExceeded' }]);
    const msg = 'the workflow ran longer than spec.activeDeadlineSeconds (60)';
    expect(sim.step('a')).toMatchObject({ phase: 'Failed', reason: 'DeadlineExceeded', message: msg });
    expect(sim.step('b')).toMatchObject({ phase: 'Cancelled', reason: 'DeadlineExceeded', message: msg });
    expect(sim.condition('Ready')).toMatchObject({
      status: 'False',
      reason: 'DeadlineExceeded',
      message: msg,
    });
    expect(p.events.at(-1)).toMatchObject({ type: 'Warning', reason: 'WorkflowFailed', note: msg });
  });
});

describe('planWorkflow: suspend', () => {
  it('starts nothing while suspended but still observes running steps', () => {
    const sim = new Sim(workflow([step('a'), step('b', { dependsOn: ['a'] })]), [agent('scanner')]);
    sim.pass();
    sim.spec({ suspend: true });
    sim.tick(1_000).succeed('wf-a-1', { v: 1 });
    const p = sim.pass();
    expect(sim.step('a')).toMatchObject({ phase: 'Succeeded', outputs: { v: 1 } });
    expect(p.create).toEqual([]);
    expect(sim.step('b').phase).toBe('Pending');
    expect(sim.condition('Suspended')).toEqual({
      type: 'Suspended',
      status: 'True',
      observedGeneration: 1,
      lastTransitionTime: '2025-03-01T10:00:01Z',
      reason: 'SpecSuspend',
      message: 'spec.suspend is true: no new steps start',
    });
    expect(sim.wf.status?.phase).toBe('Running');
    expectSteady(sim);

    sim.spec({ suspend: false });
    const resumed = sim.tick(1_000).pass();
    expect(created(resumed)).toEqual(['wf-b-1']);
    expect(sim.condition('Suspended')).toMatchObject({
      status: 'False',
      reason: 'NotSuspended',
      lastTransitionTime: '2025-03-01T10:00:02Z',
    });
  });

  it('starts no step of a workflow created suspended', () => {
    const sim = new Sim(workflow([step('a')], { suspend: true }), [agent('scanner')]);
    const p = sim.pass();
    expect(p.create).toEqual([]);
    expect(sim.step('a').phase).toBe('Pending');
    expect(sim.condition('Suspended').status).toBe('True');
  });

  it('does not start a retry while suspended', () => {
    const sim = new Sim(workflow([step('a', { retries: { limit: 1, backoff: { seconds: 1 } } })]), [
      agent('scanner'),
    ]);
    sim.pass();
    sim.tick(1_000).fail('wf-a-1');
    sim.pass();
    sim.spec({ suspend: true });
    expect(sim.tick(5_000).pass().create).toEqual([]);
    expect(sim.step('a').phase).toBe('Waiting');
  });
});

describe('planWorkflow: validation problems', () => {
  it('stays Pending and Stalled, with a Warning event only when the reason changes', () => {
    const strict = agent('patcher', {
      inputsSchema: { type: 'object', properties: { n: { type: 'integer' } } },
    });
    const sim = new Sim(workflow([step('a', { agentRef: { name: 'patcher' }, inputs: { n: 'x' } })]), []);
    const p1 = sim.pass();
    const msg1 = `spec.steps[a].agentRef: Agent "patcher" does not exist in namespace ${NS}`;
    expect(p1.create).toEqual([]);
    expect(sim.wf.status?.phase).toBe('Pending');
    expect(sim.wf.status?.startedAt).toBeUndefined();
    expect(sim.condition('Stalled')).toMatchObject({
      status: 'True',
      reason: 'AgentNotFound',
      message: msg1,
    });
    expect(sim.condition('Ready')).toMatchObject({ status: 'False', reason: 'AgentNotFound', message: msg1 });
    expect(sim.condition('Reconciling')).toMatchObject({ status: 'False', reason: 'AgentNotFound' });
    expect(p1.events).toEqual([{ type: 'Warning', reason: 'AgentNotFound', action: 'Validate', note: msg1 }]);
    expect(p1.audits).toEqual([{ event: 'workflow.stalled', reason: 'AgentNotFound', message: msg1 }]);
    expect(sim.history()).toEqual([
      { at: T0S, type: 'WorkflowStalled', reason: 'AgentNotFound', message: msg1 },
    ]);

    const p2 = sim.tick(10_000).pass();
    expect(p2.events).toEqual([]);
    expect(p2.audits).toEqual([]);
    expect(p2.status).toEqual(p1.status);

    sim.agents.set('patcher', strict);
    const p3 = sim.tick(10_000).pass();
    expect(p3.events).toHaveLength(1);
    expect(p3.events[0]).toMatchObject({
      type: 'Warning',
      reason: 'InputsSchemaMismatch',
      action: 'Validate',
    });
    expect(p3.events[0]!.note).toMatch(/^spec\.steps\[a\]\.inputs\.n: /);
    expect(sim.condition('Stalled')).toMatchObject({
      status: 'True',
      reason: 'InputsSchemaMismatch',
      lastTransitionTime: T0S,
    });
    expect(sim.history('WorkflowStalled').map((h) => h.reason)).toEqual([
      'AgentNotFound',
      'InputsSchemaMismatch',
    ]);
    expect(sim.tick(1_000).pass().events).toEqual([]);

    sim.spec({ steps: [step('a', { agentRef: { name: 'patcher' }, inputs: { n: 1 } })] });
    const p4 = sim.tick(1_000).pass();
    expect(created(p4)).toEqual(['wf-a-1']);
    expect(sim.wf.status?.phase).toBe('Running');
    expect(sim.condition('Stalled')).toMatchObject({ status: 'False', reason: 'Running' });
    expect(p4.events.map((e) => e.reason)).toEqual(['WorkflowStarted', 'StepStarted']);
  });

  it('reports graph problems the same way', () => {
    const sim = new Sim(workflow([step('a', { dependsOn: ['b'] }), step('b', { dependsOn: ['a'] })]), [
      agent('scanner'),
    ]);
    const p = sim.pass();
    expect(sim.wf.status?.phase).toBe('Pending');
    expect(sim.condition('Stalled')).toMatchObject({ status: 'True', reason: 'CyclicDependency' });
    expect(p.events[0]).toMatchObject({
      reason: 'CyclicDependency',
      note: 'spec.steps: dependsOn forms a cycle: a -> b -> a',
    });
    expect(sim.wf.status?.steps).toEqual([
      { name: 'a', phase: 'Pending' },
      { name: 'b', phase: 'Pending' },
    ]);
  });

  it('does not stall a running workflow whose Agent became not Ready', () => {
    const sim = new Sim(workflow([step('a'), step('b', { dependsOn: ['a'] })]), [agent('scanner')]);
    sim.pass();
    const a = agent('scanner');
    sim.agents.set('scanner', {
      ...a,
      status: {
        conditions: [
          { type: 'Ready', status: 'False', lastTransitionTime: T0S, reason: 'Broken', message: 'x' },
        ],
      },
    });
    sim.tick(1_000).succeed('wf-a-1');
    const p = sim.pass();
    expect(sim.wf.status?.phase).toBe('Running');
    expect(sim.condition('Stalled').status).toBe('False');
    expect(p.events.filter((e) => e.action === 'Validate')).toEqual([]);
    expect(sim.step('a').phase).toBe('Succeeded');
  });
});

describe('planWorkflow: finished workflows', () => {
  function failedSim(ttl?: number): Sim {
    const sim = new Sim(workflow([step('a')], ttl === undefined ? {} : { ttlSecondsAfterFinished: ttl }), [
      agent('scanner'),
    ]);
    sim.pass();
    sim.tick(1_000).fail('wf-a-1', 1, 'boom');
    sim.pass();
    expect(sim.wf.status?.phase).toBe('Failed');
    return sim;
  }

  it('keeps Ready/Stalled reasons on later passes, even when validation would now fail', () => {
    const sim = failedSim();
    const conds = sim.wf.status?.conditions;
    sim.agents.clear();
    const p = sim.tick(60_000).pass();
    expect(sim.wf.status?.conditions).toEqual(conds);
    expect(sim.condition('Ready')).toMatchObject({
      reason: 'Error',
      message: 'step a failed: exit code 1: boom',
    });
    expect(p.events).toEqual([]);
    expect(p.create).toEqual([]);
    expect(p.requeueAfterMs).toBeUndefined();
    expect(p.deleteWorkflow).toBe(false);
    sim.spec({ suspend: true });
    sim.tick(1_000).pass();
    expect(sim.condition('Ready')).toMatchObject({ reason: 'Error' });
    expect(sim.condition('Suspended').status).toBe('True');
  });

  it('ignores later changes to cancel and the deadline', () => {
    const sim = failedSim();
    const status = sim.wf.status;
    sim.spec({ cancel: true, activeDeadlineSeconds: 1 });
    const p = sim.tick(1_000).pass();
    expect(p.status).toEqual(status);
    expect(p.events).toEqual([]);
  });

  it('deletes the workflow ttlSecondsAfterFinished after it finished, looking again until then', () => {
    const sim = failedSim(60);
    expect(sim.wf.status?.finishedAt).toBe('2025-03-01T10:00:01Z');
    const p1 = sim.tick(10_000).pass();
    expect(p1.deleteWorkflow).toBe(false);
    expect(p1.requeueAfterMs).toBe(50_000);
    const p2 = sim.tick(49_999).pass();
    expect(p2.deleteWorkflow).toBe(false);
    expect(p2.requeueAfterMs).toBe(1);
    const p3 = sim.tick(1).pass();
    expect(p3.deleteWorkflow).toBe(true);
  });
});

// --- status bookkeeping ---------------------------------------------------------------------

describe('planWorkflow: conditions and history', () => {
  it("preserves conditions' lastTransitionTime across passes that do not change their status", () => {
    const sim = new Sim(workflow([step('a')]), [agent('scanner')]);
    sim.pass();
    sim.tick(30_000).pass();
    for (const t of ['Ready', 'Reconciling', 'Stalled', 'Suspended'])
      expect(sim.condition(t).lastTransitionTime).toBe(T0S);
    sim.succeed('wf-a-1');
    sim.tick(30_000).pass();
    expect(sim.condition('Ready')).toMatchObject({
      status: 'True',
      lastTransitionTime: '2025-03-01T10:01:00Z',
    });
    expect(sim.condition('Reconciling')).toMatchObject({
      status: 'False',
      lastTransitionTime: '2025-03-01T10:01:00Z',
    });
    expect(sim.condition('Stalled')).toMatchObject({
      status: 'False',
      reason: 'Succeeded',
      lastTransitionTime: T0S,
    });
    expect(sim.condition('Suspended').lastTransitionTime).toBe(T0S);
  });

  it('keeps at most HISTORY_LIMIT entries, dropping the oldest', () => {
    expect(HISTORY_LIMIT).toBe(100);
    const sim = new Sim(workflow([step('a'), step('b')]), [agent('scanner')]);
    sim.pass();
    const old: HistoryEntry[] = Array.from({ length: 100 }, (_v, i) => ({
      at: T0S,
      type: 'Old',
      message: String(i),
    }));
    sim.wf = { ...sim.wf, status: { ...sim.wf.status, history: old } };
    sim.tick(1_000).succeed('wf-a-1');
    sim.fail('wf-b-1');
    sim.pass(); // StepSucceeded, StepFailed, WorkflowFailed
    const h = sim.history();
    expect(h).toHaveLength(100);
    expect(h[0]).toEqual({ at: T0S, type: 'Old', message: '3' });
    expect(h.slice(-3).map((e) => e.type)).toEqual(['StepSucceeded', 'StepFailed', 'WorkflowFailed']);
  });

  it('keeps the stalled history bounded too', () => {
    const sim = new Sim(workflow([step('a', { agentRef: { name: 'nope' } })]), []);
    const old: HistoryEntry[] = Array.from({ length: 100 }, (_v, i) => ({
      at: T0S,
      type: 'Old',
      message: String(i),
    }));
    sim.wf = { ...sim.wf, status: { phase: 'Pending', history: old } };
    sim.pass();
    expect(sim.history()).toHaveLength(100);
    expect(sim.history()[0]!.message).toBe('1');
    expect(sim.history().at(-1)!.type).toBe('WorkflowStalled');
  });

  it('truncates long messages in history and Events', () => {
    const sim = new Sim(workflow([step('a')]), [agent('scanner')]);
    sim.pass();
    sim.tick(1_000).fail('wf-a-1', 1, 'x'.repeat(5_000));
    const p = sim.pass();
    const failed = sim.history('StepFailed')[0]!;
    expect(failed.message!.length).toBeLessThanOrEqual(1024);
    expect(p.events.every((e) => e.note.length <= 1024)).toBe(true);
    expect(sim.step('a').message!.length).toBeLessThan(600);
  });
});

describe('planWorkflow: purity', () => {
  function midRun(): Sim {
    const sim = new Sim(
      workflow(
        [
          step('a'),
          step('b', { retries: { limit: 2, backoff: { seconds: 3 } } }),
          step('c', { dependsOn: ['a'], inputs: { v: '{{ steps.a.outputs.v }}' } }),
          step('d', { dependsOn: ['c'] }),
        ],
        { activeDeadlineSeconds: 3_600 },
      ),
      [agent('scanner')],
    );
    sim.pass();
    sim.tick(1_500).succeed('wf-a-1', { v: [1, { w: 2 }] });
    sim.fail('wf-b-1');
    return sim;
  }

  it('gives deep-equal plans for the same input', () => {
    const sim = midRun();
    const input = sim.input();
    const first = planWorkflow(input);
    const second = planWorkflow(input);
    expect(second).toEqual(first);
    expect(first.create.map((c) => c.step)).toEqual(['c']);
  });

  it('does not change its input', () => {
    const sim = midRun();
    const wf = structuredClone(sim.wf);
    const pods = structuredClone([...sim.pods.entries()]);
    sim.plan();
    expect(sim.wf).toEqual(wf);
    expect([...sim.pods.entries()]).toEqual(pods);
  });

  it('is idempotent: its own status fed back, with no change in the world, decides nothing new', () => {
    const sim = midRun();
    sim.pass();
    expectSteady(sim);
    sim.tick(1_000);
    const later = sim.plan();
    expect(later.status).toEqual(sim.wf.status);
    expect(later.events).toEqual([]);
  });
});

// --- pods refused at creation ---------------------------------------------------------------------

describe('refused starts go back through the engine (EngineInput.refused)', () => {
  function started(parallelism?: number): { sim: Sim; plan: EnginePlan } {
    const sim = new Sim(
      workflow([step('a'), step('b')], parallelism === undefined ? {} : { parallelism }),
      [agent('scanner')],
      new Date('2025-03-01T10:00:00.400Z'),
    );
    const plan = sim.plan();
    return { sim, plan };
  }
  const wait = (
    pod: string,
    reason: CreateWaitReason,
    message: string,
    refusals = 1,
  ): { refused: ReadonlyMap<string, Refusal> } => ({
    refused: new Map([[pod, { kind: 'wait', reason, message, refusals }]]),
  });

  it('turns a refused start into a Waiting step with the same attempt and a retry time', () => {
    const { sim, plan } = started();
    const r = sim.plan(wait('wf-a-1', 'QuotaExceeded', 'exceeded quota: paddock-agents, requested: pods=1'));
    expect(r.create.map((c) => c.pod.metadata.name)).toEqual(['wf-b-1']);
    expect(r.requeueAfterMs).toBe(QUOTA_RETRY_MS.min);
    const a = r.status.steps?.find((s) => s.name === 'a');
    expect(a).toEqual({
      name: 'a',
      phase: 'Waiting',
      attempt: 1,
      // no startedAt: attempt 1 never had a pod, so the step has not started yet
      reason: 'QuotaExceeded',
      message:
        "waiting for room in the namespace's agent ResourceQuota: exceeded quota: paddock-agents, requested: pods=1",
      nextRetryAt: '2025-03-01T10:00:01.400Z',
    });
    expect(r.status.steps?.find((s) => s.name === 'b')).toEqual(
      plan.status.steps?.find((s) => s.name === 'b'),
    );
    // The refused attempt's StepStarted is never recorded; b's is; the wait is.
    expect(r.status.history?.map((h) => [h.type, h.step])).toEqual([
      ['WorkflowStarted', undefined],
      ['StepStarted', 'b'],
      ['StepWaiting', 'a'],
    ]);
    expect(r.status.history?.find((h) => h.type === 'StepWaiting')).toEqual({
      at: T0S,
      type: 'StepWaiting',
      step: 'a',
      reason: 'QuotaExceeded',
      message: 'exceeded quota: paddock-agents, requested: pods=1',
    });
    // One Event and one audit line for the wait, under the refusal's own reason; none for a start.
    expect(r.events.filter((e) => e.action === 'Step/a')).toEqual([
      {
        type: 'Warning',
        reason: 'QuotaExceeded',
        action: 'Step/a',
        note: 'step a waits: exceeded quota: paddock-agents, requested: pods=1',
      },
    ]);
    expect(r.audits.filter((x) => x.step === 'a').map((x) => [x.event, x.reason])).toEqual([
      ['step.waiting', 'QuotaExceeded'],
    ]);
    expect(r.outcomes).toEqual([]);
  });

  it('keeps the refused step’s slot for the pass: nothing starts that the first plan did not start', () => {
    const { sim, plan } = started(1);
    expect(plan.create.map((c) => c.step)).toEqual(['a']);
    const r = sim.plan(wait('wf-a-1', 'QuotaExceeded', 'full'));
    expect(r.create).toEqual([]);
    expect(r.status.steps?.map((x) => x.phase)).toEqual(['Waiting', 'Pending']);
  });

  it('a start refused for good fails the step, with a history entry, an Event and an outcome', () => {
    const { sim } = started();
    const r = sim.plan({
      refused: new Map([
        [
          'wf-a-1',
          {
            kind: 'fail',
            reason: 'PodRejected',
            message: 'the API server refused its pod: denied by policy x',
          } satisfies Refusal,
        ],
      ]),
    });
    expect(r.create.map((c) => c.step)).toEqual(['b']);
    expect(r.status.steps?.[0]).toMatchObject({
      phase: 'Failed',
      reason: 'PodRejected',
      message: 'the API server refused its pod: denied by policy x',
    });
    expect(r.status.history?.filter((h) => h.step === 'a').map((h) => [h.type, h.reason])).toEqual([
      ['StepFailed', 'PodRejected'],
    ]);
    expect(r.events.filter((e) => e.action === 'Step/a').map((e) => [e.reason, e.note])).toEqual([
      ['PodRejected', 'step a: the API server refused its pod: denied by policy x'],
    ]);
    expect(r.outcomes).toEqual([
      expect.objectContaining({ step: 'a', outcome: 'Failed', reason: 'PodRejected' }),
    ]);
    // b, started in the same pass, keeps running; the workflow fails once b ends.
    expect(r.status.steps?.[1]).toMatchObject({ phase: 'Running' });
    expect(r.status.phase).toBe('Running');
  });

  it('backs off exponentially, capped', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 50].map((n) => refusedRetryMs(n));
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
    expect(QUOTA_RETRY_MS.max).toBe(30_000);
    const { sim } = started();
    expect(sim.plan(wait('wf-a-1', 'QuotaExceeded', 'full', 3)).status.steps?.[0]?.nextRetryAt).toBe(
      '2025-03-01T10:00:04.400Z',
    );
  });

  it('says why for SandboxNotReady, in the step and in history', () => {
    const { sim } = started();
    const r = sim.plan(wait('wf-a-1', 'SandboxNotReady', 'serviceaccount "paddock-agent" not found'));
    expect(r.status.steps?.[0]).toMatchObject({
      phase: 'Waiting',
      reason: 'SandboxNotReady',
      message: `waiting for the namespace's agent sandbox (ServiceAccount paddock-agent): serviceaccount "paddock-agent" not found`,
    });
    expect(r.status.history?.find((h) => h.step === 'a')).toMatchObject({
      type: 'StepWaiting',
      step: 'a',
      reason: 'SandboxNotReady',
    });
  });

  for (const reason of ['QuotaExceeded', 'SandboxNotReady'] as const) {
    it(`${reason}: the engine tries the same attempt again when due, and reports the wait only once`, () => {
      const { sim } = started();
      sim.apply(sim.plan(wait('wf-a-1', reason, 'refused')));
      expect(sim.pods.has('wf-a-1')).toBe(false);
      expect(sim.pods.has('wf-b-1')).toBe(true);

      const early = sim.tick(500).pass();
      expect(early.create).toEqual([]);
      expect(early.requeueAfterMs).toBe(500);
      expect(sim.step('a')).toMatchObject({ phase: 'Waiting', reason });

      sim.tick(500);
      const retry = sim.plan();
      expect(retry.create.map((c) => [c.step, c.attempt, c.pod.metadata.name])).toEqual([['a', 1, 'wf-a-1']]);
      // Refused again: not news.
      const r2 = sim.plan(wait('wf-a-1', reason, 'refused', 2));
      expect(r2.requeueAfterMs).toBe(2_000);
      expect(r2.events).toEqual([]);
      expect(r2.status.history?.filter((h) => h.type === 'StepWaiting')).toHaveLength(1);
      expect(r2.status.history?.filter((h) => h.type === 'StepStarted' && h.step === 'a')).toEqual([]);
      sim.apply(r2);

      // Room at last: attempt 1 is created, counting no retry.
      sim.tick(2_000);
      const ok = sim.pass();
      expect(ok.create.map((c) => [c.step, c.attempt])).toEqual([['a', 1]]);
      expect(sim.step('a')).toMatchObject({ phase: 'Running', attempt: 1, podName: 'wf-a-1' });
      expect(sim.step('a').reason).toBeUndefined();
      expect(sim.step('a').nextRetryAt).toBeUndefined();
    });
  }

  it('is news again after a start succeeded in between', () => {
    const { sim } = started();
    sim.apply(sim.plan(wait('wf-a-1', 'QuotaExceeded', 'full')));
    sim.tick(1_000).pass(); // a created now
    sim.tick(1_000).fail('wf-a-1');
    sim.wf = {
      ...sim.wf,
      spec: {
        ...sim.wf.spec,
        steps: [step('a', { retries: { limit: 1, backoff: { seconds: 1 } } }), step('b')],
      },
    };
    sim.pass(); // a: Waiting RetryBackoff
    sim.tick(1_000);
    expect(sim.plan().create.map((c) => [c.step, c.attempt])).toEqual([['a', 2]]);
    const r = sim.plan(wait('wf-a-2', 'QuotaExceeded', 'full'));
    expect(r.status.history?.filter((h) => h.type === 'StepWaiting')).toHaveLength(2);
    expect(r.status.steps?.[0]).toMatchObject({ phase: 'Waiting', reason: 'QuotaExceeded', attempt: 2 });
    sim.apply(r);
    // The refused attempt 2 is tried again as attempt 2, not 3.
    expect(
      sim
        .tick(1_000)
        .pass()
        .create.map((c) => [c.step, c.attempt]),
    ).toEqual([['a', 2]]);
  });

  it('adopts the pod of a refused attempt that turns out to exist', () => {
    const { sim, plan } = started();
    const r1 = sim.plan(wait('wf-a-1', 'QuotaExceeded', 'full'));
    sim.apply({ ...r1, create: plan.create }); // the pod did get created after all
    const p = sim.tick(100).pass();
    expect(p.create).toEqual([]);
    expect(sim.step('a')).toMatchObject({ phase: 'Running', attempt: 1, podName: 'wf-a-1' });
  });
});
