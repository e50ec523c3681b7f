// The engine's vocabulary: its input, its plan, and the working state of one planning pass
// (history, Events and audit lines recorded together, and the earliest time to look again).
import type { Agent, Approval, HistoryEntry, Workflow, WorkflowStatus } from '../../api/generated/index.ts';
import type { SandboxConfig } from '../../config.ts';
import type { Pod } from '../../kube/core-types.ts';
import { metaTime } from '../conditions.ts';
import type { EventInput } from '../events.ts';
import type { Provenance } from '../provenance.ts';
import { truncate } from '../../util/truncate.ts';

export const HISTORY_LIMIT = 100;
export const DEFAULT_STEP_TIMEOUT_SECONDS = 600;
/** Past its timeout a pod gets this long for the kubelet's own activeDeadlineSeconds to end it. */
export const TIMEOUT_GRACE_MS = 5_000;
/** How long a pod we created may be missing from the cache before we ask the API server. */
export const CACHE_LAG_MS = 30_000;
export const QUOTA_RETRY_MS = { min: 1_000, max: 30_000 };

export const TERMINAL_STEP = new Set(['Succeeded', 'Failed', 'Skipped', 'Cancelled']);
/** Why a step waits to create its child (pod or Approval) again, with what it waits for. */
export const CREATE_WAIT_REASONS = {
  QuotaExceeded: "waiting for room in the namespace's agent ResourceQuota",
  SandboxNotReady: "waiting for the namespace's agent sandbox (ServiceAccount paddock-agent)",
  OperatorForbidden: "the operator is not allowed to create the step's child here (RBAC); retrying",
  CreateFailed: "the API server did not create the step's child; retrying",
  ApprovalRequestFailed: 'the API server did not create the Approval request; retrying',
} as const;
export type CreateWaitReason = keyof typeof CREATE_WAIT_REASONS;

/** Waiting reasons where the attempt's child was refused, not created: the same attempt is tried again. */
export const WAIT_TO_CREATE: ReadonlySet<string> = new Set(Object.keys(CREATE_WAIT_REASONS));
export const TERMINAL_WORKFLOW = new Set(['Succeeded', 'Failed', 'Cancelled']);

export interface EngineInput {
  readonly workflow: Workflow;
  /** Agents of the Workflow's namespace, by name. */
  readonly agents: ReadonlyMap<string, Agent>;
  /** Pods owned by this Workflow, by name. */
  readonly pods: ReadonlyMap<string, Pod>;
  readonly now: Date;
  readonly sandbox: SandboxConfig;
  /** Pods this operator created recently that the cache has not shown yet. */
  readonly expectedPods?: ReadonlySet<string>;
  /** Pods the API server confirmed do not exist (asked because the cache lacked them). */
  readonly gonePods?: ReadonlySet<string>;
  /**
   * The newest Warning Event ("Reason: message") of pods the last plan listed in podsNeedingEvents;
   * null when there is none or it could not be read.
   */
  readonly podWarnings?: ReadonlyMap<string, string | null>;
  /**
   * Approvals of the Workflow's namespace, looked up by name. Whatever the lookup finds is checked
   * (signature, run, step, request, policy) before it counts: finding it under a name proves nothing.
   */
  readonly approvals?: { get(name: string): Approval | undefined };
  /** The operator's signing key: signs what it creates, verifies what it finds (controllers/provenance.ts). */
  readonly provenance: Provenance;
  /** Approvals this operator created recently that the cache has not shown yet. */
  readonly expectedApprovals?: ReadonlySet<string>;
  /**
   * Children (pods and Approval requests, by name) the API server refused to create in this pass.
   * The engine plans again with them: the refused start becomes a waiting or failed step, recorded
   * like any other outcome (refused-start.ts), and nothing else changes.
   */
  readonly refused?: ReadonlyMap<string, Refusal>;
}

/** Why the API server did not create a step's child, as the reconciler classified it (refusals.ts). */
export type Refusal =
  /** It may pass (quota, sandbox, RBAC, a failing webhook): the same attempt is tried again later. */
  | {
      readonly kind: 'wait';
      readonly reason: CreateWaitReason;
      readonly message: string;
      readonly refusals: number;
    }
  /** Retrying cannot help: the step fails with this reason. */
  | { readonly kind: 'fail'; readonly reason: string; readonly message: string };

