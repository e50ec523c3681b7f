import { describe, expect, it } from 'vitest';
import {
  DEFAULT_CACHE_LAG_MS,
  Expectations,
  toRevision,
} from '../../../operator/src/controllers/expectations.ts';
import { FakeClock } from '../../../operator/src/kube/clock.ts';

const LAG = 1_000;

function make<V = undefined>(
  clock = new FakeClock(5_000),
): { clock: FakeClock; ex: Expectations<string, V> } {
  return { clock, ex: new Expectations<string, V>({ lagMs: LAG, clock }) };
}

describe('Expectations, seen by name (creates)', () => {
  it('is behind until the cache holds the key', () => {
    const { ex } = make();
    ex.expectCreated('pod-a');
    expect(ex.isBehind('pod-a', { present: false })).toBe(true);
    expect(ex.isBehind('pod-a', {})).toBe(true);
    expect(ex.size).toBe(1);
    expect(ex.isBehind('pod-a', { present: true })).toBe(false);
    // Seen once: forgotten, so a later absence (a deletion) does not hold anyone back.
    expect(ex.size).toBe(0);
    expect(ex.isBehind('pod-a', { present: false })).toBe(false);
  });

  it('a resourceVersion in the view does not stand for presence of a write seen by name', () => {
    const { ex } = make();
    ex.expectCreated('pod-a');
    expect(ex.isBehind('pod-a', { present: false, resourceVersion: '999999' })).toBe(true);
  });

  it('knows nothing of keys it was never told about', () => {
    const { ex } = make();
    ex.expectCreated('pod-a');
    expect(ex.isBehind('pod-b', { present: false })).toBe(false);
    expect(ex.behind('pod-b', { present: false })).toBeUndefined();
  });

  it('pending() lists keys not yet cached and drops the cached ones', () => {
    const { ex } = make();
    for (const name of ['a', 'b', 'c']) ex.expectCreated(name);
    const cached = new Set(['b']);
    expect(ex.pending((k) => ({ present: cached.has(k) }))).toEqual(new Set(['a', 'c']));
    expect(ex.size).toBe(2);
    cached.add('a').add('c');
    expect(ex.pending((k) => ({ present: cached.has(k) }))).toEqual(new Set());
    expect(ex.size).toBe(0);
  });
});

describe('Expectations, seen by resourceVersion (updates)', () => {
  it('is behind while the cache is at an older revision, compared as integers', () => {
    const { ex } = make();
    ex.expectWritten('ns/wf', '100');
    // As strings "99" > "100" and "1000" < "200"; as revisions the order is the other way.
    expect(ex.isBehind('ns/wf', { present: true, resourceVersion: '99' })).toBe(true);
    expect(ex.isBehind('ns/wf', { present: true, resourceVersion: '100' })).toBe(false);
    ex.expectWritten('ns/wf', '1000');
    expect(ex.isBehind('ns/wf', { resourceVersion: '200' })).toBe(true);
    expect(ex.isBehind('ns/wf', { resourceVersion: '1001' })).toBe(false);
    expect(ex.size).toBe(0);
  });

  it('compares revisions beyond Number.MAX_SAFE_INTEGER exactly', () => {
    const { ex } = make();
    ex.expectWritten('k', '9007199254740993');
    expect(ex.isBehind('k', { resourceVersion: '9007199254740992' })).toBe(true);
    expect(ex.isBehind('k', { resourceVersion: '9007199254740993' })).toBe(false);
  });

  it('a later write supersedes the earlier one', () => {
    const { ex } = make();
    ex.expectWritten('k', '10');
    ex.expectWritten('k', '20');
    expect(ex.isBehind('k', { resourceVersion: '15' })).toBe(true);
    expect(ex.size).toBe(1);
  });

  it('a non-numeric resourceVersion in the cache never makes it look behind', () => {
    for (const rv of ['', 'abc', '12a', '-5', '1e3', ' 7', undefined]) {
      const { ex } = make();
      ex.expectWritten('k', '100');
      expect(ex.isBehind('k', { present: true, resourceVersion: rv }), String(rv)).toBe(false);
    }
  });

  it('a write with a non-numeric resourceVersion records nothing and drops the earlier write', () => {
    const { ex } = make<string>();
    ex.expectWritten('k', '100', 'first');
    ex.expectWritten('k', 'opaque-token', 'second');
    expect(ex.size).toBe(0);
    // Even a cache at revision 1 is not "behind" a write whose position is unknown.
    expect(ex.isBehind('k', { present: true, resourceVersion: '1' })).toBe(false);
    ex.expectWritten('j', '');
    ex.expectWritten('j', undefined);
    expect(ex.size).toBe(0);
  });

  it('a write after a create is then seen by resourceVersion, not by presence', () => {
    const { ex } = make();
    ex.expectCreated('k');
    ex.expectWritten('k', '30');
    expect(ex.isBehind('k', { present: true, resourceVersion: '29' })).toBe(true);
    expect(ex.isBehind('k', { present: true, resourceVersion: '30' })).toBe(false);
  });

  it('behind() hands back the value recorded with the write', () => {
    const { clock, ex } = make<{ phase: string }>();
    ex.expectWritten('k', '7', { phase: 'Running' });
    const e = ex.behind('k', { resourceVersion: '6' });
    expect(e).toEqual({ at: 5_000, resourceVersion: 7n, value: { phase: 'Running' } });
    clock.advance(1);
    expect(ex.behind('k', { resourceVersion: '7' })).toBeUndefined();
  });
});

