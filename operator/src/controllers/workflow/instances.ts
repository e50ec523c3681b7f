// The compact status of a forEach step's instances (status.steps[].instances) and its decoding into
// one StepStatus per instance, the form the attempt functions work on (attempts.ts). A 5000-item
// fan-out must keep the Workflow far below etcd's object limit, so only what the engine needs to
// go on is kept: a letter per instance, the active instances in full, the first failures, the
// attempts that are not the default, and the outputs in item order. Everything else about an
// instance (each start, success and retry) is in the audit log (docs/workflow-authors.md, "Fan-out").
// Pure.
import type {
  ActiveInstance,
  FailedInstance,
  InstancesStatus,
  StepPhase,
  StepStatus,
} from '../../api/generated/index.ts';
import { truncate } from '../../util/truncate.ts';

/** The most items a forEach list may have. */
export const MAX_INSTANCES = 5000;
/** The most JSON the outputs of one forEach step's instances may take together in status. */
export const MAX_FANOUT_OUTPUTS_BYTES = 128 * 1024;
/** The most JSON a forEach expression's list may take (the items themselves reach the pods). */
export const MAX_FOREACH_LIST_BYTES = 1024 * 1024;
/** Failed instances kept in full (the first, by index); the others are letters, Events and audit lines. */
export const MAX_FAILURES_KEPT = 20;

const LETTER: Readonly<Record<StepPhase, string>> = {
  Pending: 'P',
  Waiting: 'W',
  Running: 'R',
  Succeeded: 'S',
  Failed: 'F',
  Skipped: 'K',
  Cancelled: 'C',
  // Never an instance's phase (a forEach step cannot be gated); read back as Waiting.
  WaitingForApproval: 'W',
};

const PHASE: Readonly<Record<string, StepPhase>> = {
  P: 'Pending',
  W: 'Waiting',
  R: 'Running',
  S: 'Succeeded',
  F: 'Failed',
  K: 'Skipped',
  C: 'Cancelled',
};

/** The letter of a phase in `phases`. */
export function phaseLetter(phase: StepPhase): string {
  return LETTER[phase];
}

/** The attempt an instance has when `attempts` does not name it. */
function defaultAttempt(phase: StepPhase): number {
  return phase === 'Pending' ? 0 : 1;
}

/** A fresh set of `count` pending instances, keeping the attempts of an earlier set by index. */
export function freshInstances(count: number, earlier?: InstancesStatus): InstancesStatus {
  const attempts: Record<string, number> = {};
  for (const [k, v] of Object.entries(earlier?.attempts ?? {}))
    if (Number(k) < count && v > 0) attempts[k] = v;
  // An earlier instance that ran once has attempt 1 by default: keep it, so its next pod is new.
  const old = earlier?.phases ?? '';
  for (let i = 0; i < Math.min(count, old.length); i++)
    if (old[i] !== 'P' && attempts[String(i)] === undefined) attempts[String(i)] = 1;
  return {
    count,
    phases: 'P'.repeat(count),
    ...(Object.keys(attempts).length > 0 ? { attempts } : {}),
    summary: summarize('P'.repeat(count)),
  };
}

/** One StepStatus per instance (named after the step), in index order. */
export function decodeInstances(step: string, s: InstancesStatus): StepStatus[] {
  const active = new Map((s.active ?? []).map((a) => [a.index, a]));
  const failures = new Map((s.failures ?? []).map((f) => [f.index, f]));
  const out: StepStatus[] = [];
  for (let i = 0; i < s.count; i++) {
    const phase = PHASE[s.phases[i] ?? 'P'] ?? 'Pending';
    const st: StepStatus = { name: step, phase };
    const attempt = s.attempts?.[String(i)] ?? defaultAttempt(phase);
    if (attempt > 0) st.attempt = attempt;
    const a = active.get(i);
    if (a && (phase === 'Running' || phase === 'Waiting')) {
      if (a.podName !== undefined) st.podName = a.podName;
      if (a.startedAt !== undefined) st.startedAt = a.startedAt;
      if (a.nextRetryAt !== undefined) st.nextRetryAt = a.nextRetryAt;
      if (a.reason !== undefined) st.reason = a.reason;
      if (a.message !== undefined) st.message = a.message;
    }
    const f = failures.get(i);
    if (f && phase === 'Failed') {
      if (f.reason !== undefined) st.reason = f.reason;
      if (f.message !== undefined) st.message = f.message;
    }
    const o = s.outputs?.[i];
    if (phase === 'Succeeded' && o) st.outputs = o;
    out.push(st);
  }
  return out;
}

