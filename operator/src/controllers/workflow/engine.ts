// The Workflow engine: from what is (the Workflow and its status, the Agents,
// the pods it owns, the time) to what should be (the next status, pods to
// create and delete, Events, when to look again). Pure and deterministic: the
// reconciler only gathers the inputs and carries out the plan.
//
// Crash safety comes from two rules. Pod names are deterministic per step and
// attempt, and a pod found in the cache for an attempt newer than the status
// says is adopted, so a crash between "create pod" and "write status" neither
// loses the pod nor makes a second one. And pods are deleted (timeouts aside)
// only for steps whose outcome is already in the persisted status, so outputs
// are never lost with their pod.
import type {
  Agent,
  Approval,
  HistoryEntry,
  StepStatus,
  Workflow,
  WorkflowStatus,
  WorkflowStep,
} from '../../api/generated/index.ts';
import { CONDITION_READY, CONDITION_RECONCILING, CONDITION_STALLED } from '../../api/constants.ts';
import { AGENT_CONTAINER, LABEL_ATTEMPT, LABEL_STEP, podName } from '../../api/labels.ts';
import { compileUserSchema, redact, REDACTED, safeErrorPath, sensitivePaths } from '../../api/schemas.ts';
import type { SandboxConfig } from '../../config.ts';
import type { Pod } from '../../kube/core-types.ts';
import { metaTime, setConditions, type Condition, type ConditionInput } from '../conditions.ts';
import { decide } from '../approval/decide.ts';
import type { EventInput } from '../events.ts';
import type { Provenance } from '../provenance.ts';
import { buildAgentPod, inputsBytes, MAX_INPUTS_BYTES } from '../sandbox/pod.ts';
import {
  approvalName,
  approvalPolicyOf,
  approvalSeq,
  buildApproval,
  matchRequest,
  type ApprovalPolicy,
  type RequestInput,
} from './approval-request.ts';
import {
  evaluateCondition,
  referencedSteps,
  render,
  templateExpressions,
  type ExpressionContext,
  type ExpressionFailureReason,
} from './expressions.ts';
import type { Graph } from './graph.ts';
import { parseOutputs } from './outputs.ts';
import { notStartedCause, startVerdict, terminationCause } from './pod-start.ts';
import { backoffMs, effectiveRetry, maxAttempts } from './retry.ts';
import { validateWorkflow, type WorkflowProblem } from './validate.ts';

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
const TERMINAL_WORKFLOW = new Set(['Succeeded', 'Failed', 'Cancelled']);

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
}

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
  readonly agent?: string;
  readonly attempt?: number;
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
class Plan {
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
  readonly history: HistoryEntry[];
  private requeueAt: number | undefined;
  readonly nowMs: number;
  readonly now: string;

  constructor(history: readonly HistoryEntry[] | undefined, now: Date) {
    this.history = [...(history ?? [])];
    this.nowMs = now.getTime();
    this.now = metaTime(now);
  }

  wakeAt(ms: number): void {
    if (this.requeueAt === undefined || ms < this.requeueAt) this.requeueAt = ms;
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
    },
  ): void {
    this.history.push({
      at: this.now,
      type,
      ...(e.step !== undefined ? { step: e.step } : {}),
      ...(e.attempt !== undefined ? { attempt: e.attempt } : {}),
      reason: e.reason,
      message: truncate(e.message, 1024),
    });
    this.events.push({
      type: e.warning ? 'Warning' : 'Normal',
      reason: type,
      action: e.step ? `Step/${e.step}` : 'Workflow',
      note: truncate(
        e.step ? `step ${e.step}${e.attempt ? ` (attempt ${e.attempt})` : ''}: ${e.message}` : e.message,
        1024,
      ),
    });
    this.audits.push({
      event: auditName(type),
      ...(e.step !== undefined ? { step: e.step } : {}),
      ...(e.agent !== undefined ? { agent: e.agent } : {}),
      ...(e.attempt !== undefined ? { attempt: e.attempt } : {}),
      reason: e.reason,
      message: e.message,
    });
  }
}

