import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Controller,
  FAILING_AFTER,
  type ControllerMetrics,
  type ReconcileContext,
  type ReconcileFailure,
  type ReconcileResult,
  type Reconciler,
} from '../../../operator/src/controllers/controller.ts';
import {
  TerminalReconcileError,
  type ReconcileErrorKind,
} from '../../../operator/src/controllers/reconcile-errors.ts';
import { FakeClock } from '../../../operator/src/kube/clock.ts';
import { ApiError } from '../../../operator/src/kube/errors.ts';
import { createLogger, type Logger } from '../../../operator/src/observability/logger.ts';
import type { Informer, InformerHandlers } from '../../../operator/src/kube/informer.ts';
import type { KubeObject } from '../../../operator/src/kube/types.ts';
import { noopWorkqueueMetrics, type WorkqueueMetrics } from '../../../operator/src/kube/workqueue-metrics.ts';

// Workers yield to the event loop (setImmediate) between items, so settle a few turns of it.
const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: Error) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

type Outcome = ReconcileResult | void | Error;

/**
 * Records every reconcile and how many run at once. With `hold` set, each reconcile waits until
 * the test settles it through `pending` (in call order).
 */
class FakeReconciler implements Reconciler {
  readonly calls: string[] = [];
  readonly contexts: ReconcileContext[] = [];
  readonly inFlight = new Map<string, number>();
  maxPerKey = 0;
  maxTotal = 0;
  hold = false;
  readonly pending: Array<{ key: string; settle: Deferred<Outcome> }> = [];
  /** Decides the outcome of a call when not held: the n-th (0-based) call for key. */
  outcome: (key: string, n: number) => Outcome = () => undefined;
  readonly #counts = new Map<string, number>();

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    this.calls.push(key);
    this.contexts.push(ctx);
    const n = this.#counts.get(key) ?? 0;
    this.#counts.set(key, n + 1);
    this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1);
    this.maxPerKey = Math.max(this.maxPerKey, this.inFlight.get(key)!);
    this.maxTotal = Math.max(this.maxTotal, this.running());
    try {
      let out: Outcome;
      if (this.hold) {
        const settle = deferred<Outcome>();
        this.pending.push({ key, settle });
        out = await settle.promise;
      } else {
        await Promise.resolve();
        out = this.outcome(key, n);
      }
      if (out instanceof Error) throw out;
      return out;
    } finally {
      this.inFlight.set(key, this.inFlight.get(key)! - 1);
    }
  }

  /** Stops holding and lets every held reconcile finish. */
  releaseAll(): void {
    this.hold = false;
    for (const p of this.pending.splice(0)) p.settle.resolve(undefined);
  }

  running(): number {
    let n = 0;
    for (const v of this.inFlight.values()) n += v;
    return n;
  }

  /** Settles the oldest held reconcile (of key, if given). */
  release(key?: string, out: Outcome = undefined): void {
    const i = key === undefined ? 0 : this.pending.findIndex((p) => p.key === key);
    const p = i >= 0 ? this.pending.splice(i, 1)[0] : undefined;
    if (!p) throw new Error(`no held reconcile${key ? ` for ${key}` : ''}`);
    p.settle.resolve(out);
  }
}

interface MetricsRecord {
  metrics: ControllerMetrics;
  results: Array<'success' | 'error' | 'requeue'>;
  /** The error kind of each 'error' result, in order. */
  kinds: Array<ReconcileErrorKind | undefined>;
  names: Set<string>;
  queueNames: string[];
  adds: number;
  retries: number;
}

function recordingMetrics(): MetricsRecord {
  const r: MetricsRecord = {
    results: [],
    kinds: [],
    names: new Set(),
    queueNames: [],
    adds: 0,
    retries: 0,
    metrics: {
      reconcile: (controller, result, seconds, errorKind) => {
        expect(seconds).toBeGreaterThanOrEqual(0);
        r.names.add(controller);
        r.results.push(result);
        if (result === 'error') r.kinds.push(errorKind);
        else expect(errorKind).toBeUndefined();
      },
      workqueue: (name): WorkqueueMetrics => {
        r.queueNames.push(name);
        return {
          ...noopWorkqueueMetrics,
          incAdds: () => r.adds++,
          incRetries: () => r.retries++,
        };
      },
    },
  };
  return r;
}

