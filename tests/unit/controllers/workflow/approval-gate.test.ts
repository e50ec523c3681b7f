// The engine's approval gate, pass by pass: a gated step requests an Approval,
// waits, and runs, fails closed or asks again depending on the admitted
// decisions, the clock, and whether what would run still matches the request.
import { describe, expect, it } from 'vitest';
import type { Approval, Decision, WorkflowStep } from '../../../../operator/src/api/generated/index.ts';
import { ANNOTATION_SIGNATURE, LABEL_STEP, LABEL_WORKFLOW } from '../../../../operator/src/api/labels.ts';
import { Provenance } from '../../../../operator/src/controllers/provenance.ts';
import { type EnginePlan } from '../../../../operator/src/controllers/workflow/engine.ts';
import {
  approvalName,
  approvalPolicyOf,
  buildApproval,
  DEFAULT_APPROVAL_TIMEOUT_SECONDS,
  matchRequest,
  type RequestInput,
} from '../../../../operator/src/controllers/workflow/approval-request.ts';
import {
  agent,
  created,
  IMAGE,
  inputsOf,
  NS,
  PROVENANCE,
  SENSITIVE_SCHEMA,
  Sim,
  step,
  T0,
  workflow,
} from './engine-sim.ts';

const OTHER_IMAGE = `ghcr.io/acme/agent@sha256:${'ef'.repeat(32)}`;

/** A Sim whose world also holds the Approvals the API server would have created. */
class GatedSim extends Sim {
  readonly approvals = new Map<string, Approval>();

  /** One reconcile; the Approvals it requests are created and its supersedes written. */
  gatedPass(opts: { expected?: string[] } = {}): EnginePlan {
    const plan = this.pass({
      approvals: this.approvals,
      ...(opts.expected ? { expectedApprovals: new Set(opts.expected) } : {}),
    });
    for (const a of plan.createApprovals) {
      const name = a.metadata.name ?? '';
      if (this.approvals.has(name)) throw new Error(`Approval ${name} created twice`);
      this.approvals.set(name, { ...a, metadata: { ...a.metadata, generation: 1 } });
    }
    for (const s of plan.supersede) {
      const cur = this.approvals.get(s.name)!;
      this.approvals.set(s.name, {
        ...cur,
        status: { ...(cur.status ?? {}), phase: 'Superseded', supersededBy: s.by },
      });
    }
    return plan;
  }

  decide(name: string, ...decisions: Decision[]): void {
    const a = this.approvals.get(name)!;
    this.approvals.set(name, {
      ...a,
      spec: { ...a.spec, decisions: [...(a.spec.decisions ?? []), ...decisions] },
    });
  }

  setStatus(name: string, status: Approval['status']): void {
    this.approvals.set(name, { ...this.approvals.get(name)!, status });
  }
}

const yes = (user: string): Decision => ({ user, decision: 'Approve', at: '2025-03-01T10:01:00Z' });
const no = (user: string, comment?: string): Decision => ({
  user,
  decision: 'Reject',
  ...(comment ? { comment } : {}),
});

const patcher = (extra: Parameters<typeof agent>[1] = {}) =>
  agent('scanner', {
    riskLevel: 'ApprovalRequired',
    approval: { required: 1, approvers: { groups: ['sre'] } },
    ...extra,
  });

function gated(
  steps: WorkflowStep[] = [step('fix', { inputs: { id: 'CVE-1', token: 's3cret' } })],
  agents = [patcher({ inputsSchema: SENSITIVE_SCHEMA })],
): GatedSim {
  return new GatedSim(workflow(steps, { requestedBy: 'alice' }), agents);
}

