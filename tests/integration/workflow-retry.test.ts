// Retrying and resubmitting a Workflow on a real API server: the paddock-workflow-retry admission
// policy (config/admission) and `kubectl paddock retry|resubmit` (cli/), run as a child process with
// one person's own kubeconfig (static-token users, cluster/src/users.ts). No operator runs here: the
// run's phase is written as the operator writes it, by its ServiceAccount (config/rbac) through the
// status subresource. That the operator then carries the retry out is the workflow controller's tests.
//
// Who is who here: alice (group dev) and bob hold paddock-editor in team-a; dave may read and patch
// workflows there but not create them.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { RESUBMITTED_FROM, type WorkflowView } from '../../cli/lib/workflow.ts';
import { REPO_ROOT } from '../../cluster/src/paths.ts';
import { WORKFLOW } from '../../operator/src/api/constants.ts';
import { KubeClient } from '../../operator/src/kube/client.ts';
import { useCluster } from './support/cluster.ts';
import { kubectl, type KubectlResult } from './support/kubectl.ts';
import { operatorKubeconfig } from './support/operator.ts';
import { eventually } from './support/wait.ts';

const NS = 'team-a';
const BIN = join(REPO_ROOT, 'cli', 'bin', 'kubectl-paddock.mjs');
const ADMISSION = join(REPO_ROOT, 'config', 'admission');
const DENIED =
  "ValidatingAdmissionPolicy 'paddock-workflow-retry' with binding 'paddock-workflow-retry' denied request: ";

type Person = 'alice' | 'bob' | 'dave';
type Phase = NonNullable<WorkflowView['status']>['phase'];

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const RBAC = `
apiVersion: v1
kind: Namespace
metadata: {name: ${NS}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: editors, namespace: ${NS}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: paddock-editor}
subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}
  - {apiGroup: rbac.authorization.k8s.io, kind: User, name: bob}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: workflow-patcher, namespace: ${NS}}
rules:
  - {apiGroups: [paddock.dev], resources: [workflows], verbs: [get, list, patch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: dave-patcher, namespace: ${NS}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: workflow-patcher}
subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: User, name: dave}
`;

function workflowObject(name: string, o: { requestedBy?: string; retry?: boolean } = {}): WorkflowView {
  return {
    apiVersion: 'paddock.dev/v1alpha1',
    kind: 'Workflow',
    metadata: { name, namespace: NS, labels: { team: 'payments' } },
    spec: {
      ...(o.requestedBy ? { requestedBy: o.requestedBy } : {}),
      inputs: { repo: 'https://github.com/acme/api' },
      steps: [
        { name: 'build', agentRef: { name: 'builder' }, inputs: { repo: '{{ inputs.repo }}' } },
        {
          name: 'deploy',
          agentRef: { name: 'deployer' },
          dependsOn: ['build'],
          approval: { required: 1, approvers: { groups: ['sre'] } },
        },
      ],
      ...(o.retry ? { retry: { count: 1, requestedBy: o.requestedBy ?? 'alice' } } : {}),
    },
  };
}

