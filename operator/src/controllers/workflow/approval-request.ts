// What the operator asks for when a gated step is ready: the Approval object it creates (signed,
// so it can later tell its own requests from forgeries), and the check that an Approval it finds
// is exactly a request it made for this run and step. Pure.
//
// Trust rules (docs/approvals.md, docs/security.md): an Approval counts only if it carries the
// operator's signature and its request and policy equal what the operator would ask for now. A
// name, labels or owner references prove nothing: anyone allowed to create Approvals writes them.
import type { Agent, Approval, Workflow, WorkflowStep } from '../../api/generated/index.ts';
import { API_VERSION } from '../../api/constants.ts';
import {
  ANNOTATION_SIGNATURE,
  LABEL_MANAGED_BY,
  LABEL_STEP,
  LABEL_WORKFLOW,
  MANAGED_BY_VALUE,
} from '../../api/labels.ts';
import { jsonEqual } from '../../api/json-equal.ts';
import { redact } from '../../api/schemas.ts';
import { metaTime } from '../conditions.ts';
import type { Provenance } from '../provenance.ts';

/** Default time a request for approval stays open (fail closed after). */
export const DEFAULT_APPROVAL_TIMEOUT_SECONDS = 24 * 3600;

export interface ApprovalPolicy {
  readonly required: number;
  readonly approvers?: { users?: string[]; groups?: string[] };
  readonly timeoutSeconds?: number;
}

/**
 * The approval policy of a step. A step's own `approval` can only make its Agent's gate stronger,
 * never weaker: when the Agent is ApprovalRequired, the step needs the larger `required`, the
 * shorter window, and the Agent's approvers whenever the Agent names any (a step names approvers
 * only for an Agent that leaves them open). Otherwise the step's own policy, or none.
 */
export function approvalPolicyOf(spec: WorkflowStep, agent: Agent): ApprovalPolicy | undefined {
  const own = spec.approval ? normalized(spec.approval) : undefined;
  const agents =
    agent.spec.riskLevel === 'ApprovalRequired' ? normalized(agent.spec.approval ?? {}) : undefined;
  if (!agents) return own;
  if (!own) return agents;
  const approvers = listsApprovers(agents.approvers) ? agents.approvers : own.approvers;
  const timeouts = [agents.timeoutSeconds, own.timeoutSeconds].filter((t): t is number => t !== undefined);
  return {
    required: Math.max(agents.required, own.required),
    ...(approvers && listsApprovers(approvers) ? { approvers } : {}),
    ...(timeouts.length > 0 ? { timeoutSeconds: Math.min(...timeouts) } : {}),
  };
}

function normalized(p: {
  required?: number;
  approvers?: { users?: string[]; groups?: string[] };
  timeoutSeconds?: number;
}): ApprovalPolicy {
  return {
    required: p.required ?? 1,
    ...(p.approvers ? { approvers: p.approvers } : {}),
    ...(p.timeoutSeconds ? { timeoutSeconds: p.timeoutSeconds } : {}),
  };
}

function listsApprovers(a: ApprovalPolicy['approvers']): boolean {
  return (a?.users?.length ?? 0) + (a?.groups?.length ?? 0) > 0;
}

export function approvalName(workflow: string, step: string, seq: number): string {
  return `${workflow}-${step}-approval-${seq}`;
}

/** The sequence number in an Approval name made by approvalName, or 0. */
export function approvalSeq(name: string | undefined): number {
  return name ? Number(/-approval-(\d+)$/.exec(name)?.[1] ?? '0') : 0;
}

export interface RequestInput {
  readonly workflow: Workflow;
  readonly step: WorkflowStep;
  readonly agent: Agent;
  /** The step's rendered inputs (real values; redacted here for the Approval). */
  readonly rendered: unknown;
  readonly digest: string;
  readonly policy: ApprovalPolicy;
  readonly nowMs: number;
  /**
   * Who asked for the retry of the run this request is for, once the run has been retried
   * (spec.retry.requestedBy; retry-run.ts `retryRequester`); undefined for a run never retried.
   * Recorded as the Approval's spec.retryRequestedBy: like the requester, they cannot approve it.
   */
  readonly retryRequestedBy?: string;
}