const silent = pino({ level: 'silent' });
const controllers: Array<{ c: Controller; r: FakeReconciler }> = [];

afterEach(async () => {
  for (const { r } of controllers) r.releaseAll();
  await Promise.all(controllers.splice(0).map(({ c }) => c.stopNow()));
});

function newController(
  opts: {
    workers?: number;
    onFailing?: (key: string, failure: ReconcileFailure) => void;
    logger?: Logger;
  } = {},
): {
  c: Controller;
  r: FakeReconciler;
  clock: FakeClock;
  m: MetricsRecord;
} {
  const clock = new FakeClock(0);
  const r = new FakeReconciler();
  const m = recordingMetrics();
  const c = new Controller({
    name: 'widgets',
    reconciler: r,
    logger: opts.logger ?? silent,
    clock,
    metrics: m.metrics,
    workers: opts.workers ?? 4,
    ...(opts.onFailing ? { onFailing: opts.onFailing } : {}),
  });
  controllers.push({ c, r });
  return { c, r, clock, m };
}

describe('Controller: one key at a time', () => {
  it('a key enqueued many times while being reconciled runs once more afterwards, never concurrently', async () => {
    const { c, r } = newController({ workers: 4 });
    r.hold = true;
    c.start();
    c.enqueue('ns/a');
    await flush();
    expect(r.calls).toEqual(['ns/a']);

    for (let i = 0; i < 10; i++) c.enqueue('ns/a');
    await flush();
    expect(r.calls).toEqual(['ns/a']); // still just the one in flight
    expect(r.running()).toBe(1);

    r.release('ns/a');
    await flush();
    expect(r.calls).toEqual(['ns/a', 'ns/a']); // exactly one more
    r.release('ns/a');
    await flush();
    expect(r.calls).toEqual(['ns/a', 'ns/a']);
    expect(r.maxPerKey).toBe(1);
    expect(c.reconcileCount).toBe(2);
  });

  it('keys enqueued several times before a worker takes them collapse into one reconcile', async () => {
    const { c, r } = newController({ workers: 1 });
    c.enqueue('ns/a');
    c.enqueue('ns/b');
    c.enqueue('ns/a');
    c.enqueue('ns/a');
    c.start();
    await flush();
    expect(r.calls).toEqual(['ns/a', 'ns/b']);
  });

  it('different keys run in parallel up to the number of workers', async () => {
    const { c, r } = newController({ workers: 2 });
    r.hold = true;
    c.start();
    for (const k of ['a', 'b', 'c']) c.enqueue(k);
    await flush();
    expect(r.calls).toEqual(['a', 'b']);
    expect(r.maxTotal).toBe(2);
    r.release('a');
    await flush();
    expect(r.calls).toEqual(['a', 'b', 'c']);
    expect(r.maxTotal).toBe(2);
  });

  it('gives each reconcile a logger and its own reconcile id', async () => {
    const { c, r } = newController();
    c.start();
    c.enqueue('a');
    await flush();
    c.enqueue('a');
    await flush();
    expect(r.contexts).toHaveLength(2);
    const [one, two] = r.contexts;
    expect(one!.reconcileId).toMatch(/^[0-9a-f]{12}$/);
    expect(two!.reconcileId).not.toBe(one!.reconcileId);
    expect(one!.logger.bindings()).toMatchObject({
      controller: 'widgets',
      key: 'a',
      reconcileId: one!.reconcileId,
    });
  });
});

