/* eslint-disable */
/**
 * Generated from crds/approvals.paddock.dev.yaml by operator/hack/generate-types.ts.
 * DO NOT EDIT: change the CRD and regenerate with `make generate`.
 */

import type { ObjectMeta } from '../meta.ts';
import type { Approvers, Condition } from './common.ts';

export type DecisionValue = 'Approve' | 'Reject';
/**
 * Pending until decided. Approved, Rejected and Expired are final, except that Approved becomes Superseded when what was approved (the Agent, image or inputs) changed before the step ran; a newer Approval (status.supersededBy) then asks again. Superseded is final. Invalid (final): the operator did not create this Approval (it carries no valid operator signature), so it gates nothing and takes no decisions.
 */
export type ApprovalPhase = 'Pending' | 'Approved' | 'Rejected' | 'Expired' | 'Superseded' | 'Invalid';

/**
 * Approval is a human decision that gates one step of a Workflow. It records what is asked (agent, its generation, image and a digest of the rendered inputs), the policy, and the decisions, each made with the identity the API server authenticated. Decisions are append-only and a decided Approval is immutable.
 */
export interface Approval {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: ApprovalSpec;
  status?: ApprovalStatus;
}
/**
 * The request and the decisions made on it.
 */
export interface ApprovalSpec {
  workflowRef: WorkflowRef;
  /**
   * Name of the gated step. Immutable.
   */
  step: string;
  request: ApprovalRequest;
  policy: ApprovalPolicy;
  /**
   * Authenticated user who created the Workflow, when known. Cannot approve. Immutable.
   */
  requestedBy?: string;
  /**
   * Authenticated user who asked for the retry of the run that made this request (the Workflow's spec.retry.requestedBy); absent for a run never retried. Like requestedBy, they cannot approve it. Immutable.
   */
  retryRequestedBy?: string;
  /**
   * Decisions, one per user, appended at the end (kubectl paddock approve|reject). Existing entries cannot be changed, removed or reordered.
   */
  decisions?: Decision[];
}
/**
 * The Workflow whose step this Approval gates. Immutable.
 */
export interface WorkflowRef {
  name: string;
  /**
   * UID of the Workflow, so a new Workflow of the same name cannot reuse the Approval.
   */
  uid?: string;
}
/**
 * What is to be approved. If the Agent's generation, the image or the rendered inputs change before the step runs, the approval is void. Immutable.
 */
export interface ApprovalRequest {
  /**
   * Name of the Agent.
   */
  agent: string;
  /**
   * metadata.generation of the Agent when the Approval was requested.
   */
  agentGeneration: number;
  /**
   * Image the step will run.
   */
  image: string;
  /**
   * The Agent's declared capabilities, for the approver's information.
   */
  capabilities?: string[];
  /**
   * Rendered inputs of the step, with sensitive fields redacted.
   */
  inputs?: { [k: string]: unknown };
  /**
   * HMAC-SHA256, keyed with the operator's signing key, over the agent's generation, the image and the full rendered inputs, sensitive values included; being keyed, it cannot be used to confirm guesses of those values.
   */
  digest: string;
}
/**
 * The policy that applies, copied from the Agent. Immutable.
 */
export interface ApprovalPolicy {
  /**
   * Number of distinct approvers needed. Any rejection vetoes.
   */
  required: number;
  /**
   * Who may decide (besides holding the `approve` verb); empty means anyone holding the verb.
   */
  approvers?: Approvers;
  /**
   * When the Approval expires if still undecided (it then becomes Expired and the step fails).
   */
  expiresAt?: string;
}
/**
 * One person's decision.
 */
export interface Decision {
  /**
   * Username as authenticated by the API server (admission checks it is the caller).
   */
  user: string;
  decision: DecisionValue;
  comment?: string;
  /**
   * When the decision was made.
   */
  at?: string;
}
/**
 * The observed state of the Approval, written by the operator.
 */
export interface ApprovalStatus {
  /**
   * The metadata.generation this status describes.
   */
  observedGeneration?: number;
  phase?: ApprovalPhase;
  /**
   * The user whose decision decided the Approval (the last approver needed, or the first rejecter).
   */
  decidedBy?: string;
  /**
   * When the Approval left Pending.
   */
  decidedAt?: string;
  /**
   * Users whose Approve decisions count towards spec.policy.required, in decision order.
   */
  approvedBy?: string[];
  /**
   * Users who rejected, in decision order (any rejection vetoes).
   */
  rejectedBy?: string[];
  /**
   * Name of the newer Approval that replaces this one (phase Superseded).
   */
  supersededBy?: string;
  /**
   * Machine-readable CamelCase reason for the phase.
   */
  reason?: string;
  /**
   * Human-readable details of the phase.
   */
  message?: string;
  /**
   * Ready, Reconciling, Stalled (kstatus).
   *
   * Items: Condition is one aspect of the current state (the metav1.Condition shape).
   */
  conditions?: Condition[];
}
