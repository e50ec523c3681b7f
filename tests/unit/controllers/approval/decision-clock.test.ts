// When the operator saw each Approval's latest decision (start of the resume latency).
import { describe, expect, it } from 'vitest';
import type { Approval, Decision } from '../../../../operator/src/api/generated/index.ts';
import { DecisionClock } from '../../../../operator/src/controllers/approval/decision-clock.ts';

const approval = (decisions: Decision[] = []): Approval => ({
  metadata: { name: 'wf-a-approval-1', namespace: 'ns' },
  spec: {
    workflowRef: { name: 'wf' },
    step: 'a',
    request: { agent: 'x', agentGeneration: 1, image: 'i', digest: 'd' },
    policy: { required: 2 },
    decisions,
  },
});
const bob: Decision = { user: 'bob', decision: 'Approve' };
const carol: Decision = { user: 'carol', decision: 'Approve' };
const KEY = 'ns/wf-a-approval-1';

describe('DecisionClock', () => {
  it('starts at the first decision seen, restarts at each new one, ignores other updates', () => {
    let t = 1_000;
    const c = new DecisionClock(() => t);
    const h = c.handlers();
    h.add?.(approval());
    expect(c.decidedAt(KEY)).toBeUndefined();
    t = 2_000;
    h.update?.(approval(), approval([bob]));
    expect(c.decidedAt(KEY)).toBe(2_000);
    t = 3_000;
    // A status write (same decisions): the clock stays.
    h.update?.(approval([bob]), approval([bob]));
    expect(c.decidedAt(KEY)).toBe(2_000);
    t = 4_000;
    h.update?.(approval([bob]), approval([bob, carol]));
    expect(c.decidedAt(KEY)).toBe(4_000);
  });

  it('an Approval first seen with decisions (e.g. after a restart) starts then', () => {
    const c = new DecisionClock(() => 7);
    c.handlers().add?.(approval([bob]));
    expect(c.decidedAt(KEY)).toBe(7);
  });

  it('forgets deleted Approvals', () => {
    const c = new DecisionClock(() => 1);
    const h = c.handlers();
    h.add?.(approval([bob]));
    expect(c.size).toBe(1);
    h.delete?.(approval([bob]));
    expect(c.size).toBe(0);
    expect(c.decidedAt(KEY)).toBeUndefined();
  });
});