export interface PodToCreate {
  readonly step: string;
  readonly attempt: number;
  readonly pod: Pod;
}

export interface StepOutcome {
  readonly step: string;
  readonly agent: string;
  readonly outcome: 'Succeeded' | 'Failed' | 'Retried' | 'Skipped' | 'Cancelled';
  readonly reason: string;
  readonly seconds?: number;
}

export interface AuditRecord {
  readonly event: string;
  readonly step?: string;
  /** The instance of a forEach step concerned, if any. */
  readonly instance?: number;
  readonly agent?: string;
  readonly attempt?: number;
  readonly user?: string;
  readonly reason?: string;
  readonly message?: string;
}

export interface EnginePlan {
  readonly status: WorkflowStatus;
  readonly create: PodToCreate[];
  /** Approvals to request (gated steps that became ready). */
  readonly createApprovals: Approval[];
  /** Approvals whose request no longer matches what would run: mark them Superseded. */
  readonly supersede: Array<{ name: string; by: string; message: string }>;
  /** Gated pods started after an approval, with when it was decided (for the resume-latency metric). */
  readonly resumed: Array<{ step: string; approval: string }>;
  readonly delete: Array<{ name: string; reason: string }>;
  /** Pods the status says exist but the cache lacks: the reconciler asks the API server, then plans again. */
  readonly unknownPods: string[];
  /** Pods stuck starting with nothing on them saying why: the reconciler reads their Events, then plans again. */
  readonly podsNeedingEvents: string[];
  readonly events: EventInput[];
  readonly audits: AuditRecord[];
  readonly outcomes: StepOutcome[];
  readonly requeueAfterMs: number | undefined;
  readonly deleteWorkflow: boolean;
}

/** Mutable working state for one planning pass. */
export class Plan {
  readonly create: PodToCreate[] = [];
  readonly createApprovals: Approval[] = [];
  readonly supersede: Array<{ name: string; by: string; message: string }> = [];
  readonly resumed: Array<{ step: string; approval: string }> = [];
  readonly delete: Array<{ name: string; reason: string }> = [];
  readonly unknownPods: string[] = [];
  readonly podsNeedingEvents: string[] = [];
  readonly events: EventInput[] = [];
  readonly audits: AuditRecord[] = [];
  readonly outcomes: StepOutcome[] = [];
  /**
   * Starts the API server refused (EngineInput.refused), applied once the pass has decided
   * everything else, so a refusal changes nothing but its own step (refused-start.ts).
   */
  readonly refusedStarts: Array<() => void> = [];
  readonly history: HistoryEntry[];
  private requeueAt: number | undefined;
  /**
   * The forEach instance being planned, if any (withInstance). Its transitions go to the audit log;
   * only its failure is also an Event; none enters status.history, which the step's own entries
   * keep readable (docs/workflow-authors.md, "Fan-out").
   */
  private instance: number | undefined;
  /** The instance's failure is not an Event either (the step's first failures were already). */
  private quietInstance = false;
  /** Why instances of the step already waited before this pass (their wait was an Event then). */
  private instanceWaits: ReadonlySet<string> = new Set();
  /** `step/reason` of the instance waits this pass made an Event of: one per step and reason. */
  private readonly instanceWaitEvents = new Set<string>();
  readonly nowMs: number;
  readonly now: string;
  /**
   * Who asked for the retry of this run, once it has been retried (this pass included): the
   * engine sets it (retry-run.ts `retryRequester`); the Approvals the pass requests name them.
   */
  retryRequestedBy: string | undefined = undefined;

  constructor(history: readonly HistoryEntry[] | undefined, now: Date) {
    this.history = [...(history ?? [])];
    this.nowMs = now.getTime();
    this.now = metaTime(now);
  }

  wakeAt(ms: number): void {
    if (this.requeueAt === undefined || ms < this.requeueAt) this.requeueAt = ms;
  }

