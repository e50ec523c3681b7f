// `make demo`: the quick start, end to end.
//
// Uses the cluster in your kubeconfig when one is configured and reachable;
// otherwise starts the embedded local control plane (etcd, kube-apiserver,
// controller-manager, scheduler, KWOK). Then it installs the CRDs and the
// operator's RBAC, runs the operator under its own ServiceAccount, applies the
// examples and shows their status as the operator reconciles them.
//
//   --keep        leave the local cluster and the operator running at the end
//   --timeout S   give up after S seconds (default 180)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster } from '../../cluster/src/local-cluster.ts';
import { REPO_ROOT } from '../../cluster/src/paths.ts';
import { ensureTools } from '../../cluster/src/tools.ts';
import { writeKubeconfig } from '../../cluster/src/kubeconfig.ts';
import { loadConnection } from '../src/kube/kubeconfig.ts';
import { AGENT, WORKFLOW } from '../src/api/constants.ts';
import type { Agent, Workflow } from '../src/api/generated/index.ts';
import { KubeClient } from '../src/kube/client.ts';

const args = process.argv.slice(2);
const keep = args.includes('--keep');
const timeoutIdx = args.indexOf('--timeout');
const timeoutMs = (timeoutIdx >= 0 ? Number(args[timeoutIdx + 1]) : 180) * 1000;
const DEMO_NS = 'paddock-demo';
const OPERATOR_NS = 'paddock-system';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const say = (msg: string): void => {
  process.stdout.write(`\u001b[1m==>\u001b[0m ${msg}\n`);
};

