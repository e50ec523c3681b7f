import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ResourceRef } from '../../../operator/src/api/constants.ts';
import type { ListOptions, WatchOptions } from '../../../operator/src/kube/client.ts';
import { FakeClock } from '../../../operator/src/kube/clock.ts';
import { ApiError, GoneError } from '../../../operator/src/kube/errors.ts';
import {
  Informer,
  stripForCache,
  type InformerMetrics,
  type InformerOptions,
  type ListWatchClient,
  type RelistReason,
} from '../../../operator/src/kube/informer.ts';
import {
  objectKey,
  type KubeList,
  type KubeObject,
  type WatchEvent,
  type WatchEventType,
} from '../../../operator/src/kube/types.ts';

// --- a scripted API server -------------------------------------------------------------------

interface Widget extends KubeObject {
  spec?: { size?: number; owner?: string };
}

const REF: ResourceRef = {
  group: 'example.com',
  version: 'v1',
  kind: 'Widget',
  plural: 'widgets',
  namespaced: true,
};

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** Lets every pending promise callback run (one macrotask turn drains the microtask queue). */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

type Scripted = { ev: WatchEvent<KubeObject> } | { end: true } | { err: Error };

/** One watch connection, driven by the test. It honours the AbortSignal like the real client. */
class FakeWatch {
  readonly opts: WatchOptions;
  /** The server accepted the watch (onOpen was called). */
  opened = false;
  /** The informer stopped reading it: ended, failed or aborted. */
  closed = false;
  aborted = false;
  readonly #script: Scripted[] = [];
  #wake: (() => void) | undefined;

  constructor(opts: WatchOptions) {
    this.opts = opts;
    opts.signal?.addEventListener('abort', () => (this.aborted = true), { once: true });
  }

  emit(type: WatchEventType, object: KubeObject): void {
    this.#push({ ev: { type, object: structuredClone(object) } });
  }

  end(): void {
    this.#push({ end: true });
  }

  fail(err: Error): void {
    this.#push({ err });
  }

  /** openError: thrown before the watch opens; 'hang': the server never answers. */
  async *events(
    openError: Error | 'hang' | undefined,
  ): AsyncGenerator<WatchEvent<KubeObject>, void, undefined> {
    const signal = this.opts.signal;
    try {
      await Promise.resolve();
      if (openError === 'hang') for (;;) await this.#waitForScript(signal);
      if (openError) throw openError;
      signal?.throwIfAborted();
      this.opened = true;
      this.opts.onOpen?.();
      for (;;) {
        const next = this.#script.shift();
        if (!next) {
          await this.#waitForScript(signal);
          continue;
        }
        if ('end' in next) return;
        if ('err' in next) throw next.err;
        yield next.ev;
      }
    } finally {
      this.closed = true;
    }
  }

  #push(item: Scripted): void {
    this.#script.push(item);
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #waitForScript(signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(new DOMException('aborted', 'AbortError'));
        return;
      }
      const onAbort = (): void => reject(new DOMException('aborted', 'AbortError'));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#wake = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
    });
  }
}

/** Implements only list and watch, over an in-memory set of objects. */
class FakeClient implements ListWatchClient {
  readonly objects = new Map<string, KubeObject>();
  rv = 100;
  readonly listCalls: Array<{ namespace: string | undefined; opts: ListOptions }> = [];
  /** Thrown by the next list calls, in order. */
  readonly listErrors: Error[] = [];
  /** While set, list calls wait for it. */
  listGate: Deferred | undefined;
  /** Thrown by the next watches before they open, in order ('hang': never opens). */
  readonly watchOpenErrors: Array<Error | 'hang'> = [];
  readonly watches: FakeWatch[] = [];
  readonly watchNamespaces: Array<string | undefined> = [];

  /** Creates or updates an object on the "server", bumping its resourceVersion. */
  put(obj: Widget): Widget {
    const stored: Widget = structuredClone({
      ...obj,
      metadata: { ...obj.metadata, resourceVersion: String(++this.rv) },
    });
    this.objects.set(objectKey(stored), stored);
    return structuredClone(stored);
  }

