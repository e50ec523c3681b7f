// Offline NetworkPolicy analysis: the local cluster has no CNI, so policies are
// stored but never enforced. This evaluates them instead with cyclonus
// (github.com/mattfenwick/cyclonus, `analyze --mode query-traffic`), built from
// its Go module on first use by cluster/build-netpol-analyzer.sh.
//
// The caller describes a model (namespaces, pods with labels and IPs), the
// policies, and probes (pod or external IP -> pod or external IP, on a port and
// protocol); each probe comes back with the egress verdict (policies selecting
// the source), the ingress verdict (policies selecting the destination) and
// both combined. See docs/testing.md "NetworkPolicy analysis" for the limits.
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { execFile, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLUSTER_DIR } from '../../../cluster/src/paths.ts';

export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export type Labels = Readonly<Record<string, string>>;

export interface NamespaceModel {
  readonly name: string;
  /** `kubernetes.io/metadata.name: <name>` is added, as the API server does. */
  readonly labels?: Labels;
}

export interface PodModel {
  readonly namespace: string;
  readonly name: string;
  readonly labels?: Labels;
  readonly ip: string;
}

export interface PodRef {
  readonly namespace: string;
  readonly name: string;
}

/**
 * An IP address. The IP of a modelled pod means that pod; any other is outside the pod
 * network (the internet, a node, a Service IP: Services and their DNAT are not modelled).
 */
export interface ExternalRef {
  readonly ip: string;
}

export type Endpoint = PodRef | ExternalRef;

export interface Probe {
  readonly from: Endpoint;
  readonly to: Endpoint;
  readonly port: number;
  /** Default TCP. */
  readonly protocol?: Protocol;
  /** The destination container's port name, for policies that name ports. */
  readonly portName?: string;
}

export interface NetpolModel {
  readonly namespaces: readonly NamespaceModel[];
  readonly pods: readonly PodModel[];
  readonly policies: readonly V1NetworkPolicy[];
}

export interface Verdict {
  readonly probe: Probe;
  /** Egress and ingress both allow it. */
  readonly allowed: boolean;
  /** No policy selects the source for egress, or one of those that do allows it (always true from an external IP). */
  readonly egress: boolean;
  /** No policy selects the destination for ingress, or one of those that do allows it (always true to an external IP). */
  readonly ingress: boolean;
}

const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

let binaryPath: string | undefined;

/** Builds cyclonus on first use (about 1-2.5 minutes), then reuses the cached binary; returns its path. */
export function ensureNetpolAnalyzer(): string {
  if (binaryPath) return binaryPath;
  const script = join(CLUSTER_DIR, 'build-netpol-analyzer.sh');
  // stdout carries only the binary path; the build log goes to stderr (inherited).
  const res = spawnSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (res.status !== 0) {
    throw new Error(`building the NetworkPolicy analyzer failed (exit ${res.status}); see the log above`);
  }
  const path = res.stdout.trim().split('\n').pop() ?? '';
  if (!path) throw new Error('cluster/build-netpol-analyzer.sh printed no binary path');
  binaryPath = path;
  return path;
}

export function isPodRef(e: Endpoint): e is PodRef {
  return 'name' in e;
}

/** `team-a/patcher -> 140.82.113.5:443/TCP`: a readable name for a probe (test tables, messages). */
export function describeProbe(p: Probe): string {
  const end = (e: Endpoint): string => (isPodRef(e) ? `${e.namespace}/${e.name}` : e.ip);
  return `${end(p.from)} -> ${end(p.to)}:${p.port}/${p.protocol ?? 'TCP'}`;
}

