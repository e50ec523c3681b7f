// What a controller's setup function gets from the manager, in the manner of kubebuilder's
// SetupWithManager: the shared informer factory (one cache per resource and selector, whoever
// asks first creates it), the client, the Event sink, the logger and the metrics. Each
// controller folder's setup.ts says which informers, indexes and watches its controller needs;
// registry.ts lists the setups; manager.ts owns the lifecycle.
import type { Logger } from 'pino';
import type { ResourceRef } from '../api/constants.ts';
import type { Config } from '../config.ts';
import type { KubeClient } from '../kube/client.ts';
import type { IndexFunc, Informer } from '../kube/informer.ts';
import type { KubeObject } from '../kube/types.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { ControllerMetrics, ReconcileFailure } from './controller.ts';
import { reconcileFailingEvent, type EventSink } from './events.ts';
import type { Provenance } from './provenance.ts';

export interface InformerSpec<T extends KubeObject> {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** Cluster-scoped resources: only these objects, by name (one list + watch each). */
  readonly names?: readonly string[];
  /** Added to the shared informer unless it already has an index of that name. */
  readonly indexes?: Readonly<Record<string, IndexFunc<T>>>;
  /**
   * Shrinks each object before it is cached (default: drop managedFields). Set by the first
   * caller of a given informer; later callers share what it caches.
   */
  readonly transform?: (obj: T) => T;
}

/** Returns the shared informer for a resource (+ selectors), creating it on first use. */
export type InformerFactory = <T extends KubeObject>(ref: ResourceRef, spec?: InformerSpec<T>) => Informer<T>;

export interface SetupDeps {
  readonly config: Config;
  readonly client: KubeClient;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly events: EventSink;
  readonly informer: InformerFactory;
  /** The operator's signing key; the manager loads it before any controller starts. */
  readonly provenance: () => Provenance;
}

/** The reconcile and workqueue metrics of a Controller, recorded in the operator's Metrics. */
export function controllerMetrics(metrics: Metrics): ControllerMetrics {
  return {
    reconcile: (controller, result, seconds, errorKind) =>
      metrics.observeReconcile(controller, result, seconds, errorKind),
    workqueue: (name) => metrics.workqueue(name),
  };
}

/**
 * A Controller's onFailing hook that says on the object itself that its reconciles keep failing
 * (controller.ts FAILING_AFTER) or failed for good: a Warning Event, found through `informer`.
 */
export function reportFailing<T extends KubeObject>(
  events: EventSink,
  controller: string,
  informer: Informer<T>,
): (key: string, failure: ReconcileFailure) => void {
  return (key, failure) => {
    const obj = informer.get(key);
    if (obj) events.record(obj, reconcileFailingEvent(controller, failure));
  };
}