  /** Deletes an object; like the API server, the DELETED object carries the deletion's resourceVersion. */
  remove(key: string): Widget {
    const obj = this.objects.get(key);
    if (!obj) throw new Error(`no ${key}`);
    this.objects.delete(key);
    return structuredClone({ ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.rv) } });
  }

  get lastWatch(): FakeWatch {
    const w = this.watches.at(-1);
    if (!w) throw new Error('no watch opened');
    return w;
  }

  async list<T extends KubeObject>(
    _ref: ResourceRef,
    namespace: string | undefined,
    opts: ListOptions = {},
  ): Promise<KubeList<T>> {
    this.listCalls.push({ namespace, opts: { ...opts } });
    await Promise.resolve();
    if (this.listGate) await this.listGate.promise;
    const err = this.listErrors.shift();
    if (err) throw err;
    const all = [...this.objects.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, o]) => o);
    const start = opts.continue ? Number(opts.continue) : 0;
    const end = opts.limit ? start + opts.limit : all.length;
    const items = all.slice(start, end).map((o) => structuredClone(o) as T);
    return {
      metadata: { resourceVersion: String(this.rv), ...(end < all.length ? { continue: String(end) } : {}) },
      items,
    };
  }

  watch<T extends KubeObject>(
    _ref: ResourceRef,
    namespace: string | undefined,
    opts: WatchOptions = {},
  ): AsyncGenerator<WatchEvent<T>, void, undefined> {
    const w = new FakeWatch(opts);
    this.watches.push(w);
    this.watchNamespaces.push(namespace);
    return w.events(this.watchOpenErrors.shift()) as AsyncGenerator<WatchEvent<T>, void, undefined>;
  }
}

function widget(name: string, extra: Partial<Widget> = {}, namespace = 'default'): Widget {
  return {
    apiVersion: 'example.com/v1',
    kind: 'Widget',
    ...extra,
    metadata: { name, namespace, ...extra.metadata },
  };
}

// --- recorders -------------------------------------------------------------------------------

interface Recorded {
  metrics: InformerMetrics;
  events: string[];
  relists: RelistReason[];
  watchRestarts: number;
  cacheSizes: number[];
  resources: Set<string>;
}

function recordingMetrics(): Recorded {
  const r: Recorded = {
    events: [],
    relists: [],
    watchRestarts: 0,
    cacheSizes: [],
    resources: new Set(),
    metrics: {
      event: (resource, type) => {
        r.resources.add(resource);
        r.events.push(type);
      },
      relist: (resource, reason) => {
        r.resources.add(resource);
        r.relists.push(reason);
      },
      watchRestart: (resource) => {
        r.resources.add(resource);
        r.watchRestarts++;
      },
      cacheSize: (resource, n) => {
        r.resources.add(resource);
        r.cacheSizes.push(n);
      },
    },
  };
  return r;
}

/** Handler calls as short strings: "add a@101", "update a@101->a@102", "delete a@102". */
function recordHandlers(inf: Informer<Widget>): string[] {
  const calls: string[] = [];
  const tag = (o: Widget): string => `${o.metadata.name ?? '?'}@${o.metadata.resourceVersion ?? '?'}`;
  inf.addHandler({
    add: (o) => calls.push(`add ${tag(o)}`),
    update: (o, n) => calls.push(`update ${tag(o)}->${tag(n)}`),
    delete: (o) => calls.push(`delete ${tag(o)}`),
  });
  return calls;
}

const silent = pino({ level: 'silent' });
const running: Informer<Widget>[] = [];

interface Setup {
  client: FakeClient;
  clock: FakeClock;
  rec: Recorded;
  inf: Informer<Widget>;
}

function newInformer(client: FakeClient, opts: InformerOptions<Widget> = {}): Setup {
  const clock = new FakeClock(1_000_000);
  const rec = recordingMetrics();
  const inf = new Informer<Widget>(client, REF, { clock, logger: silent, metrics: rec.metrics, ...opts });
  running.push(inf);
  return { client, clock, rec, inf };
}

/** Starts an informer and lets its initial list and first watch happen. */
async function started(client = new FakeClient(), opts: InformerOptions<Widget> = {}): Promise<Setup> {
  const s = newInformer(client, opts);
  s.inf.start();
  await flush();
  return s;
}

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(running.splice(0).map((i) => i.stop()));
});

function keys(inf: Informer<Widget>): string[] {
  return inf
    .list()
    .map((o) => objectKey(o))
    .sort();
}

// --- tests -----------------------------------------------------------------------------------

