import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../operator/src/kube/clock.ts';
import {
  decide,
  formatMicroTime,
  JITTER_FACTOR,
  leaseExpiresAt,
  leaseValid,
  nextSpec,
  observe,
  recordFromSpec,
  releasedSpec,
  validateTiming,
  type LeaseRecord,
  type Observation,
} from '../../../operator/src/kube/leaderelection-core.ts';
import {
  ApiLeaseStore,
  LeaderElector,
  LeaseConflictError,
  type LeaderElectorOptions,
  type StoppedLeadingReason,
} from '../../../operator/src/kube/leaderelection.ts';
import { ApiError } from '../../../operator/src/kube/errors.ts';
import type { KubeObject } from '../../../operator/src/kube/types.ts';
import { MemoryLeaseServer } from './support/memory-lease-store.ts';
import { jitter } from '../../../operator/src/util/jitter.ts';

const T0 = Date.parse('2026-01-02T03:04:05.000Z');
const MICROTIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

function rec(over: Partial<LeaseRecord> = {}): LeaseRecord {
  return {
    holderIdentity: 'other',
    leaseDurationSeconds: 15,
    acquireTime: '2026-01-02T03:00:00.000000Z',
    renewTime: '2026-01-02T03:04:00.000000Z',
    leaseTransitions: 3,
    ...over,
  };
}

