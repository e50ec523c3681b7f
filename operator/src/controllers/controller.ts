// The reconcile loop every Paddock controller runs on, shaped like
// controller-runtime: event sources map objects to keys, keys go through a
// rate-limited workqueue, workers call reconcile(key). A key is never
// reconciled by two workers at once; failures back off per key, except those
// retrying cannot help (reconcile-errors.ts); a reconciler may ask to be called
// again after a delay.
import type { Logger } from 'pino';
import type { Clock } from '../kube/clock.ts';
import type { Informer } from '../kube/informer.ts';
import { defaultControllerRateLimiter } from '../kube/ratelimiter.ts';
import type { KubeObject } from '../kube/types.ts';
import { objectKey } from '../kube/types.ts';
import { WorkQueue } from '../kube/workqueue.ts';
import type { WorkqueueMetrics } from '../kube/workqueue-metrics.ts';
import { errorFields, newReconcileId, reconcileLogger } from '../observability/logger.ts';
import { classifyReconcileError, type ReconcileErrorKind } from './reconcile-errors.ts';

export interface ReconcileContext {
  readonly logger: Logger;
  readonly reconcileId: string;
}

export interface ReconcileResult {
  /** Reconcile this key again after this long (timeouts, backoff, TTLs). */
  readonly requeueAfterMs?: number;
}

export interface Reconciler {
  reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult | void>;
}

export interface ControllerMetrics {
  /** `errorKind` is given with result 'error' only. */
  reconcile(
    controller: string,
    result: 'success' | 'error' | 'requeue',
    seconds: number,
    errorKind?: ReconcileErrorKind,
  ): void;
  workqueue(name: string): WorkqueueMetrics;
}

/** What onFailing hears about a key whose reconciles fail. */
export interface ReconcileFailure {
  /** Failed reconciles of the key in a row, this one included. */
  readonly failures: number;
  readonly err: unknown;
  readonly kind: ReconcileErrorKind;
  /** Not retried: the key waits for its object to change. */
  readonly terminal: boolean;
}

export interface ControllerOptions {
  readonly name: string;
  readonly reconciler: Reconciler;
  readonly logger: Logger;
  readonly workers?: number;
  readonly clock?: Clock;
  readonly metrics?: ControllerMetrics;
  /**
   * Called once when a key has failed FAILING_AFTER reconciles in a row, or at once when the
   * failure is terminal (it will not be retried), so the object can say so (an Event): a
   * manifest that keeps failing is never failing silently.
   */
  readonly onFailing?: (key: string, failure: ReconcileFailure) => void;
}

/** Consecutive failed reconciles of one key before onFailing hears of it. */
export const FAILING_AFTER = 5;

