// The verdict of an Approval from its admitted decisions, policy and the time,
// and the status written for it.
import { describe, expect, it } from 'vitest';
import type { Approval, ApprovalStatus, Decision } from '../../../../operator/src/api/generated/index.ts';
import { approvalStatus, decide } from '../../../../operator/src/controllers/approval/decide.ts';

const T0 = Date.parse('2026-03-01T12:00:00Z');
const EXPIRES = '2026-03-01T13:00:00Z';

function approval(
  o: {
    required?: number;
    users?: string[];
    groups?: string[];
    requestedBy?: string;
    retryRequestedBy?: string;
    decisions?: Decision[];
    status?: ApprovalStatus;
    expiresAt?: string | null;
    generation?: number;
  } = {},
): Approval {
  return {
    apiVersion: 'paddock.dev/v1alpha1',
    kind: 'Approval',
    metadata: { name: 'wf-patch-approval-1', namespace: 'ns', generation: o.generation ?? 1 },
    spec: {
      workflowRef: { name: 'wf', uid: 'u-1' },
      step: 'patch',
      request: { agent: 'patcher', agentGeneration: 1, image: 'img@sha256:x', digest: 'hmac-sha256:d' },
      policy: {
        required: o.required ?? 1,
        ...(o.users || o.groups
          ? {
              approvers: {
                ...(o.users ? { users: o.users } : {}),
                ...(o.groups ? { groups: o.groups } : {}),
              },
            }
          : {}),
        ...(o.expiresAt === null ? {} : { expiresAt: o.expiresAt ?? EXPIRES }),
      },
      ...(o.requestedBy ? { requestedBy: o.requestedBy } : {}),
      ...(o.retryRequestedBy ? { retryRequestedBy: o.retryRequestedBy } : {}),
      ...(o.decisions ? { decisions: o.decisions } : {}),
    },
    ...(o.status ? { status: o.status } : {}),
  };
}

const approve = (user: string, at = '2026-03-01T12:10:00Z', comment?: string): Decision => ({
  user,
  decision: 'Approve',
  at,
  ...(comment ? { comment } : {}),
});
const reject = (user: string, comment?: string, at = '2026-03-01T12:20:00Z'): Decision => ({
  user,
  decision: 'Reject',
  at,
  ...(comment ? { comment } : {}),
});

