/* eslint-disable */
/**
 * Generated from crds/agents.paddock.dev.yaml by operator/hack/generate-types.ts.
 * DO NOT EDIT: change the CRD and regenerate with `make generate`.
 */

import type { ObjectMeta } from '../meta.ts';
import type { AgentApprovalPolicy, Condition, JsonSchemaObject, RetryPolicy } from './common.ts';

/**
 * Auto runs the agent without a human in the loop. ApprovalRequired gates every step that uses this Agent behind an Approval that people decide (see spec.approval).
 */
export type RiskLevel = 'Auto' | 'ApprovalRequired';

/**
 * Agent is a containerized AI agent: its image, the JSON Schemas of its inputs and outputs, its risk level, the network egress and secrets it may use, and its limits. Workflow steps reference Agents by name; each step runs in a sandboxed pod built from the Agent.
 */
export interface Agent {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: AgentSpec;
  status?: AgentStatus;
}
/**
 * The desired Agent.
 */
export interface AgentSpec {
  /**
   * Container image of the agent. Pin it by digest (name@sha256:...); a tag is allowed but the Agent then reports an ImageNotPinned warning condition.
   */
  image: string;
  /**
   * Entrypoint of the container (replaces the image's ENTRYPOINT).
   */
  command?: string[];
  /**
   * Arguments to the entrypoint (replaces the image's CMD).
   */
  args?: string[];
  /**
   * Plain environment variables. Only literal values: secrets reach the container through spec.secrets, never through env. Names starting with PADDOCK_ are reserved for the operator.
   */
  env?: EnvVar[];
  riskLevel?: RiskLevel;
  /**
   * Free-form labels of what the agent can do (e.g. git-patch, file-modification), shown to approvers and usable in policies.
   */
  capabilities?: string[];
  /**
   * JSON Schema (2020-12) of the agent's inputs; its top-level type must be object. Properties marked `x-paddock-sensitive: true` are redacted everywhere the operator writes.
   */
  inputsSchema?: JsonSchemaObject;
  /**
   * JSON Schema (2020-12) of the agent's outputs (the JSON the container writes as its termination message); its top-level type must be object. Outputs that do not match fail the step.
   */
  outputsSchema?: JsonSchemaObject;
  resources?: ResourceRequirements;
  /**
   * Wall-clock limit of one attempt, in seconds (pod activeDeadlineSeconds). At most 7 days.
   */
  timeoutSeconds?: number;
  /**
   * How often a failed attempt is retried, and the backoff between attempts.
   */
  retries?: RetryPolicy;
  /**
   * Network destinations the agent may reach. Without entries the agent reaches nothing but cluster DNS. Each entry becomes a rule of the Agent's NetworkPolicy.
   */
  egress?: EgressRule[];
  /**
   * Secrets exposed to the agent as environment variables, each from one key of a Secret in the Agent's namespace (secretKeyRef). This is the only way secrets reach an agent.
   */
  secrets?: SecretEnvVar[];
  /**
   * Approval policy for riskLevel ApprovalRequired. Without it one approval by anyone allowed the `approve` verb on approvals.paddock.dev suffices, and it expires after 24 hours.
   */
  approval?: AgentApprovalPolicy;
  /**
   * RuntimeClass for stronger isolation where the cluster has one (e.g. gvisor, kata).
   */
  runtimeClassName?: string;
}
export interface EnvVar {
  /**
   * Variable name (a C identifier).
   */
  name: string;
  /**
   * Literal value.
   */
  value?: string;
}
/**
 * Compute resources of the agent container. Anything left out is filled from the namespace's LimitRange for agents; requests must not exceed limits.
 */
export interface ResourceRequirements {
  /**
   * Minimum resources (e.g. cpu, memory, ephemeral-storage).
   */
  requests?: {
    [k: string]: number | string;
  };
  /**
   * Maximum resources (e.g. cpu, memory, ephemeral-storage).
   */
  limits?: {
    [k: string]: number | string;
  };
}
export interface EgressRule {
  /**
   * Destination IPv4 or IPv6 CIDR (e.g. 140.82.112.0/20).
   */
  cidr: string;
  /**
   * Destination ports; all ports when empty.
   */
  ports?: number[];
  /**
   * Transport protocol of the ports.
   */
  protocol?: 'TCP' | 'UDP';
}
export interface SecretEnvVar {
  /**
   * Name of the environment variable (a C identifier).
   */
  env: string;
  secretKeyRef: SecretKeySelector;
}
/**
 * The Secret and key to read.
 */
export interface SecretKeySelector {
  /**
   * Name of the Secret, in the Agent's namespace.
   */
  name: string;
  /**
   * Key within the Secret.
   */
  key: string;
}
/**
 * The observed state of the Agent, written by the operator.
 */
export interface AgentStatus {
  /**
   * The metadata.generation this status describes.
   */
  observedGeneration?: number;
  /**
   * Ready, Reconciling, Stalled (kstatus) and warnings such as ImageNotPinned.
   *
   * Items: Condition is one aspect of the current state (the metav1.Condition shape).
   */
  conditions?: Condition[];
}
