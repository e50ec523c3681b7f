// forEach steps (fan-out), pass by pass on the pure engine, and the compact instance status.
import { describe, expect, it } from 'vitest';
import { agent, created, inputsOf, Sim, step, workflow } from './engine-sim.ts';
import type { StepStatus, WorkflowStep } from '../../../../operator/src/api/generated/index.ts';
import {
  decodeInstances,
  encodeInstances,
  retryInstances,
  summarize,
} from '../../../../operator/src/controllers/workflow/instances.ts';
import { validateWorkflow } from '../../../../operator/src/controllers/workflow/validate.ts';
import { LABEL_INSTANCE } from '../../../../operator/src/api/labels.ts';

const scan = (extra: Partial<WorkflowStep> = {}): WorkflowStep =>
  step('scan', {
    dependsOn: ['list'],
    forEach: { expression: 'steps.list.outputs.files' },
    inputs: { file: '{{ item }}', n: '{{ index }}' },
    ...extra,
  });

function fanOut(
  files: unknown[],
  extra: Partial<WorkflowStep> = {},
  parallelism = 2,
  more: WorkflowStep[] = [],
): Sim {
  const sim = new Sim(workflow([step('list'), scan(extra), ...more], { parallelism }), [agent('scanner')]);
  sim.pass();
  sim.succeed('wf-list-1', { files });
  return sim;
}