describe('Expectations expire', () => {
  it('stop holding back lagMs after the write, on the injected clock', () => {
    const { clock, ex } = make();
    ex.expectCreated('by-name');
    ex.expectWritten('by-rv', '50');
    clock.advance(LAG);
    // Exactly lagMs: still waiting.
    expect(ex.isBehind('by-name', { present: false })).toBe(true);
    expect(ex.isBehind('by-rv', { resourceVersion: '49' })).toBe(true);
    clock.advance(1);
    expect(ex.isBehind('by-name', { present: false })).toBe(false);
    expect(ex.isBehind('by-rv', { resourceVersion: '49' })).toBe(false);
    expect(ex.size).toBe(0);
  });

  it('pending() leaves expired keys out and drops them', () => {
    const { clock, ex } = make();
    ex.expectCreated('old');
    clock.advance(LAG / 2);
    ex.expectCreated('new');
    clock.advance(LAG / 2 + 1);
    expect(ex.pending(() => ({ present: false }))).toEqual(new Set(['new']));
    expect(ex.size).toBe(1);
  });

  it('a rewrite restarts the wait', () => {
    const { clock, ex } = make();
    ex.expectWritten('k', '1');
    clock.advance(LAG);
    ex.expectWritten('k', '2');
    clock.advance(LAG);
    expect(ex.isBehind('k', { resourceVersion: '1' })).toBe(true);
  });

  it('defaults to DEFAULT_CACHE_LAG_MS', () => {
    const clock = new FakeClock();
    const ex = new Expectations<string>({ clock });
    ex.expectCreated('k');
    clock.advance(DEFAULT_CACHE_LAG_MS);
    expect(ex.isBehind('k', {})).toBe(true);
    clock.advance(1);
    expect(ex.isBehind('k', {})).toBe(false);
  });

  it('never expire with an infinite lag, for caches whose position always moves past the write', () => {
    const clock = new FakeClock();
    const ex = new Expectations<string>({ lagMs: Number.POSITIVE_INFINITY, clock });
    ex.expectWritten('k', '10');
    ex.expectCreated('c');
    clock.advance(365 * 24 * 3_600_000);
    ex.expectCreated('later');
    expect(ex.size).toBe(3);
    expect(ex.isBehind('k', { resourceVersion: '9' })).toBe(true);
    expect(ex.isBehind('k', { resourceVersion: '10' })).toBe(false);
    expect(ex.pending(() => ({ present: false }))).toEqual(new Set(['c', 'later']));
  });

  it('refuses a negative or NaN lag', () => {
    expect(() => new Expectations({ lagMs: -1 })).toThrow(RangeError);
    expect(() => new Expectations({ lagMs: Number.NaN })).toThrow(RangeError);
  });
});

describe('Expectations forget', () => {
  it('forget() drops one key', () => {
    const { ex } = make();
    ex.expectCreated('a');
    ex.expectCreated('b');
    ex.forget('a');
    ex.forget('never-seen');
    expect(ex.isBehind('a', { present: false })).toBe(false);
    expect(ex.isBehind('b', { present: false })).toBe(true);
    expect(ex.size).toBe(1);
  });

  it('forgetWhere() drops every matching key, e.g. a deleted namespace', () => {
    const { ex } = make();
    for (const k of ['pods/team-a/x', 'pods/team-a/y', 'pods/team-b/x', 'quotas/team-a/q'])
      ex.expectCreated(k);
    ex.forgetWhere((k) => k.split('/')[1] === 'team-a');
    expect(ex.pending(() => ({ present: false }))).toEqual(new Set(['pods/team-b/x']));
  });
});

describe('Expectations with many keys', () => {
  it('keeps keys apart', () => {
    const { ex } = make();
    for (let i = 0; i < 1_000; i++) ex.expectWritten(`k${i}`, String(1_000 + i));
    // The cache at revision 1499 has seen k0..k499 and none after.
    const behind = [...Array(1_000).keys()].filter((i) => ex.isBehind(`k${i}`, { resourceVersion: '1499' }));
    expect(behind).toHaveLength(500);
    expect(behind[0]).toBe(500);
    expect(ex.size).toBe(500);
  });

  it('works with non-string keys', () => {
    const clock = new FakeClock();
    const ex = new Expectations<number>({ lagMs: LAG, clock });
    ex.expectCreated(1);
    ex.expectCreated(2);
    expect(ex.pending((k) => ({ present: k === 1 }))).toEqual(new Set([2]));
  });

  it('holds memory bounded: writes never looked at again are swept once they expire', () => {
    const { clock, ex } = make();
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 500; i++) ex.expectCreated(`r${round}-k${i}`);
      clock.advance(LAG / 4);
      // At most the writes of the last two lag periods (9 rounds of 500 here, both ends
      // included) are held; without the sweep this would reach 20 rounds.
      expect(ex.size).toBeLessThanOrEqual(9 * 500);
    }
    clock.advance(LAG + 1);
    ex.expectCreated('last');
    expect(ex.size).toBe(1);
  });
});

describe('toRevision', () => {
  it('reads plain non-negative integers only', () => {
    expect(toRevision('0')).toBe(0n);
    expect(toRevision('123')).toBe(123n);
    for (const rv of [undefined, '', 'x', '1.5', '-1', '0x10', '1 ']) expect(toRevision(rv)).toBeUndefined();
  });
});
