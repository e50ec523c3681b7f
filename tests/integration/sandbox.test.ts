// The sandbox against a real API server: the sandbox reconciler runs in this test process
// (real KubeClient, real informers, a real Controller) under the operator's least-privilege
// ServiceAccount, so RBAC, admission (PodSecurity "restricted", ResourceQuota, LimitRanger)
// and garbage collection are the cluster's own. Agent pods from buildAgentPod are created as
// the admin, standing in for the workflow controller.
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT, API_VERSION, EVENT, POD, WORKFLOW } from '../../operator/src/api/constants.ts';
import type { Agent, Workflow } from '../../operator/src/api/generated/index.ts';
import { loadConfig } from '../../operator/src/config.ts';
import type { Controller } from '../../operator/src/controllers/controller.ts';
import { Provenance } from '../../operator/src/controllers/provenance.ts';
import {
  buildAgentPod,
  isSandboxNotReady,
  type AgentPodInput,
} from '../../operator/src/controllers/sandbox/pod.ts';
import { setupSandboxController } from '../../operator/src/controllers/sandbox/setup.ts';
import type { InformerFactory } from '../../operator/src/controllers/setup.ts';
import { KubeClient } from '../../operator/src/kube/client.ts';
import {
  LIMIT_RANGE,
  NAMESPACE,
  NETWORK_POLICY,
  RESOURCE_QUOTA,
  SERVICE_ACCOUNT,
  type LimitRange,
  type Namespace,
  type NetworkPolicy,
  type Pod,
  type ResourceQuota,
  type ServiceAccount,
} from '../../operator/src/kube/core-types.ts';
import { isForbidden, isNotFound, isQuotaExceeded } from '../../operator/src/kube/errors.ts';
import { EventRecorder } from '../../operator/src/kube/events.ts';
import { Informer, stripForCache } from '../../operator/src/kube/informer.ts';
import type { KubeObject } from '../../operator/src/kube/types.ts';
import type { ResourceRef } from '../../operator/src/api/constants.ts';
import { createLogger } from '../../operator/src/observability/logger.ts';
import { Metrics } from '../../operator/src/observability/metrics.ts';
import { testAgent } from './support/agents.ts';
import { useCluster } from './support/cluster.ts';
import { analyze, describeProbe, ensureNetpolAnalyzer, type Probe } from './support/netpol-analyzer.ts';
import { operatorKubeconfig } from './support/operator.ts';
import { eventually, sleep } from './support/wait.ts';
import { restrictedNamespace } from './support/workflows.ts';

/** Signs the pods this test builds as the operator would (the sandbox itself does not look at signatures). */
const PROVENANCE = new Provenance(Buffer.alloc(32, 4));
const NS = 'sbx';
const config = loadConfig(['--leader-elect=false'], {});
const defaults = config.sandbox;

interface LogLine {
  msg: string;
  audit?: boolean;
  event?: string;
  [k: string]: unknown;
}

interface EventObj extends KubeObject {
  reason?: string;
  note?: string;
  type?: string;
  regarding?: { name?: string; kind?: string; namespace?: string };
}

