// The sandbox around agent pods, per namespace that runs agents (docs/agent-authors.md, "Network" and
// "Resources"; docs/security.md, "What an agent can reach"). Pure.
//
// - a default-deny NetworkPolicy for agent pods: no ingress, egress only to cluster DNS;
// - one egress NetworkPolicy per Agent that declares spec.egress (NetworkPolicies are additive:
//   an agent pod may reach the union of what the policies selecting it allow);
// - a ResourceQuota and a LimitRange for agent workloads (operator defaults, overridable per
//   namespace by annotations on the Namespace);
// - a ServiceAccount for agent pods with no token and no RBAC.
//
// Also the comparison of a desired object with the cached one, modulo what the API server
// defaults or canonicalizes, so the reconciler writes only when something really differs.
import type { ResourceRef } from '../../api/constants.ts';
import { API_VERSION } from '../../api/constants.ts';
import type { Agent } from '../../api/generated/index.ts';
import {
  ANNOTATION_NS_DEFAULT_CPU_LIMIT,
  ANNOTATION_NS_DEFAULT_CPU_REQUEST,
  ANNOTATION_NS_DEFAULT_MEMORY_LIMIT,
  ANNOTATION_NS_DEFAULT_MEMORY_REQUEST,
  ANNOTATION_NS_QUOTA_CPU,
  ANNOTATION_NS_QUOTA_MEMORY,
  ANNOTATION_NS_QUOTA_PODS,
  LABEL_AGENT,
  LABEL_AGENT_POD,
  LABEL_MANAGED_BY,
  LABEL_SANDBOX_COMPONENT,
  MANAGED_BY_VALUE,
  SANDBOX_COMPONENT_AGENT_EGRESS,
  SANDBOX_COMPONENT_DEFAULT_DENY,
  SANDBOX_COMPONENT_LIMIT_RANGE,
  SANDBOX_COMPONENT_QUOTA,
  SANDBOX_COMPONENT_SERVICE_ACCOUNT,
  SANDBOX_DEFAULT_DENY_POLICY,
  SANDBOX_LIMIT_RANGE,
  SANDBOX_QUOTA,
  SANDBOX_SERVICE_ACCOUNT,
  agentEgressPolicyName,
} from '../../api/labels.ts';
import { tryParseQuantity } from '../../api/quantity.ts';
import type { ResourcePair, SandboxConfig } from '../../config.ts';
import {
  LIMIT_RANGE,
  NETWORK_POLICY,
  RESOURCE_QUOTA,
  SERVICE_ACCOUNT,
  type LabelSelector,
  type LimitRange,
  type LimitRangeItem,
  type Namespace,
  type NetworkPolicy,
  type NetworkPolicyEgressRule,
  type NetworkPolicyIngressRule,
  type NetworkPolicyPeer,
  type NetworkPolicyPort,
  type NetworkPolicySpec,
  type ResourceList,
  type ResourceQuota,
  type ServiceAccount,
} from '../../kube/core-types.ts';
import type { KubeObject, OwnerReference } from '../../kube/types.ts';
import { jsonEqual } from '../../api/json-equal.ts';

/** Selects the objects the sandbox informers cache (everything Paddock creates carries it). */
export const SANDBOX_OWNED_SELECTOR = `${LABEL_MANAGED_BY}=${MANAGED_BY_VALUE}`;

/** One object of the sandbox and the resource it is. */
export interface DesiredObject {
  readonly ref: ResourceRef;
  readonly object: KubeObject;
}

/** A Namespace annotation that was ignored, and why. */
export interface OverrideProblem {
  readonly annotation: string;
  readonly value: string;
  readonly message: string;
}

export interface DesiredSandbox {
  /** Namespace-wide objects first, then one egress policy per Agent that has egress. */
  readonly objects: readonly DesiredObject[];
  /** Names of the per-Agent egress policies that should exist. */
  readonly egressPolicies: ReadonlySet<string>;
  /** The quota and LimitRange values used, after Namespace overrides. */
  readonly settings: SandboxConfig;
  readonly problems: readonly OverrideProblem[];
}

/**
 * Everything the sandbox of `namespace` should hold, given the Agents in it. Agents being
 * deleted count as gone (their policy goes with them).
 */