/** The compact form of the instances (see the file comment). */
export function encodeInstances(instances: readonly StepStatus[]): InstancesStatus {
  let phases = '';
  const attempts: Record<string, number> = {};
  const active: ActiveInstance[] = [];
  const failures: FailedInstance[] = [];
  let anyOutputs = false;
  instances.forEach((st, i) => {
    phases += LETTER[st.phase];
    const attempt = st.attempt ?? 0;
    if (attempt !== defaultAttempt(st.phase)) attempts[String(i)] = attempt;
    if (st.phase === 'Running' || st.phase === 'Waiting') {
      active.push({
        index: i,
        ...(st.attempt !== undefined ? { attempt: st.attempt } : {}),
        ...(st.podName !== undefined ? { podName: st.podName } : {}),
        ...(st.startedAt !== undefined ? { startedAt: st.startedAt } : {}),
        ...(st.nextRetryAt !== undefined ? { nextRetryAt: st.nextRetryAt } : {}),
        ...(st.reason !== undefined ? { reason: st.reason } : {}),
        ...(st.message !== undefined ? { message: truncate(st.message, 1024) } : {}),
      });
    }
    if (st.phase === 'Failed' && failures.length < MAX_FAILURES_KEPT) {
      failures.push({
        index: i,
        ...(st.attempt !== undefined ? { attempt: st.attempt } : {}),
        ...(st.reason !== undefined ? { reason: st.reason } : {}),
        ...(st.message !== undefined ? { message: truncate(st.message, 1024) } : {}),
      });
    }
    if (st.phase === 'Succeeded') anyOutputs = true;
  });
  return {
    count: instances.length,
    phases,
    summary: summarize(phases),
    ...(Object.keys(attempts).length > 0 ? { attempts } : {}),
    ...(active.length > 0 ? { active } : {}),
    ...(failures.length > 0 ? { failures } : {}),
    ...(anyOutputs ? { outputs: outputsList(instances) } : {}),
  };
}

/** The instances' outputs in item order, null where an instance did not succeed. */
export function outputsList(instances: readonly StepStatus[]): Array<Record<string, unknown> | null> {
  return instances.map((st) => (st.phase === 'Succeeded' ? (st.outputs ?? {}) : null));
}

/** Counts by phase letter. */
export function countPhases(phases: string): Record<string, number> {
  const n: Record<string, number> = { P: 0, W: 0, R: 0, S: 0, F: 0, K: 0, C: 0 };
  for (const c of phases) n[c] = (n[c] ?? 0) + 1;
  return n;
}

/** "37/50 done (35 succeeded, 2 failed), 5 running, 8 pending", for kubectl describe. */
export function summarize(phases: string): string {
  const n = countPhases(phases);
  const done = n['S']! + n['F']! + n['K']! + n['C']!;
  const parts = [
    ['succeeded', n['S']!],
    ['failed', n['F']!],
    ['skipped', n['K']!],
    ['cancelled', n['C']!],
  ]
    .filter(([, c]) => (c as number) > 0)
    .map(([w, c]) => `${c} ${w}`);
  const tail = [
    ['running', n['R']!],
    ['waiting', n['W']!],
    ['pending', n['P']!],
  ]
    .filter(([, c]) => (c as number) > 0)
    .map(([w, c]) => `, ${c} ${w}`)
    .join('');
  return `${done}/${phases.length} done${parts.length > 0 ? ` (${parts.join(', ')})` : ''}${tail}`;
}

/** JSON size of a value as status would hold it. */
export function jsonBytes(v: unknown): number {
  return Buffer.byteLength(JSON.stringify(v ?? null), 'utf8');
}

/**
 * The instances of a retried forEach step (retry-run.ts): succeeded ones keep their outputs unless
 * `all`, the others go back to pending with their attempt kept, so each starts a new attempt.
 */
export function retryInstances(s: InstancesStatus, all: boolean): InstancesStatus {
  const instances = decodeInstances('', s).map((st): StepStatus => {
    if (st.phase === 'Succeeded' && !all) return st;
    return { name: '', phase: 'Pending', ...(st.attempt !== undefined ? { attempt: st.attempt } : {}) };
  });
  return encodeInstances(instances);
}
