// Approvals people can trust (docs/approvals.md), on a real API server: the admission
// policies of config/admission, the CRD rules of crds/, and the roles of config/rbac. Every action is
// made by a real, distinct, token-authenticated user with their own kubeconfig (cluster/src/users.ts),
// or by the operator's own ServiceAccount, through kubectl, exactly as `kubectl paddock approve` would.
// The assertions are on what the API server answers.
//
// Who is who here:
//   alice (group dev)  creates the Workflow (its requester); holds paddock-approver in team-a
//   bob, carol (sre)   paddock-approver in team-a; in team-b only update/patch, and bob holds
//                      `approve` on the single Approval b-one (resourceNames); bob also stands
//                      for a user who asked for the retry of a run (spec.retryRequestedBy)
//   dave (no group)    update/patch on Approvals in team-a, but not `approve`
//   operator           the paddock-operator ServiceAccount under config/rbac: the only one
//                      paddock-operator-writes lets create Approvals and write status
//   gitops             a ServiceAccount with paddock-editor, standing in for Argo CD / Flux
//   grace (platform)   every verb on every paddock.dev resource in team-a (a wildcard Role)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../cluster/src/paths.ts';
import { useCluster } from './support/cluster.ts';
import { kubectl, type KubectlResult } from './support/kubectl.ts';
import { operatorKubeconfig } from './support/operator.ts';
import { eventually } from './support/wait.ts';

const A = 'team-a';
const B = 'team-b';
const DIGEST = `hmac-sha256:${'0123456789abcdef'.repeat(4)}`;
const IMAGE = `ghcr.io/paddock-dev/fixture@sha256:${'ab'.repeat(32)}`;
const GITOPS = 'system:serviceaccount:gitops:flux';
const OPERATOR = 'system:serviceaccount:paddock-system:paddock-operator';

type Who = 'admin' | 'operator' | 'gitops' | 'alice' | 'bob' | 'carol' | 'dave' | 'grace';

interface Decision {
  user: string;
  decision: 'Approve' | 'Reject';
  comment?: string;
}
interface ApprovalObj {
  metadata: { name: string; namespace: string; uid: string };
  spec: { decisions?: Decision[]; request: { inputs?: Record<string, unknown>; digest: string } };
  status?: { phase?: string; approvedBy?: string[] };
}

const RBAC = `
apiVersion: v1
kind: Namespace
metadata: {name: ${A}}
---
apiVersion: v1
kind: Namespace
metadata: {name: ${B}}
---
apiVersion: v1
kind: Namespace
metadata: {name: gitops}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: flux, namespace: gitops}
---
# team-a: sre and alice may decide; alice and the GitOps identity manage Workflows.
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: approvers, namespace: ${A}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: paddock-approver}
subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: Group, name: sre}
  - {apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: editors, namespace: ${A}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: paddock-editor}
subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}
  - {kind: ServiceAccount, name: flux, namespace: gitops}
---
# dave may update Approvals in team-a but was never granted the approve verb.
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: approvals-writer, namespace: ${A}}
rules:
  - {apiGroups: [paddock.dev], resources: [approvals], verbs: [get, list, update, patch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: dave-writer, namespace: ${A}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: approvals-writer}
subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: User, name: dave}
---
# grace (group platform) holds every right RBAC can give on paddock.dev in team-a.
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: paddock-everything, namespace: ${A}}
rules:
  - {apiGroups: [paddock.dev], resources: ['*'], verbs: ['*']}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: platform-everything, namespace: ${A}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: paddock-everything}
subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: Group, name: platform}
---
# team-b: sre may update Approvals, and bob may approve exactly one of them (resourceNames).
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: approvals-writer, namespace: ${B}}
rules:
  - {apiGroups: [paddock.dev], resources: [approvals], verbs: [get, list, update, patch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: sre-writer, namespace: ${B}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: approvals-writer}
subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: Group, name: sre}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: approve-b-one, namespace: ${B}}
rules:
  - {apiGroups: [paddock.dev], resources: [approvals], resourceNames: [b-one], verbs: [approve]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: bob-approves-b-one, namespace: ${B}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: approve-b-one}
subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: User, name: bob}
`;

