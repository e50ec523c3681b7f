import { describe, expect, it } from 'vitest';
import {
  buildDecision,
  cannotDecide,
  decisionApply,
  fieldManagerFor,
  isPending,
  phaseOf,
  previousApprovalName,
  rfc3339,
  sameStep,
  tally,
  tallySentence,
  tallyText,
} from '../../../cli/lib/approval.ts';
import { approval, NOW } from './fixtures.ts';

describe('phase and tally', () => {
  it('an Approval without status is Pending', () => {
    expect(phaseOf(approval({}))).toBe('Pending');
    expect(isPending(approval({ status: { phase: 'Approved' } }))).toBe(false);
    expect(phaseOf(approval({ status: { phase: 'Superseded' } }))).toBe('Superseded');
  });

  it('counts distinct approvers against the required number and notes vetoes', () => {
    const a = approval({
      decisions: [
        { user: 'bob', decision: 'Approve' },
        { user: 'carol', decision: 'Reject', comment: 'no' },
      ],
    });
    expect(tally(a)).toEqual({ approvals: 1, rejections: 1, required: 2 });
    expect(tallyText(tally(a))).toBe('1/2 (1 rejected)');
    expect(tallyText(tally(approval({})))).toBe('0/2');
    expect(tallySentence(tally(a))).toBe('1/2 approvals, 1 rejected');
    expect(tallySentence(tally(approval({})))).toBe('0/2 approvals');
  });
});