function plugin(kubeconfig: string, pargs: readonly string[]): string {
  const res = spawnSync(
    process.execPath,
    [join(REPO_ROOT, 'cli', 'bin', 'kubectl-paddock.mjs'), '--kubeconfig', kubeconfig, ...pargs],
    {
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  if (res.status !== 0) throw new Error(`kubectl paddock ${pargs.join(' ')}: ${res.stderr || res.stdout}`);
  return res.stdout;
}

function kubectl(kubeconfig: string, kargs: readonly string[], input?: string): string {
  const { kubectl: bin } = ensureTools();
  const res = spawnSync(bin, ['--kubeconfig', kubeconfig, ...kargs], {
    encoding: 'utf8',
    input,
    timeout: 120_000,
  });
  if (res.status !== 0) throw new Error(`kubectl ${kargs.join(' ')}: ${res.stderr}`);
  return res.stdout;
}

async function configuredCluster(): Promise<string | undefined> {
  const path = process.env['KUBECONFIG'] ?? join(homedir(), '.kube', 'config');
  if (!existsSync(path.split(':')[0] ?? '')) return undefined;
  try {
    const client = KubeClient.load(path.split(':')[0], { requestTimeoutMs: 5000 });
    await client.raw('GET', '/version');
    return path.split(':')[0];
  } catch {
    say(`kubeconfig ${path} is not reachable; using the embedded local control plane instead`);
    return undefined;
  }
}

/** A kubeconfig that authenticates as the operator's ServiceAccount (least privilege). */
function operatorKubeconfig(adminKubeconfig: string, dir: string): string {
  kubectl(
    adminKubeconfig,
    ['apply', '-f', '-'],
    `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${OPERATOR_NS}\n`,
  );
  kubectl(adminKubeconfig, ['apply', '-k', join(REPO_ROOT, 'config', 'rbac')]);
  // The admission policies that make Approval decisions trustworthy (docs/approvals.md).
  kubectl(adminKubeconfig, ['apply', '--server-side', '-k', join(REPO_ROOT, 'config', 'admission')]);
  const token = kubectl(adminKubeconfig, [
    'create',
    'token',
    'paddock-operator',
    '-n',
    OPERATOR_NS,
    '--duration=24h',
  ]).trim();
  const conn = loadConnection(adminKubeconfig);
  const caFile = join(dir, 'ca.crt');
  if (conn.ca) writeFileSync(caFile, conn.ca);
  const cluster = { server: conn.server };
  const path = join(dir, 'operator.kubeconfig');
  writeKubeconfig(path, { server: cluster.server, caFile, user: 'paddock-operator', token });
  return path;
}

function startOperator(kubeconfig: string, logFile: string): ChildProcess {
  const log = createWriteStream(logFile);
  const child = spawn(
    process.execPath,
    [
      join(REPO_ROOT, 'operator', 'src', 'main.ts'),
      `--kubeconfig=${kubeconfig}`,
      '--leader-elect=false',
      '--health-addr=127.0.0.1:0',
      '--metrics-addr=0',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: keep },
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  if (keep) child.unref();
  return child;
}

function readyOf(a: Agent): string {
  const c = a.status?.conditions?.find((x) => x.type === 'Ready');
  return c ? `${c.status}${c.status === 'True' ? '' : ` (${c.reason})`}` : 'pending';
}

async function main(): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const work = mkdtempSync(join(tmpdir(), 'paddock-demo-'));
  let cluster: LocalCluster | undefined;
  let adminKubeconfig = await configuredCluster();
  if (adminKubeconfig) {
    say(`using the cluster in ${adminKubeconfig}`);
  } else {
    say('no cluster configured: starting the embedded local control plane (first run builds it, ~6 min)');
    cluster = new LocalCluster({ name: 'demo', nodes: 3, detached: keep, log: (m) => say(m) });
    adminKubeconfig = (await cluster.start()).kubeconfig;
  }
  let operator: ChildProcess | undefined;
  try {
    say('installing the CRDs (crds/) and the operator RBAC (config/rbac)');
    kubectl(adminKubeconfig, ['apply', '--server-side', '-f', join(REPO_ROOT, 'crds')]);
    kubectl(adminKubeconfig, [
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd',
      '-l',
      'app.kubernetes.io/part-of=paddock',
    ]);
    const opKubeconfig = operatorKubeconfig(adminKubeconfig, work);

    const logFile = join(work, 'operator.log');
    say(`starting the operator as ServiceAccount ${OPERATOR_NS}/paddock-operator (logs: ${logFile})`);
    operator = startOperator(opKubeconfig, logFile);

    // On the embedded control plane KWOK plays the agents (config/demo adds their simulated
    // outputs); on a real cluster the example images would have to exist.
    say(
      cluster
        ? 'applying the examples with simulated agents (config/demo)'
        : 'applying the examples (examples/)',
    );
    process.stdout.write(
      kubectl(adminKubeconfig, [
        'apply',
        '--server-side',
        '-k',
        join(REPO_ROOT, cluster ? 'config/demo' : 'examples'),
      ]),
    );

    say('waiting for the operator to validate every Agent');
    const client = KubeClient.load(adminKubeconfig);
    let agents: Agent[] = [];
    for (;;) {
      agents = (await client.list<Agent>(AGENT, DEMO_NS)).items;
      if (agents.length > 0 && agents.every((a) => a.status?.observedGeneration === a.metadata.generation))
        break;
      if (operator.exitCode !== null)
        throw new Error(`the operator exited (${operator.exitCode}); see ${logFile}`);
      if (Date.now() > deadline) throw new Error('timed out waiting for Agents to be reconciled');
      await sleep(250);
    }
    for (const a of agents) say(`  Agent ${a.metadata.name}: Ready=${readyOf(a)}`);
    const notReady = agents.filter((a) => readyOf(a) !== 'True');
    if (notReady.length > 0)
      throw new Error(`Agents not Ready: ${notReady.map((a) => a.metadata.name).join(', ')}`);

    // Approvers: the sre group (bob and carol on the local control plane) may approve in the demo namespace.
    kubectl(
      adminKubeconfig,
      ['apply', '-f', '-'],
      `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: sre-approves, namespace: ${DEMO_NS}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: paddock-approver}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: sre}]
`,
    );
    const decided = new Set<string>();
    say('following the Workflows (each step is a sandboxed pod; KWOK plays the agent)');
    const seen = new Map<string, string>();
    let workflows: Workflow[] = [];
    for (;;) {
      workflows = (await client.list<Workflow>(WORKFLOW, DEMO_NS)).items;
      for (const wf of workflows) {
        for (const st of wf.status?.steps ?? []) {
          const key = `${wf.metadata.name}/${st.name}`;
          const line = `${st.phase}${st.attempt ? ` (attempt ${st.attempt})` : ''}${st.reason ? ` ${st.reason}` : ''}`;
          if (seen.get(key) !== line) {
            seen.set(key, line);
            say(`  ${(wf.metadata.name ?? '').padEnd(20)} ${st.name.padEnd(12)} ${line}`);
          }
        }
      }
      for (const wf of workflows) {
        for (const st of wf.status?.steps ?? []) {
          if (st.phase !== 'WaitingForApproval' || !st.approvalName || decided.has(st.approvalName)) continue;
          decided.add(st.approvalName);
          if (!cluster) {
            say(
              `  ${st.approvalName} waits for approval: kubectl paddock approve ${st.approvalName} -n ${DEMO_NS}`,
            );
            continue;
          }
          // Two people from the sre group approve, each with their own credentials.
          for (const [user, msg] of [
            ['bob', 'patch matches the scan'],
            ['carol', 'ok to ship'],
          ] as const) {
            const out = plugin(cluster.kubeconfigFor(user), [
              'approve',
              st.approvalName,
              '-n',
              DEMO_NS,
              '-m',
              msg,
            ]);
            say(
              `  kubectl paddock approve ${st.approvalName} (as ${user}): ${out.trim().split('\n').pop() ?? ''}`,
            );
          }
        }
      }
      if (
        workflows.length > 0 &&
        workflows.every((w) => ['Succeeded', 'Failed', 'Cancelled'].includes(w.status?.phase ?? ''))
      )
        break;
      if (operator.exitCode !== null)
        throw new Error(`the operator exited (${operator.exitCode}); see ${logFile}`);
      if (Date.now() > deadline) throw new Error('timed out waiting for the Workflows to finish');
      await sleep(250);
    }
    process.stdout.write('\n' + kubectl(adminKubeconfig, ['get', 'paddock', '-n', DEMO_NS]) + '\n');
    for (const wf of workflows) {
      say(`Workflow ${wf.metadata.name}: ${wf.status?.phase} (${wf.status?.progress} steps)`);
      for (const st of wf.status?.steps ?? []) {
        process.stdout.write(
          `      ${st.name.padEnd(12)} ${st.phase.padEnd(10)} ${st.reason ?? ''} ${st.outputs ? JSON.stringify(st.outputs).slice(0, 90) : ''}\n`,
        );
      }
    }
    const failed = workflows.filter((w) => w.status?.phase !== 'Succeeded');
    if (failed.length > 0)
      throw new Error(`Workflows did not succeed: ${failed.map((w) => w.metadata.name).join(', ')}`);
    say('Every example Workflow succeeded. Inspect them with: kubectl describe pwf -n paddock-demo');
    if (keep) {
      say(`left running. KUBECONFIG=${adminKubeconfig}; stop with: make cluster-down CLUSTER=demo`);
    }
  } finally {
    if (!keep) {
      operator?.kill('SIGTERM');
      await cluster?.destroy();
    }
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
