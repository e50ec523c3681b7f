// An events.k8s.io/v1 Event recorder: every transition is an Event on the object (docs/workflow-authors.md,
// "Events and the audit trail").
//
// - Fire and forget: record() returns at once and never throws; writes happen in the background
//   through a small bounded queue. When the API server is slow or down, at most `maxPending` writes
//   wait; beyond that new Events are dropped and counted (a reconcile must never wait on, or fail
//   because of, an Event).
// - Series, like client-go's events broadcaster (k8s.io/client-go/tools/events): an Event identical
//   to one recorded recently (same regarding object, related object, type, reason, action and note)
//   is not created again. The first occurrence creates the Event; later ones within `seriesWindowMs`
//   of the previous occurrence bump `series.count` / `series.lastObservedTime`, written by a PATCH
//   at most once per `seriesPatchIntervalMs`, so a flapping condition costs one write every few
//   seconds, not one per reconcile. The final count is always written (a pending patch is flushed
//   by its timer or by flush()). Series state lives in a bounded LRU.
// - Validity: names are `<regarding name>.<16 hex>` (time-ordered, then random) made DNS-subdomain
//   safe; reason and action are capped at 128 bytes and the note at 1024 bytes (the API server's
//   limits, counted in UTF-8 bytes), cut on a character boundary. The note first passes through the
//   optional `sanitize` (the recorder cannot know what is secret; the caller can).
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { EVENT, REPORTING_CONTROLLER } from '../api/constants.ts';
import { realClock, type Clock, type TimerHandle } from './clock.ts';
import type { KubeClient } from './client.ts';
import { isNotFound } from './errors.ts';
import { formatMicroTime } from './leaderelection-core.ts';
import type { KubeObject } from './types.ts';
import { errorMessage } from '../util/errors.ts';
import { truncateUtf8 } from '../util/truncate.ts';

export type EventType = 'Normal' | 'Warning';

export interface ObjectReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

export interface EventSeries {
  count: number;
  /** MicroTime. */
  lastObservedTime: string;
}

/** An events.k8s.io/v1 Event (the fields this recorder writes). */
export interface KubeEvent extends KubeObject {
  /** MicroTime of the first occurrence. */
  eventTime: string;
  series?: EventSeries;
  reportingController: string;
  reportingInstance: string;
  action: string;
  reason: string;
  type: EventType;
  note?: string;
  regarding: ObjectReference;
  related?: ObjectReference;
}

export interface EventInput {
  type: EventType;
  /** Why the action was taken, UpperCamelCase (e.g. "StepFailed"); at most 128 bytes. */
  reason: string;
  /** What was done (e.g. "CreatePod"); at most 128 bytes. */
  action: string;
  /** Human-readable detail; cut to 1024 bytes. Never put secrets here; see `sanitize`. */
  note: string;
  related?: KubeObject;
}

export type EventClient = Pick<KubeClient, 'create' | 'patch'>;

export interface EventRecorderOptions {
  client: EventClient;
  /** Default REPORTING_CONTROLLER. */
  reportingController?: string;
  /** This replica's identity (pod name). */
  reportingInstance: string;
  clock?: Clock;
  /** Wall-clock ms for eventTime/lastObservedTime. Default Date.now, or clock.now when a clock is given. */
  wallClock?: () => number;
  logger?: Logger;
  /** Called for every Event accepted by record() (aggregated ones included), e.g. for a metric. */
  onEmit?(reason: string, type: EventType): void;
  /** Applied to every note before it is truncated and written (e.g. redaction of sensitive values). */
  sanitize?(note: string): string;
  /** Writes waiting or in flight beyond which new Events are dropped. Default 1000. */
  maxPending?: number;
  /** Concurrent writes. Default 4. */
  concurrency?: number;
  /** Series kept for aggregation (LRU). Default 4096. */
  cacheSize?: number;
  /** An identical Event within this long of the previous occurrence joins its series. Default 6 min. */
  seriesWindowMs?: number;
  /** Minimum time between writes of one series. Default 5 s. */
  seriesPatchIntervalMs?: number;
}