describe('Controller: errors, retries, requeues', () => {
  it('retries a failing key with growing per-key backoff, and forgets it on success', async () => {
    const { c, r, clock, m } = newController({ workers: 1 });
    r.outcome = (_k, n) => (n < 3 ? new Error(`fail ${n}`) : undefined);
    c.start();
    c.enqueue('a');
    await flush();
    expect(r.calls).toHaveLength(1);
    expect(c.queue.numRequeues('a')).toBe(1);

    // Delays of the default controller rate limiter: 5 ms, 10 ms, 20 ms.
    for (const [delay, callsAfter] of [
      [5, 2],
      [10, 3],
      [20, 4],
    ] as const) {
      await clock.advanceAsync(delay - 1);
      expect(r.calls).toHaveLength(callsAfter - 1);
      await clock.advanceAsync(1);
      expect(r.calls).toHaveLength(callsAfter);
    }
    expect(c.queue.numRequeues('a')).toBe(0); // forgotten after the success
    expect(m.results).toEqual(['error', 'error', 'error', 'success']);
    expect(m.retries).toBe(3);

    // Nothing further is scheduled for it.
    await clock.advanceAsync(10_000);
    expect(r.calls).toHaveLength(4);
  });

  it(`says so once when a key has failed ${FAILING_AFTER} times in a row, and again only after a success`, async () => {
    const heard: Array<[string, number, string]> = [];
    const { c, r, clock } = newController({
      workers: 1,
      onFailing: (key, f) => heard.push([key, f.failures, (f.err as Error).message]),
    });
    let failing = true;
    r.outcome = (_k, n) => (failing ? new Error(`fail ${n}`) : undefined);
    c.start();
    c.enqueue('a');
    await flush();
    for (let i = 0; i < 12; i++) await clock.advanceAsync(60_000);
    expect(r.calls.length).toBeGreaterThan(FAILING_AFTER + 2);
    expect(heard).toEqual([['a', FAILING_AFTER, `fail ${FAILING_AFTER - 1}`]]);
    failing = false;
    await clock.advanceAsync(2_000_000);
    c.enqueue('a');
    await flush();
    failing = true;
    c.enqueue('a');
    await flush();
    for (let i = 0; i < 12; i++) await clock.advanceAsync(60_000);
    expect(heard.map((h) => h[1])).toEqual([FAILING_AFTER, FAILING_AFTER]);
  });

  it('a failure of one key does not delay another', async () => {
    const { c, r } = newController({ workers: 1 });
    r.outcome = (k) => (k === 'bad' ? new Error('nope') : undefined);
    c.start();
    c.enqueue('bad');
    c.enqueue('good');
    await flush();
    expect(r.calls).toEqual(['bad', 'good']);
    expect(c.queue.numRequeues('good')).toBe(0);
    expect(c.queue.numRequeues('bad')).toBe(1);
  });

  it('honours requeueAfterMs and counts it as a requeue', async () => {
    const { c, r, clock, m } = newController();
    r.outcome = (_k, n) => (n === 0 ? { requeueAfterMs: 1_000 } : undefined);
    c.start();
    c.enqueue('a');
    await flush();
    expect(r.calls).toHaveLength(1);
    await clock.advanceAsync(999);
    expect(r.calls).toHaveLength(1);
    await clock.advanceAsync(1);
    expect(r.calls).toHaveLength(2);
    await clock.advanceAsync(10_000);
    expect(r.calls).toHaveLength(2);
    expect(m.results).toEqual(['requeue', 'success']);
    expect(m.retries).toBe(0); // a requeue is not a retry
  });

  it('a requeue after failures clears the failure history', async () => {
    const { c, r, clock } = newController({ workers: 1 });
    r.outcome = (_k, n) => (n < 2 ? new Error('x') : n === 2 ? { requeueAfterMs: 50 } : new Error('y'));
    c.start();
    c.enqueue('a');
    await flush();
    await clock.advanceAsync(5);
    await clock.advanceAsync(10);
    expect(r.calls).toHaveLength(3);
    expect(c.queue.numRequeues('a')).toBe(0);
    await clock.advanceAsync(50);
    expect(r.calls).toHaveLength(4);
    // The next failure starts from the first backoff step again.
    expect(c.queue.numRequeues('a')).toBe(1);
    await clock.advanceAsync(4);
    expect(r.calls).toHaveLength(4);
    await clock.advanceAsync(1);
    expect(r.calls).toHaveLength(5);
  });

  it('requeueAfterMs: 0 reconciles again at once; a negative one does not requeue', async () => {
    const { c, r, clock, m } = newController();
    r.outcome = (k, n) => {
      if (k === 'zero') return n === 0 ? { requeueAfterMs: 0 } : undefined;
      return { requeueAfterMs: -1 };
    };
    c.start();
    c.enqueue('zero');
    c.enqueue('neg');
    await flush();
    expect(r.calls.filter((k) => k === 'zero')).toHaveLength(2);
    await clock.advanceAsync(60_000);
    expect(r.calls.filter((k) => k === 'neg')).toHaveLength(1);
    expect(m.results.filter((x) => x === 'requeue')).toHaveLength(1);
  });

  it('a pending retry still runs (once) after an intervening successful reconcile', async () => {
    const { c, r, clock } = newController({ workers: 1 });
    r.outcome = (_k, n) => (n === 0 ? new Error('x') : undefined);
    c.start();
    c.enqueue('a');
    await flush();
    c.enqueue('a'); // an event arrives before the 5 ms retry
    await flush();
    expect(r.calls).toHaveLength(2);
    await clock.advanceAsync(5); // the retry still fires (level-triggered), but only once
    expect(r.calls).toHaveLength(3);
    await clock.advanceAsync(1_000);
    expect(r.calls).toHaveLength(3);
  });
});

