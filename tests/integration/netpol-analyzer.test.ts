// The NetworkPolicy analyzer (cyclonus, offline) on hand-written policies in the
// shape Paddock writes: the per-namespace default deny for agent pods (DNS only)
// and a per-Agent egress policy. It lives with the integration tests because it
// needs the built binary; it starts no cluster.
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Endpoint, NetpolModel, PodRef, Probe, Protocol, Verdict } from './support/netpol-analyzer.ts';
import { analyze, describeProbe, ensureNetpolAnalyzer, isPodRef } from './support/netpol-analyzer.ts';

const defaultDeny: V1NetworkPolicy = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'paddock-agents-default-deny', namespace: 'team-a' },
  spec: {
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
        ],
      },
    ],
  },
};

const patcherEgress: V1NetworkPolicy = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'paddock-agent-patcher', namespace: 'team-a' },
  spec: {
    podSelector: { matchLabels: { 'paddock.dev/agent': 'patcher' } },
    policyTypes: ['Egress'],
    egress: [{ to: [{ ipBlock: { cidr: '140.82.112.0/20' } }], ports: [{ protocol: 'TCP', port: 443 }] }],
  },
};

const model: NetpolModel = {
  namespaces: [{ name: 'team-a' }, { name: 'kube-system' }, { name: 'paddock-system' }, { name: 'default' }],
  pods: [
    {
      namespace: 'team-a',
      name: 'scanner',
      labels: { 'paddock.dev/agent-pod': 'true', 'paddock.dev/agent': 'scanner' },
      ip: '10.244.1.10',
    },
    {
      namespace: 'team-a',
      name: 'patcher',
      labels: { 'paddock.dev/agent-pod': 'true', 'paddock.dev/agent': 'patcher' },
      ip: '10.244.1.11',
    },
    { namespace: 'kube-system', name: 'coredns', labels: { 'k8s-app': 'kube-dns' }, ip: '10.96.0.10' },
    {
      namespace: 'paddock-system',
      name: 'operator',
      labels: { 'app.kubernetes.io/name': 'paddock' },
      ip: '10.244.0.20',
    },
    { namespace: 'default', name: 'web', labels: { app: 'web' }, ip: '10.244.2.30' },
  ],
  policies: [defaultDeny, patcherEgress],
};

const scanner: PodRef = { namespace: 'team-a', name: 'scanner' };
const patcher: PodRef = { namespace: 'team-a', name: 'patcher' };
const dns: PodRef = { namespace: 'kube-system', name: 'coredns' };
const operator: PodRef = { namespace: 'paddock-system', name: 'operator' };
const web: PodRef = { namespace: 'default', name: 'web' };
const agents = [scanner, patcher];
const isAgent = (e: Endpoint): boolean =>
  isPodRef(e) && agents.some((a) => a.namespace === e.namespace && a.name === e.name);
const github = { ip: '140.82.113.5' }; // inside 140.82.112.0/20
const apiServerService = { ip: '10.0.0.1' };
const apiServerEndpoint = { ip: '172.18.0.2' };

function probe(from: Endpoint, to: Endpoint, port: number, protocol: Protocol = 'TCP'): Probe {
  return { from, to, port, protocol };
}

/** `allow`, or which side denies: `deny(egress)`, `deny(ingress)`, `deny(egress+ingress)`. */
function verdict(v: Verdict): string {
  if (v.allowed) return 'allow';
  return `deny(${[!v.egress && 'egress', !v.ingress && 'ingress'].filter(Boolean).join('+')})`;
}

function table(verdicts: readonly Verdict[]): string[] {
  return verdicts.map((v) => `${describeProbe(v.probe)}  ${verdict(v)}`);
}

