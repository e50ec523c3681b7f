import { register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { RequestObserver } from '../../../operator/src/kube/client.ts';
import type { InformerMetrics } from '../../../operator/src/kube/informer.ts';
import { RECONCILE_ERROR_KINDS } from '../../../operator/src/controllers/reconcile-errors.ts';
import { LATENCY_BUCKETS, Metrics } from '../../../operator/src/observability/metrics.ts';

async function series(metrics: Metrics, name: string) {
  const metric = metrics.registry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`no metric ${name}`);
  return (await metric.get()).values;
}

function sameLabels(
  actual: Record<string, string | number | undefined>,
  wanted: Record<string, string>,
): boolean {
  const keys = Object.keys(actual);
  return keys.length === Object.keys(wanted).length && keys.every((k) => String(actual[k]) === wanted[k]);
}

// The value of one counter or gauge series, as a scrape would see it.
async function value(
  metrics: Metrics,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  return (await series(metrics, name)).find((v) => sameLabels(v.labels, labels))?.value;
}

// How many observations a histogram series holds (its _count).
async function histogramCount(
  metrics: Metrics,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  return (await series(metrics, name)).find(
    (v) => (v as { metricName?: string }).metricName === `${name}_count` && sameLabels(v.labels, labels),
  )?.value;
}

const ALL_NAMES = [
  'paddock_reconcile_total',
  'paddock_reconcile_errors_total',
  'paddock_reconcile_duration_seconds',
  'paddock_workqueue_depth',
  'paddock_workqueue_adds_total',
  'paddock_workqueue_retries_total',
  'paddock_workqueue_queue_duration_seconds',
  'paddock_workqueue_work_duration_seconds',
  'paddock_workqueue_unfinished_work_seconds',
  'paddock_workqueue_longest_running_processor_seconds',
  'paddock_informer_events_total',
  'paddock_informer_relists_total',
  'paddock_informer_watch_restarts_total',
  'paddock_informer_cache_objects',
  'paddock_leader_election_is_leader',
  'paddock_api_requests_total',
  'paddock_api_request_duration_seconds',
  'paddock_events_emitted_total',
  'paddock_build_info',
];