describe('decide', () => {
  it('is Pending without decisions, and asks to be looked at again at expiry', () => {
    const v = decide(approval({ required: 2 }), T0);
    expect(v.phase).toBe('Pending');
    expect(v.approvedBy).toEqual([]);
    expect(v.reason).toBe('WaitingForDecisions');
    expect(v.message).toBe(`0 of 2 approvals; expires at ${EXPIRES}`);
    expect(v.recheckAt).toBe(Date.parse(EXPIRES));
    expect(v.decidedBy).toBeUndefined();
  });

  it('without an expiry never expires and sets no recheck', () => {
    const v = decide(approval({ expiresAt: null }), T0 + 10 * 365 * 86_400_000);
    expect(v.phase).toBe('Pending');
    expect(v.recheckAt).toBeUndefined();
    expect(v.message).toBe('0 of 1 approvals');
  });

  it('one approval meets a policy of one', () => {
    const v = decide(approval({ decisions: [approve('bob', '2026-03-01T12:10:00Z')] }), T0);
    expect(v.phase).toBe('Approved');
    expect(v.approvedBy).toEqual(['bob']);
    expect(v.decidedBy).toBe('bob');
    expect(v.decidedAt).toBe('2026-03-01T12:10:00Z');
    expect(v.message).toBe('approved by bob (1 of 1 required)');
    expect(v.recheckAt).toBeUndefined();
  });

  it('needs N distinct approvers: the same user twice counts once', () => {
    const a = approval({ required: 2, decisions: [approve('bob'), approve('bob')] });
    expect(decide(a, T0).phase).toBe('Pending');
    expect(decide(a, T0).approvedBy).toEqual(['bob']);
    const b = approval({
      required: 2,
      decisions: [approve('bob', '2026-03-01T12:10:00Z'), approve('carol', '2026-03-01T12:11:00Z')],
    });
    const v = decide(b, T0);
    expect(v.phase).toBe('Approved');
    expect(v.approvedBy).toEqual(['bob', 'carol']);
    expect(v.decidedBy).toBe('carol');
    expect(v.decidedAt).toBe('2026-03-01T12:11:00Z');
    expect(v.message).toBe('approved by bob, carol (2 of 2 required)');
  });

  it('a required of 0 (or less) still needs one approval', () => {
    expect(decide(approval({ required: 0 }), T0).phase).toBe('Pending');
    expect(decide(approval({ required: 0, decisions: [approve('bob')] }), T0).phase).toBe('Approved');
  });

  it("ignores the requester's own approval, and says why", () => {
    const v = decide(approval({ requestedBy: 'alice', decisions: [approve('alice')] }), T0);
    expect(v.phase).toBe('Pending');
    expect(v.approvedBy).toEqual([]);
    expect(v.ignored).toEqual([{ user: 'alice', why: 'the requester cannot approve their own request' }]);
  });

  it("ignores the retry requester's approval, says why, and still counts the others", () => {
    const why = 'whoever asked for the retry of the run cannot approve the request it made';
    const v = decide(
      approval({ requestedBy: 'alice', retryRequestedBy: 'bob', decisions: [approve('bob')] }),
      T0,
    );
    expect(v.phase).toBe('Pending');
    expect(v.approvedBy).toEqual([]);
    expect(v.ignored).toEqual([{ user: 'bob', why }]);

    const both = decide(
      approval({
        required: 1,
        requestedBy: 'alice',
        retryRequestedBy: 'bob',
        decisions: [approve('alice'), approve('bob'), approve('carol', '2026-03-01T12:11:00Z')],
      }),
      T0,
    );
    expect(both.phase).toBe('Approved');
    expect(both.approvedBy).toEqual(['carol']);
    expect(both.decidedBy).toBe('carol');
    expect(both.ignored).toEqual([
      { user: 'alice', why: 'the requester cannot approve their own request' },
      { user: 'bob', why },
    ]);
  });

  it('lets the retry requester reject (a veto), and ignores nobody without spec.retryRequestedBy', () => {
    const v = decide(
      approval({ requestedBy: 'alice', retryRequestedBy: 'bob', decisions: [reject('bob', 'not yet')] }),
      T0,
    );
    expect(v.phase).toBe('Rejected');
    expect(v.rejectedBy).toEqual(['bob']);
    expect(v.ignored).toEqual([]);
    // An Approval of a run never retried: bob (not the requester) counts.
    const plain = decide(approval({ requestedBy: 'alice', decisions: [approve('bob')] }), T0);
    expect(plain.phase).toBe('Approved');
    expect(plain.approvedBy).toEqual(['bob']);
  });

  it('with only a users list, ignores approvals from anyone else', () => {
    const v = decide(approval({ users: ['bob'], decisions: [approve('mallory'), approve('bob')] }), T0);
    expect(v.phase).toBe('Approved');
    expect(v.approvedBy).toEqual(['bob']);
    expect(v.ignored).toEqual([{ user: 'mallory', why: 'not among spec.policy.approvers.users' }]);
  });

  it('with groups in the policy, counts users admission let through (groups are checked there)', () => {
    const v = decide(approval({ users: ['bob'], groups: ['sre'], decisions: [approve('carol')] }), T0);
    expect(v.phase).toBe('Approved');
    expect(v.approvedBy).toEqual(['carol']);
    expect(v.ignored).toEqual([]);
  });

  it('any reject vetoes, even after a quorum of approvals in the list', () => {
    const v = decide(
      approval({
        required: 1,
        decisions: [reject('dave', 'not today'), approve('bob'), reject('carol', 'no')],
      }),
      T0,
    );
    expect(v.phase).toBe('Rejected');
    expect(v.decidedBy).toBe('dave');
    expect(v.rejectedBy).toEqual(['dave', 'carol']);
    expect(v.approvedBy).toEqual(['bob']);
    expect(v.message).toBe('rejected by dave: not today');
    expect(v.reason).toBe('Rejected');
  });

  it('a reject without a comment still names who rejected', () => {
    expect(decide(approval({ decisions: [reject('dave')] }), T0).message).toBe('rejected by dave');
  });

  it('expires, failing closed, when the deadline passes without enough approvals', () => {
    const a = approval({ required: 2, decisions: [approve('bob')] });
    const justBefore = decide(a, Date.parse(EXPIRES) - 1);
    expect(justBefore.phase).toBe('Pending');
    const v = decide(a, Date.parse(EXPIRES));
    expect(v.phase).toBe('Expired');
    expect(v.decidedAt).toBe(EXPIRES);
    expect(v.message).toBe(`expired at ${EXPIRES} with 1 of 2 approvals`);
    expect(v.recheckAt).toBeUndefined();
  });

  it('a quorum admitted before the deadline stands when it is evaluated after it', () => {
    // Admission refuses decisions after expiry, so any quorum in spec was reached in time.
    const v = decide(approval({ decisions: [approve('bob')] }), Date.parse(EXPIRES) + 60_000);
    expect(v.phase).toBe('Approved');
  });

  it('a decided Approval keeps its verdict whatever is appended or however late it is', () => {
    for (const phase of ['Approved', 'Rejected', 'Expired', 'Superseded'] as const) {
      const a = approval({
        decisions: [approve('bob'), reject('carol')],
        status: {
          phase,
          decidedBy: 'x',
          decidedAt: '2026-03-01T12:05:00.123Z',
          reason: `R-${phase}`,
          message: `m-${phase}`,
        },
      });
      const v = decide(a, Date.parse(EXPIRES) + 3_600_000);
      expect(v.phase).toBe(phase);
      expect(v.decidedBy).toBe('x');
      expect(v.decidedAt).toBe('2026-03-01T12:05:00.123Z');
      expect(v.reason).toBe(`R-${phase}`);
      expect(v.message).toBe(`m-${phase}`);
    }
  });

  it('a Pending status does not pin the verdict', () => {
    const v = decide(approval({ decisions: [approve('bob')], status: { phase: 'Pending' } }), T0);
    expect(v.phase).toBe('Approved');
  });
});