describe('Informer: initial list and sync', () => {
  it('fills the cache from the initial list, then watches from the list resourceVersion', async () => {
    const client = new FakeClient();
    client.put(widget('a'));
    client.put(widget('b', {}, 'other'));
    const { inf, rec } = await started(client, {
      namespace: 'default',
      labelSelector: 'app=x',
      fieldSelector: 'metadata.name!=z',
    });

    expect(inf.hasSynced()).toBe(true);
    expect(keys(inf)).toEqual(['default/a', 'other/b']);
    expect(inf.size).toBe(2);
    expect(inf.get('default/a')?.metadata.resourceVersion).toBe('101');
    expect(inf.get('default/nope')).toBeUndefined();
    expect(inf.list('other').map((o) => o.metadata.name)).toEqual(['b']);
    expect(inf.lastResourceVersion).toBe('102');
    expect(inf.counters).toEqual({ lists: 1, watches: 1, events: 0 });

    expect(client.listCalls).toHaveLength(1);
    expect(client.listCalls[0]).toMatchObject({
      namespace: 'default',
      opts: { labelSelector: 'app=x', fieldSelector: 'metadata.name!=z', limit: 500 },
    });
    expect(client.watches).toHaveLength(1);
    expect(client.watchNamespaces).toEqual(['default']);
    const wopts = client.lastWatch.opts;
    expect(wopts).toMatchObject({
      resourceVersion: '102',
      labelSelector: 'app=x',
      fieldSelector: 'metadata.name!=z',
      allowWatchBookmarks: true,
    });
    expect(wopts.signal).toBeInstanceOf(AbortSignal);
    expect(rec.relists).toEqual(['initial']);
    expect(rec.watchRestarts).toBe(1);
    expect(rec.cacheSizes).toEqual([2]);
    expect([...rec.resources]).toEqual(['widgets']);
  });

  it('picks a server-side watch timeout between the configured bounds', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const { client } = await started(new FakeClient(), {
      minWatchTimeoutSeconds: 100,
      maxWatchTimeoutSeconds: 200,
    });
    expect(client.lastWatch.opts.timeoutSeconds).toBe(150);
  });

  it('follows continue tokens through a paginated list', async () => {
    const client = new FakeClient();
    for (const n of ['a', 'b', 'c', 'd', 'e']) client.put(widget(n));
    const { inf } = await started(client, { pageSize: 2 });
    expect(client.listCalls.map((c) => [c.opts.limit, c.opts.continue])).toEqual([
      [2, undefined],
      [2, '2'],
      [2, '4'],
    ]);
    expect(keys(inf)).toEqual(['default/a', 'default/b', 'default/c', 'default/d', 'default/e']);
    expect(inf.counters.lists).toBe(1);
  });

  it('hasSynced and waitForSync wait for the first successful list', async () => {
    const client = new FakeClient();
    client.put(widget('a'));
    client.listGate = deferred();
    const { inf } = newInformer(client);
    let synced = false;
    const waiting = inf.waitForSync().then(() => (synced = true));
    inf.start();
    await flush();
    expect(inf.hasSynced()).toBe(false);
    expect(synced).toBe(false);
    expect(inf.size).toBe(0);

    client.listGate.resolve();
    await waiting;
    expect(synced).toBe(true);
    expect(inf.hasSynced()).toBe(true);
    expect(inf.size).toBe(1);
    // Once synced, waitForSync resolves at once.
    await expect(inf.waitForSync()).resolves.toBeUndefined();
  });

  it('a failed initial list backs off and lists again (reason "error"); sync waits for success', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const client = new FakeClient();
    client.put(widget('a'));
    client.listErrors.push(new ApiError('LIST', '/x', 503, undefined));
    const { inf, clock, rec } = await started(client, { backoffInitialMs: 1_000 });
    expect(inf.hasSynced()).toBe(false);
    expect(client.watches).toHaveLength(0);
    expect(clock.nextTimerAt()! - clock.now()).toBe(500);

    await clock.advanceAsync(499);
    expect(client.listCalls).toHaveLength(1);
    await clock.advanceAsync(1);
    expect(client.listCalls).toHaveLength(2);
    expect(inf.hasSynced()).toBe(true);
    expect(keys(inf)).toEqual(['default/a']);
    expect(rec.relists).toEqual(['initial', 'error']);
    expect(client.watches).toHaveLength(1);
  });

  it('a handler added after sync hears about everything cached', async () => {
    const client = new FakeClient();
    client.put(widget('a'));
    client.put(widget('b'));
    const { inf } = await started(client);
    const calls = recordHandlers(inf);
    expect(calls.sort()).toEqual(['add a@101', 'add b@102']);
  });
});

