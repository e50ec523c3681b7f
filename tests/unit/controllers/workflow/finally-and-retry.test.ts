// Finally steps (spec.finally) and retrying a run (spec.retry), pass by pass on the pure engine.
import { describe, expect, it } from 'vitest';
import { agent, created, inputsOf, Sim, step, workflow } from './engine-sim.ts';
import type { WorkflowStep } from '../../../../operator/src/api/generated/index.ts';

const notify = (extra: Partial<WorkflowStep> = {}): WorkflowStep =>
  step('notify', {
    inputs: { status: '{{ workflow.status }}', failed: '{{ workflow.failedSteps }}' },
    ...extra,
  });

function run(
  finallySteps: WorkflowStep[] = [notify()],
  steps = [step('a'), step('b', { dependsOn: ['a'] })],
): Sim {
  return new Sim(workflow(steps, { finally: finallySteps }), [agent('scanner')]);
}

describe('finally steps', () => {
  it('run after a DAG that succeeded, seeing its verdict; the run succeeds', () => {
    const sim = run();
    expect(created(sim.pass())).toEqual(['wf-a-1']);
    sim.succeed('wf-a-1', { n: 1 });
    expect(created(sim.tick(1_000).pass())).toEqual(['wf-b-1']);
    expect(sim.step('notify').phase).toBe('Pending');
    sim.succeed('wf-b-1');
    const p = sim.tick(1_000).pass();
    expect(created(p)).toEqual(['wf-notify-1']);
    expect(inputsOf(p.create[0]!.pod)).toEqual({ status: 'Succeeded', failed: [] });
    expect(sim.wf.status?.phase).toBe('Running');
    expect(sim.wf.status?.progress).toBe('2/3');
    sim.succeed('wf-notify-1');
    sim.tick(1_000).pass();
    expect(sim.wf.status?.phase).toBe('Succeeded');
    expect(sim.wf.status?.progress).toBe('3/3');
  });

  it('run after a DAG that failed, seeing the failed steps; the failure stays the verdict', () => {
    const sim = run();
    sim.pass();
    sim.fail('wf-a-1', 3, 'boom');
    const p = sim.tick(1_000).pass();
    expect(sim.step('b')).toMatchObject({ phase: 'Skipped', reason: 'UpstreamFailed' });
    expect(created(p)).toEqual(['wf-notify-1']);
    expect(inputsOf(p.create[0]!.pod)).toEqual({ status: 'Failed', failed: ['a'] });
    expect(sim.wf.status?.phase).toBe('Running');
    sim.succeed('wf-notify-1');
    sim.tick(1_000).pass();
    expect(sim.wf.status?.phase).toBe('Failed');
    expect(sim.condition('Ready')).toMatchObject({ status: 'False', reason: 'Error' });
  });

  it('run after a cancel; running steps are stopped first', () => {
    const sim = run();
    sim.pass();
    sim.spec({ cancel: true });
    const p = sim.tick(1_000).pass();
    expect(p.delete.map((d) => d.name)).toEqual(['wf-a-1']);
    expect(sim.step('a').phase).toBe('Cancelled');
    expect(created(p)).toEqual(['wf-notify-1']);
    expect(inputsOf(p.create[0]!.pod)).toEqual({ status: 'Cancelled', failed: [] });
    sim.succeed('wf-notify-1');
    sim.tick(1_000).pass();
    expect(sim.wf.status?.phase).toBe('Cancelled');
  });

  it('run after the deadline, which stops the DAG but not them', () => {
    const sim = new Sim(workflow([step('a')], { finally: [notify()], activeDeadlineSeconds: 60 }), [
      agent('scanner'),
    ]);
    sim.pass();
    const p = sim.tick(61_000).pass();
    expect(sim.step('a')).toMatchObject({ phase: 'Failed', reason: 'DeadlineExceeded' });
    expect(created(p)).toEqual(['wf-notify-1']);
    sim.succeed('wf-notify-1');
    sim.tick(1_000).pass();
    expect(sim.wf.status?.phase).toBe('Failed');
    expect(sim.condition('Ready').reason).toBe('DeadlineExceeded');
  });

  it('a failing finally step fails a run that had succeeded (FinallyFailed)', () => {
    const sim = run([notify()], [step('a')]);
    sim.pass();
    sim.succeed('wf-a-1');
    sim.tick(1_000).pass();
    sim.fail('wf-notify-1', 1, 'smtp down');
    sim.tick(1_000).pass();
    expect(sim.wf.status?.phase).toBe('Failed');
    expect(sim.condition('Ready')).toMatchObject({ reason: 'FinallyFailed' });
    expect(sim.condition('Ready').message).toContain('finally step notify');
  });

  it('a failing finally step never hides the verdict of a run that had failed', () => {
    const sim = run([notify()], [step('a')]);
    sim.pass();
    sim.fail('wf-a-1', 2, 'bad');
    sim.tick(1_000).pass();
    sim.fail('wf-notify-1', 1, 'smtp down');
    sim.tick(1_000).pass();
    expect(sim.wf.status?.phase).toBe('Failed');
    const ready = sim.condition('Ready');
    expect(ready.reason).toBe('Error');
    expect(ready.message).toMatch(/^step a failed: .*; finally step notify .* also failed$/);
  });

  it('finally steps order among themselves and fail fast among themselves only', () => {
    const sim = run([step('report'), step('close', { dependsOn: ['report'] })], [step('a')]);
    sim.pass();
    sim.fail('wf-a-1');
    expect(created(sim.tick(1_000).pass())).toEqual(['wf-report-1']);
    sim.succeed('wf-report-1');
    expect(created(sim.tick(1_000).pass())).toEqual(['wf-close-1']);
  });
});

