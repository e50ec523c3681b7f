// Prometheus metrics for the operator. Names follow controller-runtime and
// client-go (reconcile totals, workqueue_*, informer relists, REST client
// requests) under the `paddock_` prefix, so existing dashboards and alerts
// translate directly.
//
// Each Metrics owns its Registry instead of using prom-client's global one:
// tests create several, and nothing outside this class can register into ours.

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { RECONCILE_ERROR_KINDS, type ReconcileErrorKind } from '../controllers/reconcile-errors.ts';
import type { WorkqueueMetrics } from '../kube/workqueue-metrics.ts';

export type ReconcileResult = 'success' | 'error' | 'requeue';
export const RECONCILE_RESULTS: readonly ReconcileResult[] = ['success', 'error', 'requeue'];
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
/** Why an informer listed again: first sync, 410 Gone, a silent watch, or another error. */
export type RelistReason = 'initial' | 'gone' | 'watchdog' | 'error';
export type KubeEventType = 'Normal' | 'Warning';

/** Structurally the InformerMetrics of operator/src/kube/informer.ts (not imported: that file is its owner's). */
export interface InformerHooks {
  event(resource: string, type: string): void;
  relist(resource: string, reason: RelistReason): void;
  watchRestart(resource: string): void;
  cacheSize(resource: string, count: number): void;
}

// The operator's latencies are milliseconds when healthy (the performance budget, docs/benchmarks.md,
// targets 50-100 ms p99), so buckets are dense from 1 ms and stop at 10 s.
export const LATENCY_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

export interface MetricsOptions {
  /** Operator version for paddock_build_info; "unknown" when not given. */
  readonly version?: string;
  /** Process/Node.js metrics (CPU, RSS, heap, GC, event loop lag); on by default. */
  readonly defaultMetrics?: boolean;
}

export class Metrics {
  readonly registry: Registry;

  private readonly reconcileTotal: Counter<'controller' | 'result'>;
  private readonly reconcileErrors: Counter<'controller' | 'kind'>;
  private readonly reconcileDuration: Histogram<'controller'>;
  private readonly knownControllers = new Set<string>();

  private readonly wqDepth: Gauge<'name'>;
  private readonly wqAdds: Counter<'name'>;
  private readonly wqRetries: Counter<'name'>;
  private readonly wqQueueDuration: Histogram<'name'>;
  private readonly wqWorkDuration: Histogram<'name'>;
  private readonly wqUnfinished: Gauge<'name'>;
  private readonly wqLongest: Gauge<'name'>;
  private readonly queues = new Map<string, WorkqueueMetrics>();

  private readonly informerEvents: Counter<'resource' | 'type'>;
  private readonly informerRelists: Counter<'resource' | 'reason'>;
  private readonly informerWatchRestarts: Counter<'resource'>;
  private readonly informerCacheObjects: Gauge<'resource'>;

  private readonly leader: Gauge<'lease'>;
  private readonly apiRequests: Counter<'verb' | 'resource' | 'code'>;
  private readonly apiRequestDuration: Histogram<'verb' | 'resource'>;
  private readonly eventsEmitted: Counter<'reason' | 'type'>;

  private readonly workflowsByPhase: Gauge<'phase'>;
  private workflowPhaseSource: (() => ReadonlyMap<string, number>) | undefined;
  private readonly stepDuration: Histogram<'outcome'>;
  private readonly stepOutcomes: Counter<'outcome' | 'reason'>;
  private readonly podsCreated: Counter;
  private approvalSource:
    | (() => ReadonlyArray<{ status?: { phase?: string }; metadata: { creationTimestamp?: string } }>)
    | undefined;
  private readonly approvalResumeLatency: Histogram;
  private readonly approvalOutcomes: Counter<'phase'>;