describe('Informer: watch events', () => {
  it('ADDED, MODIFIED and DELETED update the cache and call handlers with (old, new)', async () => {
    const client = new FakeClient();
    client.put(widget('a'));
    const s = newInformer(client);
    const calls = recordHandlers(s.inf);
    s.inf.start();
    await flush();
    expect(calls).toEqual(['add a@101']);
    const w = client.lastWatch;
    const cachedA = s.inf.get('default/a');

    w.emit('ADDED', client.put(widget('b', { spec: { size: 1 } })));
    await flush();
    expect(s.inf.get('default/b')?.spec?.size).toBe(1);

    const seenOld: Widget[] = [];
    s.inf.addHandler({ update: (o) => seenOld.push(o) });
    w.emit('MODIFIED', client.put(widget('a', { spec: { size: 2 } })));
    await flush();
    expect(s.inf.get('default/a')?.spec?.size).toBe(2);
    expect(seenOld[0]).toBe(cachedA); // the old object is exactly what was cached

    w.emit('DELETED', client.remove('default/b'));
    await flush();
    expect(s.inf.get('default/b')).toBeUndefined();

    expect(calls).toEqual(['add a@101', 'add b@102', 'update a@101->a@103', 'delete b@104']);
    expect(s.inf.lastResourceVersion).toBe('104');
    expect(s.inf.counters.events).toBe(3);
    expect(s.rec.events).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
    expect(s.rec.cacheSizes).toEqual([1, 2, 2, 1]);
  });

  it('an ADDED event for a cached key is an update, a MODIFIED for an unknown key an add', async () => {
    const client = new FakeClient();
    client.put(widget('a'));
    const s = await started(client);
    const calls = recordHandlers(s.inf);
    calls.length = 0;
    s.client.lastWatch.emit('ADDED', client.put(widget('a')));
    s.client.lastWatch.emit('MODIFIED', client.put(widget('n')));
    await flush();
    expect(calls).toEqual(['update a@101->a@102', 'add n@103']);
    expect(s.inf.lastResourceVersion).toBe('103');
  });

  it('BOOKMARK only moves the resourceVersion', async () => {
    const client = new FakeClient();
    client.put(widget('a'));
    const s = await started(client);
    const calls = recordHandlers(s.inf);
    calls.length = 0;
    const before = s.inf.get('default/a');

    s.client.lastWatch.emit('BOOKMARK', { metadata: { resourceVersion: '500' } });
    await flush();
    expect(s.inf.lastResourceVersion).toBe('500');
    expect(calls).toEqual([]);
    expect(s.inf.get('default/a')).toBe(before);
    expect(s.inf.size).toBe(1);
    expect(s.inf.counters.events).toBe(0);
    expect(s.rec.events).toEqual([]);

    // ... and the next watch resumes from it.
    s.client.lastWatch.end();
    await flush();
    expect(s.client.watches.map((w) => w.opts.resourceVersion)).toEqual(['101', '500']);
  });

  it('a watch that ends normally is resumed from the last resourceVersion, without a relist', async () => {
    const client = new FakeClient();
    client.put(widget('a'));
    const s = await started(client);
    const calls = recordHandlers(s.inf);
    calls.length = 0;
    const w1 = client.lastWatch;
    w1.emit('MODIFIED', client.put(widget('a', { spec: { size: 5 } })));
    w1.end();
    await flush();

    expect(w1.closed).toBe(true);
    expect(client.watches).toHaveLength(2);
    expect(client.watches[1]!.opts.resourceVersion).toBe('102');
    expect(client.listCalls).toHaveLength(1);
    expect(s.inf.counters).toEqual({ lists: 1, watches: 2, events: 1 });
    expect(s.rec.relists).toEqual(['initial']);
    expect(s.rec.watchRestarts).toBe(2);
    expect(calls).toEqual(['update a@101->a@102']);
    // No backoff: nothing but the new watch's watchdog is pending.
    expect(s.clock.pendingTimers()).toBe(1);
  });
});

describe('Informer: 410 Gone', () => {
  it('relists at once and notifies only real differences', async () => {
    const client = new FakeClient();
    client.put(widget('same')); // 101
    client.put(widget('changed')); // 102
    client.put(widget('gone')); // 103
    const s = await started(client);
    const calls = recordHandlers(s.inf);
    calls.length = 0;
    const sameBefore = s.inf.get('default/same');

    // Changes the informer never heard of (compacted away).
    client.put(widget('changed', { spec: { size: 9 } })); // 104
    client.remove('default/gone'); // 105
    client.put(widget('new')); // 106
    client.lastWatch.fail(new GoneError('too old resource version'));
    await flush();

    expect(s.inf.counters.lists).toBe(2);
    expect(s.rec.relists).toEqual(['initial', 'gone']);
    expect(calls.sort()).toEqual(['add new@106', 'delete gone@103', 'update changed@102->changed@104']);
    expect(keys(s.inf)).toEqual(['default/changed', 'default/new', 'default/same']);
    // An unchanged object keeps its cached identity.
    expect(s.inf.get('default/same')).toBe(sameBefore);
    expect(s.inf.get('default/gone')).toBeUndefined();
    expect(s.inf.lastResourceVersion).toBe('106');
    expect(client.watches).toHaveLength(2);
    expect(client.watches[1]!.opts.resourceVersion).toBe('106');
    // No backoff sleep: the new watch opened without time moving.
    expect(s.clock.now()).toBe(1_000_000);
    expect(s.rec.cacheSizes.at(-1)).toBe(3);
  });

  it('a relist with nothing changed calls no handler', async () => {
    const client = new FakeClient();
    client.put(widget('a'));
    client.put(widget('b'));
    const s = await started(client);
    const calls = recordHandlers(s.inf);
    calls.length = 0;
    client.lastWatch.fail(new GoneError('gone'));
    await flush();
    expect(s.inf.counters.lists).toBe(2);
    expect(calls).toEqual([]);
  });

  it('a 410 ApiError when the watch opens relists too', async () => {
    const client = new FakeClient();
    client.put(widget('a'));
    const s = await started(client);
    client.watchOpenErrors.push(new ApiError('WATCH', '/apis/example.com/v1/widgets', 410, undefined));
    client.lastWatch.end();
    await flush();
    await s.clock.advanceAsync(1_000); // an empty watch that ended at once is resumed after 1 s
    expect(s.rec.relists).toEqual(['initial', 'gone']);
    expect(client.watches).toHaveLength(3);
    expect(client.lastWatch.opened).toBe(true);
  });
});

