// What reconcilers need from an Event recorder. The implementation
// (operator/src/kube/events.ts) writes events.k8s.io/v1 Events; tests can
// substitute a recorder that collects them.
import type { KubeObject } from '../kube/types.ts';

export interface EventInput {
  readonly type: 'Normal' | 'Warning';
  /** UpperCamelCase, machine-readable. */
  readonly reason: string;
  /** What the controller did or failed to do. */
  readonly action: string;
  /** Human-readable; never contains secrets. */
  readonly note: string;
  readonly related?: KubeObject;
}

export interface EventSink {
  record(regarding: KubeObject, event: EventInput): void;
}