describe('forEach', () => {
  it('runs one instance per item of an upstream output, within parallelism, outputs in item order', () => {
    const sim = fanOut(['a.go', 'b.go', 'c.go'], {}, 2, [
      step('report', { dependsOn: ['scan'], inputs: { all: '{{ steps.scan.outputs }}' } }),
    ]);
    const p1 = sim.tick(1_000).pass();
    expect(created(p1)).toEqual(['wf-scan-0-1', 'wf-scan-1-1']);
    expect(inputsOf(p1.create[1]!.pod)).toEqual({ file: 'b.go', n: 1 });
    expect(p1.create[1]!.pod.metadata.labels?.[LABEL_INSTANCE]).toBe('1');
    expect(sim.step('scan')).toMatchObject({ phase: 'Running' });
    expect(sim.step('scan').instances).toMatchObject({ count: 3, phases: 'RRP' });
    // Instance 1 finishes first; instance 2 takes its slot.
    sim.succeed('wf-scan-1-1', { n: 1 });
    expect(created(sim.tick(1_000).pass())).toEqual(['wf-scan-2-1']);
    sim.succeed('wf-scan-2-1', { n: 2 });
    sim.succeed('wf-scan-0-1', { n: 0 });
    const p = sim.tick(1_000).pass();
    expect(sim.step('scan')).toMatchObject({ phase: 'Succeeded', reason: 'Completed' });
    expect(sim.step('scan').instances?.outputs).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }]);
    expect(created(p)).toEqual(['wf-report-1']);
    expect(inputsOf(p.create[0]!.pod)).toEqual({ all: [{ n: 0 }, { n: 1 }, { n: 2 }] });
    // Instances' starts and successes are audit lines, not history entries or Events.
    expect(sim.history('StepStarted').map((h) => h.step)).toEqual(['list', 'scan', 'report']);
    expect(p.audits.filter((a) => a.instance !== undefined).length).toBeGreaterThan(0);
  });

  it('counts instances against parallelism together with other steps', () => {
    const sim = new Sim(
      workflow([step('solo'), step('scan', { forEach: { items: [1, 2, 3] } })], { parallelism: 2 }),
      [agent('scanner')],
    );
    expect(created(sim.pass())).toEqual(['wf-solo-1', 'wf-scan-0-1']);
    expect(created(sim.tick(1_000).pass())).toEqual([]);
    sim.succeed('wf-solo-1');
    expect(created(sim.tick(1_000).pass())).toEqual(['wf-scan-1-1']);
  });

  it('FailFast: no new instance starts after a failure; running ones finish; the step fails', () => {
    const sim = fanOut([1, 2, 3, 4], {}, 2, [step('after', { dependsOn: ['scan'] })]);
    sim.tick(1_000).pass();
    sim.fail('wf-scan-0-1', 2, 'bad file');
    const p = sim.tick(1_000).pass();
    expect(created(p)).toEqual([]);
    expect(sim.step('scan').instances?.phases).toBe('FRKK');
    expect(p.events.filter((e) => e.reason === 'InstanceFailed')).toHaveLength(1);
    sim.succeed('wf-scan-1-1');
    sim.tick(1_000).pass();
    expect(sim.step('scan')).toMatchObject({ phase: 'Failed', reason: 'InstancesFailed' });
    expect(sim.step('scan').message).toContain('1 of 4 instances failed; the first, instance 0');
    expect(sim.step('scan').instances?.failures?.[0]).toMatchObject({ index: 0, reason: 'Error' });
    expect(sim.step('after')).toMatchObject({ phase: 'Skipped', reason: 'UpstreamFailed' });
    expect(sim.wf.status?.phase).toBe('Failed');
  });

  it('RunAll: every instance runs; the step fails at the end; dependents see null for the failed one', () => {
    const sim = fanOut(
      [1, 2, 3],
      {
        forEach: { expression: 'steps.list.outputs.files', failurePolicy: 'RunAll' },
        continueOnFailure: true,
      },
      2,
      [step('after', { dependsOn: ['scan'], inputs: { all: '{{ steps.scan.outputs }}' } })],
    );
    sim.tick(1_000).pass();
    sim.fail('wf-scan-0-1');
    expect(created(sim.tick(1_000).pass())).toEqual(['wf-scan-2-1']);
    sim.succeed('wf-scan-1-1', { ok: 1 });
    sim.succeed('wf-scan-2-1', { ok: 2 });
    const p = sim.tick(1_000).pass();
    expect(sim.step('scan')).toMatchObject({ phase: 'Failed', reason: 'InstancesFailed' });
    expect(inputsOf(p.create[0]!.pod)).toEqual({ all: [null, { ok: 1 }, { ok: 2 }] });
  });

  it('evaluates `when` per instance, with the item', () => {
    const sim = fanOut([1, 5, 2, 7], { when: 'item > 3' });
    expect(created(sim.tick(1_000).pass())).toEqual(['wf-scan-1-1', 'wf-scan-3-1']);
    expect(sim.step('scan').instances?.phases).toBe('KRKR');
  });

  it('an empty list succeeds at once; a non-list fails the step naming the field', () => {
    const empty = fanOut([]);
    empty.tick(1_000).pass();
    expect(empty.step('scan')).toMatchObject({ phase: 'Succeeded', reason: 'NoItems' });
    const bad = fanOut('not a list' as unknown as unknown[]);
    bad.tick(1_000).pass();
    expect(bad.step('scan')).toMatchObject({ phase: 'Failed', reason: 'InvalidForEach' });
    expect(bad.step('scan').message).toContain('spec.steps[scan].forEach.expression must give a list');
  });

  it('a list over the item limit fails with TooManyItems', () => {
    const sim = new Sim(
      workflow([step('scan', { forEach: { expression: 'inputs.xs' } })], {
        inputs: { xs: Array.from({ length: 5001 }, (_, i) => i) },
      }),
      [agent('scanner')],
    );
    sim.pass();
    expect(sim.step('scan')).toMatchObject({ phase: 'Failed', reason: 'TooManyItems' });
  });

  it('retries a failed instance with its own attempts and pod names', () => {
    const sim = fanOut([1, 2], { retries: { limit: 1, backoff: { seconds: 1 } } });
    sim.tick(1_000).pass();
    sim.fail('wf-scan-0-1');
    sim.tick(1_000).pass();
    expect(sim.step('scan').instances?.phases).toBe('WR');
    expect(created(sim.tick(2_000).pass())).toEqual(['wf-scan-0-2']);
    expect(sim.step('scan').instances?.attempts).toEqual({ '0': 2 });
  });

  it('adopts an instance pod a crashed pass created and never makes a second one', () => {
    const sim = fanOut([1, 2, 3]);
    const p = sim.tick(1_000).plan();
    // The pods were created, the status write was lost.
    for (const c of p.create) sim.pods.set(c.pod.metadata.name!, c.pod);
    const again = sim.pass();
    expect(created(again)).toEqual([]);
    expect(sim.step('scan').instances?.phases).toBe('RRP');
  });

  it('cancel stops running instances and cancels the rest', () => {
    const sim = fanOut([1, 2, 3]);
    sim.tick(1_000).pass();
    sim.spec({ cancel: true });
    const p = sim.tick(1_000).pass();
    expect(p.delete.map((d) => d.name).sort()).toEqual(['wf-scan-0-1', 'wf-scan-1-1']);
    expect(sim.step('scan').phase).toBe('Cancelled');
    expect(sim.step('scan').instances?.phases).toBe('CCC');
  });

  it('a run retry keeps succeeded instances and starts new attempts of the others', () => {
    const sim = fanOut([1, 2], {
      forEach: { expression: 'steps.list.outputs.files', failurePolicy: 'RunAll' },
    });
    sim.tick(1_000).pass();
    sim.succeed('wf-scan-0-1', { v: 0 });
    sim.fail('wf-scan-1-1');
    sim.tick(1_000).pass();
    expect(sim.wf.status?.phase).toBe('Failed');
    sim.spec({ retry: { count: 1, requestedBy: 'alice' } });
    const p = sim.tick(1_000).pass();
    expect(created(p)).toEqual(['wf-scan-1-2']);
    expect(sim.step('scan').instances?.phases).toBe('SR');
    sim.succeed('wf-scan-1-2', { v: 1 });
    sim.tick(1_000).pass();
    expect(sim.wf.status?.phase).toBe('Succeeded');
    expect(sim.step('scan').instances?.outputs).toEqual([{ v: 0 }, { v: 1 }]);
  });

  it('makes Events of the first 20 instance failures only; the rest are audit lines', () => {
    const sim = fanOut(
      Array.from({ length: 30 }, (_, i) => i),
      { forEach: { expression: 'steps.list.outputs.files', failurePolicy: 'RunAll' } },
      30,
    );
    sim.tick(1_000).pass();
    for (let i = 0; i < 30; i++) sim.fail(`wf-scan-${i}-1`);
    const p = sim.tick(1_000).pass();
    expect(p.events.filter((e) => e.reason === 'InstanceFailed')).toHaveLength(20);
    expect(p.audits.filter((a) => a.event === 'step.failed' && a.instance !== undefined)).toHaveLength(30);
    expect(sim.step('scan').message).toContain('30 of 30 instances failed');
  });

  it('a refused instance pod waits and tries the same attempt again; active instances stay bounded', () => {
    const sim = fanOut(
      Array.from({ length: 40 }, (_, i) => i),
      {},
      10,
    );
    const quota = (names: string[]) =>
      new Map(
        names.map((n) => [
          n,
          {
            kind: 'wait' as const,
            reason: 'QuotaExceeded' as const,
            message: 'exceeded quota: pods',
            refusals: 1,
          },
        ]),
      );
    // Every start refused, pass after pass: the refused ones wait, and new ones stop once
    // running + waiting reach 2 × parallelism.
    for (let k = 0; k < 5; k++) {
      const first = sim.tick(1_000).plan();
      const p = sim.pass({ refused: quota(created(first)) });
      // One Event for the step's wait, the first time only.
      expect(p.events.filter((e) => e.reason === 'QuotaExceeded')).toHaveLength(k === 0 ? 1 : 0);
      const inst = sim.step('scan').instances!;
      expect(inst.active?.length ?? 0).toBeLessThanOrEqual(20);
    }
    const inst = sim.step('scan').instances!;
    expect(inst.active?.[0]).toMatchObject({ index: 0, attempt: 1, reason: 'QuotaExceeded' });
    expect(inst.phases.slice(0, 10)).toBe('W'.repeat(10));
    // Room again: the waiting instance starts its same attempt, with the same pod name.
    const p = sim.tick(60_000).pass();
    expect(created(p)).toContain('wf-scan-0-1');
  });

  it('refuses outputs that would make the step too large together', () => {
    const big = { blob: 'x'.repeat(3000) };
    const sim = fanOut(
      Array.from({ length: 60 }, (_, i) => i),
      { forEach: { expression: 'steps.list.outputs.files', failurePolicy: 'RunAll' } },
      100,
    );
    sim.tick(1_000).pass();
    for (let i = 0; i < 60; i++) sim.succeed(`wf-scan-${i}-1`, big);
    sim.tick(1_000).pass();
    const inst = sim.step('scan').instances!;
    expect(inst.phases.replace(/S/g, '')).toMatch(/^F+$/);
    expect(inst.failures?.[0]?.reason).toBe('OutputsTooLarge');
    expect(JSON.stringify(inst.outputs).length).toBeLessThanOrEqual(128 * 1024 + 200);
  });
});