  constructor(options: MetricsOptions = {}) {
    this.registry = new Registry();
    const registers = [this.registry];
    if (options.defaultMetrics !== false)
      collectDefaultMetrics({ register: this.registry, prefix: 'paddock_' });
    const buckets = [...LATENCY_BUCKETS];

    this.reconcileTotal = new Counter({
      name: 'paddock_reconcile_total',
      help: 'Reconciles by controller and result (success, error, requeue).',
      labelNames: ['controller', 'result'],
      registers,
    });
    this.reconcileErrors = new Counter({
      name: 'paddock_reconcile_errors_total',
      help: `Reconciles that returned an error, by controller and kind (${RECONCILE_ERROR_KINDS.join(', ')}); invalid and terminal ones are not retried.`,
      labelNames: ['controller', 'kind'],
      registers,
    });
    this.reconcileDuration = new Histogram({
      name: 'paddock_reconcile_duration_seconds',
      help: 'Time spent in one reconcile, by controller.',
      labelNames: ['controller'],
      buckets,
      registers,
    });

    this.wqDepth = new Gauge({
      name: 'paddock_workqueue_depth',
      help: 'Items waiting in the workqueue.',
      labelNames: ['name'],
      registers,
    });
    this.wqAdds = new Counter({
      name: 'paddock_workqueue_adds_total',
      help: 'Adds handled by the workqueue.',
      labelNames: ['name'],
      registers,
    });
    this.wqRetries = new Counter({
      name: 'paddock_workqueue_retries_total',
      help: 'Rate-limited re-adds (retries) handled by the workqueue.',
      labelNames: ['name'],
      registers,
    });
    this.wqQueueDuration = new Histogram({
      name: 'paddock_workqueue_queue_duration_seconds',
      help: 'Time an item stays in the workqueue before a worker takes it.',
      labelNames: ['name'],
      buckets,
      registers,
    });
    this.wqWorkDuration = new Histogram({
      name: 'paddock_workqueue_work_duration_seconds',
      help: 'Time a worker spends processing an item.',
      labelNames: ['name'],
      buckets,
      registers,
    });
    this.wqUnfinished = new Gauge({
      name: 'paddock_workqueue_unfinished_work_seconds',
      help: 'Seconds of work in progress not yet observed by work_duration; large values mean stuck workers.',
      labelNames: ['name'],
      registers,
    });
    this.wqLongest = new Gauge({
      name: 'paddock_workqueue_longest_running_processor_seconds',
      help: 'Seconds the longest-running worker has been processing its item.',
      labelNames: ['name'],
      registers,
    });

    this.informerEvents = new Counter({
      name: 'paddock_informer_events_total',
      help: 'Watch events received by informers, by resource and event type.',
      labelNames: ['resource', 'type'],
      registers,
    });
    this.informerRelists = new Counter({
      name: 'paddock_informer_relists_total',
      help: 'Full LISTs made by informers, by resource and reason (initial, gone, watchdog, error).',
      labelNames: ['resource', 'reason'],
      registers,
    });
    this.informerWatchRestarts = new Counter({
      name: 'paddock_informer_watch_restarts_total',
      help: 'Watches restarted by informers (closed by the server, errored, or silent too long).',
      labelNames: ['resource'],
      registers,
    });
    this.informerCacheObjects = new Gauge({
      name: 'paddock_informer_cache_objects',
      help: 'Objects held in the informer cache, by resource.',
      labelNames: ['resource'],
      registers,
    });

    this.leader = new Gauge({
      name: 'paddock_leader_election_is_leader',
      help: '1 while this replica holds the lease, else 0.',
      labelNames: ['lease'],
      registers,
    });
    this.apiRequests = new Counter({
      name: 'paddock_api_requests_total',
      help: 'Requests made to the Kubernetes API, by verb, resource and HTTP status code ("error" for transport failures).',
      labelNames: ['verb', 'resource', 'code'],
      registers,
    });
    this.apiRequestDuration = new Histogram({
      name: 'paddock_api_request_duration_seconds',
      help: 'Latency of requests to the Kubernetes API, by verb and resource.',
      labelNames: ['verb', 'resource'],
      buckets,
      registers,
    });
    this.eventsEmitted = new Counter({
      name: 'paddock_events_emitted_total',
      help: 'Kubernetes Events emitted by the operator, by reason and type.',
      labelNames: ['reason', 'type'],
      registers,
    });

    // Workflows by phase are counted from the informer cache when scraped, so the gauge is
    // always exactly what the operator sees (no increments to drift).
    const self = (): Metrics => this;
    this.workflowsByPhase = new Gauge({
      name: 'paddock_workflows',
      help: 'Workflows in the operator cache, by phase.',
      labelNames: ['phase'],
      registers,
      collect() {
        const counts = self().workflowPhaseSource?.();
        this.reset();
        if (!counts) return;
        for (const phase of [
          'Pending',
          'Running',
          'WaitingForApproval',
          'Succeeded',
          'Failed',
          'Cancelled',
        ]) {
          this.set({ phase }, counts.get(phase) ?? 0);
        }
      },
    });
    this.stepDuration = new Histogram({
      name: 'paddock_step_duration_seconds',
      help: 'Time from a step starting to its end (all attempts), by outcome.',
      labelNames: ['outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
      registers,
    });
    this.stepOutcomes = new Counter({
      name: 'paddock_step_outcomes_total',
      help: 'Step outcomes (Succeeded, Failed, Retried, Skipped, Cancelled) by reason.',
      labelNames: ['outcome', 'reason'],
      registers,
    });
    this.podsCreated = new Counter({
      name: 'paddock_pods_created_total',
      help: 'Agent pods created by the operator.',
      registers,
    });

    const pendingApprovals = (): Array<{ metadata: { creationTimestamp?: string } }> =>
      (self().approvalSource?.() ?? []).filter((a) => (a.status?.phase ?? 'Pending') === 'Pending');
    new Gauge({
      name: 'paddock_approvals_pending',
      help: 'Approvals waiting for decisions.',
      registers,
      collect() {
        this.set(pendingApprovals().length);
      },
    });
    new Gauge({
      name: 'paddock_approval_oldest_pending_seconds',
      help: 'Age of the oldest pending Approval (0 when none).',
      registers,
      collect() {
        const ages = pendingApprovals().map(
          (a) => (Date.now() - Date.parse(a.metadata.creationTimestamp ?? '')) / 1000,
        );
        this.set(ages.length ? Math.max(0, ...ages.filter((x) => Number.isFinite(x))) : 0);
      },
    });
    this.approvalResumeLatency = new Histogram({
      name: 'paddock_approval_resume_seconds',
      help: 'Time from the operator receiving the decision that approved an Approval to its gated pod being created.',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.approvalOutcomes = new Counter({
      name: 'paddock_approval_outcomes_total',
      help: 'Approvals decided, by outcome (Approved, Rejected, Expired, Superseded).',
      labelNames: ['phase'],
      registers,
    });

    const buildInfo = new Gauge({
      name: 'paddock_build_info',
      help: 'Always 1; labels carry the operator version and Node.js version.',
      labelNames: ['version', 'node'],
      registers,
    });
    buildInfo.set({ version: options.version ?? 'unknown', node: process.version }, 1);
  }

  /** Where paddock_workflows reads its counts from at scrape time (the Workflow informer). */
  setWorkflowPhaseSource(source: () => ReadonlyMap<string, number>): void {
    this.workflowPhaseSource = source;
  }

  stepFinished(outcome: string, reason: string, seconds: number | undefined): void {
    this.stepOutcomes.inc({ outcome, reason });
    if (seconds !== undefined && outcome !== 'Retried') this.stepDuration.observe({ outcome }, seconds);
  }

  setApprovalSource(
    source: () => ReadonlyArray<{ status?: { phase?: string }; metadata: { creationTimestamp?: string } }>,
  ): void {
    this.approvalSource = source;
  }

  approvalResumed(seconds: number): void {
    this.approvalResumeLatency.observe(seconds);
  }

  approvalOutcome(phase: string): void {
    this.approvalOutcomes.inc({ phase });
  }

  podCreated(): void {
    this.podsCreated.inc();
  }

  /** The Content-Type to serve render() output with. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition of every metric. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /**
   * Creates a controller's series at 0, so rate() and alerts see them from the
   * start instead of only after the first error. Called implicitly on first use.
   */
  initController(controller: string): void {
    if (this.knownControllers.has(controller)) return;
    this.knownControllers.add(controller);
    for (const result of RECONCILE_RESULTS) this.reconcileTotal.inc({ controller, result }, 0);
    for (const kind of RECONCILE_ERROR_KINDS) this.reconcileErrors.inc({ controller, kind }, 0);
  }

  /** Records one finished reconcile; `errorKind` says what failed (result 'error'; 'unknown' if not given). */
  observeReconcile(
    controller: string,
    result: ReconcileResult,
    seconds: number,
    errorKind?: ReconcileErrorKind,
  ): void {
    this.initController(controller);
    this.reconcileTotal.inc({ controller, result });
    if (result === 'error') this.reconcileErrors.inc({ controller, kind: errorKind ?? 'unknown' });
    this.reconcileDuration.observe({ controller }, seconds);
  }

  /** The recorder for one named workqueue; the same object for the same name. */
  workqueue(name: string): WorkqueueMetrics {
    let recorder = this.queues.get(name);
    if (recorder === undefined) {
      // Label children are resolved once, so the hot path does no label hashing.
      const depth = this.wqDepth.labels(name);
      const adds = this.wqAdds.labels(name);
      const retries = this.wqRetries.labels(name);
      const queueDuration = this.wqQueueDuration.labels(name);
      const workDuration = this.wqWorkDuration.labels(name);
      const unfinished = this.wqUnfinished.labels(name);
      const longest = this.wqLongest.labels(name);
      depth.set(0);
      adds.inc(0);
      retries.inc(0);
      unfinished.set(0);
      longest.set(0);
      recorder = {
        setDepth: (n) => depth.set(n),
        incAdds: () => adds.inc(),
        incRetries: () => retries.inc(),
        observeQueueDuration: (s) => queueDuration.observe(s),
        observeWorkDuration: (s) => workDuration.observe(s),
        setUnfinishedWork: (total, longestSeconds) => {
          unfinished.set(total);
          longest.set(longestSeconds);
        },
      };
      this.queues.set(name, recorder);
    }
    return recorder;
  }

  /** `type` is a WatchEventType; typed wider because it comes straight off the wire. */
  informerEvent(resource: string, type: WatchEventType | (string & {})): void {
    this.informerEvents.inc({ resource, type });
  }

  informerRelist(resource: string, reason: RelistReason): void {
    this.informerRelists.inc({ resource, reason });
  }

  informerWatchRestart(resource: string): void {
    this.informerWatchRestarts.inc({ resource });
  }

  setInformerCacheObjects(resource: string, count: number): void {
    this.informerCacheObjects.set({ resource }, count);
  }

  /** The hook object an Informer takes (operator/src/kube/informer.ts InformerMetrics). */
  informerMetrics(): InformerHooks {
    return {
      event: (resource, type) => this.informerEvent(resource, type),
      relist: (resource, reason) => this.informerRelist(resource, reason),
      watchRestart: (resource) => this.informerWatchRestart(resource),
      cacheSize: (resource, count) => this.setInformerCacheObjects(resource, count),
    };
  }

  setLeader(lease: string, isLeader: boolean): void {
    this.leader.set({ lease }, isLeader ? 1 : 0);
  }

  /**
   * Records one request to the Kubernetes API. `resource` should be the plural
   * (`pods`, `workflows`), never a name, to keep label cardinality bounded;
   * `code` is the HTTP status, or 0 / "error" when no response arrived.
   * An arrow property, so it can be handed over as the REST client's
   * `observe` callback without binding.
   */
  readonly apiRequest = (verb: string, resource: string, code: number | 'error', seconds: number): void => {
    this.apiRequests.inc({ verb, resource, code: code === 0 ? 'error' : String(code) });
    this.apiRequestDuration.observe({ verb, resource }, seconds);
  };

  eventEmitted(reason: string, type: KubeEventType): void {
    this.eventsEmitted.inc({ reason, type });
  }
}