export interface EventRecorderStats {
  /** Writes queued or in flight. */
  pending: number;
  /** Events dropped because the queue was full, or because they were invalid. */
  dropped: number;
  created: number;
  patched: number;
  /** Writes the API server refused or that failed. */
  failed: number;
  /** Series in the aggregation cache. */
  cached: number;
}

export const REASON_MAX_BYTES = 128;
export const ACTION_MAX_BYTES = 128;
export const NOTE_MAX_BYTES = 1024;
export const REPORTING_INSTANCE_MAX_BYTES = 128;
const NAME_MAX = 253;
const SUFFIX_LEN = 16;

interface Series {
  readonly key: string;
  /** The Event as created (its name changes only if it vanished and was created again). */
  event: KubeEvent;
  state: 'queued' | 'creating' | 'created' | 'failed';
  /** Occurrences so far. */
  count: number;
  /** Count the server has. */
  written: number;
  lastSeenMs: number;
  lastObservedWall: number;
  /** Clock time of the last write (create or patch). */
  lastWriteMs: number;
  timer: TimerHandle | undefined;
  /** A patch is queued or in flight. */
  patching: boolean;
  patchFailures: number;
}

type Task = { kind: 'create'; series: Series } | { kind: 'patch'; series: Series };

export class EventRecorder {
  readonly #client: EventClient;
  readonly #controller: string;
  readonly #instance: string;
  readonly #clock: Clock;
  readonly #wall: () => number;
  readonly #log: Logger | undefined;
  readonly #opts: EventRecorderOptions;
  readonly #maxPending: number;
  readonly #concurrency: number;
  readonly #cacheSize: number;
  readonly #windowMs: number;
  readonly #patchIntervalMs: number;

  /** Series by key, least recently used first. */
  readonly #cache = new Map<string, Series>();
  readonly #queue: Task[] = [];
  #active = 0;
  #pumpScheduled = false;
  #flushing = 0;
  #idleWaiters: Array<() => void> = [];
  #failing = false;
  readonly #stats = { dropped: 0, created: 0, patched: 0, failed: 0 };

