/* eslint-disable */
/**
 * Generated from crds/workflows.paddock.dev.yaml by operator/hack/generate-types.ts.
 * DO NOT EDIT: change the CRD and regenerate with `make generate`.
 */

import type { ObjectMeta } from '../meta.ts';
import type { AgentApprovalPolicy, Condition, RetryPolicy } from './common.ts';

/**
 * Never (default) keeps every pod until the Workflow is deleted (use ttlSecondsAfterFinished); OnPodSuccess deletes a step's pod as soon as the step succeeded, keeping failed pods for debugging; OnWorkflowSuccess deletes all pods once the whole Workflow succeeded; OnWorkflowCompletion deletes all pods once the Workflow finished, whatever its phase.
 */
export type PodGCStrategy = 'Never' | 'OnPodSuccess' | 'OnWorkflowSuccess' | 'OnWorkflowCompletion';
/**
 * Summary of the run.
 */
export type WorkflowPhase =
  'Pending' | 'Running' | 'WaitingForApproval' | 'Succeeded' | 'Failed' | 'Cancelled';
/**
 * Where the step is.
 */
export type StepPhase =
  'Pending' | 'Waiting' | 'Running' | 'Succeeded' | 'Failed' | 'Skipped' | 'WaitingForApproval' | 'Cancelled';

/**
 * Workflow is one run of a DAG of Agent steps, with input templating ({{ inputs.x }}, {{ steps.<name>.outputs.<field> }}), CEL conditions, retries and timeouts. A Workflow is immutable once created (steps and inputs); only the run controls (suspend, cancel, parallelism, deadlines, clean-up) may change.
 */
export interface Workflow {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: WorkflowSpec;
  status?: WorkflowStatus;
}
/**
 * The run to make.
 */
export interface WorkflowSpec {
  /**
   * The user who asked for this run, copied to its Approvals: the requester can never approve their own step. When set, it must be the authenticated user who creates the Workflow (the paddock-workflow-requester admission policy checks it). Immutable.
   */
  requestedBy?: string;
  /**
   * Inputs of the run, any JSON object. Steps read them with {{ inputs.<name> }} in their inputs. Immutable.
   */
  inputs?: { [k: string]: unknown };
  /**
   * Maximum number of steps running at the same time.
   */
  parallelism?: number;
  /**
   * Wall-clock limit of the whole run in seconds, counted from its start (waiting for approvals included). When it passes, running steps are stopped and the Workflow fails. At most 30 days.
   */
  activeDeadlineSeconds?: number;
  /**
   * Pauses the run: no new step starts while true; running steps finish. Set it back to false to resume. Reversible, unlike cancel.
   */
  suspend?: boolean;
  /**
   * Cancels the run: running steps are stopped, pending steps never start, finally steps run, and the Workflow ends in phase Cancelled. Once true it can only be cleared by a retry (spec.retry).
   */
  cancel?: boolean;
  /**
   * Deletes the Workflow (and, through owner references, its pods and Approvals) this many seconds after it finished. Kept forever when unset.
   */
  ttlSecondsAfterFinished?: number;
  podGC?: PodGC;
  /**
   * The steps of the DAG. A step starts when every step it dependsOn has succeeded (or failed with continueOnFailure) and its `when` condition holds. Immutable.
   */
  steps: WorkflowStep[];
  /**
   * Steps that run once the DAG of spec.steps has ended, whatever its outcome (succeeded, failed, cancelled or past its deadline): notify, clean up, report. They may dependsOn each other (not steps of spec.steps, which have all ended) and read {{ workflow.status }} (Succeeded, Failed or Cancelled), {{ workflow.failedSteps }} (names) and every step's outputs. Their own failure fails a run that had succeeded (reason FinallyFailed) and never hides the verdict of one that had not. Immutable.
   *
   * Items: One step of the DAG, run by an Agent.
   */
  finally?: {
    /**
     * Name of the step, a DNS-1123 label unique in the Workflow.
     */
    name: string;
    /**
     * The Agent, in the Workflow's namespace, that runs this step.
     */
    agentRef: {
      name: string;
    };
    /**
     * Steps that must finish before this one starts.
     */
    dependsOn?: string[];
    /**
     * CEL condition; the step is Skipped when it is false. It sees `inputs` and `steps.<name>.outputs` / `steps.<name>.phase` of the steps it depends on (e.g. steps.scan.outputs.findings > 0).
     */
    when?: string;
    /**
     * Inputs passed to the agent, validated against its inputsSchema after rendering. String values may use {{ inputs.<name> }} and {{ steps.<name>.outputs.<field> }}.
     */
    inputs?: { [k: string]: unknown };
    /**
     * Runs the step once per item of a list (a fan-out). The list is literal (items) or the value of a CEL expression over inputs and the outputs of the steps it depends on (expression, e.g. inputs.repos or steps.list.outputs.files), at most 5000 items. Each instance sees {{ item }} and {{ index }} (from 0) in its inputs and its `when`; instances count against spec.parallelism; dependents read steps.<name>.outputs as the list of the instances' outputs in item order (null for an instance that did not succeed). failurePolicy FailFast (default) starts no new instance once one has failed; RunAll runs them all; either way the step fails if an instance failed. Cannot be combined with approval.
     */
    forEach?: {
      /**
       * The list itself; any JSON values.
       */
      items?: unknown[];
      /**
       * CEL giving the list, evaluated once the steps it depends on have finished.
       */
      expression?: string;
      /**
       * FailFast starts no new instance once one failed (running ones finish); RunAll runs every instance.
       */
      failurePolicy?: 'FailFast' | 'RunAll';
    };
    /**
     * Overrides the Agent's timeoutSeconds for this step. At most 7 days.
     */
    timeoutSeconds?: number;
    /**
     * Overrides the Agent's retries for this step (fields left out come from the Agent).
     */
    retries?: {
      /**
       * Number of retries after the first attempt (0 = no retry).
       */
      limit?: number;
      /**
       * Delay before retry n is seconds * factor^(n-1), capped at maxSeconds.
       */
      backoff?: {
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
      };
    };
    /**
     * When true, a failure of this step (after its retries) does not fail the Workflow, and the steps that depend on it still run.
     */
    continueOnFailure?: boolean;
    /**
     * Gates this step behind an Approval even if its Agent is Auto (the same shape as the Agent's spec.approval). With an ApprovalRequired Agent it can only make the gate stronger: the larger required count and the shorter window apply, and the Agent's approvers whenever it names any. Immutable, like every step.
     */
    approval?: {
      /**
       * Number of distinct approvers needed. Any rejection vetoes.
       */
      required?: number;
      /**
       * Who may decide, in addition to holding the `approve` RBAC verb on the Approval. Empty means anyone holding the verb. The requester can never approve their own step.
       */
      approvers?: {
        users?: string[];
        groups?: string[];
      };
      /**
       * Time people have to decide before the Approval is Expired and the step fails. At most 30 days.
       */
      timeoutSeconds?: number;
    };
  }[];
  /**
   * Asks for the run to be retried once it has Failed or was Cancelled: the steps that did not succeed (and their dependents) run again as new attempts, succeeded steps keep their outputs, and gated steps ask for a fresh Approval. Raise count by one per request (kubectl paddock retry does); requestedBy must be the user making the request (the paddock-workflow-retry admission policy checks it). A retry of a cancelled run also clears spec.cancel.
   */
  retry?: {
    /**
     * Number of retries requested so far.
     */
    count: number;
    /**
     * The user who asked for the latest retry.
     */
    requestedBy: string;
  };
}
/**
 * When the pods of finished steps are deleted (their outputs are kept in status).
 */
