// The Workflow's conditions (Ready, Reconciling, Stalled, Suspended) from its phase and problems.
import { CONDITION_READY, CONDITION_RECONCILING, CONDITION_STALLED } from '../../api/constants.ts';
import { setConditions, type Condition, type ConditionInput } from '../conditions.ts';
import type { WorkflowProblem } from './validate.ts';

export function workflowConditions(
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

export function stalledReason(conds: Condition[] | undefined): string | undefined {
  const s = conds?.find((c) => c.type === CONDITION_STALLED);
  return s?.status === 'True' ? s.reason : undefined;
}