export function planWorkflow(input: EngineInput): EnginePlan {
  const wf = input.workflow;
  const prev = wf.status ?? {};
  const plan = new Plan(prev.history, input.now);
  const prevSteps = new Map((prev.steps ?? []).map((s) => [s.name, s]));
  const steps = new Map<string, StepStatus>(
    wf.spec.steps.map((s) => [s.name, { ...(prevSteps.get(s.name) ?? { name: s.name, phase: 'Pending' }) }]),
  );
  let phase = prev.phase ?? 'Pending';
  let startedAt = prev.startedAt;
  let finishedAt = prev.finishedAt;
  let failure: { reason: string; message: string } | undefined;
  let problems: WorkflowProblem[] = [];
  let graph: Graph | undefined;

  const finished = TERMINAL_WORKFLOW.has(phase);
  if (!finished) {
    const v = validateWorkflow(wf, input.agents);
    if (v.ok) {
      graph = v.graph;
    } else if (phase === 'Pending') {
      problems = v.problems;
    } else {
      // Running already: a step whose Agent changed under it fails when it starts; graph problems
      // cannot appear (the spec is immutable), so use the graph if there is one.
      graph = v.graph;
    }
  }

  if (!finished && wf.spec.cancel && phase === 'Pending') {
    // Cancelled before it ever started (perhaps while Stalled): nothing runs, nothing to stop.
    problems = [];
    for (const spec of wf.spec.steps) {
      const st = steps.get(spec.name)!;
      if (!TERMINAL_STEP.has(st.phase))
        finish(plan, st, spec, 'Cancelled', 'Cancelled', 'cancelled before it started', input);
    }
    phase = 'Cancelled';
    failure = { reason: 'Cancelled', message: 'spec.cancel is true; the workflow never started' };
    finishedAt = plan.now;
    plan.record('WorkflowCancelled', { reason: 'Cancelled', message: failure.message, warning: true });
  } else if (!finished && problems.length === 0 && graph) {
    if (phase === 'Pending') {
      // Started now; whether it is Running or WaitingForApproval is settled below.
      startedAt = plan.now;
      plan.record('WorkflowStarted', { reason: 'Started', message: `running ${wf.spec.steps.length} steps` });
    }
    const deadline = wf.spec.activeDeadlineSeconds;
    const startedMs = startedAt ? Date.parse(startedAt) : plan.nowMs;
    if (wf.spec.cancel) {
      // A pod created just before a crash is not in the status yet: adopt it so it is stopped too.
      for (const spec of wf.spec.steps) adoptNewerPod(plan, steps.get(spec.name)!, input);
      failure = { reason: 'Cancelled', message: 'spec.cancel is true' };
      stopAll(plan, wf, steps, input, 'Cancelled', 'Cancelled', 'cancelled by spec.cancel');
      phase = 'Cancelled';
    } else if (deadline !== undefined && plan.nowMs >= startedMs + deadline * 1000) {
      failure = {
        reason: 'DeadlineExceeded',
        message: `the workflow ran longer than spec.activeDeadlineSeconds (${deadline})`,
      };
      stopAll(plan, wf, steps, input, 'Failed', 'DeadlineExceeded', failure.message);
      phase = 'Failed';
    } else {
      if (deadline !== undefined) plan.wakeAt(startedMs + deadline * 1000);
      advance(plan, wf, graph, steps, input);
      const all = [...steps.values()];
      phase =
        all.some((x) => x.phase === 'WaitingForApproval') && !all.some((x) => x.phase === 'Running')
          ? 'WaitingForApproval'
          : 'Running';
      const outcome = workflowOutcome(wf, steps);
      if (outcome) {
        phase = outcome.phase;
        failure = outcome.phase === 'Failed' ? outcome : undefined;
      }
    }
    if (TERMINAL_WORKFLOW.has(phase)) {
      finishedAt = plan.now;
      const warning = phase !== 'Succeeded';
      plan.record(`Workflow${phase}`, {
        reason: failure?.reason ?? phase,
        message: failure?.message ?? `all ${wf.spec.steps.length} steps finished`,
        warning,
      });
    }
  }

  // Housekeeping on what the persisted status already says (never on this pass's news).
  garbageCollectPods(plan, wf, input);
  let deleteWorkflow = false;
  const ttl = wf.spec.ttlSecondsAfterFinished;
  if (finished && ttl !== undefined && prev.finishedAt) {
    const due = Date.parse(prev.finishedAt) + ttl * 1000;
    if (plan.nowMs >= due) deleteWorkflow = true;
    else plan.wakeAt(due);
  }

  const stepList = wf.spec.steps.map((s) => steps.get(s.name)!);
  const done = stepList.filter((s) => TERMINAL_STEP.has(s.phase)).length;
  const status: WorkflowStatus = {
    observedGeneration: wf.metadata.generation,
    phase,
    ...(startedAt ? { startedAt } : {}),
    ...(finishedAt ? { finishedAt } : {}),
    progress: `${done}/${stepList.length}`,
    conditions: workflowConditions(prev.conditions, {
      finishedBefore: finished,
      phase,
      problems,
      failure,
      suspended: !!wf.spec.suspend,
      generation: wf.metadata.generation,
      now: plan.now,
    }),
    steps: stepList,
    history: plan.history.slice(-HISTORY_LIMIT),
  };
  if (problems.length > 0) {
    const changed = stalledReason(prev.conditions) !== problems[0]!.reason;
    if (changed) {
      plan.events.push({
        type: 'Warning',
        reason: problems[0]!.reason,
        action: 'Validate',
        note: truncate(problems.map((p) => p.message).join('; '), 1024),
      });
      plan.audits.push({
        event: 'workflow.stalled',
        reason: problems[0]!.reason,
        message: problems.map((p) => p.message).join('; '),
      });
      status.history = [
        ...plan.history,
        {
          at: plan.now,
          type: 'WorkflowStalled',
          reason: problems[0]!.reason,
          message: truncate(problems[0]!.message, 1024),
        },
      ].slice(-HISTORY_LIMIT);
    }
  }
  return {
    status,
    create: plan.create,
    createApprovals: plan.createApprovals,
    supersede: plan.supersede,
    resumed: plan.resumed,
    delete: plan.delete,
    unknownPods: plan.unknownPods,
    podsNeedingEvents: plan.podsNeedingEvents,
    events: plan.events,
    audits: plan.audits,
    outcomes: plan.outcomes,
    requeueAfterMs: plan.requeueAfterMs(),
    deleteWorkflow,
  };
}

// --- step progression ---------------------------------------------------------

function advance(
  plan: Plan,
  wf: Workflow,
  graph: Graph,
  steps: Map<string, StepStatus>,
  input: EngineInput,
): void {
  // First observe what running steps did, then decide what may start.
  for (const name of graph.order) {
    const spec = graph.byName.get(name)!;
    const st = steps.get(name)!;
    adoptNewerPod(plan, st, input);
    if (st.phase === 'Running') observeRunning(plan, wf, spec, st, input);
  }
  let running = [...steps.values()].filter((s) => s.phase === 'Running').length;
  const parallelism = wf.spec.parallelism ?? 4;
  for (const name of graph.order) {
    const spec = graph.byName.get(name)!;
    const st = steps.get(name)!;
    if (TERMINAL_STEP.has(st.phase) || st.phase === 'Running') continue;
    // Read per step: a step that failed to start earlier in this loop fails the workflow too.
    const failing = [...steps.values()].some((s) => s.phase === 'Failed' && !stepContinues(graph, s.name));
    if (failing) {
      // Fail fast: nothing new starts once a step has failed the workflow. The dependents of a
      // failed step say so (without this, UpstreamFailed could never be reached).
      const upstream = dependencyGate(graph, spec, steps) === 'upstream-failed';
      finish(
        plan,
        st,
        spec,
        'Skipped',
        upstream ? 'UpstreamFailed' : 'WorkflowFailed',
        upstream
          ? 'a step it depends on failed or was cancelled'
          : 'not started: another step failed the workflow',
        input,
      );
      continue;
    }
    if (st.phase === 'Pending') {
      const gate = dependencyGate(graph, spec, steps);
      if (gate === 'wait') continue;
      if (gate === 'upstream-failed') {
        finish(
          plan,
          st,
          spec,
          'Skipped',
          'UpstreamFailed',
          'a step it depends on failed or was cancelled',
          input,
        );
        continue;
      }
      if (spec.when !== undefined) {
        const scope = context(wf, steps, input);
        const gone = lostOutputs(referencedSteps(spec.when), scope.lost);
        if (gone) {
          finish(plan, st, spec, 'Failed', 'OutputsUnavailable', `when: ${gone}`, input);
          continue;
        }
        const cond = evaluateCondition(spec.when, scope.expr);
        if (!cond.ok) {
          finish(
            plan,
            st,
            spec,
            'Failed',
            failureReason(cond.reason, 'InvalidCondition'),
            `when: ${cond.error}`,
            input,
          );
          continue;
        }
        if (!cond.value) {
          finish(
            plan,
            st,
            spec,
            'Skipped',
            'ConditionFalse',
            `when ${JSON.stringify(spec.when)} is false`,
            input,
          );
          continue;
        }
      }
    }
    // Pending with dependencies satisfied, or Waiting (retry backoff / quota).
    if (st.phase === 'Waiting' && st.nextRetryAt) {
      const at = Date.parse(st.nextRetryAt);
      if (plan.nowMs < at) {
        plan.wakeAt(at);
        continue;
      }
    }
    if (wf.spec.suspend || running >= parallelism) continue;
    const attempt =
      st.phase === 'Waiting' && !WAIT_TO_CREATE.has(st.reason ?? '')
        ? (st.attempt ?? 0) + 1
        : (st.attempt ?? 1);
    if (start(plan, wf, spec, st, attempt, steps, input)) running++;
  }
}