/** Maps a changed object to the keys of the objects that must be reconciled. */
export type MapFunc<T extends KubeObject> = (obj: T) => readonly string[];

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue<string>;
  private readonly opts: ControllerOptions;
  private workers: Promise<void>[] = [];
  private reconciles = 0;

  constructor(opts: ControllerOptions) {
    this.opts = opts;
    this.name = opts.name;
    this.queue = new WorkQueue<string>({
      name: opts.name,
      ...(opts.clock ? { clock: opts.clock } : {}),
      rateLimiter: defaultControllerRateLimiter<string>(opts.clock),
      ...(opts.metrics ? { metrics: opts.metrics.workqueue(opts.name) } : {}),
    });
  }

  /** Reconcile the object itself on every change. */
  watchPrimary<T extends KubeObject>(informer: Informer<T>): void {
    this.watch(informer, (o) => [objectKey(o)]);
  }

  /** Reconcile whatever `map` names when an object of this informer changes. */
  watch<T extends KubeObject>(informer: Informer<T>, map: MapFunc<T>, onlyOnChange = true): void {
    const enqueue = (o: T): void => {
      for (const k of map(o)) this.queue.add(k);
    };
    informer.addHandler({
      add: enqueue,
      update: (oldObj, newObj) => {
        // Same resourceVersion: a relist re-delivered what we had; nothing changed.
        if (onlyOnChange && oldObj.metadata.resourceVersion === newObj.metadata.resourceVersion) return;
        enqueue(newObj);
        // When the mapping changes (e.g. an owner reference moved), the old target hears too.
        for (const k of map(oldObj)) this.queue.add(k);
      },
      delete: enqueue,
    });
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  enqueueAfter(key: string, ms: number): void {
    this.queue.addAfter(key, ms);
  }

  /** Total reconciles run (tests use it to prove work is not repeated). */
  get reconcileCount(): number {
    return this.reconciles;
  }

  start(): void {
    const n = this.opts.workers ?? 4;
    for (let i = 0; i < n; i++) this.workers.push(this.worker());
  }

  /** Stop taking work, let in-flight reconciles finish (up to timeoutMs), then return. */
  async stop(timeoutMs = 30_000): Promise<void> {
    const drained = this.queue.shutDownWithDrain();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.opts.logger.warn(
          { controller: this.name },
          'shutdown timeout: abandoning queued and in-flight work',
        );
        this.queue.shutDown();
        resolve();
      }, timeoutMs);
      timer.unref();
    });
    await Promise.race([drained, timeout]);
    // In-flight reconciles get what is left of the grace period, no more: a hung one must not
    // hold up shutdown (and the lease release after it) forever.
    await Promise.race([Promise.all(this.workers), timeout]);
    clearTimeout(timer);
  }

  /** Stop at once: in-flight reconciles finish, queued keys are dropped. */
  async stopNow(): Promise<void> {
    this.queue.shutDown();
    await Promise.all(this.workers);
  }

  private async worker(): Promise<void> {
    for (;;) {
      const next = await this.queue.get();
      if (next.shutdown) return;
      await this.process(next.item);
      // Yield to I/O between items: a reconcile that requeues itself at once without doing I/O
      // would otherwise be a pure microtask loop that starves every socket in the process.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  private async process(key: string): Promise<void> {
    const reconcileId = newReconcileId();
    const logger = reconcileLogger(this.opts.logger, { controller: this.name, key, reconcileId });
    const started = performance.now();
    this.reconciles++;
    try {
      const result = await this.opts.reconciler.reconcile(key, { logger, reconcileId });
      const seconds = (performance.now() - started) / 1000;
      this.queue.forget(key);
      if (result?.requeueAfterMs !== undefined && result.requeueAfterMs >= 0) {
        this.queue.addAfter(key, result.requeueAfterMs);
        this.opts.metrics?.reconcile(this.name, 'requeue', seconds);
      } else {
        this.opts.metrics?.reconcile(this.name, 'success', seconds);
      }
    } catch (err) {
      const seconds = (performance.now() - started) / 1000;
      const { kind, terminal } = classifyReconcileError(err);
      this.opts.metrics?.reconcile(this.name, 'error', seconds, kind);
      const retries = this.queue.numRequeues(key);
      // The logger's serializer keeps name, message, status, reason and the Status details, never
      // a response body or headers, and redacts secret-looking fields (observability/logger.ts).
      const fields = { ...errorFields(err), errorKind: kind, retries };
      if (terminal) {
        // As controller-runtime does with reconcile.TerminalError: logged, counted, the key's
        // backoff forgotten, and no requeue at all. A retry would be refused the same way, even
        // at the long end of the backoff; what can fix it is a change of the object (or of what
        // it refers to), and that change enqueues the key through the watches anyway.
        this.queue.forget(key);
        logger.error(fields, 'reconcile failed; not retried until the object changes');
        this.opts.onFailing?.(key, { failures: retries + 1, err, kind, terminal });
      } else {
        logger.error(fields, 'reconcile failed; will retry');
        if (retries + 1 === FAILING_AFTER)
          this.opts.onFailing?.(key, { failures: retries + 1, err, kind, terminal });
        this.queue.addRateLimited(key);
      }
    } finally {
      this.queue.done(key);
    }
  }
}
