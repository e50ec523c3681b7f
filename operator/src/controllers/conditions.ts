// kstatus-style conditions (Ready, Reconciling, Stalled, ...). Pure.
// lastTransitionTime moves only when a condition's status flips, so tools that
// watch for transitions (kubectl wait, Flux, Argo CD) see real changes only.
import { truncate } from '../util/truncate.ts';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface ConditionInput {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
}

/**
 * Returns the new conditions list: `desired` conditions set (in the given
 * order), others kept. lastTransitionTime is carried over when the status is
 * unchanged.
 */
export function setConditions(
  previous: readonly Condition[] | undefined,
  desired: readonly ConditionInput[],
  generation: number | undefined,
  now: string,
): Condition[] {
  const prev = new Map((previous ?? []).map((c) => [c.type, c]));
  const out: Condition[] = [];
  const seen = new Set<string>();
  for (const d of desired) {
    const old = prev.get(d.type);
    out.push({
      type: d.type,
      status: d.status,
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
      lastTransitionTime: old && old.status === d.status ? old.lastTransitionTime : now,
      reason: d.reason,
      message: truncate(d.message, 32_768),
    });
    seen.add(d.type);
  }
  for (const c of previous ?? []) if (!seen.has(c.type)) out.push(c);
  return out;
}

export function findCondition(conds: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conds?.find((c) => c.type === type);
}

export function isTrue(conds: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conds, type)?.status === 'True';
}

/** Condition lists equal in everything a reader sees (order-insensitive). */
export function conditionsEqual(
  a: readonly Condition[] | undefined,
  b: readonly Condition[] | undefined,
): boolean {
  const x = a ?? [];
  const y = b ?? [];
  if (x.length !== y.length) return false;
  const m = new Map(x.map((c) => [c.type, c]));
  return y.every((c) => {
    const o = m.get(c.type);
    return (
      o !== undefined &&
      o.status === c.status &&
      o.reason === c.reason &&
      o.message === c.message &&
      o.observedGeneration === c.observedGeneration &&
      o.lastTransitionTime === c.lastTransitionTime
    );
  });
}

/** Kubernetes metav1.Time: RFC 3339 with second precision. */
export function metaTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
