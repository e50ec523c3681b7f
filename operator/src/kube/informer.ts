// A shared informer: list + watch one resource into a local cache and tell
// handlers what changed. Reconcilers read from this cache, never from the API,
// in steady state.
//
// Watch hygiene (docs/design.md, "The reconcile chain"), modelled on client-go's reflector:
// - a watch that ends normally is resumed from the last resourceVersion seen
//   (no relist, so no work is repeated);
// - a 410 Gone (resourceVersion compacted away) triggers a relist; the relist
//   replaces the cache and notifies only real differences, so unchanged
//   objects do not cause a second round of work;
// - errors back off exponentially with jitter, then resume;
// - a watchdog relists a watch that has been silent longer than `watchdogMs`
//   (bookmarks count as life), which catches half-open connections.
//
// Scopes (docs/operations.md, "Install modes"): an informer serving a list of
// namespaces runs one reflector (list + watch) per namespace, and one serving a
// list of cluster-scoped objects by name runs one per name, so each request is
// one that a Role in that namespace (or a ClusterRole with resourceNames) can
// allow. The reflectors feed one cache, one set of indexes and one set of
// handlers: callers see a single informer, indexes span every scope, and an
// object costs the same memory however many scopes there are.
import type { Logger } from 'pino';
import type { ResourceRef } from '../api/constants.ts';
import { realClock, sleep, type Clock, type TimerHandle } from './clock.ts';
import type { KubeClient } from './client.ts';
import { isGone } from './errors.ts';
import { objectKey, splitKey, type KubeObject, type WatchEvent } from './types.ts';
import { errorMessage } from '../util/errors.ts';
import { deepFreeze } from '../util/freeze.ts';
import { jitter } from '../util/jitter.ts';

export interface InformerHandlers<T extends KubeObject> {
  add?(obj: T): void;
  update?(oldObj: T, newObj: T): void;
  delete?(obj: T): void;
}

/** All an informer needs from the API client (tests pass a scripted fake). */
export type ListWatchClient = Pick<KubeClient, 'list' | 'watch'>;

/** Watches that end sooner than this are restarted after this delay, not at once. */
const MIN_WATCH_MS = 1_000;

/** A watch open this long counts as healthy: its failure starts a fresh backoff. */
const HEALTHY_WATCH_MS = 5_000;

export type RelistReason = 'initial' | 'gone' | 'watchdog' | 'error';

export interface InformerMetrics {
  event(resource: string, type: string): void;
  relist(resource: string, reason: RelistReason): void;
  watchRestart(resource: string): void;
  cacheSize(resource: string, n: number): void;
}

export interface InformerOptions<T extends KubeObject> {
  /** List and watch only this namespace (the same as `namespaces: [namespace]`). */
  readonly namespace?: string;
  /**
   * List and watch each of these namespaces, one reflector each, into one cache. Empty or
   * absent (and no `namespace`): all namespaces with one list + watch.
   */
  readonly namespaces?: readonly string[];
  /**
   * Only these objects, by name: one reflector each, with fieldSelector metadata.name=<name>,
   * which the API server authorizes as a request for that name (RBAC resourceNames). Empty or
   * absent: no restriction. Not combined with `namespaces`.
   */
  readonly names?: readonly string[];
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** Shrinks objects before they are cached (e.g. drop managedFields). */
  readonly transform?: (obj: T) => T;
  /** Relist when the watch has been silent this long. */
  readonly watchdogMs?: number;
  /** Server-side watch timeout bounds; a random value in between spreads reconnects. */
  readonly minWatchTimeoutSeconds?: number;
  readonly maxWatchTimeoutSeconds?: number;
  readonly backoffInitialMs?: number;
  readonly backoffMaxMs?: number;
  readonly pageSize?: number;
  /** Deep-freeze cached objects so a handler that mutates one fails loudly. */
  readonly freeze?: boolean;
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly metrics?: InformerMetrics;
}

/** Secondary index: index name -> function returning the index values of an object. */
export type IndexFunc<T> = (obj: T) => readonly string[];

/** What one reflector lists and watches: a namespace, one object by name, or everything. */
interface Scope {
  readonly namespace?: string;
  readonly name?: string;
}

