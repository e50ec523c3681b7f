// The agent pod of one attempt of one workflow step (docs/agent-authors.md, "The contract in one table" and
// "The sandbox"). Pure.
//
// Every pod passes the Pod Security Standards "restricted" profile, so it is admitted in a
// namespace that enforces it, and it carries everything the sandbox selects on (labels) and
// everything an Approval binds to (the inputs digest). Inputs reach the container as a file
// (downward API from a pod annotation) and an env var; outputs come back as the container's
// termination message. Secrets reach it only as secretKeyRef: the operator never reads them.
import { API_VERSION } from '../../api/constants.ts';
import type { AgentSpec } from '../../api/generated/index.ts';
import {
  AGENT_CONTAINER,
  GATE_CONTAINER,
  AGENT_TMP_SIZE_LIMIT,
  AGENT_UID,
  ANNOTATION_INPUTS,
  ANNOTATION_INPUTS_DIGEST,
  ANNOTATION_SIGNATURE,
  ENV_ATTEMPT,
  ENV_INPUTS,
  ENV_INPUTS_FILE,
  ENV_OUTPUTS_FILE,
  ENV_STEP,
  ENV_WORKFLOW,
  INPUTS_FILE,
  INPUTS_MOUNT_DIR,
  LABEL_AGENT,
  LABEL_AGENT_POD,
  LABEL_ATTEMPT,
  LABEL_INSTANCE,
  LABEL_MANAGED_BY,
  LABEL_STEP,
  LABEL_WORKFLOW,
  MANAGED_BY_VALUE,
  SANDBOX_SERVICE_ACCOUNT,
  TERMINATION_MESSAGE_PATH,
  ENV_INSTANCE,
  attemptPodName,
} from '../../api/labels.ts';
import { tryParseQuantity } from '../../api/quantity.ts';
import type { SandboxConfig } from '../../config.ts';
import type { Container, EnvVar, Pod, ResourceList, ResourceRequirements } from '../../kube/core-types.ts';
import { ApiError } from '../../kube/errors.ts';
import type { Provenance } from '../provenance.ts';
import { ENV_GATE_TARGET, ENV_GATE_TIMEOUT_SECONDS } from './network-gate.ts';

export interface AgentPodInput {
  readonly namespace: string;
  readonly workflow: { readonly name: string; readonly uid: string };
  readonly step: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** The instance's index, for a forEach step (docs/workflow-authors.md, "Fan-out"). */
  readonly instance?: number;
  readonly agent: { readonly name: string; readonly generation: number; readonly spec: AgentSpec };
  /** The step's rendered inputs (any JSON value, usually an object). */
  readonly inputs: unknown;
  /** Provenance.inputsDigest(generation, image, inputs), computed once by the caller (the Approval binds to it). */
  readonly inputsDigest: string;
  /** Wall-clock limit of this attempt; becomes activeDeadlineSeconds. */
  readonly timeoutSeconds: number;
  readonly defaults: SandboxConfig;
  /** Signs the pod, so the operator can tell it from a pod someone else made under its name. */
  readonly provenance: Provenance;
}

/**
 * The most rendered inputs (bytes of JSON) a step can take. They reach the container twice: as the
 * env var PADDOCK_INPUTS, where Linux limits one "NAME=value" string to 128 KiB (MAX_ARG_STRLEN;
 * above it the container cannot start), and as a pod annotation, where all annotations together are
 * limited to 256 KiB. A step whose inputs are larger fails before any pod (InputsTooLarge).
 */
export const MAX_INPUTS_BYTES = 120 * 1024;

/** Size of the inputs as delivered (UTF-8 bytes of their JSON). */
export function inputsBytes(inputs: unknown): number {
  return Buffer.byteLength(JSON.stringify(inputs ?? null), 'utf8');
}

const INPUTS_VOLUME = 'paddock-inputs';
const TMP_VOLUME = 'tmp';
/** File name of the inputs inside INPUTS_MOUNT_DIR. */
const INPUTS_FILE_NAME = INPUTS_FILE.slice(INPUTS_MOUNT_DIR.length + 1);