/** A pod newer than the status knows (we crashed after creating it): take it as the current attempt. */
function adoptNewerPod(plan: Plan, st: StepStatus, input: EngineInput): void {
  if (TERMINAL_STEP.has(st.phase)) return;
  let newest: Pod | undefined;
  let newestAttempt = 0;
  for (const pod of input.pods.values()) {
    if (pod.metadata.labels?.[LABEL_STEP] !== st.name) continue;
    // Only a pod this operator made is adopted; a foreign one under an attempt's name fails that
    // attempt when the step looks at it (observeRunning).
    if (!input.provenance.verifyPod(pod)) continue;
    const a = Number(pod.metadata.labels[LABEL_ATTEMPT] ?? 0);
    if (a > newestAttempt) {
      newest = pod;
      newestAttempt = a;
    }
  }
  const known =
    st.phase === 'Running'
      ? (st.attempt ?? 0)
      : st.phase === 'Waiting' && WAIT_TO_CREATE.has(st.reason ?? '')
        ? (st.attempt ?? 1) - 1
        : (st.attempt ?? 0);
  if (newest && newestAttempt > known) {
    // The start was never recorded (the process stopped between creating the pod and
    // writing status): record it now, as the undisturbed run would have.
    plan.record('StepStarted', {
      step: st.name,
      attempt: newestAttempt,
      reason: newestAttempt === 1 ? 'Started' : 'Retried',
      message: `pod ${newest.metadata.name ?? ''} (adopted after a restart)`,
    });
    st.phase = 'Running';
    st.attempt = newestAttempt;
    st.podName = newest.metadata.name;
    st.startedAt ??= newest.metadata.creationTimestamp ?? plan.now;
    delete st.nextRetryAt;
    delete st.reason;
    delete st.message;
  }
}

function observeRunning(
  plan: Plan,
  wf: Workflow,
  spec: WorkflowStep,
  st: StepStatus,
  input: EngineInput,
): void {
  const name = st.podName ?? podName(wf.metadata.name ?? '', spec.name, st.attempt ?? 1);
  const pod = input.pods.get(name);
  const agent = input.agents.get(spec.agentRef.name);
  if (!pod) {
    if (input.gonePods?.has(name)) {
      attemptFailed(plan, spec, st, agent, 'PodDeleted', `pod ${name} was deleted before it finished`);
    } else if (input.expectedPods?.has(name)) {
      plan.wakeAt(plan.nowMs + CACHE_LAG_MS);
    } else {
      plan.unknownPods.push(name);
    }
    return;
  }
  if (!input.provenance.verifyPod(pod)) {
    // Someone else's pod under this attempt's name: its outcome and outputs mean nothing. Fail
    // closed, without retrying into a race with whoever made it.
    finish(
      plan,
      st,
      spec,
      'Failed',
      'PodMismatch',
      `pod ${name} was not created by the Paddock operator (no valid signature); its outcome is ignored`,
      input,
    );
    return;
  }
  const phase = pod.status?.phase;
  const term = pod.status?.containerStatuses?.find((c) => c.name === AGENT_CONTAINER)?.state?.terminated;
  if (phase === 'Succeeded') {
    const parsed = parseOutputs(term?.message, agent?.spec.outputsSchema);
    if (!parsed.ok) {
      attemptFailed(plan, spec, st, agent, parsed.reason, parsed.message);
      return;
    }
    st.outputs = agent?.spec.outputsSchema
      ? redact(parsed.outputs, agent.spec.outputsSchema)
      : parsed.outputs;
    st.exitCode = term?.exitCode ?? 0;
    finish(plan, st, spec, 'Succeeded', 'Completed', `succeeded on attempt ${st.attempt ?? 1}`, input);
    return;
  }
  if (phase === 'Failed') {
    const deadline = pod.status?.reason === 'DeadlineExceeded';
    // Deleted while it ran: on a real node the kubelet stops the agent (SIGTERM), so the pod ends Failed
    // before it is gone. The same attempt outcome as a pod that vanished (below): PodDeleted, retried.
    const deleted = !deadline && pod.metadata.deletionTimestamp !== undefined;
    const cause = deadline || deleted ? undefined : terminationCause(pod);
    const reason = deadline ? 'Timeout' : deleted ? 'PodDeleted' : (cause?.reason ?? 'Error');
    const exited = `exit code ${term?.exitCode ?? '?'}${term?.message ? `: ${truncate(redactMessage(term.message, agent), 512)}` : ''}`;
    const detail = deadline
      ? `the pod ran longer than its activeDeadlineSeconds (${pod.spec.activeDeadlineSeconds ?? '?'})`
      : deleted
        ? `pod ${name} was deleted before it finished (${exited})`
        : cause
          ? redactMessage(cause.message, agent)
          : exited;
    if (term?.exitCode !== undefined) st.exitCode = term.exitCode;
    attemptFailed(plan, spec, st, agent, reason, detail);
    return;
  }
  if (pod.metadata.deletionTimestamp) {
    // Someone deleted it; it ends without outputs. Wait for it to be gone, then retry.
    plan.wakeAt(plan.nowMs + 5_000);
    return;
  }
  const timeout = stepTimeoutSeconds(spec, agent);
  const created = Date.parse(pod.metadata.creationTimestamp ?? st.startedAt ?? plan.now);
  const due = created + timeout * 1000 + TIMEOUT_GRACE_MS;
  if (plan.nowMs >= due) {
    plan.delete.push({ name, reason: 'Timeout' });
    attemptFailed(
      plan,
      spec,
      st,
      agent,
      'Timeout',
      `the step ran longer than its timeout (${timeout}s)${notStartedCause(pod)}`,
    );
    return;
  }
  // A pod that cannot start ends its attempt within a bound, naming the cause (pod-start.ts).
  const verdict = startVerdict(pod, plan.nowMs, input.podWarnings?.get(name));
  if (verdict.kind === 'failed') {
    plan.delete.push({ name, reason: verdict.problem.reason });
    attemptFailed(plan, spec, st, agent, verdict.problem.reason, verdict.problem.message, {
      retry: verdict.problem.retry,
    });
    return;
  }
  if (verdict.kind === 'needEvents') plan.podsNeedingEvents.push(name);
  else if (verdict.wakeAtMs !== undefined) plan.wakeAt(verdict.wakeAtMs);
  plan.wakeAt(due);
}

