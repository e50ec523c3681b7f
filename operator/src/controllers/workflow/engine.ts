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
//
// The engine is split by concern, each file pure:
//   plan.ts                the input, the plan, one pass's working state (history, Events, audits)
//   progress.ts            planning: which steps start, wait, are skipped or stopped; the verdict
//   attempts.ts            attempts and pods: start, observe, adopt a crashed pass's pod
//   outcomes.ts            a step's or attempt's outcome, recorded with its history, Event, metric
//   approval-gate.ts       requesting, judging and superseding a gated step's Approvals
//   template-scope.ts      what templates and conditions see (outputs, sensitive values)
//   workflow-conditions.ts Ready/Reconciling/Stalled/Suspended
//   pod-gc.ts              spec.podGC
import type { StepStatus, Workflow, WorkflowStatus } from '../../api/generated/index.ts';
import { ANNOTATION_RESUBMITTED_FROM } from '../../api/labels.ts';
import { adoptNewerPod } from './attempts.ts';
import { finish } from './outcomes.ts';
import type { Graph } from './graph.ts';
import {
  HISTORY_LIMIT,
  Plan,
  TERMINAL_STEP,
  TERMINAL_WORKFLOW,
  type EngineInput,
  type EnginePlan,
} from './plan.ts';
import { truncate } from '../../util/truncate.ts';
import { garbageCollectPods } from './pod-gc.ts';
import { advance, stopAll } from './progress.ts';
import { retryRequester, retryRun } from './retry-run.ts';
import { allSteps, dagOutcome, runOutcome, type Verdict } from './verdict.ts';
import { type WorkflowProblem, validateWorkflow } from './validate.ts';
import { stalledReason, workflowConditions } from './workflow-conditions.ts';

