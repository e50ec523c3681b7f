// The Agent's status from what the checks found. Pure.
import type { AgentStatus } from '../../api/generated/index.ts';
import { CONDITION_READY, CONDITION_RECONCILING, CONDITION_STALLED } from '../../api/constants.ts';
import {
  conditionsEqual,
  findCondition,
  setConditions,
  type Condition,
  type ConditionInput,
} from '../conditions.ts';
import type { AgentCheckResult } from './checks.ts';

export const CONDITION_IMAGE_NOT_PINNED = 'ImageNotPinned';

export function desiredAgentStatus(
  previous: AgentStatus | undefined,
  generation: number | undefined,
  check: AgentCheckResult,
  now: string,
): AgentStatus {
  const conds: ConditionInput[] = [];
  if (check.problems.length === 0) {
    conds.push({
      type: CONDITION_READY,
      status: 'True',
      reason: 'Valid',
      message: 'Agent spec is valid; steps may use it',
    });
    conds.push({ type: CONDITION_STALLED, status: 'False', reason: 'Valid', message: '' });
  } else {
    const first = check.problems[0]!;
    const message = check.problems.map((p) => p.message).join('; ');
    conds.push({ type: CONDITION_READY, status: 'False', reason: first.reason, message });
    // Stalled: the operator cannot make progress until someone changes the spec.
    conds.push({ type: CONDITION_STALLED, status: 'True', reason: first.reason, message });
  }
  conds.push({ type: CONDITION_RECONCILING, status: 'False', reason: 'Reconciled', message: '' });
  conds.push(
    check.imageNotPinned
      ? {
          type: CONDITION_IMAGE_NOT_PINNED,
          status: 'True',
          reason: 'TagNotDigest',
          message:
            'spec.image is referenced by tag; pin it by digest (image@sha256:...) so every run uses the same bits',
        }
      : { type: CONDITION_IMAGE_NOT_PINNED, status: 'False', reason: 'Digest', message: '' },
  );
  return {
    observedGeneration: generation,
    conditions: setConditions(previous?.conditions, conds, generation, now),
  };
}

export function agentStatusEqual(a: AgentStatus | undefined, b: AgentStatus): boolean {
  return a?.observedGeneration === b.observedGeneration && conditionsEqual(a?.conditions, b.conditions);
}

export interface ReadyTransition {
  readonly from: Condition | undefined;
  readonly to: Condition;
}

/** The Ready condition changed status or reason: worth an Event. */
export function readyTransition(
  previous: AgentStatus | undefined,
  next: AgentStatus,
): ReadyTransition | undefined {
  const from = findCondition(previous?.conditions, CONDITION_READY);
  const to = findCondition(next.conditions, CONDITION_READY);
  if (!to) return undefined;
  if (from && from.status === to.status && from.reason === to.reason && from.message === to.message)
    return undefined;
  return { from, to };
}
