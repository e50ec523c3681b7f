// Events recorded just before SIGTERM reach the API server (docs/operations.md, "Process lifecycle"):
// the operator flushes its Event recorder after its controllers stopped and before it exits.
//
// What makes it deterministic: an Event that repeats joins a series, and the recorder writes the new
// count at most once every 5 s (operator/src/kube/events.ts). The test makes the sandbox report the
// same invalid Namespace override a few times in quick succession, checks that the API server is
// behind (the last count is waiting for its timer), sends SIGTERM at once, and then expects every
// occurrence in the Event. Without the flush the last count would die with the process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT, EVENT } from '../../operator/src/api/constants.ts';
import type { KubeObject } from '../../operator/src/kube/types.ts';
import { testAgent } from './support/agents.ts';
import { useCluster } from './support/cluster.ts';
import { OperatorProcess, operatorKubeconfig, type LogLine } from './support/operator.ts';
import { eventually } from './support/wait.ts';

const NS = 'shutdown-events';
const ANNOTATION = 'paddock.dev/agent-quota-pods';

interface EventObj extends KubeObject {
  reason?: string;
  series?: { count: number };
}

describe('Events at shutdown', () => {
  const env = useCluster();
  let op: OperatorProcess;

  const occurrences = (): number =>
    op.lines.filter((l: LogLine) => l['annotation'] === ANNOTATION && l['namespace'] === NS).length;
  const overrideEvents = async (): Promise<EventObj[]> =>
    (await env().admin.list<EventObj>(EVENT, NS)).items.filter((e) => e.reason === 'InvalidSandboxOverride');
  /** A change to the Namespace: the sandbox reconciles it and reports the bad override again. */
  const touchNamespace = async (n: number): Promise<void> => {
    const before = occurrences();
    env().kubectl(['label', 'namespace', NS, `touched=${n}`, '--overwrite']);
    await eventually('the override reported again', occurrences, (c) => c > before);
  };

  beforeAll(async () => {
    const kubeconfig = operatorKubeconfig(env());
    env().kubectl(['create', 'namespace', NS]);
    env().kubectl(['annotate', 'namespace', NS, `${ANNOTATION}=lots`]);
    await env().admin.create(AGENT, testAgent('agent', NS));
    op = OperatorProcess.start(kubeconfig, ['--shutdown-timeout-seconds=5']);
  });

  afterAll(async () => {
    if (process.env['DUMP_OPERATOR_LOGS']) console.log(op?.dumpLogs(400));
    await op?.stop('SIGKILL');
  });

  it('writes the last count of an Event series recorded right before SIGTERM, then exits 0', async () => {
    await eventually('the InvalidSandboxOverride Warning', overrideEvents, (es) => es.length === 1, {
      timeoutMs: 60_000,
    });
    // Two occurrences within the 5 s patch interval: the first is written at once (its series was
    // quiet), the second waits for the interval.
    await touchNamespace(1);
    await touchNamespace(2);
    const seen = occurrences();
    const [beforeStop] = await overrideEvents();
    expect(beforeStop?.series?.count ?? 1).toBeLessThan(seen);

    expect(await op.stop('SIGTERM')).toBe(0);

    // Every occurrence, including any from reconciles that finished during the shutdown.
    const after = await overrideEvents();
    expect(after).toHaveLength(1);
    expect(occurrences()).toBeGreaterThanOrEqual(seen);
    expect(after[0]?.series?.count).toBe(occurrences());
    const done = op.lines.find((l) => l.msg === 'shutdown complete');
    expect(done?.['events']).toMatchObject({ failed: 0 });
    expect(op.lines.some((l) => l.msg.startsWith('shutdown timeout: Events'))).toBe(false);
  });
});