/** An error as the REST client raises it for an answer with this status. */
function apiError(status: number, reason: string, message = 'refused', details?: object): ApiError {
  return new ApiError('PATCH', '/apis/paddock.dev/v1alpha1/namespaces/ns/widgets/a', status, {
    kind: 'Status',
    status: 'Failure',
    code: status,
    reason,
    message,
    ...(details ? { details } : {}),
  });
}

/** A logger writing JSON lines into memory, with the operator's serializers and redaction. */
function capturingLogger(): { logger: Logger; lines: () => Array<Record<string, unknown>> } {
  const out: string[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (s: string) => void out.push(s) } });
  return { logger, lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('Controller: terminal and retryable errors', () => {
  const retryable: Array<[string, () => unknown, ReconcileErrorKind]> = [
    ['a 409 Conflict', () => apiError(409, 'Conflict'), 'conflict'],
    ['a 429 TooManyRequests', () => apiError(429, 'TooManyRequests'), 'throttled'],
    ['a 503 ServiceUnavailable', () => apiError(503, 'ServiceUnavailable'), 'server'],
    ['a 504 Timeout', () => apiError(504, 'Timeout'), 'timeout'],
    ['a 404 NotFound', () => apiError(404, 'NotFound'), 'notFound'],
    ['a 403 Forbidden', () => apiError(403, 'Forbidden'), 'forbidden'],
    [
      'a refused connection',
      () =>
        new ApiError(
          'GET',
          '/x',
          0,
          { message: 'connect ECONNREFUSED', reason: 'ConnectionError' },
          { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) },
        ),
      'network',
    ],
    [
      'an admission policy that answers 422',
      () => apiError(422, 'Invalid', "ValidatingAdmissionPolicy 'p' with binding 'b' denied request: no"),
      'forbidden',
    ],
    ['a TypeError (a bug)', () => new TypeError('x is undefined'), 'unknown'],
  ];

  for (const [what, make, kind] of retryable) {
    it(`retries ${what} with backoff, labelled ${kind}`, async () => {
      const { c, r, clock, m } = newController({ workers: 1 });
      r.outcome = (_k, n) => (n < 2 ? (make() as Error) : undefined);
      c.start();
      c.enqueue('a');
      await flush();
      expect(c.queue.numRequeues('a')).toBe(1);
      await clock.advanceAsync(5);
      await clock.advanceAsync(10);
      expect(r.calls).toHaveLength(3);
      expect(m.results).toEqual(['error', 'error', 'success']);
      expect(m.kinds).toEqual([kind, kind]);
    });
  }

  const terminal: Array<[string, () => Error, ReconcileErrorKind]> = [
    ['a 422 Invalid from the API server', () => apiError(422, 'Invalid'), 'invalid'],
    ['a 400 BadRequest', () => apiError(400, 'BadRequest'), 'invalid'],
    ['a TerminalReconcileError', () => new TerminalReconcileError('spec cannot work'), 'terminal'],
    [
      'an error caused by a TerminalReconcileError',
      () => new Error('wrapped', { cause: new TerminalReconcileError('spec cannot work') }),
      'terminal',
    ],
  ];

  for (const [what, make, kind] of terminal) {
    it(`does not retry ${what} (kind ${kind}); the next change of the object is reconciled`, async () => {
      const heard: ReconcileFailure[] = [];
      const { c, r, clock, m } = newController({ workers: 1, onFailing: (_k, f) => heard.push(f) });
      r.outcome = (_k, n) => (n === 0 ? make() : undefined);
      c.start();
      c.enqueue('a');
      await flush();
      expect(r.calls).toHaveLength(1);
      expect(c.queue.numRequeues('a')).toBe(0);
      // Not even at the long end of the backoff (about 17 minutes).
      await clock.advanceAsync(2 * 60 * 60_000);
      expect(r.calls).toHaveLength(1);
      expect(m.results).toEqual(['error']);
      expect(m.kinds).toEqual([kind]);
      expect(m.retries).toBe(0);
      // Said once, at once: no FAILING_AFTER tries to wait for.
      expect(heard).toHaveLength(1);
      expect(heard[0]).toMatchObject({ failures: 1, kind, terminal: true });
      // A watch event (the object changed) reconciles it again.
      c.enqueue('a');
      await flush();
      expect(r.calls).toHaveLength(2);
      expect(m.results).toEqual(['error', 'success']);
    });
  }

  it('a terminal failure after retried ones forgets the backoff and says how many failed in a row', async () => {
    const heard: ReconcileFailure[] = [];
    const { c, r, clock } = newController({ workers: 1, onFailing: (_k, f) => heard.push(f) });
    r.outcome = (_k, n) =>
      n < 2 ? apiError(409, 'Conflict') : n === 2 ? apiError(422, 'Invalid') : undefined;
    c.start();
    c.enqueue('a');
    await flush();
    await clock.advanceAsync(5);
    expect(c.queue.numRequeues('a')).toBe(2);
    await clock.advanceAsync(10);
    expect(r.calls).toHaveLength(3);
    expect(c.queue.numRequeues('a')).toBe(0);
    expect(heard).toEqual([expect.objectContaining({ failures: 3, kind: 'invalid', terminal: true })]);
    await clock.advanceAsync(2 * 60 * 60_000);
    expect(r.calls).toHaveLength(3);
  });

  it('logs a failed reconcile with the full error fields, the kind, and no secret', async () => {
    const { logger, lines } = capturingLogger();
    const { c, r, clock } = newController({ workers: 1, logger });
    const invalid = apiError(422, 'Invalid', 'Widget.paddock.dev "a" is invalid: spec.size: Invalid value', {
      name: 'a',
      group: 'paddock.dev',
      kind: 'Widget',
      causes: [{ reason: 'FieldValueInvalid', message: 'Invalid value: 3', field: 'spec.size' }],
      token: 'CANARY-DETAILS',
    });
    r.outcome = (k) =>
      k === 'bad'
        ? invalid
        : Object.assign(apiError(409, 'Conflict'), { headers: { authorization: 'CANARY-H' } });
    c.start();
    c.enqueue('bad');
    c.enqueue('busy');
    await flush();
    await clock.advanceAsync(1);
    const failed = lines().filter((l) => String(l['msg']).startsWith('reconcile failed'));
    const bad = failed.find((l) => l['key'] === 'bad');
    expect(bad).toMatchObject({
      level: 'error',
      controller: 'widgets',
      msg: 'reconcile failed; not retried until the object changes',
      errorKind: 'invalid',
      retries: 0,
      err: {
        name: 'ApiError',
        message: 'Widget.paddock.dev "a" is invalid: spec.size: Invalid value',
        status: 422,
        reason: 'Invalid',
        request: 'PATCH /apis/paddock.dev/v1alpha1/namespaces/ns/widgets/a',
        details: {
          name: 'a',
          group: 'paddock.dev',
          kind: 'Widget',
          causes: [{ reason: 'FieldValueInvalid', message: 'Invalid value: 3', field: 'spec.size' }],
        },
      },
    });
    const busy = failed.find((l) => l['key'] === 'busy');
    expect(busy).toMatchObject({
      msg: 'reconcile failed; will retry',
      errorKind: 'conflict',
      err: { status: 409, reason: 'Conflict', name: 'ApiError' },
    });
    expect(JSON.stringify(lines())).not.toContain('CANARY');
  });
});