describe('retrying a run (spec.retry)', () => {
  function failedRun(): Sim {
    const sim = new Sim(
      workflow([step('a'), step('b', { dependsOn: ['a'] }), step('c', { dependsOn: ['b'] })], {
        finally: [notify()],
      }),
      [agent('scanner')],
    );
    sim.pass();
    sim.succeed('wf-a-1', { kept: true });
    sim.tick(1_000).pass();
    sim.fail('wf-b-1', 1, 'flaky');
    sim.tick(1_000).pass();
    sim.succeed('wf-notify-1');
    sim.tick(1_000).pass();
    expect(sim.wf.status?.phase).toBe('Failed');
    return sim;
  }

  it('starts new attempts of the steps that did not succeed, keeping the others and their pods', () => {
    const sim = failedRun();
    const before = new Set(sim.pods.keys());
    sim.spec({ retry: { count: 1, requestedBy: 'alice' } });
    const p = sim.tick(1_000).pass();
    expect(sim.wf.status?.phase).toBe('Running');
    expect(sim.wf.status?.retries).toBe(1);
    expect(sim.wf.status?.finishedAt).toBeUndefined();
    // a is not re-run: no new pod, its outputs kept; b runs as attempt 2 (a new pod name).
    expect(created(p)).toEqual(['wf-b-2']);
    expect(sim.step('a')).toMatchObject({ phase: 'Succeeded', outputs: { kept: true } });
    expect(sim.step('c')).toMatchObject({ phase: 'Pending', reason: 'RetryRequested' });
    expect(sim.history('WorkflowRetried')).toEqual([
      expect.objectContaining({ user: 'alice', reason: 'RetryRequested' }),
    ]);
    expect(p.events.find((e) => e.reason === 'WorkflowRetried')?.note).toContain('asked by alice');
    expect(p.audits.find((a) => a.event === 'workflow.retried')).toMatchObject({ user: 'alice' });
    for (const name of before) expect(sim.pods.has(name)).toBe(true);

    sim.succeed('wf-b-2');
    expect(created(sim.tick(1_000).pass())).toEqual(['wf-c-1']);
    sim.succeed('wf-c-1');
    // The finally step runs again, as a new attempt.
    expect(created(sim.tick(1_000).pass())).toEqual(['wf-notify-2']);
    sim.succeed('wf-notify-2');
    sim.tick(1_000).pass();
    expect(sim.wf.status?.phase).toBe('Succeeded');
    // Handled once: more passes change nothing.
    expect(created(sim.tick(1_000).pass())).toEqual([]);
    expect(sim.history('WorkflowRetried')).toHaveLength(1);
  });

  it('a request while the run is still running is recorded and dropped', () => {
    const sim = new Sim(workflow([step('a')]), [agent('scanner')]);
    sim.pass();
    sim.spec({ retry: { count: 1, requestedBy: 'mallory' } });
    const p = sim.tick(1_000).pass();
    expect(created(p)).toEqual([]);
    expect(sim.wf.status?.retries).toBe(1);
    expect(sim.history('WorkflowRetryIgnored')[0]).toMatchObject({ reason: 'NotFinished', user: 'mallory' });
    sim.succeed('wf-a-1');
    sim.tick(1_000).pass();
    expect(sim.wf.status?.phase).toBe('Succeeded');
  });

  it('retries a cancelled run once spec.cancel is cleared with the request', () => {
    const sim = new Sim(workflow([step('a')]), [agent('scanner')]);
    sim.pass();
    sim.spec({ cancel: true });
    sim.tick(1_000).pass();
    expect(sim.wf.status?.phase).toBe('Cancelled');
    sim.spec({ cancel: false, retry: { count: 1, requestedBy: 'alice' } });
    expect(created(sim.tick(1_000).pass())).toEqual(['wf-a-2']);
  });
});
