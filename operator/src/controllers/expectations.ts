// "Wait until the informer cache shows my own write", in one place: the idea behind
// client-go's ControllerExpectations, keyed per object instead of counted per controller.
//
// Reconcilers read only from caches (docs/design.md, "Reconcilers read only from caches"), and a
// cache lags the API server by one watch event. A reconcile that runs between a write and the
// event reporting it decides from the old object: it repeats a decision already made, writes
// again, or "repairs" a difference that is already gone. The event for the write triggers a
// fresh reconcile anyway, so the caller records the write here and, until the cache shows it,
// waits (docs/design.md, "Workflows: how the engine decides", rule 3).
//
// A write is seen either by name (a create: the cache holds the object) or by resourceVersion
// (an update: the cache has reached the write's resourceVersion). resourceVersions are opaque in
// the API contract; they are compared as integers (etcd revisions) only to decide to WAIT. A
// non-numeric one, on either side, never makes the cache look behind, so callers act as if
// nothing were recorded: a wasted write at worst, never a skipped one.
//
// A cache that never catches up (a broken watch, an object deleted behind our back) must not
// stall a key forever: an expectation expires `lagMs` after the write. Expired entries are
// dropped when looked at, and by a sweep run when a write is recorded, at most once per `lagMs`, so at most
// the writes of the last two lag periods are held; `forget`/`forgetWhere` drop a deleted
// object's entries at once.
import { realClock, type Clock } from '../kube/clock.ts';

/** How long to wait for the cache to show a write before acting without it (ms). */
export const DEFAULT_CACHE_LAG_MS = 30_000;

export interface ExpectationsOptions {
  /**
   * An expectation older than this (ms) no longer holds the caller back. Number.POSITIVE_INFINITY
   * for never: only for a cache position that always moves past the write (sandbox/reconciler.ts).
   */
  readonly lagMs?: number;
  /** Only `now()` is read; tests pass a FakeClock. */
  readonly clock?: Pick<Clock, 'now'>;
}

/** What the cache shows for a key. */
export interface CacheView {
  /** The cache holds an object under the key: how a create (`expectCreated`) is seen. */
  readonly present?: boolean;
  /**
   * The newest resourceVersion the cache has reached for the key, how a write (`expectWritten`)
   * is seen: the cached object's, or the informer's last one for the key's scope (which also
   * covers a deletion of the object).
   */
  readonly resourceVersion?: string | undefined;
}

/** An outstanding write. */
export interface Expectation<V> {
  /** When it was recorded, on the expectations' clock (ms). */
  readonly at: number;
  /** Its resourceVersion as an integer; undefined for a create (seen by name). */
  readonly resourceVersion: bigint | undefined;
  readonly value: V | undefined;
}

export class Expectations<K, V = undefined> {
  readonly #entries = new Map<K, Expectation<V>>();
  readonly #lagMs: number;
  readonly #clock: Pick<Clock, 'now'>;
  #lastSweep: number;

  constructor(options: ExpectationsOptions = {}) {
    const lagMs = options.lagMs ?? DEFAULT_CACHE_LAG_MS;
    if (!(lagMs >= 0)) throw new RangeError(`Expectations: lagMs must be >= 0, got ${lagMs}`);
    this.#lagMs = lagMs;
    this.#clock = options.clock ?? realClock;
    this.#lastSweep = this.#clock.now();
  }

  /**
   * Records that `key` was created now: the cache shows the write once it holds the key. Replaces
   * any earlier write to `key` (a later write supersedes it). `value` comes back from `behind`.
   */
  expectCreated(key: K, value?: V): void {
    this.#record(key, undefined, value);
  }

  /**
   * Records a write to `key` made now that the API server answered with `resourceVersion`: the
   * cache shows it once it reaches that revision. Replaces any earlier write to `key`. A
   * resourceVersion that is missing or not an integer records nothing and drops the earlier
   * write: there is nothing to compare the cache with, so nothing may be skipped.
   */
  expectWritten(key: K, resourceVersion: string | undefined, value?: V): void {
    const rv = toRevision(resourceVersion);
    if (rv === undefined) {
      this.#entries.delete(key);
      return;
    }
    this.#record(key, rv, value);
  }

  /**
   * The outstanding write to `key` while the cache, as `view` shows it, has not caught up with
   * it; otherwise undefined, and the entry is dropped (seen, or expired).
   */
  behind(key: K, view: CacheView): Expectation<V> | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    if (this.#expired(e, this.#clock.now()) || seen(e, view)) {
      this.#entries.delete(key);
      return undefined;
    }
    return e;
  }

  /** True while the cache has not caught up with the last write to `key` (see `behind`). */
  isBehind(key: K, view: CacheView): boolean {
    return this.behind(key, view) !== undefined;
  }

  /**
   * Every key whose write the cache has not caught up with, `view` telling what the cache shows
   * for each; the rest are dropped. For callers that pass the whole set on (e.g. the names of
   * pods created but not cached yet).
   */
  pending(view: (key: K) => CacheView): Set<K> {
    const now = this.#clock.now();
    const out = new Set<K>();
    for (const [key, e] of this.#entries) {
      if (this.#expired(e, now) || seen(e, view(key))) this.#entries.delete(key);
      else out.add(key);
    }
    return out;
  }

  /** Forgets `key`, e.g. once its object is deleted. */
  forget(key: K): void {
    this.#entries.delete(key);
  }

  /** Forgets every key matching `match`, e.g. all objects of a deleted namespace. */
  forgetWhere(match: (key: K) => boolean): void {
    for (const key of this.#entries.keys()) if (match(key)) this.#entries.delete(key);
  }

  /** Entries held, expired ones not yet swept included. */
  get size(): number {
    return this.#entries.size;
  }

  #record(key: K, resourceVersion: bigint | undefined, value: V | undefined): void {
    const now = this.#clock.now();
    this.#sweep(now);
    this.#entries.set(key, { at: now, resourceVersion, value });
  }

  #expired(e: Expectation<V>, now: number): boolean {
    return now - e.at > this.#lagMs;
  }

  /** Drops expired entries, at most once per lag period, so a write costs O(1) amortized. */
  #sweep(now: number): void {
    if (now - this.#lastSweep < this.#lagMs) return;
    this.#lastSweep = now;
    for (const [key, e] of this.#entries) if (this.#expired(e, now)) this.#entries.delete(key);
  }
}

function seen(e: Expectation<unknown>, view: CacheView): boolean {
  if (e.resourceVersion === undefined) return view.present === true;
  const cached = toRevision(view.resourceVersion);
  // Not comparable: never wait on it.
  if (cached === undefined) return true;
  return cached >= e.resourceVersion;
}

/** A resourceVersion as an etcd revision, or undefined when it is not a plain non-negative integer. */
export function toRevision(rv: string | undefined): bigint | undefined {
  return rv !== undefined && /^\d+$/.test(rv) ? BigInt(rv) : undefined;
}
