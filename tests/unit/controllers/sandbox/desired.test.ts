import { describe, expect, it } from 'vitest';
import type { Agent, AgentSpec } from '../../../../operator/src/api/generated/index.ts';
import type { SandboxConfig } from '../../../../operator/src/config.ts';
import {
  agentEgressPolicy,
  canonicalCidr,
  defaultDenyPolicy,
  desiredSandbox,
  normalizeNetworkPolicySpec,
  sandboxLimitRange,
  sandboxObjectInSync,
  sandboxQuota,
  sandboxServiceAccount,
  sandboxSettings,
  SANDBOX_OWNED_SELECTOR,
} from '../../../../operator/src/controllers/sandbox/desired.ts';
import type { Namespace, NetworkPolicy, ResourceQuota } from '../../../../operator/src/kube/core-types.ts';

const DEFAULTS: SandboxConfig = {
  quota: { pods: 50, cpu: '8', memory: '16Gi' },
  limitRange: { defaultRequest: { cpu: '100m', memory: '128Mi' }, default: { cpu: '1', memory: '512Mi' } },
};

function ns(annotations: Record<string, string> = {}): Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', uid: 'ns-uid', annotations } };
}

function agent(name: string, spec: Partial<AgentSpec> = {}, meta: Partial<Agent['metadata']> = {}): Agent {
  return {
    apiVersion: 'paddock.dev/v1alpha1',
    kind: 'Agent',
    metadata: { name, namespace: 'team-a', uid: `uid-${name}`, generation: 1, ...meta },
    spec: { image: 'x@sha256:00', ...spec },
  };
}

const clone = <T>(o: T): T => structuredClone(o);