describe('forEach validation', () => {
  const v = (steps: WorkflowStep[], agents = [agent('scanner')]) =>
    validateWorkflow(workflow(steps), new Map(agents.map((a) => [a.metadata.name!, a])));

  it('refuses item and index outside a forEach step, but not a loop variable named item', () => {
    const bad = v([step('a', { inputs: { x: '{{ item }}' } })]);
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.problems[0]!.message).toContain('uses `item`');
    expect(v([step('a', { inputs: { x: '{{ [1].map(item, item + 1) }}' } })]).ok).toBe(true);
  });

  it('refuses a forEach expression over a step it does not depend on', () => {
    const r = v([step('list'), step('scan', { forEach: { expression: 'steps.list.outputs.files' } })]);
    expect(!r.ok && r.problems[0]).toMatchObject({ reason: 'InvalidForEach' });
    expect(!r.ok && r.problems[0]!.message).toContain('spec.steps[scan].forEach.expression');
  });

  it('refuses a gated Agent in a forEach step', () => {
    const gated = agent('scanner', { riskLevel: 'ApprovalRequired' });
    const r = v([step('scan', { forEach: { items: [1] } })], [gated]);
    expect(!r.ok && r.problems.map((p) => p.reason)).toContain('InvalidForEach');
  });

  it('refuses a step named like an instance of a forEach step', () => {
    const r = v([step('scan', { forEach: { items: [1] } }), step('scan-1')]);
    expect(!r.ok && r.problems[0]!.message).toContain('instance of forEach step "scan"');
  });
});

