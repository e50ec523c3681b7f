// References the operator follows with its own rights (docs/security.md): the paddock-references
// admission policy (config/admission/references.yaml) on a real API server. An Agent may only name
// Secrets its author may `get`; a Workflow may only name Agents its author may `get`. Every action is
// made by a real, distinct user with their own kubeconfig: people authenticated by client certificates
// (erin, frank, grace) and by static tokens (alice, bob, dave), and a ServiceAccount standing in for a
// GitOps controller. The assertions are on what the API server answers, and, with the operator running
// under its own ServiceAccount (which may read no Secret), on the status it still writes.
//
// Who is who in namespace team-a (none of them holds anything outside it):
//   frank  (certificate, no groups)   paddock-editor; reads no Secret
//   erin   (certificate, group sre)   paddock-editor; may get the one Secret db-password (resourceNames)
//   dave   (token, no groups)         paddock-editor; may get api-token only, and s00..s16 (limit tests)
//   grace  (certificate, platform)    every verb on every resource of paddock.dev (wildcards); no Secret
//   bob    (token, group sre)         runs Workflows, and may get the Agent scanner only (resourceNames)
//   alice  (token, group dev)         paddock-editor; may get every Secret of team-a
//   gitops (ServiceAccount)           paddock-editor only, as an Argo CD / Flux controller often has
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../cluster/src/paths.ts';
import { AGENT, WORKFLOW } from '../../operator/src/api/constants.ts';
import type { Agent, Workflow } from '../../operator/src/api/generated/index.ts';
import { testAgent } from './support/agents.ts';
import { useCluster } from './support/cluster.ts';
import { kubectl, type KubectlResult } from './support/kubectl.ts';
import { OperatorProcess, operatorKubeconfig, OPERATOR_NAMESPACE, OPERATOR_SA } from './support/operator.ts';
import { eventually } from './support/wait.ts';
import { podsOf, restrictedNamespace, simAgent, waitForPhase, workflow } from './support/workflows.ts';

const NS = 'team-a';
const GITOPS = 'system:serviceaccount:gitops:flux';
const POLICY = 'paddock-references';
const DENIED = `ValidatingAdmissionPolicy '${POLICY}' with binding '${POLICY}' denied request: `;
/** Secrets s00..s16 for the limit tests (dave may get each of them by name). */
const NUMBERED = Array.from({ length: 17 }, (_, i) => `s${String(i).padStart(2, '0')}`);

type Who = 'admin' | 'frank' | 'erin' | 'dave' | 'grace' | 'bob' | 'alice' | 'gitops';

const RBAC = `
apiVersion: v1
kind: Namespace
metadata: {name: gitops}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: flux, namespace: gitops}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: editors, namespace: ${NS}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: paddock-editor}
subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: User, name: frank}
  - {apiGroup: rbac.authorization.k8s.io, kind: User, name: erin}
  - {apiGroup: rbac.authorization.k8s.io, kind: User, name: dave}
  - {apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}
  - {kind: ServiceAccount, name: flux, namespace: gitops}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: read-db-password, namespace: ${NS}}
rules:
  - {apiGroups: [''], resources: [secrets], resourceNames: [db-password], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: erin-reads-db-password, namespace: ${NS}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: read-db-password}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: erin}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: read-api-token, namespace: ${NS}}
rules:
  - {apiGroups: [''], resources: [secrets], resourceNames: [api-token, ${NUMBERED.join(', ')}], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: dave-reads-api-token, namespace: ${NS}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: read-api-token}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: dave}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: paddock-everything, namespace: ${NS}}
rules:
  - {apiGroups: [paddock.dev], resources: ['*'], verbs: ['*']}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: platform-paddock-everything, namespace: ${NS}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: paddock-everything}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: platform}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: run-scanner, namespace: ${NS}}
rules:
  - {apiGroups: [paddock.dev], resources: [workflows], verbs: [get, list, watch, create, update, patch]}
  - {apiGroups: [paddock.dev], resources: [agents], resourceNames: [scanner], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: bob-runs-scanner, namespace: ${NS}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: run-scanner}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: bob}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: read-secrets, namespace: ${NS}}
rules:
  - {apiGroups: [''], resources: [secrets], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: alice-reads-secrets, namespace: ${NS}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: read-secrets}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}]
`;

/** An Agent manifest whose spec.secrets names `secrets` in order (env S0, S1, ...; key `value`). */
function agentWithSecrets(
  name: string,
  secrets: readonly string[],
  spec: Partial<Agent['spec']> = {},
): string {
  return JSON.stringify(
    testAgent(name, NS, {
      ...(secrets.length
        ? { secrets: secrets.map((s, i) => ({ env: `S${i}`, secretKeyRef: { name: s, key: 'value' } })) }
        : {}),
      ...spec,
    }),
  );
}