describe('approval gate: the request', () => {
  const sim = gated();
  const plan = sim.gatedPass();
  const a = plan.createApprovals[0]!;

  it('creates one Approval, named for the step, and no pod', () => {
    expect(plan.createApprovals.map((x) => x.metadata.name)).toEqual(['wf-fix-approval-1']);
    expect(plan.create).toEqual([]);
  });

  it('is owned by the Workflow, labelled with workflow and step, bound to its uid', () => {
    expect(a.metadata.namespace).toBe(NS);
    expect(a.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Workflow', name: 'wf', uid: 'wf-uid', controller: true }),
    ]);
    expect(a.metadata.labels?.[LABEL_WORKFLOW]).toBe('wf');
    expect(a.metadata.labels?.[LABEL_STEP]).toBe('fix');
    expect(a.spec.workflowRef).toEqual({ name: 'wf', uid: 'wf-uid' });
    expect(a.spec.step).toBe('fix');
  });

  it('holds the request with sensitive inputs redacted and a digest over the real values', () => {
    expect(a.spec.request).toEqual({
      agent: 'scanner',
      agentGeneration: 3,
      image: IMAGE,
      inputs: { id: 'CVE-1', token: '[REDACTED]' },
      digest: PROVENANCE.inputsDigest(3, IMAGE, { id: 'CVE-1', token: 's3cret' }),
    });
    expect(JSON.stringify(a)).not.toContain('s3cret');
    expect(a.spec.request.digest).not.toBe(
      PROVENANCE.inputsDigest(3, IMAGE, { id: 'CVE-1', token: 'other' }),
    );
  });

  it("holds the Agent's policy, an expiry 24 h out by default, and the requester", () => {
    expect(a.spec.policy).toEqual({
      required: 1,
      approvers: { groups: ['sre'] },
      expiresAt: new Date(T0.getTime() + DEFAULT_APPROVAL_TIMEOUT_SECONDS * 1000)
        .toISOString()
        .replace('.000Z', 'Z'),
    });
    expect(a.spec.requestedBy).toBe('alice');
    // A run never retried has no retry requester.
    expect(a.spec.retryRequestedBy).toBeUndefined();
    expect(a.spec.decisions).toBeUndefined();
  });

  it('shows the step and the Workflow WaitingForApproval, with a history entry and an Event', () => {
    expect(sim.step('fix')).toMatchObject({
      phase: 'WaitingForApproval',
      approvalName: 'wf-fix-approval-1',
      reason: 'WaitingForApproval',
      message: 'waiting for 1 approval(s) on Approval wf-fix-approval-1',
    });
    expect(sim.wf.status?.phase).toBe('WaitingForApproval');
    expect(sim.history('ApprovalRequested')).toEqual([
      expect.objectContaining({ step: 'fix', reason: 'GatedStep' }),
    ]);
    expect(plan.events.map((e) => e.reason)).toContain('ApprovalRequested');
    expect(plan.audits.map((e) => e.event)).toContain('approval.requested');
  });

  it('waits without asking again while the new Approval is not in the cache yet', () => {
    const cached = new Map(sim.approvals);
    sim.approvals.clear();
    const p = sim.plan({ approvals: sim.approvals, expectedApprovals: new Set(['wf-fix-approval-1']) });
    expect(p.createApprovals).toEqual([]);
    expect(p.create).toEqual([]);
    expect(p.status.steps?.[0]?.phase).toBe('WaitingForApproval');
    for (const [k, v] of cached) sim.approvals.set(k, v);
  });

  it('plans nothing new while the Approval is Pending, and wakes at its expiry', () => {
    const p = sim.tick(1_000).gatedPass();
    expect(p.createApprovals).toEqual([]);
    expect(p.create).toEqual([]);
    expect(p.events).toEqual([]);
    expect(p.requeueAfterMs).toBe(DEFAULT_APPROVAL_TIMEOUT_SECONDS * 1000 - 1_000);
  });
});

