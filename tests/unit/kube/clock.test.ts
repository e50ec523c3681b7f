import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeClock, realClock, sleep } from '../../../operator/src/kube/clock.ts';

describe('FakeClock', () => {
  it('starts at the given time and only moves when told to', () => {
    const clock = new FakeClock(1_000);
    expect(clock.now()).toBe(1_000);
    clock.advance(250);
    expect(clock.now()).toBe(1_250);
    clock.setTime(5_000);
    expect(clock.now()).toBe(5_000);
  });

  it('fires due timers in time order, ties in creation order, each seeing its own due time', () => {
    const clock = new FakeClock();
    const fired: string[] = [];
    const at = (label: string) => () => fired.push(`${label}@${clock.now()}`);
    clock.setTimeout(at('c'), 300);
    clock.setTimeout(at('a'), 100);
    clock.setTimeout(at('b1'), 200);
    clock.setTimeout(at('b2'), 200);
    clock.setTimeout(at('late'), 1_000);
    clock.advance(500);
    expect(fired).toEqual(['a@100', 'b1@200', 'b2@200', 'c@300']);
    expect(clock.now()).toBe(500);
    expect(clock.pendingTimers()).toBe(1);
  });

  it('does not fire a timer before its due time', () => {
    const clock = new FakeClock();
    const fn = vi.fn();
    clock.setTimeout(fn, 100);
    clock.advance(99);
    expect(fn).not.toHaveBeenCalled();
    clock.advance(1);
    expect(fn).toHaveBeenCalledOnce();
  });

  it('fires timers scheduled by fired timers within the same advance when they are due', () => {
    const clock = new FakeClock();
    const fired: number[] = [];
    const tick = (): void => {
      fired.push(clock.now());
      clock.setTimeout(tick, 100);
    };
    clock.setTimeout(tick, 100);
    clock.advance(350);
    expect(fired).toEqual([100, 200, 300]);
    expect(clock.nextTimerAt()).toBe(400);
  });

  it('fires a zero-delay timer scheduled by a firing timer before later timers', () => {
    const clock = new FakeClock();
    const fired: string[] = [];
    clock.setTimeout(() => {
      fired.push('first');
      clock.setTimeout(() => fired.push('nested'), 0);
    }, 10);
    clock.setTimeout(() => fired.push('second'), 20);
    clock.advance(20);
    expect(fired).toEqual(['first', 'nested', 'second']);
  });

  it('treats negative and NaN delays as zero', () => {
    const clock = new FakeClock(50);
    clock.setTimeout(() => {}, -10);
    clock.setTimeout(() => {}, Number.NaN);
    expect(clock.nextTimerAt()).toBe(50);
    clock.advance(0);
    expect(clock.hasWaiters()).toBe(false);
  });

  it('clearTimeout cancels a pending timer and ignores fired, cleared or foreign handles', () => {
    const clock = new FakeClock();
    const other = new FakeClock();
    const kept = vi.fn();
    const cancelled = vi.fn();
    const keptHandle = clock.setTimeout(kept, 10);
    const handle = clock.setTimeout(cancelled, 10);
    clock.clearTimeout(handle);
    clock.clearTimeout(handle);
    other.clearTimeout(keptHandle);
    expect(clock.pendingTimers()).toBe(1);
    clock.advance(10);
    expect(kept).toHaveBeenCalledOnce();
    expect(cancelled).not.toHaveBeenCalled();
    clock.clearTimeout(keptHandle);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('step jumps to the next timer and fires everything due then', () => {
    const clock = new FakeClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('x'), 70);
    clock.setTimeout(() => fired.push('y'), 70);
    clock.setTimeout(() => fired.push('z'), 90);
    expect(clock.step()).toBe(70);
    expect(fired).toEqual(['x', 'y']);
    expect(clock.step()).toBe(90);
    expect(fired).toEqual(['x', 'y', 'z']);
    expect(clock.step()).toBeUndefined();
    expect(clock.now()).toBe(90);
  });

  it('reports waiters', () => {
    const clock = new FakeClock();
    expect(clock.hasWaiters()).toBe(false);
    expect(clock.nextTimerAt()).toBeUndefined();
    clock.setTimeout(() => {}, 5);
    clock.setTimeout(() => {}, 3);
    expect(clock.hasWaiters()).toBe(true);
    expect(clock.pendingTimers()).toBe(2);
    expect(clock.nextTimerAt()).toBe(3);
  });

  it('refuses to go back in time', () => {
    const clock = new FakeClock(100);
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(() => clock.setTime(99)).toThrow(RangeError);
    expect(() => clock.advance(Number.NaN)).toThrow(RangeError);
    expect(clock.now()).toBe(100);
  });

  it('detects a timer that reschedules itself forever without time moving', () => {
    const clock = new FakeClock();
    const spin = (): void => void clock.setTimeout(spin, 0);
    clock.setTimeout(spin, 0);
    expect(() => clock.advance(1)).toThrow(/without time advancing/);
  });

  it('propagates a throwing timer, stopping at its due time with later timers still pending', () => {
    const clock = new FakeClock();
    const later = vi.fn();
    clock.setTimeout(() => {
      throw new Error('boom');
    }, 10);
    clock.setTimeout(later, 20);
    expect(() => clock.advance(100)).toThrow('boom');
    expect(clock.now()).toBe(10);
    expect(later).not.toHaveBeenCalled();
    clock.advance(10);
    expect(later).toHaveBeenCalledOnce();
  });

  it('advanceAsync lets awaiting code schedule its next timer; advance does not', async () => {
    const run = (clock: FakeClock, seen: number[]) => async () => {
      for (let i = 0; i < 3; i++) {
        await sleep(clock, 100);
        seen.push(clock.now());
      }
    };
    const syncClock = new FakeClock();
    const syncSeen: number[] = [];
    const syncDone = run(syncClock, syncSeen)();
    syncClock.advance(300);
    await new Promise((r) => setImmediate(r));
    // Only the first sleep existed when advance ran; the second was set at t=300.
    expect(syncSeen).toEqual([300]);
    await syncClock.advanceAsync(1_000);
    await syncDone;
    expect(syncSeen).toEqual([300, 400, 500]);

    const asyncClock = new FakeClock();
    const asyncSeen: number[] = [];
    const asyncDone = run(asyncClock, asyncSeen)();
    await asyncClock.advanceAsync(300);
    expect(asyncSeen).toEqual([100, 200, 300]);
    await asyncDone;
  });
});

describe('sleep', () => {
  it('resolves after the delay on the given clock', async () => {
    const clock = new FakeClock();
    let done = false;
    const p = sleep(clock, 50).then(() => (done = true));
    await clock.advanceAsync(49);
    expect(done).toBe(false);
    await clock.advanceAsync(1);
    expect(done).toBe(true);
    await p;
  });

  it('rejects with the abort reason and cancels its timer', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    const p = sleep(clock, 50, ac.signal);
    expect(clock.pendingTimers()).toBe(1);
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
    expect(clock.pendingTimers()).toBe(0);
    await expect(sleep(clock, 50, ac.signal)).rejects.toThrow('stop');
    expect(clock.pendingTimers()).toBe(0);
  });
});