export interface PodGC {
  strategy?: PodGCStrategy;
}
/**
 * One step of the DAG, run by an Agent.
 */
export interface WorkflowStep {
  /**
   * Name of the step, a DNS-1123 label unique in the Workflow.
   */
  name: string;
  agentRef: AgentRef;
  /**
   * Steps that must finish before this one starts.
   */
  dependsOn?: string[];
  /**
   * CEL condition; the step is Skipped when it is false. It sees `inputs` and `steps.<name>.outputs` / `steps.<name>.phase` of the steps it depends on (e.g. steps.scan.outputs.findings > 0).
   */
  when?: string;
  /**
   * Inputs passed to the agent, validated against its inputsSchema after rendering. String values may use {{ inputs.<name> }} and {{ steps.<name>.outputs.<field> }}.
   */
  inputs?: { [k: string]: unknown };
  forEach?: ForEach;
  /**
   * Overrides the Agent's timeoutSeconds for this step. At most 7 days.
   */
  timeoutSeconds?: number;
  /**
   * Overrides the Agent's retries for this step (fields left out come from the Agent).
   */
  retries?: RetryPolicy;
  /**
   * When true, a failure of this step (after its retries) does not fail the Workflow, and the steps that depend on it still run.
   */
  continueOnFailure?: boolean;
  /**
   * Gates this step behind an Approval even if its Agent is Auto (the same shape as the Agent's spec.approval). With an ApprovalRequired Agent it can only make the gate stronger: the larger required count and the shorter window apply, and the Agent's approvers whenever it names any. Immutable, like every step.
   */
  approval?: AgentApprovalPolicy;
}
/**
 * The Agent, in the Workflow's namespace, that runs this step.
 */
export interface AgentRef {
  name: string;
}
/**
 * Runs the step once per item of a list (a fan-out). The list is literal (items) or the value of a CEL expression over inputs and the outputs of the steps it depends on (expression, e.g. inputs.repos or steps.list.outputs.files), at most 5000 items. Each instance sees {{ item }} and {{ index }} (from 0) in its inputs and its `when`; instances count against spec.parallelism; dependents read steps.<name>.outputs as the list of the instances' outputs in item order (null for an instance that did not succeed). failurePolicy FailFast (default) starts no new instance once one has failed; RunAll runs them all; either way the step fails if an instance failed. Cannot be combined with approval.
 */
