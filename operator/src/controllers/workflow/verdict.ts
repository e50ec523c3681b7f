// The run's verdict: of the DAG of spec.steps once every step has ended, and of the whole run once
// the finally steps have ended too. A finally step's failure fails a run that had succeeded
// (FinallyFailed) and never hides the verdict of one that had not.
import type { StepStatus, Workflow, WorkflowStep } from '../../api/generated/index.ts';
import { TERMINAL_STEP } from './plan.ts';

export interface Verdict {
  readonly phase: 'Succeeded' | 'Failed' | 'Cancelled';
  readonly reason: string;
  readonly message: string;
}

/** The verdict of `specs` once all have ended; undefined while one has not. */
export function dagOutcome(
  specs: readonly WorkflowStep[],
  steps: ReadonlyMap<string, StepStatus>,
): (Verdict & { phase: 'Succeeded' | 'Failed' }) | undefined {
  const all = specs.map((s) => steps.get(s.name)!);
  if (!all.every((s) => TERMINAL_STEP.has(s.phase))) return undefined;
  const failed = specs.filter((s) => steps.get(s.name)!.phase === 'Failed' && !s.continueOnFailure);
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

/** The whole run's verdict from the DAG's and the finally steps'; undefined while one runs. */
export function runOutcome(
  wf: Workflow,
  dag: Verdict | undefined,
  steps: ReadonlyMap<string, StepStatus>,
): Verdict | undefined {
  if (!dag) return undefined;
  const fin = wf.spec.finally ?? [];
  if (fin.length === 0) return dag;
  if (!fin.every((s) => TERMINAL_STEP.has(steps.get(s.name)!.phase))) return undefined;
  const failed = fin.map((s) => steps.get(s.name)!).filter((s) => s.phase === 'Failed');
  if (failed.length === 0) return dag;
  const what = failed.map((s) => `${s.name} (${s.reason ?? 'Failed'}: ${s.message ?? ''})`).join(', ');
  if (dag.phase === 'Succeeded')
    return { phase: 'Failed', reason: 'FinallyFailed', message: `finally step ${what} failed` };
  return { ...dag, message: `${dag.message}; finally step ${what} also failed` };
}

/**
 * The `workflow` variable of templates and conditions: the DAG's verdict so far (Running until
 * every step of spec.steps has ended) and the steps of spec.steps that failed.
 */
export function runVariable(
  wf: Workflow,
  steps: ReadonlyMap<string, StepStatus>,
): { status: string; failedSteps: string[] } {
  const failedSteps = wf.spec.steps.filter((s) => steps.get(s.name)?.phase === 'Failed').map((s) => s.name);
  const dag = dagOutcome(wf.spec.steps, steps);
  const status = !dag ? 'Running' : wf.spec.cancel ? 'Cancelled' : dag.phase;
  return { status, failedSteps };
}

/** Every step of the run, spec.steps then spec.finally. */
export function allSteps(wf: Workflow): WorkflowStep[] {
  return [...wf.spec.steps, ...(wf.spec.finally ?? [])];
}