describe('leader election core', () => {
  it('creates a lease that does not exist', () => {
    expect(decide(undefined, T0, 'me')).toEqual({ action: 'create' });
  });

  it('renews its own lease, even one that looks expired', () => {
    const obs: Observation = { record: rec({ holderIdentity: 'me' }), observedAtMs: T0 };
    expect(decide(obs, T0 + 1_000, 'me')).toEqual({ action: 'renew' });
    expect(decide(obs, T0 + 60_000, 'me')).toEqual({ action: 'renew' });
  });

  it('takes a released lease (empty holder) at once', () => {
    const obs: Observation = {
      record: rec({ holderIdentity: '', leaseDurationSeconds: 1 }),
      observedAtMs: T0,
    };
    expect(decide(obs, T0, 'me')).toEqual({ action: 'acquire', why: 'released' });
  });

  it('waits while another holder is valid and acquires exactly when the lease expires', () => {
    const clock = new FakeClock(T0);
    const obs = observe(undefined, rec(), clock.now());
    expect(leaseExpiresAt(obs)).toBe(T0 + 15_000);
    expect(decide(obs, clock.now(), 'me')).toEqual({
      action: 'wait',
      holder: 'other',
      expiresAtMs: T0 + 15_000,
    });
    clock.advance(14_999);
    expect(leaseValid(obs, clock.now())).toBe(true);
    expect(decide(obs, clock.now(), 'me').action).toBe('wait');
    clock.advance(1);
    expect(leaseValid(obs, clock.now())).toBe(false);
    expect(decide(obs, clock.now(), 'me')).toEqual({ action: 'acquire', why: 'expired' });
  });

  it('treats a lease with no duration as expired', () => {
    const obs = observe(undefined, recordFromSpec({ holderIdentity: 'other' }), T0);
    expect(decide(obs, T0, 'me')).toEqual({ action: 'acquire', why: 'expired' });
  });

  it('moves the observation time only when the record changes', () => {
    const clock = new FakeClock(T0);
    let obs = observe(undefined, rec(), clock.now());
    clock.advance(10_000);
    obs = observe(obs, rec(), clock.now()); // unchanged: still observed at T0
    expect(obs.observedAtMs).toBe(T0);
    clock.advance(4_000);
    obs = observe(obs, rec({ renewTime: '2026-01-02T03:04:14.000000Z' }), clock.now()); // the holder renewed
    expect(obs.observedAtMs).toBe(T0 + 14_000);
    clock.advance(14_000); // 28 s after T0, 14 s after the renew
    expect(decide(obs, clock.now(), 'me').action).toBe('wait');
    clock.advance(1_000);
    expect(decide(obs, clock.now(), 'me').action).toBe('acquire');
  });

  it('is safe against clock skew: the holder timestamps are never compared with our clock', () => {
    const clock = new FakeClock(T0);
    // The holder's clock runs an hour behind: its renewTime looks ancient to us, but it is renewing.
    const behind = (s: number): LeaseRecord => rec({ renewTime: formatMicroTime(T0 - 3_600_000 + s * 1000) });
    let obs = observe(undefined, behind(0), clock.now());
    expect(decide(obs, clock.now(), 'me').action).toBe('wait');
    clock.advance(10_000);
    obs = observe(obs, behind(10), clock.now());
    clock.advance(10_000);
    expect(decide(obs, clock.now(), 'me').action).toBe('wait');

    // The holder's clock runs an hour ahead and it has died: its renewTime looks like the future,
    // but the record stopped changing, so after one lease duration on OUR clock it is ours.
    const ahead = rec({ renewTime: formatMicroTime(T0 + 3_600_000) });
    let dead = observe(undefined, ahead, clock.now());
    const seenAt = clock.now();
    for (let i = 0; i < 15; i++) {
      clock.advance(1_000);
      dead = observe(dead, { ...ahead }, clock.now());
    }
    expect(dead.observedAtMs).toBe(seenAt);
    expect(decide(dead, clock.now(), 'me')).toEqual({ action: 'acquire', why: 'expired' });
  });

  it('a fresh candidate waits a full lease duration even for a lease renewed long ago', () => {
    const obs = observe(undefined, rec({ renewTime: '2020-01-01T00:00:00.000000Z' }), T0);
    expect(decide(obs, T0 + 14_999, 'me').action).toBe('wait');
    expect(decide(obs, T0 + 15_000, 'me').action).toBe('acquire');
  });

  it('writes the right spec for create, renew and acquire, keeping fields it does not own', () => {
    const now = T0 + 0.123; // sub-millisecond precision reaches the microseconds
    const created = nextSpec({ action: 'create' }, undefined, 'me', 15, now);
    expect(created).toEqual({
      holderIdentity: 'me',
      leaseDurationSeconds: 15,
      acquireTime: '2026-01-02T03:04:05.000123Z',
      renewTime: '2026-01-02T03:04:05.000123Z',
      leaseTransitions: 0,
    });

    const mine = { ...created, strategy: 'OldestEmulationVersion', preferredHolder: 'me' };
    const renewed = nextSpec({ action: 'renew' }, mine, 'me', 15, T0 + 2_000);
    expect(renewed).toEqual({
      ...mine,
      acquireTime: '2026-01-02T03:04:05.000123Z',
      renewTime: '2026-01-02T03:04:07.000000Z',
      leaseTransitions: 0,
    });

    const theirs = {
      holderIdentity: 'other',
      leaseDurationSeconds: 30,
      acquireTime: 'x',
      renewTime: 'y',
      leaseTransitions: 4,
    };
    const taken = nextSpec({ action: 'acquire', why: 'expired' }, theirs, 'me', 15, T0);
    expect(taken).toEqual({
      holderIdentity: 'me',
      leaseDurationSeconds: 15,
      acquireTime: '2026-01-02T03:04:05.000000Z',
      renewTime: '2026-01-02T03:04:05.000000Z',
      leaseTransitions: 5,
    });
    expect(nextSpec({ action: 'acquire', why: 'released' }, {}, 'me', 15, T0).leaseTransitions).toBe(1);
  });

  it('releases with no holder, a 1 s duration and unchanged transitions', () => {
    const held = {
      holderIdentity: 'me',
      leaseDurationSeconds: 15,
      acquireTime: 'a',
      renewTime: 'b',
      leaseTransitions: 7,
    };
    expect(releasedSpec(held, T0)).toEqual({
      holderIdentity: '',
      leaseDurationSeconds: 1,
      acquireTime: '2026-01-02T03:04:05.000000Z',
      renewTime: '2026-01-02T03:04:05.000000Z',
      leaseTransitions: 7,
    });
  });

  it('formats MicroTime with exactly six fractional digits in UTC', () => {
    expect(formatMicroTime(T0)).toBe('2026-01-02T03:04:05.000000Z');
    expect(formatMicroTime(T0 + 123.456)).toBe('2026-01-02T03:04:05.123456Z');
    expect(formatMicroTime(T0 + 999.999)).toBe('2026-01-02T03:04:05.999999Z');
    expect(formatMicroTime(T0 + 0.001)).toBe('2026-01-02T03:04:05.000001Z');
    expect(formatMicroTime(Date.now())).toMatch(MICROTIME);
  });

  it('rejects timings that could let two leaders overlap', () => {
    expect(() =>
      validateTiming({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }),
    ).not.toThrow();
    expect(() =>
      validateTiming({ leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }),
    ).toThrow(/greater than renewDeadlineMs/);
    expect(() =>
      validateTiming({ leaseDurationMs: 15_000, renewDeadlineMs: 2_400, retryPeriodMs: 2_000 }),
    ).toThrow(/1.2 \* retryPeriodMs/);
    expect(() =>
      validateTiming({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 0 }),
    ).toThrow(/> 0/);
    expect(() => validateTiming({ leaseDurationMs: NaN, renewDeadlineMs: 10_000, retryPeriodMs: 1 })).toThrow(
      /> 0/,
    );
  });

  it("jitters acquire retries with client-go's factor, into [retryPeriod, 2.2 * retryPeriod)", () => {
    expect(JITTER_FACTOR).toBe(1.2);
    expect(jitter(2_000, JITTER_FACTOR, 0)).toBe(2_000);
    expect(jitter(2_000, JITTER_FACTOR, 0.5)).toBe(3_200);
    expect(jitter(2_000, JITTER_FACTOR, 0.999)).toBeLessThan(4_400);
    expect(jitter(2_000, JITTER_FACTOR, 7)).toBe(4_400);
  });
});

