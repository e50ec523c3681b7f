import { describe, expect, it } from 'vitest';
import type { Workflow } from '../../../../operator/src/api/generated/index.ts';
import { planWorkflow } from '../../../../operator/src/controllers/workflow/engine.ts';
import { Provenance } from '../../../../operator/src/controllers/provenance.ts';
import {
  referencedInputs,
  referencedSteps,
} from '../../../../operator/src/controllers/workflow/expressions.ts';
import { validateWorkflow } from '../../../../operator/src/controllers/workflow/validate.ts';

const sandbox = {
  quota: { pods: 10, cpu: '8', memory: '16Gi' },
  limitRange: { defaultRequest: { cpu: '100m', memory: '128Mi' }, default: { cpu: '1', memory: '512Mi' } },
};

const PROVENANCE = new Provenance(Buffer.alloc(32, 3));

function wf(spec: Partial<Workflow['spec']>): Workflow {
  return {
    apiVersion: 'paddock.dev/v1alpha1',
    kind: 'Workflow',
    metadata: { name: 'w', namespace: 'ns', uid: 'u1', generation: 1 },
    spec: { steps: [{ name: 'a', agentRef: { name: 'missing' } }], ...spec },
  };
}

describe('cancel before the workflow started', () => {
  it('cancels a Stalled workflow (unknown Agent) instead of leaving it Pending', () => {
    const stalled = planWorkflow({
      workflow: wf({}),
      agents: new Map(),
      pods: new Map(),
      now: new Date(0),
      sandbox,
      provenance: PROVENANCE,
    });
    expect(stalled.status.phase).toBe('Pending');
    const cancelled = planWorkflow({
      workflow: { ...wf({ cancel: true }), status: stalled.status },
      agents: new Map(),
      pods: new Map(),
      now: new Date(1000),
      sandbox,
      provenance: PROVENANCE,
    });
    expect(cancelled.status.phase).toBe('Cancelled');
    expect(cancelled.create).toEqual([]);
    expect(cancelled.status.steps?.[0]).toMatchObject({ phase: 'Cancelled', reason: 'Cancelled' });
    expect(cancelled.status.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({
      status: 'True',
      reason: 'Cancelled',
    });
    expect(cancelled.status.history?.map((h) => h.type)).not.toContain('WorkflowStarted');
    expect(cancelled.status.finishedAt).toBeDefined();
  });
});

describe('references inside string literals', () => {
  it('are not references', () => {
    expect([...referencedSteps('"see steps.x" == steps.y.outputs.a')]).toEqual(['y']);
    expect([...referencedSteps("steps['z-1'].phase == 'steps.q'")]).toEqual(['z-1']);
    expect([...referencedInputs('"inputs.nope" + inputs.yes')]).toEqual(['yes']);
  });

  it('do not stall a workflow', () => {
    const w = wf({
      inputs: {},
      steps: [{ name: 'a', agentRef: { name: 'x' }, when: '"steps.ghost" != "inputs.ghost"' }],
    });
    const agent = {
      apiVersion: 'paddock.dev/v1alpha1',
      kind: 'Agent',
      metadata: { name: 'x', namespace: 'ns', generation: 1 },
      spec: { image: 'x@sha256:' + 'a'.repeat(64) },
    };
    expect(validateWorkflow(w, new Map([['x', agent as never]])).ok).toBe(true);
  });

  it('inherited property names are not inputs', () => {
    const w = wf({
      inputs: {},
      steps: [{ name: 'a', agentRef: { name: 'x' }, inputs: { v: '{{ inputs.constructor }}' } }],
    });
    const agent = { metadata: { name: 'x', namespace: 'ns', generation: 1 }, spec: { image: 'x' } };
    const r = validateWorkflow(w, new Map([['x', agent as never]]));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems.map((p) => p.reason)).toContain('MissingInput');
  });
});

describe('audit event names', () => {
  it('are dotted and lower-case for every transition kind', async () => {
    const { auditName } = await import('../../../../operator/src/controllers/workflow/engine.ts');
    expect(auditName('StepSucceeded')).toBe('step.succeeded');
    expect(auditName('WorkflowStarted')).toBe('workflow.started');
    expect(auditName('ApprovalRequested')).toBe('approval.requested');
    expect(auditName('ApprovalSuperseded')).toBe('approval.superseded');
  });
});