/** A Workflow manifest with one step per Agent name, in order. */
function workflowOf(name: string, agents: readonly string[], spec: Partial<Workflow['spec']> = {}): string {
  return JSON.stringify(
    workflow(
      name,
      NS,
      agents.map((a, i) => ({ name: `step-${i}`, agentRef: { name: a } })),
      spec,
    ),
  );
}

describe('admission: references the operator follows (paddock-references)', () => {
  const env = useCluster({ nodes: 1 });
  const kubeconfigs = new Map<Who, string>();
  let operatorKc = '';

  const run = (who: Who, args: readonly string[], input?: string): KubectlResult => {
    const kc = kubeconfigs.get(who);
    if (!kc) throw new Error(`no kubeconfig for ${who}`);
    return kubectl(kc, args, input);
  };
  const ok = (res: KubectlResult): string => {
    expect(res.code, `expected the API server to accept, got: ${res.stderr}`).toBe(0);
    return res.stdout;
  };
  /** Refused by paddock-references with a message containing each of `parts`. */
  const refused = (res: KubectlResult, ...parts: string[]): void => {
    expect(res.code, `expected refusal, got: ${res.stdout}`).not.toBe(0);
    expect(res.stderr).toContain(DENIED);
    for (const p of parts) expect(res.stderr).toContain(p);
  };
  const create = (who: Who, manifest: string) => run(who, ['create', '-f', '-'], manifest);
  const dryRun = (who: Who, manifest: string) =>
    run(who, ['create', '--dry-run=server', '-f', '-'], manifest);
  const patch = (who: Who, kind: 'agent' | 'pwf', name: string, body: unknown) =>
    run(who, ['patch', kind, '-n', NS, name, '--type=merge', '-p', JSON.stringify(body)]);
  /** kubectl auth can-i, asked by the user themselves (their groups included). */
  const can = (who: Who, verb: string, what: string) =>
    run(who, ['auth', 'can-i', verb, what, '-n', NS]).stdout.trim();
  const secretMessage = (user: string, secret: string, ...fields: number[]) =>
    `${fields.map((i) => `spec.secrets[${i}].secretKeyRef.name`).join(', ')}: user ${user} may not use Secret ` +
    `${NS}/${secret} in an Agent: the operator hands an Agent's Secrets to its pods, so its author must be ` +
    `allowed to read them (missing: get on secrets "${secret}" in namespace ${NS})`;
  const agentMessage = (user: string, agent: string, ...steps: number[]) =>
    `${steps.map((i) => `spec.steps[${i}].agentRef.name`).join(', ')}: user ${user} may not run Agent ` +
    `${NS}/${agent} in a Workflow: the operator runs a Workflow's Agents, with their Secrets, on its author's ` +
    `behalf, so its author must be allowed to read them (missing: get on agents.paddock.dev "${agent}" in ` +
    `namespace ${NS})`;

  beforeAll(async () => {
    const e = env();
    kubeconfigs.set('admin', e.kubeconfig);
    for (const u of ['frank', 'erin', 'dave', 'grace', 'bob', 'alice'] as const)
      kubeconfigs.set(u, e.cluster.kubeconfigFor(u));
    operatorKc = operatorKubeconfig(e); // config/rbac and the operator's namespace
    e.kubectl(['apply', '-f', '-'], restrictedNamespace(NS));
    e.kubectl(['apply', '--server-side', '-k', join(REPO_ROOT, 'config', 'admission')]);
    e.kubectl(['apply', '-f', '-'], RBAC);
    for (const s of ['db-password', 'api-token', ...NUMBERED])
      e.kubectl(['create', 'secret', 'generic', s, '-n', NS, '--from-literal=value=not-for-frank']);
    const token = e.kubectl(['create', 'token', 'flux', '-n', 'gitops']).trim();
    kubeconfigs.set('gitops', e.cluster.kubeconfigWithToken('kubeconfig-gitops', GITOPS, token));

    // The policy reaches admission through an informer, the RoleBindings the authorizer through
    // another: wait until frank is refused and the last-bound user (alice) is admitted.
    await eventually(
      `${POLICY} to be enforced`,
      () => dryRun('frank', agentWithSecrets('probe', ['db-password'])),
      (r) => r.stderr.includes(POLICY),
    );
    await eventually(
      'the RoleBindings to reach the authorizer',
      () => dryRun('alice', agentWithSecrets('probe', ['db-password'])),
      (r) => r.code === 0,
    );
  }, 120_000);

  it('authenticates the certificate users as their Common Name and Organizations', () => {
    const whoami = (who: Who) =>
      JSON.parse(ok(run(who, ['auth', 'whoami', '-o', 'json']))) as {
        status: { userInfo: { username: string; groups: string[] } };
      };
    expect(whoami('erin').status.userInfo).toMatchObject({
      username: 'erin',
      groups: ['sre', 'system:authenticated'],
    });
    expect(whoami('frank').status.userInfo).toMatchObject({
      username: 'frank',
      groups: ['system:authenticated'],
    });
    expect(whoami('grace').status.userInfo).toMatchObject({
      username: 'grace',
      groups: ['platform', 'system:authenticated'],
    });
  });

  describe('Agent spec.secrets', () => {
    it('refuses an editor who cannot read the Secret, naming the field, the Secret, the user and the permission', () => {
      // The audit's case: paddock-editor, no Secret access.
      expect(can('frank', 'create', 'agents.paddock.dev')).toBe('yes');
      expect(can('frank', 'get', 'secrets/db-password')).toBe('no');
      const res = create('frank', agentWithSecrets('frank-agent', ['db-password']));
      refused(res, secretMessage('frank', 'db-password', 0));
      expect(run('admin', ['get', 'agent', '-n', NS, 'frank-agent']).code).not.toBe(0);
    });

    it('admits the same request from an editor granted get on that one Secret (resourceNames)', () => {
      expect(can('erin', 'get', 'secrets/db-password')).toBe('yes');
      expect(can('erin', 'get', 'secrets/api-token')).toBe('no');
      ok(create('erin', agentWithSecrets('erin-agent', ['db-password'])));
      // The same Secret twice (two keys) is one Secret to check.
      ok(dryRun('erin', agentWithSecrets('erin-twice', ['db-password', 'db-password'])));
    });

    it('refuses an editor who may get a different Secret, and names only the one missing', () => {
      expect(can('dave', 'get', 'secrets/api-token')).toBe('yes');
      refused(
        create('dave', agentWithSecrets('dave-agent', ['db-password'])),
        secretMessage('dave', 'db-password', 0),
      );
      const res = create('dave', agentWithSecrets('dave-agent', ['api-token', 'db-password', 'api-token']));
      refused(res, secretMessage('dave', 'db-password', 1));
      expect(res.stderr).not.toContain('Secret team-a/api-token');
      ok(create('dave', agentWithSecrets('dave-agent', ['api-token'])));
    });

    it('refuses users with wildcard rights on paddock.dev but no Secret access', () => {
      expect(can('grace', 'escalate', 'agents.paddock.dev')).toBe('yes'); // '*' verbs: anything on paddock.dev
      expect(can('grace', 'get', 'secrets/db-password')).toBe('no');
      refused(
        create('grace', agentWithSecrets('grace-agent', ['db-password'])),
        secretMessage('grace', 'db-password', 0),
      );
      // Her wildcard still covers Agents without Secrets.
      ok(create('grace', agentWithSecrets('grace-agent', [])));
      // Adding a Secret to it is refused like a create.
      refused(
        patch('grace', 'agent', 'grace-agent', {
          spec: { secrets: [{ env: 'S0', secretKeyRef: { name: 'api-token', key: 'value' } }] },
        }),
        secretMessage('grace', 'api-token', 0),
      );
    });

    it('refuses a GitOps ServiceAccount with paddock-editor only, until it may get the Secret', async () => {
      const manifest = agentWithSecrets('synced', ['api-token']);
      refused(
        run('gitops', ['apply', '--server-side', '-f', '-'], manifest),
        secretMessage(GITOPS, 'api-token', 0),
      );
      env().kubectl([
        'create',
        'rolebinding',
        'flux-reads-api-token',
        '-n',
        NS,
        '--role=read-api-token',
        `--serviceaccount=gitops:flux`,
      ]);
      await eventually(
        'the GitOps identity to be admitted',
        () => run('gitops', ['apply', '--server-side', '-f', '-'], manifest),
        (r) => r.code === 0,
      );
    });

    it('re-checks every UPDATE that changes spec: adding a Secret the author cannot read is refused', () => {
      const before = JSON.parse(
        ok(run('admin', ['get', 'agent', '-n', NS, 'erin-agent', '-o', 'json'])),
      ) as Agent;
      const res = patch('erin', 'agent', 'erin-agent', {
        spec: {
          secrets: [
            { env: 'S0', secretKeyRef: { name: 'db-password', key: 'value' } },
            { env: 'S1', secretKeyRef: { name: 'api-token', key: 'value' } },
          ],
        },
      });
      refused(res, secretMessage('erin', 'api-token', 1));
      const after = JSON.parse(
        ok(run('admin', ['get', 'agent', '-n', NS, 'erin-agent', '-o', 'json'])),
      ) as Agent;
      expect(after.spec.secrets).toEqual(before.spec.secrets);
      expect(after.metadata.generation).toBe(before.metadata.generation);
      // Her own spec changes that keep her Secrets are admitted (the check passes again).
      ok(patch('erin', 'agent', 'erin-agent', { spec: { args: ['--verbose'] } }));
    });

    it('refuses an edit of the spec by someone who cannot read the Secrets it already references', () => {
      // frank may edit Agents, but swapping the image would hand erin's Secret to his image.
      const res = patch('frank', 'agent', 'erin-agent', {
        spec: { image: `registry.example/frank/exfiltrate@sha256:${'f'.repeat(64)}` },
      });
      refused(res, secretMessage('frank', 'db-password', 0));
      refused(
        patch('frank', 'agent', 'erin-agent', { spec: { riskLevel: 'ApprovalRequired' } }),
        'user frank',
      );
    });

    it('does not check metadata-only updates (labels, annotations, finalizers), which change no reference', () => {
      ok(run('frank', ['label', 'agent', '-n', NS, 'erin-agent', 'team=payments']));
      ok(run('frank', ['annotate', 'agent', '-n', NS, 'erin-agent', 'example.com/owner=payments']));
      ok(patch('frank', 'agent', 'erin-agent', { metadata: { finalizers: ['example.com/hold'] } }));
      ok(
        run('frank', [
          'patch',
          'agent',
          '-n',
          NS,
          'erin-agent',
          '--type=json',
          '-p',
          '[{"op":"remove","path":"/metadata/finalizers"}]',
        ]),
      );
      const a = JSON.parse(ok(run('admin', ['get', 'agent', '-n', NS, 'erin-agent', '-o', 'json']))) as Agent;
      expect(a.metadata.labels?.['team']).toBe('payments');
      expect(a.metadata.finalizers ?? []).toEqual([]);
    });

    it('checks up to 16 Secrets one by one; more need get on every Secret of the namespace', () => {
      // dave may get s00..s16 by name: 16 distinct Secrets are checked and admitted.
      ok(dryRun('dave', agentWithSecrets('sixteen', NUMBERED.slice(0, 16))));
      refused(
        dryRun('dave', agentWithSecrets('sixteen', [...NUMBERED.slice(0, 15), 'db-password'])),
        secretMessage('dave', 'db-password', 15),
      );
      refused(
        dryRun('dave', agentWithSecrets('seventeen', NUMBERED)),
        `spec.secrets: this Agent references 17 different Secrets; at most 16 are checked one by one, so user dave ` +
          `must be allowed to get every Secret in namespace ${NS} (missing: get on secrets in namespace ${NS}, ` +
          `without resourceNames)`,
      );
      // alice may get every Secret of the namespace: one check covers the schema's maximum of 32.
      const many = [
        ...NUMBERED,
        'db-password',
        'api-token',
        ...Array.from({ length: 13 }, (_, i) => `absent-${i}`),
      ];
      expect(many).toHaveLength(32);
      ok(dryRun('alice', agentWithSecrets('thirty-two', many)));
    });
  });

  describe('Workflow spec.steps[].agentRef', () => {
    beforeAll(() => {
      for (const a of ['scanner', 'deployer']) ok(create('admin', JSON.stringify(testAgent(a, NS))));
    });

    it('refuses a Workflow referencing an Agent its creator cannot get, naming every step that does', () => {
      expect(can('bob', 'create', 'workflows.paddock.dev')).toBe('yes');
      expect(can('bob', 'get', 'agents.paddock.dev/scanner')).toBe('yes');
      expect(can('bob', 'get', 'agents.paddock.dev/deployer')).toBe('no');
      refused(
        create('bob', workflowOf('bob-run', ['scanner', 'deployer'])),
        agentMessage('bob', 'deployer', 1),
      );
      refused(
        create('bob', workflowOf('bob-run', ['deployer', 'scanner', 'deployer'])),
        agentMessage('bob', 'deployer', 0, 2),
      );
      // An Agent that does not exist yet is checked by name all the same.
      refused(create('bob', workflowOf('bob-run', ['not-yet'])), agentMessage('bob', 'not-yet', 0));
      ok(create('bob', workflowOf('bob-run', ['scanner', 'scanner'], { suspend: true })));
    });

    it('admits editors and wildcard users, who may get every Agent', () => {
      ok(create('frank', workflowOf('frank-run', ['deployer'], { suspend: true })));
      ok(dryRun('grace', workflowOf('grace-run', ['scanner', 'deployer'])));
    });

    it('re-checks spec changes of a Workflow, not metadata-only ones', () => {
      // bob may update Workflows, but resuming frank's run would run deployer on his behalf.
      refused(
        patch('bob', 'pwf', 'frank-run', { spec: { suspend: false } }),
        agentMessage('bob', 'deployer', 0),
      );
      ok(run('bob', ['label', 'pwf', '-n', NS, 'frank-run', 'reviewed=true']));
      ok(patch('bob', 'pwf', 'bob-run', { spec: { parallelism: 2 } }));
    });

    it('checks up to 16 Agents one by one; more need get on every Agent of the namespace', () => {
      const agents = Array.from({ length: 17 }, (_, i) => `agent-${i}`);
      refused(
        dryRun('bob', workflowOf('many', agents)),
        `spec.steps: this Workflow references 17 different Agents; at most 16 are checked one by one, so user bob`,
      );
      // 100 steps (the schema's maximum) over 17 Agents: one namespace-wide check for an editor.
      const steps = Array.from({ length: 100 }, (_, i) => agents[i % agents.length]!);
      ok(dryRun('frank', workflowOf('many', steps)));
    });
  });

  describe('with the operator running (which may read no Secret)', () => {
    let op: OperatorProcess;

    beforeAll(() => {
      op = OperatorProcess.start(operatorKc, ['--leader-elect=false']);
    });
    afterAll(async () => {
      if (process.env['DUMP_OPERATOR_LOGS']) console.log(op?.dumpLogs(400));
      await op?.stop();
    });

    it('writes status: an Agent created by an allowed user becomes Ready, and its Workflow runs', async () => {
      const operator = `system:serviceaccount:${OPERATOR_NAMESPACE}:${OPERATOR_SA}`;
      expect(
        kubectl(env().kubeconfig, [
          'auth',
          'can-i',
          'get',
          'secrets/db-password',
          '-n',
          NS,
          `--as=${operator}`,
        ]).stdout.trim(),
      ).toBe('no');
      ok(
        create(
          'alice',
          JSON.stringify(
            simAgent(
              'notifier',
              NS,
              { result: { sent: true } },
              {
                secrets: [
                  { env: 'DB_PASSWORD', secretKeyRef: { name: 'db-password', key: 'value' } },
                  { env: 'API_TOKEN', secretKeyRef: { name: 'api-token', key: 'value' } },
                ],
              },
            ),
          ),
        ),
      );
      const agent = await eventually(
        'notifier Ready',
        () => env().admin.get<Agent>(AGENT, NS, 'notifier'),
        (a) => a.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
      );
      expect(agent.status?.observedGeneration).toBe(agent.metadata.generation);

      ok(create('alice', workflowOf('notify', ['notifier'])));
      const wf = await waitForPhase(env().admin, NS, 'notify', ['Succeeded', 'Failed']);
      expect(wf.status?.phase, JSON.stringify(wf.status)).toBe('Succeeded');
      // The Secrets reach the pod as references the kubelet resolves, exactly as the author wrote them.
      const [pod] = await podsOf(env().admin, NS, 'notify');
      const env0 = pod?.spec?.containers[0]?.env ?? [];
      expect(env0.filter((v) => v.valueFrom)).toEqual([
        { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db-password', key: 'value' } } },
        { name: 'API_TOKEN', valueFrom: { secretKeyRef: { name: 'api-token', key: 'value' } } },
      ]);
    });

    it('lets the garbage collector finish a foreground deletion (a metadata-only update of the Workflow)', async () => {
      expect((await podsOf(env().admin, NS, 'notify')).length).toBeGreaterThan(0);
      // The API server marks the Workflow with the foregroundDeletion finalizer; the garbage collector
      // deletes its pods (blockOwnerDeletion) and then removes the finalizer with an UPDATE.
      ok(run('alice', ['delete', 'pwf', '-n', NS, 'notify', '--cascade=foreground', '--wait=false']));
      await eventually(
        'Workflow notify deleted',
        () => run('admin', ['get', 'pwf', '-n', NS, 'notify', '--ignore-not-found', '-o', 'name']),
        (r) => r.code === 0 && r.stdout.trim() === '',
        { timeoutMs: 60_000 },
      );
      expect(await podsOf(env().admin, NS, 'notify')).toEqual([]);
      // And the operator still owns the Workflows' status subresource (a write the policy never sees).
      const suspended = await env().admin.get<Workflow>(WORKFLOW, NS, 'bob-run');
      expect(suspended.status?.phase).toBeDefined();
    });
  });
});