/** The Approval to create for request number `seq`, signed. */
export function buildApproval(r: RequestInput, seq: number, provenance: Provenance): Approval {
  const wfName = r.workflow.metadata.name ?? '';
  const timeout = r.policy.timeoutSeconds ?? DEFAULT_APPROVAL_TIMEOUT_SECONDS;
  const requestedBy = r.workflow.spec.requestedBy;
  const approval: Approval = {
    apiVersion: API_VERSION,
    kind: 'Approval',
    metadata: {
      name: approvalName(wfName, r.step.name, seq),
      namespace: r.workflow.metadata.namespace ?? '',
      labels: { [LABEL_WORKFLOW]: wfName, [LABEL_STEP]: r.step.name, [LABEL_MANAGED_BY]: MANAGED_BY_VALUE },
      ownerReferences: [
        {
          apiVersion: API_VERSION,
          kind: 'Workflow',
          name: wfName,
          uid: r.workflow.metadata.uid ?? '',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      workflowRef: { name: wfName, ...(r.workflow.metadata.uid ? { uid: r.workflow.metadata.uid } : {}) },
      step: r.step.name,
      request: expectedRequest(r),
      policy: {
        required: r.policy.required,
        ...(r.policy.approvers ? { approvers: r.policy.approvers } : {}),
        expiresAt: metaTime(new Date(r.nowMs + timeout * 1000)),
      },
      ...(requestedBy ? { requestedBy } : {}),
      ...(r.retryRequestedBy ? { retryRequestedBy: r.retryRequestedBy } : {}),
    },
  };
  approval.metadata.annotations = { [ANNOTATION_SIGNATURE]: provenance.signApproval(approval) };
  return approval;
}

function expectedRequest(r: RequestInput): Approval['spec']['request'] {
  const a = r.agent;
  return {
    agent: a.metadata.name ?? '',
    agentGeneration: a.metadata.generation ?? 0,
    image: a.spec.image,
    ...(a.spec.capabilities?.length ? { capabilities: a.spec.capabilities } : {}),
    inputs: (a.spec.inputsSchema ? redact(r.rendered, a.spec.inputsSchema) : r.rendered) as Record<
      string,
      unknown
    >,
    digest: r.digest,
  };
}

/**
 * How an Approval found under a name of this step relates to what the operator would request now:
 * - `ours`: signed by the operator, for this run and step, asking exactly this;
 * - `changed`: signed, for this run and step, but what would run (Agent generation, image, inputs)
 *   or the policy changed since, or it names another retry requester than the run's (asked before
 *   the run was retried, or by an operator that did not record them): supersede it and ask again,
 *   so a retried run's gate only opens on a request that names who asked for the retry;
 * - `stale`: signed, for an earlier Workflow of the same name (deleted and created again): never
 *   count it, ask under the next free name;
 * - `unverified`: no valid signature (not made by this operator, tampered with, or signed with an
 *   earlier key);
 * - `mismatch`: signed, but not for this step or requester, or expiring later than the operator
 *   would ever set: a request the operator did not make for this step (fail closed).
 */
export type RequestMatch =
  | { kind: 'ours' }
  | { kind: 'changed'; what: string }
  | { kind: 'stale' }
  | { kind: 'unverified' }
  | { kind: 'mismatch'; what: string };

export function matchRequest(found: Approval, r: RequestInput, provenance: Provenance): RequestMatch {
  if (!provenance.verifyApproval(found)) return { kind: 'unverified' };
  const s = found.spec;
  if (s.workflowRef.name !== r.workflow.metadata.name || s.workflowRef.uid !== r.workflow.metadata.uid)
    return { kind: 'stale' };
  if (s.step !== r.step.name) return { kind: 'mismatch', what: `it is for step ${s.step}` };
  if ((s.requestedBy ?? '') !== (r.workflow.spec.requestedBy ?? ''))
    return { kind: 'mismatch', what: 'its spec.requestedBy is not the Workflow requester' };
  const timeout = r.policy.timeoutSeconds ?? DEFAULT_APPROVAL_TIMEOUT_SECONDS;
  const expires = s.policy.expiresAt ? Date.parse(s.policy.expiresAt) : Number.POSITIVE_INFINITY;
  if (!(expires <= r.nowMs + timeout * 1000))
    return { kind: 'mismatch', what: 'its spec.policy.expiresAt is later than the operator would set' };
  const want = expectedRequest(r);
  if (s.request.agent !== want.agent) return { kind: 'mismatch', what: `it is for Agent ${s.request.agent}` };
  if (s.request.image !== want.image) return { kind: 'changed', what: 'image' };
  if (s.request.agentGeneration !== want.agentGeneration)
    return { kind: 'changed', what: 'Agent generation' };
  if (s.request.digest !== want.digest) return { kind: 'changed', what: 'rendered inputs' };
  if (
    s.policy.required !== r.policy.required ||
    !jsonEqual(s.policy.approvers ?? {}, r.policy.approvers ?? {})
  )
    return { kind: 'changed', what: 'approval policy' };
  if ((s.retryRequestedBy ?? '') !== (r.retryRequestedBy ?? ''))
    return { kind: 'changed', what: 'retry requester' };
  return { kind: 'ours' };
}