  constructor(opts: EventRecorderOptions) {
    this.#opts = opts;
    this.#client = opts.client;
    this.#controller = opts.reportingController ?? REPORTING_CONTROLLER;
    this.#instance = truncateUtf8(opts.reportingInstance, REPORTING_INSTANCE_MAX_BYTES, '');
    if (!this.#instance) throw new Error('EventRecorder: reportingInstance must not be empty');
    const clock = opts.clock ?? realClock;
    this.#clock = clock;
    this.#wall = opts.wallClock ?? (opts.clock ? () => clock.now() : () => Date.now());
    this.#log = opts.logger?.child({ component: 'events' });
    this.#maxPending = opts.maxPending ?? 1000;
    this.#concurrency = Math.max(1, opts.concurrency ?? 4);
    this.#cacheSize = Math.max(1, opts.cacheSize ?? 4096);
    this.#windowMs = opts.seriesWindowMs ?? 6 * 60_000;
    this.#patchIntervalMs = opts.seriesPatchIntervalMs ?? 5_000;
  }

  /** Records an Event about `regarding`. Returns at once; never throws. */
  record(regarding: KubeObject, input: EventInput): void {
    try {
      this.#record(regarding, input);
    } catch (err) {
      this.#stats.dropped++;
      this.#log?.warn({ err: errorMessage(err), reason: safeReason(input) }, 'could not record an event');
    }
  }

  stats(): EventRecorderStats {
    return { ...this.#stats, pending: this.#queue.length + this.#active, cached: this.#cache.size };
  }

  /**
   * Writes every pending series count now and resolves when nothing is queued or in flight
   * (graceful shutdown; tests). Never rejects.
   */
  async flush(): Promise<void> {
    this.#flushing++;
    try {
      for (const s of this.#cache.values()) {
        if (s.timer) {
          this.#clock.clearTimeout(s.timer);
          s.timer = undefined;
        }
        this.#schedulePatch(s);
      }
      while (this.#queue.length > 0 || this.#active > 0) {
        await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
      }
    } finally {
      this.#flushing--;
    }
  }

  #record(regarding: KubeObject, input: EventInput): void {
    const name = regarding.metadata.name;
    if (!name) {
      this.#drop('the regarding object has no name', input);
      return;
    }
    const reason = truncateUtf8(input.reason, REASON_MAX_BYTES, '');
    const action = truncateUtf8(input.action, ACTION_MAX_BYTES, '');
    if (!reason || !action) {
      this.#drop('reason and action must not be empty', input);
      return;
    }
    if (!/^[A-Z][A-Za-z0-9]*$/.test(reason))
      this.#log?.debug({ reason }, 'event reason is not UpperCamelCase');
    const type: EventType = input.type === 'Warning' ? 'Warning' : 'Normal';
    const note = truncateUtf8(this.#sanitize(input.note), NOTE_MAX_BYTES);
    const regardingRef = objectReference(regarding);
    const relatedRef = input.related ? objectReference(input.related) : undefined;
    const key = JSON.stringify([
      refKey(regardingRef),
      relatedRef ? refKey(relatedRef) : '',
      type,
      reason,
      action,
      note,
    ]);

    const now = this.#clock.now();
    const wall = this.#wall();
    let series = this.#cache.get(key);
    if (series && (series.state === 'failed' || now - series.lastSeenMs > this.#windowMs)) {
      this.#forget(series);
      series = undefined;
    }
    if (series) {
      // The same Event again: join its series.
      series.count++;
      series.lastSeenMs = now;
      series.lastObservedWall = wall;
      this.#cache.delete(key); // LRU: most recently used last
      this.#cache.set(key, series);
      this.#schedulePatch(series);
      this.#emitted(reason, type);
      return;
    }

    if (this.#pending() >= this.#maxPending) {
      this.#stats.dropped++;
      this.#log?.debug({ reason, dropped: this.#stats.dropped }, 'event queue full; dropping an event');
      return;
    }
    const namespace = regarding.metadata.namespace || 'default';
    const event: KubeEvent = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: eventName(name, wall), namespace },
      eventTime: formatMicroTime(wall),
      reportingController: this.#controller,
      reportingInstance: this.#instance,
      action,
      reason,
      type,
      regarding: regardingRef,
      ...(relatedRef ? { related: relatedRef } : {}),
      ...(note ? { note } : {}),
    };
    series = {
      key,
      event,
      state: 'queued',
      count: 1,
      written: 0,
      lastSeenMs: now,
      lastObservedWall: wall,
      lastWriteMs: now,
      timer: undefined,
      patching: false,
      patchFailures: 0,
    };
    this.#cache.set(key, series);
    this.#evict();
    this.#enqueue({ kind: 'create', series });
    this.#emitted(reason, type);
  }

  #sanitize(note: string): string {
    const text = typeof note === 'string' ? note : String(note);
    if (!this.#opts.sanitize) return text;
    try {
      return this.#opts.sanitize(text);
    } catch (err) {
      // Fail closed: a note that could not be sanitized is not written.
      this.#log?.warn({ err: errorMessage(err) }, 'event note sanitizer failed; note withheld');
      return '[note withheld]';
    }
  }

  #emitted(reason: string, type: EventType): void {
    try {
      this.#opts.onEmit?.(reason, type);
    } catch (err) {
      this.#log?.debug({ err: errorMessage(err) }, 'onEmit threw');
    }
  }

