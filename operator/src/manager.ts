// Wires the operator together: one client, shared informers, controllers,
// leader election, the probe/metrics server, and an orderly shutdown.
//
// Informers start at once on every replica (a warm standby fails over fast);
// controllers start only while this replica holds the lease.
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { Controller } from './controllers/controller.ts';
import { buildControllers } from './controllers/registry.ts';
import type { InformerSpec } from './controllers/setup.ts';
import type { KubeClient } from './kube/client.ts';
import { EventRecorder } from './kube/events.ts';
import { Informer, stripForCache } from './kube/informer.ts';
import { ApiLeaseStore, LeaderElector } from './kube/leaderelection.ts';
import type { KubeObject } from './kube/types.ts';
import type { Metrics } from './observability/metrics.ts';
import { startHealthServer, type HealthServer } from './server/http.ts';
import { Provenance } from './controllers/provenance.ts';
import { loadOrCreateSigningKey } from './kube/signing-key.ts';
import { errorFields } from './observability/logger.ts';
import type { ResourceRef } from './api/constants.ts';
import { realClock } from './kube/clock.ts';
import { afterLostLeadership, gracefulShutdown, lostLeadershipFlushMs } from './shutdown.ts';
import { errorMessage } from './util/errors.ts';

export interface ManagerDeps {
  readonly config: Config;
  readonly client: KubeClient;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Called when leadership is lost; the process should exit (docs/operations.md, "Process lifecycle"). */
  readonly onLostLeadership: () => void;
}

export class Manager {
  private readonly deps: ManagerDeps;
  private readonly informers: Informer<KubeObject>[] = [];
  private readonly informerByKey = new Map<string, Informer<KubeObject>>();
  private readonly controllers: Controller[] = [];
  private events: EventRecorder | undefined;
  private server: HealthServer | undefined;
  private elector: LeaderElector | undefined;
  private readonly electionAbort = new AbortController();
  private electionDone: Promise<void> | undefined;
  private leading = false;
  private controllersStarted = false;
  private shuttingDown = false;
  private provenance: Provenance | undefined;
  private signingKeyProblem = 'not loaded yet';
  private signingKeyLoaded: Promise<void> = Promise.resolve();

  constructor(deps: ManagerDeps) {
    this.deps = deps;
  }

  /** The address the probe server bound (tests ask for port 0). */
  get healthAddress(): { host: string; port: number } | undefined {
    return this.server?.address;
  }

  async start(): Promise<void> {
    const { config, logger, metrics } = this.deps;
    const events = new EventRecorder({
      client: this.deps.client,
      reportingInstance: config.identity,
      logger: logger.child({ component: 'events' }),
      onEmit: (reason: string, type: 'Normal' | 'Warning') => metrics.eventEmitted(reason, type),
    });
    this.events = events;
    this.controllers.push(
      ...buildControllers({
        config,
        client: this.deps.client,
        logger,
        metrics,
        events,
        informer: <T extends KubeObject>(ref: ResourceRef, spec?: InformerSpec<T>) =>
          this.informer<T>(ref, spec),
        provenance: () => {
          // Controllers start only after the key is loaded (startControllers).
          if (!this.provenance) throw new Error('the signing key is not loaded');
          return this.provenance;
        },
      }),
    );
    for (const c of this.controllers) metrics.initController(c.name);

    this.server = await startHealthServer({
      ...config.healthAddr,
      logger,
      metrics: metrics,
      ...(config.metricsAddr ? { metricsListen: config.metricsAddr } : {}),
      checks: {
        healthz: () => [{ name: 'ping', ok: true }],
        readyz: () => [
          ...this.informers.map((i) => informerCheck(i)),
          {
            name: 'signing-key',
            ok: this.provenance !== undefined,
            ...(this.provenance ? {} : { message: this.signingKeyProblem }),
          },
          {
            name: 'leader',
            ok: !config.leaderElect || this.leading,
            ...(!config.leaderElect || this.leading
              ? {}
              : { message: 'standby: another replica holds the lease' }),
          },
        ],
      },
    });
    logger.info({ address: this.server.address }, 'probe server listening');

    for (const i of this.informers) i.start();
    this.signingKeyLoaded = this.loadSigningKey();

    // Every replica reports the gauge (0 on standbys), so "nobody leads" is visible as a sum of 0.
    metrics.setLeader(config.leaseName, !config.leaderElect);
    if (config.leaderElect) {
      this.elector = new LeaderElector({
        store: new ApiLeaseStore(this.deps.client, config.leaseNamespace, config.leaseName),
        identity: config.identity,
        leaseDurationMs: config.leaseDurationSeconds * 1000,
        renewDeadlineMs: config.renewDeadlineSeconds * 1000,
        retryPeriodMs: config.retryPeriodSeconds * 1000,
        logger: logger.child({ component: 'leader-election' }),
        onStartedLeading: () => {
          this.leading = true;
          metrics.setLeader(config.leaseName, true);
          void this.startControllers();
        },
        onStoppedLeading: ({ reason }) => {
          this.leading = false;
          metrics.setLeader(config.leaseName, false);
          if (reason === 'lost' && !this.shuttingDown) {
            logger.error(
              { lease: config.leaseName },
              'lost leadership; exiting so a fresh process can compete again',
            );
            void afterLostLeadership(
              {
                // A deposed leader starts no reconcile; the Events of work already done are kept.
                stopNewWork: () => {
                  for (const c of this.controllers) c.queue.shutDown();
                },
                flushEvents: () => events.flush(),
                exit: () => this.deps.onLostLeadership(),
              },
              lostLeadershipFlushMs(config),
              realClock,
            );
          }
        },
        onNewLeader: (id: string) => logger.info({ leader: id }, 'leader observed'),
      });
      this.electionDone = this.elector.run(this.electionAbort.signal);
    } else {
      this.leading = true;
      await this.startControllers();
    }
  }