export function desiredSandbox(
  namespace: Namespace,
  agents: readonly Agent[],
  defaults: SandboxConfig,
): DesiredSandbox {
  const ns = namespace.metadata.name ?? '';
  const { settings, problems } = sandboxSettings(namespace, defaults);
  const objects: DesiredObject[] = [
    { ref: NETWORK_POLICY, object: defaultDenyPolicy(ns) },
    { ref: RESOURCE_QUOTA, object: sandboxQuota(ns, settings) },
    { ref: LIMIT_RANGE, object: sandboxLimitRange(ns, settings) },
    { ref: SERVICE_ACCOUNT, object: sandboxServiceAccount(ns) },
  ];
  const egressPolicies = new Set<string>();
  const live = agents
    .filter((a) => !a.metadata.deletionTimestamp)
    .sort((a, b) => ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1));
  for (const agent of live) {
    const policy = agentEgressPolicy(agent);
    if (!policy) continue;
    objects.push({ ref: NETWORK_POLICY, object: policy });
    egressPolicies.add(policy.metadata.name ?? '');
  }
  return { objects, egressPolicies, settings, problems };
}

function sandboxLabels(component: string): Record<string, string> {
  return { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE, [LABEL_SANDBOX_COMPONENT]: component };
}

// --- NetworkPolicies -------------------------------------------------------------------------

/**
 * Cluster DNS: the kube-dns (CoreDNS) pods in kube-system. A policy sees a Service's traffic after it
 * was forwarded, at the pod's own port, which is 53 in most clusters but not all (a DNS pod run as
 * non-root listens on a high port behind the Service's 53): so the pods' named ports `dns` (UDP) and
 * `dns-tcp` (TCP), the names kube-dns and CoreDNS deployments give them, are allowed too. Only those
 * pods, so no other destination gains anything.
 */
const DNS_EGRESS: NetworkPolicyEgressRule = {
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
};

/**
 * Isolates every agent pod in both directions: no ingress rule (nothing may connect to an
 * agent, including other agents), and egress only to cluster DNS. Per-Agent policies add the
 * destinations an Agent declares; nothing else (the operator, the API server, other pods)
 * is reachable.
 */
export function defaultDenyPolicy(namespace: string): NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name: SANDBOX_DEFAULT_DENY_POLICY,
      namespace,
      labels: sandboxLabels(SANDBOX_COMPONENT_DEFAULT_DENY),
    },
    spec: {
      podSelector: { matchLabels: { [LABEL_AGENT_POD]: 'true' } },
      policyTypes: ['Ingress', 'Egress'],
      egress: [DNS_EGRESS],
    },
  };
}

/**
 * The egress an Agent declares, for the pods of that Agent only; undefined when it declares
 * none. Owned by the Agent, so deleting the Agent deletes it (garbage collection). An entry
 * without ports allows every port and protocol to its CIDR.
 */
export function agentEgressPolicy(agent: Agent): NetworkPolicy | undefined {
  const egress = agent.spec.egress ?? [];
  const name = agent.metadata.name ?? '';
  if (egress.length === 0) return undefined;
  const owner: OwnerReference = {
    apiVersion: API_VERSION,
    kind: 'Agent',
    name,
    uid: agent.metadata.uid ?? '',
    controller: true,
  };
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name: agentEgressPolicyName(name),
      namespace: agent.metadata.namespace ?? '',
      labels: { ...sandboxLabels(SANDBOX_COMPONENT_AGENT_EGRESS), [LABEL_AGENT]: name },
      ...(agent.metadata.uid ? { ownerReferences: [owner] } : {}),
    },
    spec: {
      podSelector: { matchLabels: { [LABEL_AGENT_POD]: 'true', [LABEL_AGENT]: name } },
      policyTypes: ['Egress'],
      egress: egress.map((rule) => {
        const protocol = rule.protocol ?? 'TCP';
        const ports = rule.ports ?? [];
        return {
          to: [{ ipBlock: { cidr: canonicalCidr(rule.cidr) } }],
          ...(ports.length > 0 ? { ports: ports.map((port) => ({ protocol, port })) } : {}),
        };
      }),
    },
  };
}

// --- ResourceQuota, LimitRange, ServiceAccount -----------------------------------------------