describe('instance status', () => {
  const st = (phase: StepStatus['phase'], extra: Partial<StepStatus> = {}): StepStatus => ({
    name: 's',
    phase,
    ...extra,
  });

  it('round-trips through the compact form', () => {
    const list = [
      st('Succeeded', { attempt: 1, outputs: { a: 1 } }),
      st('Running', { attempt: 2, podName: 'p', startedAt: '2025-01-01T00:00:00Z' }),
      st('Pending'),
      st('Pending', { attempt: 3 }),
      st('Failed', { attempt: 1, reason: 'Error', message: 'exit 1' }),
      st('Waiting', { attempt: 1, reason: 'RetryBackoff', nextRetryAt: '2025-01-01T00:00:05Z' }),
      st('Skipped', { attempt: 1 }),
    ];
    const enc = encodeInstances(list);
    expect(enc.phases).toBe('SRPPFWK');
    expect(enc.attempts).toEqual({ '1': 2, '3': 3 });
    expect(enc.active?.map((a) => a.index)).toEqual([1, 5]);
    expect(enc.outputs).toEqual([{ a: 1 }, null, null, null, null, null, null]);
    expect(decodeInstances('s', enc)).toEqual(list);
  });

  it('keeps 1000 instances small', () => {
    const list = Array.from({ length: 1000 }, (_, i) => st('Succeeded', { attempt: 1, outputs: { n: i } }));
    expect(JSON.stringify(encodeInstances(list)).length).toBeLessThan(20_000);
  });

  it('keeps only the first 20 failures', () => {
    const list = Array.from({ length: 50 }, () => st('Failed', { attempt: 1, reason: 'Error' }));
    expect(encodeInstances(list).failures).toHaveLength(20);
  });

  it('a retry keeps succeeded instances unless all must run again', () => {
    const enc = encodeInstances([st('Succeeded', { attempt: 1, outputs: {} }), st('Failed', { attempt: 2 })]);
    expect(retryInstances(enc, false)).toMatchObject({ phases: 'SP', attempts: { '1': 2 } });
    expect(retryInstances(enc, true)).toMatchObject({ phases: 'PP', attempts: { '0': 1, '1': 2 } });
  });

  it('summarizes counts', () => {
    expect(summarize('SSFRP')).toBe('3/5 done (2 succeeded, 1 failed), 1 running, 1 pending');
  });
});
