// The contract between the workqueue (operator/src/kube/workqueue.ts) and whatever
// records its metrics (operator/src/observability/metrics.ts). Mirrors client-go's
// workqueue.MetricsProvider so the metric meanings are the ones Kubernetes users know.

export interface WorkqueueMetrics {
  /** Current number of items waiting to be processed (not counting delayed items). */
  setDepth(depth: number): void;
  /** An item was added (each add counts, even when it collapses into an existing one). */
  incAdds(): void;
  /** An item was re-added through the rate limiter (a retry). */
  incRetries(): void;
  /** Seconds an item waited in the queue before a worker took it. */
  observeQueueDuration(seconds: number): void;
  /** Seconds a worker spent on an item (get() to done()). */
  observeWorkDuration(seconds: number): void;
  /** Sum of seconds that in-progress items have been running, and the longest of them. */
  setUnfinishedWork(totalSeconds: number, longestSeconds: number): void;
}

/** A recorder that records nothing; the default when no metrics are wired. */
export const noopWorkqueueMetrics: WorkqueueMetrics = {
  setDepth: () => {},
  incAdds: () => {},
  incRetries: () => {},
  observeQueueDuration: () => {},
  observeWorkDuration: () => {},
  setUnfinishedWork: () => {},
};