describe('Metrics', () => {
  it('renders every operator metric with HELP and TYPE, plus build info', async () => {
    const metrics = new Metrics({ version: '1.2.3', defaultMetrics: false });
    const text = await metrics.render();
    for (const name of ALL_NAMES) {
      expect(text).toContain(`# HELP ${name} `);
      expect(text).toContain(`# TYPE ${name} `);
    }
    expect(text).toContain(`paddock_build_info{version="1.2.3",node="${process.version}"} 1`);
    expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('includes process metrics with the paddock_ prefix unless disabled', async () => {
    expect(await new Metrics().render()).toMatch(/^paddock_process_resident_memory_bytes \d+/m);
    expect(await new Metrics({ defaultMetrics: false }).render()).not.toContain('paddock_process_');
  });

  it('uses its own registry: instances are independent and the global registry stays empty', async () => {
    const a = new Metrics({ defaultMetrics: false });
    const b = new Metrics({ defaultMetrics: false });
    a.eventEmitted('StepStarted', 'Normal');
    expect(await value(a, 'paddock_events_emitted_total', { reason: 'StepStarted', type: 'Normal' })).toBe(1);
    expect(
      await value(b, 'paddock_events_emitted_total', { reason: 'StepStarted', type: 'Normal' }),
    ).toBeUndefined();
    expect(globalRegistry.getSingleMetric('paddock_events_emitted_total')).toBeUndefined();
  });

  it('counts reconciles by result, errors separately, and observes durations', async () => {
    const m = new Metrics({ defaultMetrics: false });
    m.observeReconcile('workflow', 'success', 0.004);
    m.observeReconcile('workflow', 'success', 0.02);
    m.observeReconcile('workflow', 'error', 0.1, 'conflict');
    m.observeReconcile('workflow', 'requeue', 0.001);
    expect(await value(m, 'paddock_reconcile_total', { controller: 'workflow', result: 'success' })).toBe(2);
    expect(await value(m, 'paddock_reconcile_total', { controller: 'workflow', result: 'error' })).toBe(1);
    expect(await value(m, 'paddock_reconcile_total', { controller: 'workflow', result: 'requeue' })).toBe(1);
    expect(
      await value(m, 'paddock_reconcile_errors_total', { controller: 'workflow', kind: 'conflict' }),
    ).toBe(1);
    expect(
      await value(m, 'paddock_reconcile_errors_total', { controller: 'workflow', kind: 'invalid' }),
    ).toBe(0);
    expect(await histogramCount(m, 'paddock_reconcile_duration_seconds', { controller: 'workflow' })).toBe(4);
    const text = await m.render();
    expect(text).toContain('paddock_reconcile_duration_seconds_bucket{le="0.005",controller="workflow"} 2');
    expect(text).toContain('paddock_reconcile_duration_seconds_bucket{le="0.001",controller="workflow"} 1');
  });

  it('initController creates zero series so alerts see a controller before its first error', async () => {
    const m = new Metrics({ defaultMetrics: false });
    m.initController('approval');
    for (const kind of RECONCILE_ERROR_KINDS) {
      expect(await value(m, 'paddock_reconcile_errors_total', { controller: 'approval', kind })).toBe(0);
    }
    for (const result of ['success', 'error', 'requeue']) {
      expect(await value(m, 'paddock_reconcile_total', { controller: 'approval', result })).toBe(0);
    }
  });

  it('labels reconcile errors by kind, from the bounded set only', async () => {
    const m = new Metrics({ defaultMetrics: false });
    m.observeReconcile('agent', 'error', 0.01, 'invalid');
    m.observeReconcile('agent', 'error', 0.01, 'invalid');
    m.observeReconcile('agent', 'error', 0.01, 'terminal');
    m.observeReconcile('agent', 'error', 0.01); // no kind given: unknown
    m.observeReconcile('agent', 'success', 0.01, 'network'); // a kind with success is not an error
    expect(await value(m, 'paddock_reconcile_errors_total', { controller: 'agent', kind: 'invalid' })).toBe(
      2,
    );
    expect(await value(m, 'paddock_reconcile_errors_total', { controller: 'agent', kind: 'terminal' })).toBe(
      1,
    );
    expect(await value(m, 'paddock_reconcile_errors_total', { controller: 'agent', kind: 'unknown' })).toBe(
      1,
    );
    expect(await value(m, 'paddock_reconcile_errors_total', { controller: 'agent', kind: 'network' })).toBe(
      0,
    );
    const kinds = new Set(
      (await series(m, 'paddock_reconcile_errors_total')).map((v) => String(v.labels['kind'])),
    );
    expect([...kinds].sort()).toEqual([...RECONCILE_ERROR_KINDS].sort());
    expect(await m.render()).toContain('paddock_reconcile_errors_total{controller="agent",kind="invalid"} 2');
  });

  it('latency buckets span 1 ms to 10 s', () => {
    expect(LATENCY_BUCKETS[0]).toBe(0.001);
    expect(LATENCY_BUCKETS.at(-1)).toBe(10);
    expect([...LATENCY_BUCKETS].sort((x, y) => x - y)).toEqual(LATENCY_BUCKETS);
  });

  it('workqueue(name) records the client-go workqueue metrics for that queue only', async () => {
    const m = new Metrics({ defaultMetrics: false });
    const q = m.workqueue('workflow');
    expect(m.workqueue('workflow')).toBe(q);
    const other = m.workqueue('agent');
    q.incAdds();
    q.incAdds();
    q.incRetries();
    q.setDepth(7);
    q.observeQueueDuration(0.003);
    q.observeWorkDuration(0.2);
    q.observeWorkDuration(0.3);
    q.setUnfinishedWork(12.5, 9);
    other.incAdds();
    expect(await value(m, 'paddock_workqueue_adds_total', { name: 'workflow' })).toBe(2);
    expect(await value(m, 'paddock_workqueue_adds_total', { name: 'agent' })).toBe(1);
    expect(await value(m, 'paddock_workqueue_retries_total', { name: 'workflow' })).toBe(1);
    expect(await value(m, 'paddock_workqueue_retries_total', { name: 'agent' })).toBe(0);
    expect(await value(m, 'paddock_workqueue_depth', { name: 'workflow' })).toBe(7);
    expect(await histogramCount(m, 'paddock_workqueue_queue_duration_seconds', { name: 'workflow' })).toBe(1);
    expect(await histogramCount(m, 'paddock_workqueue_work_duration_seconds', { name: 'workflow' })).toBe(2);
    expect(await value(m, 'paddock_workqueue_unfinished_work_seconds', { name: 'workflow' })).toBe(12.5);
    expect(await value(m, 'paddock_workqueue_longest_running_processor_seconds', { name: 'workflow' })).toBe(
      9,
    );
  });

  it('records informer, leader election, API request and Event metrics', async () => {
    const m = new Metrics({ defaultMetrics: false });
    m.informerEvent('pods', 'ADDED');
    m.informerEvent('pods', 'MODIFIED');
    m.informerEvent('pods', 'MODIFIED');
    m.informerRelist('pods', 'initial');
    m.informerRelist('pods', 'gone');
    m.informerWatchRestart('pods');
    m.setInformerCacheObjects('pods', 42);
    m.setLeader('paddock-operator', true);
    m.apiRequest('PATCH', 'pods', 201, 0.01);
    m.apiRequest('PATCH', 'pods', 409, 0.02);
    m.apiRequest('GET', 'leases', 'error', 1);
    const observe = m.apiRequest; // handed to the REST client unbound
    observe('get', 'leases', 0, 2);
    m.eventEmitted('StepFailed', 'Warning');

    expect(await value(m, 'paddock_informer_events_total', { resource: 'pods', type: 'MODIFIED' })).toBe(2);
    expect(await value(m, 'paddock_informer_events_total', { resource: 'pods', type: 'ADDED' })).toBe(1);
    expect(await value(m, 'paddock_informer_relists_total', { resource: 'pods', reason: 'gone' })).toBe(1);
    expect(await value(m, 'paddock_informer_watch_restarts_total', { resource: 'pods' })).toBe(1);
    expect(await value(m, 'paddock_informer_cache_objects', { resource: 'pods' })).toBe(42);
    expect(await value(m, 'paddock_leader_election_is_leader', { lease: 'paddock-operator' })).toBe(1);
    m.setLeader('paddock-operator', false);
    expect(await value(m, 'paddock_leader_election_is_leader', { lease: 'paddock-operator' })).toBe(0);
    expect(
      await value(m, 'paddock_api_requests_total', { verb: 'PATCH', resource: 'pods', code: '409' }),
    ).toBe(1);
    expect(
      await value(m, 'paddock_api_requests_total', { verb: 'GET', resource: 'leases', code: 'error' }),
    ).toBe(1);
    expect(
      await histogramCount(m, 'paddock_api_request_duration_seconds', { verb: 'PATCH', resource: 'pods' }),
    ).toBe(2);
    expect(await value(m, 'paddock_events_emitted_total', { reason: 'StepFailed', type: 'Warning' })).toBe(1);
  });

  it('informerMetrics() adapts to the Informer hook interface', async () => {
    const m = new Metrics({ defaultMetrics: false });
    const hooks = m.informerMetrics();
    hooks.event('workflows', 'DELETED');
    hooks.relist('workflows', 'watchdog');
    hooks.watchRestart('workflows');
    hooks.cacheSize('workflows', 3);
    expect(await value(m, 'paddock_informer_events_total', { resource: 'workflows', type: 'DELETED' })).toBe(
      1,
    );
    expect(
      await value(m, 'paddock_informer_relists_total', { resource: 'workflows', reason: 'watchdog' }),
    ).toBe(1);
    expect(await value(m, 'paddock_informer_watch_restarts_total', { resource: 'workflows' })).toBe(1);
    expect(await value(m, 'paddock_informer_cache_objects', { resource: 'workflows' })).toBe(3);
  });

  it('plugs into the informer and REST client hooks as they are declared', async () => {
    const m = new Metrics({ defaultMetrics: false });
    // These assignments are the type check (tsc); the calls check the wiring.
    const informer: InformerMetrics = m.informerMetrics();
    const observe: RequestObserver = m.apiRequest;
    informer.event('agents', 'ADDED');
    observe('apply', 'pods', 200, 0.01);
    expect(await value(m, 'paddock_informer_events_total', { resource: 'agents', type: 'ADDED' })).toBe(1);
    expect(
      await value(m, 'paddock_api_requests_total', { verb: 'apply', resource: 'pods', code: '200' }),
    ).toBe(1);
  });
});
