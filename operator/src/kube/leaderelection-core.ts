// The pure part of Lease leader election: what a candidate may do given the lease record it last
// observed, when it observed it (on its own clock), and the time now. No I/O, no timers; the
// elector in leaderelection.ts drives it. Semantics follow k8s.io/client-go/tools/leaderelection:
//
// - Expiry is judged on the CANDIDATE'S clock: a lease is valid until `observedAt +
//   leaseDurationSeconds`, where `observedAt` is when this candidate last saw the record change.
//   The holder's renewTime is never compared with our clock, so clock skew between replicas
//   cannot make a live lease look expired (or an expired one look live). The price, as in
//   client-go, is that a fresh candidate waits one full lease duration before taking over a lease
//   it has never seen change, however old its renewTime is.
// - A lease with an empty holderIdentity has been released and may be taken at once.
// - Taking a lease from someone else (or from nobody) increments leaseTransitions and sets
//   acquireTime; renewing our own lease keeps both.

/** Lease spec fields as coordination.k8s.io/v1 names them. */
export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  /** MicroTime. */
  acquireTime?: string;
  /** MicroTime. */
  renewTime?: string;
  leaseTransitions?: number;
  /** Coordinated leader election fields; preserved untouched. */
  strategy?: string;
  preferredHolder?: string;
}

/** The fields of a Lease that leader election reads and writes (client-go LeaderElectionRecord). */
export interface LeaseRecord {
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime: string;
  renewTime: string;
  leaseTransitions: number;
}

/** A record and the instant (candidate's clock, ms) at which the candidate saw it change. */
export interface Observation {
  readonly record: LeaseRecord;
  readonly observedAtMs: number;
}

export type Decision =
  /** No lease exists: create it, holding it. */
  | { readonly action: 'create' }
  /** We hold the lease: renew it (keep acquireTime and leaseTransitions). */
  | { readonly action: 'renew' }
  /** Someone else held it but it expired or was released: take it (transitions + 1). */
  | { readonly action: 'acquire'; readonly why: 'expired' | 'released' }
  /** Someone else holds a valid lease: wait. */
  | { readonly action: 'wait'; readonly holder: string; readonly expiresAtMs: number };

export function recordFromSpec(spec: LeaseSpec | undefined): LeaseRecord {
  return {
    holderIdentity: spec?.holderIdentity ?? '',
    leaseDurationSeconds: spec?.leaseDurationSeconds ?? 0,
    acquireTime: spec?.acquireTime ?? '',
    renewTime: spec?.renewTime ?? '',
    leaseTransitions: spec?.leaseTransitions ?? 0,
  };
}

export function sameRecord(a: LeaseRecord, b: LeaseRecord): boolean {
  return (
    a.holderIdentity === b.holderIdentity &&
    a.leaseDurationSeconds === b.leaseDurationSeconds &&
    a.acquireTime === b.acquireTime &&
    a.renewTime === b.renewTime &&
    a.leaseTransitions === b.leaseTransitions
  );
}

/**
 * Folds a freshly read record into the previous observation: the observation time moves only when
 * the record changed (client-go compares the raw record). A leader that keeps renewing changes
 * renewTime every time, so its lease keeps looking fresh; one that stopped does not.
 */
export function observe(prev: Observation | undefined, record: LeaseRecord, nowMs: number): Observation {
  if (prev && sameRecord(prev.record, record)) return prev;
  return { record, observedAtMs: nowMs };
}

/** Until when (candidate's clock) the observed lease is valid. */
export function leaseExpiresAt(obs: Observation): number {
  return obs.observedAtMs + Math.max(0, obs.record.leaseDurationSeconds) * 1000;
}

/** client-go isLeaseValid: valid while observedAt + duration is still after now. */
export function leaseValid(obs: Observation, nowMs: number): boolean {
  return leaseExpiresAt(obs) > nowMs;
}