describe('approval gate: verdicts', () => {
  it('runs the step on the decision itself, before the Approval status says Approved', () => {
    const sim = gated();
    sim.gatedPass();
    sim.decide('wf-fix-approval-1', yes('bob'));
    const p = sim.tick(50).gatedPass();
    expect(created(p)).toEqual(['wf-fix-1']);
    expect(inputsOf(p.create[0]!.pod)).toEqual({ id: 'CVE-1', token: 's3cret' });
    expect(sim.step('fix')).toMatchObject({ phase: 'Running', approvalName: 'wf-fix-approval-1' });
    expect(sim.history('StepApproved')).toEqual([
      expect.objectContaining({ step: 'fix', reason: 'Approved', message: 'approved (last by bob)' }),
    ]);
    expect(p.resumed).toEqual([{ step: 'fix', approval: 'wf-fix-approval-1' }]);
    // The Approval controller's status write that follows changes nothing.
    sim.setStatus('wf-fix-approval-1', { phase: 'Approved', decidedBy: 'bob' });
    const again = sim.tick(10).gatedPass();
    expect(again.create).toEqual([]);
    expect(again.resumed).toEqual([]);
    expect(again.events).toEqual([]);
  });

  it('needs the policy quorum of distinct approvers', () => {
    const sim = gated(undefined, [patcher({ approval: { required: 2, approvers: { groups: ['sre'] } } })]);
    sim.gatedPass();
    sim.decide('wf-fix-approval-1', yes('bob'), yes('bob'));
    expect(sim.tick(10).gatedPass().create).toEqual([]);
    expect(sim.step('fix').phase).toBe('WaitingForApproval');
    sim.decide('wf-fix-approval-1', yes('carol'));
    expect(created(sim.tick(10).gatedPass())).toEqual(['wf-fix-1']);
    expect(sim.history('StepApproved')[0]?.message).toBe('approved (last by carol)');
  });

  it("does not count the requester's own approval", () => {
    const sim = gated();
    sim.gatedPass();
    sim.decide('wf-fix-approval-1', yes('alice'));
    expect(sim.tick(10).gatedPass().create).toEqual([]);
    expect(sim.step('fix').phase).toBe('WaitingForApproval');
  });

  it('fails the step and the Workflow on any reject, naming who and why; no pod', () => {
    const sim = gated();
    sim.gatedPass();
    sim.decide('wf-fix-approval-1', yes('bob'), no('carol', 'not during the freeze'));
    const p = sim.tick(10).gatedPass();
    expect(p.create).toEqual([]);
    expect(sim.step('fix')).toMatchObject({
      phase: 'Failed',
      reason: 'Rejected',
      message: 'Approval wf-fix-approval-1: rejected by carol: not during the freeze',
    });
    expect(sim.wf.status?.phase).toBe('Failed');
  });

  it('fails closed at expiry, also before the Approval controller marks it Expired', () => {
    const sim = gated(undefined, [patcher({ approval: { required: 1, timeoutSeconds: 600 } })]);
    sim.gatedPass();
    expect(sim.tick(599_999).gatedPass().create).toEqual([]);
    expect(sim.step('fix').phase).toBe('WaitingForApproval');
    const p = sim.tick(1).gatedPass();
    expect(p.create).toEqual([]);
    expect(sim.step('fix')).toMatchObject({ phase: 'Failed', reason: 'ApprovalExpired' });
  });

  it('a quorum reached in time stands when the pass comes after the deadline', () => {
    const sim = gated(undefined, [patcher({ approval: { required: 1, timeoutSeconds: 600 } })]);
    sim.gatedPass();
    sim.decide('wf-fix-approval-1', yes('bob'));
    expect(created(sim.tick(601_000).gatedPass())).toEqual(['wf-fix-1']);
  });

  it('follows a verdict already in status (Expired) whatever the decisions say', () => {
    const sim = gated();
    sim.gatedPass();
    sim.setStatus('wf-fix-approval-1', { phase: 'Expired', reason: 'Expired' });
    sim.decide('wf-fix-approval-1', yes('bob'));
    expect(sim.tick(10).gatedPass().create).toEqual([]);
    expect(sim.step('fix')).toMatchObject({ phase: 'Failed', reason: 'ApprovalExpired' });
  });

  it('fails closed when its Approval is deleted before being decided', () => {
    const sim = gated();
    sim.gatedPass();
    sim.approvals.clear();
    sim.tick(10).gatedPass();
    expect(sim.step('fix')).toMatchObject({ phase: 'Failed', reason: 'ApprovalDeleted' });
  });

  it('never counts an Approval whose signature was tampered with: asks again under a new name', () => {
    const sim = gated();
    sim.gatedPass();
    const a = sim.approvals.get('wf-fix-approval-1')!;
    // Someone with update rights rewrote the annotation (or the key was rotated).
    sim.approvals.set('wf-fix-approval-1', {
      ...a,
      metadata: { ...a.metadata, annotations: { [ANNOTATION_SIGNATURE]: 'v1:00' } },
      spec: { ...a.spec, decisions: [yes('bob')] },
    });
    const p = sim.tick(10).gatedPass();
    expect(p.create).toEqual([]);
    expect(p.createApprovals.map((x) => x.metadata.name)).toEqual(['wf-fix-approval-2']);
    expect(sim.step('fix')).toMatchObject({ phase: 'WaitingForApproval', approvalName: 'wf-fix-approval-2' });
    expect(sim.history('ApprovalUnverified')).toHaveLength(1);
  });
});