/**
 * Every container of an agent pod, the agent's and the network gate's: restricted, its message in a file.
 * A function, so each pod gets objects of its own (a caller changing one pod must not change the next).
 */
function restrictedContainer(): Pick<
  Container,
  'securityContext' | 'terminationMessagePath' | 'terminationMessagePolicy'
> {
  return {
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
    },
    terminationMessagePath: TERMINATION_MESSAGE_PATH,
    terminationMessagePolicy: 'File',
  };
}

export function buildAgentPod(input: AgentPodInput): Pod {
  const { namespace, workflow, step, attempt, instance, agent } = input;
  const name = attemptPodName(workflow.name, step, attempt, instance);
  const spec = agent.spec;
  const inputsJson = JSON.stringify(input.inputs ?? null);
  const runtimeClassName = spec.runtimeClassName;
  const gate = networkGateContainer(spec, input.defaults);

  const env: EnvVar[] = [
    { name: ENV_INPUTS, value: inputsJson },
    { name: ENV_INPUTS_FILE, value: INPUTS_FILE },
    { name: ENV_OUTPUTS_FILE, value: TERMINATION_MESSAGE_PATH },
    { name: ENV_WORKFLOW, value: workflow.name },
    { name: ENV_STEP, value: step },
    { name: ENV_ATTEMPT, value: String(attempt) },
    ...(instance !== undefined ? [{ name: ENV_INSTANCE, value: String(instance) }] : []),
    // Literal values only (the CRD has no valueFrom for env): secrets come through spec.secrets.
    ...(spec.env ?? []).map((e) => ({ name: e.name, value: e.value ?? '' })),
    // A reference the kubelet resolves: the operator never reads the Secret.
    ...(spec.secrets ?? []).map((s) => ({
      name: s.env,
      valueFrom: { secretKeyRef: { name: s.secretKeyRef.name, key: s.secretKeyRef.key } },
    })),
  ];

  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace,
      labels: {
        [LABEL_AGENT_POD]: 'true',
        [LABEL_WORKFLOW]: workflow.name,
        [LABEL_STEP]: step,
        [LABEL_ATTEMPT]: String(attempt),
        ...(instance !== undefined ? { [LABEL_INSTANCE]: String(instance) } : {}),
        [LABEL_AGENT]: agent.name,
        [LABEL_MANAGED_BY]: MANAGED_BY_VALUE,
      },
      annotations: {
        [ANNOTATION_INPUTS]: inputsJson,
        [ANNOTATION_INPUTS_DIGEST]: input.inputsDigest,
        [ANNOTATION_SIGNATURE]: input.provenance.signPod({
          namespace,
          name,
          workflow: workflow.name,
          workflowUid: workflow.uid,
          step,
          attempt,
          ...(instance !== undefined ? { instance } : {}),
          inputsDigest: input.inputsDigest,
        }),
      },
      ownerReferences: [
        {
          apiVersion: API_VERSION,
          kind: 'Workflow',
          name: workflow.name,
          uid: workflow.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      restartPolicy: 'Never',
      activeDeadlineSeconds: input.timeoutSeconds,
      serviceAccountName: SANDBOX_SERVICE_ACCOUNT,
      automountServiceAccountToken: false,
      // No Service environment variables: the agent learns nothing about the cluster's services.
      enableServiceLinks: false,
      hostNetwork: false,
      hostPID: false,
      hostIPC: false,
      ...(runtimeClassName ? { runtimeClassName } : {}),
      securityContext: {
        runAsNonRoot: true,
        runAsUser: AGENT_UID,
        runAsGroup: AGENT_UID,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      ...(gate ? { initContainers: [gate] } : {}),
      containers: [
        {
          name: AGENT_CONTAINER,
          image: spec.image,
          ...(spec.command ? { command: [...spec.command] } : {}),
          ...(spec.args ? { args: [...spec.args] } : {}),
          env,
          resources: agentResources(spec.resources, input.defaults),
          volumeMounts: [
            { name: INPUTS_VOLUME, mountPath: INPUTS_MOUNT_DIR, readOnly: true },
            { name: TMP_VOLUME, mountPath: '/tmp' },
          ],
          ...restrictedContainer(),
        },
      ],
      volumes: [
        {
          name: INPUTS_VOLUME,
          downwardAPI: {
            items: [
              {
                path: INPUTS_FILE_NAME,
                fieldRef: { fieldPath: `metadata.annotations['${ANNOTATION_INPUTS}']` },
              },
            ],
          },
        },
        { name: TMP_VOLUME, emptyDir: { sizeLimit: AGENT_TMP_SIZE_LIMIT } },
      ],
    },
  };
}

/**
 * The network gate (network-gate.ts), or undefined when there is none: no gate configured, or the Agent
 * declares egress that may reach the kubelet's port (a rule without ports, or with that port), so the
 * gate could never see it refused and the Agent may reach its node by declaration anyway.
 */
export function networkGateContainer(spec: AgentSpec, defaults: SandboxConfig): Container | undefined {
  const gate = defaults.networkGate;
  if (!gate) return undefined;
  const port = gate.kubeletPort;
  if (
    (spec.egress ?? []).some((r) => r.ports === undefined || r.ports.length === 0 || r.ports.includes(port))
  )
    return undefined;
  return {
    name: GATE_CONTAINER,
    image: gate.image,
    args: ['network-gate'],
    env: [
      { name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
      // $(HOST_IP) is expanded by the kubelet from the variable above.
      { name: ENV_GATE_TARGET, value: `$(HOST_IP):${port}` },
      { name: ENV_GATE_TIMEOUT_SECONDS, value: String(gate.timeoutSeconds) },
    ],
    resources: {
      requests: { cpu: '10m', memory: '32Mi' },
      limits: { cpu: '200m', memory: '64Mi' },
    },
    ...restrictedContainer(),
  };
}

/**
 * Requests and limits, always both, for cpu and memory: the Agent's values, else the sandbox
 * defaults (the same values the namespace's LimitRange would fill in, made explicit so the pod
 * does not depend on the LimitRange existing yet). A default never contradicts what the Agent
 * set: a request above the default limit raises the limit to it, a limit below the default
 * request lowers the request to it (requests must not exceed limits). Other resources the Agent
 * names (e.g. ephemeral-storage) are passed through.
 */
export function agentResources(
  resources: AgentSpec['resources'],
  defaults: SandboxConfig,
): Required<ResourceRequirements> {
  const requests: ResourceList = quantities(resources?.requests);
  const limits: ResourceList = quantities(resources?.limits);
  for (const name of ['cpu', 'memory'] as const) {
    const req = requests[name];
    const lim = limits[name];
    const defReq = defaults.limitRange.defaultRequest[name];
    const defLim = defaults.limitRange.default[name];
    if (req === undefined && lim === undefined) {
      requests[name] = defReq;
      limits[name] = defLim;
    } else if (lim === undefined) {
      limits[name] = larger(req!, defLim);
    } else if (req === undefined) {
      requests[name] = smaller(defReq, lim);
    }
  }
  return { requests, limits };
}

function quantities(list: Record<string, number | string> | undefined): ResourceList {
  const out: ResourceList = {};
  for (const [k, v] of Object.entries(list ?? {})) out[k] = String(v);
  return out;
}

function larger(a: string, b: string): string {
  const x = tryParseQuantity(a);
  const y = tryParseQuantity(b);
  return x !== undefined && y !== undefined && y > x ? b : a;
}

function smaller(a: string, b: string): string {
  const x = tryParseQuantity(a);
  const y = tryParseQuantity(b);
  return x !== undefined && y !== undefined && y < x ? b : a;
}

/**
 * The API server refused an agent pod because the namespace's sandbox ServiceAccount
 * (SANDBOX_SERVICE_ACCOUNT) does not exist yet: 403 "error looking up service account
 * <ns>/paddock-agent: serviceaccount ... not found". The sandbox controller creates it as soon as
 * the namespace has an Agent, so the step should wait and retry (like a quota refusal), not fail.
 */
export function isSandboxNotReady(err: unknown): boolean {
  return (
    err instanceof ApiError &&
    err.status === 403 &&
    err.message.includes('error looking up service account') &&
    err.message.includes(SANDBOX_SERVICE_ACCOUNT)
  );
}