function plugin(kubeconfig: string, args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, '--kubeconfig', kubeconfig, ...args],
      { encoding: 'utf8', timeout: 60_000, env: { ...process.env, KUBECONFIG: '' } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('retrying and resubmitting Workflows on a real API server', () => {
  const env = useCluster({ nodes: 1 });
  const kubeconfigs = new Map<Person, string>();
  let operator: KubeClient | undefined;

  const kc = (who: Person): string => {
    const k = kubeconfigs.get(who);
    if (!k) throw new Error(`no kubeconfig for ${who}`);
    return k;
  };
  const as = (who: Person, ...args: string[]): Promise<Run> => plugin(kc(who), args);
  const run = (who: Person, args: readonly string[], input?: string): KubectlResult =>
    kubectl(kc(who), args, input);
  const get = (name: string): Promise<WorkflowView> => env().admin.get<WorkflowView>(WORKFLOW, NS, name);
  /** A Workflow alice created (requested by her), in the phase the operator wrote. */
  const failedRun = async (name: string, phase: Phase, o: { cancel?: boolean } = {}): Promise<void> => {
    const res = run(
      'alice',
      ['create', '-f', '-'],
      JSON.stringify(workflowObject(name, { requestedBy: 'alice' })),
    );
    expect(res.code, res.stderr).toBe(0);
    if (o.cancel) await env().admin.patch(WORKFLOW, NS, name, { spec: { cancel: true } }, 'merge');
    if (!operator) throw new Error('no operator client');
    await operator.patch(WORKFLOW, NS, name, { status: { phase } }, 'merge', { subresource: 'status' });
  };
  const patchRetry = (
    who: Person,
    name: string,
    retry: { count: number; requestedBy: string },
  ): KubectlResult =>
    run(who, [
      'patch',
      'workflows.paddock.dev',
      name,
      '-n',
      NS,
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { retry } }),
    ]);

  beforeAll(async () => {
    const e = env();
    for (const u of ['alice', 'bob', 'dave'] as const) kubeconfigs.set(u, e.cluster.kubeconfigFor(u));
    e.kubectl(['apply', '-f', '-'], RBAC);
    operator = KubeClient.load(operatorKubeconfig(e)); // applies config/rbac (paddock-editor among it)
    e.kubectl(['apply', '--server-side', '-k', ADMISSION]);
    await eventually(
      'paddock-workflow-retry to be enforced',
      () =>
        kubectl(
          e.kubeconfig,
          ['create', '--dry-run=server', '-f', '-'],
          JSON.stringify(workflowObject('probe', { retry: true })),
        ),
      (r) => r.stderr.includes(DENIED),
    );
    await eventually(
      'the RoleBindings to reach the authorizer',
      () => [
        run('bob', ['auth', 'can-i', 'patch', 'workflows.paddock.dev', '-n', NS]).stdout.trim(),
        run('dave', ['auth', 'can-i', 'patch', 'workflows.paddock.dev', '-n', NS]).stdout.trim(),
      ],
      (r) => r.every((x) => x === 'yes'),
    );
  }, 300_000);

  describe('paddock-workflow-retry', () => {
    it('refuses a retry requested in another user’s name', async () => {
      await failedRun('forged', 'Failed');
      const res = patchRetry('bob', 'forged', { count: 1, requestedBy: 'alice' });
      expect(res.code).not.toBe(0);
      expect(res.stderr).toContain(
        `${DENIED}spec.retry.requestedBy must be the user asking for the retry (bob), not alice`,
      );
      expect((await get('forged')).spec.retry).toBeUndefined();
    });

    it('refuses a retry of a run that is Running or Succeeded', async () => {
      for (const phase of ['Running', 'Succeeded'] as const) {
        const name = `not-over-${phase.toLowerCase()}`;
        await failedRun(name, phase);
        const res = patchRetry('bob', name, { count: 1, requestedBy: 'bob' });
        expect(res.code).not.toBe(0);
        expect(res.stderr).toContain(
          `${DENIED}spec.retry: a retry can only be requested of a run that has Failed or was Cancelled; Workflow ${name} is ${phase} (status.phase)`,
        );
        expect((await get(name)).spec.retry).toBeUndefined();
      }
    });

    it('accepts the caller’s own retry of a Failed run, and no relabelling of it afterwards', async () => {
      await failedRun('own', 'Failed');
      expect(patchRetry('bob', 'own', { count: 1, requestedBy: 'bob' }).code).toBe(0);
      expect((await get('own')).spec.retry).toEqual({ count: 1, requestedBy: 'bob' });
      const relabel = patchRetry('alice', 'own', { count: 1, requestedBy: 'alice' });
      expect(relabel.stderr).toContain(
        `${DENIED}spec.retry.requestedBy can only change with a new retry request (raise spec.retry.count by one)`,
      );
      const removed = run('alice', [
        'patch',
        'workflows.paddock.dev',
        'own',
        '-n',
        NS,
        '--type=json',
        '-p',
        '[{"op":"remove","path":"/spec/retry"}]',
      ]);
      expect(removed.stderr).toContain(`${DENIED}spec.retry cannot be removed`);
      expect((await get('own')).spec.retry).toEqual({ count: 1, requestedBy: 'bob' });
    });

    it('refuses a new retry request before the last one is carried out, so each retry has one requester', async () => {
      await failedRun('pending-retry', 'Failed');
      expect(patchRetry('bob', 'pending-retry', { count: 1, requestedBy: 'bob' }).code).toBe(0);
      // alice, straight to the API server (kubectl paddock retry refuses before asking).
      const second = patchRetry('alice', 'pending-retry', { count: 2, requestedBy: 'alice' });
      expect(second.code).not.toBe(0);
      expect(second.stderr).toContain(
        `${DENIED}spec.retry: retry 1 of Workflow pending-retry, asked by bob, has not been carried out yet (status.retries 0); wait for it to run`,
      );
      expect((await get('pending-retry')).spec.retry).toEqual({ count: 1, requestedBy: 'bob' });
      // Once the operator has carried it out (here: the retried run failed again), alice may ask.
      if (!operator) throw new Error('no operator client');
      await operator.patch(
        WORKFLOW,
        NS,
        'pending-retry',
        { status: { retries: 1, phase: 'Failed' } },
        'merge',
        { subresource: 'status' },
      );
      expect(patchRetry('alice', 'pending-retry', { count: 2, requestedBy: 'alice' }).code).toBe(0);
      expect((await get('pending-retry')).spec.retry).toEqual({ count: 2, requestedBy: 'alice' });
    });

    it('refuses spec.retry on a new Workflow', () => {
      const res = run(
        'alice',
        ['create', '-f', '-'],
        JSON.stringify(workflowObject('born-retried', { requestedBy: 'alice', retry: true })),
      );
      expect(res.code).not.toBe(0);
      expect(res.stderr).toContain(`${DENIED}spec.retry cannot be set when a Workflow is created`);
    });
  });

  describe('kubectl paddock retry', () => {
    it('retries a Cancelled run as the caller and clears spec.cancel', async () => {
      await failedRun('stopped', 'Cancelled', { cancel: true });
      const res = await as('bob', 'retry', 'stopped', '-n', NS);
      expect(res.stderr).toBe('');
      expect(res.code).toBe(0);
      expect(res.stdout).toContain(
        'workflow.paddock.dev/stopped retry 1 requested by bob (was Cancelled; spec.cancel cleared)',
      );
      const w = await get('stopped');
      expect(w.spec.retry).toEqual({ count: 1, requestedBy: 'bob' });
      expect(w.spec.cancel).toBe(false);
      // Not carried out yet (status.retries 0): a second request is refused, and nothing changes.
      const again = await as('alice', 'retry', 'stopped', '-n', NS);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('error: workflow stopped already has a retry requested by bob');
      expect((await get('stopped')).spec.retry).toEqual({ count: 1, requestedBy: 'bob' });
    });

    it('counts on from the retries carried out', async () => {
      await failedRun('twice', 'Failed');
      expect((await as('bob', 'retry', 'twice', '-n', NS)).code).toBe(0);
      if (!operator) throw new Error('no operator client');
      await operator.patch(WORKFLOW, NS, 'twice', { status: { retries: 1, phase: 'Failed' } }, 'merge', {
        subresource: 'status',
      });
      const res = await as('alice', 'retry', 'twice', '-n', NS);
      expect(res.stderr).toBe('');
      expect(res.stdout).toContain('workflow.paddock.dev/twice retry 2 requested by alice (was Failed)');
      expect((await get('twice')).spec.retry).toEqual({ count: 2, requestedBy: 'alice' });
    });

    it('refuses a Succeeded run before asking the API server', async () => {
      await failedRun('done', 'Succeeded');
      const res = await as('bob', 'retry', 'done', '-n', NS);
      expect(res.code).toBe(1);
      expect(res.stderr).toBe(
        'error: workflow done is Succeeded: it Succeeded; to run it again from the start, use kubectl paddock resubmit\n',
      );
      expect((await get('done')).spec.retry).toBeUndefined();
    });

    it('says which workflow is missing', async () => {
      const res = await as('bob', 'retry', 'nope', '-n', NS);
      expect(res.code).toBe(1);
      expect(res.stderr).toBe(`error: workflow nope not found in namespace ${NS}\n`);
    });
  });

  describe('kubectl paddock resubmit', () => {
    it('creates a new run with the same steps, requested by the caller, and the annotation', async () => {
      await failedRun('original', 'Cancelled', { cancel: true });
      const res = await as('bob', 'resubmit', 'original', '-n', NS);
      expect(res.stderr).toBe('');
      expect(res.code).toBe(0);
      const m =
        /^workflow\.paddock\.dev\/(original-[a-z0-9]{5}) created \(resubmitted from original requested by bob\)\n$/.exec(
          res.stdout,
        );
      expect(m, res.stdout).not.toBeNull();
      const copy = await get(m?.[1] ?? '');
      const orig = await get('original');
      expect(copy.spec.steps).toEqual(orig.spec.steps);
      expect(copy.spec.inputs).toEqual(orig.spec.inputs);
      expect(copy.spec.requestedBy).toBe('bob');
      expect(orig.spec.cancel).toBe(true);
      expect(copy.spec.cancel ?? false).toBe(false); // the CRD defaults it to false
      expect(copy.spec.retry).toBeUndefined();
      expect(copy.metadata.annotations?.[RESUBMITTED_FROM]).toBe('original');
      expect(copy.metadata.labels?.['team']).toBe('payments');
      expect(copy.status?.phase).toBeUndefined();
    });

    it('uses --name, and explains a taken one', async () => {
      const res = await as('alice', 'resubmit', 'original', '-n', NS, '--name', 'original-again');
      expect(res.code).toBe(0);
      expect(res.stdout).toBe(
        'workflow.paddock.dev/original-again created (resubmitted from original requested by alice)\n',
      );
      expect((await get('original-again')).spec.requestedBy).toBe('alice');
      const taken = await as('alice', 'resubmit', 'original', '-n', NS, '--name', 'original-again');
      expect(taken.code).toBe(1);
      expect(taken.stderr).toContain(
        `error: a workflow named original-again already exists in namespace ${NS}`,
      );
    });

    it('refuses a user without create rights, and says which', async () => {
      const res = await as('dave', 'resubmit', 'original', '-n', NS, '--name', 'by-dave');
      expect(res.code).toBe(1);
      expect(res.stderr).toContain('Error from server (Forbidden)');
      expect(res.stderr).toContain(
        `hint: resubmitting needs RBAC verbs get and create on workflows.paddock.dev in namespace ${NS}`,
      );
      await expect(get('by-dave')).rejects.toMatchObject({ status: 404 });
    });
  });
});