describe("approval gate: only the operator's own requests count", () => {
  /** An Approval as a forger would write it under the name the operator will use. */
  function forge(sim: GatedSim, patch: (a: Approval) => Approval, name = 'wf-fix-approval-1'): void {
    const probe = gated();
    const real = probe.gatedPass().createApprovals[0]!;
    sim.approvals.set(name, patch({ ...real, metadata: { ...real.metadata, name } }));
  }

  it('a pre-created unsigned Approval with a weaker policy fails the step closed, naming it; no pod ever', () => {
    const sim = gated();
    forge(sim, (a) => ({
      ...a,
      metadata: { ...a.metadata, annotations: {} },
      spec: { ...a.spec, policy: { required: 1 }, decisions: [yes('dave')] },
    }));
    const p = sim.gatedPass();
    expect(p.create).toEqual([]);
    expect(p.createApprovals).toEqual([]);
    expect(sim.step('fix')).toMatchObject({ phase: 'Failed', reason: 'ApprovalMismatch' });
    expect(sim.step('fix').message).toContain('wf-fix-approval-1');
    expect(sim.step('fix').message).toContain('did not create it');
    expect(p.events.some((e) => e.reason === 'StepFailed' && e.note.includes('wf-fix-approval-1'))).toBe(
      true,
    );
    expect(sim.wf.status?.phase).toBe('Failed');
    // However many passes follow, nothing runs.
    for (let i = 0; i < 3; i++) expect(sim.tick(1000).gatedPass().create).toEqual([]);
  });

  it('copying a real signature onto a request with a weaker policy does not make it verify', () => {
    const sim = gated();
    forge(sim, (a) => ({
      ...a,
      spec: { ...a.spec, policy: { ...a.spec.policy, required: 1, approvers: {} } },
    }));
    // The copy keeps the signature of the real request, whose policy asked for the sre group.
    sim.gatedPass();
    expect(sim.step('fix')).toMatchObject({ phase: 'Failed', reason: 'ApprovalMismatch' });
  });

  it('a forged one that points at another step, run or requester fails closed too', () => {
    for (const patch of [
      (a: Approval): Approval => ({ ...a, spec: { ...a.spec, step: 'other' } }),
      (a: Approval): Approval => ({ ...a, spec: { ...a.spec, requestedBy: 'mallory' } }),
      (a: Approval): Approval => ({
        ...a,
        spec: { ...a.spec, policy: { ...a.spec.policy, expiresAt: '2099-01-01T00:00:00Z' } },
      }),
    ]) {
      const sim = gated();
      forge(sim, patch);
      expect(sim.gatedPass().create).toEqual([]);
      expect(sim.step('fix')).toMatchObject({ phase: 'Failed', reason: 'ApprovalMismatch' });
    }
  });

  it("an earlier run's Approval under the same name is skipped, never counted: the new run asks anew", () => {
    const sim = gated();
    // The Workflow was deleted and created again: its earlier run's request (approved!) is still
    // there until the garbage collector removes it.
    const earlier = gated();
    earlier.wf = { ...earlier.wf, metadata: { ...earlier.wf.metadata, uid: 'old-uid' } };
    const old = earlier.gatedPass().createApprovals[0]!;
    sim.approvals.set(old.metadata.name!, { ...old, spec: { ...old.spec, decisions: [yes('bob')] } });
    const p = sim.gatedPass();
    expect(p.create).toEqual([]);
    expect(p.createApprovals.map((x) => x.metadata.name)).toEqual(['wf-fix-approval-2']);
    expect(p.createApprovals[0]!.spec.workflowRef.uid).toBe('wf-uid');
    expect(sim.tick(10).gatedPass().create).toEqual([]);
    sim.decide('wf-fix-approval-2', yes('carol'));
    expect(created(sim.tick(10).gatedPass())).toEqual(['wf-fix-1']);
  });

  it('takes up its own request again when the status write that named it was lost (crash)', () => {
    const sim = gated();
    const first = sim.plan({ approvals: sim.approvals });
    const a = first.createApprovals[0]!;
    sim.approvals.set(a.metadata.name!, a); // created, but the status was never written
    const p = sim.gatedPass();
    expect(p.createApprovals).toEqual([]);
    expect(sim.step('fix')).toMatchObject({ phase: 'WaitingForApproval', approvalName: 'wf-fix-approval-1' });
    sim.decide('wf-fix-approval-1', yes('bob'));
    expect(created(sim.tick(10).gatedPass())).toEqual(['wf-fix-1']);
  });

  it('an Approved status that the decisions do not support opens nothing', () => {
    const sim = gated();
    sim.gatedPass();
    sim.setStatus('wf-fix-approval-1', { phase: 'Approved', approvedBy: ['bob'] });
    expect(sim.tick(10).gatedPass().create).toEqual([]);
    expect(sim.step('fix').phase).toBe('WaitingForApproval');
  });

  it('an Approval marked Invalid leads to a fresh request', () => {
    const sim = gated();
    sim.gatedPass();
    sim.setStatus('wf-fix-approval-1', { phase: 'Invalid', reason: 'NotCreatedByOperator' });
    const p = sim.tick(10).gatedPass();
    expect(p.createApprovals.map((x) => x.metadata.name)).toEqual(['wf-fix-approval-2']);
  });

  it('a step gated once stays gated when its Agent is switched to Auto while it waits', () => {
    const sim = gated();
    sim.gatedPass();
    sim.agents.set('scanner', {
      ...agent('scanner', { inputsSchema: SENSITIVE_SCHEMA }),
      metadata: { ...sim.agents.get('scanner')!.metadata, generation: 4 },
    });
    const p = sim.tick(10).gatedPass();
    expect(p.create).toEqual([]);
    expect(p.createApprovals.map((x) => [x.metadata.name, x.spec.policy.approvers])).toEqual([
      ['wf-fix-approval-2', { groups: ['sre'] }],
    ]);
  });

  it('the digest is keyed: the same inputs under another key give another digest', () => {
    const other = new Provenance(Buffer.alloc(32, 9));
    expect(other.inputsDigest(3, IMAGE, { a: 1 })).not.toBe(PROVENANCE.inputsDigest(3, IMAGE, { a: 1 }));
    expect(PROVENANCE.inputsDigest(3, IMAGE, { a: 1 })).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
  });
});