/**
 * What a candidate may do. `observation` is undefined when the lease does not exist (it was just
 * read and found absent).
 */
export function decide(observation: Observation | undefined, nowMs: number, identity: string): Decision {
  if (!observation) return { action: 'create' };
  const { holderIdentity } = observation.record;
  if (holderIdentity === identity) return { action: 'renew' };
  if (holderIdentity === '') return { action: 'acquire', why: 'released' };
  if (leaseValid(observation, nowMs)) {
    return { action: 'wait', holder: holderIdentity, expiresAtMs: leaseExpiresAt(observation) };
  }
  return { action: 'acquire', why: 'expired' };
}

/**
 * The spec to write for a decision that lets us hold the lease. `prev` is the spec currently stored
 * (undefined on create); fields leader election does not own (strategy, preferredHolder) are kept.
 * `wallMs` is the wall-clock time written as renewTime (and acquireTime when we acquire).
 */
export function nextSpec(
  decision: Exclude<Decision, { action: 'wait' }>,
  prev: LeaseSpec | undefined,
  identity: string,
  leaseDurationSeconds: number,
  wallMs: number,
): LeaseSpec {
  const now = formatMicroTime(wallMs);
  const old = recordFromSpec(prev);
  const renewing = decision.action === 'renew';
  return {
    ...prev,
    holderIdentity: identity,
    leaseDurationSeconds,
    acquireTime: renewing && old.acquireTime ? old.acquireTime : now,
    renewTime: now,
    leaseTransitions:
      decision.action === 'create' ? 0 : renewing ? old.leaseTransitions : old.leaseTransitions + 1,
  };
}

/**
 * The spec a leader writes when it steps down gracefully (client-go ReleaseOnCancel): no holder,
 * a 1 s duration, times set to now, transitions unchanged. Others may take it at once.
 */
export function releasedSpec(prev: LeaseSpec | undefined, wallMs: number): LeaseSpec {
  const now = formatMicroTime(wallMs);
  return {
    ...prev,
    holderIdentity: '',
    leaseDurationSeconds: 1,
    acquireTime: now,
    renewTime: now,
    leaseTransitions: prev?.leaseTransitions ?? 0,
  };
}

export interface LeaderElectionTiming {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

/** client-go's jitter factor for the acquire loop: waits are retryPeriod * [1, 1 + 1.2). */
export const JITTER_FACTOR = 1.2;

/** Rejects timings that would let two leaders overlap (client-go NewLeaderElector's checks). */
export function validateTiming(t: LeaderElectionTiming): void {
  const { leaseDurationMs, renewDeadlineMs, retryPeriodMs } = t;
  for (const [k, v] of Object.entries(t)) {
    if (!(Number.isFinite(v) && v > 0))
      throw new RangeError(`leader election: ${k} must be > 0, got ${String(v)}`);
  }
  if (leaseDurationMs <= renewDeadlineMs) {
    throw new RangeError('leader election: leaseDurationMs must be greater than renewDeadlineMs');
  }
  if (renewDeadlineMs <= JITTER_FACTOR * retryPeriodMs) {
    throw new RangeError(
      `leader election: renewDeadlineMs must be greater than ${JITTER_FACTOR} * retryPeriodMs`,
    );
  }
}

/**
 * metav1.MicroTime in JSON: RFC 3339 in UTC with exactly six fractional digits,
 * e.g. "2026-01-02T03:04:05.123456Z". `epochMs` may be fractional (sub-ms precision).
 */
export function formatMicroTime(epochMs: number): string {
  const whole = Math.floor(epochMs);
  // Rounded, not floored: epoch ms carry ~0.2 us of float error, which must not turn .456 into .455.
  const micros = Math.min(999, Math.max(0, Math.round((epochMs - whole) * 1000)));
  const iso = new Date(whole).toISOString(); // always "...sss Z" with 3 fractional digits
  return `${iso.slice(0, -1)}${String(micros).padStart(3, '0')}Z`;
}