describe('approvalStatus', () => {
  const nowIso = '2026-03-01T12:30:00Z';
  const precise = '2026-03-01T12:30:00.457Z';

  it('Pending: not Ready, not Decided, no decidedAt', () => {
    const a = approval({ generation: 3 });
    const s = approvalStatus(a, decide(a, T0), nowIso, precise);
    expect(s.phase).toBe('Pending');
    expect(s.decidedAt).toBeUndefined();
    expect(s.observedGeneration).toBe(3);
    expect(s.conditions?.map((c) => [c.type, c.status, c.reason, c.observedGeneration])).toEqual([
      ['Ready', 'False', 'WaitingForDecisions', 3],
      ['Decided', 'False', 'WaitingForDecisions', 3],
    ]);
    expect(s.conditions?.every((c) => c.lastTransitionTime === nowIso)).toBe(true);
  });

  it('Approved: Ready and Decided, decidedAt with milliseconds (when the operator saw it)', () => {
    const a = approval({ decisions: [approve('bob', '2020-01-01T00:00:00Z')] });
    const s = approvalStatus(a, decide(a, T0), nowIso, precise);
    expect(s.phase).toBe('Approved');
    // Not the client-written decision time.
    expect(s.decidedAt).toBe(precise);
    expect(s.decidedBy).toBe('bob');
    expect(s.approvedBy).toEqual(['bob']);
    expect(s.rejectedBy).toEqual([]);
    expect(s.conditions?.map((c) => [c.type, c.status])).toEqual([
      ['Ready', 'True'],
      ['Decided', 'True'],
    ]);
  });

  it('without a precise time, decidedAt is the status time', () => {
    const a = approval({ decisions: [approve('bob')] });
    expect(approvalStatus(a, decide(a, T0), nowIso).decidedAt).toBe(nowIso);
  });

  it('Rejected and Expired are Decided but not Ready', () => {
    for (const [a, t] of [
      [approval({ decisions: [reject('dave')] }), T0],
      [approval(), Date.parse(EXPIRES)],
    ] as const) {
      const s = approvalStatus(a, decide(a, t), nowIso, precise);
      expect(s.conditions?.map((c) => [c.type, c.status])).toEqual([
        ['Ready', 'False'],
        ['Decided', 'True'],
      ]);
      expect(s.decidedAt).toBe(precise);
    }
  });

  it('keeps decidedAt once set, and lastTransitionTime of conditions whose status did not change', () => {
    const a = approval({
      decisions: [approve('bob')],
      status: {
        phase: 'Approved',
        decidedAt: '2026-03-01T12:01:00.001Z',
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'Approved',
            message: '',
            lastTransitionTime: '2026-03-01T12:01:00Z',
          },
          {
            type: 'Decided',
            status: 'False',
            reason: 'WaitingForDecisions',
            message: '',
            lastTransitionTime: '2026-03-01T11:00:00Z',
          },
        ],
      },
    });
    const s = approvalStatus(a, decide(a, T0), nowIso, precise);
    expect(s.decidedAt).toBe('2026-03-01T12:01:00.001Z');
    expect(s.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime).toBe('2026-03-01T12:01:00Z');
    // Decided went False -> True: a transition now.
    expect(s.conditions?.find((c) => c.type === 'Decided')?.lastTransitionTime).toBe(nowIso);
  });

  it('keeps supersededBy written by the workflow controller', () => {
    const a = approval({
      status: { phase: 'Superseded', supersededBy: 'wf-patch-approval-2', reason: 'RequestChanged' },
    });
    const s = approvalStatus(a, decide(a, T0), nowIso, precise);
    expect(s.phase).toBe('Superseded');
    expect(s.supersededBy).toBe('wf-patch-approval-2');
  });
});
