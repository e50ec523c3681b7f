// Forgery: every way an attacker with a real identity could try to make the operator run a gated
// step without the approvals its Agent demands. Distinct users authenticated by the API server
// (static tokens: alice, bob, carol, dave, paddock-admin; client certificates: erin, frank,
// grace), with narrow rights, wildcard rights on paddock.dev in the namespace or cluster-wide, and
// cluster admin. Each attempt is either refused by the API server (its message checked) or failed
// closed by the operator (its reason checked), and the gated pod never exists. docs/security.md.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../cluster/src/paths.ts';
import { AGENT, APPROVAL, EVENT, POD, WORKFLOW } from '../../operator/src/api/constants.ts';
import type { Approval, Workflow } from '../../operator/src/api/generated/index.ts';
import {
  ANNOTATION_SIGNATURE,
  LABEL_AGENT_POD,
  LABEL_ATTEMPT,
  LABEL_STEP,
  LABEL_WORKFLOW,
} from '../../operator/src/api/labels.ts';
import { KubeClient } from '../../operator/src/kube/client.ts';
import type { Pod } from '../../operator/src/kube/core-types.ts';
import { ApiError } from '../../operator/src/kube/errors.ts';
import type { KubeObject } from '../../operator/src/kube/types.ts';
import { decideAs, sreApprovers } from './support/approvals.ts';
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

const NS = 'forgery';
const OPERATOR_WRITES =
  /only the Paddock operator \(system:serviceaccount:paddock-system:paddock-operator\) may create Approvals/;