describe('Informer: errors and backoff', () => {
  it('backs off exponentially up to the cap and resumes from the resourceVersion without relisting', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0); // jitter factor 0.5
    const client = new FakeClient();
    client.put(widget('a'));
    const s = await started(client, { backoffInitialMs: 1_000, backoffMaxMs: 8_000 });
    const boom = (): ApiError => new ApiError('WATCH', '/apis/example.com/v1/widgets', 503, undefined);
    client.watchOpenErrors.push(boom(), boom(), boom(), boom(), boom());
    client.lastWatch.fail(new Error('connection reset'));

    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      await flush();
      expect(s.clock.pendingTimers()).toBe(1); // only the backoff sleep
      const delay = s.clock.nextTimerAt()! - s.clock.now();
      delays.push(delay);
      await s.clock.advanceAsync(delay - 1);
      expect(client.watches).toHaveLength(i + 1); // not a millisecond early
      await s.clock.advanceAsync(1);
    }
    expect(delays).toEqual([500, 1_000, 2_000, 4_000, 4_000, 4_000]);
    expect(client.watches).toHaveLength(7);
    expect(client.lastWatch.opened).toBe(true);
    expect(client.watches.map((w) => w.opts.resourceVersion)).toEqual(Array(7).fill('101'));
    expect(client.listCalls).toHaveLength(1);
    expect(s.rec.relists).toEqual(['initial']);
    expect(s.inf.get('default/a')).toBeDefined();
  });

  it('jitters each delay into [base/2, base]', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999999);
    const s = await started(new FakeClient(), { backoffInitialMs: 1_000 });
    s.client.lastWatch.fail(new Error('reset'));
    await flush();
    expect(s.clock.nextTimerAt()! - s.clock.now()).toBe(1_000);
  });

  it('a watch that was open for 5 s or more starts a fresh backoff', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const s = await started(new FakeClient(), { backoffInitialMs: 1_000, backoffMaxMs: 60_000 });
    const delayAfterFailure = async (openForMs: number): Promise<number> => {
      const w = s.client.lastWatch;
      expect(w.opened).toBe(true);
      await s.clock.advanceAsync(openForMs);
      w.fail(new Error('reset'));
      await flush();
      const delay = s.clock.nextTimerAt()! - s.clock.now();
      await s.clock.advanceAsync(delay);
      return delay;
    };
    expect(await delayAfterFailure(0)).toBe(500);
    expect(await delayAfterFailure(0)).toBe(1_000);
    expect(await delayAfterFailure(4_999)).toBe(2_000); // not healthy yet: keeps growing
    expect(await delayAfterFailure(5_000)).toBe(500); // healthy: a new incident
    expect(await delayAfterFailure(0)).toBe(1_000);
    expect(s.rec.relists).toEqual(['initial']);
  });

  it('a successful watch resets the failure count', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const s = await started(new FakeClient(), { backoffInitialMs: 1_000 });
    s.client.lastWatch.fail(new Error('reset'));
    await flush();
    await s.clock.advanceAsync(500);
    s.client.lastWatch.fail(new Error('reset'));
    await flush();
    expect(s.clock.nextTimerAt()! - s.clock.now()).toBe(1_000);
    await s.clock.advanceAsync(1_000);
    s.client.lastWatch.end(); // ends normally
    await flush();
    await s.clock.advanceAsync(1_000); // (empty and instant: resumed after the anti-spin delay)
    s.client.lastWatch.fail(new Error('reset'));
    await flush();
    expect(s.clock.nextTimerAt()! - s.clock.now()).toBe(500);
  });
});