function attemptFailed(
  plan: Plan,
  spec: WorkflowStep,
  st: StepStatus,
  agent: Agent | undefined,
  reason: string,
  message: string,
  opts: { retry?: boolean } = {},
): void {
  const attempt = st.attempt ?? 1;
  const retry = effectiveRetry(spec.retries, agent?.spec.retries);
  if ((opts.retry ?? true) && attempt < maxAttempts(retry)) {
    const delay = backoffMs(retry, attempt + 1);
    st.phase = 'Waiting';
    st.reason = 'RetryBackoff';
    st.message = `attempt ${attempt} failed (${reason}: ${message}); attempt ${attempt + 1} of ${maxAttempts(retry)} in ${Math.round(delay / 1000)}s`;
    // Millisecond precision: a 1 s backoff must not shrink to whatever is left of the second.
    st.nextRetryAt = new Date(plan.nowMs + delay).toISOString();
    plan.wakeAt(plan.nowMs + delay);
    plan.outcomes.push({ step: spec.name, agent: spec.agentRef.name, outcome: 'Retried', reason });
    plan.record('StepRetrying', {
      step: spec.name,
      attempt,
      reason,
      message: st.message,
      warning: true,
      agent: spec.agentRef.name,
    });
    return;
  }
  st.phase = 'Failed';
  st.reason = reason;
  st.message = attempt > 1 ? `${message} (after ${attempt} attempts)` : message;
  st.finishedAt = plan.now;
  delete st.nextRetryAt;
  plan.outcomes.push({
    step: spec.name,
    agent: spec.agentRef.name,
    outcome: 'Failed',
    reason,
    seconds: stepSeconds(st, plan),
  });
  plan.record('StepFailed', {
    step: spec.name,
    attempt,
    reason,
    message: st.message,
    warning: true,
    agent: spec.agentRef.name,
  });
}

function finish(
  plan: Plan,
  st: StepStatus,
  spec: WorkflowStep,
  phase: 'Succeeded' | 'Failed' | 'Skipped' | 'Cancelled',
  reason: string,
  message: string,
  _input: EngineInput,
): void {
  st.phase = phase;
  st.reason = reason;
  st.message = message;
  st.finishedAt = plan.now;
  delete st.nextRetryAt;
  plan.outcomes.push({
    step: spec.name,
    agent: spec.agentRef.name,
    outcome: phase,
    reason,
    seconds: stepSeconds(st, plan),
  });
  plan.record(`Step${phase}`, {
    step: spec.name,
    ...(st.attempt !== undefined ? { attempt: st.attempt } : {}),
    reason,
    message,
    warning: phase === 'Failed',
    agent: spec.agentRef.name,
  });
}

/** Renders and checks the inputs, then plans the pod. Returns whether a pod will be created. */
function start(
  plan: Plan,
  wf: Workflow,
  spec: WorkflowStep,
  st: StepStatus,
  attempt: number,
  steps: ReadonlyMap<string, StepStatus>,
  input: EngineInput,
): boolean {
  const agent = input.agents.get(spec.agentRef.name);
  if (!agent) {
    finish(
      plan,
      st,
      spec,
      'Failed',
      'AgentNotFound',
      `Agent "${spec.agentRef.name}" no longer exists`,
      input,
    );
    return false;
  }
  const scope = context(wf, steps, input);
  const rendered = render(spec.inputs ?? {}, scope.expr);
  if (rendered.ok && scope.lost.size > 0 && containsRedacted(rendered.value)) {
    // Rendered from the redacted copy in status: never hand an agent "[REDACTED]" for a value.
    const refs = templateExpressions(spec.inputs ?? {}).flatMap((e) => [...referencedSteps(e)]);
    const gone = lostOutputs(refs, scope.lost);
    if (gone) {
      finish(plan, st, spec, 'Failed', 'OutputsUnavailable', `inputs: ${gone}`, input);
      return false;
    }
  }
  if (!rendered.ok) {
    finish(
      plan,
      st,
      spec,
      'Failed',
      failureReason(rendered.reason, 'InvalidTemplate'),
      `inputs${rendered.path.replace(/\//g, '.')}: ${rendered.error}`,
      input,
    );
    return false;
  }
  if (agent.spec.inputsSchema) {
    const compiled = compileUserSchema(agent.spec.inputsSchema);
    const res = compiled.ok
      ? compiled.validate(rendered.value)
      : { ok: false as const, errors: [{ path: '', message: compiled.error }] };
    if (!res.ok) {
      const e = res.errors[0]!;
      finish(
        plan,
        st,
        spec,
        'Failed',
        'InputsInvalid',
        `rendered inputs do not match Agent "${agent.metadata.name}" inputsSchema at ${safeErrorPath(e.path, agent.spec.inputsSchema) || '/'}: ${e.message}`,
        input,
      );
      return false;
    }
  }
  const size = inputsBytes(rendered.value);
  if (size > MAX_INPUTS_BYTES) {
    // Refused before any Approval or pod: the container could never receive them (pod.ts).
    finish(
      plan,
      st,
      spec,
      'Failed',
      'InputsTooLarge',
      `rendered inputs are ${size} bytes of JSON; at most ${MAX_INPUTS_BYTES} can be delivered to an agent`,
      input,
    );
    return false;
  }
  const digest = input.provenance.inputsDigest(
    agent.metadata.generation ?? 0,
    agent.spec.image,
    rendered.value,
  );
  const gate = approvalGate(plan, wf, spec, st, agent, rendered.value, digest, input);
  if (gate !== 'proceed') return false;
  const name = podName(wf.metadata.name ?? '', spec.name, attempt);
  const pod = buildAgentPod({
    namespace: wf.metadata.namespace ?? '',
    workflow: { name: wf.metadata.name ?? '', uid: wf.metadata.uid ?? '' },
    step: spec.name,
    attempt,
    agent: { name: agent.metadata.name ?? '', generation: agent.metadata.generation ?? 0, spec: agent.spec },
    inputs: rendered.value,
    inputsDigest: digest,
    timeoutSeconds: stepTimeoutSeconds(spec, agent),
    defaults: input.sandbox,
    provenance: input.provenance,
  });
  plan.create.push({ step: spec.name, attempt, pod });
  const first = attempt === 1;
  st.phase = 'Running';
  st.attempt = attempt;
  st.podName = name;
  st.startedAt ??= plan.now;
  delete st.nextRetryAt;
  delete st.reason;
  delete st.message;
  plan.record('StepStarted', {
    step: spec.name,
    attempt,
    reason: first ? 'Started' : 'Retried',
    message: `pod ${name} (Agent ${agent.metadata.name})`,
    agent: agent.metadata.name ?? '',
  });
  return true;
}