  #drop(why: string, input: EventInput): void {
    this.#stats.dropped++;
    this.#log?.warn({ reason: safeReason(input) }, `invalid event dropped: ${why}`);
  }

  #pending(): number {
    return this.#queue.length + this.#active;
  }

  #evict(): void {
    while (this.#cache.size > this.#cacheSize) {
      const oldest = this.#cache.values().next().value;
      if (!oldest) return;
      // A series evicted with an unwritten count gets its last patch; then it is forgotten.
      if (oldest.state === 'created' && oldest.count > oldest.written && !oldest.patching) {
        if (oldest.timer) this.#clock.clearTimeout(oldest.timer);
        oldest.timer = undefined;
        if (this.#pending() < this.#maxPending) {
          oldest.patching = true;
          this.#enqueue({ kind: 'patch', series: oldest });
        }
      }
      this.#forget(oldest);
    }
  }

  #forget(series: Series): void {
    if (this.#cache.get(series.key) === series) this.#cache.delete(series.key);
    if (series.timer) {
      this.#clock.clearTimeout(series.timer);
      series.timer = undefined;
    }
  }

  /** Arranges for the series' current count to be written, no sooner than the patch interval allows. */
  #schedulePatch(series: Series): void {
    if (series.state !== 'created' || series.patching || series.timer || series.count <= series.written)
      return;
    const due =
      this.#flushing > 0 ? 0 : Math.max(0, series.lastWriteMs + this.#patchIntervalMs - this.#clock.now());
    if (due === 0) {
      this.#enqueuePatch(series);
      return;
    }
    series.timer = this.#clock.setTimeout(() => {
      series.timer = undefined;
      this.#enqueuePatch(series);
    }, due);
  }

  #enqueuePatch(series: Series): void {
    if (series.patching || series.count <= series.written) return;
    if (this.#pending() >= this.#maxPending) {
      // Full: try again later rather than lose the count.
      series.timer = this.#clock.setTimeout(() => {
        series.timer = undefined;
        this.#enqueuePatch(series);
      }, this.#patchIntervalMs);
      return;
    }
    series.patching = true;
    this.#enqueue({ kind: 'patch', series });
  }

  #enqueue(task: Task): void {
    this.#queue.push(task);
    // Writes start after the caller's synchronous work: record() only ever queues.
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    queueMicrotask(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#active < this.#concurrency && this.#queue.length > 0) {
      const task = this.#queue.shift();
      if (!task) break;
      this.#active++;
      void this.#run(task).finally(() => {
        this.#active--;
        this.#pump();
        if (this.#active === 0 && this.#queue.length === 0) {
          const waiters = this.#idleWaiters;
          this.#idleWaiters = [];
          for (const w of waiters) w();
        }
      });
    }
  }

  async #run(task: Task): Promise<void> {
    try {
      if (task.kind === 'create') await this.#create(task.series);
      else await this.#patch(task.series);
    } catch (err) {
      // #create/#patch handle their own errors; this is a last line of defence.
      this.#log?.debug({ err: errorMessage(err) }, 'event write failed');
    }
  }

  async #create(series: Series): Promise<void> {
    series.state = 'creating';
    const count = series.count;
    const body: KubeEvent =
      count > 1
        ? { ...series.event, series: { count, lastObservedTime: formatMicroTime(series.lastObservedWall) } }
        : series.event;
    try {
      await this.#client.create<KubeEvent>(EVENT, body);
      this.#stats.created++;
      this.#ok();
      series.state = 'created';
      series.written = count;
      series.lastWriteMs = this.#clock.now();
      series.patchFailures = 0;
      this.#schedulePatch(series);
    } catch (err) {
      this.#stats.failed++;
      series.state = 'failed';
      this.#forget(series);
      this.#failed(err, series, 'create');
    }
  }

  async #patch(series: Series): Promise<void> {
    const count = series.count;
    const { name, namespace } = series.event.metadata;
    const patch = { series: { count, lastObservedTime: formatMicroTime(series.lastObservedWall) } };
    try {
      await this.#client.patch<KubeEvent>(EVENT, namespace, name ?? '', patch, 'merge');
      this.#stats.patched++;
      this.#ok();
      series.written = count;
      series.lastWriteMs = this.#clock.now();
      series.patchFailures = 0;
      series.patching = false;
      this.#schedulePatch(series);
    } catch (err) {
      series.patching = false;
      if (isNotFound(err)) {
        // The Event expired or was deleted: start it again under a new name with the full count
        // (client-go does the same).
        series.event = {
          ...series.event,
          metadata: {
            ...series.event.metadata,
            name: eventName(series.event.regarding.name ?? 'event', this.#wall()),
          },
        };
        await this.#create(series);
        return;
      }
      this.#stats.failed++;
      this.#failed(err, series, 'patch');
      series.lastWriteMs = this.#clock.now();
      if (++series.patchFailures < 3) this.#schedulePatch(series);
    }
  }

  #ok(): void {
    if (this.#failing) this.#log?.info('event writes succeed again');
    this.#failing = false;
  }

  /** The first failure of a run is a warning; the rest are debug, so an outage doesn't flood the log. */
  #failed(err: unknown, series: Series, verb: string): void {
    const fields = {
      err: errorMessage(err),
      verb,
      reason: series.event.reason,
      object: `${series.event.regarding.namespace ?? ''}/${series.event.regarding.name ?? ''}`,
    };
    if (this.#failing) this.#log?.debug(fields, 'event write failed');
    else this.#log?.warn(fields, 'event write failed (further failures are logged at debug)');
    this.#failing = true;
  }
}