describe('approval gate: bound to what was approved', () => {
  it('an image change before the step runs supersedes the request and asks again', () => {
    const sim = gated();
    sim.gatedPass();
    sim.agents.set('scanner', {
      ...patcher({ inputsSchema: SENSITIVE_SCHEMA, image: OTHER_IMAGE }),
      metadata: { ...sim.agents.get('scanner')!.metadata, generation: 4 },
    });
    const p = sim.tick(10).gatedPass();
    expect(p.create).toEqual([]);
    expect(p.supersede).toEqual([
      {
        name: 'wf-fix-approval-1',
        by: 'wf-fix-approval-2',
        message: 'the image changed after the request; superseded by wf-fix-approval-2',
      },
    ]);
    expect(p.createApprovals.map((x) => [x.metadata.name, x.spec.request.image])).toEqual([
      ['wf-fix-approval-2', OTHER_IMAGE],
    ]);
    expect(sim.step('fix')).toMatchObject({ phase: 'WaitingForApproval', approvalName: 'wf-fix-approval-2' });
    expect(sim.history('ApprovalSuperseded')).toHaveLength(1);
    // The superseded Approval, even approved later, opens nothing; the new one does.
    sim.decide('wf-fix-approval-1', yes('bob'));
    expect(sim.tick(10).gatedPass().create).toEqual([]);
    sim.decide('wf-fix-approval-2', yes('bob'));
    const run = sim.tick(10).gatedPass();
    expect(created(run)).toEqual(['wf-fix-1']);
    expect(run.create[0]!.pod.spec.containers[0]?.image).toBe(OTHER_IMAGE);
  });

  it('an approved request whose Agent generation changed before the pod exists is superseded too', () => {
    const sim = gated();
    sim.gatedPass();
    sim.decide('wf-fix-approval-1', yes('bob'));
    sim.agents.set('scanner', {
      ...sim.agents.get('scanner')!,
      metadata: { ...sim.agents.get('scanner')!.metadata, generation: 5 },
    });
    // The Agent's Ready condition must follow its generation for the step to be planned at all.
    const ag = sim.agents.get('scanner')!;
    sim.agents.set('scanner', {
      ...ag,
      status: { conditions: ag.status!.conditions!.map((c) => ({ ...c, observedGeneration: 5 })) },
    });
    const p = sim.tick(10).gatedPass();
    expect(p.create).toEqual([]);
    expect(p.supersede[0]?.message).toBe(
      'the Agent generation changed after the request; superseded by wf-fix-approval-2',
    );
    expect(p.createApprovals[0]?.spec.request.agentGeneration).toBe(5);
  });

  it('a Superseded Approval (marked by an earlier pass) leads to the next request', () => {
    const sim = gated();
    sim.gatedPass();
    sim.setStatus('wf-fix-approval-1', { phase: 'Superseded', supersededBy: 'wf-fix-approval-2' });
    const p = sim.tick(10).gatedPass();
    expect(p.supersede).toEqual([]);
    expect(p.createApprovals.map((x) => x.metadata.name)).toEqual(['wf-fix-approval-2']);
  });
});

