// Leader election on a coordination.k8s.io/v1 Lease, with client-go's semantics
// (k8s.io/client-go/tools/leaderelection). The decisions live in leaderelection-core.ts; this
// file runs the loops:
//
// - acquire: try at once, then every retryPeriod * [1, 2.2) (jittered so replicas don't stampede)
//   until we hold the lease;
// - renew: every retryPeriod; a failed renew is retried every retryPeriod. If no renew has
//   succeeded within renewDeadline of the start of the last successful one — or we see another
//   holder — leadership is lost: the signal given to onStartedLeading aborts and
//   onStoppedLeading({ reason: 'lost' }) runs. A timer enforces the deadline, so a hung request
//   cannot keep a deposed leader working. Since renewDeadline < leaseDuration and others count the
//   lease duration from when THEY saw our last renew, we stop before anyone else may start.
// - release (graceful shutdown, client-go ReleaseOnCancel): abort the leader signal, then write
//   the lease with no holder so another replica takes over at once instead of after leaseDuration.
//
// All writes use optimistic concurrency (resourceVersion); a conflict means someone else wrote
// first, and the next read decides. The elector never exits the process: the caller does that in
// onStoppedLeading (a replica that loses the lease exits: docs/operations.md, "Process lifecycle").
import type { Logger } from 'pino';
import { LEASE } from '../api/constants.ts';
import { realClock, sleep, type Clock, type TimerHandle } from './clock.ts';
import type { KubeClient } from './client.ts';
import { isConflict, isNotFound } from './errors.ts';
import {
  decide,
  JITTER_FACTOR,
  leaseValid,
  nextSpec,
  observe,
  recordFromSpec,
  releasedSpec,
  validateTiming,
  type LeaseSpec,
  type Observation,
} from './leaderelection-core.ts';
import type { KubeObject } from './types.ts';
import { errorMessage } from '../util/errors.ts';
import { jitter } from '../util/jitter.ts';

export interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

/** A write lost an optimistic-concurrency race (409), or the object it updated is gone. */
export class LeaseConflictError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LeaseConflictError';
  }
}

/** The narrow view of one Lease the elector needs. */
export interface LeaseStore {
  /** The lease, or undefined when it does not exist. */
  get(): Promise<Lease | undefined>;
  /** Creates the lease; throws LeaseConflictError if it already exists. */
  create(lease: Lease): Promise<Lease>;
  /** Replaces the lease; throws LeaseConflictError if metadata.resourceVersion is stale. */
  update(lease: Lease): Promise<Lease>;
}

export type LeaseClient = Pick<KubeClient, 'get' | 'create' | 'update'>;

/** LeaseStore on the API server. */
export class ApiLeaseStore implements LeaseStore {
  readonly namespace: string;
  readonly name: string;
  readonly #client: LeaseClient;

  constructor(client: LeaseClient, namespace: string, name: string) {
    this.#client = client;
    this.namespace = namespace;
    this.name = name;
  }

  async get(): Promise<Lease | undefined> {
    try {
      return await this.#client.get<Lease>(LEASE, this.namespace, this.name);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async create(lease: Lease): Promise<Lease> {
    try {
      return await this.#client.create<Lease>(LEASE, this.#own(lease));
    } catch (err) {
      if (isConflict(err))
        throw new LeaseConflictError(`lease ${this.#key()} already exists`, { cause: err });
      throw err;
    }
  }

  async update(lease: Lease): Promise<Lease> {
    try {
      return await this.#client.update<Lease>(LEASE, this.#own(lease));
    } catch (err) {
      if (isConflict(err) || isNotFound(err)) {
        throw new LeaseConflictError(`lease ${this.#key()} changed since it was read`, { cause: err });
      }
      throw err;
    }
  }

  #own(lease: Lease): Lease {
    return {
      ...lease,
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { ...lease.metadata, name: this.name, namespace: this.namespace },
    };
  }

  #key(): string {
    return `${this.namespace}/${this.name}`;
  }
}

export type StoppedLeadingReason =
  /** The lease could not be renewed in time, or another holder was seen. */
  | 'lost'
  /** release() (or an aborted run signal with releaseOnCancel) handed the lease back. */
  | 'released'
  /** The run signal aborted with releaseOnCancel: false; the lease expires on its own. */
  | 'stopped';