export function planWorkflow(input: EngineInput): EnginePlan {
  const wf = input.workflow;
  const prev = wf.status ?? {};
  const plan = new Plan(prev.history, input.now);
  const prevSteps = new Map((prev.steps ?? []).map((s) => [s.name, s]));
  const steps = new Map<string, StepStatus>(
    allSteps(wf).map((s) => [s.name, { ...(prevSteps.get(s.name) ?? { name: s.name, phase: 'Pending' }) }]),
  );
  let phase = prev.phase ?? 'Pending';
  let startedAt = prev.startedAt;
  let finishedAt = prev.finishedAt;
  let retries = prev.retries;
  // A retry asked for (spec.retry): the run goes back to Running before anything else (retry-run.ts).
  const retry = retryRun(plan, wf, phase, retries ?? 0, steps);
  if (retry) {
    retries = retry.retries;
    if (retry.restarted) {
      phase = 'Running';
      startedAt = plan.now;
      finishedAt = undefined;
    }
  }
  // Whoever asked for the retry cannot approve what the retried run requests (approval-gate.ts).
  plan.retryRequestedBy = retryRequester(wf, retries ?? 0);
  let failure: { reason: string; message: string } | undefined;
  let problems: WorkflowProblem[] = [];
  let graph: Graph | undefined;
  let finallyGraph: Graph | undefined;

  const finished = TERMINAL_WORKFLOW.has(phase);
  if (!finished) {
    const v = validateWorkflow(wf, input.agents);
    if (v.ok) {
      graph = v.graph;
      finallyGraph = v.finallyGraph;
    } else if (phase === 'Pending') {
      problems = v.problems;
    } else {
      // Running already: a step whose Agent changed under it fails when it starts; graph problems
      // cannot appear (the spec is immutable), so use the graph if there is one.
      graph = v.graph;
      finallyGraph = v.finallyGraph;
    }
  }

  if (!finished && wf.spec.cancel && phase === 'Pending') {
    // Cancelled before it ever started (perhaps while Stalled): nothing runs, nothing to stop.
    problems = [];
    for (const spec of allSteps(wf)) {
      const st = steps.get(spec.name)!;
      if (!TERMINAL_STEP.has(st.phase))
        finish(plan, st, spec, 'Cancelled', 'Cancelled', 'cancelled before it started');
    }
    phase = 'Cancelled';
    failure = { reason: 'Cancelled', message: 'spec.cancel is true; the workflow never started' };
    finishedAt = plan.now;
    plan.record('WorkflowCancelled', { reason: 'Cancelled', message: failure.message, warning: true });
  } else if (!finished && problems.length === 0 && graph) {
    if (phase === 'Pending') {
      // Started now; whether it is Running or WaitingForApproval is settled below.
      startedAt = plan.now;
      plan.record('WorkflowStarted', { reason: 'Started', message: startedMessage(wf) });
    }
    const deadline = wf.spec.activeDeadlineSeconds;
    const startedMs = startedAt ? Date.parse(startedAt) : plan.nowMs;
    // First the DAG of spec.steps; once it has ended, whatever its verdict, the finally steps.
    let dag: Verdict | undefined;
    if (wf.spec.cancel) {
      // A pod created just before a crash is not in the status yet: adopt it so it is stopped too.
      for (const spec of wf.spec.steps) adoptNewerPod(plan, steps.get(spec.name)!, input);
      stopAll(plan, wf, steps, input, 'Cancelled', 'Cancelled', 'cancelled by spec.cancel');
      dag = { phase: 'Cancelled', reason: 'Cancelled', message: 'spec.cancel is true' };
    } else if (deadline !== undefined && plan.nowMs >= startedMs + deadline * 1000) {
      const message = `the workflow ran longer than spec.activeDeadlineSeconds (${deadline})`;
      stopAll(plan, wf, steps, input, 'Failed', 'DeadlineExceeded', message);
      dag = { phase: 'Failed', reason: 'DeadlineExceeded', message };
    } else {
      if (deadline !== undefined) plan.wakeAt(startedMs + deadline * 1000);
      advance(plan, wf, graph, steps, input);
      dag = dagOutcome(wf.spec.steps, steps);
    }
    if (dag && finallyGraph && finallyGraph.order.length > 0) advance(plan, wf, finallyGraph, steps, input);
    const all = [...steps.values()];
    phase =
      all.some((x) => x.phase === 'WaitingForApproval') && !all.some((x) => x.phase === 'Running')
        ? 'WaitingForApproval'
        : 'Running';
    const outcome = runOutcome(wf, dag, steps);
    if (outcome) {
      phase = outcome.phase;
      failure = outcome.phase === 'Succeeded' ? undefined : outcome;
    }
    if (TERMINAL_WORKFLOW.has(phase)) {
      finishedAt = plan.now;
      const warning = phase !== 'Succeeded';
      plan.record(`Workflow${phase}`, {
        reason: failure?.reason ?? phase,
        message: failure?.message ?? `all ${steps.size} steps finished`,
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

  const stepList = allSteps(wf).map((s) => steps.get(s.name)!);
  const done = stepList.filter((s) => TERMINAL_STEP.has(s.phase)).length;
  const status: WorkflowStatus = {
    observedGeneration: wf.metadata.generation,
    phase,
    ...(startedAt ? { startedAt } : {}),
    ...(finishedAt ? { finishedAt } : {}),
    ...(retries !== undefined ? { retries } : {}),
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

/** The WorkflowStarted message: how many steps, and where the run came from when resubmitted. */
function startedMessage(wf: Workflow): string {
  const fin = wf.spec.finally?.length ?? 0;
  const from = wf.metadata.annotations?.[ANNOTATION_RESUBMITTED_FROM];
  return `running ${wf.spec.steps.length} steps${fin > 0 ? ` and ${fin} finally` : ''}${from ? ` (resubmitted from ${from})` : ''}`;
}

// The engine's public surface, for the reconciler and the tests: one import site.
export {
  CACHE_LAG_MS,
  CREATE_WAIT_REASONS,
  HISTORY_LIMIT,
  QUOTA_RETRY_MS,
  TIMEOUT_GRACE_MS,
  WAIT_TO_CREATE,
  auditName,
  type AuditRecord,
  type CreateWaitReason,
  type EngineInput,
  type EnginePlan,
  type Refusal,
  type StepOutcome,
} from './plan.ts';
export { refusedRetryMs } from './refused-start.ts';
