// An informer scoped to several namespaces (or to cluster-scoped objects by name) runs one list +
// watch per scope, as the namespaced install mode's RBAC requires, and still looks like one
// informer: one cache, indexes across scopes, sync only when every scope has listed.
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ResourceRef } from '../../../operator/src/api/constants.ts';
import type { ListOptions, WatchOptions } from '../../../operator/src/kube/client.ts';
import { FakeClock } from '../../../operator/src/kube/clock.ts';
import { ApiError, GoneError } from '../../../operator/src/kube/errors.ts';
import { Informer, type InformerOptions, type ListWatchClient } from '../../../operator/src/kube/informer.ts';
import {
  objectKey,
  type KubeList,
  type KubeObject,
  type WatchEvent,
} from '../../../operator/src/kube/types.ts';

interface Widget extends KubeObject {
  spec?: { owner?: string };
}

const WIDGETS: ResourceRef = {
  group: 'example.com',
  version: 'v1',
  kind: 'Widget',
  plural: 'widgets',
  namespaced: true,
};
const REALMS: ResourceRef = {
  group: 'example.com',
  version: 'v1',
  kind: 'Realm',
  plural: 'realms',
  namespaced: false,
};

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** One watch: events pushed by the test, ended by abort (as the real client does). */
class ScriptedWatch {
  readonly namespace: string | undefined;
  readonly opts: WatchOptions;
  aborted = false;
  private readonly queue: Array<WatchEvent<KubeObject> | Error> = [];
  private wake: (() => void) | undefined;

  constructor(namespace: string | undefined, opts: WatchOptions) {
    this.namespace = namespace;
    this.opts = opts;
    opts.signal?.addEventListener('abort', () => {
      this.aborted = true;
      this.wake?.();
    });
  }

  push(item: WatchEvent<KubeObject> | Error): void {
    this.queue.push(item);
    this.wake?.();
  }

  async *events(): AsyncGenerator<WatchEvent<KubeObject>, void, undefined> {
    await Promise.resolve();
    this.opts.onOpen?.();
    for (;;) {
      if (this.aborted) throw new DOMException('aborted', 'AbortError');
      const next = this.queue.shift();
      if (next === undefined) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      if (next instanceof Error) throw next;
      yield next;
    }
  }
}

/** An API server for one resource that honours the namespace and a metadata.name field selector. */
class ScopedServer implements ListWatchClient {
  readonly objects = new Map<string, Widget>();
  rv = 100;
  readonly lists: Array<{ namespace: string | undefined; fieldSelector: string | undefined }> = [];
  readonly watches: ScriptedWatch[] = [];
  /** Lists in these namespaces are refused with 403 (no Role there). */
  readonly forbidden = new Set<string>();

  put(obj: Widget): Widget {
    const stored = structuredClone({
      ...obj,
      metadata: { ...obj.metadata, resourceVersion: String(++this.rv) },
    });
    this.objects.set(objectKey(stored), stored);
    return structuredClone(stored);
  }

  remove(key: string): Widget {
    const obj = this.objects.get(key);
    if (!obj) throw new Error(`no ${key}`);
    this.objects.delete(key);
    return structuredClone({ ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.rv) } });
  }

  watchOf(namespace: string | undefined, fieldSelector?: string): ScriptedWatch {
    const w = this.watches.findLast(
      (x) =>
        x.namespace === namespace && (fieldSelector === undefined || x.opts.fieldSelector === fieldSelector),
    );
    if (!w) throw new Error(`no watch for ${namespace ?? '(all)'} ${fieldSelector ?? ''}`);
    return w;
  }

  async list<T extends KubeObject>(
    _ref: ResourceRef,
    namespace: string | undefined,
    opts: ListOptions = {},
  ): Promise<KubeList<T>> {
    this.lists.push({ namespace, fieldSelector: opts.fieldSelector });
    await Promise.resolve();
    if (namespace !== undefined && this.forbidden.has(namespace)) {
      throw new ApiError('LIST', `/namespaces/${namespace}/widgets`, 403, { reason: 'Forbidden' });
    }
    const name = /(?:^|,)metadata\.name=([^,]+)/.exec(opts.fieldSelector ?? '')?.[1];
    const items = [...this.objects.values()]
      .filter((o) => namespace === undefined || o.metadata.namespace === namespace)
      .filter((o) => name === undefined || o.metadata.name === name)
      .map((o) => structuredClone(o) as T);
    return { metadata: { resourceVersion: String(this.rv) }, items };
  }

  watch<T extends KubeObject>(
    _ref: ResourceRef,
    namespace: string | undefined,
    opts: WatchOptions = {},
  ): AsyncGenerator<WatchEvent<T>, void, undefined> {
    const w = new ScriptedWatch(namespace, opts);
    this.watches.push(w);
    return w.events() as AsyncGenerator<WatchEvent<T>, void, undefined>;
  }
}