/** How many names of a step an earlier run of the same Workflow name may hold before we give up. */
export const MAX_APPROVAL_NAME_SKIPS = 32;

/**
 * Decides whether a gated step may start now. The operator honours only an Approval it signed, for
 * this run and step, whose request and policy equal what it would ask for now (approval-request.ts).
 * If what would run changed since the request, it is superseded and a new one requested (an
 * Approval binds to a keyed digest of the Agent generation, image and rendered inputs). An
 * Approval under one of this step's names that the operator did not sign fails the step closed
 * (ApprovalMismatch), with an Event naming it; it is never adopted.
 */
function approvalGate(
  plan: Plan,
  wf: Workflow,
  spec: WorkflowStep,
  st: StepStatus,
  agent: Agent,
  rendered: unknown,
  digest: string,
  input: EngineInput,
): 'proceed' | 'wait' | 'failed' {
  const recorded = st.approvalName ? input.approvals?.get(st.approvalName) : undefined;
  const policy = approvalPolicyOf(spec, agent) ?? latchedPolicy(st, recorded, input);
  if (!policy) return 'proceed';
  const req: RequestInput = { workflow: wf, step: spec, agent, rendered, digest, policy, nowMs: plan.nowMs };

  const mismatch = (name: string, what: string): 'failed' => {
    finish(
      plan,
      st,
      spec,
      'Failed',
      'ApprovalMismatch',
      `Approval ${name} ${what}; it gates nothing, and the step failed closed`,
      input,
    );
    return 'failed';
  };
  /** Requests the first free name from `seq` on, skipping an earlier run's requests. */
  const request = (seq: number, why: string): 'proceed' | 'wait' | 'failed' => {
    for (let n = seq; n < seq + MAX_APPROVAL_NAME_SKIPS; n++) {
      const name = approvalName(wf.metadata.name ?? '', spec.name, n);
      if (input.expectedApprovals?.has(name)) return waitFor(name);
      const found = input.approvals?.get(name);
      if (!found) {
        plan.createApprovals.push(buildApproval(req, n, input.provenance));
        st.approvalName = name;
        plan.record('ApprovalRequested', {
          step: spec.name,
          reason: why,
          message: `Approval ${name}: waiting for ${policy.required} approval(s)`,
          agent: agent.metadata.name ?? '',
        });
        return waitFor(name);
      }
      const m = matchRequest(found, req, input.provenance);
      if (m.kind === 'stale') continue;
      if (m.kind === 'ours' || m.kind === 'changed') {
        // Our own request from a pass whose status write was lost (a crash): take it up again.
        st.approvalName = name;
        return judge(found);
      }
      return mismatch(
        name,
        m.kind === 'unverified'
          ? 'already exists under the name the operator would use, but the operator did not create it (no valid signature)'
          : `already exists under the name the operator would use, but ${m.what}`,
      );
    }
    return mismatch(
      approvalName(wf.metadata.name ?? '', spec.name, seq + MAX_APPROVAL_NAME_SKIPS - 1),
      `and the ${MAX_APPROVAL_NAME_SKIPS - 1} names before it belong to earlier runs of this Workflow name`,
    );
  };
  const waitFor = (name: string): 'wait' => {
    st.approvalName = name;
    st.phase = 'WaitingForApproval';
    st.reason = 'WaitingForApproval';
    st.message = `waiting for ${policy.required} approval(s) on Approval ${name}`;
    return 'wait';
  };
  /** What the Approval the step waits on says now. */
  const judge = (current: Approval): 'proceed' | 'wait' | 'failed' => {
    const name = current.metadata.name ?? '';
    const seq = approvalSeq(name);
    const m = matchRequest(current, req, input.provenance);
    if (m.kind === 'unverified') {
      // Named by our own status, so once requested by us: signed with an earlier key, or its
      // signature was tampered with. Never count it; ask again under a new name.
      plan.record('ApprovalUnverified', {
        step: spec.name,
        reason: 'ApprovalUnverified',
        message: `Approval ${name} no longer carries a valid operator signature; it gates nothing`,
        warning: true,
      });
      return request(seq + 1, 'ApprovalUnverified');
    }
    if (m.kind === 'stale') return mismatch(name, 'belongs to another run of this Workflow name');
    if (m.kind === 'mismatch') return mismatch(name, m.what);
    // The verdict comes from the admitted decisions themselves (the same pure function the
    // Approval controller writes to status), so the step starts on the decision's own watch event
    // instead of one status write and one more watch delivery later. A closing verdict already in
    // status (Rejected, Expired, Superseded, Invalid) stands; an Approved status is never taken on
    // trust: the decisions must make it so.
    const verdict = decide(current, plan.nowMs, { trustApprovedStatus: false });
    const phase = verdict.phase;
    if (
      phase === 'Superseded' ||
      phase === 'Invalid' ||
      (m.kind === 'changed' && (phase === 'Pending' || phase === 'Approved'))
    ) {
      const next = approvalName(wf.metadata.name ?? '', spec.name, seq + 1);
      if (m.kind === 'changed' && phase !== 'Superseded' && phase !== 'Invalid') {
        plan.supersede.push({
          name,
          by: next,
          message: `the ${m.what} changed after the request; superseded by ${next}`,
        });
        plan.record('ApprovalSuperseded', {
          step: spec.name,
          reason: 'RequestChanged',
          message: `Approval ${name}: the ${m.what} changed; requesting ${next}`,
          warning: true,
        });
      }
      return request(seq + 1, phase === 'Invalid' ? 'ApprovalInvalid' : 'RequestChanged');
    }
    if (phase === 'Approved') {
      if (st.phase === 'WaitingForApproval') {
        plan.record('StepApproved', {
          step: spec.name,
          reason: 'Approved',
          message: verdict.decidedBy ? `approved (last by ${verdict.decidedBy})` : 'approved',
        });
        plan.resumed.push({ step: spec.name, approval: name });
      }
      return 'proceed';
    }
    if (phase === 'Rejected') {
      const msg = verdict.message || `rejected by ${verdict.decidedBy ?? 'an approver'}`;
      finish(plan, st, spec, 'Failed', 'Rejected', `Approval ${name}: ${msg}`, input);
      return 'failed';
    }
    if (phase === 'Expired') {
      finish(
        plan,
        st,
        spec,
        'Failed',
        'ApprovalExpired',
        `Approval ${name} expired before enough approvals`,
        input,
      );
      return 'failed';
    }
    // Pending: keep waiting. At the deadline both this engine and the Approval controller (which
    // marks it Expired) see it expire, whichever looks first.
    waitFor(name);
    if (verdict.recheckAt !== undefined && verdict.recheckAt > plan.nowMs) plan.wakeAt(verdict.recheckAt);
    return 'wait';
  };

  if (!st.approvalName) return request(1, 'GatedStep');
  if (!recorded) {
    if (input.expectedApprovals?.has(st.approvalName)) return waitFor(st.approvalName);
    // It existed (the status names it) and is gone: someone deleted the request. Fail closed.
    finish(
      plan,
      st,
      spec,
      'Failed',
      'ApprovalDeleted',
      `Approval ${st.approvalName} was deleted before it was decided`,
      input,
    );
    return 'failed';
  }
  return judge(recorded);
}

