import { describe, expect, it } from 'vitest';
import { EVENT, REPORTING_CONTROLLER, type ResourceRef } from '../../../operator/src/api/constants.ts';
import { FakeClock } from '../../../operator/src/kube/clock.ts';
import { ApiError } from '../../../operator/src/kube/errors.ts';
import {
  EventRecorder,
  eventName,
  type EventRecorderOptions,
  type KubeEvent,
} from '../../../operator/src/kube/events.ts';
import type { KubeObject } from '../../../operator/src/kube/types.ts';

const T0 = Date.parse('2026-01-02T03:04:05.000Z');
const MICROTIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

type Mode = 'ok' | 'reject' | 'throw' | 'hang' | 'notfound';

/** Implements just the two client methods the recorder uses, recording every call. */
class FakeEventClient {
  mode: Mode = 'ok';
  patchMode: Mode = 'ok';
  readonly creates: Array<{ at: number; event: KubeEvent }> = [];
  readonly patches: Array<{
    at: number;
    namespace: string | undefined;
    name: string;
    patch: unknown;
    type: string;
  }> = [];
  readonly hung: Array<() => void> = [];
  readonly clock: FakeClock;

  constructor(clock: FakeClock) {
    this.clock = clock;
  }

  create<T extends KubeObject>(ref: ResourceRef, obj: T): Promise<T> {
    expect(ref).toBe(EVENT);
    this.creates.push({ at: this.clock.now(), event: structuredClone(obj) as unknown as KubeEvent });
    return this.#answer(this.mode, obj);
  }

  patch<T extends KubeObject>(
    ref: ResourceRef,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    type = 'merge',
  ): Promise<T> {
    expect(ref).toBe(EVENT);
    this.patches.push({ at: this.clock.now(), namespace, name, patch: structuredClone(patch), type });
    return this.#answer(this.patchMode, {} as T);
  }

  release(): void {
    for (const r of this.hung.splice(0)) r();
  }

  #answer<T>(mode: Mode, value: T): Promise<T> {
    switch (mode) {
      case 'ok':
        return Promise.resolve(value);
      case 'reject':
        return Promise.reject(
          new ApiError('POST', '/apis/events.k8s.io/v1', 500, { message: 'etcd is down' }),
        );
      case 'notfound':
        return Promise.reject(new ApiError('PATCH', '/apis/events.k8s.io/v1', 404, { reason: 'NotFound' }));
      case 'throw':
        throw new Error('synchronous client bug');
      case 'hang':
        return new Promise((resolve) => this.hung.push(() => resolve(value)));
    }
  }
}

function setup(over: Partial<EventRecorderOptions> = {}) {
  const clock = new FakeClock(T0);
  const client = new FakeEventClient(clock);
  const emitted: string[] = [];
  const recorder = new EventRecorder({
    client,
    reportingInstance: 'paddock-7d9f-abcde',
    clock,
    onEmit: (reason, type) => emitted.push(`${type}/${reason}`),
    ...over,
  });
  return { clock, client, recorder, emitted };
}

const workflow: KubeObject = {
  apiVersion: 'paddock.dev/v1alpha1',
  kind: 'Workflow',
  metadata: { name: 'wf-1', namespace: 'team-a', uid: 'uid-wf-1', resourceVersion: '42', generation: 3 },
};
const pod: KubeObject = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'wf-1-build-0', namespace: 'team-a', uid: 'uid-pod' },
};
const failed = {
  type: 'Warning',
  reason: 'StepFailed',
  action: 'RunStep',
  note: 'step build failed: exit 1',
} as const;

const settle = (clock: FakeClock) => clock.advanceAsync(0);

