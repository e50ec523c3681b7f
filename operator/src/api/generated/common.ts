/* eslint-disable */
/**
 * Generated from the crds/ schemas (types shared by several CRDs) by operator/hack/generate-types.ts.
 * DO NOT EDIT: change the CRD and regenerate with `make generate`.
 */

/**
 * An approval policy (an Agent's spec.approval, a Workflow step's spec.steps[].approval): how many distinct approvers, who, and how long they have.
 */
export interface AgentApprovalPolicy {
  /**
   * Number of distinct approvers needed. Any rejection vetoes.
   */
  required?: number;
  /**
   * Who may decide, in addition to holding the `approve` RBAC verb on the Approval. Empty means anyone holding the verb. The requester can never approve their own step.
   */
  approvers?: Approvers;
  /**
   * Time people have to decide before the Approval is Expired and the step fails. At most 30 days.
   */
  timeoutSeconds?: number;
}

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