describe('Informer: watches that end at once', () => {
  it('does not spin on a server that ends every watch immediately with nothing in it', async () => {
    const client = new FakeClient();
    const s = await started(client);
    const before = client.watches.length;
    client.lastWatch.end();
    await flush();
    await s.clock.advanceAsync(999);
    expect(client.watches.length).toBe(before); // still waiting
    await s.clock.advanceAsync(1);
    await flush();
    expect(client.watches.length).toBe(before + 1);
    expect(s.inf.counters.lists).toBe(1); // resumed, not relisted
  });
});

describe('Informer: watchdog', () => {
  it('aborts a silent watch after watchdogMs and relists with reason "watchdog"', async () => {
    const client = new FakeClient();
    client.put(widget('a'));
    const s = await started(client, { watchdogMs: 10_000 });
    const calls = recordHandlers(s.inf);
    calls.length = 0;
    const w1 = client.lastWatch;

    await s.clock.advanceAsync(9_999);
    expect(w1.aborted).toBe(false);
    expect(s.inf.counters.lists).toBe(1);

    // A change the half-open connection never delivered.
    client.put(widget('a', { spec: { size: 3 } }));
    await s.clock.advanceAsync(1);
    expect(w1.aborted).toBe(true);
    expect(w1.closed).toBe(true);
    expect(s.rec.relists).toEqual(['initial', 'watchdog']);
    expect(s.inf.counters).toMatchObject({ lists: 2, watches: 2 });
    expect(calls).toEqual(['update a@101->a@102']);
    expect(client.lastWatch.opts.resourceVersion).toBe('102');
    expect(client.lastWatch.aborted).toBe(false);
  });

  it('fires watchdogMs after the last event, not later', async () => {
    const s = await started(new FakeClient(), { watchdogMs: 10_000 });
    const w1 = s.client.lastWatch;
    await s.clock.advanceAsync(6_000);
    w1.emit('ADDED', s.client.put(widget('a')));
    await s.clock.advanceAsync(4_000); // 10 s after the watch opened, 4 s after the event
    expect(w1.aborted).toBe(false);
    await s.clock.advanceAsync(5_999);
    expect(w1.aborted).toBe(false);
    expect(s.rec.relists).toEqual(['initial']);
    await s.clock.advanceAsync(1); // exactly 10 s of silence
    expect(w1.aborted).toBe(true);
    expect(s.rec.relists).toEqual(['initial', 'watchdog']);
  });

  it('bookmarks count as life', async () => {
    const s = await started(new FakeClient(), { watchdogMs: 10_000 });
    const w1 = s.client.lastWatch;
    for (let i = 0; i < 5; i++) {
      await s.clock.advanceAsync(8_000);
      w1.emit('BOOKMARK', { metadata: { resourceVersion: String(200 + i) } });
    }
    await s.clock.advanceAsync(9_999);
    expect(w1.aborted).toBe(false);
    expect(s.inf.lastResourceVersion).toBe('204');
    await s.clock.advanceAsync(1);
    expect(w1.aborted).toBe(true);
    expect(s.rec.relists).toEqual(['initial', 'watchdog']);
  });

  it('aborts a watch that never opens', async () => {
    const client = new FakeClient();
    client.watchOpenErrors.push('hang');
    const s = await started(client, { watchdogMs: 10_000 });
    const w1 = client.lastWatch;
    await s.clock.advanceAsync(9_999);
    expect(w1.opened).toBe(false);
    expect(w1.closed).toBe(false);
    await s.clock.advanceAsync(1);
    expect(w1.aborted).toBe(true);
    expect(w1.closed).toBe(true);
    expect(s.rec.relists).toEqual(['initial', 'watchdog']);
    expect(client.lastWatch.opened).toBe(true);
  });

  it('clears its timer when the watch ends', async () => {
    const s = await started(new FakeClient(), { watchdogMs: 10_000 });
    await s.clock.advanceAsync(3_000);
    s.client.lastWatch.end();
    await flush();
    expect(s.clock.pendingTimers()).toBe(1);
    expect(s.clock.nextTimerAt()).toBe(s.clock.now() + 10_000);
  });
});