/**
 * A step gated once in this run stays gated: if its Agent was switched to Auto (or lost its
 * approval policy) after the request, the last request's policy still applies.
 */
function latchedPolicy(
  st: StepStatus,
  recorded: Approval | undefined,
  input: EngineInput,
): ApprovalPolicy | undefined {
  if (!st.approvalName) return undefined;
  if (recorded && input.provenance.verifyApproval(recorded))
    return {
      required: recorded.spec.policy.required,
      ...(recorded.spec.policy.approvers ? { approvers: recorded.spec.policy.approvers } : {}),
    };
  return { required: 1 };
}

/** History entries this pass recorded for a start (or request) the API server then refused. */
function refusedStart(h: HistoryEntry, step: string, now: Date): boolean {
  return (
    h.step === step && (h.type === 'StepStarted' || h.type === 'ApprovalRequested') && h.at === metaTime(now)
  );
}

/**
 * The API server did not create the step's pod (or its Approval request) for a reason that may
 * pass: a full ResourceQuota, the sandbox not ready yet, missing RBAC, an overloaded or failing API
 * server or admission webhook. The step waits and tries again with backoff, saying so in its
 * status (and, the first time, in its history). `refusals` counts consecutive refusals for this
 * step (1 for the first). `approvalName` is the request the persisted status names, restored when
 * the refused child was a new Approval request.
 */
export function creationRefused(
  status: WorkflowStatus,
  step: string,
  reason: CreateWaitReason,
  message: string,
  refusals: number,
  now: Date,
  approvalName?: string,
): {
  status: WorkflowStatus;
  retryInMs: number;
  firstTime: boolean;
} {
  const retryInMs = Math.min(QUOTA_RETRY_MS.max, QUOTA_RETRY_MS.min * 2 ** Math.max(0, refusals - 1));
  let firstTime = false;
  const steps = (status.steps ?? []).map((s) => {
    if (s.name !== step) return s;
    // The status passed in is the plan's, where start() cleared the reason: whether the step
    // already waits for this is read from its last history entry (the refused start aside).
    const last = (status.history ?? []).filter((h) => h.step === step && !refusedStart(h, step, now)).at(-1);
    firstTime = s.reason !== reason && !(last?.type === 'StepWaiting' && last.reason === reason);
    const next: StepStatus = {
      ...s,
      phase: 'Waiting',
      reason,
      message: `${CREATE_WAIT_REASONS[reason]}: ${truncate(message, 512)}`,
      nextRetryAt: new Date(now.getTime() + retryInMs).toISOString(),
    };
    delete next.podName;
    if (reason === 'ApprovalRequestFailed') {
      if (approvalName === undefined) delete next.approvalName;
      else next.approvalName = approvalName;
    }
    // No pod ran yet for a first attempt: the step has not started.
    if ((s.attempt ?? 1) === 1) delete next.startedAt;
    return next;
  });
  const kept = (status.history ?? []).filter((h) => !refusedStart(h, step, now));
  const history = firstTime
    ? [
        ...kept,
        { at: metaTime(now), type: 'StepWaiting', step, reason, message: truncate(message, 1024) },
      ].slice(-HISTORY_LIMIT)
    : kept;
  return { status: { ...status, steps, history }, retryInMs, firstTime };
}

