// The system under test: a fresh LocalCluster with the CRDs and config/rbac, the
// operator as a child process under its ServiceAccount, and a namespace with a
// simulated Agent. Reuses the integration tests' harness (same cluster, same RBAC,
// same way of running the operator).
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { LocalCluster, stopOrphanedCluster } from '../../cluster/src/local-cluster.ts';
import { installCrds } from '../../cluster/src/crds.ts';
import { CLUSTERS_ROOT, REPO_ROOT } from '../../cluster/src/paths.ts';
import { freePort } from '../../cluster/src/ports.ts';
import { AGENT } from '../../operator/src/api/constants.ts';
import type { Agent } from '../../operator/src/api/generated/index.ts';
import { SANDBOX_SERVICE_ACCOUNT } from '../../operator/src/api/labels.ts';
import { SERVICE_ACCOUNT } from '../../operator/src/kube/core-types.ts';
import { KubeClient } from '../../operator/src/kube/client.ts';
import { kubectlOk } from '../../tests/integration/support/kubectl.ts';
import {
  OPERATOR_NAMESPACE,
  OperatorProcess,
  operatorKubeconfig,
} from '../../tests/integration/support/operator.ts';
import { restrictedNamespace, simAgent } from '../../tests/integration/support/workflows.ts';
import { pooledClient } from './kube.ts';
import { parseMetrics, type Scrape } from './prom.ts';
import { sleep } from './stats.ts';

export interface BenchCluster {
  readonly cluster: LocalCluster;
  readonly kubeconfig: string;
  readonly admin: KubeClient;
  readonly kubeVersion: string;
  kubectl(args: readonly string[], input?: string): string;
}

export async function startCluster(opts: {
  nodes: number;
  apiServerArgs: readonly string[];
  log: (m: string) => void;
  /** With one real kubelet node (cluster/src/real-node.ts); waits this long for another one to stop. */
  realNode?: { lockWaitMs: number };
}): Promise<BenchCluster> {
  // Clusters of crashed bench runs (owner process gone) are cleaned up; concurrent runs are spared.
  try {
    for (const n of readdirSync(CLUSTERS_ROOT)) if (n.startsWith('bench-')) stopOrphanedCluster(n);
  } catch {
    // no clusters yet
  }
  const cluster = new LocalCluster({
    name: `bench-${randomBytes(4).toString('hex')}`,
    nodes: opts.nodes,
    apiServerArgs: opts.apiServerArgs,
    log: opts.log,
    ...(opts.realNode ? { realNode: true, realNodeLockWaitMs: opts.realNode.lockWaitMs } : {}),
  });
  const info = await cluster.start();
  const kubeconfig = info.kubeconfig;
  const kubectl = (args: readonly string[], input?: string): string => kubectlOk(kubeconfig, args, input);
  installCrds(kubectl);
  const admin = await pooledClient(kubeconfig);
  const version = await admin.raw<{ gitVersion?: string }>('GET', '/version');
  return { cluster, kubeconfig, admin, kubeVersion: version.gitVersion ?? 'unknown', kubectl };
}

export interface OperatorOptions {
  readonly workers: number;
  readonly logLevel: string;
  readonly extraArgs: readonly string[];
  /** NODE_OPTIONS for the operator process (e.g. --cpu-prof). */
  readonly nodeOptions: string;
  /** Where its CPU profiles and heap snapshots go. */
  readonly diagnosticDir?: string;
  /** The operator's main script (compiled dist/ by default: what the image runs). */
  readonly entry: string;
}

export class BenchOperator {
  readonly proc: OperatorProcess;
  readonly port: number;
  readonly args: readonly string[];
  readonly diagnosticDir: string | undefined;

  private constructor(proc: OperatorProcess, port: number, args: readonly string[], diagnosticDir?: string) {
    this.proc = proc;
    this.port = port;
    this.args = args;
    this.diagnosticDir = diagnosticDir;
  }

  static async start(env: BenchCluster, o: OperatorOptions): Promise<BenchOperator> {
    const kubeconfig = operatorKubeconfig({
      cluster: env.cluster,
      kubeconfig: env.kubeconfig,
      // operatorKubeconfig only uses kubectl; the harness's own client type is satisfied here.
      admin: KubeClient.load(env.kubeconfig),
      kubectl: (args, input) => env.kubectl(args, input),
    });
    const port = await freePort();
    const args = [
      `--kubeconfig=${kubeconfig}`,
      `--health-addr=127.0.0.1:${port}`,
      '--metrics-addr=0',
      `--log-level=${o.logLevel}`,
      '--leader-elect=false',
      `--lease-namespace=${OPERATOR_NAMESPACE}`,
      `--workers=${o.workers}`,
      ...o.extraArgs,
    ];
    const proc = new OperatorProcess(args, o.nodeOptions ? { NODE_OPTIONS: o.nodeOptions } : {}, o.entry);
    proc.start();
    const op = new BenchOperator(proc, port, args, o.diagnosticDir);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (proc.exited) throw new Error(`operator exited during start:\n${proc.dumpLogs(40)}`);
      try {
        const res = await fetch(`http://127.0.0.1:${port}/readyz`);
        if (res.status === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`operator not ready after 60 s:\n${proc.dumpLogs(40)}`);
      await sleep(100);
    }
    return op;
  }