interface LeaderElectorCommon {
  /** Unique per replica (normally the pod name); written as holderIdentity. */
  identity: string;
  /** How long others wait before taking over a lease that stopped being renewed. Default 15 s. */
  leaseDurationMs?: number;
  /** How long the leader keeps trying to renew before it gives up. Default 10 s. */
  renewDeadlineMs?: number;
  /** Time between attempts. Default 2 s. */
  retryPeriodMs?: number;
  /** Release the lease when the run signal aborts (client-go ReleaseOnCancel). Default true. */
  releaseOnCancel?: boolean;
  clock?: Clock;
  /** Wall-clock ms for renewTime/acquireTime. Default Date.now, or clock.now when a clock is given. */
  wallClock?: () => number;
  /** Source of jitter in [0, 1). Default Math.random. */
  random?: () => number;
  logger?: Logger;
  /** Runs (asynchronously) when we become leader; the signal aborts when leadership ends. */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Runs once when leadership ends, whatever the reason; never if we never led. */
  onStoppedLeading(info: { reason: StoppedLeadingReason }): void;
  /** Runs when the observed leader changes to a new non-empty identity (ours included). */
  onNewLeader?(identity: string): void;
}

export type LeaderElectorOptions = LeaderElectorCommon &
  (
    | { client: LeaseClient; namespace: string; name: string; store?: undefined }
    | { store: LeaseStore; client?: undefined; namespace?: string; name?: string }
  );

type State = 'new' | 'running' | 'stopped';

export class LeaderElector {
  readonly identity: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly #leaseDurationSeconds: number;
  readonly #opts: LeaderElectorOptions;
  readonly #store: LeaseStore;
  readonly #clock: Clock;
  readonly #wall: () => number;
  readonly #random: () => number;
  readonly #log: Logger | undefined;

  #state: State = 'new';
  /** The last lease object read or written: the resourceVersion the next write is based on. */
  #lease: Lease | undefined;
  #observed: Observation | undefined;
  #reportedLeader = '';
  /** Aborts the loops' sleeps. */
  readonly #loopCtl = new AbortController();
  /** Present while we lead (or led); its signal is the one onStartedLeading got. */
  #leaderCtl: AbortController | undefined;
  #deadline: TimerHandle | undefined;
  #loop: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  readonly #done: Promise<void>;
  #resolveDone!: () => void;