describe('forged approvals are never honoured', () => {
  const env = useCluster();
  let op: OperatorProcess;
  const as: Record<string, KubeClient> = {};
  let attempts = 0;

  /**
   * A write the API server must refuse, with a message matching `message`: 403 from an admission
   * policy, or 422 from the CRD's own validation rules (which run first).
   */
  async function refused(what: string, write: () => Promise<unknown>, message: RegExp): Promise<void> {
    attempts++;
    const err = await write().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err, `${what} was admitted`).toBeInstanceOf(ApiError);
    const e = err as ApiError;
    if (process.env['SHOW_REFUSALS']) console.log(`${what}: ${e.status} ${e.message}`);
    expect([403, 422], `${what}: ${e.message}`).toContain(e.status);
    expect(e.message, what).toMatch(message);
  }

  /** The gated pods of a Workflow never exist: now, and a moment later. */
  async function noPods(wf: string): Promise<void> {
    expect(await podsOf(env().admin, NS, wf)).toEqual([]);
    await sleep(1_000);
    expect(await podsOf(env().admin, NS, wf)).toEqual([]);
  }

  const approval = (name: string) => env().admin.get<Approval>(APPROVAL, NS, name);
  const wf = (name: string) => env().admin.get<Workflow>(WORKFLOW, NS, name);
  const waiting = (name: string, approvalName?: string) =>
    eventually(
      `${name} waits for ${approvalName ?? 'an approval'}`,
      () => wf(name),
      (w) =>
        w.status?.steps?.some(
          (s) =>
            s.phase === 'WaitingForApproval' &&
            s.approvalName !== undefined &&
            (approvalName === undefined || s.approvalName === approvalName),
        ) ?? false,
    );
  const failedWith = async (name: string, reason: string): Promise<Workflow> => {
    const w = await waitForPhase(env().admin, NS, name, ['Succeeded', 'Failed']);
    expect(w.status?.phase).toBe('Failed');
    expect(stepOf(w, 'fix')).toMatchObject({ phase: 'Failed', reason });
    return w;
  };
  type Ev = KubeObject & { reason?: string; note?: string; regarding?: { name?: string; kind?: string } };
  const eventsAbout = (kind: string, name: string, reason: string, noteIncludes: string) =>
    eventually(
      `${kind} ${name} Event ${reason} mentioning ${noteIncludes}`,
      async () =>
        (await env().admin.list<Ev>(EVENT, NS)).items.filter(
          (e) => e.regarding?.kind === kind && e.regarding.name === name && e.reason === reason,
        ),
      (es) => es.some((e) => e.note?.includes(noteIncludes) ?? false),
    );

  const decide = (user: string, name: string, decision: 'Approve' | 'Reject' = 'Approve'): Promise<void> =>
    decideAs(as[user]!, user, NS, name, decision);

  /** What a forger writes: a request for `wf`'s step fix with a weaker policy than the Agent's. */
  function forgedApproval(name: string, wfName: string, uid?: string): Approval {
    return {
      apiVersion: 'paddock.dev/v1alpha1',
      kind: 'Approval',
      metadata: { name, namespace: NS },
      spec: {
        workflowRef: { name: wfName, ...(uid ? { uid } : {}) },
        step: 'fix',
        request: {
          agent: 'two-key',
          agentGeneration: 1,
          image: `registry.example/agents/two-key@sha256:${'b'.repeat(64)}`,
          inputs: {},
          digest: `hmac-sha256:${'0'.repeat(64)}`,
        },
        policy: { required: 1 },
        requestedBy: 'alice',
      },
    };
  }

  const run = (name: string, agent = 'two-key') =>
    as['alice']!.create(
      WORKFLOW,
      workflow(name, NS, [{ name: 'fix', agentRef: { name: agent }, inputs: {} }], { requestedBy: 'alice' }),
    );

  beforeAll(async () => {
    const kc = operatorKubeconfig(env());
    env().kubectl(['apply', '-f', '-'], restrictedNamespace(NS));
    env().kubectl(['apply', '--server-side', '-k', join(REPO_ROOT, 'config', 'admission')]);
    env().kubectl(
      ['apply', '-f', '-'],
      `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: run-workflows, namespace: ${NS}}
rules:
- apiGroups: [paddock.dev]
  resources: [workflows, agents]
  verbs: [get, list, watch, create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: alice-runs, namespace: ${NS}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: run-workflows}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}]
---
# dave: may create and update Approvals and create pods, nothing else (no approve verb).
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: approval-writer, namespace: ${NS}}
rules:
- apiGroups: [paddock.dev]
  resources: [approvals]
  verbs: [get, list, watch, create, update, patch]
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: dave-writes, namespace: ${NS}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: approval-writer}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: dave}]
---
# grace: every verb on everything in paddock.dev, in this namespace (approve included); not in sre.
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: paddock-everything, namespace: ${NS}}
rules:
- apiGroups: [paddock.dev]
  resources: ['*']
  verbs: ['*']
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: grace-everything, namespace: ${NS}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: paddock-everything}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: grace}]
---
# frank: the same, cluster-wide.
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: forgery-paddock-everything}
rules:
- apiGroups: [paddock.dev]
  resources: ['*']
  verbs: ['*']
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: forgery-frank-everything}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: forgery-paddock-everything}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: frank}]
---
${sreApprovers(NS)}`,
    );
    for (const u of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'paddock-admin'])
      as[u] = KubeClient.load(env().cluster.kubeconfigFor(u));
    const gate = {
      riskLevel: 'ApprovalRequired' as const,
      approval: { required: 2, approvers: { groups: ['sre'] } },
    };
    await env().admin.create(AGENT, simAgent('two-key', NS, { result: { applied: true } }, gate));
    await env().admin.create(AGENT, simAgent('latched', NS, { result: { applied: true } }, gate));
    await env().admin.create(AGENT, simAgent('auto', NS, { result: { ok: true } }));
    await env().admin.create(AGENT, simAgent('spare', NS, { result: { ok: true } }));
    op = OperatorProcess.start(kc, ['--leader-elect=false']);
    for (const a of ['two-key', 'latched', 'auto', 'spare']) await agentReady(env().admin, NS, a);
  });

  afterAll(async () => {
    if (process.env['DUMP_OPERATOR_LOGS']) console.log(op?.dumpLogs(3000));
    await op?.stop();
  });

  it('refuses a pre-created request under the operator name, from anyone but the operator', async () => {
    // Before the Workflow exists, each forger tries the name the operator will use.
    for (const user of ['dave', 'grace', 'frank', 'paddock-admin'])
      await refused(
        `${user} creates pre-fix-approval-1`,
        () => as[user]!.create(APPROVAL, forgedApproval('pre-fix-approval-1', 'pre')),
        OPERATOR_WRITES,
      );
    await run('pre');
    const w = await waiting('pre', 'pre-fix-approval-1');
    const a = await approval(stepOf(w, 'fix').approvalName!);
    // The request is the operator's: signed, with the Agent's policy.
    expect(a.metadata.annotations?.[ANNOTATION_SIGNATURE]).toMatch(/^v1:[0-9a-f]{64}$/);
    expect(a.spec.policy).toMatchObject({ required: 2, approvers: { groups: ['sre'] } });
    await noPods('pre');
  });

  it('refuses status written by anyone but the operator, wildcard and admin rights included', async () => {
    await waiting('pre', 'pre-fix-approval-1');
    const status = {
      phase: 'Approved',
      approvedBy: ['grace'],
      decidedBy: 'grace',
      reason: 'Approved',
      message: '',
    };
    const onStatus =
      (user: string, ref: typeof APPROVAL, name: string, body: Record<string, unknown>) => () =>
        as[user]!.raw(
          'PATCH',
          `/apis/paddock.dev/v1alpha1/namespaces/${NS}/${ref.plural}/${name}/status`,
          { status: body },
          'application/merge-patch+json',
        );
    const STATUS_MSG = /only the Paddock operator .* may write the status of (approvals|workflows)/;
    // An Approved status the decisions do not support: refused by the CRD's own rule first.
    await refused(
      'grace marks the Approval Approved',
      onStatus('grace', APPROVAL, 'pre-fix-approval-1', status),
      /status.phase Approved needs at least spec.policy.required Approve decisions/,
    );
    // Any other status write, however harmless it looks: refused by paddock-operator-writes.
    await refused(
      'grace rewrites the Approval status message',
      onStatus('grace', APPROVAL, 'pre-fix-approval-1', { message: 'approved out of band' }),
      STATUS_MSG,
    );
    await refused(
      'frank marks the Workflow step Succeeded',
      onStatus('frank', WORKFLOW, 'pre', {
        phase: 'Succeeded',
        steps: [{ name: 'fix', phase: 'Succeeded' }],
      }),
      STATUS_MSG,
    );
    await refused(
      'the cluster admin rewrites the Approval status',
      onStatus('paddock-admin', APPROVAL, 'pre-fix-approval-1', { message: 'approved out of band' }),
      STATUS_MSG,
    );
    expect((await approval('pre-fix-approval-1')).status?.phase).toBe('Pending');
    await noPods('pre');
  });

  it('refuses decisions from non-approvers, in others names, and changes to the request', async () => {
    const name = 'pre-fix-approval-1';
    await refused(
      'grace (wildcard, not in sre) approves',
      () => decide('grace', name),
      /is not an approver of Approval/,
    );
    await refused(
      'frank (cluster wildcard, not in sre) approves',
      () => decide('frank', name),
      /is not an approver of Approval/,
    );
    await refused(
      'dave (update, no approve verb) approves',
      () => decide('dave', name),
      /deciding needs the RBAC verb "approve"/,
    );
    await refused(
      "grace approves in bob's name",
      () =>
        as['grace']!.apply(
          APPROVAL,
          {
            apiVersion: 'paddock.dev/v1alpha1',
            kind: 'Approval',
            metadata: { name, namespace: NS },
            spec: { decisions: [{ user: 'bob', decision: 'Approve' }] },
          } as KubeObject,
          { fieldManager: 'test-grace' },
        ),
      /a decision can only be made in your own name/,
    );
    await refused(
      'frank lowers the required count',
      () => as['frank']!.patch(APPROVAL, NS, name, { spec: { policy: { required: 1 } } }),
      /spec.policy is immutable|only spec.decisions of an Approval can change/,
    );
    await noPods('pre');
  });

  it('never counts an Approval whose signature was tampered with: a fresh request is made at once', async () => {
    await decide('bob', 'pre-fix-approval-1'); // 1 of 2
    attempts++;
    // grace may change an Approval's annotations (metadata is not the request): she strips the signature.
    await as['grace']!.patch(APPROVAL, NS, 'pre-fix-approval-1', {
      metadata: { annotations: { [ANNOTATION_SIGNATURE]: null } },
    });
    await waiting('pre', 'pre-fix-approval-2');
    const old = await eventually(
      'tampered request marked Invalid',
      () => approval('pre-fix-approval-1'),
      (a) => a.status?.phase === 'Invalid',
    );
    expect(old.status?.reason).toBe('NotCreatedByOperator');
    // The decision on the tampered one counts for nothing, and it takes no more.
    await refused(
      'carol decides the Invalid Approval',
      () => decide('carol', 'pre-fix-approval-1'),
      /spec is immutable once the Approval is decided .*Invalid|is Invalid: it takes no more decisions/,
    );
    await noPods('pre');
    // The genuine request, decided by two distinct approvers of the group, runs the step.
    await decide('bob', 'pre-fix-approval-2');
    await sleep(500);
    expect(await podsOf(env().admin, NS, 'pre')).toEqual([]);
    await decide('erin', 'pre-fix-approval-2');
    expect((await waitForPhase(env().admin, NS, 'pre', ['Succeeded', 'Failed'])).status?.phase).toBe(
      'Succeeded',
    );
  });

  describe('with the creation policy removed by a cluster admin', () => {
    beforeAll(() => {
      env().kubectl(['delete', 'validatingadmissionpolicybinding', 'paddock-operator-writes']);
    });
    afterAll(() => {
      env().kubectl(['apply', '--server-side', '-k', join(REPO_ROOT, 'config', 'admission')]);
    });

    it('fails the step closed on a forged request under its name, with an Event naming it; never adopts it', async () => {
      attempts++;
      // The policy's removal takes a moment to reach admission.
      await eventually(
        'dave may create Approvals',
        () => as['dave']!.create(APPROVAL, forgedApproval('byp-fix-approval-1', 'byp')).then(() => true),
        (ok) => ok,
      );
      // One approval, as the forged policy asks (refused if the operator already marked it Invalid).
      await decide('carol', 'byp-fix-approval-1').catch(() => undefined);
      await run('byp');
      const w = await failedWith('byp', 'ApprovalMismatch');
      expect(stepOf(w, 'fix').message).toContain('byp-fix-approval-1');
      expect(stepOf(w, 'fix').message).toContain('did not create it');
      await eventsAbout('Workflow', 'byp', 'StepFailed', 'byp-fix-approval-1');
      const forged = await eventually(
        'forged marked Invalid',
        () => approval('byp-fix-approval-1'),
        (a) => a.status?.phase === 'Invalid',
      );
      expect(forged.status?.approvedBy ?? []).toEqual([]);
      await noPods('byp');
    });

    it('a copy of a genuine signature on a weaker request does not verify', async () => {
      attempts++;
      const genuine = await approval('pre-fix-approval-2');
      const copy = forgedApproval('cpy-fix-approval-1', 'cpy');
      copy.metadata.annotations = {
        [ANNOTATION_SIGNATURE]: genuine.metadata.annotations![ANNOTATION_SIGNATURE]!,
      };
      await eventually(
        'dave may create',
        () => as['dave']!.create(APPROVAL, copy).then(() => true),
        (ok) => ok,
      );
      await run('cpy');
      await failedWith('cpy', 'ApprovalMismatch');
      await noPods('cpy');
    });
  });

  it('a Workflow created again under the same name never waits on, nor is opened by, the earlier run', async () => {
    attempts++;
    await run('again');
    await waiting('again', 'again-fix-approval-1');
    await decide('bob', 'again-fix-approval-1');
    await decide('carol', 'again-fix-approval-1');
    await eventually(
      'approved',
      () => approval('again-fix-approval-1'),
      (a) => a.status?.phase === 'Approved',
    );
    await waitForPhase(env().admin, NS, 'again', ['Succeeded']);
    // Deleted and created again under the same name, with no operator restart, while the earlier
    // run's approved request is still there (here: kept for good by dropping its owner reference;
    // in a cluster, until the garbage collector gets to it).
    await env().admin.patch(APPROVAL, NS, 'again-fix-approval-1', { metadata: { ownerReferences: null } });
    env().kubectl(['delete', 'workflow', 'again', '-n', NS, '--wait=true']);
    await eventually(
      'the earlier run and its pod gone',
      async () => [
        await wf('again').then(
          () => 1,
          () => 0,
        ),
        (await podsOf(env().admin, NS, 'again')).length,
      ],
      ([w, p]) => w === 0 && p === 0,
      { timeoutMs: 60_000 },
    );
    expect((await approval('again-fix-approval-1')).status?.phase).toBe('Approved');
    await run('again');
    const w = await waiting('again', 'again-fix-approval-2');
    expect(stepOf(w, 'fix').approvalName).toBe('again-fix-approval-2');
    expect((await approval('again-fix-approval-2')).spec.workflowRef.uid).toBe(w.metadata.uid);
    await noPods('again');
  });

  it('never adopts a pod someone else made under the gated attempt name, and fails the step on it', async () => {
    attempts++;
    await run('pod');
    const w = await waiting('pod', 'pod-fix-approval-1');
    // dave makes the pod the operator would make once approved, succeeding with forged outputs.
    await as['dave']!.create<Pod>(POD, forgedPod('pod-fix-1', w, { applied: 'forged' }));
    await eventually(
      'forged pod Succeeded',
      () => env().admin.get<Pod>(POD, NS, 'pod-fix-1'),
      (p) => p.status?.phase === 'Succeeded',
    );
    await sleep(1_000);
    expect(stepOf(await wf('pod'), 'fix').phase).toBe('WaitingForApproval');
    await decide('bob', 'pod-fix-approval-1');
    await decide('erin', 'pod-fix-approval-1');
    const done = await failedWith('pod', 'PodMismatch');
    expect(stepOf(done, 'fix').outputs).toBeUndefined();
    await eventsAbout('Workflow', 'pod', 'PodMismatch', 'pod-fix-1');
  });

  it('an Auto step whose pod name is taken by a foreign pod fails closed (PodMismatch)', async () => {
    attempts++;
    // The Workflow does not exist yet: the forger guesses its pod name and copies no owner.
    await as['dave']!.create<Pod>(POD, forgedPod('early-fix-1', undefined, { ok: 'forged' }));
    await run('early', 'auto');
    await failedWith('early', 'PodMismatch');
  });

  it('refuses a wildcard user who weakens an Agent approval gate, in every way', async () => {
    const weaker: Array<[string, Record<string, unknown>]> = [
      ['switches it to Auto', { riskLevel: 'Auto', approval: null }],
      ['lowers required', { approval: { required: 1, approvers: { groups: ['sre'] } } }],
      [
        'names herself an approver',
        { approval: { required: 2, approvers: { groups: ['sre'], users: ['grace'] } } },
      ],
      ['removes the approver list', { approval: { required: 2, approvers: null } }],
      [
        'lengthens the window',
        { approval: { required: 2, approvers: { groups: ['sre'] }, timeoutSeconds: 604800 } },
      ],
    ];
    for (const [what, spec] of weaker)
      await refused(
        `grace ${what}`,
        () => as['grace']!.patch(AGENT, NS, 'latched', { spec }),
        /may not weaken the approval gate of Agent forgery\/latched/,
      );
    // Making it stronger needs nothing more.
    await as['grace']!.patch(AGENT, NS, 'spare', {
      spec: { riskLevel: 'ApprovalRequired', approval: { required: 1 } },
    });
    await as['grace']!.patch(AGENT, NS, 'spare', { spec: { riskLevel: 'Auto', approval: null } }).then(
      () => expect.fail('weakening it back was admitted'),
      (e: unknown) => expect(String(e)).toMatch(/may not weaken the approval gate/),
    );
  });

  it('a step gated once stays gated when its Agent is switched to Auto by someone allowed to', async () => {
    attempts++;
    await run('latch', 'latched');
    await waiting('latch', 'latch-fix-approval-1');
    // A cluster admin holds every verb of every group, policy.paddock.dev's `weaken` included.
    await env().admin.patch(AGENT, NS, 'latched', { spec: { riskLevel: 'Auto', approval: null } });
    const w = await waiting('latch', 'latch-fix-approval-2');
    expect((await approval(stepOf(w, 'fix').approvalName!)).spec.policy).toMatchObject({
      required: 2,
      approvers: { groups: ['sre'] },
    });
    await noPods('latch');
  });

  it("a Workflow step's own approval policy cannot weaken its Agent's gate", async () => {
    attempts++;
    // grace writes a run of the gated Agent whose step asks for one approval, by herself, and no
    // requester: with her wildcard (the approve verb included) she would approve it herself.
    await as['grace']!.create(
      WORKFLOW,
      workflow('own-gate', NS, [
        {
          name: 'fix',
          agentRef: { name: 'two-key' },
          inputs: {},
          approval: { required: 1, approvers: { users: ['grace'] }, timeoutSeconds: 604800 },
        },
      ]),
    );
    const w = await waiting('own-gate', 'own-gate-fix-approval-1');
    const a = await approval(stepOf(w, 'fix').approvalName!);
    expect(a.spec.policy).toMatchObject({ required: 2, approvers: { groups: ['sre'] } });
    expect(a.spec.policy.approvers?.users ?? []).not.toContain('grace');
    await refused(
      'grace approves her own weakened request',
      () => decide('grace', a.metadata.name!),
      /is not an approver of Approval/,
    );
    await noPods('own-gate');
  });

  it('counted at least 15 distinct forgery attempts, none of them honoured', () => {
    expect(attempts).toBeGreaterThanOrEqual(15);
  });
});

/** A pod shaped like an agent pod (labels, restricted security), made by someone else. */
function forgedPod(name: string, owner: Workflow | undefined, outputs: unknown): Pod {
  const [wfName, step] = [name.split('-')[0]!, 'fix'];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: NS,
      labels: {
        [LABEL_AGENT_POD]: 'true',
        [LABEL_WORKFLOW]: wfName,
        [LABEL_STEP]: step,
        [LABEL_ATTEMPT]: '1',
      },
      ...(owner
        ? {
            ownerReferences: [
              {
                apiVersion: 'paddock.dev/v1alpha1',
                kind: 'Workflow',
                name: owner.metadata.name!,
                uid: owner.metadata.uid!,
                controller: true,
              },
            ],
          }
        : {}),
    },
    spec: {
      restartPolicy: 'Never',
      securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'agent',
          image: 'registry.example/forger:1',
          env: [
            { name: 'SIM_RESULT', value: JSON.stringify(outputs) },
            { name: 'SIM_DURATION', value: '50ms' },
          ],
          resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '64Mi' } },
          securityContext: {
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
            runAsNonRoot: true,
          },
        },
      ],
    },
  };
}