describe('Informer: cached objects', () => {
  it('transform: stripForCache drops managedFields and the last-applied annotation', async () => {
    const client = new FakeClient();
    client.put({
      metadata: {
        name: 'a',
        namespace: 'default',
        managedFields: [{ manager: 'kubectl' }],
        annotations: { [LAST_APPLIED]: '{"big":"json"}', keep: 'me' },
        labels: { app: 'x' },
      },
      spec: { size: 1 },
    });
    const s = await started(client, { transform: stripForCache });
    const a = s.inf.get('default/a')!;
    expect(a.metadata.managedFields).toBeUndefined();
    expect('managedFields' in a.metadata).toBe(false);
    expect(a.metadata.annotations).toEqual({ keep: 'me' });
    expect(a.metadata.labels).toEqual({ app: 'x' });
    expect(a.spec).toEqual({ size: 1 });

    // Watch events go through the transform too.
    s.client.lastWatch.emit(
      'ADDED',
      client.put({
        metadata: {
          name: 'b',
          namespace: 'default',
          managedFields: [{}],
          annotations: { [LAST_APPLIED]: '{}' },
        },
      }),
    );
    await flush();
    const b = s.inf.get('default/b')!;
    expect(b.metadata.managedFields).toBeUndefined();
    expect(b.metadata.annotations?.[LAST_APPLIED]).toBeUndefined();
    expect(b.metadata.resourceVersion).toBe('102');
  });

  it('stripForCache returns objects with nothing to strip unchanged', () => {
    const o: Widget = { metadata: { name: 'a', annotations: { x: 'y' } } };
    expect(stripForCache(o)).toBe(o);
    const m: Widget = { metadata: { name: 'a', managedFields: [{}] } };
    const stripped = stripForCache(m);
    expect(stripped).not.toBe(m);
    expect(stripped).toEqual({ metadata: { name: 'a' } });
    expect(m.metadata.managedFields).toHaveLength(1); // the input is not mutated
  });

  it('cached objects are deeply frozen: mutating one throws', async () => {
    const client = new FakeClient();
    client.put(widget('a', { spec: { size: 1 } }));
    const s = await started(client);
    const seen: Widget[] = [];
    s.inf.addHandler({ add: (o) => seen.push(o) });
    const a = s.inf.get('default/a')!;
    expect(Object.isFrozen(a)).toBe(true);
    expect(() => {
      a.metadata.name = 'b';
    }).toThrow(TypeError);
    expect(() => {
      a.spec!.size = 2;
    }).toThrow(TypeError);
    expect(() => {
      a.metadata.labels = {};
    }).toThrow(TypeError);
    expect(a.spec?.size).toBe(1);

    s.client.lastWatch.emit('ADDED', client.put(widget('b', { metadata: { labels: { x: 'y' } } })));
    await flush();
    expect(Object.isFrozen(seen.at(-1)!.metadata.labels)).toBe(true);
  });

  it('freeze: false leaves cached objects mutable', async () => {
    const client = new FakeClient();
    client.put(widget('a', { spec: { size: 1 } }));
    const s = await started(client, { freeze: false });
    const a = s.inf.get('default/a')!;
    expect(Object.isFrozen(a)).toBe(false);
    a.spec!.size = 2;
    expect(s.inf.get('default/a')?.spec?.size).toBe(2);
  });
});

describe('Informer: indexes', () => {
  const byOwner = (o: Widget): readonly string[] => (o.spec?.owner ? [o.spec.owner] : []);

  it('stay correct through adds, updates, deletes and relists', async () => {
    const client = new FakeClient();
    client.put(widget('a', { spec: { owner: 'x' } }));
    client.put(widget('b', { spec: { owner: 'x' } }));
    client.put(widget('c', { spec: { owner: 'y' } }));
    const s = newInformer(client);
    s.inf.addIndex('owner', byOwner);
    s.inf.addIndex('all', (o) => [o.metadata.namespace ?? '', `name:${o.metadata.name ?? ''}`]);
    s.inf.start();
    await flush();
    const names = (v: string, idx = 'owner'): string[] =>
      s.inf
        .byIndex(idx, v)
        .map((o) => o.metadata.name ?? '')
        .sort();

    expect(names('x')).toEqual(['a', 'b']);
    expect(names('y')).toEqual(['c']);
    expect(names('z')).toEqual([]);
    expect(names('default', 'all')).toEqual(['a', 'b', 'c']);
    expect(s.inf.byIndex('no-such-index', 'x')).toEqual([]);

    const w = client.lastWatch;
    w.emit('MODIFIED', client.put(widget('a', { spec: { owner: 'y' } }))); // moves x -> y
    w.emit('DELETED', client.remove('default/b'));
    w.emit('ADDED', client.put(widget('d', { spec: { owner: 'z' } })));
    w.emit('MODIFIED', client.put(widget('c', {}))); // no owner any more
    await flush();
    expect(names('x')).toEqual([]);
    expect(names('y')).toEqual(['a']);
    expect(names('z')).toEqual(['d']);
    expect(names('name:b', 'all')).toEqual([]);
    expect(names('default', 'all')).toEqual(['a', 'c', 'd']);

    // The index holds the current object, not a stale one.
    expect(s.inf.byIndex('owner', 'y')[0]).toBe(s.inf.get('default/a'));

    // A relist that drops and changes objects keeps the index in step.
    client.remove('default/d');
    client.put(widget('c', { spec: { owner: 'z' } }));
    w.fail(new GoneError('gone'));
    await flush();
    expect(names('z')).toEqual(['c']);
    expect(names('y')).toEqual(['a']);
    expect(names('default', 'all')).toEqual(['a', 'c']);
  });

  it('cannot be added once objects are cached', async () => {
    const client = new FakeClient();
    client.put(widget('a'));
    const s = await started(client);
    expect(() => s.inf.addIndex('owner', byOwner)).toThrow(/before the informer starts/);
  });
});