function widget(namespace: string | undefined, name: string, owner?: string): Widget {
  return {
    apiVersion: 'example.com/v1',
    kind: 'Widget',
    metadata: { name, ...(namespace ? { namespace } : {}) },
    ...(owner ? { spec: { owner } } : {}),
  };
}

const silent = pino({ level: 'silent' });
const running: Informer<Widget>[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(running.splice(0).map((i) => i.stop()));
});

function informer(
  server: ScopedServer,
  ref: ResourceRef,
  opts: InformerOptions<Widget>,
): { inf: Informer<Widget>; clock: FakeClock } {
  const clock = new FakeClock(1_000_000);
  const inf = new Informer<Widget>(server, ref, { clock, logger: silent, ...opts });
  running.push(inf);
  return { inf, clock };
}

const keys = (inf: Informer<Widget>): string[] =>
  inf
    .list()
    .map((o) => objectKey(o))
    .sort();

describe('Informer over several namespaces', () => {
  it('lists and watches each namespace on its own and serves them as one cache', async () => {
    const server = new ScopedServer();
    server.put(widget('a', 'w1', 'x'));
    server.put(widget('b', 'w2', 'x'));
    server.put(widget('c', 'w3', 'x')); // not served
    const { inf } = informer(server, WIDGETS, { namespaces: ['a', 'b'], labelSelector: 'app=x' });
    inf.addIndex('owner', (o) => (o.spec?.owner ? [o.spec.owner] : []));
    inf.start();
    await inf.waitForSync();
    await flush();

    expect(server.lists.map((l) => l.namespace).sort()).toEqual(['a', 'b']);
    expect(server.watches.map((w) => w.namespace).sort()).toEqual(['a', 'b']);
    expect(server.watches.every((w) => w.opts.labelSelector === 'app=x')).toBe(true);
    expect(keys(inf)).toEqual(['a/w1', 'b/w2']);
    expect(inf.list('b').map((o) => o.metadata.name)).toEqual(['w2']);
    expect(inf.get('c/w3')).toBeUndefined();
    // Indexes span namespaces.
    expect(
      inf
        .byIndex('owner', 'x')
        .map((o) => objectKey(o))
        .sort(),
    ).toEqual(['a/w1', 'b/w2']);
    expect(inf.counters).toEqual({ lists: 2, watches: 2, events: 0 });

    // An event in one namespace reaches the same cache, handlers and indexes.
    const calls: string[] = [];
    inf.addHandler({ add: (o) => calls.push(`add ${objectKey(o)}`) });
    calls.length = 0;
    server.watchOf('b').push({ type: 'ADDED', object: server.put(widget('b', 'w4', 'x')) });
    await flush();
    expect(calls).toEqual(['add b/w4']);
    expect(inf.byIndex('owner', 'x')).toHaveLength(3);
  });

  it('is synced only when every namespace has listed; /readyz can name the ones still missing', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const server = new ScopedServer();
    server.put(widget('a', 'w1'));
    server.forbidden.add('b');
    const { inf, clock } = informer(server, WIDGETS, { namespaces: ['a', 'b'], backoffInitialMs: 1_000 });
    let synced = false;
    void inf.waitForSync().then(() => (synced = true));
    inf.start();
    await flush();

    expect(inf.hasSynced()).toBe(false);
    expect(synced).toBe(false);
    expect(inf.unsyncedScopes()).toEqual(['b']);
    // What namespace a has is served meanwhile, and a handler added now still hears about it.
    expect(keys(inf)).toEqual(['a/w1']);
    const added: string[] = [];
    inf.addHandler({ add: (o) => added.push(objectKey(o)) });
    expect(added).toEqual(['a/w1']);

    // The Role appears; the retry after the backoff lists b.
    server.forbidden.delete('b');
    server.put(widget('b', 'w2'));
    await clock.advanceAsync(500);
    expect(inf.hasSynced()).toBe(true);
    expect(synced).toBe(true);
    expect(inf.unsyncedScopes()).toEqual([]);
    expect(keys(inf)).toEqual(['a/w1', 'b/w2']);
    expect(added).toEqual(['a/w1', 'b/w2']);
  });

  it("a relist of one namespace (410 Gone) touches only that namespace's objects", async () => {
    const server = new ScopedServer();
    server.put(widget('a', 'keep'));
    server.put(widget('b', 'gone'));
    server.put(widget('b', 'stays'));
    const { inf } = informer(server, WIDGETS, { namespaces: ['a', 'b'] });
    inf.start();
    await inf.waitForSync();
    await flush();
    const calls: string[] = [];
    inf.addHandler({
      add: (o) => calls.push(`add ${objectKey(o)}`),
      delete: (o) => calls.push(`delete ${objectKey(o)}`),
    });
    calls.length = 0;

    server.remove('b/gone');
    server.put(widget('b', 'new'));
    server.watchOf('b').push(new GoneError('too old resource version'));
    await flush();

    expect(calls.sort()).toEqual(['add b/new', 'delete b/gone']);
    expect(keys(inf)).toEqual(['a/keep', 'b/new', 'b/stays']);
    expect(server.lists.filter((l) => l.namespace === 'a')).toHaveLength(1);
  });

  it('keeps a resourceVersion per namespace', async () => {
    const server = new ScopedServer();
    const { inf } = informer(server, WIDGETS, { namespaces: ['a', 'b'] });
    inf.start();
    await inf.waitForSync();
    await flush();
    server.watchOf('a').push({ type: 'ADDED', object: server.put(widget('a', 'w1')) });
    server.watchOf('b').push({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '90' } } });
    await flush();

    expect(inf.lastResourceVersionFor('a/w1')).toBe('101');
    expect(inf.lastResourceVersionFor('b/anything')).toBe('90');
    expect(inf.lastResourceVersionFor('c/elsewhere')).toBe('');
    // No single position describes two watches.
    expect(inf.lastResourceVersion).toBe('');
  });

  it('stop() ends every namespace’s watch', async () => {
    const server = new ScopedServer();
    const { inf, clock } = informer(server, WIDGETS, { namespaces: ['a', 'b', 'c'] });
    inf.start();
    await inf.waitForSync();
    await flush();
    await inf.stop();
    expect(server.watches.map((w) => w.aborted)).toEqual([true, true, true]);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('namespace alone still means one namespace, duplicates in namespaces mean one watch', async () => {
    const server = new ScopedServer();
    const one = informer(server, WIDGETS, { namespace: 'a' }).inf;
    const dup = informer(server, WIDGETS, { namespaces: ['b', 'b'] }).inf;
    one.start();
    dup.start();
    await Promise.all([one.waitForSync(), dup.waitForSync()]);
    expect(server.lists.map((l) => l.namespace).sort()).toEqual(['a', 'b']);
  });
});