/**
 * The quota for agent workloads. Scope Terminating: it counts only pods that set
 * spec.activeDeadlineSeconds, which every agent pod does (buildAgentPod) and ordinary workloads
 * (Deployments, StatefulSets) do not, so the namespace's other pods neither count against it nor
 * must declare requests and limits to be admitted. Quota is charged while a pod is not yet
 * Succeeded or Failed.
 */
export function sandboxQuota(namespace: string, settings: SandboxConfig): ResourceQuota {
  const { pods, cpu, memory } = settings.quota;
  return {
    apiVersion: 'v1',
    kind: 'ResourceQuota',
    metadata: { name: SANDBOX_QUOTA, namespace, labels: sandboxLabels(SANDBOX_COMPONENT_QUOTA) },
    spec: {
      scopes: ['Terminating'],
      hard: {
        pods: String(pods),
        'requests.cpu': cpu,
        'requests.memory': memory,
        'limits.cpu': cpu,
        'limits.memory': memory,
      },
    },
  };
}

/**
 * Container defaults for the namespace. A LimitRange has no selector, so it fills in requests
 * and limits for any container in the namespace that sets none; agent pods always set both
 * (the same defaults, made explicit by buildAgentPod), so for them it is a safety net.
 */
export function sandboxLimitRange(namespace: string, settings: SandboxConfig): LimitRange {
  const { default: def, defaultRequest } = settings.limitRange;
  return {
    apiVersion: 'v1',
    kind: 'LimitRange',
    metadata: {
      name: SANDBOX_LIMIT_RANGE,
      namespace,
      labels: sandboxLabels(SANDBOX_COMPONENT_LIMIT_RANGE),
    },
    spec: {
      limits: [
        {
          type: 'Container',
          default: { cpu: def.cpu, memory: def.memory },
          defaultRequest: { cpu: defaultRequest.cpu, memory: defaultRequest.memory },
        },
      ],
    },
  };
}

/** The identity of agent pods: no API token is mounted, and no RoleBinding names it. */
export function sandboxServiceAccount(namespace: string): ServiceAccount {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: {
      name: SANDBOX_SERVICE_ACCOUNT,
      namespace,
      labels: sandboxLabels(SANDBOX_COMPONENT_SERVICE_ACCOUNT),
    },
    automountServiceAccountToken: false,
  };
}

// --- Namespace overrides ---------------------------------------------------------------------

const QUOTA_PODS_MAX = 10_000;

/**
 * The sandbox settings of a namespace: the operator's defaults, overridden by the Namespace's
 * ANNOTATION_NS_* annotations. An invalid value is ignored (the default is kept) and reported,
 * and so is a pair of defaults whose request would exceed its limit (the API server refuses
 * such a LimitRange).
 */