function stopAll(
  plan: Plan,
  wf: Workflow,
  steps: Map<string, StepStatus>,
  input: EngineInput,
  runningPhase: 'Cancelled' | 'Failed',
  reason: string,
  message: string,
): void {
  for (const spec of wf.spec.steps) {
    const st = steps.get(spec.name)!;
    if (TERMINAL_STEP.has(st.phase)) continue;
    if (st.phase === 'Running' && st.podName) {
      if (input.pods.has(st.podName) || input.expectedPods?.has(st.podName))
        plan.delete.push({ name: st.podName, reason });
      finish(plan, st, spec, runningPhase, reason, message, input);
    } else {
      finish(plan, st, spec, 'Cancelled', reason, message, input);
    }
  }
}

function dependencyGate(
  graph: Graph,
  spec: WorkflowStep,
  steps: ReadonlyMap<string, StepStatus>,
): 'ready' | 'wait' | 'upstream-failed' {
  for (const d of spec.dependsOn ?? []) {
    const ds = steps.get(d)!;
    if (!TERMINAL_STEP.has(ds.phase)) return 'wait';
  }
  for (const d of spec.dependsOn ?? []) {
    const ds = steps.get(d)!;
    if (ds.phase === 'Cancelled') return 'upstream-failed';
    if (ds.phase === 'Failed' && !stepContinues(graph, d)) return 'upstream-failed';
    // A Skipped dependency counts as done: its dependents still run (see docs/workflows.md).
    if (ds.phase === 'Skipped' && (ds.reason === 'UpstreamFailed' || ds.reason === 'WorkflowFailed'))
      return 'upstream-failed';
  }
  return 'ready';
}

function stepContinues(graph: Graph, name: string): boolean {
  return graph.byName.get(name)?.continueOnFailure === true;
}

function workflowOutcome(
  wf: Workflow,
  steps: ReadonlyMap<string, StepStatus>,
): { phase: 'Succeeded' | 'Failed'; reason: string; message: string } | undefined {
  const all = wf.spec.steps.map((s) => steps.get(s.name)!);
  if (!all.every((s) => TERMINAL_STEP.has(s.phase))) return undefined;
  const failed = wf.spec.steps.filter((s) => steps.get(s.name)!.phase === 'Failed' && !s.continueOnFailure);
  if (failed.length === 0) return { phase: 'Succeeded', reason: 'Succeeded', message: 'all steps finished' };
  const first = failed
    .map((s) => steps.get(s.name)!)
    .reduce((a, b) => ((b.finishedAt ?? '') < (a.finishedAt ?? '') ? b : a));
  return {
    phase: 'Failed',
    reason: first.reason ?? 'StepFailed',
    message: `step ${first.name} failed: ${first.message ?? first.reason ?? ''}`,
  };
}

// --- housekeeping -----------------------------------------------------------------

function garbageCollectPods(plan: Plan, wf: Workflow, input: EngineInput): void {
  const strategy = wf.spec.podGC?.strategy ?? 'Never';
  if (strategy === 'Never') return;
  const persisted = new Map((wf.status?.steps ?? []).map((s) => [s.name, s]));
  const phase = wf.status?.phase;
  const finished = phase !== undefined && TERMINAL_WORKFLOW.has(phase);
  const planned = new Set(plan.delete.map((d) => d.name));
  for (const pod of input.pods.values()) {
    const name = pod.metadata.name ?? '';
    if (planned.has(name) || pod.metadata.deletionTimestamp) continue;
    const step = persisted.get(pod.metadata.labels?.[LABEL_STEP] ?? '');
    const podPhase = pod.status?.phase;
    let remove = false;
    if (strategy === 'OnPodSuccess') {
      // Succeeded pods go once their outputs are persisted, unless later steps may still need
      // sensitive outputs that status only holds redacted. Failed pods stay for their logs.
      const agent = input.agents.get(wf.spec.steps.find((s) => s.name === step?.name)?.agentRef.name ?? '');
      const sensitive = agent?.spec.outputsSchema
        ? sensitivePaths(agent.spec.outputsSchema).length > 0
        : false;
      remove = podPhase === 'Succeeded' && step?.phase === 'Succeeded' && (!sensitive || finished);
    } else if (strategy === 'OnWorkflowSuccess') {
      remove = phase === 'Succeeded';
    } else if (strategy === 'OnWorkflowCompletion') {
      remove = finished;
    }
    if (remove) plan.delete.push({ name, reason: `podGC ${strategy}` });
  }
}

// --- helpers ----------------------------------------------------------------------

function context(
  wf: Workflow,
  steps: ReadonlyMap<string, StepStatus>,
  input: EngineInput,
): { expr: ExpressionContext; lost: ReadonlyMap<string, string> } {
  const out: Record<string, { outputs: Record<string, unknown>; phase: string }> = {};
  const lost = new Map<string, string>();
  for (const spec of wf.spec.steps) {
    const st = steps.get(spec.name)!;
    const r = realOutputs(st, spec, input);
    if (r.lostPod !== undefined) lost.set(spec.name, r.lostPod);
    out[spec.name] = { outputs: r.outputs ?? {}, phase: st.phase };
  }
  return { expr: { inputs: wf.spec.inputs ?? {}, steps: out }, lost };
}

/**
 * Outputs for templating: status holds them with sensitive fields redacted, so
 * when the Agent marks outputs sensitive, the real values are read back from
 * the step's pod (kept until the workflow finishes for that reason). When that
 * pod is gone (deleted by hand, its node lost), only the redacted copy is left:
 * `lostPod` names it, and a step that would read those values fails closed.
 */
function realOutputs(
  st: StepStatus,
  spec: WorkflowStep,
  input: EngineInput,
): { outputs: Record<string, unknown> | undefined; lostPod?: string } {
  if (st.phase !== 'Succeeded') return { outputs: st.outputs };
  const agent = input.agents.get(spec.agentRef.name);
  if (!agent?.spec.outputsSchema || sensitivePaths(agent.spec.outputsSchema).length === 0)
    return { outputs: st.outputs };
  const found = st.podName ? input.pods.get(st.podName) : undefined;
  const pod = found && input.provenance.verifyPod(found) ? found : undefined;
  const term = pod?.status?.containerStatuses?.find((c) => c.name === AGENT_CONTAINER)?.state?.terminated;
  const parsed = pod ? parseOutputs(term?.message, agent.spec.outputsSchema) : undefined;
  return parsed?.ok ? { outputs: parsed.outputs } : { outputs: st.outputs, lostPod: st.podName ?? '?' };
}

