/* eslint-disable */
/**
 * Generated from the crds/ schemas (types shared by several CRDs) by operator/hack/generate-types.ts.
 * DO NOT EDIT: change the CRD and regenerate with `make generate`.
 */

/**
 * Who may decide an Approval, besides holding the `approve` verb; empty means anyone holding the verb.
 */
export interface Approvers {
  users?: string[];
  groups?: string[];
}

/**
 * Delay before retry n is seconds * factor^(n-1), capped at maxSeconds.
 */
export interface Backoff {
  /**
   * Delay before the first retry.
   */
  seconds?: number;
  /**
   * Multiplier applied to the delay after each retry (1 = constant).
   */
  factor?: number;
  /**
   * Upper bound of the delay.
   */
  maxSeconds?: number;
}

/**
 * One aspect of the current state of an object (the metav1.Condition shape, kstatus conventions).
 */
export interface Condition {
  /**
   * Type of the condition, in CamelCase (e.g. Ready).
   */
  type: string;
  status: 'True' | 'False' | 'Unknown';
  /**
   * The metadata.generation the condition was set for.
   */
  observedGeneration?: number;
  /**
   * When status last changed.
   */
  lastTransitionTime: string;
  /**
   * Machine-readable CamelCase reason of the last transition.
   */
  reason: string;
  /**
   * Human-readable details.
   */
  message: string;
}

/**
 * A JSON Schema (draft 2020-12 unless $schema says draft-07) whose top-level type is object.
 */
export interface JsonSchemaObject {
  type: 'object';
  [k: string]: unknown;
}

/**
 * How often a failed attempt is retried, and the backoff between attempts.
 */
export interface RetryPolicy {
  /**
   * Number of retries after the first attempt (0 = no retry).
   */
  limit?: number;
  /**
   * Delay before retry n is seconds * factor^(n-1), capped at maxSeconds.
   */
  backoff?: Backoff;
}
