// `kubectl paddock` (cli/) against a real API server, run as a child process exactly as kubectl
// runs a plugin, each time with one person's own kubeconfig (static-token users, cluster/src/users.ts).
// The Approvals are created as the operator creates them (no decisions), by the operator's own
// ServiceAccount under config/rbac: paddock-operator-writes (config/admission) refuses everyone else,
// cluster admins and wildcard grants included. No operator runs here, so nothing marks them Invalid
// for lacking its signature. bob and carol (group sre) hold a Role on approvals with the `approve`
// verb; alice (the requester) may read and patch but not approve; dave has no grant at all; grace
// (group platform) holds every verb on paddock.dev. Assertions are on the plugin's output and exit
// code and on what the API server then stores.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDecision, decisionApply, type ApprovalView } from '../../cli/lib/approval.ts';
import { explain } from '../../cli/lib/errors.ts';
import { REPO_ROOT } from '../../cluster/src/paths.ts';
import { APPROVAL } from '../../operator/src/api/constants.ts';
import { KubeClient } from '../../operator/src/kube/client.ts';
import { useCluster } from './support/cluster.ts';
import { kubectl } from './support/kubectl.ts';
import { OPERATOR_NAMESPACE, OPERATOR_SA, operatorKubeconfig } from './support/operator.ts';
import { eventually } from './support/wait.ts';

const NS = 'team-a';
const BIN = join(REPO_ROOT, 'cli', 'bin', 'kubectl-paddock.mjs');
const ADMISSION = join(REPO_ROOT, 'config', 'admission');
const DIGEST = (c: string): string => `hmac-sha256:${c.repeat(64)}`;
const OPERATOR = `system:serviceaccount:${OPERATOR_NAMESPACE}:${OPERATOR_SA}`;

type Person = 'alice' | 'bob' | 'carol' | 'dave';

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
kind: Role
metadata: {name: approval-deciders, namespace: ${NS}}
rules:
  - {apiGroups: [paddock.dev], resources: [approvals], verbs: [get, list, watch, patch, update, approve]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: approval-deciders, namespace: ${NS}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: approval-deciders}
subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: User, name: bob}
  - {apiGroup: rbac.authorization.k8s.io, kind: User, name: carol}
---
# alice may read and patch approvals but was never granted the approve verb.
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: approval-writers, namespace: ${NS}}
rules:
  - {apiGroups: [paddock.dev], resources: [approvals], verbs: [get, list, patch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: approval-writers, namespace: ${NS}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: approval-writers}
subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}
---
# grace (group platform) holds every right RBAC can give on paddock.dev here.
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: paddock-everything, namespace: ${NS}}
rules:
  - {apiGroups: [paddock.dev], resources: ['*'], verbs: ['*']}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: platform-everything, namespace: ${NS}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: paddock-everything}
subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: Group, name: platform}
`;

/** An Approval as the operator creates it: no decisions, requested by alice, 2 approvers from sre. */
function approvalObject(
  name: string,
  o: { inputs?: Record<string, unknown>; image?: string; users?: string[]; step?: string } = {},
): ApprovalView {
  return {
    apiVersion: 'paddock.dev/v1alpha1',
    kind: 'Approval',
    metadata: { name, namespace: NS },
    spec: {
      workflowRef: { name: 'release' },
      step: o.step ?? 'deploy',
      request: {
        agent: 'deployer',
        agentGeneration: 2,
        image: o.image ?? 'ghcr.io/acme/deployer:1.3.0',
        capabilities: ['network', 'kubectl-apply'],
        inputs: o.inputs ?? { env: 'prod', replicas: 5, token: '<redacted>' },
        digest: DIGEST('b'),
      },
      policy: {
        required: 2,
        approvers: o.users ? { users: o.users } : { groups: ['sre'] },
        expiresAt: new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      },
      requestedBy: 'alice',
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

describe('kubectl paddock on a real API server', () => {
  const env = useCluster({ nodes: 1 });
  const kubeconfigs = new Map<Person, string>();
  const as = (who: Person, ...args: string[]): Promise<Run> => {
    const kc = kubeconfigs.get(who);
    if (!kc) throw new Error(`no kubeconfig for ${who}`);
    return plugin(kc, args);
  };
  const get = (name: string): Promise<ApprovalView> => env().admin.get<ApprovalView>(APPROVAL, NS, name);
  /** The operator's ServiceAccount: the only one paddock-operator-writes lets create Approvals. */
  let operator: KubeClient | undefined;
  const asOperator = (): KubeClient => {
    if (!operator) throw new Error('no operator client');
    return operator;
  };
  const create = (a: ApprovalView): Promise<ApprovalView> => asOperator().create<ApprovalView>(APPROVAL, a);
  const operatorWrites = (who: string) =>
    "ValidatingAdmissionPolicy 'paddock-operator-writes' with binding 'paddock-operator-writes' denied request: " +
    `only the Paddock operator (${OPERATOR}) may create Approvals (an Approval is a request the operator makes for a gated step); ${who} may not`;

  const PREV = 'release-deploy-approval-1';
  const CUR = 'release-deploy-approval-2';

  beforeAll(async () => {
    const e = env();
    for (const u of ['alice', 'bob', 'carol', 'dave'] as const)
      kubeconfigs.set(u, e.cluster.kubeconfigFor(u));
    e.kubectl(['apply', '-f', '-'], RBAC);
    operator = KubeClient.load(operatorKubeconfig(e)); // applies config/rbac and the operator's namespace
    // The superseded chain: approval-1 asked with other inputs and image; approval-2 replaces it.
    await create(
      approvalObject(PREV, {
        inputs: { env: 'staging', replicas: 3, token: '<redacted>' },
        image: 'ghcr.io/acme/deployer:1.2.0',
      }),
    );
    await asOperator().patch(
      APPROVAL,
      NS,
      PREV,
      {
        status: {
          phase: 'Superseded',
          supersededBy: CUR,
          reason: 'RequestChanged',
          message: 'the inputs changed',
        },
      },
      'merge',
      { subresource: 'status' },
    );
    await create(approvalObject(CUR));
    e.kubectl(['apply', '--server-side', '-k', ADMISSION]);
    // Policies reach admission through informers: wait until the decisions policy refuses the
    // operator a pre-decided Approval, and paddock-operator-writes refuses the admin any.
    const probe = JSON.stringify({
      ...approvalObject('probe'),
      spec: { ...approvalObject('probe').spec, decisions: [{ user: 'bob', decision: 'Approve' }] },
    });
    const dryRun = (args: readonly string[], manifest: string) =>
      kubectl(e.kubeconfig, ['create', '--dry-run=server', '-f', '-', ...args], manifest);
    await eventually(
      'the approval admission policies to be enforced',
      () => [dryRun([`--as=${OPERATOR}`], probe), dryRun([], JSON.stringify(approvalObject('probe')))],
      ([decided, byAdmin]) =>
        (decided?.stderr.includes("ValidatingAdmissionPolicy 'paddock-approval-decisions'") ?? false) &&
        (byAdmin?.stderr.includes(operatorWrites('paddock-admin')) ?? false),
    );
    // RoleBindings reach the authorizer through an informer too.
    await eventually(
      'bob to be allowed to read approvals',
      () => as('bob', 'list', '-n', NS),
      (r) => r.code === 0,
    );
  });

  afterAll(() => operator?.close());

  it('whoami: the username and groups the API server authenticated', async () => {
    const r = await as('bob', 'whoami');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Username\s+bob$/m);
    expect(r.stdout).toMatch(/^Groups\s+\[sre system:authenticated\]$/m);
  });

  it('list: the pending approval with its columns; --all adds decided ones; -A needs cluster-wide RBAC', async () => {
    const r = await as('bob', 'list', '-n', NS);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^NAME\s+AGE\s+WORKFLOW\s+STEP\s+AGENT\s+CAPABILITIES\s+REQUIRED\s+EXPIRES IN\s+REQUESTED BY$/,
    );
    expect(lines).toHaveLength(2); // the Superseded approval-1 is not pending
    expect(lines[1]).toMatch(
      new RegExp(
        `^${CUR}\\s+\\d+s\\s+release\\s+deploy\\s+deployer\\s+network,kubectl-apply\\s+0/2\\s+(59|60)m\\s+alice$`,
      ),
    );
    const all = await as('bob', 'list', '-n', NS, '--all');
    expect(all.stdout).toMatch(new RegExp(`^${PREV}\\s+Superseded\\s+`, 'm'));
    const names = await as('bob', 'list', '-n', NS, '-o', 'name');
    expect(names.stdout).toBe(`approval.paddock.dev/${CUR}\n`);
    const cluster = await as('bob', 'list', '-A');
    expect(cluster.code).toBe(1);
    expect(cluster.stderr).toContain(
      'cannot list resource "approvals" in API group "paddock.dev" at the cluster scope',
    );
    expect(cluster.stderr).toContain('-A needs a ClusterRoleBinding');
  });

  it('approve as bob appends exactly his decision, under his own field manager', async () => {
    const r = await as('bob', 'approve', CUR, '-n', NS, '-m', 'lgtm');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`approval.paddock.dev/${CUR} approved by bob (1/2 approvals)\n`);
    const a = await get(CUR);
    expect(a.spec.decisions).toEqual([
      {
        user: 'bob',
        decision: 'Approve',
        comment: 'lgtm',
        at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/) as string,
      },
    ]);
    const managers = (a.metadata.managedFields ?? []) as Array<{ manager: string; fieldsV1?: unknown }>;
    const bobs = managers.find((m) => m.manager === 'kubectl-paddock-bob');
    expect(JSON.stringify(bobs?.fieldsV1)).toContain('k:{\\"user\\":\\"bob\\"}');
  });

  it('reject as carol appends hers after bob’s, leaving his untouched', async () => {
    const before = (await get(CUR)).spec.decisions ?? [];
    const r = await as('carol', 'reject', CUR, '-n', NS, '-m', 'no');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`approval.paddock.dev/${CUR} rejected by carol (1/2 approvals, 1 rejected)\n`);
    const after = (await get(CUR)).spec.decisions ?? [];
    expect(after).toHaveLength(2);
    expect(after[0]).toEqual(before[0]);
    expect(after[1]).toMatchObject({ user: 'carol', decision: 'Reject', comment: 'no' });
  });

  it('describe shows the request, inputs, the diff against the superseded approval, and both decisions', async () => {
    const r = await as('bob', 'describe', CUR, '-n', NS);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Name:         ${CUR}\n`);
    expect(r.stdout).toContain('  Agent:        deployer (generation 2)\n');
    expect(r.stdout).toContain('  Capabilities: network, kubectl-apply\n');
    expect(r.stdout).toContain(`  Digest:       ${DIGEST('b')}\n`);
    expect(r.stdout).toContain('Requested By: alice\n');
    expect(r.stdout).toContain('    "token": "<redacted>"\n');
    expect(r.stdout).toContain(`Changes since ${PREV} (Superseded):\n`);
    expect(r.stdout).toContain(
      '  -  "image": "ghcr.io/acme/deployer:1.2.0",\n  +  "image": "ghcr.io/acme/deployer:1.3.0",\n',
    );
    expect(r.stdout).toContain(
      [
        '  -    "env": "staging",',
        '  -    "replicas": 3,',
        '  +    "env": "prod",',
        '  +    "replicas": 5,',
        '       "token": "<redacted>"',
      ].join('\n'),
    );
    expect(r.stdout).toContain('Decisions (1/2 approvals, 1 rejected):\n');
    expect(r.stdout).toMatch(/^ {2}bob\s+Approve\s+\S+ \(\d+s ago\)\s+lgtm$/m);
    expect(r.stdout).toMatch(/^ {2}carol\s+Reject\s+\S+ \(\d+s ago\)\s+no$/m);
  });

  it('deciding twice is refused before anything is written', async () => {
    const before = await get(CUR);
    const r = await as('bob', 'approve', CUR, '-n', NS, '-m', 'again');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      new RegExp(
        `^error: you \\(bob\\) already decided approval ${CUR}: Approve at \\S+ \\("lgtm"\\); decisions are final\\n$`,
      ),
    );
    expect((await get(CUR)).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it('a decided approval: its phase and who decided', async () => {
    const r = await as('bob', 'approve', PREV, '-n', NS);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `approval ${PREV} is Superseded: the inputs changed; the request changed, decide approval ${CUR} instead`,
    );
  });

  it('dave, with no grant, gets the RBAC refusal and what to ask for', async () => {
    const r = await as('dave', 'approve', CUR, '-n', NS, '-m', 'sure');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `Error from server (Forbidden): approvals.paddock.dev "${CUR}" is forbidden: User "dave" cannot get resource "approvals"`,
    );
    expect(r.stderr).toContain('plus the custom "approve" verb');
    const missing = await as('bob', 'describe', 'nope', '-n', NS);
    expect(missing).toEqual({
      code: 1,
      stdout: '',
      stderr: `error: approval nope not found in namespace ${NS}\n`,
    });
  });

  it('the requester cannot approve: the API server says so and the plugin prints it', async () => {
    await create(approvalObject('release-deploy-approval-3', { step: 'migrate' }));
    const r = await as('alice', 'approve', 'release-deploy-approval-3', '-n', NS, '-m', 'mine');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error from server \((Invalid|Forbidden)\): /);
    expect(r.stderr).toMatch(/requester|separation of duties/);
    expect((await get('release-deploy-approval-3')).spec.decisions).toBeUndefined();
  });

  it('two approvers deciding at the same moment both land (no lost update, no conflict)', async () => {
    await create(approvalObject('release-verify-approval-1', { step: 'verify' }));
    const [b, c] = await Promise.all([
      as('bob', 'approve', 'release-verify-approval-1', '-n', NS, '-m', 'b'),
      as('carol', 'approve', 'release-verify-approval-1', '-n', NS, '-m', 'c'),
    ]);
    expect([b.code, b.stderr, c.code, c.stderr]).toEqual([0, '', 0, '']);
    const users = ((await get('release-verify-approval-1')).spec.decisions ?? []).map((d) => d.user).sort();
    expect(users).toEqual(['bob', 'carol']);
  });

  it('a decision never lands on a deleted-and-recreated approval of the same name (uid precondition)', async () => {
    const name = 'release-canary-approval-1';
    const stale = await create(approvalObject(name, { step: 'canary' }));
    await env().admin.delete(APPROVAL, NS, name);
    const bob = KubeClient.load(kubeconfigs.get('bob'));
    try {
      const body = decisionApply(stale, buildDecision('bob', 'Approve', 'x', new Date()));
      // Gone: server-side apply must not create it from the decision alone.
      const gone = await bob
        .apply(APPROVAL, body, { fieldManager: 'kubectl-paddock-bob' })
        .catch((e: unknown) => e);
      expect(explain(gone, { action: 'decide', namespace: NS, name })).toContain('was deleted or replaced');
      // Re-created under the same name: a different object, refused too.
      await create(approvalObject(name, { step: 'canary' }));
      const replaced = await bob
        .apply(APPROVAL, body, { fieldManager: 'kubectl-paddock-bob' })
        .catch((e: unknown) => e);
      expect(explain(replaced, { action: 'decide', namespace: NS, name })).toContain(
        'was deleted or replaced',
      );
      expect((await get(name)).spec.decisions).toBeUndefined();
    } finally {
      bob.close();
    }
  });

  describe('with the admission policies of config/admission', () => {
    it('Approvals come from the operator only: the same create by a cluster admin or a wildcard grant is refused', async () => {
      const approval = approvalObject('release-smoke-approval-1', { step: 'smoke' });
      const admin = await env()
        .admin.create<ApprovalView>(APPROVAL, approval)
        .catch((err: unknown) => err);
      expect(String(admin)).toContain(operatorWrites('paddock-admin'));
      // grace's '*' on paddock.dev includes create: RBAC lets her through, the policy does not.
      const grace = KubeClient.load(env().cluster.kubeconfigFor('grace'));
      try {
        const r = await grace.create<ApprovalView>(APPROVAL, approval).catch((err: unknown) => err);
        expect(String(r)).toContain(operatorWrites('grace'));
      } finally {
        grace.close();
      }
      await expect(get('release-smoke-approval-1')).rejects.toThrow(/404/);
      // The operator's create of the same Approval is admitted.
      expect((await create(approval)).metadata.name).toBe('release-smoke-approval-1');
    });

    it('a decision the policy refuses prints the policy’s message (requester rejecting without the approve verb)', async () => {
      const r = await as('alice', 'reject', 'release-deploy-approval-3', '-n', NS, '-m', 'not yet');
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /^Error from server \(Forbidden\): .*ValidatingAdmissionPolicy '[^']+' with binding '[^']+' denied request: /,
      );
      expect(r.stderr).toContain('approve');
      expect(r.stderr).not.toContain('hint:'); // not mistaken for an RBAC refusal
      expect((await get('release-deploy-approval-3')).spec.decisions).toBeUndefined();
    });

    it('an approver not listed in spec.policy.approvers is refused by the policy', async () => {
      await create(approvalObject('release-rollback-approval-1', { step: 'rollback', users: ['erin'] }));
      const r = await as('carol', 'approve', 'release-rollback-approval-1', '-n', NS, '-m', 'ok');
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /^Error from server \(Forbidden\): .*ValidatingAdmissionPolicy .*denied request: /,
      );
      expect(r.stderr).toContain('carol');
      expect((await get('release-rollback-approval-1')).spec.decisions).toBeUndefined();
    });
  });
});