interface Widget extends KubeObject {
  spec?: { owner?: string; owners?: string[] };
}

/** Stands in for an Informer: only addHandler is used by the controller. */
class FakeSource {
  readonly handlers: InformerHandlers<Widget>[] = [];

  addHandler(h: InformerHandlers<Widget>): void {
    this.handlers.push(h);
  }

  add(o: Widget): void {
    for (const h of this.handlers) h.add?.(o);
  }

  update(o: Widget, n: Widget): void {
    for (const h of this.handlers) h.update?.(o, n);
  }

  delete(o: Widget): void {
    for (const h of this.handlers) h.delete?.(o);
  }

  asInformer(): Informer<Widget> {
    return this as unknown as Informer<Widget>;
  }
}

function w(name: string, rv: string, spec: Widget['spec'] = {}): Widget {
  return { metadata: { name, namespace: 'ns', resourceVersion: rv }, spec };
}

/** Takes whatever is queued right now (marking each done) without running workers. */
async function queued(c: Controller): Promise<string[]> {
  const out: string[] = [];
  while (c.queue.len() > 0) {
    const next = await c.queue.get();
    if (next.shutdown) break;
    out.push(next.item);
    c.queue.done(next.item);
  }
  return out;
}

describe('Controller: event sources', () => {
  const byOwner = (o: Widget): readonly string[] => (o.spec?.owner ? [`ns/${o.spec.owner}`] : []);

  it('watch enqueues the mapped keys on add, update and delete', async () => {
    const { c } = newController();
    const src = new FakeSource();
    c.watch(src.asInformer(), byOwner);
    expect(src.handlers).toHaveLength(1);

    src.add(w('child', '1', { owner: 'x' }));
    expect(await queued(c)).toEqual(['ns/x']);

    src.delete(w('child', '2', { owner: 'x' }));
    expect(await queued(c)).toEqual(['ns/x']);

    src.add(w('orphan', '1'));
    expect(await queued(c)).toEqual([]);

    const many = (o: Widget): readonly string[] => (o.spec?.owners ?? []).map((x) => `ns/${x}`);
    const src2 = new FakeSource();
    c.watch(src2.asInformer(), many);
    src2.add(w('c', '1', { owners: ['p', 'q'] }));
    expect(await queued(c)).toEqual(['ns/p', 'ns/q']);
  });

  it('update: ignores same-resourceVersion re-deliveries; otherwise enqueues new and old targets', async () => {
    const { c } = newController();
    const src = new FakeSource();
    c.watch(src.asInformer(), byOwner);

    src.update(w('child', '5', { owner: 'x' }), w('child', '5', { owner: 'x' }));
    expect(await queued(c)).toEqual([]);

    src.update(w('child', '5', { owner: 'x' }), w('child', '6', { owner: 'x' }));
    expect(await queued(c)).toEqual(['ns/x']);

    // The owner moved: both the new and the old owner hear about it.
    src.update(w('child', '6', { owner: 'x' }), w('child', '7', { owner: 'y' }));
    expect(await queued(c)).toEqual(['ns/y', 'ns/x']);
  });

  it('watch with onlyOnChange = false enqueues even same-resourceVersion updates', async () => {
    const { c } = newController();
    const src = new FakeSource();
    c.watch(src.asInformer(), byOwner, false);
    src.update(w('child', '5', { owner: 'x' }), w('child', '5', { owner: 'x' }));
    expect(await queued(c)).toEqual(['ns/x']);
  });

  it('watchPrimary enqueues the object key itself', async () => {
    const { c } = newController();
    const src = new FakeSource();
    c.watchPrimary(src.asInformer());
    src.add(w('a', '1'));
    src.update(w('b', '1'), w('b', '1'));
    src.update(w('c', '1'), w('c', '2'));
    src.delete({ metadata: { name: 'cluster-scoped', resourceVersion: '3' } });
    expect(await queued(c)).toEqual(['ns/a', 'ns/c', 'cluster-scoped']);
  });

  it('enqueueAfter delays a key on the clock', async () => {
    const { c, r, clock } = newController();
    c.start();
    c.enqueueAfter('a', 300);
    await clock.advanceAsync(299);
    expect(r.calls).toEqual([]);
    await clock.advanceAsync(1);
    expect(r.calls).toEqual(['a']);
  });
});