// ---------------------------------------------------------------------------------------------

interface Candidate {
  el: LeaderElector;
  store: ReturnType<MemoryLeaseServer['store']>;
  log: string[];
  starts: number[];
  stops: Array<{ reason: StoppedLeadingReason; at: number }>;
  signal: AbortSignal | undefined;
  done: Promise<void> | undefined;
}

function candidate(
  server: MemoryLeaseServer,
  clock: FakeClock,
  identity: string,
  over: Partial<LeaderElectorOptions> = {},
): Candidate {
  const store = server.store(identity);
  const c: Candidate = {
    el: undefined as unknown as LeaderElector,
    store,
    log: [],
    starts: [],
    stops: [],
    signal: undefined,
    done: undefined,
  };
  c.el = new LeaderElector({
    store,
    identity,
    clock,
    random: () => 0,
    onStartedLeading: (signal) => {
      c.signal = signal;
      c.starts.push(clock.now());
    },
    onStoppedLeading: ({ reason }) => {
      c.stops.push({ reason, at: clock.now() });
    },
    onNewLeader: (id) => c.log.push(id),
    ...over,
  } as LeaderElectorOptions);
  return c;
}

function start(c: Candidate, signal?: AbortSignal): Candidate {
  c.done = c.el.run(signal);
  return c;
}

/** Advances in small steps, checking after each that at most one candidate believes it leads. */
async function advanceChecking(clock: FakeClock, ms: number, all: Candidate[], stepMs = 250): Promise<void> {
  for (let t = 0; t < ms; t += stepMs) {
    await clock.advanceAsync(Math.min(stepMs, ms - t));
    expect(all.filter((c) => c.el.isLeader()).length).toBeLessThanOrEqual(1);
  }
}