describe('Informer over cluster-scoped objects by name', () => {
  it('lists and watches each name with a metadata.name field selector, added to its own', async () => {
    const server = new ScopedServer();
    server.put(widget(undefined, 'team-a'));
    server.put(widget(undefined, 'team-b'));
    server.put(widget(undefined, 'kube-system'));
    const { inf } = informer(server, REALMS, { names: ['team-a', 'team-b'], fieldSelector: 'status.x=y' });
    inf.start();
    await inf.waitForSync();
    await flush();

    expect(server.lists.map((l) => [l.namespace, l.fieldSelector]).sort()).toEqual([
      [undefined, 'metadata.name=team-a,status.x=y'],
      [undefined, 'metadata.name=team-b,status.x=y'],
    ]);
    expect(server.watches.map((w) => w.opts.fieldSelector).sort()).toEqual([
      'metadata.name=team-a,status.x=y',
      'metadata.name=team-b,status.x=y',
    ]);
    expect(keys(inf)).toEqual(['team-a', 'team-b']);
    expect(inf.lastResourceVersionFor('team-b')).toBe('103');

    // A relist of one name leaves the other alone.
    server.remove('team-b');
    server.watchOf(undefined, 'metadata.name=team-b,status.x=y').push(new GoneError('gone'));
    await flush();
    expect(keys(inf)).toEqual(['team-a']);
  });

  it('refuses to be scoped by namespaces and names at once', () => {
    expect(
      () => new Informer<Widget>(new ScopedServer(), WIDGETS, { namespaces: ['a'], names: ['x'] }),
    ).toThrow(/namespaces or by names, not both/);
  });
});