describe('realClock', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reports epoch milliseconds that never go backwards', () => {
    const a = realClock.now();
    const b = realClock.now();
    expect(b).toBeGreaterThanOrEqual(a);
    expect(Math.abs(a - Date.now())).toBeLessThan(60_000);
  });

  it('fires timers and cancels them', async () => {
    const fired = vi.fn();
    const cancelled = vi.fn();
    const start = realClock.now();
    const handle = realClock.setTimeout(cancelled, 5);
    realClock.clearTimeout(handle);
    await new Promise<void>((resolve) =>
      realClock.setTimeout(() => {
        fired();
        resolve();
      }, 20),
    );
    expect(fired).toHaveBeenCalledOnce();
    expect(realClock.now() - start).toBeGreaterThanOrEqual(18);
    await new Promise((r) => setTimeout(r, 10));
    expect(cancelled).not.toHaveBeenCalled();
  });

  it('honours delays beyond the 2^31-1 ms Node timer limit instead of firing at once', () => {
    vi.useFakeTimers();
    const fn = vi.fn();
    const max = 2 ** 31 - 1;
    const handle = realClock.setTimeout(fn, max + 5_000);
    vi.advanceTimersByTime(max);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(5_000);
    expect(fn).toHaveBeenCalledOnce();

    const cancelled = vi.fn();
    const long = realClock.setTimeout(cancelled, max + 5_000);
    vi.advanceTimersByTime(max + 1); // into the second slice of the chain
    realClock.clearTimeout(long);
    vi.advanceTimersByTime(10_000);
    expect(cancelled).not.toHaveBeenCalled();
    realClock.clearTimeout(handle);
  });

  it('does not keep the process alive', async () => {
    const clockUrl = new URL('../../../operator/src/kube/clock.ts', import.meta.url).href;
    const script = `
      const { realClock } = await import(${JSON.stringify(clockUrl)});
      realClock.setTimeout(() => console.log('fired'), 30_000);
      realClock.setTimeout(() => console.log('fired'), 2 ** 31 + 10);
    `;
    const node = fileURLToPath(new URL('../../../node_modules/.bin/node', import.meta.url));
    const started = Date.now();
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(node, ['--input-type=module', '-e', script], { timeout: 20_000 }, (err, out) =>
        err ? reject(new Error(`child failed: ${err.message}`)) : resolve(out),
      ),
    );
    expect(stdout).toBe('');
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