describe('LeaderElector', () => {
  it('creates the lease, leads, and renews every retry period', async () => {
    const clock = new FakeClock(T0);
    const server = new MemoryLeaseServer();
    const a = start(candidate(server, clock, 'a'));
    await clock.advanceAsync(0);
    expect(a.el.isLeader()).toBe(true);
    expect(a.starts).toEqual([T0]);
    expect(a.signal?.aborted).toBe(false);
    expect(a.log).toEqual(['a']);
    expect(a.el.currentLeader()).toBe('a');
    expect(server.lease?.spec).toEqual({
      holderIdentity: 'a',
      leaseDurationSeconds: 15,
      acquireTime: '2026-01-02T03:04:05.000000Z',
      renewTime: '2026-01-02T03:04:05.000000Z',
      leaseTransitions: 0,
    });

    await clock.advanceAsync(10_000);
    expect(a.el.isLeader()).toBe(true);
    expect(server.lease?.spec?.renewTime).toBe('2026-01-02T03:04:15.000000Z');
    expect(server.lease?.spec?.acquireTime).toBe('2026-01-02T03:04:05.000000Z');
    // One create and five renews, each a single write without a read (the fast path).
    expect(server.writes.map((w) => w.verb)).toEqual([
      'create',
      'update',
      'update',
      'update',
      'update',
      'update',
    ]);
    expect(a.stops).toEqual([]);
  });

  it('two candidates on one lease: exactly one leads, the other follows and knows who leads', async () => {
    const clock = new FakeClock(T0);
    const server = new MemoryLeaseServer();
    const a = start(candidate(server, clock, 'a'));
    const b = start(candidate(server, clock, 'b'));
    await advanceChecking(clock, 60_000, [a, b]);
    const leaders = [a, b].filter((c) => c.el.isLeader());
    expect(leaders).toHaveLength(1);
    const [leader] = leaders;
    const follower = leader === a ? b : a;
    expect(follower.starts).toEqual([]);
    expect(follower.el.currentLeader()).toBe(leader?.el.identity);
    expect(follower.log).toEqual([leader?.el.identity]);
    expect(server.lease?.spec?.leaseTransitions).toBe(0);
  });

  it('handles the create race: the loser sees a conflict and follows', async () => {
    const clock = new FakeClock(T0);
    const server = new MemoryLeaseServer();
    const a = start(candidate(server, clock, 'a'));
    const b = start(candidate(server, clock, 'b'));
    await clock.advanceAsync(0);
    // Both read "absent" and both tried to create; one create failed with a conflict.
    expect(server.writes.filter((w) => w.verb === 'create')).toHaveLength(1);
    expect([a, b].filter((c) => c.el.isLeader())).toHaveLength(1);
  });

  it('a leader whose requests fail steps down within renewDeadline; the other takes over after leaseDuration', async () => {
    const clock = new FakeClock(T0);
    const server = new MemoryLeaseServer();
    const a = start(candidate(server, clock, 'a'));
    await clock.advanceAsync(0);
    const b = start(candidate(server, clock, 'b'));
    await advanceChecking(clock, 5_000, [a, b]);
    expect(a.el.isLeader()).toBe(true);

    a.store.fault = 'fail'; // partitioned from the API server
    const lastRenew = server.writes.at(-1);
    const lastRenewAt = Date.parse(lastRenew?.lease.spec?.renewTime ?? '');
    await advanceChecking(clock, 30_000, [a, b]);

    expect(a.stops).toHaveLength(1);
    expect(a.stops[0]?.reason).toBe('lost');
    const lostAt = a.stops[0]?.at ?? NaN;
    expect(lostAt).toBeLessThanOrEqual(lastRenewAt + 10_000);
    expect(a.signal?.aborted).toBe(true);
    expect(a.el.isLeader()).toBe(false);
    await expect(a.done).resolves.toBeUndefined();

    expect(b.el.isLeader()).toBe(true);
    const tookOverAt = b.starts[0] ?? NaN;
    // b counts the lease duration from when it saw a's last renew, and polls every retry period.
    expect(tookOverAt).toBeGreaterThanOrEqual(lastRenewAt + 15_000);
    expect(tookOverAt).toBeLessThanOrEqual(lastRenewAt + 15_000 + 2_000);
    expect(tookOverAt).toBeGreaterThan(lostAt);
    expect(server.lease?.spec?.holderIdentity).toBe('b');
    expect(server.lease?.spec?.leaseTransitions).toBe(1);
    expect(b.log).toEqual(['a', 'b']);
  });

  it('steps down at the deadline even when a renew request hangs', async () => {
    const clock = new FakeClock(T0);
    const server = new MemoryLeaseServer();
    const a = start(candidate(server, clock, 'a'));
    await clock.advanceAsync(4_000); // renewed at T0+2s and T0+4s
    a.store.fault = 'hang';
    await clock.advanceAsync(9_999);
    expect(a.el.isLeader()).toBe(true);
    await clock.advanceAsync(1);
    expect(a.el.isLeader()).toBe(false);
    expect(a.stops).toEqual([{ reason: 'lost', at: T0 + 14_000 }]);
    await expect(a.done).resolves.toBeUndefined();
    // The hung request finishing later does not bring leadership back.
    a.store.heal();
    await clock.advanceAsync(10_000);
    expect(a.el.isLeader()).toBe(false);
    expect(a.stops).toHaveLength(1);
  });

  it('keeps leading through transient failures shorter than renewDeadline', async () => {
    const clock = new FakeClock(T0);
    const server = new MemoryLeaseServer();
    const a = start(candidate(server, clock, 'a'));
    await clock.advanceAsync(0);
    a.store.fault = 'fail'; // renews at +2, +4, +6 fail; +8 succeeds, before the deadline at +10
    await clock.advanceAsync(7_000);
    a.store.fault = 'none';
    await clock.advanceAsync(30_000);
    expect(a.el.isLeader()).toBe(true);
    expect(a.stops).toEqual([]);
  });

  it('release() hands the lease over at once instead of after leaseDuration', async () => {
    const clock = new FakeClock(T0);
    const server = new MemoryLeaseServer();
    const a = start(candidate(server, clock, 'a'));
    await clock.advanceAsync(0);
    const b = start(candidate(server, clock, 'b'));
    await advanceChecking(clock, 6_000, [a, b]);

    await a.el.release();
    expect(a.signal?.aborted).toBe(true);
    expect(a.el.isLeader()).toBe(false);
    expect(a.stops).toEqual([{ reason: 'released', at: T0 + 6_000 }]);
    await expect(a.done).resolves.toBeUndefined();
    expect(server.lease?.spec).toMatchObject({
      holderIdentity: '',
      leaseDurationSeconds: 1,
      leaseTransitions: 0,
    });

    await advanceChecking(clock, 2_000, [a, b]); // b's next poll (retry period, jitter 0)
    expect(b.el.isLeader()).toBe(true);
    expect(b.starts[0]).toBeLessThanOrEqual(T0 + 8_000);
    expect(server.lease?.spec).toMatchObject({
      holderIdentity: 'b',
      leaseDurationSeconds: 15,
      leaseTransitions: 1,
    });
    // Releasing again is a no-op.
    await a.el.release();
    expect(a.stops).toHaveLength(1);
  });

  it('release() with a stale resourceVersion rereads and still releases', async () => {
    const clock = new FakeClock(T0);
    const server = new MemoryLeaseServer();
    const a = start(candidate(server, clock, 'a'));
    await clock.advanceAsync(0);
    server.tamper((l) => {
      l.metadata.labels = { touched: 'yes' }; // bumps resourceVersion, same record
    });
    await a.el.release();
    expect(server.lease?.spec?.holderIdentity).toBe('');
    expect(server.lease?.metadata.labels).toEqual({ touched: 'yes' });
  });

  it('renews through an optimistic-concurrency conflict on its own lease', async () => {
    const clock = new FakeClock(T0);
    const server = new MemoryLeaseServer();
    const a = start(candidate(server, clock, 'a'));
    await clock.advanceAsync(0);
    a.store.conflictNextWrites = 1;
    await clock.advanceAsync(2_000);
    expect(a.el.isLeader()).toBe(true);
    expect(server.lease?.spec).toMatchObject({ holderIdentity: 'a', leaseTransitions: 0 });
    expect(server.lease?.spec?.renewTime).toBe(formatMicroTime(T0 + 2_000));
  });

  it('a follower that loses the acquire race to a conflict does not lead', async () => {
    const clock = new FakeClock(T0);
    const server = new MemoryLeaseServer();
    const a = start(candidate(server, clock, 'a'));
    await clock.advanceAsync(0);
    const b = start(candidate(server, clock, 'b'));
    await clock.advanceAsync(0);
    await a.el.release();
    b.store.conflictNextWrites = 1; // someone else writes between b's read and b's write
    await clock.advanceAsync(2_000);
    expect(b.el.isLeader()).toBe(false);
    await clock.advanceAsync(2_000); // next attempt succeeds
    expect(b.el.isLeader()).toBe(true);
  });

  it('steps down at once when it sees another holder', async () => {
    const clock = new FakeClock(T0);
    const server = new MemoryLeaseServer();
    const a = start(candidate(server, clock, 'a'));
    await clock.advanceAsync(0);
    server.tamper((l) => {
      l.spec = { ...l.spec, holderIdentity: 'intruder', renewTime: formatMicroTime(T0 + 1) };
    });
    await clock.advanceAsync(2_000);
    expect(a.el.isLeader()).toBe(false);
    expect(a.stops).toEqual([{ reason: 'lost', at: T0 + 2_000 }]);
    expect(a.log).toEqual(['a', 'intruder']);
    expect(server.lease?.spec?.holderIdentity).toBe('intruder');
  });

  it('a fresh candidate waits a full lease duration before taking a stale lease', async () => {
    const clock = new FakeClock(T0);
    const server = new MemoryLeaseServer();
    server.create('dead', {
      metadata: {},
      spec: {
        holderIdentity: 'dead',
        leaseDurationSeconds: 15,
        renewTime: '2020-01-01T00:00:00.000000Z',
        leaseTransitions: 2,
      },
    });
    const b = start(candidate(server, clock, 'b'));
    await clock.advanceAsync(14_000);
    expect(b.el.isLeader()).toBe(false);
    await clock.advanceAsync(2_000);
    expect(b.el.isLeader()).toBe(true);
    expect(b.starts[0]).toBe(T0 + 16_000); // first poll at or after T0 + 15 s (polls every 2 s)
    expect(server.lease?.spec?.leaseTransitions).toBe(3);
  });

  it('aborting the run signal releases the lease by default', async () => {
    const clock = new FakeClock(T0);
    const server = new MemoryLeaseServer();
    const ctl = new AbortController();
    const a = start(candidate(server, clock, 'a'), ctl.signal);
    await clock.advanceAsync(0);
    ctl.abort();
    await a.done;
    expect(a.stops).toEqual([{ reason: 'released', at: T0 }]);
    expect(server.lease?.spec?.holderIdentity).toBe('');
  });

  it('with releaseOnCancel: false an aborted run stops but leaves the lease to expire', async () => {
    const clock = new FakeClock(T0);
    const server = new MemoryLeaseServer();
    const ctl = new AbortController();
    const a = start(candidate(server, clock, 'a', { releaseOnCancel: false }), ctl.signal);
    await clock.advanceAsync(0);
    ctl.abort();
    await a.done;
    expect(a.stops).toEqual([{ reason: 'stopped', at: T0 }]);
    expect(a.signal?.aborted).toBe(true);
    expect(server.lease?.spec?.holderIdentity).toBe('a');
  });

  it('stopping a candidate that never led neither calls onStoppedLeading nor touches the lease', async () => {
    const clock = new FakeClock(T0);
    const server = new MemoryLeaseServer();
    const a = start(candidate(server, clock, 'a'));
    await clock.advanceAsync(0);
    const b = start(candidate(server, clock, 'b'));
    await clock.advanceAsync(2_000);
    const writes = server.writes.length;
    await b.el.release();
    await expect(b.done).resolves.toBeUndefined();
    expect(b.stops).toEqual([]);
    expect(server.writes.length).toBe(writes);
    expect(server.lease?.spec?.holderIdentity).toBe('a');
    expect(a.el.isLeader()).toBe(true);
  });

  it('a throwing onStartedLeading is logged, not fatal', async () => {
    const clock = new FakeClock(T0);
    const server = new MemoryLeaseServer();
    const a = start(
      candidate(server, clock, 'a', {
        onStartedLeading: () => {
          throw new Error('boom');
        },
      }),
    );
    await clock.advanceAsync(20_000);
    expect(a.el.isLeader()).toBe(true);
  });

  it('release() before run() resolves, and run() cannot be called twice', async () => {
    const clock = new FakeClock(T0);
    const server = new MemoryLeaseServer();
    const a = candidate(server, clock, 'a');
    await a.el.release();
    expect(() => a.el.run()).toThrow(/already started/);
    expect(server.lease).toBeUndefined();
  });

  it('validates its options', () => {
    const server = new MemoryLeaseServer();
    const clock = new FakeClock(T0);
    expect(() => candidate(server, clock, '')).toThrow(/identity/);
    expect(() => candidate(server, clock, 'a', { renewDeadlineMs: 20_000 })).toThrow(/leaseDurationMs/);
  });
});

