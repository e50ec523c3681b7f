import { describe, expect, it } from 'vitest';
import { AGENT, type ResourceRef } from '../../../operator/src/api/constants.ts';
import { StatusWriter } from '../../../operator/src/controllers/status-writer.ts';
import type { ApplyOptions, KubeClient } from '../../../operator/src/kube/client.ts';
import { FakeClock } from '../../../operator/src/kube/clock.ts';
import type { KubeObject } from '../../../operator/src/kube/types.ts';

const LAG = 1_000;

/** An "API server" answering every status apply with the next resourceVersion (or a fixed one). */
function setup(rvs: () => string = counter(100)): {
  writer: StatusWriter;
  clock: FakeClock;
  applies: Array<{ ref: ResourceRef; obj: KubeObject; opts: ApplyOptions }>;
} {
  const applies: Array<{ ref: ResourceRef; obj: KubeObject; opts: ApplyOptions }> = [];
  const client: Pick<KubeClient, 'apply'> = {
    apply: <T extends KubeObject>(ref: ResourceRef, obj: KubeObject, opts: ApplyOptions): Promise<T> => {
      applies.push({ ref, obj, opts });
      return Promise.resolve({ ...obj, metadata: { ...obj.metadata, resourceVersion: rvs() } } as T);
    },
  };
  const clock = new FakeClock();
  return { writer: new StatusWriter(client, { lagMs: LAG, clock }), clock, applies };
}

function counter(start: number): () => string {
  let n = start;
  return () => String(++n);
}

const agent = (rv: string): KubeObject => ({
  apiVersion: 'paddock.dev/v1alpha1',
  kind: 'Agent',
  metadata: { namespace: 'ns', name: 'a', resourceVersion: rv },
});

describe('StatusWriter', () => {
  it('applies status to the status subresource, forced, as paddock', async () => {
    const { writer, applies } = setup();
    await writer.apply(AGENT, agent('100'), { phase: 'Ready' });
    expect(applies).toHaveLength(1);
    expect(applies[0]?.opts).toMatchObject({ subresource: 'status', force: true, fieldManager: 'paddock' });
    expect(applies[0]?.obj).toMatchObject({ kind: 'Agent', status: { phase: 'Ready' } });
  });

  it('cacheBehind until the cached object reaches the written resourceVersion', async () => {
    const { writer } = setup();
    await writer.apply(AGENT, agent('100'), { phase: 'Ready' }); // written at 101
    expect(writer.cacheBehind(agent('100'))).toBe(true);
    expect(writer.cacheBehind(agent('101'))).toBe(false);
    expect(writer.size).toBe(0);
  });

  it('isPending only for the same status, lastTransitionTime aside, while the cache is behind', async () => {
    const { writer } = setup();
    const status = { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: 'T1' }] };
    await writer.apply(AGENT, agent('100'), status);
    // The caller's object changing after the write does not change what was recorded.
    status.conditions[0]!.status = 'False';
    const again = { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: 'T2' }] };
    expect(writer.isPending(agent('100'), again)).toBe(true);
    expect(writer.isPending(agent('100'), { conditions: [] })).toBe(false);
    expect(writer.isPending(agent('101'), again)).toBe(false);
  });

  it('stops waiting for a cache that has not caught up after the lag', async () => {
    const { writer, clock } = setup();
    await writer.apply(AGENT, agent('100'), { phase: 'Ready' });
    clock.advance(LAG + 1);
    expect(writer.cacheBehind(agent('100'))).toBe(false);
    expect(writer.isPending(agent('100'), { phase: 'Ready' })).toBe(false);
  });

  it('never holds back on a non-numeric resourceVersion, in the answer or in the cache', async () => {
    const opaque = setup(() => 'opaque');
    await opaque.writer.apply(AGENT, agent('100'), { phase: 'Ready' });
    expect(opaque.writer.cacheBehind(agent('1'))).toBe(false);
    expect(opaque.writer.isPending(agent('1'), { phase: 'Ready' })).toBe(false);

    const numeric = setup();
    await numeric.writer.apply(AGENT, agent('100'), { phase: 'Ready' });
    expect(numeric.writer.cacheBehind(agent('x7'))).toBe(false);
  });

  it('forgetKey drops a deleted object', async () => {
    const { writer } = setup();
    await writer.apply(AGENT, agent('100'), { phase: 'Ready' });
    expect(writer.size).toBe(1);
    writer.forgetKey('ns/a');
    expect(writer.size).toBe(0);
    expect(writer.cacheBehind(agent('100'))).toBe(false);
  });
});