describe('NetworkPolicy analyzer (cyclonus, offline)', () => {
  beforeAll(() => {
    ensureNetpolAnalyzer(); // first run on a machine builds it
  }, 600_000);

  it('computes the sandbox table: agents reach only DNS and their declared egress; nothing reaches agents', async () => {
    const expected: [Probe, string][] = [
      // The Agent's declared egress: CIDR and port both have to match.
      [probe(patcher, github, 443), 'allow'],
      [probe(patcher, github, 80), 'deny(egress)'],
      [probe(patcher, github, 443, 'UDP'), 'deny(egress)'],
      [probe(patcher, { ip: '8.8.8.8' }, 443), 'deny(egress)'],
      [probe(scanner, github, 443), 'deny(egress)'],
      // Cluster DNS, and only DNS, for every agent.
      [probe(scanner, dns, 53, 'UDP'), 'allow'],
      [probe(scanner, dns, 53, 'TCP'), 'allow'],
      [probe(patcher, dns, 53, 'UDP'), 'allow'],
      [probe(patcher, dns, 53, 'TCP'), 'allow'],
      [probe(patcher, dns, 9153), 'deny(egress)'],
      [probe(scanner, { ip: '8.8.8.8' }, 53, 'UDP'), 'deny(egress)'],
      // Agents reach no other pod, nor the operator, nor the API server.
      [probe(patcher, scanner, 8080), 'deny(egress+ingress)'],
      [probe(scanner, patcher, 8080), 'deny(egress+ingress)'],
      [probe(scanner, operator, 8443), 'deny(egress)'],
      [probe(patcher, operator, 8443), 'deny(egress)'],
      [probe(patcher, web, 80), 'deny(egress)'],
      [probe(scanner, apiServerService, 443), 'deny(egress)'],
      [probe(patcher, apiServerService, 443), 'deny(egress)'],
      [probe(patcher, apiServerEndpoint, 6443), 'deny(egress)'],
      // Nothing reaches an agent pod.
      [probe(operator, scanner, 8080), 'deny(ingress)'],
      [probe(operator, patcher, 8080), 'deny(ingress)'],
      [probe(web, patcher, 8080), 'deny(ingress)'],
      [probe(dns, scanner, 8080), 'deny(ingress)'],
      [probe(github, patcher, 443), 'deny(ingress)'],
      [probe(web, { ip: '10.244.1.11' }, 8080), 'deny(ingress)'], // patcher's IP is patcher
      // Controls: pods no policy selects keep talking, so the analyzer is not denying everything.
      [probe(web, operator, 8443), 'allow'],
      [probe(operator, web, 80), 'allow'],
      [probe(operator, apiServerService, 443), 'allow'],
      [probe(web, dns, 53, 'UDP'), 'allow'],
    ];
    const verdicts = await analyze({ ...model, probes: expected.map(([p]) => p) });
    expect(table(verdicts)).toEqual(expected.map(([p, v]) => `${describeProbe(p)}  ${v}`));
  });

  it('denies every pod-to-agent probe and every agent-to-pod probe except DNS', async () => {
    const ports: [number, Protocol][] = [
      [53, 'UDP'],
      [53, 'TCP'],
      [80, 'TCP'],
      [443, 'TCP'],
      [8080, 'TCP'],
    ];
    // Every ordered pair of distinct pods with an agent on either end (agent-to-agent once).
    const probes = new Map<string, Probe>();
    for (const from of model.pods) {
      for (const to of model.pods) {
        if (from === to || (!isAgent(from) && !isAgent(to))) continue;
        for (const [port, protocol] of ports) {
          const p = probe(from, to, port, protocol);
          probes.set(describeProbe(p), p);
        }
      }
    }
    const verdicts = await analyze({ ...model, probes: [...probes.values()] });
    const allowed = verdicts.filter((v) => v.allowed).map((v) => describeProbe(v.probe));
    expect(allowed.sort()).toEqual([
      'team-a/patcher -> kube-system/coredns:53/TCP',
      'team-a/patcher -> kube-system/coredns:53/UDP',
      'team-a/scanner -> kube-system/coredns:53/TCP',
      'team-a/scanner -> kube-system/coredns:53/UDP',
    ]);
    // Traffic into an agent pod is always refused by the agent's ingress side.
    const intoAgents = verdicts.filter((v) => isAgent(v.probe.to));
    expect(intoAgents).toHaveLength(agents.length * (model.pods.length - 1) * ports.length);
    expect(intoAgents.every((v) => !v.ingress)).toBe(true);
  });

  it('rejects a probe naming a pod the model does not have', async () => {
    await expect(
      analyze({ ...model, probes: [probe(scanner, { namespace: 'team-a', name: 'ghost' }, 80)] }),
    ).rejects.toThrow(/team-a\/ghost is not in the model/);
  });
});