describe('Controller: shutdown', () => {
  it('stop() lets in-flight and queued work finish and takes no new work', async () => {
    const { c, r } = newController({ workers: 1 });
    r.hold = true;
    c.start();
    c.enqueue('a');
    c.enqueue('b');
    await flush();
    expect(r.calls).toEqual(['a']);

    let stopped = false;
    const stopping = c.stop(60_000).then(() => (stopped = true));
    c.enqueue('c'); // after stop: ignored
    c.enqueueAfter('d', 0);
    await flush();
    expect(stopped).toBe(false);

    r.release('a');
    await flush();
    expect(r.calls).toEqual(['a', 'b']);
    expect(stopped).toBe(false);
    r.release('b');
    await stopping;
    expect(stopped).toBe(true);
    expect(r.calls).toEqual(['a', 'b']);
    expect(r.running()).toBe(0);
  });

  it('a failure during shutdown is not retried', async () => {
    const { c, r, clock } = newController({ workers: 1 });
    r.hold = true;
    c.start();
    c.enqueue('a');
    await flush();
    const stopping = c.stop(60_000);
    r.release('a', new Error('boom'));
    await stopping;
    await clock.advanceAsync(60_000);
    expect(r.calls).toEqual(['a']);
  });

  it('stopNow() finishes in-flight reconciles but drops queued keys', async () => {
    const { c, r } = newController({ workers: 1 });
    r.hold = true;
    c.start();
    c.enqueue('a');
    c.enqueue('b');
    await flush();
    let stopped = false;
    const stopping = c.stopNow().then(() => (stopped = true));
    await flush();
    expect(stopped).toBe(false); // waits for the in-flight one
    r.release('a');
    await stopping;
    expect(r.calls).toEqual(['a']);
  });

  it('stop(timeoutMs) returns after the timeout even if a reconcile never finishes', async () => {
    const { c, r } = newController({ workers: 1 });
    r.hold = true;
    c.start();
    c.enqueue('stuck');
    c.enqueue('queued');
    await flush();
    const outcome = await Promise.race([
      c.stop(20).then(() => 'stopped' as const),
      new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 2_000)),
    ]);
    expect(outcome).toBe('stopped');
    expect(r.calls).toEqual(['stuck']); // queued work was abandoned
    r.release('stuck');
    await flush();
    expect(r.calls).toEqual(['stuck']);
  });
});

describe('Controller: metrics', () => {
  it('reports success, error and requeue under the controller name, and wires the workqueue', async () => {
    const { c, r, clock, m } = newController({ workers: 1 });
    r.outcome = (k, n) => {
      if (k === 'err' && n === 0) return new Error('x');
      if (k === 'req' && n === 0) return { requeueAfterMs: 10 };
      return undefined;
    };
    c.start();
    c.enqueue('ok');
    c.enqueue('err');
    c.enqueue('req');
    await flush();
    expect(m.results).toEqual(['success', 'error', 'requeue']);
    expect(m.kinds).toEqual(['unknown']); // a plain Error: nobody foresaw it
    await clock.advanceAsync(10);
    expect(m.results).toEqual(['success', 'error', 'requeue', 'success', 'success']);
    expect([...m.names]).toEqual(['widgets']);
    expect(m.queueNames).toEqual(['widgets']);
    expect(m.adds).toBe(5); // three enqueues, one retry, one requeue
    expect(m.retries).toBe(1);
  });
});