describe('ApiLeaseStore', () => {
  const fakeClient = (impl: {
    get?: () => Promise<unknown>;
    create?: (obj: KubeObject) => Promise<unknown>;
    update?: (obj: KubeObject) => Promise<unknown>;
  }) => {
    const calls: Array<{ verb: string; args: unknown[] }> = [];
    const client = {
      get: (...args: unknown[]) => {
        calls.push({ verb: 'get', args });
        return impl.get?.() ?? Promise.resolve({});
      },
      create: (...args: unknown[]) => {
        calls.push({ verb: 'create', args });
        return impl.create?.(args[1] as KubeObject) ?? Promise.resolve(args[1]);
      },
      update: (...args: unknown[]) => {
        calls.push({ verb: 'update', args });
        return impl.update?.(args[1] as KubeObject) ?? Promise.resolve(args[1]);
      },
    };
    return { client: client as unknown as ConstructorParameters<typeof ApiLeaseStore>[0], calls };
  };
  const apiError = (status: number, reason: string) =>
    new ApiError('PUT', '/x', status, { reason, message: reason });

  it('maps 404 on get to undefined and 409 on writes to LeaseConflictError', async () => {
    const { client, calls } = fakeClient({
      get: () => Promise.reject(apiError(404, 'NotFound')),
      create: () => Promise.reject(apiError(409, 'AlreadyExists')),
      update: () => Promise.reject(apiError(409, 'Conflict')),
    });
    const store = new ApiLeaseStore(client, 'ns', 'paddock');
    await expect(store.get()).resolves.toBeUndefined();
    await expect(store.create({ metadata: {} })).rejects.toBeInstanceOf(LeaseConflictError);
    await expect(store.update({ metadata: { resourceVersion: '1' } })).rejects.toBeInstanceOf(
      LeaseConflictError,
    );
    const created = calls.find((c) => c.verb === 'create')?.args[1];
    expect(created).toMatchObject({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'paddock', namespace: 'ns' },
    });
  });

  it('passes other errors through', async () => {
    const { client } = fakeClient({ get: () => Promise.reject(apiError(500, 'InternalError')) });
    const store = new ApiLeaseStore(client, 'ns', 'paddock');
    await expect(store.get()).rejects.toBeInstanceOf(ApiError);
  });
});
