// The keyed workqueue between informers and reconcilers, with client-go's workqueue semantics
// (k8s.io/client-go/util/workqueue: Type + delaying queue + rate-limiting queue in one class):
//
// - An item is queued at most once: adds of an already-queued item collapse into one entry.
// - An item is never handed to two workers at once: an add while it is being processed marks it
//   dirty, and it goes back in line when the worker calls done(). So a reconciler can run with
//   many workers and still treat each key as single-threaded.
// - Delayed adds wait in a heap ordered by ready time, driven by one clock timer for the earliest
//   entry (no polling); a second delayed add of the same item keeps the earlier ready time.
//
// Items are primitives (normally "namespace/name" strings): dedup, dirty tracking and the rate
// limiter's per-item history all key Maps by the item itself, which would silently compare object
// items by identity.

import { realClock, type Clock, type TimerHandle } from './clock.ts';
import { defaultControllerRateLimiter, type RateLimiter } from './ratelimiter.ts';
import { noopWorkqueueMetrics, type WorkqueueMetrics } from './workqueue-metrics.ts';

export type QueueItem = string | number;

export type GetResult<T> = { item: T; shutdown: false } | { shutdown: true };

export interface WorkQueueOptions<T extends QueueItem> {
  /** Identifies the queue (normally the controller's name) in logs. */
  name: string;
  clock?: Clock;
  /** Default: defaultControllerRateLimiter(clock). */
  rateLimiter?: RateLimiter<T>;
  metrics?: WorkqueueMetrics;
  /**
   * How often to publish unfinished-work metrics on a clock timer; 0 turns the timer off (call
   * updateUnfinishedWork() yourself). Default: 500 ms when metrics are given, off otherwise.
   */
  unfinishedWorkUpdatePeriodMs?: number;
}

/** A FIFO with O(1) amortized push/shift (Array.prototype.shift is O(n)). */
class Fifo<T> {
  #items: (T | undefined)[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    // Compact once the consumed prefix dominates, so memory tracks the live length.
    if (this.#head > 64 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  clear(): void {
    this.#items = [];
    this.#head = 0;
  }
}

interface Waiting<T> {
  item: T;
  readyAt: number;
  /** Insertion order: items ready at the same instant are released in the order they were added. */
  seq: number;
  index: number;
}

/** Min-heap of delayed items with in-place priority updates (for earliest-ready-time-wins dedup). */
class WaitingHeap<T> {
  readonly #heap: Waiting<T>[] = [];

  get size(): number {
    return this.#heap.length;
  }

  peek(): Waiting<T> | undefined {
    return this.#heap[0];
  }

  push(entry: Waiting<T>): void {
    entry.index = this.#heap.length;
    this.#heap.push(entry);
    this.#up(entry.index);
  }

  pop(): Waiting<T> | undefined {
    const top = this.#heap[0];
    const last = this.#heap.pop();
    if (top && last && last !== top) {
      this.#put(0, last);
      this.#down(0);
    }
    return top;
  }

  /** Restores heap order after entry.readyAt decreased. */
  decreased(entry: Waiting<T>): void {
    this.#up(entry.index);
  }

  clear(): void {
    this.#heap.length = 0;
  }

  #less(a: Waiting<T>, b: Waiting<T>): boolean {
    return a.readyAt < b.readyAt || (a.readyAt === b.readyAt && a.seq < b.seq);
  }

  #put(i: number, entry: Waiting<T>): void {
    this.#heap[i] = entry;
    entry.index = i;
  }

  #up(i: number): void {
    const entry = this.#heap[i]!;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = this.#heap[parentIndex]!;
      if (!this.#less(entry, parent)) break;
      this.#put(i, parent);
      i = parentIndex;
    }
    this.#put(i, entry);
  }

  #down(i: number): void {
    const entry = this.#heap[i]!;
    const n = this.#heap.length;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = this.#heap[child + 1];
      if (right && this.#less(right, this.#heap[child]!)) child++;
      const smaller = this.#heap[child]!;
      if (!this.#less(smaller, entry)) break;
      this.#put(i, smaller);
      i = child;
    }
    this.#put(i, entry);
  }
}

const DEFAULT_UNFINISHED_WORK_PERIOD_MS = 500;

export class WorkQueue<T extends QueueItem> {
  readonly name: string;
  readonly #clock: Clock;
  readonly #rateLimiter: RateLimiter<T>;
  readonly #metrics: WorkqueueMetrics;

  /** Items ready for a worker, in order. Every member is also in #dirty and not in #processing. */
  readonly #queue = new Fifo<T>();
  /** Items that need processing: the queued ones plus those re-added while being processed. */
  readonly #dirty = new Set<T>();
  /** Items a worker holds, with the time it took them (for work-duration metrics). */
  readonly #processing = new Map<T, number>();
  /** When each dirty item was added (for queue-duration metrics). */
  readonly #addedAt = new Map<T, number>();
  /** Workers blocked in get(), first come first served. */
  readonly #getters = new Fifo<(result: GetResult<T>) => void>();