function scopesOf(opts: Pick<InformerOptions<KubeObject>, 'namespace' | 'namespaces' | 'names'>): Scope[] {
  const namespaces = opts.namespaces?.length ? opts.namespaces : opts.namespace ? [opts.namespace] : [];
  const names = opts.names ?? [];
  if (namespaces.length > 0 && names.length > 0)
    throw new Error('an informer is scoped by namespaces or by names, not both');
  if (namespaces.length > 0) return [...new Set(namespaces)].map((namespace) => ({ namespace }));
  if (names.length > 0) return [...new Set(names)].map((name) => ({ name }));
  return [{}];
}

function inScope(scope: Scope, namespace: string | undefined, name: string): boolean {
  return (
    (scope.namespace === undefined || scope.namespace === namespace) &&
    (scope.name === undefined || scope.name === name)
  );
}

function scopeLabel(scope: Scope): string {
  return scope.namespace ?? scope.name ?? '';
}

export class Informer<T extends KubeObject> {
  readonly ref: ResourceRef;
  private readonly opts: InformerOptions<T>;
  private readonly reflectors: Reflector<T>[];
  private readonly store = new Map<string, T>();
  private readonly handlers: InformerHandlers<T>[] = [];
  private readonly indexers = new Map<string, IndexFunc<T>>();
  private readonly indices = new Map<string, Map<string, Set<string>>>();
  private syncWaiters: Array<() => void> = [];
  private started = false;
  private stopped = false;
  private readonly stopSignal = new AbortController();

  constructor(client: ListWatchClient, ref: ResourceRef, opts: InformerOptions<T> = {}) {
    this.ref = ref;
    this.opts = opts;
    const scopes = scopesOf(opts);
    const sink: ReflectorSink<T> = {
      stopSignal: this.stopSignal.signal,
      isStopped: () => this.stopped,
      prepare: (raw) => this.prepare(raw),
      replace: (scope, fresh) => this.replace(scope, fresh),
      upsert: (obj) => this.upsert(obj),
      remove: (obj) => this.removeObject(obj),
      synced: () => this.onReflectorSynced(),
    };
    this.reflectors = scopes.map((scope) => {
      const logger =
        scopes.length > 1
          ? opts.logger?.child({ [scope.namespace ? 'namespace' : 'name']: scopeLabel(scope) })
          : opts.logger;
      return new Reflector<T>(client, ref, opts, scope, sink, logger);
    });
  }

  addHandler(h: InformerHandlers<T>): void {
    this.handlers.push(h);
    // A handler added late still hears about everything cached (empty before the first list).
    for (const obj of this.store.values()) h.add?.(obj);
  }

  addIndex(name: string, fn: IndexFunc<T>): void {
    if (this.store.size > 0) throw new Error('add indexes before the informer starts');
    this.indexers.set(name, fn);
    this.indices.set(name, new Map());
  }

