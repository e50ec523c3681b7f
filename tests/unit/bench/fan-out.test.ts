// The fan-out scenario's pure parts (bench/lib/fan-out.ts): its Workflow, the pods-at-once sweep,
// slot freed -> next pod, and the check of the final state.
import { describe, expect, it } from 'vitest';
import type { Workflow } from '../../../operator/src/api/generated/index.ts';
import {
  buildFanOutWorkflow,
  checkFanOut,
  fanOutItems,
  podsAtOnce,
  slotToNextPodMs,
  type PodTimes,
} from '../../../bench/lib/fan-out.ts';
import { parseBenchArgs } from '../../../bench/lib/args.ts';

const items = fanOutItems(5);

function finished(over: (wf: Workflow) => void = () => {}): Workflow {
  const wf = buildFanOutWorkflow({
    name: 'fanout',
    namespace: 'bench',
    agent: 'sim',
    echoAgent: 'sim-echo',
    items,
    parallelism: 2,
    podGC: 'Never',
  });
  wf.status = {
    phase: 'Succeeded',
    steps: [
      { name: 'list', phase: 'Succeeded' },
      {
        name: 'fan',
        phase: 'Succeeded',
        instances: {
          count: 5,
          phases: 'SSSSS',
          outputs: items.map((item, index) => ({ item, index })),
        },
      },
      { name: 'report', phase: 'Succeeded', outputs: { count: 5, last: 'repo-0004' } },
    ],
  };
  over(wf);
  return wf;
}

const pods: PodTimes[] = items.map((_, i) => ({ added: i * 10, done: i * 10 + 15, phase: 'Succeeded' }));

describe('the fan-out scenario', () => {
  it('builds list -> fan (forEach over inputs.items) -> report reading the outputs', () => {
    const wf = finished();
    expect(wf.spec.inputs).toEqual({
      items: ['repo-0000', 'repo-0001', 'repo-0002', 'repo-0003', 'repo-0004'],
    });
    expect(wf.spec.parallelism).toBe(2);
    const [list, fan, report] = wf.spec.steps;
    expect(list?.name).toBe('list');
    expect(fan).toMatchObject({ dependsOn: ['list'], forEach: { expression: 'inputs.items' } });
    expect(report?.inputs).toEqual({
      count: '{{ size(steps.fan.outputs) }}',
      last: '{{ steps.fan.outputs[4].item }}',
    });
    expect(fanOutItems(1000).at(-1)).toBe('repo-0999');
  });

  it('counts pods at once from the watch order, an end before a start at the same instant', () => {
    expect(podsAtOnce(pods).max).toBe(2);
    expect(
      podsAtOnce([
        { added: 0, done: 10 },
        { added: 10, done: 20 },
      ]).max,
    ).toBe(1);
    expect(
      podsAtOnce([
        { added: 0, done: 10 },
        { added: 0, done: 10 },
      ]).mean,
    ).toBe(2);
  });

  it('pairs instance parallelism + k with the (k+1)-th end', () => {
    // Ends: 15, 25, 35, 45, 55; instances 2, 3, 4 were ADDED at 20, 30, 40.
    expect(
      slotToNextPodMs(
        pods.map((p) => p.added),
        pods.map((p) => p.done),
        2,
      ),
    ).toEqual([5, 5, 5]);
  });

  it('finds nothing wrong in a right run, and says what is wrong otherwise', () => {
    expect(checkFanOut(finished(), items, 2, pods, 2, [])).toEqual([]);
    const bad = finished((wf) => {
      const fan = wf.status!.steps![1]!;
      fan.instances = {
        count: 5,
        phases: 'SSSFS',
        outputs: [
          ...items.map((item, index) => ({ item, index })).slice(0, 3),
          null,
          { item: 'x', index: 4 },
        ],
      };
    });
    const problems = checkFanOut(bad, items, 2, pods, 3, ['fanout-fan-3-2']);
    expect(problems).toEqual([
      'step fan: 4 of 5 instances Succeeded ()',
      'step fan: outputs[3] is null, not its item and index',
      '1 instance pods of a later attempt: fanout-fan-3-2',
      '3 instance pods at once, more than parallelism 2',
    ]);
    expect(
      checkFanOut(
        finished((wf) => (wf.status!.phase = 'Failed')),
        items,
        2,
        pods,
        2,
        [],
      ),
    ).toEqual(['Workflow Failed, not Succeeded']);
  });

  it('takes its flags: 1,000 items and parallelism 100 by default, 200 items with --small, the CRD bounds', () => {
    const a = parseBenchArgs([])!;
    expect([a.fanOutItems, a.fanOutParallelism]).toEqual([1000, 100]);
    expect(parseBenchArgs(['--small'])!.fanOutItems).toBe(200);
    expect(parseBenchArgs(['--only', 'fan-out'])!.skip.has('fan-out')).toBe(false);
    expect(() => parseBenchArgs(['--fan-out-parallelism', '101'])).toThrow(/at most 100/);
    expect(() => parseBenchArgs(['--fan-out-items', '5001'])).toThrow(/at most 5000/);
  });
});