export function sandboxSettings(
  namespace: Namespace,
  defaults: SandboxConfig,
): { settings: SandboxConfig; problems: OverrideProblem[] } {
  const annotations = namespace.metadata.annotations ?? {};
  const problems: OverrideProblem[] = [];
  const read = (annotation: string): string | undefined => {
    const v = annotations[annotation];
    return v === undefined ? undefined : v.trim();
  };
  const ignore = (annotation: string, value: string, why: string): undefined => {
    problems.push({
      annotation,
      value,
      message: `annotation ${annotation}=${JSON.stringify(value)} ignored: ${why}`,
    });
    return undefined;
  };
  const quantity = (annotation: string, allowZero: boolean): string | undefined => {
    const v = read(annotation);
    if (v === undefined) return undefined;
    const n = tryParseQuantity(v);
    if (n === undefined)
      return ignore(annotation, v, 'not a Kubernetes quantity (examples: 500m, 2, 512Mi, 4Gi)');
    if (n < 0 || (!allowZero && n === 0))
      return ignore(annotation, v, allowZero ? 'must not be negative' : 'must be greater than zero');
    return v;
  };

  let pods: number | undefined;
  const podsText = read(ANNOTATION_NS_QUOTA_PODS);
  if (podsText !== undefined) {
    const n = /^\d+$/.test(podsText) ? Number(podsText) : NaN;
    if (Number.isSafeInteger(n) && n <= QUOTA_PODS_MAX) pods = n;
    else ignore(ANNOTATION_NS_QUOTA_PODS, podsText, `must be an integer between 0 and ${QUOTA_PODS_MAX}`);
  }
  const quotaCpu = quantity(ANNOTATION_NS_QUOTA_CPU, true);
  const quotaMemory = quantity(ANNOTATION_NS_QUOTA_MEMORY, true);

  const pair = (
    resource: keyof ResourcePair,
    requestAnnotation: string,
    limitAnnotation: string,
  ): { request: string; limit: string } => {
    const req = quantity(requestAnnotation, false);
    const lim = quantity(limitAnnotation, false);
    const request = req ?? defaults.limitRange.defaultRequest[resource];
    const limit = lim ?? defaults.limitRange.default[resource];
    if ((tryParseQuantity(request) ?? 0) <= (tryParseQuantity(limit) ?? 0)) return { request, limit };
    // The operator's own defaults are consistent (config validation), so dropping the overrides
    // of this pair always gives a valid LimitRange.
    const why = `the default ${resource} request (${request}) would exceed the default ${resource} limit (${limit})`;
    if (req !== undefined) ignore(requestAnnotation, req, why);
    if (lim !== undefined) ignore(limitAnnotation, lim, why);
    return {
      request: defaults.limitRange.defaultRequest[resource],
      limit: defaults.limitRange.default[resource],
    };
  };
  const cpu = pair('cpu', ANNOTATION_NS_DEFAULT_CPU_REQUEST, ANNOTATION_NS_DEFAULT_CPU_LIMIT);
  const memory = pair('memory', ANNOTATION_NS_DEFAULT_MEMORY_REQUEST, ANNOTATION_NS_DEFAULT_MEMORY_LIMIT);

  return {
    settings: {
      quota: {
        pods: pods ?? defaults.quota.pods,
        cpu: quotaCpu ?? defaults.quota.cpu,
        memory: quotaMemory ?? defaults.quota.memory,
      },
      limitRange: {
        defaultRequest: { cpu: cpu.request, memory: memory.request },
        default: { cpu: cpu.limit, memory: memory.limit },
      },
    },
    problems,
  };
}

// --- CIDRs -----------------------------------------------------------------------------------

/**
 * A CIDR in the form the API server considers canonical: host bits cleared, IPv6 in RFC 5952
 * form. The API server stores ipBlock.cidr as given but warns about other forms ("10.0.0.1/8 is
 * ambiguous", "should be in RFC 5952 canonical format"); NetworkPolicy implementations read the
 * network, which is what this keeps. Text that is not a CIDR is returned unchanged.
 */
export function canonicalCidr(cidr: string): string {
  const slash = cidr.indexOf('/');
  if (slash < 0) return cidr;
  const addr = cidr.slice(0, slash);
  const prefixText = cidr.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return cidr;
  const prefix = Number(prefixText);
  const v4 = parseIPv4(addr);
  if (v4) {
    if (prefix > 32) return cidr;
    return `${maskBytes(v4, prefix).join('.')}/${prefix}`;
  }
  const v6 = parseIPv6(addr);
  if (v6) {
    if (prefix > 128) return cidr;
    const masked = maskBytes(v6, prefix);
    // An IPv4-mapped network is an IPv4 network ("::ffff:10.1.2.3/128" is "10.1.2.3/32").
    if (prefix >= 96 && isIPv4Mapped(masked)) return `${masked.slice(12).join('.')}/${prefix - 96}`;
    return `${formatIPv6(masked)}/${prefix}`;
  }
  return cidr;
}

function parseIPv4(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const bytes = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : NaN));
  return bytes.every((b) => b >= 0 && b <= 255) ? bytes : undefined;
}