/** The ObjectReference of an object (only the fields it has). */
export function objectReference(obj: KubeObject): ObjectReference {
  const ref: ObjectReference = {};
  if (obj.apiVersion) ref.apiVersion = obj.apiVersion;
  if (obj.kind) ref.kind = obj.kind;
  const { name, namespace, uid, resourceVersion } = obj.metadata;
  if (name) ref.name = name;
  if (namespace) ref.namespace = namespace;
  if (uid) ref.uid = uid;
  if (resourceVersion) ref.resourceVersion = resourceVersion;
  return ref;
}

function refKey(ref: ObjectReference): string {
  // The uid identifies an incarnation; kind/namespace/name covers objects read without one.
  return `${ref.apiVersion ?? ''}|${ref.kind ?? ''}|${ref.namespace ?? ''}|${ref.name ?? ''}|${ref.uid ?? ''}`;
}

/**
 * `<name>.<16 hex>`: 11 hex digits of epoch ms (names sort by time) then 5 random ones. The prefix
 * is made a valid DNS subdomain (lowercase alphanumerics, '-', '.', labels starting and ending
 * alphanumeric) short enough for the whole name to fit in 253 characters.
 */
export function eventName(regardingName: string, wallMs: number, random: () => string = randomHex5): string {
  const prefix = dnsSubdomainPrefix(regardingName, NAME_MAX - SUFFIX_LEN - 1) || 'event';
  const time = Math.max(0, Math.floor(wallMs)).toString(16).padStart(11, '0').slice(-11);
  return `${prefix}.${time}${random().slice(0, 5).padStart(5, '0')}`;
}

function randomHex5(): string {
  return randomBytes(3).toString('hex').slice(0, 5);
}

function dnsSubdomainPrefix(name: string, max: number): string {
  const labels = name
    .toLowerCase()
    .replace(/[^a-z0-9.-]/g, '-')
    .slice(0, max)
    .split('.')
    .map((l) => l.replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, ''))
    .filter((l) => l.length > 0);
  return labels.join('.');
}

function safeReason(input: EventInput | undefined): string {
  try {
    return typeof input?.reason === 'string' ? input.reason.slice(0, REASON_MAX_BYTES) : '';
  } catch {
    return '';
  }
}