/** Why one of `refs` cannot give its real outputs, if so (see realOutputs). */
function lostOutputs(refs: Iterable<string>, lost: ReadonlyMap<string, string>): string | undefined {
  for (const name of refs) {
    const pod = lost.get(name);
    if (pod !== undefined)
      return `step ${name}'s outputs are marked sensitive and its pod ${pod} is gone, so only their redacted copy in status remains; run the Workflow again`;
  }
  return undefined;
}

function containsRedacted(v: unknown): boolean {
  if (typeof v === 'string') return v.includes(REDACTED);
  if (Array.isArray(v)) return v.some(containsRedacted);
  if (v && typeof v === 'object') return Object.values(v).some(containsRedacted);
  return false;
}

/** A failed attempt's termination message, shown in status and Events: sensitive outputs redacted. */
function redactMessage(message: string, agent: Agent | undefined): string {
  const schema = agent?.spec.outputsSchema;
  if (!schema || sensitivePaths(schema).length === 0) return message;
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    // Not JSON (perhaps cut at the 4096-byte limit): nothing tells which part is sensitive.
    return `(termination message withheld: not JSON, and Agent "${agent?.metadata.name ?? ''}" marks outputs sensitive)`;
  }
  return parsed !== null && typeof parsed === 'object'
    ? JSON.stringify(redact(parsed, schema))
    : `(termination message withheld: not a JSON object, and Agent "${agent?.metadata.name ?? ''}" marks outputs sensitive)`;
}

/**
 * The step failure reason for an expression that could not be evaluated: over budget
 * (CostLimitExceeded, ResultTooLarge) as such; a template's unresolved reference as
 * MissingReference; anything else (types, evaluation, a condition's missing field) as `otherwise`.
 */
function failureReason(
  reason: ExpressionFailureReason,
  otherwise: 'InvalidCondition' | 'InvalidTemplate',
): string {
  if (reason === 'CostLimitExceeded' || reason === 'ResultTooLarge') return reason;
  return reason === 'MissingReference' && otherwise === 'InvalidTemplate' ? reason : otherwise;
}

function stepTimeoutSeconds(spec: WorkflowStep, agent: Agent | undefined): number {
  return spec.timeoutSeconds ?? agent?.spec.timeoutSeconds ?? DEFAULT_STEP_TIMEOUT_SECONDS;
}

function stepSeconds(st: StepStatus, plan: Plan): number | undefined {
  if (!st.startedAt) return undefined;
  return Math.max(0, (plan.nowMs - Date.parse(st.startedAt)) / 1000);
}

function workflowConditions(
  prev: Condition[] | undefined,
  o: {
    /** Finished in an earlier pass: its verdict stands; only Suspended follows the spec. */
    finishedBefore: boolean;
    phase: string;
    problems: WorkflowProblem[];
    failure: { reason: string; message: string } | undefined;
    suspended: boolean;
    generation: number | undefined;
    now: string;
  },
): Condition[] {
  const c: ConditionInput[] = [];
  if (o.finishedBefore && prev?.some((x) => x.type === CONDITION_READY)) {
    // The verdict of the pass that finished the workflow stands (restated, so the order stays).
    for (const x of prev) {
      if (x.type === CONDITION_READY || x.type === CONDITION_RECONCILING || x.type === CONDITION_STALLED)
        c.push({ type: x.type, status: x.status, reason: x.reason, message: x.message });
    }
  } else if (o.problems.length > 0) {
    const msg = o.problems.map((p) => p.message).join('; ');
    c.push({ type: CONDITION_READY, status: 'False', reason: o.problems[0]!.reason, message: msg });
    c.push({ type: CONDITION_RECONCILING, status: 'False', reason: o.problems[0]!.reason, message: '' });
    c.push({ type: CONDITION_STALLED, status: 'True', reason: o.problems[0]!.reason, message: msg });
  } else if (o.phase === 'Succeeded') {
    c.push({ type: CONDITION_READY, status: 'True', reason: 'Succeeded', message: 'all steps finished' });
    c.push({ type: CONDITION_RECONCILING, status: 'False', reason: 'Succeeded', message: '' });
    c.push({ type: CONDITION_STALLED, status: 'False', reason: 'Succeeded', message: '' });
  } else if (o.phase === 'Failed' || o.phase === 'Cancelled') {
    const reason = o.failure?.reason ?? o.phase;
    const message = o.failure?.message ?? o.phase;
    c.push({ type: CONDITION_READY, status: 'False', reason, message });
    c.push({ type: CONDITION_RECONCILING, status: 'False', reason, message: '' });
    c.push({ type: CONDITION_STALLED, status: 'True', reason, message });
  } else {
    c.push({ type: CONDITION_READY, status: 'False', reason: o.phase, message: `workflow is ${o.phase}` });
    c.push({ type: CONDITION_RECONCILING, status: 'True', reason: o.phase, message: '' });
    c.push({ type: CONDITION_STALLED, status: 'False', reason: o.phase, message: '' });
  }
  c.push(
    o.suspended
      ? {
          type: 'Suspended',
          status: 'True',
          reason: 'SpecSuspend',
          message: 'spec.suspend is true: no new steps start',
        }
      : { type: 'Suspended', status: 'False', reason: 'NotSuspended', message: '' },
  );
  return setConditions(prev, c, o.generation, o.now);
}

function stalledReason(conds: Condition[] | undefined): string | undefined {
  const s = conds?.find((c) => c.type === CONDITION_STALLED);
  return s?.status === 'True' ? s.reason : undefined;
}

export function auditName(type: string): string {
  // StepSucceeded -> step.succeeded, WorkflowStarted -> workflow.started, ApprovalRequested -> approval.requested
  return type.replace(
    /^(Step|Workflow|Approval)(.*)$/,
    (_m, a: string, b: string) => `${a.toLowerCase()}.${b.charAt(0).toLowerCase()}${b.slice(1)}`,
  );
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 3)}...`;
}