export interface ForEach {
  /**
   * The list itself; any JSON values.
   */
  items?: unknown[];
  /**
   * CEL giving the list, evaluated once the steps it depends on have finished.
   */
  expression?: string;
  /**
   * FailFast starts no new instance once one failed (running ones finish); RunAll runs every instance.
   */
  failurePolicy?: 'FailFast' | 'RunAll';
}
/**
 * The observed state of the run, written by the operator.
 */
export interface WorkflowStatus {
  /**
   * The metadata.generation this status describes.
   */
  observedGeneration?: number;
  phase?: WorkflowPhase;
  /**
   * When the first step started.
   */
  startedAt?: string;
  /**
   * When the run reached Succeeded, Failed or Cancelled.
   */
  finishedAt?: string;
  /**
   * Finished steps over all steps, e.g. 2/5.
   */
  progress?: string;
  /**
   * Ready, Reconciling, Stalled (kstatus).
   *
   * Items: Condition is one aspect of the current state (the metav1.Condition shape).
   */
  conditions?: Condition[];
  /**
   * The retry requests (spec.retry.count) the operator has carried out.
   */
  retries?: number;
  /**
   * The state of each step (spec.steps, then spec.finally), keyed by name.
   */
  steps?: StepStatus[];
  /**
   * Durable audit trail of the run's transitions (Events expire, this does not), oldest first, at most 100 entries: the oldest are dropped first.
   */
  history?: HistoryEntry[];
}
/**
 * The observed state of one step.
 */
export interface StepStatus {
  /**
   * Name of the step (spec.steps[].name).
   */
  name: string;
  phase: StepPhase;
  /**
   * Current attempt, from 1 (0 before the first start).
   */
  attempt?: number;
  /**
   * Pod of the current attempt.
   */
  podName?: string;
  /**
   * Approval gating this step (ApprovalRequired Agents, or spec.steps[].approval), named <workflow>-<step>-approval-<n>; n grows when an Approval is superseded.
   */
  approvalName?: string;
  startedAt?: string;
  finishedAt?: string;
  /**
   * When the next attempt may start (retry backoff or quota wait).
   */
  nextRetryAt?: string;
  /**
   * Exit code of the agent container of the last attempt.
   */
  exitCode?: number;
  /**
   * Outputs of the step (validated against the Agent's outputsSchema, sensitive fields redacted).
   */
  outputs?: { [k: string]: unknown };
  instances?: InstancesStatus;
  /**
   * Machine-readable CamelCase reason for the phase.
   */
  reason?: string;
  /**
   * Human-readable details.
   */
  message?: string;
}
/**
 * The instances of a forEach step, kept compact so a 5000-item fan-out stays small: one letter per instance, the active ones in full, the first failures, and the outputs in item order. Each instance's start, success and retries are in the audit log; failures are also Events (docs/workflow-authors.md, "Fan-out").
 */
export interface InstancesStatus {
  /**
   * Number of items, so of instances.
   */
  count: number;
  /**
   * One letter per instance in item order: P Pending, W Waiting, R Running, S Succeeded, F Failed, K Skipped, C Cancelled.
   */
  phases: string;
  /**
   * Counts by phase, e.g. "37/50 done (35 succeeded, 2 failed), 5 running".
   */
  summary?: string;
  /**
   * The attempt of the instances whose attempt is not the default (0 for pending, 1 for the others), by index.
   */
  attempts?: {
    [k: string]: number;
  };
  /**
   * The instances running or waiting to start again, in full.
   */
  active?: ActiveInstance[];
  /**
   * The first failed instances (at most 20), with why.
   */
  failures?: FailedInstance[];
  /**
   * The instances' outputs in item order (null for an instance that did not succeed), sensitive fields redacted; together at most 128 KiB of JSON.
   */
  outputs?: ({ [k: string]: unknown } | null)[];
}
export interface ActiveInstance {
  index: number;
  attempt?: number;
  podName?: string;
  startedAt?: string;
  nextRetryAt?: string;
  reason?: string;
  message?: string;
}
export interface FailedInstance {
  index: number;
  attempt?: number;
  reason?: string;
  message?: string;
}
/**
 * One transition of the run.
 */
export interface HistoryEntry {
  at: string;
  /**
   * What happened, in CamelCase (e.g. StepStarted, StepSucceeded, ApprovalDecided).
   */
  type: string;
  /**
   * The step concerned, if any.
   */
  step?: string;
  attempt?: number;
  /**
   * The authenticated user concerned, if any (e.g. who approved).
   */
  user?: string;
  reason?: string;
  message?: string;
}