describe('approval policy', () => {
  it('a step can gate itself on an Auto Agent, with its own policy', () => {
    const sim = gated(
      [
        step('fix', {
          approval: { required: 2, approvers: { users: ['bob', 'carol'] }, timeoutSeconds: 3600 },
        }),
      ],
      [agent('scanner')],
    );
    const p = sim.gatedPass();
    expect(p.createApprovals[0]?.spec.policy).toMatchObject({
      required: 2,
      approvers: { users: ['bob', 'carol'] },
    });
    expect(p.create).toEqual([]);
  });

  it('Auto Agents without a step policy are not gated', () => {
    const sim = gated([step('fix')], [agent('scanner')]);
    const p = sim.gatedPass();
    expect(p.createApprovals).toEqual([]);
    expect(created(p)).toEqual(['wf-fix-1']);
  });

  it('approvalPolicyOf: a step can only make its Agent gate stronger; defaults to one approval', () => {
    const gatedAgent = patcher({
      approval: { required: 3, approvers: { groups: ['sre'] }, timeoutSeconds: 600 },
    });
    expect(approvalPolicyOf(step('x'), gatedAgent)).toEqual({
      required: 3,
      approvers: { groups: ['sre'] },
      timeoutSeconds: 600,
    });
    // Fewer approvals, other approvers, a longer window: the Agent's stand.
    expect(
      approvalPolicyOf(
        step('x', { approval: { required: 1, approvers: { users: ['mallory'] }, timeoutSeconds: 86400 } }),
        gatedAgent,
      ),
    ).toEqual({ required: 3, approvers: { groups: ['sre'] }, timeoutSeconds: 600 });
    // More approvals and a shorter window: the step's.
    expect(
      approvalPolicyOf(step('x', { approval: { required: 5, timeoutSeconds: 300 } }), gatedAgent),
    ).toEqual({
      required: 5,
      approvers: { groups: ['sre'] },
      timeoutSeconds: 300,
    });
    // An Agent that leaves approvers open: the step may name them.
    const open = agent('a', { riskLevel: 'ApprovalRequired' });
    expect(
      approvalPolicyOf(step('x', { approval: { required: 1, approvers: { users: ['bob'] } } }), open),
    ).toEqual({
      required: 1,
      approvers: { users: ['bob'] },
    });
    expect(approvalPolicyOf(step('x'), open)).toEqual({ required: 1 });
    // An Auto Agent: the step's own gate, or none.
    expect(approvalPolicyOf(step('x', { approval: { required: 2 } }), agent('a'))).toEqual({ required: 2 });
    expect(approvalPolicyOf(step('x'), agent('a'))).toBeUndefined();
    expect(approvalName('wf', 'fix', 2)).toBe('wf-fix-approval-2');
  });
});

describe('approval gate: a request the API server refuses (EngineInput.refused)', () => {
  it('waits (ApprovalRequestFailed) without recording a request, then asks again when due', () => {
    const sim = gated();
    const refused = new Map([
      [
        'wf-fix-approval-1',
        {
          kind: 'wait' as const,
          reason: 'ApprovalRequestFailed' as const,
          message: 'approvals are not accepted today',
          refusals: 1,
        },
      ],
    ]);
    const plan = sim.pass({ approvals: sim.approvals, refused });
    expect(plan.createApprovals).toEqual([]);
    expect(plan.create).toEqual([]);
    expect(sim.step('fix')).toMatchObject({ phase: 'Waiting', reason: 'ApprovalRequestFailed', attempt: 1 });
    expect(sim.step('fix').approvalName).toBeUndefined();
    expect(plan.status.history?.map((h) => h.type)).toEqual(['WorkflowStarted', 'StepWaiting']);
    expect(plan.events.map((e) => e.reason)).toEqual(['WorkflowStarted', 'ApprovalRequestFailed']);
    // Due again: the request is made under the same name.
    sim.tick(1_000);
    expect(sim.gatedPass().createApprovals.map((a) => a.metadata.name)).toEqual(['wf-fix-approval-1']);
    expect(sim.step('fix')).toMatchObject({ phase: 'WaitingForApproval', approvalName: 'wf-fix-approval-1' });
  });

  it('a request refused for good fails the step (ApprovalRequestRefused) with its outcome', () => {
    const sim = gated();
    const refused = new Map([
      [
        'wf-fix-approval-1',
        {
          kind: 'fail' as const,
          reason: 'ApprovalRequestRefused',
          message: 'the API server refused its Approval request: too large',
        },
      ],
    ]);
    const plan = sim.pass({ approvals: sim.approvals, refused });
    expect(sim.step('fix')).toMatchObject({ phase: 'Failed', reason: 'ApprovalRequestRefused' });
    expect(plan.outcomes.map((o) => [o.step, o.outcome, o.reason])).toEqual([
      ['fix', 'Failed', 'ApprovalRequestRefused'],
    ]);
    expect(plan.status.phase).toBe('Failed');
  });
});

