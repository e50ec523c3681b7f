// The real-node scenario's pure parts (bench/lib/real-node.ts): containerd's event lines, the manifests it
// submits, and the summaries it reports.
import { describe, expect, it } from 'vitest';
import {
  msSummary,
  parseCtrEvent,
  probeAgent,
  probeWorkflow,
  realNodeFigures,
  REAL_NODE_FIGURES,
} from '../../../bench/lib/real-node.ts';

describe('parseCtrEvent', () => {
  it("reads a task start and exit of namespace k8s.io with containerd's nanoseconds", () => {
    const start = parseCtrEvent(
      '2026-11-22 03:04:05.123456789 +0000 UTC k8s.io /tasks/start {"container_id":"abc","pid":4242}',
    );
    expect(start).toEqual({
      topic: '/tasks/start',
      containerId: 'abc',
      at: Date.UTC(2026, 10, 22, 3, 4, 5) + 123.456789,
    });
    const exit = parseCtrEvent(
      '2026-11-22 03:04:06.5 +0100 CET k8s.io /tasks/exit {"container_id":"abc","id":"abc","pid":4242,"exited_at":"2026-11-22T02:04:06.4Z"}',
    );
    expect(exit?.topic).toBe('/tasks/exit');
    expect(exit?.at).toBe(Date.UTC(2026, 10, 22, 2, 4, 6) + 500);
    // A whole second: Go leaves the fraction out.
    expect(
      parseCtrEvent('2026-11-22 03:04:07 +0000 UTC k8s.io /tasks/start {"container_id":"d","pid":1}')?.at,
    ).toBe(Date.UTC(2026, 10, 22, 3, 4, 7));
  });

  it('ignores other topics, other namespaces, and lines that are not events', () => {
    expect(
      parseCtrEvent('2026-11-22 03:04:05.1 +0000 UTC k8s.io /tasks/create {"container_id":"abc"}'),
    ).toBeUndefined();
    expect(
      parseCtrEvent('2026-11-22 03:04:05.1 +0000 UTC moby /tasks/start {"container_id":"abc"}'),
    ).toBeUndefined();
    expect(parseCtrEvent('2026-11-22 03:04:05.1 +0000 UTC k8s.io /tasks/start {"pid":1}')).toBeUndefined();
    expect(parseCtrEvent('ctr: failed to dial')).toBeUndefined();
    expect(parseCtrEvent('')).toBeUndefined();
  });
});

describe('the manifests', () => {
  it('a sandbox-probe Agent without egress or retries, and a two-step chain of it in mode inspect', () => {
    const agent = probeAgent('bench-real', 'paddock.local/agent-sandbox-probe:0.1.0');
    expect(agent.spec.image).toBe('paddock.local/agent-sandbox-probe:0.1.0');
    expect(agent.spec.egress).toBeUndefined();
    expect(agent.spec.retries).toEqual({ limit: 0 });
    const wf = probeWorkflow('rn-000', 'bench-real');
    expect(wf.spec.steps.map((s) => [s.name, s.dependsOn ?? [], s.inputs])).toEqual([
      ['s0', [], { mode: 'inspect' }],
      ['s1', ['s0'], { mode: 'inspect' }],
    ]);
    expect(wf.spec.podGC).toEqual({ strategy: 'Never' });
  });
});

describe('the figures', () => {
  it('summarizes in ms with nearest-rank percentiles, leaving missing samples out', () => {
    const values = [...Array.from({ length: 20 }, (_, i) => i + 1), undefined, Number.NaN];
    expect(msSummary(values)).toEqual({
      count: 20,
      minMs: 1,
      p50Ms: 10,
      p90Ms: 18,
      p95Ms: 19,
      p99Ms: 20,
      maxMs: 20,
      meanMs: 10.5,
    });
  });

  it('names every figure of a run', () => {
    const f = realNodeFigures([
      { workflow: 'rn-000', phase: 'Succeeded', submitToRunning: 900, stepToNextPod: 12, runningSeen: true },
    ]);
    expect(Object.keys(f)).toEqual([...REAL_NODE_FIGURES]);
    expect(f.submitToRunning.p50Ms).toBe(900);
    expect(f.stepToNextPod.p99Ms).toBe(12);
    expect(f.agentExitToNextPod.count).toBe(0);
  });
});
