// Pure rules about an Approval as the plugin sees it: its phase, the tally of
// decisions, whether the caller may still decide, and the decision to append.
// No I/O here, so the unit tests cover it all.
import { API_VERSION } from '../../operator/src/api/constants.ts';
import type { KubeObject } from '../../operator/src/kube/types.ts';
import type { Approval, Decision, DecisionValue } from '../../operator/src/api/generated/approval.ts';

/** The Approval as read from the server. */
export type ApprovalView = Approval;

/** The schema's maxLength for a decision comment. */
export const MAX_COMMENT = 1024;

/** Phase as shown: an Approval the operator has not yet given a status is Pending. */
export function phaseOf(a: ApprovalView): string {
  return a.status?.phase || 'Pending';
}

export function isPending(a: ApprovalView): boolean {
  return phaseOf(a) === 'Pending';
}

export interface Tally {
  readonly approvals: number;
  readonly rejections: number;
  readonly required: number;
}

/** Distinct approvers and rejecters so far, against the number the policy requires. */
export function tally(a: ApprovalView): Tally {
  const approve = new Set<string>();
  const reject = new Set<string>();
  for (const d of a.spec.decisions ?? []) (d.decision === 'Approve' ? approve : reject).add(d.user);
  return { approvals: approve.size, rejections: reject.size, required: a.spec.policy.required };
}

/** "1/2 approvals", or "1/2 approvals, 1 rejected" when someone vetoed. */
export function tallySentence(t: Tally): string {
  const base = `${t.approvals}/${t.required} approvals`;
  return t.rejections > 0 ? `${base}, ${t.rejections} rejected` : base;
}

/** "1/2", or "1/2 (1 rejected)" when someone vetoed (the list's REQUIRED column). */
export function tallyText(t: Tally): string {
  const base = `${t.approvals}/${t.required}`;
  return t.rejections > 0 ? `${base} (${t.rejections} rejected)` : base;
}

/** RFC 3339 in UTC, whole seconds (the form the API server itself writes). */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function buildDecision(
  user: string,
  decision: DecisionValue,
  comment: string | undefined,
  now: Date,
): Decision {
  if (!user) throw new Error('cannot decide without an authenticated username');
  const text = comment?.trim();
  if (decision === 'Reject' && !text) throw new Error('a rejection needs a reason: pass -m "why"');
  if (text && text.length > MAX_COMMENT)
    throw new Error(`the comment is ${text.length} characters; at most ${MAX_COMMENT} are allowed`);
  return { user, decision, ...(text ? { comment: text } : {}), at: rfc3339(now) };
}

/**
 * Why the caller cannot decide this Approval, or undefined when they can. The
 * API server enforces all of this too (a decided Approval is immutable,
 * decisions are append-only); checking first gives a clearer message.
 */
export function cannotDecide(a: ApprovalView, user: string, now: Date): string | undefined {
  const name = a.metadata.name ?? '';
  const phase = phaseOf(a);
  const st = a.status ?? {};
  if (phase !== 'Pending') {
    const by = st.decidedBy ? ` by ${st.decidedBy}` : '';
    const at = st.decidedAt ? ` at ${st.decidedAt}` : '';
    const why = st.message ? `: ${st.message}` : st.reason ? ` (${st.reason})` : '';
    if (phase === 'Superseded') {
      const next = st.supersededBy
        ? `approval ${st.supersededBy}`
        : 'the newer approval (kubectl paddock list)';
      return `approval ${name} is Superseded${at}${why}; the request changed, decide ${next} instead`;
    }
    if (phase === 'Expired') return `approval ${name} is Expired${at}${why}; it can no longer be decided`;
    return `approval ${name} is already ${phase}${by}${at}${why}; a decided approval cannot change`;
  }
  const mine = (a.spec.decisions ?? []).find((d) => d.user === user);
  if (mine) {
    const when = mine.at ? ` at ${mine.at}` : '';
    const said = mine.comment ? ` ("${mine.comment}")` : '';
    return `you (${user}) already decided approval ${name}: ${mine.decision}${when}${said}; decisions are final`;
  }
  const expires = a.spec.policy.expiresAt;
  if (expires && Date.parse(expires) <= now.getTime())
    return `approval ${name} expired at ${expires}; it can no longer be decided`;
  return undefined;
}

/**
 * Field manager of one person's decisions. Each person's own manager owns only
 * their own entry of the decisions list-map, so appliers never conflict.
 * The API server allows at most 128 characters.
 */
export function fieldManagerFor(user: string): string {
  return `kubectl-paddock-${user}`.slice(0, 128);
}

export interface DecisionApply extends KubeObject {
  spec: { decisions: Decision[] };
}

/**
 * The server-side apply configuration that appends one decision: only the
 * caller's own entry of spec.decisions (a list-map keyed by user, so the server
 * merges it after the others' entries without touching them), and the uid read,
 * so a deleted or re-created Approval of the same name is never decided blindly
 * (and apply never creates one).
 */
export function decisionApply(a: ApprovalView, decision: Decision): DecisionApply {
  const { name, namespace, uid } = a.metadata;
  if (!name || !uid) throw new Error('the Approval read has no name or uid');
  return {
    apiVersion: API_VERSION,
    kind: 'Approval',
    metadata: { name, ...(namespace ? { namespace } : {}), uid },
    spec: { decisions: [decision] },
  };
}

/**
 * The Approval this one superseded, by the operator's naming
 * `<workflow>-<step>-approval-<n>` (n from 1): the one numbered n-1, if any.
 */
export function previousApprovalName(name: string): string | undefined {
  const m = /^(.+-approval-)(\d+)$/.exec(name);
  if (!m?.[1] || !m[2]) return undefined;
  const n = Number(m[2]);
  return n >= 2 ? `${m[1]}${n - 1}` : undefined;
}

/** Whether `prev` gates the same step of the same Workflow as `a`. */
export function sameStep(a: ApprovalView, prev: ApprovalView): boolean {
  const uid = a.spec.workflowRef.uid;
  const puid = prev.spec.workflowRef.uid;
  return (
    prev.spec.workflowRef.name === a.spec.workflowRef.name &&
    prev.spec.step === a.spec.step &&
    (!uid || !puid || uid === puid)
  );
}