describe('approval gate: a retried run (spec.retry)', () => {
  it('asks for a fresh Approval after a rejection; the old decision approves nothing', () => {
    const sim = gated();
    sim.gatedPass();
    sim.decide('wf-fix-approval-1', no('bob', 'not today'));
    sim.tick(10).gatedPass();
    expect(sim.wf.status?.phase).toBe('Failed');
    expect(sim.step('fix')).toMatchObject({ phase: 'Failed', reason: 'Rejected' });
    sim.spec({ retry: { count: 1, requestedBy: 'alice' } });
    const p = sim.tick(10).gatedPass();
    expect(p.create).toEqual([]);
    expect(p.createApprovals.map((a) => a.metadata.name)).toEqual(['wf-fix-approval-2']);
    expect(sim.step('fix')).toMatchObject({ phase: 'WaitingForApproval', approvalName: 'wf-fix-approval-2' });
    expect(sim.wf.status?.phase).toBe('WaitingForApproval');
    // An approval on the new request runs the step as a new attempt.
    sim.decide('wf-fix-approval-2', yes('carol'));
    expect(created(sim.tick(10).gatedPass())).toEqual(['wf-fix-1']);
  });

  /** A gated run whose request alice's run made was rejected; then `by` asks for a retry. */
  function rejectedThenRetried(by: string): GatedSim {
    const sim = gated();
    sim.gatedPass();
    sim.decide('wf-fix-approval-1', no('carol', 'not today'));
    sim.tick(10).gatedPass();
    expect(sim.wf.status?.phase).toBe('Failed');
    sim.spec({ retry: { count: 1, requestedBy: by } });
    return sim;
  }

  it('names who asked for the retry in the fresh request (signed), and does not count their approval', () => {
    const sim = rejectedThenRetried('bob');
    const p = sim.tick(10).gatedPass();
    const fresh = p.createApprovals[0]!;
    expect(fresh.metadata.name).toBe('wf-fix-approval-2');
    expect(fresh.spec.requestedBy).toBe('alice');
    expect(fresh.spec.retryRequestedBy).toBe('bob');
    // The signature covers it: the operator's own request verifies, and one edited to name
    // someone else (or no one) does not.
    expect(PROVENANCE.verifyApproval(fresh)).toBe(true);
    expect(
      PROVENANCE.verifyApproval({ ...fresh, spec: { ...fresh.spec, retryRequestedBy: 'mallory' } }),
    ).toBe(false);
    const { retryRequestedBy: _dropped, ...withoutIt } = fresh.spec;
    expect(PROVENANCE.verifyApproval({ ...fresh, spec: withoutIt })).toBe(false);
    // Approvers watching the Workflow see who asked and that they cannot approve.
    expect(sim.history('ApprovalRequested').at(-1)).toMatchObject({
      step: 'fix',
      reason: 'RetryRequested',
      message:
        'Approval wf-fix-approval-2: waiting for 1 approval(s) (retry asked by bob, who cannot approve it)',
    });
    // bob's approval (had admission been bypassed) opens nothing; carol's does.
    sim.decide('wf-fix-approval-2', yes('bob'));
    expect(sim.tick(10).gatedPass().create).toEqual([]);
    expect(sim.step('fix')).toMatchObject({ phase: 'WaitingForApproval', approvalName: 'wf-fix-approval-2' });
    sim.decide('wf-fix-approval-2', yes('carol'));
    expect(created(sim.tick(10).gatedPass())).toEqual(['wf-fix-1']);
  });

  it('the latest retry requester is the one named: a second retry by carol names carol', () => {
    const sim = rejectedThenRetried('bob');
    sim.tick(10).gatedPass();
    sim.decide('wf-fix-approval-2', no('dave'));
    sim.tick(10).gatedPass();
    expect(sim.wf.status?.phase).toBe('Failed');
    sim.spec({ retry: { count: 2, requestedBy: 'carol' } });
    const p = sim.tick(10).gatedPass();
    expect(p.createApprovals.map((a) => [a.metadata.name, a.spec.retryRequestedBy])).toEqual([
      ['wf-fix-approval-3', 'carol'],
    ]);
    sim.decide('wf-fix-approval-3', yes('carol'));
    expect(sim.tick(10).gatedPass().create).toEqual([]);
    sim.decide('wf-fix-approval-3', yes('bob'));
    expect(created(sim.tick(10).gatedPass())).toEqual(['wf-fix-1']);
  });

  it("takes up its own retry request again when the retry pass's status write was lost (crash)", () => {
    const sim = rejectedThenRetried('bob');
    const lost = sim.tick(10).plan({ approvals: sim.approvals });
    const a = lost.createApprovals[0]!;
    expect(a.spec.retryRequestedBy).toBe('bob');
    sim.approvals.set(a.metadata.name!, a); // created, but the status was never written
    const p = sim.gatedPass();
    expect(p.createApprovals).toEqual([]);
    expect(p.supersede).toEqual([]);
    expect(sim.step('fix')).toMatchObject({ phase: 'WaitingForApproval', approvalName: 'wf-fix-approval-2' });
  });

  it("a signed request without the retry requester is never accepted for a retried run's step", () => {
    const sim = rejectedThenRetried('bob');
    // What the operator would request, but signed without spec.retryRequestedBy (as an operator
    // from before the field made it), under the name the retried step asks for, approved by bob.
    const probe = rejectedThenRetried('bob');
    const real = probe.tick(10).gatedPass().createApprovals[0]!;
    const { retryRequestedBy: _dropped, ...spec } = real.spec;
    const unnamed: Approval = { ...real, spec };
    unnamed.metadata = {
      ...real.metadata,
      annotations: { [ANNOTATION_SIGNATURE]: PROVENANCE.signApproval(unnamed) },
    };
    expect(PROVENANCE.verifyApproval(unnamed)).toBe(true);
    sim.approvals.set('wf-fix-approval-2', { ...unnamed, spec: { ...spec, decisions: [yes('bob')] } });
    const p = sim.tick(10).gatedPass();
    expect(p.create).toEqual([]);
    expect(p.supersede).toEqual([
      {
        name: 'wf-fix-approval-2',
        by: 'wf-fix-approval-3',
        message: 'the retry requester changed after the request; superseded by wf-fix-approval-3',
      },
    ]);
    expect(p.createApprovals.map((a) => [a.metadata.name, a.spec.retryRequestedBy])).toEqual([
      ['wf-fix-approval-3', 'bob'],
    ]);
    expect(sim.step('fix')).toMatchObject({ phase: 'WaitingForApproval', approvalName: 'wf-fix-approval-3' });
  });
});

