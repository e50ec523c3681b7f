// The pure parts of `kubectl paddock retry` and `resubmit`: when a retry is
// refused, the merge patch that asks for one, and the Workflow a resubmit creates.
import { describe, expect, it } from 'vitest';
import { explain } from '../../../cli/lib/errors.ts';
import {
  cannotRetry,
  MAX_RETRIES,
  RESUBMITTED_FROM,
  resubmitObject,
  retryPatch,
  workflowPhase,
  type WorkflowView,
} from '../../../cli/lib/workflow.ts';
import { ApiError } from '../../../operator/src/kube/errors.ts';

function workflow(
  over: {
    phase?: NonNullable<WorkflowView['status']>['phase'];
    retry?: WorkflowView['spec']['retry'];
    retries?: number;
    cancel?: boolean;
    suspend?: boolean;
    requestedBy?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  } = {},
): WorkflowView {
  return {
    apiVersion: 'paddock.dev/v1alpha1',
    kind: 'Workflow',
    metadata: {
      name: 'release',
      namespace: 'team-a',
      uid: 'w-uid',
      resourceVersion: '42',
      generation: 3,
      creationTimestamp: '2026-03-01T11:00:00Z',
      ...(over.labels ? { labels: over.labels } : {}),
      annotations: over.annotations ?? { 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
      managedFields: [{ manager: 'kubectl' }],
      finalizers: ['paddock.dev/cleanup'],
    },
    spec: {
      ...(over.requestedBy ? { requestedBy: over.requestedBy } : {}),
      inputs: { env: 'prod', nested: { replicas: 3 } },
      parallelism: 2,
      steps: [
        { name: 'build', agentRef: { name: 'builder' } },
        { name: 'deploy', agentRef: { name: 'deployer' }, dependsOn: ['build'] },
      ],
      ...(over.cancel !== undefined ? { cancel: over.cancel } : {}),
      ...(over.suspend !== undefined ? { suspend: over.suspend } : {}),
      ...(over.retry ? { retry: over.retry } : {}),
    },
    ...(over.phase || over.retries !== undefined
      ? {
          status: {
            ...(over.phase ? { phase: over.phase } : {}),
            ...(over.retries !== undefined ? { retries: over.retries } : {}),
          },
        }
      : {}),
  };
}

describe('workflowPhase', () => {
  it('is Pending before the operator wrote a status', () => {
    expect(workflowPhase(workflow())).toBe('Pending');
    expect(workflowPhase(workflow({ phase: 'Failed' }))).toBe('Failed');
  });
});

describe('cannotRetry', () => {
  it('allows a Failed or Cancelled run', () => {
    expect(cannotRetry(workflow({ phase: 'Failed' }))).toBeUndefined();
    expect(cannotRetry(workflow({ phase: 'Cancelled', cancel: true }))).toBeUndefined();
    expect(
      cannotRetry(workflow({ phase: 'Failed', retry: { count: 2, requestedBy: 'bob' }, retries: 2 })),
    ).toBeUndefined();
  });

  it('refuses a run that has not ended, pointing at what to do', () => {
    for (const phase of ['Pending', 'Running', 'WaitingForApproval'] as const)
      expect(cannotRetry(workflow({ phase }))).toBe(
        `workflow release is ${phase}: it has not ended yet; only a run that has Failed or was Cancelled can be retried`,
      );
    expect(cannotRetry(workflow())).toMatch(/^workflow release is Pending: /);
  });

  it('refuses a run that Succeeded and points at resubmit', () => {
    expect(cannotRetry(workflow({ phase: 'Succeeded' }))).toBe(
      'workflow release is Succeeded: it Succeeded; to run it again from the start, use kubectl paddock resubmit',
    );
  });

  it('refuses to ask twice while a retry is not carried out yet', () => {
    const why = cannotRetry(workflow({ phase: 'Failed', retry: { count: 1, requestedBy: 'carol' } }));
    expect(why).toBe(
      'workflow release already has a retry requested by carol that the operator has not carried out yet (spec.retry.count 1, status.retries 0); wait for it to run',
    );
    expect(
      cannotRetry(workflow({ phase: 'Failed', retry: { count: 3, requestedBy: 'carol' }, retries: 2 })),
    ).toMatch(/spec\.retry\.count 3, status\.retries 2/);
  });

  it('refuses past the CRD maximum of retries', () => {
    const w = workflow({
      phase: 'Failed',
      retry: { count: MAX_RETRIES, requestedBy: 'bob' },
      retries: MAX_RETRIES,
    });
    expect(cannotRetry(w)).toMatch(/already retried 100 times/);
  });
});

describe('retryPatch', () => {
  it('asks for the first retry as the caller, at the resourceVersion read', () => {
    expect(retryPatch(workflow({ phase: 'Failed' }), 'bob')).toEqual({
      metadata: { resourceVersion: '42' },
      spec: { retry: { count: 1, requestedBy: 'bob' } },
    });
  });

  it('raises the count by one and replaces the requester', () => {
    const w = workflow({ phase: 'Failed', retry: { count: 4, requestedBy: 'carol' }, retries: 4 });
    expect(retryPatch(w, 'bob').spec).toEqual({ retry: { count: 5, requestedBy: 'bob' } });
  });

  it('clears spec.cancel of a cancelled run, and only then', () => {
    expect(retryPatch(workflow({ phase: 'Cancelled', cancel: true }), 'bob').spec).toEqual({
      retry: { count: 1, requestedBy: 'bob' },
      cancel: false,
    });
    expect(retryPatch(workflow({ phase: 'Failed', cancel: false }), 'bob').spec).not.toHaveProperty('cancel');
  });

  it('never touches anything else', () => {
    const p = retryPatch(workflow({ phase: 'Failed', suspend: true }), 'bob');
    expect(Object.keys(p)).toEqual(['metadata', 'spec']);
    expect(Object.keys(p.metadata)).toEqual(['resourceVersion']);
  });

  it('needs a username and a resourceVersion', () => {
    expect(() => retryPatch(workflow({ phase: 'Failed' }), '')).toThrow(/authenticated username/);
    const w = workflow({ phase: 'Failed' });
    delete w.metadata.resourceVersion;
    expect(() => retryPatch(w, 'bob')).toThrow(/no resourceVersion/);
  });
});

describe('resubmitObject', () => {
  const original = workflow({
    phase: 'Cancelled',
    cancel: true,
    suspend: true,
    retry: { count: 2, requestedBy: 'carol' },
    retries: 2,
    requestedBy: 'alice',
    labels: { team: 'payments', 'app.kubernetes.io/part-of': 'release' },
  });

  it('copies the spec without the run controls, requested by the caller', () => {
    const w = resubmitObject(original, 'bob');
    expect(w.spec).toEqual({
      requestedBy: 'bob',
      inputs: { env: 'prod', nested: { replicas: 3 } },
      parallelism: 2,
      steps: original.spec.steps,
    });
    expect(w).not.toHaveProperty('status');
  });

  it('leaves requestedBy out when the original had none', () => {
    const w = resubmitObject(workflow({ phase: 'Failed' }), '');
    expect(w.spec).not.toHaveProperty('requestedBy');
    expect(() => resubmitObject(original, '')).toThrow(/authenticated username/);
  });

  it('generates a name from the original, or uses the one given', () => {
    expect(resubmitObject(original, 'bob').metadata).toEqual({
      generateName: 'release-',
      namespace: 'team-a',
      labels: { team: 'payments', 'app.kubernetes.io/part-of': 'release' },
      annotations: { [RESUBMITTED_FROM]: 'release' },
    });
    const named = resubmitObject(original, 'bob', 'release-2').metadata;
    expect(named.name).toBe('release-2');
    expect(named).not.toHaveProperty('generateName');
  });

  it('copies labels only: no uid, resourceVersion, finalizers, managed fields or other annotations', () => {
    const meta = resubmitObject(workflow({ phase: 'Failed' }), '').metadata;
    expect(Object.keys(meta).sort()).toEqual(['annotations', 'generateName', 'namespace']);
  });

  it('does not share objects with the original', () => {
    const w = resubmitObject(original, 'bob');
    (w.spec.inputs as { nested: { replicas: number } }).nested.replicas = 9;
    w.spec.steps[0]!.name = 'changed';
    w.metadata.labels!['team'] = 'x';
    expect(original.spec.inputs).toEqual({ env: 'prod', nested: { replicas: 3 } });
    expect(original.spec.steps[0]?.name).toBe('build');
    expect(original.metadata.labels?.['team']).toBe('payments');
  });
});

describe('explain, for retry and resubmit', () => {
  const apiError = (status: number, reason: string, message: string, name?: string): ApiError =>
    new ApiError('patch', '/apis/paddock.dev/v1alpha1/namespaces/team-a/workflows/release', status, {
      kind: 'Status',
      status: 'Failure',
      reason,
      message,
      code: status,
      ...(name ? { details: { name } } : {}),
    });

  it('says a concurrent change refused the retry', () => {
    const msg = explain(apiError(409, 'Conflict', 'the object has been modified', 'release'), {
      action: 'retry',
      namespace: 'team-a',
      name: 'release',
    });
    expect(msg).toMatch(/^error: workflow release changed since it was read in namespace team-a/);
  });

  it('says which RBAC verbs are missing', () => {
    const forbidden = apiError(403, 'Forbidden', 'workflows.paddock.dev "release" is forbidden', 'release');
    expect(explain(forbidden, { action: 'retry', namespace: 'team-a', name: 'release' })).toMatch(
      /hint: retrying needs RBAC verbs get and patch on workflows\.paddock\.dev in namespace team-a/,
    );
    expect(explain(forbidden, { action: 'resubmit', namespace: 'team-a', name: 'release' })).toMatch(
      /hint: resubmitting needs RBAC verbs get and create on workflows\.paddock\.dev in namespace team-a/,
    );
  });

  it('keeps an admission policy refusal as the server phrased it', () => {
    const denied =
      "ValidatingAdmissionPolicy 'paddock-workflow-retry' with binding 'paddock-workflow-retry' denied request: no";
    expect(explain(apiError(403, 'Forbidden', denied), { action: 'retry', namespace: 'team-a' })).toBe(
      `Error from server (Forbidden): ${denied}`,
    );
  });

  it('names a missing workflow, and a taken name', () => {
    expect(
      explain(apiError(404, 'NotFound', 'not found', 'release'), {
        action: 'retry',
        namespace: 'team-a',
        name: 'release',
      }),
    ).toBe('error: workflow release not found in namespace team-a');
    expect(
      explain(apiError(409, 'AlreadyExists', 'already exists', 'release-2'), {
        action: 'resubmit',
        namespace: 'team-a',
        name: 'release',
      }),
    ).toMatch(/^error: a workflow named release-2 already exists in namespace team-a; pick another --name/);
  });
});