describe('Informer: robustness and lifecycle', () => {
  it('a throwing handler neither stops other handlers nor the informer', async () => {
    const client = new FakeClient();
    client.put(widget('a'));
    const s = newInformer(client);
    let thrown = 0;
    s.inf.addHandler({
      add: () => {
        thrown++;
        throw new Error('handler bug');
      },
      update: () => {
        thrown++;
        throw new Error('handler bug');
      },
    });
    const calls = recordHandlers(s.inf);
    s.inf.start();
    await flush();
    expect(s.inf.hasSynced()).toBe(true);
    const w = client.lastWatch;
    w.emit('ADDED', client.put(widget('b')));
    w.emit('MODIFIED', client.put(widget('a', { spec: { size: 1 } })));
    await flush();
    expect(thrown).toBe(3);
    expect(calls).toEqual(['add a@101', 'add b@102', 'update a@101->a@103']);
    expect(s.inf.get('default/a')?.spec?.size).toBe(1);
    expect(client.watches).toHaveLength(1); // the watch was not torn down
    expect(s.inf.lastResourceVersion).toBe('103');
  });

  it('stop() aborts an open watch and ends the loop', async () => {
    const s = await started(new FakeClient());
    const w = s.client.lastWatch;
    await s.inf.stop();
    expect(w.aborted).toBe(true);
    expect(w.closed).toBe(true);
    expect(s.client.watches).toHaveLength(1);
    expect(s.clock.pendingTimers()).toBe(0);
    await s.clock.advanceAsync(1_000_000);
    expect(s.client.watches).toHaveLength(1);
    expect(s.client.listCalls).toHaveLength(1);
  });

  it('stop() ends the loop during a backoff sleep without waiting it out', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const s = await started(new FakeClient(), { backoffInitialMs: 60_000, backoffMaxMs: 120_000 });
    s.client.lastWatch.fail(new Error('reset'));
    await flush();
    expect(s.clock.nextTimerAt()! - s.clock.now()).toBe(30_000);
    let stopped = false;
    const stopping = s.inf.stop().then(() => (stopped = true));
    await flush();
    expect(stopped).toBe(true);
    await stopping;
    expect(s.clock.now()).toBe(1_000_000);
    expect(s.clock.pendingTimers()).toBe(0);
    await s.clock.advanceAsync(60_000);
    expect(s.client.watches).toHaveLength(1);
  });

  it('stop() before start() and a second start() are harmless', async () => {
    const client = new FakeClient();
    const s = newInformer(client);
    s.inf.start();
    s.inf.start();
    await flush();
    expect(client.listCalls).toHaveLength(1);
    expect(client.watches).toHaveLength(1);

    const other = newInformer(new FakeClient());
    await other.inf.stop();
    other.inf.start();
    await flush();
    expect(other.client.listCalls).toHaveLength(0);
  });

  it('reports metrics with the right reasons across a whole life', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const client = new FakeClient();
    client.listErrors.push(new Error('refused'));
    const s = await started(client, { watchdogMs: 100_000, backoffInitialMs: 10 });
    await s.clock.advanceAsync(5); // retry of the failed initial list
    expect(s.rec.relists).toEqual(['initial', 'error']);
    client.lastWatch.emit('ADDED', client.put(widget('a')));
    client.lastWatch.emit('BOOKMARK', { metadata: { resourceVersion: '300' } });
    client.lastWatch.emit('DELETED', client.remove('default/a'));
    client.lastWatch.fail(new GoneError('gone'));
    await flush();
    await s.clock.advanceAsync(100_000);
    expect(s.rec.relists).toEqual(['initial', 'error', 'gone', 'watchdog']);
    expect(s.rec.events).toEqual(['ADDED', 'DELETED']);
    expect(s.rec.watchRestarts).toBe(3);
    expect(s.rec.cacheSizes).toEqual([0, 1, 0, 0, 0]);
    expect([...s.rec.resources]).toEqual(['widgets']);
  });
});
