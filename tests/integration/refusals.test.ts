// When the API server says no: every refusal of a step's child (its pod or its Approval request)
// ends the attempt or makes the step wait, with a reason in status and an Event; nothing is ever
// stuck silently. Inputs too large to deliver are refused before any pod. Refusals come from real
// admission (ValidatingAdmissionPolicy, a failing webhook), real RBAC and the real API server.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../cluster/src/paths.ts';
import { AGENT, EVENT, POD, WORKFLOW } from '../../operator/src/api/constants.ts';
import type { Workflow } from '../../operator/src/api/generated/index.ts';
import { MAX_INPUTS_BYTES } from '../../operator/src/controllers/sandbox/pod.ts';
import type { KubeObject } from '../../operator/src/kube/types.ts';
import { useCluster } from './support/cluster.ts';
import { OperatorProcess, operatorKubeconfig } from './support/operator.ts';
import { eventually, sleep } from './support/wait.ts';
import {
  agentReady,
  podsOf,
  restrictedNamespace,
  simAgent,
  stepOf,
  waitForPhase,
  workflow,
} from './support/workflows.ts';

const NS = 'refusals';

describe('every refusal has a reason', () => {
  const env = useCluster();
  let op: OperatorProcess;

  type Ev = KubeObject & { reason?: string; note?: string; regarding?: { name?: string } };
  const event = (wf: string, reason: string) =>
    eventually(
      `Event ${reason} on ${wf}`,
      async () =>
        (await env().admin.list<Ev>(EVENT, NS)).items.filter(
          (e) => e.regarding?.name === wf && e.reason === reason,
        ),
      (es) => es.length > 0,
    );
  const stepIs = (wf: string, phase: string, reason: string) =>
    eventually(
      `${wf} step ${phase}/${reason}`,
      async () => (await env().admin.get<Workflow>(WORKFLOW, NS, wf)).status?.steps ?? [],
      (steps) => steps.some((s) => s.phase === phase && s.reason === reason),
      { timeoutMs: 45_000 },
    );
  const one = (name: string, agent = 'plain', inputs: Record<string, unknown> = {}) =>
    env().admin.create(WORKFLOW, workflow(name, NS, [{ name: 'run', agentRef: { name: agent }, inputs }]));

  beforeAll(async () => {
    const kc = operatorKubeconfig(env());
    env().kubectl(['apply', '-f', '-'], restrictedNamespace(NS));
    env().kubectl(['apply', '--server-side', '-k', join(REPO_ROOT, 'config', 'admission')]);
    // Admission the cluster's administrators might run: refusing some agent pods, with 403 and 422.
    env().kubectl(
      ['apply', '-f', '-'],
      `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: test-deny-pods}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules: [{apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods]}]
  validations:
  - expression: "!has(object.metadata.labels) || !('paddock.dev/workflow' in object.metadata.labels) || object.metadata.labels['paddock.dev/workflow'] != 'denied'"
    reason: Forbidden
    message: agent pods of workflow denied are not allowed here
  - expression: "!has(object.metadata.labels) || !('paddock.dev/workflow' in object.metadata.labels) || object.metadata.labels['paddock.dev/workflow'] != 'invalid'"
    reason: Invalid
    message: agent pods of workflow invalid are invalid here
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: test-deny-pods}
spec:
  policyName: test-deny-pods
  validationActions: [Deny]
`,
    );
    // Admission policies take effect a moment after they are created: wait until a dry-run pod of
    // workflow "denied" is refused.
    await eventually(
      'test-deny-pods in effect',
      () =>
        env()
          .admin.create(
            POD,
            {
              apiVersion: 'v1',
              kind: 'Pod',
              metadata: { name: 'probe', namespace: 'default', labels: { 'paddock.dev/workflow': 'denied' } },
              spec: { containers: [{ name: 'c', image: 'x' }] },
            },
            { dryRun: true },
          )
          .then(
            () => 'admitted',
            (e: unknown) => String(e),
          ),
      (r) => r.includes('not allowed here'),
    );
    const agents = [
      simAgent('plain', NS, { result: { ok: true } }),
      simAgent('gated', NS, { result: {} }, { riskLevel: 'ApprovalRequired', approval: { required: 1 } }),
    ];
    for (const a of agents) await env().admin.create(AGENT, a);
    op = OperatorProcess.start(kc, ['--leader-elect=false']);
    for (const a of agents) await agentReady(env().admin, NS, a.metadata.name!);
  });

  afterAll(async () => {
    if (process.env['DUMP_OPERATOR_LOGS']) console.log(op?.dumpLogs(3000));
    await op?.stop();
  });

  it('refuses inputs too large to deliver before any pod, naming the size and the limit', async () => {
    await one('huge', 'plain', { blob: 'x'.repeat(MAX_INPUTS_BYTES + 1) });
    const w = await waitForPhase(env().admin, NS, 'huge', ['Failed', 'Succeeded']);
    expect(stepOf(w, 'run')).toMatchObject({ phase: 'Failed', reason: 'InputsTooLarge' });
    expect(stepOf(w, 'run').message).toContain(`at most ${MAX_INPUTS_BYTES}`);
    expect(await podsOf(env().admin, NS, 'huge')).toEqual([]);
    await event('huge', 'StepFailed');
  });

  it('an admission denial (403) fails the attempt: PodRejected, with the policy message and an Event', async () => {
    await one('denied');
    const w = await waitForPhase(env().admin, NS, 'denied', ['Failed', 'Succeeded']);
    expect(stepOf(w, 'run')).toMatchObject({ phase: 'Failed', reason: 'PodRejected' });
    expect(stepOf(w, 'run').message).toContain('agent pods of workflow denied are not allowed here');
    expect((await event('denied', 'PodRejected'))[0]!.note).toContain('not allowed here');
  });

  it('an invalid pod (422) fails the attempt: PodInvalid, with an Event', async () => {
    await one('invalid');
    const w = await waitForPhase(env().admin, NS, 'invalid', ['Failed', 'Succeeded']);
    expect(stepOf(w, 'run')).toMatchObject({ phase: 'Failed', reason: 'PodInvalid' });
    await event('invalid', 'PodInvalid');
  });

  it('missing RBAC for the operator: the step waits (OperatorForbidden) and runs once the grant is back', async () => {
    const role = env().kubectl(['get', 'clusterrole', 'paddock-operator', '-o', 'json']);
    const parsed = JSON.parse(role) as {
      rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>;
    };
    const without = {
      ...parsed,
      metadata: { name: 'paddock-operator' },
      rules: parsed.rules.map((r) =>
        r.resources.includes('pods') ? { ...r, verbs: r.verbs.filter((v) => v !== 'create') } : r,
      ),
    };
    env().kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', ...without }),
    );
    try {
      await sleep(1_000);
      await one('no-rbac');
      await stepIs('no-rbac', 'Waiting', 'OperatorForbidden');
      expect((await event('no-rbac', 'OperatorForbidden'))[0]!.note).toContain(
        'cannot create resource "pods"',
      );
    } finally {
      env().kubectl(['apply', '-k', join(REPO_ROOT, 'config', 'rbac')]);
    }
    expect(
      (await waitForPhase(env().admin, NS, 'no-rbac', ['Succeeded', 'Failed'], 60_000)).status?.phase,
    ).toBe('Succeeded');
  });

  it('a failing admission webhook (500): the step waits (CreateFailed) and runs once it is gone', async () => {
    env().kubectl(
      ['apply', '-f', '-'],
      `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: test-broken-webhook}
webhooks:
- name: broken.example.com
  admissionReviewVersions: [v1]
  sideEffects: None
  failurePolicy: Fail
  timeoutSeconds: 1
  clientConfig: {url: "https://127.0.0.1:1/validate"}
  namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ${NS}}}
  rules: [{apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods]}]
`,
    );
    try {
      await sleep(1_000);
      await one('webhook');
      await stepIs('webhook', 'Waiting', 'CreateFailed');
      expect((await event('webhook', 'CreateFailed'))[0]!.note).toContain('failed calling webhook');
    } finally {
      env().kubectl(['delete', 'validatingwebhookconfiguration', 'test-broken-webhook']);
    }
    expect(
      (await waitForPhase(env().admin, NS, 'webhook', ['Succeeded', 'Failed'], 60_000)).status?.phase,
    ).toBe('Succeeded');
  });

  it('an Approval request the API server refuses: the step waits (ApprovalRequestFailed), then asks', async () => {
    // An administrator's policy (or a mistake in one) refuses this run's Approval requests.
    env().kubectl(
      ['apply', '-f', '-'],
      `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: test-deny-approvals}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules: [{apiGroups: [paddock.dev], apiVersions: ['*'], operations: [CREATE], resources: [approvals]}]
  validations:
  - expression: "object.spec.workflowRef.name != 'refused'"
    reason: Invalid
    message: approvals of workflow refused are not accepted today
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: test-deny-approvals}
spec:
  policyName: test-deny-approvals
  validationActions: [Deny]
`,
    );
    try {
      await sleep(1_000);
      await one('refused', 'gated');
      await stepIs('refused', 'Waiting', 'ApprovalRequestFailed');
      expect((await event('refused', 'ApprovalRequestFailed'))[0]!.note).toContain('not accepted today');
      expect(await podsOf(env().admin, NS, 'refused')).toEqual([]);
    } finally {
      env().kubectl([
        'delete',
        'validatingadmissionpolicybinding,validatingadmissionpolicy',
        'test-deny-approvals',
      ]);
    }
    await stepIs('refused', 'WaitingForApproval', 'WaitingForApproval');
    expect(await podsOf(env().admin, NS, 'refused')).toEqual([]);
  });
});