/** 16 bytes, or undefined. Accepts "::" compression and a trailing dotted IPv4. */
function parseIPv6(text: string): number[] | undefined {
  let s = text;
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    const v4 = parseIPv4(s.slice(lastColon + 1));
    if (!v4) return undefined;
    tail = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
    // Keep a "::" right before the dotted part ("::1.2.3.4"), drop a single ":" ("::ffff:1.2.3.4").
    const head = s.slice(0, lastColon + 1);
    s = head.endsWith('::') ? head : head.slice(0, -1);
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const group = (g: string): number => (/^[0-9a-fA-F]{1,4}$/.test(g) ? parseInt(g, 16) : NaN);
  const left = halves[0] ? halves[0].split(':').map(group) : [];
  const right = halves.length === 2 && halves[1] ? halves[1].split(':').map(group) : [];
  const fixed = left.length + right.length + tail.length;
  let groups: number[];
  if (halves.length === 2) {
    if (fixed > 7) return undefined;
    groups = [...left, ...new Array<number>(8 - fixed).fill(0), ...right, ...tail];
  } else {
    groups = [...left, ...tail];
  }
  if (groups.length !== 8 || groups.some((g) => Number.isNaN(g))) return undefined;
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

function isIPv4Mapped(bytes: readonly number[]): boolean {
  return bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
}

function maskBytes(bytes: readonly number[], prefix: number): number[] {
  return bytes.map((b, i) => {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    return b & ((0xff << (8 - bits)) & 0xff);
  });
}

/** RFC 5952: lowercase, no leading zeros, the longest run (>= 2) of zero groups as "::". */
function formatIPv6(bytes: readonly number[]): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  // IPv4-mapped addresses keep their dotted tail, as Go's net/netip prints them.
  if (isIPv4Mapped(bytes)) return `::ffff:${bytes.slice(12).join('.')}`;
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

// --- Comparing desired with cached -----------------------------------------------------------
//
// What the API server does to these objects (checked against kube-apiserver 1.35, see
// tests/integration/sandbox.test.ts):
// - NetworkPolicy: ports[].protocol defaults to TCP; policyTypes, when left out, defaults to
//   [Ingress] plus Egress if there are egress rules; an empty ingress/egress list is dropped;
//   ipBlock.cidr is stored as given. spec.podSelector, policyTypes, ingress and egress are
//   atomic for server-side apply, so a forced apply replaces them whole.
// - ResourceQuota and LimitRange: quantities are canonicalized ("8000m" -> "8", "1.5Gi" ->
//   "1536Mi", "0.5Gi" -> "512Mi"); spec.hard is a granular map (other managers may add keys,
//   which an apply neither removes nor needs to), spec.scopes and spec.limits are atomic.
// - ServiceAccount: automountServiceAccountToken is stored as given.
// Comparisons therefore look only at what Paddock sets, with defaults filled in and quantities
// compared by value.

/** A NetworkPolicy spec with the API server's defaults filled in and set-like lists sorted. */
export function normalizeNetworkPolicySpec(spec: NetworkPolicySpec): unknown {
  const ingress = (spec.ingress ?? []).map(normalizeIngressRule);
  const egress = (spec.egress ?? []).map(normalizeEgressRule);
  const policyTypes =
    spec.policyTypes && spec.policyTypes.length > 0
      ? [...new Set(spec.policyTypes)].sort()
      : egress.length > 0
        ? ['Egress', 'Ingress']
        : ['Ingress'];
  return {
    podSelector: normalizeSelector(spec.podSelector),
    policyTypes,
    ...(ingress.length > 0 ? { ingress } : {}),
    ...(egress.length > 0 ? { egress } : {}),
  };
}

function normalizeIngressRule(rule: NetworkPolicyIngressRule): unknown {
  return {
    ...(rule.from && rule.from.length > 0 ? { from: rule.from.map(normalizePeer) } : {}),
    ...(rule.ports && rule.ports.length > 0 ? { ports: rule.ports.map(normalizePort) } : {}),
  };
}

function normalizeEgressRule(rule: NetworkPolicyEgressRule): unknown {
  return {
    ...(rule.to && rule.to.length > 0 ? { to: rule.to.map(normalizePeer) } : {}),
    ...(rule.ports && rule.ports.length > 0 ? { ports: rule.ports.map(normalizePort) } : {}),
  };
}

function normalizePeer(peer: NetworkPolicyPeer): unknown {
  return {
    ...(peer.podSelector ? { podSelector: normalizeSelector(peer.podSelector) } : {}),
    ...(peer.namespaceSelector ? { namespaceSelector: normalizeSelector(peer.namespaceSelector) } : {}),
    ...(peer.ipBlock
      ? {
          ipBlock: {
            cidr: peer.ipBlock.cidr,
            ...(peer.ipBlock.except && peer.ipBlock.except.length > 0
              ? { except: [...peer.ipBlock.except].sort() }
              : {}),
          },
        }
      : {}),
  };
}

function normalizePort(port: NetworkPolicyPort): unknown {
  return {
    protocol: port.protocol ?? 'TCP',
    ...(port.port !== undefined ? { port: port.port } : {}),
    ...(port.endPort !== undefined ? { endPort: port.endPort } : {}),
  };
}

/** An empty selector stays `{}` (it selects everything, unlike an absent one). */
function normalizeSelector(sel: LabelSelector | undefined): unknown {
  const labels = sel?.matchLabels ?? {};
  const exprs = sel?.matchExpressions ?? [];
  return {
    ...(Object.keys(labels).length > 0 ? { matchLabels: labels } : {}),
    ...(exprs.length > 0
      ? {
          matchExpressions: exprs.map((e) => ({
            key: e.key,
            operator: e.operator,
            ...(e.values && e.values.length > 0 ? { values: [...e.values].sort() } : {}),
          })),
        }
      : {}),
  };
}

/** Quantities by value (a number of base units), so "8000m" equals "8". */
export function normalizeResourceList(list: ResourceList | undefined, only?: Iterable<string>): unknown {
  const out: Record<string, number | string> = {};
  const keys = only ? [...only] : Object.keys(list ?? {});
  for (const k of keys) {
    const v = list?.[k];
    if (v === undefined) continue;
    out[k] = tryParseQuantity(String(v)) ?? String(v);
  }
  return out;
}

function normalizeLimitRangeItem(item: LimitRangeItem): unknown {
  const lists = ['default', 'defaultRequest', 'max', 'min', 'maxLimitRequestRatio'] as const;
  const out: Record<string, unknown> = { type: item.type };
  for (const k of lists) {
    const l = item[k];
    if (l && Object.keys(l).length > 0) out[k] = normalizeResourceList(l);
  }
  return out;
}

/**
 * True when `actual` (from the cache) already has everything `desired` sets, modulo API server
 * defaults: the desired labels and owner references (others may add more), and the spec fields
 * Paddock owns. False means a server-side apply of `desired` would change something.
 */
export function sandboxObjectInSync(desired: KubeObject, actual: KubeObject): boolean {
  if (!metadataInSync(desired, actual)) return false;
  switch (desired.kind) {
    case 'NetworkPolicy': {
      const d = desired as NetworkPolicy;
      const a = actual as Partial<NetworkPolicy>;
      if (!a.spec) return false;
      return same(normalizeNetworkPolicySpec(d.spec), normalizeNetworkPolicySpec(a.spec));
    }
    case 'ResourceQuota': {
      const d = desired as ResourceQuota;
      const a = actual as Partial<ResourceQuota>;
      const keys = Object.keys(d.spec.hard ?? {});
      return (
        same(normalizeResourceList(d.spec.hard, keys), normalizeResourceList(a.spec?.hard, keys)) &&
        same([...(d.spec.scopes ?? [])].sort(), [...(a.spec?.scopes ?? [])].sort())
      );
    }
    case 'LimitRange': {
      const d = desired as LimitRange;
      const a = actual as Partial<LimitRange>;
      return same(
        d.spec.limits.map(normalizeLimitRangeItem),
        (a.spec?.limits ?? []).map(normalizeLimitRangeItem),
      );
    }
    case 'ServiceAccount':
      return (
        (actual as ServiceAccount).automountServiceAccountToken ===
        (desired as ServiceAccount).automountServiceAccountToken
      );
    default:
      throw new Error(`sandboxObjectInSync: unsupported kind ${String(desired.kind)}`);
  }
}

function metadataInSync(desired: KubeObject, actual: KubeObject): boolean {
  const labels = actual.metadata.labels ?? {};
  for (const [k, v] of Object.entries(desired.metadata.labels ?? {})) if (labels[k] !== v) return false;
  for (const d of desired.metadata.ownerReferences ?? []) {
    const found = (actual.metadata.ownerReferences ?? []).some(
      (a) =>
        a.uid === d.uid &&
        a.apiVersion === d.apiVersion &&
        a.kind === d.kind &&
        a.name === d.name &&
        (a.controller ?? false) === (d.controller ?? false) &&
        (a.blockOwnerDeletion ?? false) === (d.blockOwnerDeletion ?? false),
    );
    if (!found) return false;
  }
  return true;
}

function same(a: unknown, b: unknown): boolean {
  return jsonEqual(a, b);
}