  /**
   * Plans `fn` as the work of one instance of a forEach step (see `instance`). `quiet`: its failure
   * is an audit line only (a step with thousands of failing instances must not flood the Event
   * queue all controllers share).
   */
  withInstance<T>(
    index: number,
    fn: () => T,
    opts: { quiet?: boolean; waits?: ReadonlySet<string> } = {},
  ): T {
    const outer = [this.instance, this.quietInstance, this.instanceWaits] as const;
    this.instance = index;
    this.quietInstance = opts.quiet ?? false;
    this.instanceWaits = opts.waits ?? new Set();
    try {
      return fn();
    } finally {
      [this.instance, this.quietInstance, this.instanceWaits] = outer;
    }
  }

  requeueAfterMs(): number | undefined {
    return this.requeueAt === undefined ? undefined : Math.max(0, this.requeueAt - this.nowMs);
  }

  record(
    type: string,
    e: {
      step?: string;
      attempt?: number;
      reason: string;
      message: string;
      warning?: boolean;
      agent?: string;
      /** The authenticated user concerned (who asked for a retry). */
      user?: string;
      /** The Event's reason and note when they are not the history entry's (refusals keep their own). */
      event?: { reason: string; note: string };
    },
  ): void {
    if (this.instance !== undefined) {
      this.recordInstance(type, this.instance, e);
      return;
    }
    this.history.push({
      at: this.now,
      type,
      ...(e.step !== undefined ? { step: e.step } : {}),
      ...(e.attempt !== undefined ? { attempt: e.attempt } : {}),
      ...(e.user !== undefined ? { user: e.user } : {}),
      reason: e.reason,
      message: truncate(e.message, 1024),
    });
    this.events.push({
      type: e.warning ? 'Warning' : 'Normal',
      reason: e.event?.reason ?? type,
      action: e.step ? `Step/${e.step}` : 'Workflow',
      note: truncate(
        e.event?.note ??
          (e.step ? `step ${e.step}${e.attempt ? ` (attempt ${e.attempt})` : ''}: ${e.message}` : e.message),
        1024,
      ),
    });
    this.audits.push({
      event: auditName(type),
      ...(e.step !== undefined ? { step: e.step } : {}),
      ...(e.agent !== undefined ? { agent: e.agent } : {}),
      ...(e.attempt !== undefined ? { attempt: e.attempt } : {}),
      ...(e.user !== undefined ? { user: e.user } : {}),
      reason: e.reason,
      message: e.message,
    });
  }

  private recordInstance(
    type: string,
    index: number,
    e: {
      step?: string;
      attempt?: number;
      reason: string;
      message: string;
      agent?: string;
      event?: { reason: string; note: string };
    },
  ): void {
    const waitKey = `${e.step ?? ''}/${e.reason}`;
    if (
      type === 'StepWaiting' &&
      e.event &&
      !this.instanceWaits.has(e.reason) &&
      !this.instanceWaitEvents.has(waitKey)
    ) {
      // Instances refused for one reason (a full quota) say so once per step, not once each.
      this.instanceWaitEvents.add(waitKey);
      this.events.push({
        type: 'Warning',
        reason: e.event.reason,
        action: `Step/${e.step ?? ''}`,
        note: truncate(`${e.event.note} (instances of a forEach step)`, 1024),
      });
    }
    if (type === 'StepFailed' && !this.quietInstance) {
      this.events.push({
        type: 'Warning',
        reason: 'InstanceFailed',
        action: `Step/${e.step ?? ''}`,
        note: truncate(
          `step ${e.step ?? ''} instance ${index}${e.attempt ? ` (attempt ${e.attempt})` : ''}: ${e.reason}: ${e.message}`,
          1024,
        ),
      });
    }
    this.audits.push({
      event: auditName(type),
      ...(e.step !== undefined ? { step: e.step } : {}),
      instance: index,
      ...(e.agent !== undefined ? { agent: e.agent } : {}),
      ...(e.attempt !== undefined ? { attempt: e.attempt } : {}),
      reason: e.reason,
      message: e.message,
    });
  }
}

export function auditName(type: string): string {
  // StepSucceeded -> step.succeeded, WorkflowStarted -> workflow.started, ApprovalRequested -> approval.requested
  return type.replace(
    /^(Step|Workflow|Approval)(.*)$/,
    (_m, a: string, b: string) => `${a.toLowerCase()}.${b.charAt(0).toLowerCase()}${b.slice(1)}`,
  );
}