describe('EventRecorder', () => {
  it('writes a well-formed events.k8s.io/v1 Event in the object namespace', async () => {
    const { clock, client, recorder, emitted } = setup();
    recorder.record(workflow, { ...failed, related: pod });
    expect(client.creates).toHaveLength(0); // record() only queues
    await settle(clock);
    expect(client.creates).toHaveLength(1);
    const ev = client.creates[0]?.event;
    expect(ev).toEqual({
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: expect.stringMatching(/^wf-1\.[0-9a-f]{16}$/) as unknown, namespace: 'team-a' },
      eventTime: '2026-01-02T03:04:05.000000Z',
      reportingController: REPORTING_CONTROLLER,
      reportingInstance: 'paddock-7d9f-abcde',
      action: 'RunStep',
      reason: 'StepFailed',
      type: 'Warning',
      note: 'step build failed: exit 1',
      regarding: {
        apiVersion: 'paddock.dev/v1alpha1',
        kind: 'Workflow',
        name: 'wf-1',
        namespace: 'team-a',
        uid: 'uid-wf-1',
        resourceVersion: '42',
      },
      related: { apiVersion: 'v1', kind: 'Pod', name: 'wf-1-build-0', namespace: 'team-a', uid: 'uid-pod' },
    });
    expect(ev?.eventTime).toMatch(MICROTIME);
    expect(ev?.series).toBeUndefined();
    expect(emitted).toEqual(['Warning/StepFailed']);
    expect(recorder.stats()).toMatchObject({ created: 1, pending: 0, dropped: 0, failed: 0, cached: 1 });
  });

  it('uses a custom reporting controller, and the default namespace for cluster-scoped objects', async () => {
    const { clock, client, recorder } = setup({ reportingController: 'example.com/ctl' });
    recorder.record({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1', uid: 'n1' } }, failed);
    await settle(clock);
    expect(client.creates[0]?.event.metadata.namespace).toBe('default');
    expect(client.creates[0]?.event.reportingController).toBe('example.com/ctl');
    expect(client.creates[0]?.event.regarding).toEqual({
      apiVersion: 'v1',
      kind: 'Node',
      name: 'node-1',
      uid: 'n1',
    });
  });

  it('names events <name>.<16 hex>, time-ordered, always a valid DNS subdomain within 253 chars', () => {
    expect(eventName('wf-1', T0, () => 'abcde')).toBe(`wf-1.${T0.toString(16).padStart(11, '0')}abcde`);
    expect(eventName('wf-1', T0, () => '00000') < eventName('wf-1', T0 + 1, () => '00000')).toBe(true);
    const names = [
      'a'.repeat(253),
      `${'b'.repeat(235)}-x.y`,
      'system:controller:Weird_Name',
      '-.-',
      'a..b',
      `${'c'.repeat(235)}.d`,
    ].map((n) => eventName(n, T0));
    for (const name of names) {
      expect(name.length).toBeLessThanOrEqual(253);
      expect(name).toMatch(DNS_SUBDOMAIN);
      expect(name).toMatch(/\.[0-9a-f]{16}$/);
    }
    expect(names[2]).toMatch(/^system-controller-weird-name\./);
    expect(names[3]).toMatch(/^event\./);
    expect(names[4]).toMatch(/^a\.b\./);
    // Two events for the same object in the same millisecond still get distinct names.
    expect(eventName('x', T0)).not.toBe(eventName('x', T0));
  });

  it('truncates the note to 1024 UTF-8 bytes on a character boundary', async () => {
    const { clock, client, recorder } = setup();
    const notes = ['a'.repeat(2000), '日本語'.repeat(500), '😀'.repeat(400), `${'x'.repeat(1022)}é`, 'ok'];
    for (const note of notes) recorder.record(workflow, { ...failed, note });
    await settle(clock);
    const written = client.creates.map((c) => c.event.note ?? '');
    expect(written).toHaveLength(5);
    for (const note of written) {
      expect(Buffer.byteLength(note, 'utf8')).toBeLessThanOrEqual(1024);
      expect(note).not.toContain('\uFFFD');
      expect(note.isWellFormed()).toBe(true);
    }
    expect(written[0]).toBe(`${'a'.repeat(1021)}...`);
    expect(written[2]?.endsWith('😀...')).toBe(true);
    expect(written[3]).toBe(`${'x'.repeat(1022)}é`); // exactly 1024 bytes: kept whole
    expect(written[4]).toBe('ok');
  });

  it('caps reason and action at 128 bytes and drops events without them', async () => {
    const { clock, client, recorder } = setup();
    recorder.record(workflow, { ...failed, reason: 'R'.repeat(300), action: 'A'.repeat(300) });
    recorder.record(workflow, { ...failed, reason: '' });
    recorder.record({ metadata: { namespace: 'x' } }, failed);
    await settle(clock);
    expect(client.creates).toHaveLength(1);
    expect(client.creates[0]?.event.reason).toBe('R'.repeat(128));
    expect(client.creates[0]?.event.action).toBe('A'.repeat(128));
    expect(recorder.stats().dropped).toBe(2);
  });

  it('passes the note through sanitize, and withholds it if sanitize throws', async () => {
    const { clock, client, recorder } = setup({ sanitize: (n) => n.replaceAll('hunter2', '[REDACTED]') });
    recorder.record(workflow, { ...failed, note: 'login failed for password hunter2' });
    await settle(clock);
    expect(client.creates[0]?.event.note).toBe('login failed for password [REDACTED]');

    const s2 = setup({
      sanitize: () => {
        throw new Error('bad schema');
      },
    });
    s2.recorder.record(workflow, { ...failed, note: 'token=hunter2' });
    await settle(s2.clock);
    expect(s2.client.creates[0]?.event.note).toBe('[note withheld]');
  });

  it('aggregates identical events into one Event with a series, patched at most every interval', async () => {
    const { clock, client, recorder, emitted } = setup({ seriesPatchIntervalMs: 5_000 });
    for (let i = 0; i < 5; i++) recorder.record(workflow, failed);
    await settle(clock);
    // Occurrences 2-5 arrived while the create was queued: one create carrying the series.
    expect(client.creates).toHaveLength(1);
    expect(client.creates[0]?.event.series).toEqual({
      count: 5,
      lastObservedTime: '2026-01-02T03:04:05.000000Z',
    });

    await clock.advanceAsync(1_000);
    recorder.record(workflow, failed); // #6 at +1 s: patch waits for +5 s
    await clock.advanceAsync(1_000);
    recorder.record(workflow, failed); // #7 at +2 s
    expect(client.patches).toHaveLength(0);
    await clock.advanceAsync(3_000);
    expect(client.patches).toEqual([
      {
        at: T0 + 5_000,
        namespace: 'team-a',
        name: client.creates[0]?.event.metadata.name,
        patch: { series: { count: 7, lastObservedTime: '2026-01-02T03:04:07.000000Z' } },
        type: 'merge',
      },
    ]);

    // A steady stream every second: still one patch per interval, and the last count is written.
    for (let i = 0; i < 12; i++) {
      await clock.advanceAsync(1_000);
      recorder.record(workflow, failed);
    }
    await clock.advanceAsync(10_000);
    expect(client.creates).toHaveLength(1);
    const times = client.patches.map((p) => p.at - T0);
    expect(times).toEqual([5_000, 10_000, 15_000, 20_000]);
    expect(client.patches.at(-1)?.patch).toEqual({
      series: { count: 19, lastObservedTime: '2026-01-02T03:04:22.000000Z' },
    });
    expect(emitted).toHaveLength(19);
    expect(recorder.stats()).toMatchObject({ created: 1, patched: 4 });
  });

  it('patches the second occurrence promptly once the interval since the create has passed', async () => {
    const { clock, client, recorder } = setup({ seriesPatchIntervalMs: 5_000 });
    recorder.record(workflow, failed);
    await clock.advanceAsync(60_000);
    recorder.record(workflow, failed);
    await settle(clock);
    expect(client.patches).toHaveLength(1);
    expect(client.patches[0]?.patch).toEqual({
      series: { count: 2, lastObservedTime: '2026-01-02T03:05:05.000000Z' },
    });
  });

  it('keeps distinct events apart', async () => {
    const { clock, client, recorder } = setup();
    const other: KubeObject = { ...workflow, metadata: { ...workflow.metadata, uid: 'uid-wf-1-recreated' } };
    recorder.record(workflow, failed);
    recorder.record(workflow, { ...failed, note: 'different note' });
    recorder.record(workflow, { ...failed, reason: 'StepRetried' });
    recorder.record(workflow, { ...failed, action: 'Other' });
    recorder.record(workflow, { ...failed, type: 'Normal' });
    recorder.record(workflow, { ...failed, related: pod });
    recorder.record(other, failed);
    await settle(clock);
    expect(client.creates).toHaveLength(7);
    expect(client.creates.every((c) => c.event.series === undefined)).toBe(true);
  });

  it('starts a new Event once a series has been quiet for the window (6 min)', async () => {
    const { clock, client, recorder } = setup();
    recorder.record(workflow, failed);
    // Occurrences every 5 minutes keep one series alive well past 6 minutes.
    for (let i = 0; i < 4; i++) {
      await clock.advanceAsync(5 * 60_000);
      recorder.record(workflow, failed);
    }
    await clock.advanceAsync(10_000);
    expect(client.creates).toHaveLength(1);
    expect(client.patches.at(-1)?.patch).toMatchObject({ series: { count: 5 } });

    await clock.advanceAsync(6 * 60_000);
    recorder.record(workflow, failed);
    await settle(clock);
    expect(client.creates).toHaveLength(2);
    expect(client.creates[1]?.event.series).toBeUndefined();
    expect(client.creates[1]?.event.metadata.name).not.toBe(client.creates[0]?.event.metadata.name);
  });

  it('never throws or rejects when the API refuses, and retries the create on the next occurrence', async () => {
    const { clock, client, recorder } = setup();
    client.mode = 'reject';
    expect(() => recorder.record(workflow, failed)).not.toThrow();
    await settle(clock);
    expect(recorder.stats()).toMatchObject({ failed: 1, created: 0, pending: 0, cached: 0 });
    client.mode = 'throw';
    expect(() => recorder.record(workflow, failed)).not.toThrow();
    await settle(clock);
    expect(recorder.stats()).toMatchObject({ failed: 2, created: 0 });
    client.mode = 'ok';
    recorder.record(workflow, failed);
    await settle(clock);
    expect(client.creates).toHaveLength(3);
    expect(recorder.stats()).toMatchObject({ failed: 2, created: 1 });
  });

  it('never throws on garbage input', () => {
    const { recorder } = setup();
    expect(() => recorder.record(undefined as unknown as KubeObject, failed)).not.toThrow();
    expect(() => recorder.record(workflow, undefined as unknown as typeof failed)).not.toThrow();
    expect(() => recorder.record(workflow, { ...failed, note: 42 as unknown as string })).not.toThrow();
  });

  it('re-creates an Event that vanished before its series was patched', async () => {
    const { clock, client, recorder } = setup();
    recorder.record(workflow, failed);
    await clock.advanceAsync(10_000);
    client.patchMode = 'notfound';
    recorder.record(workflow, failed);
    await settle(clock);
    expect(client.patches).toHaveLength(1);
    expect(client.creates).toHaveLength(2);
    const again = client.creates[1]?.event;
    expect(again?.metadata.name).not.toBe(client.creates[0]?.event.metadata.name);
    expect(again?.series).toEqual({ count: 2, lastObservedTime: '2026-01-02T03:04:15.000000Z' });
  });

  it('bounds the queue: beyond maxPending new events are dropped and counted', async () => {
    const { clock, client, recorder } = setup({ maxPending: 1000, concurrency: 4 });
    client.mode = 'hang';
    const obj = (i: number): KubeObject => ({
      ...workflow,
      metadata: { ...workflow.metadata, name: `wf-${i}`, uid: `u${i}` },
    });
    for (let i = 0; i < 1005; i++) recorder.record(obj(i), failed);
    await settle(clock);
    expect(client.creates).toHaveLength(4); // concurrency
    expect(recorder.stats()).toMatchObject({ pending: 1000, dropped: 5 });
    // Identical events still aggregate while the queue is full; they need no new write slot.
    recorder.record(obj(0), failed);
    expect(recorder.stats().dropped).toBe(5);

    client.mode = 'ok';
    client.release();
    await recorder.flush();
    expect(client.creates).toHaveLength(1000);
    expect(recorder.stats()).toMatchObject({ pending: 0, created: 1000 });
  });

  it('keeps a bounded LRU of series', async () => {
    const { clock, client, recorder } = setup({ cacheSize: 3 });
    const notes = ['n1', 'n2', 'n3', 'n4'];
    for (const note of notes) recorder.record(workflow, { ...failed, note });
    await settle(clock);
    expect(recorder.stats().cached).toBe(3);
    recorder.record(workflow, { ...failed, note: 'n4' }); // still cached: aggregates
    recorder.record(workflow, { ...failed, note: 'n1' }); // evicted: a new Event
    await settle(clock);
    expect(client.creates.map((c) => c.event.note)).toEqual(['n1', 'n2', 'n3', 'n4', 'n1']);
  });

  it('flush() writes pending series counts at once and waits for them', async () => {
    const { clock, client, recorder } = setup({ seriesPatchIntervalMs: 60_000 });
    recorder.record(workflow, failed);
    await settle(clock);
    recorder.record(workflow, failed);
    recorder.record(workflow, failed);
    expect(client.patches).toHaveLength(0);
    await recorder.flush();
    expect(client.patches).toHaveLength(1);
    expect(client.patches[0]?.patch).toMatchObject({ series: { count: 3 } });
    expect(clock.pendingTimers()).toBe(0);
  });

  it('a throwing onEmit does not break recording', async () => {
    const { clock, client, recorder } = setup({
      onEmit: () => {
        throw new Error('metrics broke');
      },
    });
    recorder.record(workflow, failed);
    await settle(clock);
    expect(client.creates).toHaveLength(1);
  });

  it('requires a reporting instance', () => {
    expect(() => setup({ reportingInstance: '' })).toThrow(/reportingInstance/);
  });
});