  get pid(): number {
    const pid = this.proc.pid;
    if (pid === undefined) throw new Error('operator not started');
    return pid;
  }

  async scrape(): Promise<Scrape> {
    const res = await fetch(`http://127.0.0.1:${this.port}/metrics`);
    return parseMetrics(await res.text());
  }

  /** RSS and peak RSS (VmHWM) from /proc, in bytes: free for the operator, unlike a scrape. */
  memory(): { rss: number; hwm: number } {
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const kb = (k: string): number =>
        Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
      return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
    } catch {
      return { rss: NaN, hwm: NaN };
    }
  }

  /** Open sockets of the operator process (its connections to the API server, the probe server). */
  openSockets(): number {
    try {
      let n = 0;
      for (const fd of readdirSync(`/proc/${this.pid}/fd`)) {
        try {
          if (readlinkSync(`/proc/${this.pid}/fd/${fd}`).startsWith('socket:')) n++;
        } catch {
          // closed meanwhile
        }
      }
      return n;
    } catch {
      return NaN;
    }
  }

  /** Waits until the operator's API write counters stop moving (async Events flushed). */
  async settle(maxMs = 10_000): Promise<Scrape> {
    let last = await this.scrape();
    const deadline = Date.now() + maxMs;
    const writes = (s: Scrape): number =>
      s.filter((x) => x.name === 'paddock_api_requests_total').reduce((a, x) => a + x.value, 0);
    while (Date.now() < deadline) {
      await sleep(1000);
      const next = await this.scrape();
      if (writes(next) === writes(last)) return next;
      last = next;
    }
    return last;
  }

  stop(): Promise<number | null> {
    return this.proc.stop();
  }
}

/**
 * The NODE_OPTIONS the shipped Deployment gives the operator (config/manager/manager.yaml), so
 * the benchmark's operator garbage-collects like the real one. "" if the manifest has none.
 */
export function deploymentNodeOptions(): string {
  try {
    const text = readFileSync(join(REPO_ROOT, 'config', 'manager', 'manager.yaml'), 'utf8');
    for (const doc of parseAllDocuments(text)) {
      const d = doc.toJS() as {
        kind?: string;
        spec?: {
          template?: { spec?: { containers?: Array<{ env?: Array<{ name: string; value?: string }> }> } };
        };
      };
      if (d?.kind !== 'Deployment') continue;
      for (const c of d.spec?.template?.spec?.containers ?? [])
        for (const e of c.env ?? []) if (e.name === 'NODE_OPTIONS' && e.value) return e.value;
    }
  } catch {
    // no manifest: no options
  }
  return '';
}

/** The namespace under test: restricted Pod Security, sandbox quota raised so it never gates the run. */
export async function setupNamespace(
  env: BenchCluster,
  admin: KubeClient,
  o: { namespace: string; agent: string; duration: string; result: unknown; quotaPods: number },
): Promise<void> {
  env.kubectl(
    ['apply', '-f', '-'],
    restrictedNamespace(o.namespace, {
      'paddock.dev/agent-quota-pods': String(o.quotaPods),
      'paddock.dev/agent-quota-cpu': '100000',
      'paddock.dev/agent-quota-memory': '100000Gi',
    }),
  );
  const agent: Agent = simAgent(o.agent, o.namespace, { result: o.result, duration: o.duration });
  await admin.create(AGENT, agent);
  await waitServiceAccount(admin, o.namespace, SANDBOX_SERVICE_ACCOUNT);
}

/**
 * Waits up to 60 s until a ServiceAccount exists: `default` (bare pods need it), or the sandbox's agent
 * ServiceAccount, which the sandbox controller creates (agent pods are refused until it exists).
 */
export async function waitServiceAccount(
  admin: KubeClient,
  namespace: string,
  name = 'default',
): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await admin.get(SERVICE_ACCOUNT, namespace, name);
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`no ServiceAccount ${name} in ${namespace} after 60 s`);
      await sleep(100);
    }
  }
}