  readonly #waiting = new WaitingHeap<T>();
  readonly #waitingByItem = new Map<T, Waiting<T>>();
  #waitingSeq = 0;
  #waitTimer: TimerHandle | undefined;
  #waitTimerAt = Infinity;

  /**
   * running: normal; draining: no new adds, but queued and dirty items are still handed out;
   * stopped: no new adds and nothing more handed out (in-progress items may still call done()).
   */
  #state: 'running' | 'draining' | 'stopped' = 'running';
  readonly #drainWaiters: (() => void)[] = [];

  readonly #unfinishedWorkPeriodMs: number;
  #unfinishedWorkTimer: TimerHandle | undefined;

  constructor(options: WorkQueueOptions<T>) {
    this.name = options.name;
    this.#clock = options.clock ?? realClock;
    this.#rateLimiter = options.rateLimiter ?? defaultControllerRateLimiter<T>(this.#clock);
    this.#metrics = options.metrics ?? noopWorkqueueMetrics;
    this.#unfinishedWorkPeriodMs =
      options.unfinishedWorkUpdatePeriodMs ?? (options.metrics ? DEFAULT_UNFINISHED_WORK_PERIOD_MS : 0);
    this.#scheduleUnfinishedWork();
  }

  /** Queues item for processing; collapses with an already-queued copy. Ignored after shutdown. */
  add(item: T): void {
    if (this.#state !== 'running') return;
    this.#metrics.incAdds();
    if (this.#dirty.has(item)) return;
    this.#dirty.add(item);
    this.#addedAt.set(item, this.#clock.now());
    this.#metrics.setDepth(this.#dirty.size);
    // If a worker holds it, done() puts it back in line; queuing it now would let a second
    // worker take it concurrently.
    if (this.#processing.has(item)) return;
    this.#queue.push(item);
    this.#dispatch();
  }

  /**
   * Waits for the next item. Resolves { shutdown: true } once the queue is shut down (after
   * shutDownWithDrain: once nothing is left to hand out). The caller must call done(item).
   */
  get(): Promise<GetResult<T>> {
    const item = this.#state === 'stopped' ? undefined : this.#queue.shift();
    if (item !== undefined) return Promise.resolve({ item: this.#take(item), shutdown: false });
    if (this.#noMoreWork()) return Promise.resolve({ shutdown: true });
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  /**
   * Marks the end of processing of an item got from get(). If it was added again meanwhile, it
   * goes back in line now. Calling done() for an item not being processed does nothing.
   */
  done(item: T): void {
    const startedAt = this.#processing.get(item);
    if (startedAt === undefined) return;
    this.#processing.delete(item);
    this.#metrics.observeWorkDuration(seconds(this.#clock.now() - startedAt));
    if (this.#dirty.has(item)) {
      this.#queue.push(item);
      this.#dispatch();
    }
    this.#checkDrained();
  }

  /**
   * Adds item after ms (at once if ms <= 0). While it waits, another addAfter of the same item
   * keeps whichever ready time is earlier.
   */
  addAfter(item: T, ms: number): void {
    if (this.#state !== 'running') return;
    if (!(ms > 0)) {
      this.add(item);
      return;
    }
    const readyAt = this.#clock.now() + ms;
    const existing = this.#waitingByItem.get(item);
    if (existing) {
      if (readyAt >= existing.readyAt) return;
      existing.readyAt = readyAt;
      this.#waiting.decreased(existing);
    } else {
      const entry: Waiting<T> = { item, readyAt, seq: this.#waitingSeq++, index: -1 };
      this.#waitingByItem.set(item, entry);
      this.#waiting.push(entry);
    }
    this.#armWaitTimer();
  }

  /** Re-adds item after the rate limiter's delay for it (a retry). */
  addRateLimited(item: T): void {
    // Not even consulting the limiter: a retry that will never run must not count as a failure.
    if (this.#state !== 'running') return;
    this.#metrics.incRetries();
    this.addAfter(item, this.#rateLimiter.when(item));
  }

  /** Clears item's retry history (after it was processed successfully). */
  forget(item: T): void {
    this.#rateLimiter.forget(item);
  }

  numRequeues(item: T): number {
    return this.#rateLimiter.numRequeues(item);
  }

  /**
   * Items ready and waiting for a worker (not counting delayed items, or items re-added while
   * being processed). The depth metric, like client-go's, also counts the latter.
   */
  len(): number {
    return this.#queue.length;
  }

  shuttingDown(): boolean {
    return this.#state !== 'running';
  }

  /**
   * Stops the queue: adds are ignored, delayed items are dropped, blocked and future get() calls
   * return { shutdown: true }, and queued items are abandoned. Unlike client-go (whose Get keeps
   * handing out queued items after ShutDown) this lets a terminating replica stop taking work at
   * once and release its lease sooner; reconciles are level-triggered, so the next leader's
   * initial list covers whatever was abandoned. In-progress items still finish and call done().
   */
  shutDown(): void {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    this.#stopTimers();
    this.#queue.clear();
    this.#dirty.clear();
    this.#addedAt.clear();
    this.#metrics.setDepth(0);
    this.#releaseGetters();
    this.#checkDrained();
  }

  /**
   * Stops accepting adds (delayed items are dropped) but keeps handing out everything already
   * queued, including items re-added while in progress; resolves once all of it has been
   * processed and done(). Workers must keep calling get() until it returns shutdown. Calling
   * shutDown() afterwards (e.g. when a grace period runs out) abandons the rest; the promise then
   * resolves when the in-progress items are done.
   */
  shutDownWithDrain(): Promise<void> {
    if (this.#state === 'running') {
      this.#state = 'draining';
      this.#stopTimers();
      this.#releaseGetters();
    }
    const drained = new Promise<void>((resolve) => this.#drainWaiters.push(resolve));
    this.#checkDrained();
    return drained;
  }

  /** Publishes how long in-progress items have been running (total and longest), in seconds. */
  updateUnfinishedWork(): void {
    const now = this.#clock.now();
    let total = 0;
    let longest = 0;
    for (const startedAt of this.#processing.values()) {
      const running = seconds(now - startedAt);
      total += running;
      longest = Math.max(longest, running);
    }
    this.#metrics.setUnfinishedWork(total, longest);
  }

  /** Moves an item from the queue to a worker. */
  #take(item: T): T {
    const now = this.#clock.now();
    this.#dirty.delete(item);
    this.#processing.set(item, now);
    const addedAt = this.#addedAt.get(item);
    this.#addedAt.delete(item);
    if (addedAt !== undefined) this.#metrics.observeQueueDuration(seconds(now - addedAt));
    this.#metrics.setDepth(this.#dirty.size);
    return item;
  }

  /** Hands queued items to blocked workers, oldest worker first. */
  #dispatch(): void {
    while (this.#getters.length > 0 && this.#queue.length > 0) {
      const resolve = this.#getters.shift()!;
      resolve({ item: this.#take(this.#queue.shift()!), shutdown: false });
    }
    // While draining, the last dirty item being taken means no more work can ever appear.
    if (this.#noMoreWork()) this.#releaseGetters();
  }

  #noMoreWork(): boolean {
    return this.#state === 'stopped' || (this.#state === 'draining' && this.#dirty.size === 0);
  }

  #releaseGetters(): void {
    if (!this.#noMoreWork()) return;
    for (let resolve = this.#getters.shift(); resolve; resolve = this.#getters.shift()) {
      resolve({ shutdown: true });
    }
  }

  #checkDrained(): void {
    if (this.#state === 'running' || this.#processing.size > 0 || !this.#noMoreWork()) return;
    for (const resolve of this.#drainWaiters.splice(0)) resolve();
  }

  /** Keeps one clock timer armed for the earliest delayed item. */
  #armWaitTimer(): void {
    const next = this.#waiting.peek();
    const at = next ? next.readyAt : Infinity;
    if (at === this.#waitTimerAt) return;
    if (this.#waitTimer) this.#clock.clearTimeout(this.#waitTimer);
    this.#waitTimer = undefined;
    this.#waitTimerAt = at;
    if (next) {
      this.#waitTimer = this.#clock.setTimeout(() => this.#onWaitTimer(), at - this.#clock.now());
    }
  }

  #onWaitTimer(): void {
    this.#waitTimer = undefined;
    this.#waitTimerAt = Infinity;
    const now = this.#clock.now();
    // Real timers can fire a hair early relative to now(); whatever is not ready yet simply
    // gets a fresh timer below.
    for (let next = this.#waiting.peek(); next && next.readyAt <= now; next = this.#waiting.peek()) {
      this.#waiting.pop();
      this.#waitingByItem.delete(next.item);
      this.add(next.item);
    }
    this.#armWaitTimer();
  }

  #scheduleUnfinishedWork(): void {
    if (this.#unfinishedWorkPeriodMs <= 0 || this.#state !== 'running') return;
    this.#unfinishedWorkTimer = this.#clock.setTimeout(() => {
      this.updateUnfinishedWork();
      this.#scheduleUnfinishedWork();
    }, this.#unfinishedWorkPeriodMs);
  }

  #stopTimers(): void {
    if (this.#waitTimer) this.#clock.clearTimeout(this.#waitTimer);
    this.#waitTimer = undefined;
    this.#waitTimerAt = Infinity;
    this.#waiting.clear();
    this.#waitingByItem.clear();
    if (this.#unfinishedWorkTimer) this.#clock.clearTimeout(this.#unfinishedWorkTimer);
    this.#unfinishedWorkTimer = undefined;
  }
}

function seconds(ms: number): number {
  return Math.max(0, ms) / 1000;
}