describe('matchRequest: the retry requester', () => {
  const wf = workflow([step('fix')], { requestedBy: 'alice' });
  const base: RequestInput = {
    workflow: wf,
    step: wf.spec.steps[0]!,
    agent: patcher(),
    rendered: { id: 'CVE-1' },
    digest: PROVENANCE.inputsDigest(3, IMAGE, { id: 'CVE-1' }),
    policy: { required: 1, approvers: { groups: ['sre'] } },
    nowMs: T0.getTime(),
  };
  const retried: RequestInput = { ...base, retryRequestedBy: 'bob' };

  it('an unretried run: its requests name no retry requester and still match as before', () => {
    const a = buildApproval(base, 1, PROVENANCE);
    expect('retryRequestedBy' in a.spec).toBe(false);
    expect(matchRequest(a, base, PROVENANCE)).toEqual({ kind: 'ours' });
  });

  it('a retried run: only a request naming the same retry requester is ours', () => {
    const a = buildApproval(retried, 2, PROVENANCE);
    expect(a.spec.retryRequestedBy).toBe('bob');
    expect(matchRequest(a, retried, PROVENANCE)).toEqual({ kind: 'ours' });
    const changed = { kind: 'changed', what: 'retry requester' };
    // Asked before the run was retried (or without the field), or for another retry requester.
    expect(matchRequest(buildApproval(base, 2, PROVENANCE), retried, PROVENANCE)).toEqual(changed);
    expect(
      matchRequest(buildApproval({ ...base, retryRequestedBy: 'carol' }, 2, PROVENANCE), retried, PROVENANCE),
    ).toEqual(changed);
    // A request naming a retry requester is not one an unretried run makes either.
    expect(matchRequest(a, base, PROVENANCE)).toEqual(changed);
  });

  it('the signature covers it: a request whose retry requester was edited does not verify', () => {
    const a = buildApproval(retried, 2, PROVENANCE);
    expect(
      matchRequest({ ...a, spec: { ...a.spec, retryRequestedBy: 'mallory' } }, retried, PROVENANCE),
    ).toEqual({ kind: 'unverified' });
  });
});