  /**
   * Graceful stop within --shutdown-timeout-seconds: no new work, finish in-flight reconciles,
   * write the Events still queued while the lease is released (shutdown.ts).
   */
  async shutdown(): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    const { logger, config } = this.deps;
    logger.info('shutting down');
    const outcome = await gracefulShutdown(
      {
        stopControllers: async (timeoutMs) => {
          await Promise.all(this.controllers.map((c) => c.stop(timeoutMs)));
        },
        flushEvents: () => this.events?.flush() ?? Promise.resolve(),
        releaseLeadership: async () => {
          await Promise.all(this.informers.map((i) => i.stop()));
          if (this.elector) {
            await this.elector.release();
            this.electionAbort.abort();
            await this.electionDone;
          }
        },
        closeServer: async () => {
          await this.server?.close();
        },
      },
      config.shutdownTimeoutSeconds * 1000,
      realClock,
    );
    const events = this.events?.stats();
    if (!outcome.eventsFlushed) {
      logger.warn(
        { pending: events?.pending, budgetMs: outcome.flushBudgetMs },
        'shutdown timeout: Events not yet written are abandoned',
      );
    }
    logger.info(
      events ? { events: { created: events.created, patched: events.patched, failed: events.failed } } : {},
      'shutdown complete',
    );
  }

  private async startControllers(): Promise<void> {
    if (this.controllersStarted) return;
    this.controllersStarted = true;
    // Reconcile from a synced cache only: an empty cache would look like "everything was deleted".
    await Promise.all([...this.informers.map((i) => i.waitForSync()), this.signingKeyLoaded]);
    if (this.shuttingDown || !this.provenance) return;
    for (const c of this.controllers) c.start();
    this.deps.logger.info({ controllers: this.controllers.map((c) => c.name) }, 'controllers started');
  }

  /**
   * Reads (or first creates) the signing key, retrying with backoff until it succeeds or the
   * process stops: a missing RBAC grant or an unreachable API server keeps the replica unready
   * (/readyz names the problem) instead of crash-looping.
   */
  private async loadSigningKey(): Promise<void> {
    const { config, logger } = this.deps;
    let delayMs = 1_000;
    while (!this.shuttingDown) {
      try {
        const key = await loadOrCreateSigningKey(
          this.deps.client,
          config.leaseNamespace,
          config.signingKeySecret,
        );
        this.provenance = new Provenance(key);
        logger.info({ secret: `${config.leaseNamespace}/${config.signingKeySecret}` }, 'signing key loaded');
        return;
      } catch (err) {
        this.signingKeyProblem = `cannot read or create Secret ${config.leaseNamespace}/${config.signingKeySecret}: ${errorMessage(err)}`;
        logger.error(errorFields(err), 'cannot load the signing key; retrying');
      }
      await new Promise((r) => setTimeout(r, delayMs));
      delayMs = Math.min(30_000, delayMs * 2);
    }
  }

  /** One shared informer per resource and selector; indexes are merged in. */
  private informer<T extends KubeObject>(ref: ResourceRef, spec: InformerSpec<T> = {}): Informer<T> {
    const names = spec.names ?? [];
    const key = `${ref.group}/${ref.plural}?${spec.labelSelector ?? ''}&${spec.fieldSelector ?? ''}&${names.join(',')}`;
    let inf = this.informerByKey.get(key) as Informer<T> | undefined;
    if (!inf) {
      const { config, logger, metrics } = this.deps;
      inf = new Informer<T>(this.deps.client, ref, {
        // Namespaced install mode: one list + watch per served namespace (docs/operations.md).
        ...(ref.namespaced && config.watchNamespaces.length > 0
          ? { namespaces: config.watchNamespaces }
          : {}),
        ...(names.length > 0 ? { names } : {}),
        ...(spec.labelSelector ? { labelSelector: spec.labelSelector } : {}),
        ...(spec.fieldSelector ? { fieldSelector: spec.fieldSelector } : {}),
        transform: spec.transform ?? stripForCache,
        watchdogMs: config.watchdogSeconds * 1000,
        logger: logger.child({ component: 'informer', resource: ref.plural }),
        metrics: metrics.informerMetrics(),
      });
      this.informerByKey.set(key, inf as unknown as Informer<KubeObject>);
      this.informers.push(inf as unknown as Informer<KubeObject>);
    }
    for (const [name, fn] of Object.entries(spec.indexes ?? {})) {
      if (!inf.hasIndex(name)) inf.addIndex(name, fn);
    }
    return inf;
  }
}

/** The /readyz check of one informer; with several namespaces it names those not synced yet. */
function informerCheck(i: Informer<KubeObject>): { name: string; ok: boolean; message?: string } {
  const name = `informer-${i.ref.plural}`;
  if (i.hasSynced()) return { name, ok: true };
  const waiting = i.unsyncedScopes().filter((s) => s !== '');
  return {
    name,
    ok: false,
    message: waiting.length > 0 ? `cache not synced for ${waiting.join(', ')}` : 'cache not synced',
  };
}