describe('default-deny NetworkPolicy', () => {
  it('selects agent pods, allows no ingress and only cluster DNS egress', () => {
    const p = defaultDenyPolicy('team-a');
    expect(p.metadata).toEqual({
      name: 'paddock-agents-default-deny',
      namespace: 'team-a',
      labels: { 'app.kubernetes.io/managed-by': 'paddock', 'paddock.dev/sandbox': 'default-deny' },
    });
    expect(p.spec).toEqual({
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
    expect(p.spec.ingress).toBeUndefined();
  });
});

describe('per-Agent egress NetworkPolicy', () => {
  it('has one rule per egress entry, ports with their protocol (TCP by default), owned by the Agent', () => {
    const p = agentEgressPolicy(
      agent('patcher', {
        egress: [
          { cidr: '140.82.112.0/20', ports: [443, 22] },
          { cidr: '10.0.0.53/32', ports: [53], protocol: 'UDP' },
          { cidr: '192.168.0.0/16' },
        ],
      }),
    )!;
    expect(p.metadata).toEqual({
      name: 'paddock-agent-patcher',
      namespace: 'team-a',
      labels: {
        'app.kubernetes.io/managed-by': 'paddock',
        'paddock.dev/sandbox': 'agent-egress',
        'paddock.dev/agent': 'patcher',
      },
      ownerReferences: [
        {
          apiVersion: 'paddock.dev/v1alpha1',
          kind: 'Agent',
          name: 'patcher',
          uid: 'uid-patcher',
          controller: true,
        },
      ],
    });
    expect(p.spec).toEqual({
      podSelector: { matchLabels: { 'paddock.dev/agent-pod': 'true', 'paddock.dev/agent': 'patcher' } },
      policyTypes: ['Egress'],
      egress: [
        {
          to: [{ ipBlock: { cidr: '140.82.112.0/20' } }],
          ports: [
            { protocol: 'TCP', port: 443 },
            { protocol: 'TCP', port: 22 },
          ],
        },
        { to: [{ ipBlock: { cidr: '10.0.0.53/32' } }], ports: [{ protocol: 'UDP', port: 53 }] },
        // No ports: every port and protocol to that CIDR.
        { to: [{ ipBlock: { cidr: '192.168.0.0/16' } }] },
      ],
    });
  });

  it('does not exist for an Agent without egress', () => {
    expect(agentEgressPolicy(agent('quiet'))).toBeUndefined();
    expect(agentEgressPolicy(agent('quiet', { egress: [] }))).toBeUndefined();
  });

  it('writes CIDRs in canonical form', () => {
    const p = agentEgressPolicy(
      agent('a', { egress: [{ cidr: '10.1.2.3/8' }, { cidr: '2001:DB8:0:0::1/32' }] }),
    )!;
    expect(p.spec.egress?.map((r) => r.to?.[0]?.ipBlock?.cidr)).toEqual(['10.0.0.0/8', '2001:db8::/32']);
  });
});

describe('canonicalCidr', () => {
  it.each([
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['10.1.2.3/8', '10.0.0.0/8'],
    ['10.1.2.3/32', '10.1.2.3/32'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['140.82.127.255/20', '140.82.112.0/20'],
    ['2001:DB8::/32', '2001:db8::/32'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001/128', '2001:db8::1/128'],
    ['2001:db8:0:0:1:0:0:1/128', '2001:db8::1:0:0:1/128'],
    ['2001:db8:0:1:1:1:1:1/128', '2001:db8:0:1:1:1:1:1/128'],
    ['fe80::1/10', 'fe80::/10'],
    ['::/0', '::/0'],
    ['::1/128', '::1/128'],
    ['::ffff:10.1.2.3/128', '10.1.2.3/32'],
    ['::ffff:10.1.2.3/104', '10.0.0.0/8'],
    ['::ffff:0:0/80', '::/80'],
    ['::ffff:0:0/96', '0.0.0.0/0'],
    ['64:ff9b::192.0.2.33/96', '64:ff9b::/96'],
  ])('%s -> %s', (input, want) => {
    expect(canonicalCidr(input)).toBe(want);
  });

  it.each([
    'nonsense',
    '10.0.0.0',
    '10.0.0.0/33',
    '1.2.3.256/8',
    '::1::2/64',
    '1:2:3:4:5:6:7:8:9/64',
    'gggg::/16',
  ])('leaves %s alone', (input) => {
    expect(canonicalCidr(input)).toBe(input);
  });
});

describe('ResourceQuota', () => {
  it('counts agent pods only (scope Terminating) with hard pods, requests and limits', () => {
    const q = sandboxQuota('team-a', DEFAULTS);
    expect(q.metadata).toEqual({
      name: 'paddock-agents',
      namespace: 'team-a',
      labels: { 'app.kubernetes.io/managed-by': 'paddock', 'paddock.dev/sandbox': 'quota' },
    });
    expect(q.spec).toEqual({
      scopes: ['Terminating'],
      hard: {
        pods: '50',
        'requests.cpu': '8',
        'requests.memory': '16Gi',
        'limits.cpu': '8',
        'limits.memory': '16Gi',
      },
    });
  });
});

describe('LimitRange and ServiceAccount', () => {
  it('sets container default and defaultRequest', () => {
    const l = sandboxLimitRange('team-a', DEFAULTS);
    expect(l.metadata.name).toBe('paddock-agents');
    expect(l.metadata.labels).toEqual({
      'app.kubernetes.io/managed-by': 'paddock',
      'paddock.dev/sandbox': 'limit-range',
    });
    expect(l.spec).toEqual({
      limits: [
        {
          type: 'Container',
          default: { cpu: '1', memory: '512Mi' },
          defaultRequest: { cpu: '100m', memory: '128Mi' },
        },
      ],
    });
  });

  it('has a ServiceAccount without a token', () => {
    expect(sandboxServiceAccount('team-a')).toEqual({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: {
        name: 'paddock-agent',
        namespace: 'team-a',
        labels: { 'app.kubernetes.io/managed-by': 'paddock', 'paddock.dev/sandbox': 'service-account' },
      },
      automountServiceAccountToken: false,
    });
  });

  it('labels everything so the sandbox informers (selector managed-by=paddock) see it', () => {
    expect(SANDBOX_OWNED_SELECTOR).toBe('app.kubernetes.io/managed-by=paddock');
    const d = desiredSandbox(ns(), [agent('a', { egress: [{ cidr: '1.2.3.4/32' }] })], DEFAULTS);
    for (const o of d.objects)
      expect(o.object.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('paddock');
  });
});

describe('Namespace overrides', () => {
  it('uses the defaults without annotations', () => {
    expect(sandboxSettings(ns(), DEFAULTS)).toEqual({ settings: DEFAULTS, problems: [] });
  });

  it('applies valid annotations', () => {
    const { settings, problems } = sandboxSettings(
      ns({
        'paddock.dev/agent-quota-pods': '5',
        'paddock.dev/agent-quota-cpu': '2',
        'paddock.dev/agent-quota-memory': ' 4Gi ',
        'paddock.dev/agent-default-cpu-request': '50m',
        'paddock.dev/agent-default-memory-request': '64Mi',
        'paddock.dev/agent-default-cpu-limit': '500m',
        'paddock.dev/agent-default-memory-limit': '256Mi',
        'unrelated.example/annotation': 'x',
      }),
      DEFAULTS,
    );
    expect(problems).toEqual([]);
    expect(settings).toEqual({
      quota: { pods: 5, cpu: '2', memory: '4Gi' },
      limitRange: {
        defaultRequest: { cpu: '50m', memory: '64Mi' },
        default: { cpu: '500m', memory: '256Mi' },
      },
    });
    const q = sandboxQuota('team-a', settings);
    expect(q.spec.hard).toEqual({
      pods: '5',
      'requests.cpu': '2',
      'requests.memory': '4Gi',
      'limits.cpu': '2',
      'limits.memory': '4Gi',
    });
  });

  it('allows a zero quota (no agent pods in this namespace)', () => {
    const { settings, problems } = sandboxSettings(
      ns({ 'paddock.dev/agent-quota-pods': '0', 'paddock.dev/agent-quota-cpu': '0' }),
      DEFAULTS,
    );
    expect(problems).toEqual([]);
    expect(settings.quota).toEqual({ pods: 0, cpu: '0', memory: '16Gi' });
  });

  it('ignores invalid values, keeping the defaults and saying why', () => {
    const { settings, problems } = sandboxSettings(
      ns({
        'paddock.dev/agent-quota-pods': 'many',
        'paddock.dev/agent-quota-cpu': '-1',
        'paddock.dev/agent-quota-memory': '4 GB',
        'paddock.dev/agent-default-cpu-request': '0',
        'paddock.dev/agent-default-memory-limit': 'lots',
      }),
      DEFAULTS,
    );
    expect(settings).toEqual(DEFAULTS);
    expect(problems.map((p) => [p.annotation, p.value])).toEqual([
      ['paddock.dev/agent-quota-pods', 'many'],
      ['paddock.dev/agent-quota-cpu', '-1'],
      ['paddock.dev/agent-quota-memory', '4 GB'],
      ['paddock.dev/agent-default-cpu-request', '0'],
      ['paddock.dev/agent-default-memory-limit', 'lots'],
    ]);
    expect(problems[0]!.message).toBe(
      'annotation paddock.dev/agent-quota-pods="many" ignored: must be an integer between 0 and 10000',
    );
    expect(problems[1]!.message).toContain('must not be negative');
    expect(problems[2]!.message).toContain('not a Kubernetes quantity');
    expect(problems[3]!.message).toContain('must be greater than zero');
  });

  it('rejects pods beyond the bound and fractions', () => {
    for (const v of ['10001', '1.5', '-3', '1e3']) {
      const { settings, problems } = sandboxSettings(ns({ 'paddock.dev/agent-quota-pods': v }), DEFAULTS);
      expect(settings.quota.pods).toBe(50);
      expect(problems).toHaveLength(1);
    }
  });

  it('drops a default request that would exceed its limit (the API server refuses that LimitRange)', () => {
    const { settings, problems } = sandboxSettings(
      ns({ 'paddock.dev/agent-default-cpu-request': '2', 'paddock.dev/agent-default-memory-limit': '2Gi' }),
      DEFAULTS,
    );
    // cpu request 2 > default limit 1: ignored; the memory override is fine.
    expect(settings.limitRange).toEqual({
      defaultRequest: { cpu: '100m', memory: '128Mi' },
      default: { cpu: '1', memory: '2Gi' },
    });
    expect(problems).toEqual([
      {
        annotation: 'paddock.dev/agent-default-cpu-request',
        value: '2',
        message:
          'annotation paddock.dev/agent-default-cpu-request="2" ignored: the default cpu request (2) would exceed the default cpu limit (1)',
      },
    ]);
    // Both sides overridden and inconsistent: both dropped.
    const both = sandboxSettings(
      ns({
        'paddock.dev/agent-default-memory-request': '1Gi',
        'paddock.dev/agent-default-memory-limit': '256Mi',
      }),
      DEFAULTS,
    );
    expect(both.settings).toEqual(DEFAULTS);
    expect(both.problems.map((p) => p.annotation)).toEqual([
      'paddock.dev/agent-default-memory-request',
      'paddock.dev/agent-default-memory-limit',
    ]);
  });
});

describe('desiredSandbox', () => {
  it('holds the namespace objects and one egress policy per Agent with egress, in a stable order', () => {
    const d = desiredSandbox(
      ns(),
      [
        agent('zeta', { egress: [{ cidr: '1.1.1.1/32', ports: [443] }] }),
        agent('quiet'),
        agent('alpha', { egress: [{ cidr: '8.8.8.8/32' }] }),
        agent('leaving', { egress: [{ cidr: '9.9.9.9/32' }] }, { deletionTimestamp: '2025-01-01T00:00:00Z' }),
      ],
      DEFAULTS,
    );
    expect(d.objects.map((o) => `${o.ref.kind}/${o.object.metadata.name}`)).toEqual([
      'NetworkPolicy/paddock-agents-default-deny',
      'ResourceQuota/paddock-agents',
      'LimitRange/paddock-agents',
      'ServiceAccount/paddock-agent',
      'NetworkPolicy/paddock-agent-alpha',
      'NetworkPolicy/paddock-agent-zeta',
    ]);
    expect([...d.egressPolicies]).toEqual(['paddock-agent-alpha', 'paddock-agent-zeta']);
    expect(d.objects.every((o) => o.object.metadata.namespace === 'team-a')).toBe(true);
    expect(d.objects.map((o) => o.ref.plural)).toEqual([
      'networkpolicies',
      'resourcequotas',
      'limitranges',
      'serviceaccounts',
      'networkpolicies',
      'networkpolicies',
    ]);
  });

  it('follows Namespace overrides and reports invalid ones', () => {
    const d = desiredSandbox(
      ns({ 'paddock.dev/agent-quota-pods': '3', 'paddock.dev/agent-quota-cpu': 'x' }),
      [agent('a')],
      DEFAULTS,
    );
    const q = d.objects.find((o) => o.ref.kind === 'ResourceQuota')!.object as ResourceQuota;
    expect(q.spec.hard?.['pods']).toBe('3');
    expect(q.spec.hard?.['requests.cpu']).toBe('8');
    expect(d.problems.map((p) => p.annotation)).toEqual(['paddock.dev/agent-quota-cpu']);
  });
});

// --- normalization and comparison ----------------------------------------------------------

/** What the API server returns for an applied object: defaults filled, quantities canonical, extras. */
function asServerReturns<T extends { metadata: object }>(o: T, extra: object = {}): T {
  const c = clone(o) as T & { metadata: Record<string, unknown> };
  c.metadata = {
    ...c.metadata,
    uid: 'srv-uid',
    resourceVersion: '123',
    creationTimestamp: '2025-01-01T00:00:00Z',
    ...extra,
  };
  delete (c as { apiVersion?: string }).apiVersion; // list items of built-in types have no apiVersion/kind
  delete (c as { kind?: string }).kind;
  return c;
}

describe('sandboxObjectInSync', () => {
  it('treats an unchanged object as in sync despite server metadata and missing apiVersion/kind', () => {
    for (const o of [
      defaultDenyPolicy('team-a'),
      sandboxQuota('team-a', DEFAULTS),
      sandboxLimitRange('team-a', DEFAULTS),
      sandboxServiceAccount('team-a'),
      agentEgressPolicy(agent('a', { egress: [{ cidr: '1.2.3.4/32', ports: [443] }] }))!,
    ]) {
      expect(sandboxObjectInSync(o, asServerReturns(o))).toBe(true);
    }
  });

  it('knows that NetworkPolicy port protocol defaults to TCP, and an omitted policyTypes is derived', () => {
    const d = agentEgressPolicy(agent('a', { egress: [{ cidr: '1.2.3.4/32', ports: [443] }] }))!;
    const a = asServerReturns(d);
    delete a.spec.egress![0]!.ports![0]!.protocol;
    expect(sandboxObjectInSync(d, a)).toBe(true);
    const noTypes = clone(a);
    delete noTypes.spec.policyTypes; // server default: Ingress + Egress (there are egress rules)
    expect(sandboxObjectInSync(d, noTypes)).toBe(false);
    expect(normalizeNetworkPolicySpec(noTypes.spec)).toMatchObject({ policyTypes: ['Egress', 'Ingress'] });
    expect(normalizeNetworkPolicySpec({ podSelector: {} })).toEqual({
      podSelector: {},
      policyTypes: ['Ingress'],
    });
  });

  it('ignores empty lists and order of set-like lists, but not of rules', () => {
    const d = defaultDenyPolicy('team-a');
    const a = asServerReturns(d);
    a.spec.ingress = [];
    a.spec.policyTypes = ['Egress', 'Ingress'];
    expect(sandboxObjectInSync(d, a)).toBe(true);
    const reordered = clone(a);
    reordered.spec.egress![0]!.ports!.reverse();
    expect(sandboxObjectInSync(d, reordered)).toBe(false);
  });

  it('sees drift in a NetworkPolicy: widened selector, extra rule, removed policy type, ingress added', () => {
    const d = defaultDenyPolicy('team-a');
    const edits: Array<(p: NetworkPolicy) => void> = [
      (p) => (p.spec.podSelector = { matchLabels: { 'paddock.dev/agent-pod': 'true', other: 'x' } }),
      (p) => (p.spec.podSelector = {}),
      (p) => p.spec.egress!.push({ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }),
      (p) => (p.spec.policyTypes = ['Egress']),
      (p) => (p.spec.ingress = [{}]),
      (p) => (p.spec.egress![0]!.to![0]!.namespaceSelector = {}),
      (p) => (p.spec.egress![0]!.ports![0]!.port = 5353),
      (p) => delete p.metadata.labels!['paddock.dev/sandbox'],
    ];
    for (const edit of edits) {
      const a = asServerReturns(d);
      edit(a);
      expect(sandboxObjectInSync(d, a), String(edit)).toBe(false);
    }
  });

  it('accepts labels and owners added by others, but not a lost owner reference', () => {
    const d = agentEgressPolicy(agent('a', { egress: [{ cidr: '1.2.3.4/32' }] }))!;
    const a = asServerReturns(d);
    a.metadata.labels = { ...a.metadata.labels, 'team.example/cost-center': '42' };
    a.metadata.ownerReferences = [
      ...a.metadata.ownerReferences!,
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'cm' },
    ];
    expect(sandboxObjectInSync(d, a)).toBe(true);
    const lost = asServerReturns(d);
    lost.metadata.ownerReferences = [];
    expect(sandboxObjectInSync(d, lost)).toBe(false);
    const otherUid = asServerReturns(d);
    otherUid.metadata.ownerReferences![0]!.uid = 'uid-of-an-older-agent';
    expect(sandboxObjectInSync(d, otherUid)).toBe(false);
  });

  it('compares quota quantities by value and only the keys Paddock sets', () => {
    const d = sandboxQuota('team-a', {
      ...DEFAULTS,
      quota: { pods: 50, cpu: '8000m', memory: '1.5Gi' },
    });
    const a = asServerReturns(d);
    // What kube-apiserver 1.35 stored for that apply (see tests/integration/sandbox.test.ts).
    a.spec.hard = {
      pods: '50',
      'requests.cpu': '8',
      'requests.memory': '1536Mi',
      'limits.cpu': '8',
      'limits.memory': '1536Mi',
      services: '3', // added by someone else: not ours to judge
    };
    a.status = { used: { pods: '1' } };
    expect(sandboxObjectInSync(d, a)).toBe(true);
    const edited = clone(a);
    edited.spec.hard!['pods'] = '500';
    expect(sandboxObjectInSync(d, edited)).toBe(false);
    const removed = clone(a);
    delete removed.spec.hard!['limits.memory'];
    expect(sandboxObjectInSync(d, removed)).toBe(false);
    const unscoped = clone(a);
    unscoped.spec.scopes = [];
    expect(sandboxObjectInSync(d, unscoped)).toBe(false);
  });

  it('compares LimitRange items whole, quantities by value', () => {
    const d = sandboxLimitRange('team-a', {
      ...DEFAULTS,
      limitRange: {
        defaultRequest: { cpu: '0.1', memory: '0.5Gi' },
        default: { cpu: '1000m', memory: '512Mi' },
      },
    });
    const a = asServerReturns(d);
    a.spec.limits = [
      {
        type: 'Container',
        default: { cpu: '1', memory: '512Mi' },
        defaultRequest: { cpu: '100m', memory: '512Mi' },
      },
    ];
    expect(sandboxObjectInSync(d, a)).toBe(true);
    const withMax = clone(a);
    withMax.spec.limits[0]!.max = { cpu: '2' };
    expect(sandboxObjectInSync(d, withMax)).toBe(false);
    const extraItem = clone(a);
    extraItem.spec.limits.push({ type: 'Pod', max: { cpu: '4' } });
    expect(sandboxObjectInSync(d, extraItem)).toBe(false);
    const changed = clone(a);
    changed.spec.limits[0]!.default = { cpu: '4', memory: '512Mi' };
    expect(sandboxObjectInSync(d, changed)).toBe(false);
  });

  it('sees a ServiceAccount that would mount a token', () => {
    const d = sandboxServiceAccount('team-a');
    const a = asServerReturns(d);
    a.automountServiceAccountToken = true;
    expect(sandboxObjectInSync(d, a)).toBe(false);
    delete a.automountServiceAccountToken;
    expect(sandboxObjectInSync(d, a)).toBe(false);
  });
});