describe('sandbox', () => {
  const env = useCluster();
  const lines: LogLine[] = [];
  const writes: string[] = [];
  const informers: Informer<KubeObject>[] = [];
  let client: KubeClient;
  let controller: Controller;
  let recorder: EventRecorder;

  const admin = (): KubeClient => env().admin;
  const get = <T extends KubeObject>(ref: ResourceRef, name: string): Promise<T> =>
    admin().get<T>(ref, NS, name);
  const gone = async (ref: ResourceRef, name: string): Promise<boolean> => {
    try {
      await get(ref, name);
      return false;
    } catch (err) {
      if (isNotFound(err)) return true;
      throw err;
    }
  };
  const nsEvents = async (): Promise<EventObj[]> =>
    (await admin().list<EventObj>(EVENT, NS)).items.filter((e) => e.regarding?.kind === 'Namespace');
  const audits = (event: string): LogLine[] => lines.filter((l) => l.audit === true && l.event === event);

  beforeAll(async () => {
    // The operator's own identity: config/rbac applied, a token for its ServiceAccount.
    client = KubeClient.load(operatorKubeconfig(env()), {
      observe: (verb, resource, code) => {
        if (['apply', 'create', 'update', 'patch', 'delete'].includes(verb) && resource !== 'events')
          writes.push(`${verb} ${resource} ${code}`);
      },
    });
    env().kubectl(['apply', '-f', '-'], restrictedNamespace(NS));
    const logger = createLogger({
      level: 'debug',
      destination: { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) },
    });
    // The manager's factory in small: one informer per call (the sandbox asks once per resource).
    const informer: InformerFactory = (ref, spec = {}) => {
      const inf = new Informer(client, ref, {
        ...(spec.labelSelector ? { labelSelector: spec.labelSelector } : {}),
        ...(spec.fieldSelector ? { fieldSelector: spec.fieldSelector } : {}),
        ...(spec.names ? { names: spec.names } : {}),
        transform: spec.transform ?? stripForCache,
        logger,
      });
      for (const [name, fn] of Object.entries(spec.indexes ?? {})) inf.addIndex(name, fn);
      informers.push(inf as unknown as Informer<KubeObject>);
      return inf;
    };
    recorder = new EventRecorder({ client, reportingInstance: 'sandbox-test', logger });
    controller = setupSandboxController({
      client,
      informer,
      events: recorder,
      logger,
      metrics: new Metrics({ defaultMetrics: false }),
      config: { workers: 2, sandbox: defaults, watchNamespaces: [] },
    });
    for (const i of informers) i.start();
    await Promise.all(informers.map((i) => i.waitForSync()));
    controller.start();
  });

  afterAll(async () => {
    await controller?.stopNow();
    await Promise.all(informers.map((i) => i.stop()));
    await recorder?.flush();
  });

  it('keeps no sandbox in a namespace without Agents; agent pods are refused there until it exists', async () => {
    await sleep(500);
    expect(await gone(NETWORK_POLICY, 'paddock-agents-default-deny')).toBe(true);
    expect(await gone(RESOURCE_QUOTA, 'paddock-agents')).toBe(true);
    const pod = buildAgentPod({
      namespace: NS,
      workflow: { name: 'early', uid: '00000000-0000-0000-0000-000000000000' },
      step: 'one',
      attempt: 1,
      agent: { name: 'none', generation: 1, spec: { image: 'registry.example/a:1' } },
      inputs: {},
      inputsDigest: PROVENANCE.inputsDigest(1, 'registry.example/a:1', {}),
      timeoutSeconds: 60,
      defaults,
      provenance: PROVENANCE,
    });
    const err = await admin()
      .create<Pod>(POD, pod)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(isSandboxNotReady(err)).toBe(true);
  });

  it('applies the whole sandbox when the first Agent arrives', async () => {
    await admin().create(AGENT, testAgent('scanner', NS));
    const deny = await eventually(
      'default-deny policy',
      () => get<NetworkPolicy>(NETWORK_POLICY, 'paddock-agents-default-deny'),
      () => true,
    );
    expect(deny.spec).toEqual({
      podSelector: { matchLabels: { 'paddock.dev/agent-pod': 'true' } },
      policyTypes: ['Ingress', 'Egress'],
      egress: [
        {
          to: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
              podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
            },
          ],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
            { protocol: 'UDP', port: 'dns' },
            { protocol: 'TCP', port: 'dns-tcp' },
          ],
        },
      ],
    });
    expect(deny.metadata.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'paddock',
      'paddock.dev/sandbox': 'default-deny',
    });
    const managers = (deny.metadata.managedFields ?? []) as Array<{ manager?: string; operation?: string }>;
    expect(managers).toEqual([expect.objectContaining({ manager: 'paddock', operation: 'Apply' })]);

    const quota = await eventually(
      'quota',
      () => get<ResourceQuota>(RESOURCE_QUOTA, 'paddock-agents'),
      () => true,
    );
    expect(quota.spec).toEqual({
      scopes: ['Terminating'],
      hard: {
        pods: String(defaults.quota.pods),
        'requests.cpu': defaults.quota.cpu,
        'requests.memory': defaults.quota.memory,
        'limits.cpu': defaults.quota.cpu,
        'limits.memory': defaults.quota.memory,
      },
    });
    const lr = await eventually(
      'limit range',
      () => get<LimitRange>(LIMIT_RANGE, 'paddock-agents'),
      () => true,
    );
    expect(lr.spec.limits).toEqual([
      {
        type: 'Container',
        default: { ...defaults.limitRange.default },
        defaultRequest: { ...defaults.limitRange.defaultRequest },
      },
    ]);
    const sa = await eventually(
      'service account',
      () => get<ServiceAccount>(SERVICE_ACCOUNT, 'paddock-agent'),
      () => true,
    );
    expect(sa.automountServiceAccountToken).toBe(false);
    // No per-Agent policy: scanner declares no egress.
    expect(await gone(NETWORK_POLICY, 'paddock-agent-scanner')).toBe(true);

    const evs = await eventually('SandboxApplied event', nsEvents, (e) =>
      e.some((x) => x.reason === 'SandboxApplied'),
    );
    expect(evs.find((x) => x.reason === 'SandboxApplied')).toMatchObject({
      type: 'Normal',
      regarding: { kind: 'Namespace', name: NS, namespace: NS },
    });
    expect(audits('sandbox.applied')[0]).toMatchObject({ namespace: NS });
  });

  it('writes nothing more once the sandbox is in place', async () => {
    await sleep(1000);
    const before = writes.length;
    // A change that does not affect the sandbox (an unrelated label on the Namespace).
    await admin().patch(NAMESPACE, undefined, NS, { metadata: { labels: { touched: 'yes' } } });
    await sleep(1500);
    expect(writes.slice(before)).toEqual([]);
    expect(writes.every((w) => /^apply \w+ 20[01]$/.test(w))).toBe(true);
  });

  it('puts back a deleted default-deny NetworkPolicy', async () => {
    const old = await get<NetworkPolicy>(NETWORK_POLICY, 'paddock-agents-default-deny');
    await admin().delete(NETWORK_POLICY, NS, 'paddock-agents-default-deny');
    const back = await eventually(
      'default-deny recreated',
      () => get<NetworkPolicy>(NETWORK_POLICY, 'paddock-agents-default-deny'),
      (p) => p.metadata.uid !== old.metadata.uid,
    );
    expect(back.spec).toEqual(old.spec);
    await eventually('SandboxRepaired event', nsEvents, (e) =>
      e.some(
        (x) => x.reason === 'SandboxRepaired' && x.type === 'Warning' && /default-deny/.test(x.note ?? ''),
      ),
    );
    expect(audits('sandbox.repaired').length).toBeGreaterThan(0);
  });

  it('restores an edited quota, policy, LimitRange and ServiceAccount', async () => {
    const tamper = { fieldManager: 'someone' };
    await admin().patch(
      RESOURCE_QUOTA,
      NS,
      'paddock-agents',
      { spec: { hard: { pods: '9999' } } },
      'merge',
      tamper,
    );
    await admin().patch(
      NETWORK_POLICY,
      NS,
      'paddock-agents-default-deny',
      { spec: { egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }] } },
      'merge',
      tamper,
    );
    await admin().patch(
      LIMIT_RANGE,
      NS,
      'paddock-agents',
      { spec: { limits: [{ type: 'Container', default: { cpu: '64', memory: '64Gi' } }] } },
      'merge',
      tamper,
    );
    await admin().patch(
      SERVICE_ACCOUNT,
      NS,
      'paddock-agent',
      { automountServiceAccountToken: true },
      'merge',
      tamper,
    );
    await eventually(
      'quota restored',
      () => get<ResourceQuota>(RESOURCE_QUOTA, 'paddock-agents'),
      (q) => q.spec.hard?.['pods'] === String(defaults.quota.pods),
    );
    await eventually(
      'policy restored',
      () => get<NetworkPolicy>(NETWORK_POLICY, 'paddock-agents-default-deny'),
      (p) => p.spec.egress?.length === 1 && p.spec.egress[0]?.to?.[0]?.ipBlock === undefined,
    );
    await eventually(
      'limit range restored',
      () => get<LimitRange>(LIMIT_RANGE, 'paddock-agents'),
      (l) => l.spec.limits[0]?.default?.['cpu'] === defaults.limitRange.default.cpu,
    );
    await eventually(
      'service account restored',
      () => get<ServiceAccount>(SERVICE_ACCOUNT, 'paddock-agent'),
      (s) => s.automountServiceAccountToken === false,
    );
  });

  it('puts back an object whose managed-by label was removed (it left the informer selection)', async () => {
    await admin().patch(
      RESOURCE_QUOTA,
      NS,
      'paddock-agents',
      { metadata: { labels: { 'app.kubernetes.io/managed-by': null } } },
      'merge',
      { fieldManager: 'someone' },
    );
    await eventually(
      'label restored',
      () => get<ResourceQuota>(RESOURCE_QUOTA, 'paddock-agents'),
      (q) => q.metadata.labels?.['app.kubernetes.io/managed-by'] === 'paddock',
    );
  });

  it('follows Namespace annotation overrides, and warns about invalid ones', async () => {
    await admin().patch(NAMESPACE, undefined, NS, {
      metadata: {
        annotations: {
          'paddock.dev/agent-quota-pods': '7',
          'paddock.dev/agent-quota-cpu': '3',
          'paddock.dev/agent-quota-memory': 'lots',
          'paddock.dev/agent-default-memory-limit': '1Gi',
        },
      },
    });
    const q = await eventually(
      'quota follows the annotations',
      () => get<ResourceQuota>(RESOURCE_QUOTA, 'paddock-agents'),
      (x) => x.spec.hard?.['pods'] === '7',
    );
    expect(q.spec.hard).toEqual({
      pods: '7',
      'requests.cpu': '3',
      'limits.cpu': '3',
      'requests.memory': defaults.quota.memory,
      'limits.memory': defaults.quota.memory,
    });
    await eventually(
      'limit range follows',
      () => get<LimitRange>(LIMIT_RANGE, 'paddock-agents'),
      (l) => l.spec.limits[0]?.default?.['memory'] === '1Gi',
    );
    const evs = await eventually('InvalidSandboxOverride event', nsEvents, (e) =>
      e.some((x) => x.reason === 'InvalidSandboxOverride'),
    );
    expect(evs.find((x) => x.reason === 'InvalidSandboxOverride')).toMatchObject({ type: 'Warning' });
    expect(evs.find((x) => x.reason === 'InvalidSandboxOverride')?.note).toContain('agent-quota-memory');
    expect(
      lines.some((l) => typeof l.msg === 'string' && l.msg.includes('agent-quota-memory="lots" ignored')),
    ).toBe(true);
    // Back to the defaults.
    await admin().patch(NAMESPACE, undefined, NS, {
      metadata: {
        annotations: {
          'paddock.dev/agent-quota-pods': null,
          'paddock.dev/agent-quota-cpu': null,
          'paddock.dev/agent-quota-memory': null,
          'paddock.dev/agent-default-memory-limit': null,
        },
      },
    });
    await eventually(
      'quota back to defaults',
      () => get<ResourceQuota>(RESOURCE_QUOTA, 'paddock-agents'),
      (x) =>
        x.spec.hard?.['pods'] === String(defaults.quota.pods) &&
        x.spec.hard['requests.cpu'] === defaults.quota.cpu,
    );
  });

  it('keeps a per-Agent egress policy that follows the Agent, and goes with it', async () => {
    const created = await admin().create(
      AGENT,
      testAgent('fetcher', NS, {
        egress: [
          { cidr: '140.82.112.0/20', ports: [443] },
          { cidr: '10.1.2.3/8', ports: [53], protocol: 'UDP' },
        ],
      }),
    );
    const p = await eventually(
      'fetcher egress policy',
      () => get<NetworkPolicy>(NETWORK_POLICY, 'paddock-agent-fetcher'),
      () => true,
    );
    expect(p.spec).toEqual({
      podSelector: { matchLabels: { 'paddock.dev/agent-pod': 'true', 'paddock.dev/agent': 'fetcher' } },
      policyTypes: ['Egress'],
      egress: [
        { to: [{ ipBlock: { cidr: '140.82.112.0/20' } }], ports: [{ protocol: 'TCP', port: 443 }] },
        { to: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ protocol: 'UDP', port: 53 }] },
      ],
    });
    expect(p.metadata.ownerReferences).toEqual([
      {
        apiVersion: API_VERSION,
        kind: 'Agent',
        name: 'fetcher',
        uid: created.metadata.uid,
        controller: true,
      },
    ]);

    // Egress removed from the Agent: the policy is deleted.
    await admin().patch(AGENT, NS, 'fetcher', { spec: { egress: null } });
    await eventually(
      'policy removed',
      () => gone(NETWORK_POLICY, 'paddock-agent-fetcher'),
      (g) => g,
    );

    // Egress back, then the Agent deleted: the policy goes too (garbage collection, or us).
    await admin().patch(AGENT, NS, 'fetcher', { spec: { egress: [{ cidr: '1.1.1.1/32', ports: [443] }] } });
    await eventually(
      'policy back',
      () => gone(NETWORK_POLICY, 'paddock-agent-fetcher'),
      (g) => !g,
    );
    await admin().delete(AGENT, NS, 'fetcher');
    await eventually(
      'policy gone with the Agent',
      () => gone(NETWORK_POLICY, 'paddock-agent-fetcher'),
      (g) => g,
    );
  });

  describe('agent pods', () => {
    let workflow: Workflow;
    let agent: Agent;

    const agentPodInput = (attempt: number): AgentPodInput => {
      const inputs = { patch: 'diff --git a/x b/x', count: 2 };
      return {
        namespace: NS,
        workflow: { name: workflow.metadata.name!, uid: workflow.metadata.uid! },
        step: 'patch',
        attempt,
        agent: { name: agent.metadata.name!, generation: agent.metadata.generation!, spec: agent.spec },
        inputs,
        inputsDigest: PROVENANCE.inputsDigest(agent.metadata.generation!, agent.spec.image, inputs),
        timeoutSeconds: 600,
        defaults,
        provenance: PROVENANCE,
      };
    };
    const agentPod = (attempt: number, mutate: (p: Pod) => void = () => {}): Pod => {
      const pod = buildAgentPod(agentPodInput(attempt));
      mutate(pod);
      return pod;
    };

    beforeAll(async () => {
      agent = await admin().create(
        AGENT,
        testAgent('patcher', NS, {
          // SIM_MANUAL: the simulated agent keeps running, so the quota keeps counting it.
          env: [{ name: 'SIM_MANUAL', value: 'true' }],
          secrets: [{ env: 'GITHUB_TOKEN', secretKeyRef: { name: 'gh', key: 'token' } }],
          resources: { requests: { cpu: '200m', memory: '256Mi' }, limits: { cpu: '500m', memory: '512Mi' } },
          egress: [{ cidr: '140.82.112.0/20', ports: [443] }],
        }),
      );
      workflow = await admin().create<Workflow>(WORKFLOW, {
        apiVersion: API_VERSION,
        kind: 'Workflow',
        metadata: { name: 'fix', namespace: NS },
        spec: { steps: [{ name: 'patch', agentRef: { name: 'patcher' } }] },
      });
      // The sandbox (its ServiceAccount in particular) must be there before agent pods.
      await eventually(
        'sandbox ready',
        () => get(SERVICE_ACCOUNT, 'paddock-agent'),
        () => true,
      );
    });

    it('admits a pod from buildAgentPod in a namespace enforcing PSS restricted, and KWOK runs it', async () => {
      const created = await admin().create<Pod>(POD, agentPod(1));
      expect(created.metadata.name).toBe('fix-patch-1');
      const running = await eventually(
        'agent pod running',
        () => get<Pod>(POD, 'fix-patch-1'),
        (p) => p.status?.phase === 'Running',
      );
      expect(running.spec.serviceAccountName).toBe('paddock-agent');
      expect(running.spec.automountServiceAccountToken).toBe(false);
      // No token volume was injected.
      expect(JSON.stringify(running.spec.volumes)).not.toContain('kube-api-access');
      expect(running.spec.containers[0]?.resources).toEqual({
        requests: { cpu: '200m', memory: '256Mi' },
        limits: { cpu: '500m', memory: '512Mi' },
      });
    });

    it('refuses a pod that is not restricted-compliant (enforcement is on)', async () => {
      const variants: Array<[string, (p: Pod) => void]> = [
        ['no seccomp profile', (p) => delete p.spec.securityContext!.seccompProfile],
        [
          'privilege escalation',
          (p) => (p.spec.containers[0]!.securityContext!.allowPrivilegeEscalation = true),
        ],
        ['capabilities kept', (p) => delete p.spec.containers[0]!.securityContext!.capabilities],
        [
          'may run as root',
          (p) => {
            delete p.spec.securityContext!.runAsNonRoot;
            delete p.spec.containers[0]!.securityContext!.runAsNonRoot;
            delete p.spec.securityContext!.runAsUser;
          },
        ],
        ['host network', (p) => (p.spec.hostNetwork = true)],
      ];
      for (const [what, mutate] of variants) {
        const err = await admin()
          .create<Pod>(POD, agentPod(90, mutate))
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(isForbidden(err), what).toBe(true);
        expect(String((err as Error).message), what).toMatch(/violates PodSecurity "restricted:latest"/);
      }
    });

    it('counts agent pods in the Terminating-scoped quota, and only them', async () => {
      const q = await eventually(
        'quota counts the agent pod',
        () => get<ResourceQuota>(RESOURCE_QUOTA, 'paddock-agents'),
        (x) => x.status?.used?.['pods'] === '1',
      );
      expect(q.status?.used).toMatchObject({
        'requests.cpu': '200m',
        'requests.memory': '256Mi',
        'limits.cpu': '500m',
        'limits.memory': '512Mi',
      });
      // An ordinary (restricted-compliant) pod without a deadline is outside the scope.
      await admin().create<Pod>(POD, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'ordinary', namespace: NS },
        spec: {
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'app',
              image: 'registry.example/app:1',
              env: [{ name: 'SIM_MANUAL', value: 'true' }],
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
            },
          ],
        },
      });
      await sleep(1000);
      const after = await get<ResourceQuota>(RESOURCE_QUOTA, 'paddock-agents');
      expect(after.status?.used?.['pods']).toBe('1');
    });

    it('fences agent pods with the policies it wrote (analyzed offline: no CNI here)', async () => {
      ensureNetpolAnalyzer(); // built once per machine (cluster/build-netpol-analyzer.sh)
      const policies = (await admin().list<NetworkPolicy>(NETWORK_POLICY, NS)).items;
      expect(policies.map((p) => p.metadata.name).sort()).toEqual([
        'paddock-agent-patcher',
        'paddock-agents-default-deny',
      ]);
      const patcherPod = await get<Pod>(POD, 'fix-patch-1');
      const scannerLabels = buildAgentPod({
        ...agentPodInput(1),
        agent: { name: 'scanner', generation: 1, spec: { image: 'registry.example/scanner:1' } },
      }).metadata.labels;
      const patcher = { namespace: NS, name: 'patcher' };
      const scanner = { namespace: NS, name: 'scanner' };
      const ordinary = { namespace: NS, name: 'ordinary' };
      const dns = { namespace: 'kube-system', name: 'coredns' };
      const operator = { namespace: 'paddock-system', name: 'operator' };
      const github = { ip: '140.82.113.5' };
      const apiServer = { ip: '10.0.0.1' };
      const probe = (
        from: Probe['from'],
        to: Probe['to'],
        port: number,
        protocol: 'TCP' | 'UDP' = 'TCP',
      ): Probe => ({
        from,
        to,
        port,
        protocol,
      });
      const expected: Array<[Probe, boolean]> = [
        [probe(patcher, github, 443), true],
        [probe(patcher, github, 80), false],
        [probe(scanner, github, 443), false],
        [probe(patcher, dns, 53, 'UDP'), true],
        [probe(scanner, dns, 53, 'TCP'), true],
        [probe(patcher, scanner, 8080), false],
        [probe(scanner, patcher, 8080), false],
        [probe(patcher, operator, 8443), false],
        [probe(patcher, apiServer, 443), false],
        [probe(ordinary, patcher, 8080), false],
        [probe(operator, scanner, 8080), false],
        // Control: the namespace's other pods are not fenced by the agent sandbox.
        [probe(ordinary, github, 443), true],
      ];
      const verdicts = await analyze({
        namespaces: [{ name: NS }, { name: 'kube-system' }, { name: 'paddock-system' }],
        pods: [
          { ...patcher, labels: patcherPod.metadata.labels ?? {}, ip: '10.244.1.10' },
          { ...scanner, labels: scannerLabels ?? {}, ip: '10.244.1.11' },
          { ...ordinary, labels: {}, ip: '10.244.1.12' },
          { ...dns, labels: { 'k8s-app': 'kube-dns' }, ip: '10.96.0.10' },
          { ...operator, labels: { 'app.kubernetes.io/name': 'paddock' }, ip: '10.244.0.20' },
        ],
        policies: policies as unknown as V1NetworkPolicy[],
        probes: expected.map(([p]) => p),
      });
      expect(verdicts.map((v) => `${describeProbe(v.probe)} ${v.allowed ? 'allow' : 'deny'}`)).toEqual(
        expected.map(([p, allowed]) => `${describeProbe(p)} ${allowed ? 'allow' : 'deny'}`),
      );
    }, 600_000);

    it('refuses an agent pod beyond the quota with an error the workflow controller can wait on', async () => {
      await admin().patch(NAMESPACE, undefined, NS, {
        metadata: { annotations: { 'paddock.dev/agent-quota-pods': '1' } },
      });
      await eventually(
        'quota lowered',
        () => get<ResourceQuota>(RESOURCE_QUOTA, 'paddock-agents'),
        (x) => x.status?.hard?.['pods'] === '1',
      );
      const err = await admin()
        .create<Pod>(POD, agentPod(2))
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(isQuotaExceeded(err), String(err)).toBe(true);
      expect(String((err as Error).message)).toContain('paddock-agents');
    });
  });

  it('was never refused by RBAC and never read anything outside its caches', () => {
    expect(writes.filter((w) => / 403$/.test(w))).toEqual([]);
    // Retried or terminal: no reconcile failed at all.
    expect(lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('reconcile failed'))).toEqual(
      [],
    );
    // The Namespace informer is cluster-wide; the sandbox informers saw only Paddock's objects.
    const nsInformer = informers.find((i) => i.ref === NAMESPACE)!;
    expect(nsInformer.list().some((n) => (n as Namespace).metadata.name === 'kube-system')).toBe(true);
    for (const i of informers.filter((x) =>
      [NETWORK_POLICY, RESOURCE_QUOTA, LIMIT_RANGE, SERVICE_ACCOUNT].includes(x.ref),
    )) {
      expect(i.list().every((o) => o.metadata.labels?.['app.kubernetes.io/managed-by'] === 'paddock')).toBe(
        true,
      );
    }
    // The default ServiceAccount exists in every namespace; the informer did not cache it.
    expect(
      informers
        .find((i) => i.ref === SERVICE_ACCOUNT)!
        .list()
        .map((s) => s.metadata.name),
    ).toEqual(['paddock-agent']);
  });
});