/** Evaluates every probe against the policies; verdicts come back in probe order. */
export async function analyze(
  input: NetpolModel & { readonly probes: readonly Probe[] },
): Promise<Verdict[]> {
  if (input.probes.length === 0) return [];
  const traffic = input.probes.map((p) => toTraffic(input, p));
  const policies = input.policies.map(toPolicyDocument);
  const bin = ensureNetpolAnalyzer();

  const dir = await mkdtemp(join(tmpdir(), 'paddock-netpol-'));
  try {
    const policyDir = join(dir, 'policies');
    await mkdir(policyDir);
    // cyclonus reads one policy (or one NetworkPolicyList) per file, strictly.
    await Promise.all(
      policies.map((doc, i) => writeFile(join(policyDir, `${i}.json`), JSON.stringify(doc), 'utf8')),
    );
    const trafficPath = join(dir, 'traffic.json');
    await writeFile(trafficPath, JSON.stringify(traffic), 'utf8');
    const stdout = await run(bin, [
      'analyze',
      '--mode',
      'query-traffic',
      '--policy-path',
      policyDir,
      '--traffic-path',
      trafficPath,
      '--verbosity',
      'warn',
    ]);
    const results = parseQueryTraffic(stdout);
    if (results.length !== input.probes.length) {
      throw new Error(`cyclonus answered ${results.length} of ${input.probes.length} probes:\n${stdout}`);
    }
    return results.map((r, i) => ({ probe: input.probes[i] as Probe, ...r }));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function run(bin: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`cyclonus ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

// --- model -> cyclonus input -------------------------------------------------

interface TrafficPeer {
  Internal?: { PodLabels: Labels; NamespaceLabels: Labels; Namespace: string };
  IP: string;
}

interface Traffic {
  Source: TrafficPeer;
  Destination: TrafficPeer;
  Protocol: Protocol;
  ResolvedPort: number;
  ResolvedPortName: string;
}

function toTraffic(model: NetpolModel, p: Probe): Traffic {
  if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) {
    throw new Error(`probe ${describeProbe(p)}: port must be 1-65535`);
  }
  return {
    Source: toPeer(model, p.from),
    Destination: toPeer(model, p.to),
    Protocol: p.protocol ?? 'TCP',
    ResolvedPort: p.port,
    ResolvedPortName: p.portName ?? '',
  };
}

function toPeer(model: NetpolModel, e: Endpoint): TrafficPeer {
  let pod: PodModel | undefined;
  if (isPodRef(e)) {
    pod = model.pods.find((p) => p.namespace === e.namespace && p.name === e.name);
    if (!pod) throw new Error(`pod ${e.namespace}/${e.name} is not in the model`);
  } else {
    if (!isIP(e.ip)) throw new Error(`not an IP address: ${e.ip}`);
    // A pod's IP is that pod: policies select it by its labels, not only by ipBlock.
    pod = model.pods.find((p) => p.ip === e.ip);
    if (!pod) return { IP: e.ip };
  }
  if (!isIP(pod.ip)) throw new Error(`pod ${pod.namespace}/${pod.name}: not an IP address: ${pod.ip}`);
  const ns = model.namespaces.find((n) => n.name === pod.namespace);
  if (!ns) throw new Error(`namespace ${pod.namespace} (of pod ${pod.name}) is not in the model`);
  return {
    Internal: {
      PodLabels: pod.labels ?? {},
      NamespaceLabels: { ...ns.labels, [NAMESPACE_NAME_LABEL]: ns.name },
      Namespace: ns.name,
    },
    IP: pod.ip,
  };
}

/** Only what the policy means; cyclonus parses strictly against k8s.io/api v0.30 types. */
function toPolicyDocument(np: V1NetworkPolicy): object {
  const name = np.metadata?.name;
  const namespace = np.metadata?.namespace;
  if (!name || !namespace) throw new Error('a NetworkPolicy needs metadata.name and metadata.namespace');
  if (!np.spec?.policyTypes?.length) {
    // The API server fills policyTypes in; a hand-written policy must say it.
    throw new Error(`NetworkPolicy ${namespace}/${name}: spec.policyTypes is required here`);
  }
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace, ...(np.metadata?.labels ? { labels: np.metadata.labels } : {}) },
    spec: np.spec,
  };
}

// --- cyclonus output -> verdicts ---------------------------------------------

/**
 * Reads the "Is traffic allowed?" tables of `analyze --mode query-traffic`, one per
 * traffic in input order. Each lists the policy targets selecting the source
 * (Egress) and the destination (Ingress) as Allow or Deny; a direction allows the
 * traffic when no target selects the pod or one of them allows it. The table
 * footer carries cyclonus's own combined answer, which must agree.
 */
export function parseQueryTraffic(stdout: string): Omit<Verdict, 'probe'>[] {
  const lines = stdout.split('\n');
  const out: Omit<Verdict, 'probe'>[] = [];
  let i = 0;
  while (i < lines.length) {
    if (lines[i]?.trim() !== 'Is traffic allowed?') {
      i++;
      continue;
    }
    const seen = { Ingress: { Allow: false, Deny: false }, Egress: { Allow: false, Deny: false } };
    let type = '';
    let action = '';
    let header = true;
    let footer: boolean | undefined;
    for (i++; i < lines.length; i++) {
      const line = lines[i] ?? '';
      if (!line.startsWith('|')) continue; // borders
      const cells = line.split('|').map((c) => c.trim());
      const [, c1 = '', c2 = '', c3 = ''] = cells;
      if (header) {
        if (c1 !== 'TYPE' || c2 !== 'ACTION') throw new Error(`unexpected cyclonus table header: ${line}`);
        header = false;
        continue;
      }
      if (c1 === 'IS ALLOWED?') {
        if (c2 !== 'TRUE' && c2 !== 'FALSE') throw new Error(`unexpected cyclonus verdict: ${line}`);
        footer = c2 === 'TRUE';
        break;
      }
      // Merged cells leave the type and action blank on continuation rows.
      if (c1) type = c1;
      if (c2) action = c2;
      if (!c3) continue;
      if ((type !== 'Ingress' && type !== 'Egress') || (action !== 'Allow' && action !== 'Deny')) {
        throw new Error(`unexpected cyclonus table row: ${line}`);
      }
      seen[type][action] = true;
    }
    if (footer === undefined) throw new Error('cyclonus output ended inside a table');
    const ingress = seen.Ingress.Allow || !seen.Ingress.Deny;
    const egress = seen.Egress.Allow || !seen.Egress.Deny;
    if (footer !== (ingress && egress)) {
      throw new Error(`could not read cyclonus's table consistently (verdict ${footer}):\n${stdout}`);
    }
    out.push({ allowed: footer, egress, ingress });
  }
  return out;
}
