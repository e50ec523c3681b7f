// Planning: which steps may start, wait, be skipped or be stopped, from the DAG and the
// steps' phases; and the run's verdict once every step is done.
import type { StepStatus, Workflow, WorkflowStep } from '../../api/generated/index.ts';
import { adoptNewerPod, observeRunning, start } from './attempts.ts';
import { FanOut } from './fan-out.ts';
import { countPhases } from './instances.ts';
import { finish } from './outcomes.ts';
import { RETRY_REQUESTED } from './retry-run.ts';
import { evaluateCondition, referencedSteps } from './expressions.ts';
import type { Graph } from './graph.ts';
import type { Plan } from './plan.ts';
import { TERMINAL_STEP, WAIT_TO_CREATE, type EngineInput } from './plan.ts';
import { context, failureReason, lostOutputs } from './template-scope.ts';

// --- step progression ---------------------------------------------------------

export function advance(
  plan: Plan,
  wf: Workflow,
  graph: Graph,
  steps: Map<string, StepStatus>,
  input: EngineInput,
): void {
  // First observe what running steps did, then decide what may start.
  const fanOuts = new Map<string, FanOut>();
  const failingNow = (): boolean =>
    graph.order.some((n) => steps.get(n)!.phase === 'Failed' && !stepContinues(graph, n));
  for (const name of graph.order) {
    const spec = graph.byName.get(name)!;
    const st = steps.get(name)!;
    if (spec.forEach) {
      // A forEach step's instances are attempts of their own (fan-out.ts).
      const fo = new FanOut(wf, spec, st, steps, input);
      fanOuts.set(name, fo);
      if (st.phase === 'Running') {
        fo.observe(plan);
        fo.settle(plan, failingNow());
      }
      continue;
    }
    adoptNewerPod(plan, st, input);
    if (st.phase === 'Running') observeRunning(plan, wf, spec, st, input);
  }
  let running = 0;
  for (const st of steps.values()) {
    if (st.phase !== 'Running') continue;
    const fo = fanOuts.get(st.name);
    running += fo ? fo.running() : st.instances ? countPhases(st.instances.phases)['R']! : 1;
  }
  const parallelism = wf.spec.parallelism ?? 4;
  for (const name of graph.order) {
    const spec = graph.byName.get(name)!;
    const st = steps.get(name)!;
    const fo = fanOuts.get(name);
    if (fo && st.phase === 'Running') {
      // Read per step, as below.
      const failing = failingNow();
      running += fo.startInstances(plan, Math.max(0, parallelism - running), failing);
      fo.settle(plan, failing);
      continue;
    }
    if (TERMINAL_STEP.has(st.phase) || st.phase === 'Running') continue;
    // Read per step: a step that failed to start earlier in this loop fails the workflow too.
    // Only this graph's steps count: a finally step still runs after a failed spec.steps DAG.
    const failing = failingNow();
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
      );
      continue;
    }
    if (st.phase === 'Pending') {
      const gate = dependencyGate(graph, spec, steps);
      if (gate === 'wait') continue;
      if (gate === 'upstream-failed') {
        finish(plan, st, spec, 'Skipped', 'UpstreamFailed', 'a step it depends on failed or was cancelled');
        continue;
      }
      if (fo) {
        // Its `when` is each instance's (fan-out.ts); the list is read once the dependencies are done.
        if (wf.spec.suspend || !fo.begin(plan)) continue;
        running += fo.running(); // instances adopted from a crashed pass
        running += fo.startInstances(plan, Math.max(0, parallelism - running), false);
        fo.settle(plan, false);
        continue;
      }
      if (spec.when !== undefined) {
        const scope = context(wf, steps, input);
        const gone = lostOutputs(referencedSteps(spec.when), scope.lost);
        if (gone) {
          finish(plan, st, spec, 'Failed', 'OutputsUnavailable', `when: ${gone}`);
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
          );
          continue;
        }
        if (!cond.value) {
          finish(plan, st, spec, 'Skipped', 'ConditionFalse', `when ${JSON.stringify(spec.when)} is false`);
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
    // A new attempt after a failed one (retry backoff, or the run retried: retry-run.ts); the same
    // attempt again when its child was refused or it never started.
    const attempt =
      (st.phase === 'Waiting' && !WAIT_TO_CREATE.has(st.reason ?? '')) ||
      (st.phase === 'Pending' && st.reason === RETRY_REQUESTED)
        ? (st.attempt ?? 0) + 1
        : (st.attempt ?? 1);
    if (start(plan, wf, spec, st, attempt, steps, input)) running++;
  }
  for (const apply of plan.refusedStarts.splice(0)) apply();
  for (const fo of fanOuts.values()) fo.encode();
}

export function stopAll(
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
    if (spec.forEach) {
      const fo = new FanOut(wf, spec, st, steps, input);
      fo.stop(plan, runningPhase, reason, message);
      fo.encode();
      continue;
    }
    if (st.phase === 'Running' && st.podName) {
      if (input.pods.has(st.podName) || input.expectedPods?.has(st.podName))
        plan.delete.push({ name: st.podName, reason });
      finish(plan, st, spec, runningPhase, reason, message);
    } else {
      finish(plan, st, spec, 'Cancelled', reason, message);
    }
  }
}

export function dependencyGate(
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
    // A Skipped dependency counts as done: its dependents still run (docs/workflow-authors.md,
    // "Dependencies, skips and failures").
    if (ds.phase === 'Skipped' && (ds.reason === 'UpstreamFailed' || ds.reason === 'WorkflowFailed'))
      return 'upstream-failed';
  }
  return 'ready';
}

export function stepContinues(graph: Graph, name: string): boolean {
  return graph.byName.get(name)?.continueOnFailure === true;
}