describe('buildDecision', () => {
  it('records the user, the decision, the trimmed comment and the time in RFC 3339 (UTC, seconds)', () => {
    expect(buildDecision('bob', 'Approve', '  lgtm ', new Date('2026-03-01T12:00:00.789Z'))).toEqual({
      user: 'bob',
      decision: 'Approve',
      comment: 'lgtm',
      at: '2026-03-01T12:00:00Z',
    });
    expect(rfc3339(NOW)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('omits an empty comment on approve', () => {
    expect(buildDecision('bob', 'Approve', undefined, NOW)).toEqual({
      user: 'bob',
      decision: 'Approve',
      at: '2026-03-01T12:00:00Z',
    });
    expect(buildDecision('bob', 'Approve', '   ', NOW)).not.toHaveProperty('comment');
  });

  it('a rejection needs a reason; comments fit the schema; a user is required', () => {
    expect(() => buildDecision('bob', 'Reject', undefined, NOW)).toThrow('needs a reason');
    expect(() => buildDecision('bob', 'Reject', '  ', NOW)).toThrow('needs a reason');
    expect(() => buildDecision('bob', 'Approve', 'x'.repeat(1025), NOW)).toThrow('at most 1024');
    expect(buildDecision('bob', 'Reject', 'x'.repeat(1024), NOW).comment).toHaveLength(1024);
    expect(() => buildDecision('', 'Approve', 'ok', NOW)).toThrow('username');
  });
});

describe('cannotDecide', () => {
  it('allows a Pending approval the user has not decided', () => {
    expect(cannotDecide(approval({}), 'bob', NOW)).toBeUndefined();
    expect(
      cannotDecide(approval({ decisions: [{ user: 'carol', decision: 'Approve' }] }), 'bob', NOW),
    ).toBeUndefined();
  });

  it('names the phase and who decided when it is no longer Pending', () => {
    const msg = cannotDecide(
      approval({
        status: { phase: 'Approved', decidedBy: 'bob,carol', decidedAt: '2026-03-01T11:59:00Z' },
      }),
      'dave',
      NOW,
    );
    expect(msg).toBe(
      'approval release-deploy-approval-1 is already Approved by bob,carol at 2026-03-01T11:59:00Z; a decided approval cannot change',
    );
    expect(
      cannotDecide(
        approval({ status: { phase: 'Rejected', decidedBy: 'carol', reason: 'Vetoed' } }),
        'b',
        NOW,
      ),
    ).toContain('already Rejected by carol (Vetoed)');
    expect(cannotDecide(approval({ status: { phase: 'Expired' } }), 'b', NOW)).toContain('is Expired');
    expect(
      cannotDecide(approval({ status: { phase: 'Superseded', message: 'inputs changed' } }), 'b', NOW),
    ).toContain('is Superseded: inputs changed; the request changed, decide the newer approval');
    expect(
      cannotDecide(
        approval({ status: { phase: 'Superseded', supersededBy: 'release-deploy-approval-2' } }),
        'b',
        NOW,
      ),
    ).toContain('decide approval release-deploy-approval-2 instead');
  });

  it('refuses a second decision by the same user, quoting the first', () => {
    const a = approval({
      decisions: [{ user: 'bob', decision: 'Approve', comment: 'lgtm', at: '2026-03-01T11:58:00Z' }],
    });
    expect(cannotDecide(a, 'bob', NOW)).toBe(
      'you (bob) already decided approval release-deploy-approval-1: Approve at 2026-03-01T11:58:00Z ("lgtm"); decisions are final',
    );
  });

  it('refuses once expiresAt has passed, even before the operator marks it Expired', () => {
    expect(cannotDecide(approval({ expiresAt: '2026-03-01T11:00:00Z' }), 'bob', NOW)).toContain(
      'expired at 2026-03-01T11:00:00Z',
    );
    expect(cannotDecide(approval({ expiresAt: '2026-03-01T13:00:00Z' }), 'bob', NOW)).toBeUndefined();
  });
});

describe('the server-side apply of one decision', () => {
  it('carries only the caller’s entry, and the uid read as a precondition', () => {
    const d = buildDecision('bob', 'Approve', 'ok', NOW);
    const a = approval({ decisions: [{ user: 'carol', decision: 'Approve' }] });
    expect(decisionApply(a, d)).toEqual({
      apiVersion: 'paddock.dev/v1alpha1',
      kind: 'Approval',
      metadata: {
        name: 'release-deploy-approval-1',
        namespace: 'team-a',
        uid: '11111111-2222-3333-4444-555555555555',
      },
      spec: { decisions: [d] },
    });
  });

  it('needs the uid', () => {
    const a = approval({});
    delete a.metadata.uid;
    expect(() => decisionApply(a, buildDecision('bob', 'Approve', undefined, NOW))).toThrow('uid');
  });

  it('uses one field manager per person, within the API server’s 128 characters', () => {
    expect(fieldManagerFor('bob')).toBe('kubectl-paddock-bob');
    expect(fieldManagerFor('system:serviceaccount:ns:sa')).toBe(
      'kubectl-paddock-system:serviceaccount:ns:sa',
    );
    expect(fieldManagerFor('x'.repeat(300))).toHaveLength(128);
  });
});

describe('the superseded chain', () => {
  it('names approval n-1 of the same step', () => {
    expect(previousApprovalName('release-deploy-approval-2')).toBe('release-deploy-approval-1');
    expect(previousApprovalName('release-deploy-approval-10')).toBe('release-deploy-approval-9');
    expect(previousApprovalName('release-deploy-approval-1')).toBeUndefined();
    expect(previousApprovalName('hand-made')).toBeUndefined();
  });

  it('only counts an Approval of the same workflow and step (and workflow uid when both have one)', () => {
    const cur = approval({ name: 'release-deploy-approval-2' });
    const prev = approval({});
    expect(sameStep(cur, prev)).toBe(true);
    expect(sameStep(cur, { ...prev, spec: { ...prev.spec, step: 'other' } })).toBe(false);
    const withUid = (u: string): typeof prev => ({
      ...prev,
      spec: { ...prev.spec, workflowRef: { name: 'release', uid: u } },
    });
    expect(sameStep(withUid('1'), withUid('2'))).toBe(false);
    expect(sameStep(withUid('1'), withUid('1'))).toBe(true);
  });
});