  hasIndex(name: string): boolean {
    return this.indexers.has(name);
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  list(namespace?: string): T[] {
    const all = [...this.store.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
  }

  byIndex(name: string, value: string): T[] {
    const keys = this.indices.get(name)?.get(value);
    if (!keys) return [];
    const out: T[] = [];
    for (const k of keys) {
      const o = this.store.get(k);
      if (o) out.push(o);
    }
    return out;
  }

  get size(): number {
    return this.store.size;
  }

  /** True once every scope has listed successfully. */
  hasSynced(): boolean {
    return this.reflectors.every((r) => r.synced);
  }

  /** The namespaces (or names) whose first list has not succeeded yet; [''] for an unscoped informer. */
  unsyncedScopes(): string[] {
    return this.reflectors.filter((r) => !r.synced).map((r) => scopeLabel(r.scope));
  }

  /** Counters for tests and debugging: how many lists and watches were opened, over every scope. */
  get counters(): Readonly<{ lists: number; watches: number; events: number }> {
    const sum = { lists: 0, watches: 0, events: 0 };
    for (const r of this.reflectors) {
      sum.lists += r.stats.lists;
      sum.watches += r.stats.watches;
      sum.events += r.stats.events;
    }
    return sum;
  }

  /**
   * The last resourceVersion seen. With several scopes each has its own position, so this is
   * empty then; use lastResourceVersionFor.
   */
  get lastResourceVersion(): string {
    return this.reflectors.length === 1 ? (this.reflectors[0]?.resourceVersion ?? '') : '';
  }

  /** The last resourceVersion seen by the scope that holds the object with this key ("" if none). */
  lastResourceVersionFor(key: string): string {
    const { namespace, name } = splitKey(key);
    return this.reflectors.find((r) => inScope(r.scope, namespace, name))?.resourceVersion ?? '';
  }

  waitForSync(): Promise<void> {
    if (this.hasSynced()) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    for (const r of this.reflectors) r.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopSignal.abort();
    await Promise.all(this.reflectors.map((r) => r.stop()));
  }

  // --- the cache, fed by the reflectors --------------------------------------

  private onReflectorSynced(): void {
    if (this.hasSynced()) for (const w of this.syncWaiters.splice(0)) w();
  }

  /** Replaces one scope's part of the cache with a fresh list, notifying only real differences. */
  private replace(scope: Scope, fresh: Map<string, T>): void {
    for (const [key, old] of this.store) {
      if (!inScope(scope, old.metadata.namespace, old.metadata.name ?? '')) continue;
      if (!fresh.has(key)) {
        this.remove(key, old);
        this.dispatch('DELETED', old, old);
      }
    }
    for (const [key, obj] of fresh) {
      const old = this.store.get(key);
      if (old && old.metadata.resourceVersion === obj.metadata.resourceVersion) continue;
      this.put(key, obj, old);
      this.dispatch(old ? 'MODIFIED' : 'ADDED', obj, old);
    }
    this.opts.metrics?.cacheSize(this.ref.plural, this.store.size);
  }

  private upsert(obj: T): void {
    const key = objectKey(obj);
    const old = this.store.get(key);
    this.put(key, obj, old);
    this.dispatch(old ? 'MODIFIED' : 'ADDED', obj, old);
    this.opts.metrics?.cacheSize(this.ref.plural, this.store.size);
  }

  private removeObject(obj: T): void {
    const key = objectKey(obj);
    const old = this.store.get(key);
    if (old) this.remove(key, old);
    this.dispatch('DELETED', obj, old);
    this.opts.metrics?.cacheSize(this.ref.plural, this.store.size);
  }

  private dispatch(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: T, old: T | undefined): void {
    for (const h of this.handlers) {
      try {
        if (type === 'ADDED') h.add?.(obj);
        else if (type === 'MODIFIED') h.update?.(old ?? obj, obj);
        else h.delete?.(obj);
      } catch (err) {
        // A handler bug must not stop the cache from following the server.
        this.opts.logger?.error({ err: errorMessage(err) }, 'informer handler threw');
      }
    }
  }

  private prepare(raw: T): T {
    let obj = raw;
    if (this.opts.transform) obj = this.opts.transform(obj);
    if (this.opts.freeze ?? true) deepFreeze(obj);
    return obj;
  }

  private put(key: string, obj: T, old: T | undefined): void {
    if (old) this.unindex(key, old);
    this.store.set(key, obj);
    for (const [name, fn] of this.indexers) {
      const idx = this.indices.get(name)!;
      for (const v of fn(obj)) {
        let set = idx.get(v);
        if (!set) idx.set(v, (set = new Set()));
        set.add(key);
      }
    }
  }

  private remove(key: string, old: T): void {
    this.unindex(key, old);
    this.store.delete(key);
  }

  private unindex(key: string, obj: T): void {
    for (const [name, fn] of this.indexers) {
      const idx = this.indices.get(name)!;
      for (const v of fn(obj)) {
        const set = idx.get(v);
        set?.delete(key);
        if (set && set.size === 0) idx.delete(v);
      }
    }
  }
}

/** How a reflector hands what it lists and watches to the informer's cache. */
interface ReflectorSink<T extends KubeObject> {
  readonly stopSignal: AbortSignal;
  isStopped(): boolean;
  prepare(raw: T): T;
  replace(scope: Scope, fresh: Map<string, T>): void;
  upsert(obj: T): void;
  remove(obj: T): void;
  synced(): void;
}

/** One list + watch loop for one scope. */
class Reflector<T extends KubeObject> {
  readonly scope: Scope;
  resourceVersion = '';
  synced = false;
  readonly stats = { lists: 0, watches: 0, events: 0 };
  private readonly client: ListWatchClient;
  private readonly ref: ResourceRef;
  private readonly opts: InformerOptions<T>;
  private readonly sink: ReflectorSink<T>;
  private readonly logger: Logger | undefined;
  private readonly clock: Clock;
  private readonly fieldSelector: string | undefined;
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private lastActivity = 0;
  /** When the current watch was accepted by the server (0 = not open). */
  private watchOpenedAt = 0;
  private bookmarks = 0;

  constructor(
    client: ListWatchClient,
    ref: ResourceRef,
    opts: InformerOptions<T>,
    scope: Scope,
    sink: ReflectorSink<T>,
    logger: Logger | undefined,
  ) {
    this.client = client;
    this.ref = ref;
    this.opts = opts;
    this.scope = scope;
    this.sink = sink;
    this.logger = logger;
    this.clock = opts.clock ?? realClock;
    const selectors = [
      ...(scope.name !== undefined ? [`metadata.name=${scope.name}`] : []),
      ...(opts.fieldSelector ? [opts.fieldSelector] : []),
    ];
    this.fieldSelector = selectors.length > 0 ? selectors.join(',') : undefined;
  }

  start(): void {
    if (!this.loop) this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.abort?.abort();
    await this.loop;
  }

  private get stopped(): boolean {
    return this.sink.isStopped();
  }

  private async run(): Promise<void> {
    let needList = true;
    let relistReason: RelistReason = 'initial';
    let failures = 0;
    while (!this.stopped) {
      try {
        if (needList) {
          await this.relist(relistReason);
          needList = false;
        }
        const openedAt = this.clock.now();
        const seenBefore = this.stats.events + this.bookmarks;
        const outcome = await this.watchOnce();
        failures = 0;
        // A server (or proxy) that ends every watch at once, with nothing in it, must not make us spin.
        const empty = this.stats.events + this.bookmarks === seenBefore;
        if (outcome === 'ended' && empty && this.clock.now() - openedAt < MIN_WATCH_MS)
          await this.sleep(MIN_WATCH_MS);
        if (outcome === 'watchdog') {
          needList = true;
          relistReason = 'watchdog';
        }
      } catch (err) {
        if (this.stopped) break;
        if (isGone(err)) {
          this.logger?.info({ rv: this.resourceVersion }, 'watch: resourceVersion gone; relisting');
          needList = true;
          relistReason = 'gone';
          continue; // relist at once: the server is fine, our position is just too old
        }
        // A watch that had been running for a while failed: that is a new incident,
        // not the next failure of the last one, so the backoff starts over.
        const ranFor = this.watchOpenedAt ? this.clock.now() - this.watchOpenedAt : 0;
        failures = ranFor >= HEALTHY_WATCH_MS ? 1 : failures + 1;
        this.watchOpenedAt = 0;
        const delay = this.backoff(failures);
        this.logger?.warn({ err: errorMessage(err), retryInMs: delay, failures }, 'watch failed; retrying');
        // With a resourceVersion we can resume the watch; without one we must list again.
        if (!this.resourceVersion) {
          needList = true;
          relistReason = 'error';
        }
        await this.sleep(delay);
      }
    }
  }

  private backoff(failures: number): number {
    const initial = this.opts.backoffInitialMs ?? 800;
    const max = this.opts.backoffMaxMs ?? 30_000;
    const base = Math.min(max, initial * 2 ** Math.min(failures - 1, 20));
    // Between half and all of it ("equal jitter"): never much shorter than the backoff asked for.
    return Math.round(jitter(base / 2, 1, Math.random()));
  }

  private async relist(reason: RelistReason): Promise<void> {
    this.stats.lists++;
    this.opts.metrics?.relist(this.ref.plural, reason);
    const seen = new Map<string, T>();
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await this.client.list<T>(this.ref, this.scope.namespace, {
        labelSelector: this.opts.labelSelector,
        fieldSelector: this.fieldSelector,
        limit: this.opts.pageSize ?? 500,
        continue: cont,
      });
      for (const item of page.items) {
        const obj = this.sink.prepare(item);
        seen.set(objectKey(obj), obj);
      }
      cont = page.metadata.continue || undefined;
      rv = page.metadata.resourceVersion ?? rv;
    } while (cont);
    this.sink.replace(this.scope, seen);
    this.resourceVersion = rv;
    this.lastActivity = this.clock.now();
    if (!this.synced) {
      this.synced = true;
      this.sink.synced();
    }
  }

  /** One watch connection. Resolves when the server ends it or the watchdog fires. */
  private async watchOnce(): Promise<'ended' | 'watchdog'> {
    this.stats.watches++;
    this.opts.metrics?.watchRestart(this.ref.plural);
    const abort = new AbortController();
    this.abort = abort;
    if (this.stopped) abort.abort();
    const min = this.opts.minWatchTimeoutSeconds ?? 300;
    const max = this.opts.maxWatchTimeoutSeconds ?? 600;
    const timeoutSeconds = Math.floor(min + Math.random() * (max - min));
    let watchdogFired = false;
    const watchdogMs = this.opts.watchdogMs ?? 300_000;
    this.lastActivity = this.clock.now();
    let timer: TimerHandle | undefined;
    // Checks are due when the silence would reach watchdogMs: re-check exactly then, not a
    // whole further watchdogMs later.
    const check = (): void => {
      const silentFor = this.clock.now() - this.lastActivity;
      if (silentFor >= watchdogMs) {
        watchdogFired = true;
        this.logger?.warn({ silentMs: silentFor }, 'watch silent too long; relisting');
        abort.abort();
      } else {
        timer = this.clock.setTimeout(check, watchdogMs - silentFor);
      }
    };
    timer = this.clock.setTimeout(check, watchdogMs);
    try {
      const events = this.client.watch<T>(this.ref, this.scope.namespace, {
        resourceVersion: this.resourceVersion,
        labelSelector: this.opts.labelSelector,
        fieldSelector: this.fieldSelector,
        timeoutSeconds,
        allowWatchBookmarks: true,
        signal: abort.signal,
        onOpen: () => {
          this.watchOpenedAt = this.clock.now();
        },
      });
      for await (const ev of events) {
        this.lastActivity = this.clock.now();
        this.handleEvent(ev);
      }
      return 'ended';
    } catch (err) {
      if (watchdogFired) return 'watchdog';
      if (this.stopped) return 'ended';
      throw err;
    } finally {
      if (timer) this.clock.clearTimeout(timer);
    }
  }

  private handleEvent(ev: WatchEvent<T>): void {
    const rv = ev.object.metadata.resourceVersion;
    if (ev.type === 'BOOKMARK') {
      this.bookmarks++;
      if (rv) this.resourceVersion = rv;
      return;
    }
    this.stats.events++;
    this.opts.metrics?.event(this.ref.plural, ev.type);
    const obj = this.sink.prepare(ev.object);
    if (ev.type === 'DELETED') this.sink.remove(obj);
    else this.sink.upsert(obj);
    if (rv) this.resourceVersion = rv;
  }

  private async sleep(ms: number): Promise<void> {
    // Stopping must not wait out a long backoff.
    await sleep(this.clock, ms, this.sink.stopSignal).catch(() => undefined);
  }
}
/** Drops managedFields and the last-applied annotation: memory the operator never reads. */
export function stripForCache<T extends KubeObject>(obj: T): T {
  const meta = obj.metadata;
  if (!meta.managedFields && !meta.annotations?.['kubectl.kubernetes.io/last-applied-configuration'])
    return obj;
  const { managedFields: _mf, ...rest } = meta;
  let annotations = rest.annotations;
  if (annotations?.['kubectl.kubernetes.io/last-applied-configuration']) {
    const { ['kubectl.kubernetes.io/last-applied-configuration']: _la, ...others } = annotations;
    annotations = others;
  }
  return { ...obj, metadata: { ...rest, ...(annotations ? { annotations } : {}) } };
}