function approvalManifest(
  ns: string,
  name: string,
  opts: {
    requestedBy?: string;
    retryRequestedBy?: string;
    required?: number;
    approvers?: { users?: string[]; groups?: string[] };
    decisions?: Decision[];
    owner?: { name: string; uid: string };
    expiresAt?: string;
  } = {},
): string {
  return JSON.stringify({
    apiVersion: 'paddock.dev/v1alpha1',
    kind: 'Approval',
    metadata: {
      name,
      namespace: ns,
      ...(opts.owner
        ? {
            ownerReferences: [
              {
                apiVersion: 'paddock.dev/v1alpha1',
                kind: 'Workflow',
                name: opts.owner.name,
                uid: opts.owner.uid,
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          }
        : {}),
    },
    spec: {
      workflowRef: { name: opts.owner?.name ?? 'release', ...(opts.owner ? { uid: opts.owner.uid } : {}) },
      step: 'deploy',
      request: {
        agent: 'deployer',
        agentGeneration: 1,
        image: IMAGE,
        capabilities: ['kubectl-apply'],
        inputs: { repo: 'https://github.com/acme/api', token: '<redacted>' },
        digest: DIGEST,
      },
      policy: {
        required: opts.required ?? 1,
        ...(opts.approvers ? { approvers: opts.approvers } : {}),
        expiresAt: opts.expiresAt ?? '2099-01-01T00:00:00Z',
      },
      ...(opts.requestedBy ? { requestedBy: opts.requestedBy } : {}),
      ...(opts.retryRequestedBy ? { retryRequestedBy: opts.retryRequestedBy } : {}),
      ...(opts.decisions ? { decisions: opts.decisions } : {}),
    },
  });
}

function workflowManifest(
  name: string,
  opts: { requestedBy?: string; inputs?: Record<string, unknown> } = {},
): string {
  return JSON.stringify({
    apiVersion: 'paddock.dev/v1alpha1',
    kind: 'Workflow',
    metadata: { name, namespace: A },
    spec: {
      ...(opts.requestedBy ? { requestedBy: opts.requestedBy } : {}),
      inputs: opts.inputs ?? { repo: 'https://github.com/acme/api' },
      steps: [
        {
          name: 'deploy',
          agentRef: { name: 'deployer' },
          inputs: { repo: '{{ inputs.repo }}' },
          // Gated even though the Agent may be Auto.
          approval: { required: 2, approvers: { groups: ['sre', 'dev'] } },
        },
      ],
    },
  });
}

describe('approvals: admission policies and RBAC on the real API server', () => {
  const env = useCluster({ nodes: 1 });
  const kubeconfigs = new Map<Who, string>();

  const run = (who: Who, args: readonly string[], input?: string): KubectlResult => {
    const kc = kubeconfigs.get(who);
    if (!kc) throw new Error(`no kubeconfig for ${who}`);
    return kubectl(kc, args, input);
  };
  const ok = (res: KubectlResult): string => {
    expect(res.code, `expected the API server to accept, got: ${res.stderr}`).toBe(0);
    return res.stdout;
  };
  const refused = (res: KubectlResult, ...messages: string[]): void => {
    expect(res.code, `expected refusal, got: ${res.stdout}`).not.toBe(0);
    for (const m of messages) expect(res.stderr).toContain(m);
  };
  const denied = (policy: string) =>
    `ValidatingAdmissionPolicy '${policy}' with binding '${policy}' denied request: `;
  const DECISIONS = denied('paddock-approval-decisions');
  const OPERATOR_WRITES = denied('paddock-operator-writes');
  /** paddock-operator-writes' message for `who` doing `what` (docs/approvals.md). */
  const onlyTheOperator = (who: string, what: string) =>
    `only the Paddock operator (${OPERATOR}) may ${what}; ${who} may not (docs/approvals.md)`;
  const CREATE_APPROVALS = 'create Approvals (an Approval is a request the operator makes for a gated step)';

  const get = (ns: string, name: string): ApprovalObj =>
    JSON.parse(env().kubectl(['get', 'approval', '-n', ns, name, '-o', 'json'])) as ApprovalObj;
  /** Sets spec.decisions to `decisions` (a JSON merge patch replaces the list), as `who`. */
  const setDecisions = (who: Who, ns: string, name: string, decisions: Decision[]): KubectlResult =>
    run(who, [
      'patch',
      'approval',
      '-n',
      ns,
      name,
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { decisions } }),
    ]);
  /** Appends one decision, the way kubectl paddock approve|reject does. */
  const decide = (who: Who, ns: string, name: string, d: Decision): KubectlResult =>
    setDecisions(who, ns, name, [...(get(ns, name).spec.decisions ?? []), d]);
  const approve = (who: Exclude<Who, 'admin' | 'operator' | 'gitops'>, ns: string, name: string) =>
    decide(who, ns, name, { user: who, decision: 'Approve', comment: 'looks right' });
  /** Writes status through the status subresource, as the operator does. */
  const setStatus = (ns: string, name: string, status: Record<string, unknown>, who: Who = 'operator') =>
    run(who, [
      'patch',
      'approval',
      '-n',
      ns,
      name,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status }),
    ]);
  const createApproval = (who: Who, manifest: string) => run(who, ['create', '-f', '-'], manifest);

  let release: { name: string; uid: string };

  beforeAll(async () => {
    const e = env();
    kubeconfigs.set('admin', e.kubeconfig);
    for (const u of ['alice', 'bob', 'carol', 'dave', 'grace'] as const)
      kubeconfigs.set(u, e.cluster.kubeconfigFor(u));
    kubeconfigs.set('operator', operatorKubeconfig(e)); // applies config/rbac
    e.kubectl(['apply', '--server-side', '-k', join(REPO_ROOT, 'config', 'admission')]);
    e.kubectl(['apply', '-f', '-'], RBAC);
    const token = e.kubectl(['create', 'token', 'flux', '-n', 'gitops']).trim();
    kubeconfigs.set('gitops', e.cluster.kubeconfigWithToken('kubeconfig-gitops', GITOPS, token));

    // Policies and bindings reach the API server's admission through informers: wait until each one
    // is enforced, and until the last RoleBinding is visible to the authorizer.
    await eventually(
      'paddock-approval-decisions to be enforced',
      () =>
        // As the operator: anyone else is refused by paddock-operator-writes too, and which of two refusing
        // policies the API server names is not defined.
        run(
          'operator',
          ['create', '--dry-run=server', '-f', '-'],
          approvalManifest(A, 'probe', { decisions: [{ user: 'bob', decision: 'Approve' }] }),
        ),
      (r) => r.stderr.includes('paddock-approval-decisions'),
    );
    await eventually(
      'paddock-operator-writes to be enforced',
      () => [
        run('admin', ['create', '--dry-run=server', '-f', '-'], approvalManifest(A, 'probe')),
        run('operator', ['create', '--dry-run=server', '-f', '-'], approvalManifest(A, 'probe')),
      ],
      ([admin, operator]) =>
        (admin?.stderr.includes(onlyTheOperator('paddock-admin', CREATE_APPROVALS)) ?? false) &&
        operator?.code === 0,
    );
    await eventually(
      'paddock-workflow-requester to be enforced',
      () =>
        run(
          'admin',
          ['create', '--dry-run=server', '-f', '-'],
          workflowManifest('probe', { requestedBy: 'nobody' }),
        ),
      (r) => r.stderr.includes('paddock-workflow-requester'),
    );
    ok(run('admin', ['create', '-f', '-'], workflowManifest('probe')));
    await eventually(
      'paddock-workflow-inputs to be enforced',
      () =>
        run('admin', [
          'patch',
          'pwf',
          '-n',
          A,
          'probe',
          '--dry-run=server',
          '--type=merge',
          '-p',
          '{"spec":{"inputs":{"repo":null,"url":"x"}}}',
        ]),
      (r) => r.stderr.includes('paddock-workflow-inputs'),
    );
    await eventually(
      'the RoleBindings to reach the authorizer',
      () => [
        run('bob', ['auth', 'can-i', 'approve', 'approvals.paddock.dev/b-one', '-n', B]).stdout.trim(),
        run('gitops', ['auth', 'can-i', 'create', 'workflows.paddock.dev', '-n', A]).stdout.trim(),
        run('grace', ['auth', 'can-i', 'create', 'approvals.paddock.dev', '-n', A]).stdout.trim(),
      ],
      (r) => r.every((x) => x === 'yes'),
    );
  });

  describe('Workflow requester (paddock-workflow-requester)', () => {
    it('alice creates a Workflow stamped with her own name', () => {
      ok(run('alice', ['create', '-f', '-'], workflowManifest('release', { requestedBy: 'alice' })));
      const wf = JSON.parse(env().kubectl(['get', 'pwf', '-n', A, 'release', '-o', 'json'])) as {
        metadata: { uid: string };
        spec: { requestedBy: string };
      };
      expect(wf.spec.requestedBy).toBe('alice');
      release = { name: 'release', uid: wf.metadata.uid };
    });

    it('refuses a Workflow whose requestedBy is not its creator', () => {
      refused(
        run('alice', ['create', '-f', '-'], workflowManifest('framed', { requestedBy: 'bob' })),
        denied('paddock-workflow-requester'),
        'spec.requestedBy must be the user creating the Workflow (alice), not bob',
      );
    });

    it('GitOps: its ServiceAccount may leave requestedBy out or stamp itself, never a person', () => {
      ok(run('gitops', ['create', '-f', '-'], workflowManifest('from-git')));
      ok(run('gitops', ['create', '-f', '-'], workflowManifest('from-git-stamped', { requestedBy: GITOPS })));
      refused(
        run('gitops', ['create', '-f', '-'], workflowManifest('from-git-alice', { requestedBy: 'alice' })),
        `spec.requestedBy must be the user creating the Workflow (${GITOPS}), not alice`,
      );
    });

    it('refuses changing, adding or removing requestedBy later, even for a cluster admin', () => {
      const patch = (name: string, value: string | null) =>
        run('admin', [
          'patch',
          'pwf',
          '-n',
          A,
          name,
          '--type=merge',
          '-p',
          JSON.stringify({ spec: { requestedBy: value } }),
        ]);
      refused(patch('release', 'bob'), 'spec.requestedBy is immutable');
      refused(patch('release', null), 'spec.requestedBy is immutable');
      refused(patch('from-git', 'paddock-admin'), 'spec.requestedBy is immutable');
    });
  });

  describe('Workflow inputs (paddock-workflow-inputs)', () => {
    it('refuses renaming a key of spec.inputs or spec.steps[].inputs (the CRD rules cannot see it)', () => {
      refused(
        run('alice', [
          'patch',
          'pwf',
          '-n',
          A,
          'release',
          '--type=merge',
          '-p',
          '{"spec":{"inputs":{"repo":null,"url":"https://github.com/acme/api"}}}',
        ]),
        denied('paddock-workflow-inputs'),
        'spec.inputs is immutable, including its keys',
      );
      refused(
        run('alice', [
          'patch',
          'pwf',
          '-n',
          A,
          'release',
          '--type=json',
          '-p',
          '[{"op":"move","from":"/spec/steps/0/inputs/repo","path":"/spec/steps/0/inputs/url"}]',
        ]),
        denied('paddock-workflow-inputs'),
        'spec.steps is immutable, including the keys of spec.steps[].inputs',
      );
    });

    it('still allows the run controls and the operator status writes', () => {
      ok(
        run('alice', [
          'patch',
          'pwf',
          '-n',
          A,
          'release',
          '--type=merge',
          '-p',
          '{"spec":{"suspend":false}}',
        ]),
      );
      ok(
        run('operator', [
          'patch',
          'pwf',
          '-n',
          A,
          'release',
          '--subresource=status',
          '--type=merge',
          '-p',
          JSON.stringify({
            status: {
              phase: 'WaitingForApproval',
              steps: [
                { name: 'deploy', phase: 'WaitingForApproval', approvalName: 'release-deploy-approval-1' },
              ],
            },
          }),
        ]),
      );
    });
  });

  describe('creating Approvals', () => {
    it('the operator creates an Approval owned by the Workflow, with no decisions', () => {
      ok(
        createApproval(
          'operator',
          approvalManifest(A, 'release-deploy-approval-1', {
            requestedBy: 'alice',
            required: 2,
            approvers: { groups: ['sre', 'dev'] },
            owner: release,
          }),
        ),
      );
      expect(get(A, 'release-deploy-approval-1').spec.decisions).toBeUndefined();
    });

    it('refuses a pre-decided Approval, from the operator or a cluster admin', () => {
      const manifest = approvalManifest(A, 'pre-approved', {
        decisions: [{ user: 'bob', decision: 'Approve' }],
      });
      for (const who of ['operator', 'admin'] as const) {
        refused(createApproval(who, manifest), DECISIONS, 'an Approval cannot be created with decisions');
      }
    });

    it('only the operator: the same create by a cluster admin or by a wildcard grant on paddock.dev is refused (paddock-operator-writes)', () => {
      const manifest = approvalManifest(A, 'release-deploy-approval-9', {
        requestedBy: 'alice',
        required: 2,
        approvers: { groups: ['sre', 'dev'] },
        owner: release,
      });
      // RBAC lets both through (admin: system:masters; grace: '*' on paddock.dev): the policy refuses.
      expect(run('grace', ['auth', 'can-i', 'create', 'approvals.paddock.dev', '-n', A]).stdout.trim()).toBe(
        'yes',
      );
      for (const [who, user] of [
        ['admin', 'paddock-admin'],
        ['grace', 'grace'],
      ] as const) {
        refused(createApproval(who, manifest), OPERATOR_WRITES, onlyTheOperator(user, CREATE_APPROVALS));
      }
      expect(run('admin', ['get', 'approval', '-n', A, 'release-deploy-approval-9']).code).not.toBe(0);
      // The operator's create of the very same object passes (a server dry run: nothing is kept).
      ok(run('operator', ['create', '--dry-run=server', '-f', '-'], manifest));
    });

    it('only the operator writes status: a cluster admin and a wildcard grant are refused (paddock-operator-writes)', () => {
      const patchStatus = (who: Who, resource: string, name: string, status: Record<string, unknown>) =>
        run(who, [
          'patch',
          resource,
          '-n',
          A,
          name,
          '--subresource=status',
          '--type=merge',
          '-p',
          JSON.stringify({ status }),
        ]);
      for (const [who, user] of [
        ['admin', 'paddock-admin'],
        ['grace', 'grace'],
      ] as const) {
        refused(
          patchStatus(who, 'pwf', 'release', { phase: 'Succeeded' }),
          OPERATOR_WRITES,
          onlyTheOperator(user, 'write the status of workflows'),
        );
        refused(
          patchStatus(who, 'approval', 'release-deploy-approval-1', { phase: 'Pending' }),
          OPERATOR_WRITES,
          onlyTheOperator(user, 'write the status of approvals'),
        );
      }
      expect(get(A, 'release-deploy-approval-1').status?.phase).toBeUndefined();
      const wf = JSON.parse(env().kubectl(['get', 'pwf', '-n', A, 'release', '-o', 'json'])) as {
        status?: { phase?: string };
      };
      expect(wf.status?.phase).toBe('WaitingForApproval');
      // The operator's own write of the same status passes.
      ok(patchStatus('operator', 'approval', 'release-deploy-approval-1', { phase: 'Pending' }));
      expect(get(A, 'release-deploy-approval-1').status?.phase).toBe('Pending');
    });

    it('people cannot create Approvals, nor the operator decide one', () => {
      refused(createApproval('bob', approvalManifest(A, 'self-made')), 'cannot create resource "approvals"');
      refused(
        decide('operator', A, 'release-deploy-approval-1', { user: 'bob', decision: 'Approve' }),
        'cannot patch resource "approvals"',
      );
    });
  });

  describe('deciding (paddock-approval-decisions)', () => {
    const NAME = 'release-deploy-approval-1';

    it('refuses a decision in another user’s name', () => {
      refused(
        decide('bob', A, NAME, { user: 'carol', decision: 'Approve' }),
        DECISIONS,
        'a decision can only be made in your own name: spec.decisions[].user must be bob, not carol',
      );
    });

    it('refuses approving without the approve verb (update alone is not enough)', () => {
      refused(
        approve('dave', A, NAME),
        DECISIONS,
        `user dave may not decide Approval ${A}/${NAME}: deciding needs the RBAC verb "approve"`,
      );
    });

    it('refuses the requester approving their own request (separation of duties)', () => {
      // The CRD refuses it first (spec.requestedBy cannot approve); the policy says the same.
      refused(approve('alice', A, NAME), 'cannot approve their own request');
    });

    it('refuses two decisions in one update', () => {
      refused(
        setDecisions('bob', A, NAME, [
          { user: 'bob', decision: 'Approve' },
          { user: 'carol', decision: 'Approve' },
        ]),
        DECISIONS,
        'at most one decision can be added per update, and only your own (2 added)',
      );
    });

    it('bob (sre, approve granted in team-a) appends his Approve', () => {
      ok(approve('bob', A, NAME));
      expect(get(A, NAME).spec.decisions).toEqual([
        { user: 'bob', decision: 'Approve', comment: 'looks right' },
      ]);
    });

    it('refuses editing or removing an existing decision, even by its author', () => {
      const appendOnly =
        'spec.decisions is append-only: existing decisions cannot be changed, removed or reordered';
      refused(setDecisions('bob', A, NAME, [{ user: 'bob', decision: 'Reject' }]), appendOnly);
      refused(setDecisions('carol', A, NAME, [{ user: 'carol', decision: 'Approve' }]), appendOnly);
      refused(setDecisions('bob', A, NAME, []), 'append-only');
      refused(
        run('admin', [
          'patch',
          'approval',
          '-n',
          A,
          NAME,
          '--type=json',
          '-p',
          '[{"op":"remove","path":"/spec/decisions"}]',
        ]),
        'append-only',
      );
    });

    it('refuses changing the request, its digest or an input key alongside a decision', () => {
      const withDecision = (request: Record<string, unknown>) =>
        run('carol', [
          'patch',
          'approval',
          '-n',
          A,
          NAME,
          '--type=merge',
          '-p',
          JSON.stringify({
            spec: {
              request,
              decisions: [
                { user: 'bob', decision: 'Approve', comment: 'looks right' },
                { user: 'carol', decision: 'Approve' },
              ],
            },
          }),
        ]);
      refused(withDecision({ digest: `hmac-sha256:${'f'.repeat(64)}` }), 'spec.request is immutable');
      refused(withDecision({ image: 'evil.example/agent:latest' }), 'spec.request is immutable');
      // A renamed key of the free-form inputs passes the CRD rule; the policy compares the JSON exactly.
      refused(
        withDecision({ inputs: { token: null, secret: '<redacted>' } }),
        DECISIONS,
        'only spec.decisions of an Approval can change; changed: spec.request',
      );
      expect(get(A, NAME).spec.decisions).toHaveLength(1);
    });

    it('carol appends hers after bob (2 of N), and the operator marks it Approved', () => {
      // Server-side apply of only her own entry, with her own field manager (as kubectl paddock does).
      const { uid } = get(A, NAME).metadata;
      ok(
        run(
          'carol',
          ['apply', '--server-side', '--field-manager=kubectl-paddock-carol', '-f', '-'],
          JSON.stringify({
            apiVersion: 'paddock.dev/v1alpha1',
            kind: 'Approval',
            metadata: { name: NAME, namespace: A, uid },
            spec: { decisions: [{ user: 'carol', decision: 'Approve' }] },
          }),
        ),
      );
      expect(get(A, NAME).spec.decisions?.map((d) => d.user)).toEqual(['bob', 'carol']);
      ok(
        setStatus(A, NAME, {
          phase: 'Approved',
          approvedBy: ['bob', 'carol'],
          decidedBy: 'carol',
          reason: 'Approved',
        }),
      );
      expect(get(A, NAME).status?.phase).toBe('Approved');
    });

    it('refuses a user outside the approver groups, though they hold the approve verb', () => {
      ok(
        createApproval(
          'operator',
          approvalManifest(A, 'scan-gate-approval-1', {
            requestedBy: 'carol',
            approvers: { groups: ['sre'] },
          }),
        ),
      );
      refused(
        approve('alice', A, 'scan-gate-approval-1'),
        DECISIONS,
        `user alice is not an approver of Approval ${A}/scan-gate-approval-1: spec.policy.approvers lists users [] and groups [sre]`,
      );
    });

    it('alice may reject her own request', () => {
      ok(
        createApproval('operator', approvalManifest(A, 'hotfix-deploy-approval-1', { requestedBy: 'alice' })),
      );
      ok(
        decide('alice', A, 'hotfix-deploy-approval-1', {
          user: 'alice',
          decision: 'Reject',
          comment: 'wrong branch',
        }),
      );
      ok(
        setStatus(A, 'hotfix-deploy-approval-1', {
          phase: 'Rejected',
          rejectedBy: ['alice'],
          decidedBy: 'alice',
        }),
      );
    });

    it('refuses the retry requester approving the request their retry made; they may reject, others approve', () => {
      const NAME = 'retried-deploy-approval-2';
      ok(
        createApproval(
          'operator',
          approvalManifest(A, NAME, {
            requestedBy: 'alice',
            retryRequestedBy: 'bob',
            approvers: { groups: ['sre'] },
          }),
        ),
      );
      // The CRD refuses it first (spec.retryRequestedBy cannot approve); the policy says the same
      // ("the policy alone", below).
      refused(
        approve('bob', A, NAME),
        'the retry requester (spec.retryRequestedBy) cannot approve the request their retry made',
      );
      expect(get(A, NAME).spec.decisions).toBeUndefined();
      // bob may still veto (a server dry run: nothing is kept).
      ok(
        run('bob', [
          'patch',
          'approval',
          '-n',
          A,
          NAME,
          '--dry-run=server',
          '--type=merge',
          '-p',
          JSON.stringify({ spec: { decisions: [{ user: 'bob', decision: 'Reject', comment: 'not yet' }] } }),
        ]),
      );
      ok(approve('carol', A, NAME));
      expect(get(A, NAME).spec.decisions?.map((d) => [d.user, d.decision])).toEqual([['carol', 'Approve']]);
    });
  });

  describe('metadata that ties an Approval to its run', () => {
    it('refuses pointing an Approval at another Workflow run (owner references), even for a cluster admin', () => {
      const uid = env().kubectl(['get', 'pwf', '-n', A, 'from-git', '-o', 'jsonpath={.metadata.uid}']).trim();
      const repoint = (who: Who) =>
        run(who, [
          'patch',
          'approval',
          '-n',
          A,
          'hotfix-deploy-approval-1',
          '--type=merge',
          '-p',
          JSON.stringify({
            metadata: {
              ownerReferences: [
                {
                  apiVersion: 'paddock.dev/v1alpha1',
                  kind: 'Workflow',
                  name: 'from-git',
                  uid,
                  controller: true,
                },
              ],
            },
          }),
        ]);
      for (const who of ['bob', 'admin'] as const) {
        refused(
          repoint(who),
          DECISIONS,
          `metadata.ownerReferences of Approval ${A}/hotfix-deploy-approval-1 cannot be added or changed`,
        );
      }
    });
  });

  describe('namespace and resourceNames scoping of the approve verb', () => {
    beforeAll(() => {
      for (const name of ['b-one', 'b-two'])
        ok(createApproval('operator', approvalManifest(B, name, { requestedBy: 'alice' })));
    });

    it('refuses carol in team-b, where her approver grant (a team-a RoleBinding) does not reach', () => {
      refused(
        approve('carol', B, 'b-one'),
        DECISIONS,
        `user carol may not decide Approval ${B}/b-one: deciding needs the RBAC verb "approve" on approvals.paddock.dev in namespace ${B}`,
      );
    });

    it('refuses bob on an Approval his resourceNames grant does not name', () => {
      refused(approve('bob', B, 'b-two'), DECISIONS, `user bob may not decide Approval ${B}/b-two`);
    });

    it('bob approves the one Approval his resourceNames grant names', () => {
      ok(approve('bob', B, 'b-one'));
    });

    it('dave, without any grant in team-b, is refused by RBAC before admission', () => {
      refused(approve('dave', B, 'b-one'), 'User "dave" cannot', `in the namespace "${B}"`);
    });
  });

  describe('decided Approvals are final', () => {
    // Approved (2 of 2), Rejected (by alice), then Expired and Superseded below.
    const decidedRefusal = 'spec is immutable once the Approval is decided';

    it('refuses deciding an Approved or a Rejected Approval', () => {
      refused(
        decide('alice', A, 'release-deploy-approval-1', { user: 'alice', decision: 'Reject' }),
        decidedRefusal,
      );
      refused(approve('bob', A, 'hotfix-deploy-approval-1'), decidedRefusal);
    });

    it('refuses a decision the API server receives after spec.policy.expiresAt, before the operator marks it Expired', () => {
      // CEL has no clock; the policy reads the time the API server stamps in metadata.managedFields.
      ok(
        createApproval(
          'operator',
          approvalManifest(A, 'late-approval-1', { requestedBy: 'alice', expiresAt: '2020-01-01T00:00:00Z' }),
        ),
      );
      refused(
        approve('bob', A, 'late-approval-1'),
        DECISIONS,
        `Approval ${A}/late-approval-1 expired at 2020-01-01T00:00:00Z: it takes no more decisions`,
      );
      // Stripping managedFields (to hide the time) is refused, with or without a decision.
      refused(
        run('bob', [
          'patch',
          'approval',
          '-n',
          A,
          'late-approval-1',
          '--type=merge',
          '-p',
          '{"metadata":{"managedFields":[{}]}}',
        ]),
        DECISIONS,
        `metadata.managedFields of Approval ${A}/late-approval-1 cannot be removed`,
      );
    });

    it('refuses deciding an Expired Approval', () => {
      ok(setStatus(A, 'scan-gate-approval-1', { phase: 'Expired', reason: 'Expired' }));
      refused(approve('bob', A, 'scan-gate-approval-1'), decidedRefusal);
    });

    it('the operator supersedes an Approved Approval; the Superseded one takes no decision', () => {
      // The Agent changed after approval: a new Approval asks again, the old one points to it.
      ok(
        createApproval(
          'operator',
          approvalManifest(A, 'release-deploy-approval-2', {
            requestedBy: 'alice',
            required: 2,
            approvers: { groups: ['sre', 'dev'] },
            owner: release,
          }),
        ),
      );
      ok(
        setStatus(A, 'release-deploy-approval-1', {
          phase: 'Superseded',
          supersededBy: 'release-deploy-approval-2',
        }),
      );
      refused(approve('bob', A, 'release-deploy-approval-1'), decidedRefusal);
      ok(approve('bob', A, 'release-deploy-approval-2'));
    });

    it('status.phase only moves Pending -> any, Approved -> Superseded; Approved needs the decisions', () => {
      const phaseFinal = 'status.phase cannot change once the Approval is decided';
      refused(setStatus(A, 'release-deploy-approval-1', { phase: 'Approved' }), phaseFinal);
      refused(setStatus(A, 'hotfix-deploy-approval-1', { phase: 'Approved' }), phaseFinal);
      refused(setStatus(A, 'scan-gate-approval-1', { phase: 'Pending' }), phaseFinal);
      refused(
        run('operator', [
          'patch',
          'approval',
          '-n',
          A,
          'scan-gate-approval-1',
          '--subresource=status',
          '--type=json',
          '-p',
          '[{"op":"remove","path":"/status/phase"}]',
        ]),
        'status.phase cannot be removed once set',
      );
      // Not even the operator (or an admin writing status) can mark Approved without enough Approve decisions.
      const needs = 'status.phase Approved needs at least spec.policy.required Approve decisions';
      refused(setStatus(A, 'release-deploy-approval-2', { phase: 'Approved', approvedBy: ['bob'] }), needs);
      refused(setStatus(B, 'b-two', { phase: 'Approved' }, 'admin'), needs);
      refused(setStatus(B, 'b-one', { phase: 'Approved', approvedBy: ['mallory'] }), needs);
      ok(setStatus(B, 'b-one', { phase: 'Approved', approvedBy: ['bob'] }));
    });
  });
  describe('optional: config/admission/require-requester', () => {
    it('refuses a Workflow without spec.requestedBy, so nobody can approve their own run by leaving it out', async () => {
      env().kubectl([
        'apply',
        '--server-side',
        '-k',
        join(REPO_ROOT, 'config', 'admission', 'require-requester'),
      ]);
      const policy = denied('paddock-workflow-requester-required');
      const res = await eventually(
        'paddock-workflow-requester-required to be enforced',
        () => run('alice', ['create', '--dry-run=server', '-f', '-'], workflowManifest('unstamped')),
        (r) => r.stderr.includes(policy),
      );
      refused(
        res,
        policy,
        'spec.requestedBy is required in this cluster: set it to your own username (alice)',
      );
      ok(
        run(
          'alice',
          ['create', '--dry-run=server', '-f', '-'],
          workflowManifest('stamped', { requestedBy: 'alice' }),
        ),
      );
      ok(
        run(
          'gitops',
          ['create', '--dry-run=server', '-f', '-'],
          workflowManifest('stamped', { requestedBy: GITOPS }),
        ),
      );
    });
  });

  // The CRD rules refuse a requester's or retry requester's Approve before admission runs, so the
  // policy's own separation-of-duties checks are seen here with those CRD rules taken out (as an
  // older or edited CRD would have them), then the real CRD is put back.
  describe('the policy alone: separation of duties without the CRD rules', () => {
    const crdFile = join(REPO_ROOT, 'crds', 'approvals.paddock.dev.yaml');
    const applyCrd = (crd: unknown) =>
      env().kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], JSON.stringify(crd));
    const approveDry = (who: 'alice' | 'bob' | 'carol', name: string) =>
      run(who, [
        'patch',
        'approval',
        '-n',
        A,
        name,
        '--dry-run=server',
        '--type=merge',
        '-p',
        JSON.stringify({ spec: { decisions: [{ user: who, decision: 'Approve' }] } }),
      ]);

    beforeAll(async () => {
      ok(
        createApproval('operator', approvalManifest(A, 'sod-requester-approval-1', { requestedBy: 'alice' })),
      );
      ok(
        createApproval(
          'operator',
          approvalManifest(A, 'sod-retry-approval-2', { requestedBy: 'alice', retryRequestedBy: 'bob' }),
        ),
      );
      const crd = parse(readFileSync(crdFile, 'utf8')) as {
        spec: {
          versions: Array<{
            schema: {
              openAPIV3Schema: {
                properties: { spec: { 'x-kubernetes-validations': Array<{ message: string }> } };
              };
            };
          }>;
        };
      };
      const spec = crd.spec.versions[0]!.schema.openAPIV3Schema.properties.spec;
      const before = spec['x-kubernetes-validations'].length;
      spec['x-kubernetes-validations'] = spec['x-kubernetes-validations'].filter(
        (r) => !r.message.includes('cannot approve'),
      );
      expect(before - spec['x-kubernetes-validations'].length).toBe(2);
      applyCrd(crd);
      await eventually(
        'the Approval CRD without its separation-of-duties rules to be served',
        () => approveDry('alice', 'sod-requester-approval-1'),
        (r) => r.stderr.includes(DECISIONS),
      );
    });
    afterAll(async () => {
      applyCrd(parse(readFileSync(crdFile, 'utf8')));
      await eventually(
        'the real Approval CRD to be served again',
        () => approveDry('alice', 'sod-requester-approval-1'),
        (r) => r.stderr.includes('cannot approve their own request') && !r.stderr.includes(DECISIONS),
      );
    });

    it('refuses the requester approving their own request', () => {
      refused(
        approveDry('alice', 'sod-requester-approval-1'),
        DECISIONS,
        'separation of duties: alice requested this run (spec.requestedBy) and cannot approve it (rejecting it is allowed)',
      );
    });

    it('refuses the retry requester approving the request their retry made', () => {
      refused(
        approveDry('bob', 'sod-retry-approval-2'),
        DECISIONS,
        'separation of duties: bob asked for the retry of this run (spec.retryRequestedBy) and cannot approve' +
          ' the request it made (rejecting it is allowed)',
      );
      // Only the retry requester: another approver's Approve of the same request passes.
      ok(approveDry('carol', 'sod-retry-approval-2'));
    });
  });
});
