// Labels, annotations and names on the objects Paddock creates for agents.
// The sandbox (NetworkPolicies, quota) selects agent pods by these labels, so
// they are part of the security boundary: change them only together.

export const LABEL_AGENT_POD = 'paddock.dev/agent-pod'; // "true" on every agent pod
export const LABEL_WORKFLOW = 'paddock.dev/workflow';
export const LABEL_STEP = 'paddock.dev/step';
export const LABEL_ATTEMPT = 'paddock.dev/attempt';
/** On the pods of a forEach step: the instance's index in the list (docs/workflow-authors.md, "Fan-out"). */
export const LABEL_INSTANCE = 'paddock.dev/instance';
export const LABEL_AGENT = 'paddock.dev/agent';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'paddock';
/** On sandbox objects (policies, quota, LimitRange, ServiceAccount): which part of the sandbox. */
export const LABEL_SANDBOX_COMPONENT = 'paddock.dev/sandbox';
/** Values of LABEL_SANDBOX_COMPONENT. */
export const SANDBOX_COMPONENT_DEFAULT_DENY = 'default-deny';
export const SANDBOX_COMPONENT_AGENT_EGRESS = 'agent-egress';
export const SANDBOX_COMPONENT_QUOTA = 'quota';
export const SANDBOX_COMPONENT_LIMIT_RANGE = 'limit-range';
export const SANDBOX_COMPONENT_SERVICE_ACCOUNT = 'service-account';

/** Rendered inputs of a step (JSON), delivered to the container as a file through the downward API. */
export const ANNOTATION_INPUTS = 'paddock.dev/inputs';
/** Keyed digest of the canonical rendered inputs, image and Agent generation (what an Approval binds to). */
export const ANNOTATION_INPUTS_DIGEST = 'paddock.dev/inputs-digest';
/**
 * The operator's HMAC signature on what it creates and later trusts (Approvals, agent pods): an
 * object without a valid one was not made by the operator and is never adopted (controllers/provenance.ts).
 */
export const ANNOTATION_SIGNATURE = 'paddock.dev/signature';
/** On a Workflow made by `kubectl paddock resubmit`: the run it copies. */
export const ANNOTATION_RESUBMITTED_FROM = 'paddock.dev/resubmitted-from';

/** Per-namespace overrides of the sandbox defaults (annotations on the Namespace). */
export const ANNOTATION_NS_QUOTA_PODS = 'paddock.dev/agent-quota-pods';
export const ANNOTATION_NS_QUOTA_CPU = 'paddock.dev/agent-quota-cpu';
export const ANNOTATION_NS_QUOTA_MEMORY = 'paddock.dev/agent-quota-memory';
export const ANNOTATION_NS_DEFAULT_CPU_REQUEST = 'paddock.dev/agent-default-cpu-request';
export const ANNOTATION_NS_DEFAULT_MEMORY_REQUEST = 'paddock.dev/agent-default-memory-request';
export const ANNOTATION_NS_DEFAULT_CPU_LIMIT = 'paddock.dev/agent-default-cpu-limit';
export const ANNOTATION_NS_DEFAULT_MEMORY_LIMIT = 'paddock.dev/agent-default-memory-limit';

/** Names of the per-namespace sandbox objects. */
export const SANDBOX_DEFAULT_DENY_POLICY = 'paddock-agents-default-deny';
export const SANDBOX_QUOTA = 'paddock-agents';
export const SANDBOX_LIMIT_RANGE = 'paddock-agents';
export const SANDBOX_SERVICE_ACCOUNT = 'paddock-agent';
/** The per-Agent egress policy: `paddock-agent-<agent name>`. */
export function agentEgressPolicyName(agent: string): string {
  return `paddock-agent-${agent}`;
}

/** Where the container finds things. */
export const INPUTS_MOUNT_DIR = '/paddock';
export const INPUTS_FILE = '/paddock/inputs.json';
export const TERMINATION_MESSAGE_PATH = '/dev/termination-log';
/** The agent container's name in every agent pod. */
export const AGENT_CONTAINER = 'agent';
/** The agent pod's init container that proves its NetworkPolicies are enforced (controllers/sandbox/network-gate.ts). */
export const GATE_CONTAINER = 'paddock-network-gate';
/** Environment variables the operator sets in every agent container (Agents may not use the PADDOCK_ prefix). */
export const ENV_INPUTS = 'PADDOCK_INPUTS';
export const ENV_INPUTS_FILE = 'PADDOCK_INPUTS_FILE';
export const ENV_OUTPUTS_FILE = 'PADDOCK_OUTPUTS_FILE';
export const ENV_WORKFLOW = 'PADDOCK_WORKFLOW';
export const ENV_STEP = 'PADDOCK_STEP';
export const ENV_ATTEMPT = 'PADDOCK_ATTEMPT';
/** The instance's index in a forEach step's list (only in the pods of forEach steps). */
export const ENV_INSTANCE = 'PADDOCK_INSTANCE';
/** The non-root user and group agent containers run as (the "nonroot" user of distroless images). */
export const AGENT_UID = 65532;
/** Size limit of the writable /tmp emptyDir in agent pods (the root filesystem is read-only). */
export const AGENT_TMP_SIZE_LIMIT = '256Mi';

/**
 * Pod name of one attempt of one step: `<workflow>-<step>-<attempt>`. Deterministic, so a
 * reconcile that crashed after creating the pod finds it again and never makes a second one.
 * Workflow and step names are DNS-1123 labels (<= 63 each), so this stays a valid pod name.
 */
export function podName(workflow: string, step: string, attempt: number): string {
  return `${workflow}-${step}-${attempt}`;
}

/**
 * Pod name of one attempt of one instance of a forEach step: `<workflow>-<step>-<index>-<attempt>`.
 * A step named `<step>-<digits>` beside a forEach step `<step>` could produce the same names, so
 * validation refuses that pair (validate.ts).
 */
export function instancePodName(workflow: string, step: string, index: number, attempt: number): string {
  return `${workflow}-${step}-${index}-${attempt}`;
}

/** The pod name of an attempt of a step, or of one of its instances when `instance` is given. */
export function attemptPodName(
  workflow: string,
  step: string,
  attempt: number,
  instance: number | undefined,
): string {
  return instance === undefined
    ? podName(workflow, step, attempt)
    : instancePodName(workflow, step, instance, attempt);
}