  constructor(opts: LeaderElectorOptions) {
    this.#opts = opts;
    this.identity = opts.identity;
    if (!opts.identity) throw new Error('leader election: identity must not be empty');
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000;
    validateTiming({
      leaseDurationMs: this.leaseDurationMs,
      renewDeadlineMs: this.renewDeadlineMs,
      retryPeriodMs: this.retryPeriodMs,
    });
    // The API stores whole seconds; rounding up only makes others wait longer, which is safe.
    this.#leaseDurationSeconds = Math.ceil(this.leaseDurationMs / 1000);
    this.#store = opts.store ?? new ApiLeaseStore(opts.client, opts.namespace, opts.name);
    const clock = opts.clock ?? realClock;
    this.#clock = clock;
    this.#wall = opts.wallClock ?? (opts.clock ? () => clock.now() : () => Date.now());
    this.#random = opts.random ?? Math.random;
    const lease = opts.namespace && opts.name ? `${opts.namespace}/${opts.name}` : (opts.name ?? 'lease');
    this.#log = opts.logger?.child({ component: 'leader-election', lease, identity: opts.identity });
    this.#done = new Promise((resolve) => {
      this.#resolveDone = resolve;
    });
  }

  /** True while we lead: after acquiring, until leadership is lost, released or stopped. */
  isLeader(): boolean {
    return this.#leaderCtl !== undefined && !this.#leaderCtl.signal.aborted;
  }

  /** The holder of the lease as last observed ('' if released or unknown). */
  currentLeader(): string {
    return this.#observed?.record.holderIdentity ?? '';
  }

  /**
   * Campaigns, leads and renews until leadership is lost, release() is called, or `signal` aborts.
   * The promise resolves when the elector has stopped; it never rejects.
   */
  run(signal?: AbortSignal): Promise<void> {
    if (this.#state !== 'new') throw new Error('LeaderElector.run: already started');
    this.#state = 'running';
    this.#loop = this.#main().catch((err: unknown) => {
      this.#log?.error({ err }, 'leader election loop failed');
      this.#lose('internal error');
    });
    if (signal) {
      const onAbort = (): void => void this.#stop(this.#opts.releaseOnCancel ?? true);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      void this.#done.then(() => signal.removeEventListener('abort', onAbort));
    }
    return this.#done;
  }

  /**
   * Graceful shutdown: stops campaigning, aborts the leader signal, and if we hold the lease writes
   * it back with no holder so another replica can take over at once. Resolves when done; never
   * rejects (a failed release is logged, and the lease then expires on its own).
   */
  release(): Promise<void> {
    if (this.#state === 'new') {
      this.#state = 'stopped';
      this.#resolveDone();
      return this.#done;
    }
    return this.#stop(true);
  }

  async #main(): Promise<void> {
    const stop = this.#loopCtl.signal;
    this.#log?.debug('campaigning for the lease');
    for (;;) {
      const startedAt = this.#clock.now();
      const ok = await this.#tryAcquireOrRenew();
      if (stop.aborted) return;
      if (ok) {
        this.#becomeLeader(startedAt);
        break;
      }
      if (!(await this.#sleep(jitter(this.retryPeriodMs, JITTER_FACTOR, this.#random())))) return;
    }
    for (;;) {
      if (!(await this.#sleep(this.retryPeriodMs))) return;
      const startedAt = this.#clock.now();
      const ok = await this.#tryAcquireOrRenew();
      if (stop.aborted) return;
      if (ok) {
        this.#armDeadline(startedAt + this.renewDeadlineMs);
        continue;
      }
      const holder = this.currentLeader();
      if (holder !== '' && holder !== this.identity) {
        this.#lose(`lease is held by ${holder}`);
        return;
      }
      this.#log?.warn('failed to renew the lease; retrying');
    }
  }

  /** Resolves true after ms, false if the elector stopped meanwhile. */
  async #sleep(ms: number): Promise<boolean> {
    try {
      await sleep(this.#clock, ms, this.#loopCtl.signal);
      return true;
    } catch {
      return false;
    }
  }

  /** One attempt (client-go tryAcquireOrRenew). Never throws; true if we hold the lease now. */
  async #tryAcquireOrRenew(): Promise<boolean> {
    const now = this.#clock.now();
    const wall = this.#wall();

    // Fast path: we are the holder and our own record is valid; renew without a read.
    const lease = this.#lease;
    if (lease && this.#observed && this.#holds() && leaseValid(this.#observed, now)) {
      try {
        const spec = nextSpec(
          { action: 'renew' },
          lease.spec,
          this.identity,
          this.#leaseDurationSeconds,
          wall,
        );
        this.#recordWrite(await this.#store.update(withSpec(lease, spec)), now);
        return true;
      } catch (err) {
        this.#log?.debug({ err: errorMessage(err) }, 'renew without a read failed; rereading the lease');
        if (this.#loopCtl.signal.aborted) return false;
      }
    }

    let current: Lease | undefined;
    try {
      current = await this.#store.get();
    } catch (err) {
      this.#log?.debug({ err: errorMessage(err) }, 'reading the lease failed');
      return false;
    }
    if (!current) {
      try {
        const spec = nextSpec(
          { action: 'create' },
          undefined,
          this.identity,
          this.#leaseDurationSeconds,
          wall,
        );
        this.#recordWrite(await this.#store.create({ metadata: {}, spec }), now);
        this.#log?.info('created the lease and acquired it');
        return true;
      } catch (err) {
        this.#log?.debug({ err: errorMessage(err) }, 'creating the lease failed');
        return false;
      }
    }

    this.#lease = current;
    this.#observed = observe(this.#observed, recordFromSpec(current.spec), this.#clock.now());
    this.#reportLeader();
    const decision = decide(this.#observed, now, this.identity);
    if (decision.action === 'wait') return false;
    try {
      const spec = nextSpec(decision, current.spec, this.identity, this.#leaseDurationSeconds, wall);
      this.#recordWrite(await this.#store.update(withSpec(current, spec)), now);
      if (decision.action === 'acquire') {
        this.#log?.info({ why: decision.why, transitions: spec.leaseTransitions }, 'acquired the lease');
      }
      return true;
    } catch (err) {
      this.#log?.debug({ err: errorMessage(err), action: decision.action }, 'writing the lease failed');
      return false;
    }
  }

  /** Our own successful write: the record we wrote is observed as of the attempt's start. */
  #recordWrite(lease: Lease, attemptStartedAt: number): void {
    this.#lease = lease;
    this.#observed = { record: recordFromSpec(lease.spec), observedAtMs: attemptStartedAt };
    this.#reportLeader();
  }

  #holds(): boolean {
    return this.#observed?.record.holderIdentity === this.identity;
  }

  #reportLeader(): void {
    const holder = this.currentLeader();
    if (holder === '' || holder === this.#reportedLeader) return;
    this.#reportedLeader = holder;
    this.#log?.info({ leader: holder }, 'new leader observed');
    if (this.#opts.onNewLeader) this.#callback('onNewLeader', () => this.#opts.onNewLeader?.(holder));
  }

  #becomeLeader(attemptStartedAt: number): void {
    const ctl = new AbortController();
    this.#leaderCtl = ctl;
    this.#armDeadline(attemptStartedAt + this.renewDeadlineMs);
    this.#log?.info('became leader');
    // Like client-go's `go OnStartedLeading(ctx)`: the callback runs on its own, and its failure
    // is logged, not allowed to break the renew loop.
    Promise.resolve()
      .then(() => this.#opts.onStartedLeading(ctl.signal))
      .catch((err: unknown) => this.#log?.error({ err: errorMessage(err) }, 'onStartedLeading failed'));
  }

  #armDeadline(at: number): void {
    if (this.#deadline) this.#clock.clearTimeout(this.#deadline);
    this.#deadline = this.#clock.setTimeout(
      () => this.#lose(`no successful renew within ${this.renewDeadlineMs} ms`),
      at - this.#clock.now(),
    );
  }

  #clearDeadline(): void {
    if (this.#deadline) this.#clock.clearTimeout(this.#deadline);
    this.#deadline = undefined;
  }

  /** Leadership is gone: stop at once, without waiting for in-flight requests. */
  #lose(why: string): void {
    this.#loopCtl.abort();
    this.#clearDeadline();
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    if (this.isLeader()) {
      this.#log?.warn({ why }, 'lost leadership');
      this.#leaderCtl?.abort(new Error(`leadership lost: ${why}`));
      this.#stopped('lost');
    }
    this.#resolveDone();
  }

  #stop(release: boolean): Promise<void> {
    this.#stopping ??= this.#doStop(release);
    return this.#stopping;
  }

  async #doStop(release: boolean): Promise<void> {
    this.#loopCtl.abort();
    this.#clearDeadline();
    const wasLeading = this.#state !== 'stopped' && this.isLeader();
    // Work stops before the lease is handed over, so two leaders never overlap.
    this.#leaderCtl?.abort(new Error('leader election stopped'));
    // Let an in-flight attempt settle so the release is based on the latest resourceVersion, but
    // don't wait on a hung request for longer than a renew deadline.
    const waited = new AbortController();
    await Promise.race([this.#loop, sleep(this.#clock, this.renewDeadlineMs, waited.signal).catch(() => {})]);
    waited.abort();
    if (release) await this.#releaseLease();
    if (this.#state !== 'stopped') {
      this.#state = 'stopped';
      if (wasLeading) this.#stopped(release ? 'released' : 'stopped');
    }
    this.#resolveDone();
  }

  async #releaseLease(): Promise<void> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const lease = this.#lease;
      if (!lease || !this.#holds()) return;
      try {
        const updated = await this.#store.update(withSpec(lease, releasedSpec(lease.spec, this.#wall())));
        this.#lease = updated;
        this.#observed = { record: recordFromSpec(updated.spec), observedAtMs: this.#clock.now() };
        this.#log?.info('released the lease');
        return;
      } catch (err) {
        if (!(err instanceof LeaseConflictError) || attempt > 0) {
          this.#log?.warn(
            { err: errorMessage(err) },
            'failed to release the lease; it will expire on its own',
          );
          return;
        }
      }
      // Our copy was stale (e.g. a renew whose response was lost): reread; release if still ours.
      try {
        const current = await this.#store.get();
        if (!current) return;
        this.#lease = current;
        this.#observed = observe(this.#observed, recordFromSpec(current.spec), this.#clock.now());
      } catch (err) {
        this.#log?.warn({ err: errorMessage(err) }, 'failed to release the lease; it will expire on its own');
        return;
      }
    }
  }

  #stopped(reason: StoppedLeadingReason): void {
    this.#callback('onStoppedLeading', () => this.#opts.onStoppedLeading({ reason }));
  }

  #callback(name: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#log?.error({ err: errorMessage(err) }, `${name} threw`);
    }
  }
}

function withSpec(lease: Lease, spec: LeaseSpec): Lease {
  return { ...lease, metadata: { ...lease.metadata }, spec };
}
