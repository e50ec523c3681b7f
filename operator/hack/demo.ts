// `make demo`: the quick start, end to end.
//
// The first line says which way it runs and why (operator/hack/demo-mode.ts decides):
//   - a cluster the kubeconfig names, when one is configured and reachable;
//   - otherwise the embedded local control plane with one real kubelet node, when this machine can run
//     one (Linux, root): the example agents run in containers from the images `make images` builds,
//     against the in-cluster fixtures (examples/fixtures/fixtures.yaml);
//   - otherwise the embedded local control plane with KWOK nodes, where KWOK plays the agents
//     (config/demo gives them simulated outputs).
// PADDOCK_DEMO_MODE=kwok (or real) picks the embedded cluster's kind instead.
// Then it installs the CRDs and the operator's RBAC, runs the operator on this machine under its own
// ServiceAccount, applies the examples, approves the patch step as bob and carol (group sre) and shows
// the Workflows as the operator runs them; with real agents, also the fixture repository's new commit.
//
//   --keep        leave the local cluster and the operator running at the end
//   --timeout S   give up S seconds after the examples were applied (default 300)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readPackets, packetText } from '../../agents/fixtures/pkt-line.ts';
import { LocalCluster } from '../../cluster/src/local-cluster.ts';
import { installCrds } from '../../cluster/src/crds.ts';
import { REPO_ROOT } from '../../cluster/src/paths.ts';
import { importImage } from '../../cluster/src/real-node.ts';
import { readLock, realNodeUnsupported } from '../../cluster/src/real-node-host.ts';
import { ensureTools } from '../../cluster/src/tools.ts';
import { writeKubeconfig } from '../../cluster/src/kubeconfig.ts';
import { LOCAL_REGISTRY, OPERATOR_IMAGE, type ImageRecord } from '../../images/src/build.ts';
import { ensureImages, loadImages } from '../../images/src/ensure.ts';
import { loadConnection } from '../src/kube/kubeconfig.ts';
import { AGENT, WORKFLOW } from '../src/api/constants.ts';
import type { Agent, Workflow } from '../src/api/generated/index.ts';
import { KubeClient } from '../src/kube/client.ts';
import type { KubeObject } from '../src/kube/types.ts';
import {
  decideDemoMode,
  MODE_VARIABLE,
  summarizeNodes,
  type ConfiguredCluster,
  type DemoMode,
} from './demo-mode.ts';
import { errorMessage } from '../src/util/errors.ts';

const args = process.argv.slice(2);
const keep = args.includes('--keep');
const timeoutIdx = args.indexOf('--timeout');
const timeoutMs = (timeoutIdx >= 0 ? Number(args[timeoutIdx + 1]) : 300) * 1000;
const DEMO_NS = 'paddock-demo';
const OPERATOR_NS = 'paddock-system';
const FIXTURES_NS = 'paddock-fixtures';
const FIXTURES_FILE = join(REPO_ROOT, 'examples', 'fixtures', 'fixtures.yaml');
/** How long the demo waits for another cluster's real node (the tests', a `make cluster-up`) to stop. */
const REAL_NODE_LOCK_WAIT_MS = 20 * 60_000;

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

function kubectl(kubeconfig: string, kargs: readonly string[], input?: string, timeout = 120_000): string {
  const { kubectl: bin } = ensureTools();
  const res = spawnSync(bin, ['--kubeconfig', kubeconfig, ...kargs], {
    encoding: 'utf8',
    input,
    timeout,
  });
  if (res.status !== 0) throw new Error(`kubectl ${kargs.join(' ')}: ${res.stderr || res.error?.message}`);
  return res.stdout;
}

// --- what runs, and stopping it whatever happens -------------------------------------------------

/** Undone last first, once: on success, on an error, and on SIGINT/SIGTERM. */
const cleanups: Array<{ what: string; run: () => Promise<unknown> | void }> = [];
let cleaning: Promise<void> | undefined;

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c.run();
      } catch (err) {
        process.stderr.write(`demo: stopping ${c.what}: ${String(err)}\n`);
      }
    }
  })();
  return cleaning;
}

/** Set by SIGINT or SIGTERM: the demo is stopping, and what fails meanwhile is no news. */
let stoppedBy: NodeJS.Signals | undefined;

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    stoppedBy = signal;
    process.stderr.write(`demo: ${signal}: stopping what the demo started\n`);
    void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

// --- the facts the mode is decided from ----------------------------------------------------------

async function probeConfigured(): Promise<ConfiguredCluster | undefined> {
  const path = (process.env['KUBECONFIG'] ?? join(homedir(), '.kube', 'config')).split(':')[0] ?? '';
  if (!path || !existsSync(path)) return undefined;
  let client: KubeClient;
  let server: string;
  try {
    server = loadConnection(path).server;
    client = KubeClient.load(path, { requestTimeoutMs: 5000 });
    await client.raw('GET', '/version');
  } catch {
    return { kubeconfig: path, reachable: false };
  }
  let nodes: KubeObject[] = [];
  try {
    nodes = (await client.raw<{ items?: KubeObject[] }>('GET', '/api/v1/nodes')).items ?? [];
  } catch {
    // not allowed to list nodes: nothing known of them
  }
  return { kubeconfig: path, reachable: true, server, nodes: summarizeNodes(nodes) };
}

// --- pieces of the run ---------------------------------------------------------------------------

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
  const path = join(dir, 'operator.kubeconfig');
  writeKubeconfig(path, { server: conn.server, caFile, user: 'paddock-operator', token });
  return path;
}

function startOperator(kubeconfig: string, logFile: string, extraArgs: readonly string[]): ChildProcess {
  const log = createWriteStream(logFile);
  const child = spawn(
    process.execPath,
    [
      join(REPO_ROOT, 'operator', 'src', 'main.ts'),
      `--kubeconfig=${kubeconfig}`,
      '--leader-elect=false',
      '--health-addr=127.0.0.1:0',
      '--metrics-addr=0',
      ...extraArgs,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: keep },
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  if (keep) child.unref();
  return child;
}

/** The operator's image: what the network gate runs (`--network-gate-image`, as config/manager sets it). */
function operatorImage(): string {
  const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    version: string;
  };
  return `${LOCAL_REGISTRY}/${OPERATOR_IMAGE}:${version}`;
}

/**
 * The images the examples and the fixtures name (examples/agents/*.yaml, examples/fixtures/fixtures.yaml), and
 * the operator's, which the network gate runs.
 */
function imagesOfExamples(records: readonly ImageRecord[]): ImageRecord[] {
  const text = [
    ...['code-reviewer', 'compliance-checker', 'notifier', 'patcher', 'security-scanner'].map((a) =>
      join(REPO_ROOT, 'examples', 'agents', `${a}.yaml`),
    ),
    FIXTURES_FILE,
  ]
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
  return records.filter(
    (r) =>
      r.name === OPERATOR_IMAGE ||
      new RegExp(`image:\\s*${r.reference.replace(/[.]/g, '\\.')}\\s`).test(text),
  );
}

/** The fixture Git server and webhook receiver, Available. */
function applyFixtures(kubeconfig: string, restart: boolean): void {
  say(
    'applying the fixtures the agents work on (examples/fixtures/fixtures.yaml: Git server, webhook receiver)',
  );
  kubectl(kubeconfig, ['apply', '-f', FIXTURES_FILE]);
  const deployment = ['-n', FIXTURES_NS, 'deployment/fixtures'];
  try {
    // A cluster the demo did not start may hold an earlier run's fixtures: a new pod seeds the repository afresh.
    if (restart) kubectl(kubeconfig, ['rollout', 'restart', ...deployment]);
    kubectl(kubeconfig, ['rollout', 'status', '--timeout=180s', ...deployment], undefined, 200_000);
    kubectl(
      kubeconfig,
      ['wait', '--for=condition=Available', '--timeout=60s', ...deployment],
      undefined,
      80_000,
    );
  } catch (err) {
    const pods = kubectl(kubeconfig, ['get', 'pods', '-n', FIXTURES_NS, '-o', 'wide']);
    throw new Error(`the fixtures Deployment is not Available: ${String(err)}\n${pods}`, { cause: err });
  }
  say(`  fixtures Available${restart ? ' (restarted: the repository is seeded afresh)' : ''}`);
}

/**
 * Kubeconfigs of the sre group's bob and carol, when the cluster is a Paddock local cluster: ours, or the one
 * a `make cluster-up` kubeconfig names (its directory holds the static tokens). Otherwise undefined.
 */
function approverKubeconfigs(
  cluster: LocalCluster | undefined,
  adminKubeconfig: string,
  dir: string,
): Map<string, string> | undefined {
  const people = ['bob', 'carol'];
  if (cluster) return new Map(people.map((p) => [p, cluster.kubeconfigFor(p)]));
  const tokens = join(dirname(adminKubeconfig), 'tokens.csv');
  if (!existsSync(tokens)) return undefined;
  const conn = loadConnection(adminKubeconfig);
  if (!conn.ca) return undefined;
  const caFile = join(dir, 'ca.crt');
  writeFileSync(caFile, conn.ca);
  const out = new Map<string, string>();
  for (const line of readFileSync(tokens, 'utf8').split('\n')) {
    const [token, user] = line.split(',');
    if (!token || !user || !people.includes(user)) continue;
    const path = join(dir, `kubeconfig-${user}`);
    writeKubeconfig(path, { server: conn.server, caFile, user, token });
    out.set(user, path);
  }
  return out.size === people.length ? out : undefined;
}

function readyOf(a: Agent): string {
  const c = a.status?.conditions?.find((x) => x.type === 'Ready');
  return c ? `${c.status}${c.status === 'True' ? '' : ` (${c.reason})`}` : 'pending';
}

/** One short line for a step's outputs: its summary when it has one, else its JSON, cut. */
function briefOutputs(outputs: Record<string, unknown> | undefined): string {
  if (!outputs) return '';
  const summary = outputs['summary'];
  const extra = Object.entries(outputs)
    .filter(([k, v]) => k !== 'summary' && (typeof v !== 'object' || v === null))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v.slice(0, 12) : String(v)}`)
    .join(' ');
  const text =
    typeof summary === 'string' ? `${summary}${extra ? ` (${extra})` : ''}` : JSON.stringify(outputs);
  return text.length > 150 ? `${text.slice(0, 147)}...` : text;
}

/** `kubectl port-forward` to the fixtures Service on a free local port; stopped by the cleanup. */
async function forwardFixtures(kubeconfig: string): Promise<number> {
  const { kubectl: bin } = ensureTools();
  const child = spawn(
    bin,
    [
      '--kubeconfig',
      kubeconfig,
      'port-forward',
      '-n',
      FIXTURES_NS,
      'svc/fixtures',
      '--address',
      '127.0.0.1',
      ':8080',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  cleanups.push({ what: 'kubectl port-forward', run: () => stopChild(child) });
  let out = '';
  return new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`kubectl port-forward: no port after 20 s: ${out}`)), 20_000);
    const onData = (chunk: Buffer): void => {
      out += chunk.toString('utf8');
      const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`kubectl port-forward exited (${String(code)}): ${out.trim()}`));
    });
  });
}

/** The repository's branches, from the smart HTTP ref advertisement (what `git ls-remote` reads). */
async function lsRemote(port: number): Promise<Map<string, string>> {
  const res = await fetch(`http://127.0.0.1:${port}/git/app.git/info/refs?service=git-upload-pack`);
  if (!res.ok) throw new Error(`GET info/refs: ${res.status}`);
  const refs = new Map<string, string>();
  for (const p of readPackets(Buffer.from(await res.arrayBuffer()), false).packets) {
    const m = /^([0-9a-f]{40}) ([^\0]+)/.exec(packetText(p) ?? '');
    if (m?.[1] && m[2]) refs.set(m[2], m[1]);
  }
  return refs;
}

/** What the agents did to the fixtures, read back from them: the branches, and the webhook posts. */
async function showFixtures(kubeconfig: string, workflows: readonly Workflow[]): Promise<void> {
  const port = await forwardFixtures(kubeconfig);
  const refs = await lsRemote(port);
  const main = refs.get('refs/heads/main');
  const backup = [...refs].find(([r]) => r.startsWith('refs/heads/paddock/backup/'));
  const patch = workflows
    .find((w) => w.metadata.name === 'fix-cve')
    ?.status?.steps?.find((s) => s.name === 'patch');
  const reported = patch?.outputs?.['commit'];
  say(`the fixture repository, read through kubectl port-forward (git ls-remote's request):`);
  const rows: Array<[string, string]> = [['main', main ?? '(missing)']];
  if (backup) rows.push([backup[0].slice('refs/heads/'.length), `${backup[1]} (main before the patch)`]);
  if (typeof reported === 'string')
    rows.push([
      "the patch step's outputs.commit",
      `${reported}: ${reported === main ? 'main is that commit' : 'NOT main'}`,
    ]);
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) process.stdout.write(`      ${k.padEnd(width)}  ${v}\n`);
  for (const channel of ['security', 'audit']) {
    const r = await fetch(`http://127.0.0.1:${port}/hooks/${channel}`);
    const posts = (await r.json()) as Array<{ body?: { title?: string; text?: string } }>;
    for (const p of posts)
      process.stdout.write(
        `      webhook ${channel}: ${p.body?.title ?? ''}: ${(p.body?.text ?? '').slice(0, 100)}\n`,
      );
    if (posts.length === 0) process.stdout.write(`      webhook ${channel}: nothing received\n`);
  }
  if (typeof reported === 'string' && reported !== main)
    throw new Error(
      `main of the fixture repository is ${main ?? 'missing'}, not the patch's commit ${reported}`,
    );
}

// --- main ----------------------------------------------------------------------------------------

/** Where the operator logs: named again when the demo fails (the file is kept then). */
let operatorLog: string | undefined;

async function main(): Promise<void> {
  const started = Date.now();
  const mode: DemoMode = decideDemoMode({
    configured: await probeConfigured(),
    realNodeUnsupported: realNodeUnsupported(),
    realNodeHere: readLock() !== undefined,
    requested: process.env[MODE_VARIABLE],
  });
  say(mode.line);
  if (mode.kind === 'refused') throw new Error(mode.line);
  const realAgents = mode.kind === 'real' || (mode.kind === 'configured' && mode.agents === 'real');
  const work = mkdtempSync(join(tmpdir(), 'paddock-demo-'));

  let records: ImageRecord[] = [];
  if (mode.kind === 'real' || (mode.kind === 'configured' && mode.importImages)) {
    say('the example images (make images when dist/images is missing or older than its sources)');
    records = imagesOfExamples(ensureImages(say));
  }

  let cluster: LocalCluster | undefined;
  let adminKubeconfig: string;
  if (mode.kind === 'configured') {
    adminKubeconfig = mode.kubeconfig;
  } else {
    say(
      `starting the embedded local control plane${mode.kind === 'real' ? ' with a real node' : ''} (the first run builds it, minutes)`,
    );
    cluster = new LocalCluster({
      name: 'demo',
      nodes: mode.kind === 'real' ? 1 : 3,
      detached: keep,
      log: (m) => say(m),
      ...(mode.kind === 'real' ? { realNode: true, realNodeLockWaitMs: REAL_NODE_LOCK_WAIT_MS } : {}),
    });
    const c = cluster;
    if (!keep) cleanups.push({ what: 'the local cluster', run: () => c.destroy() });
    adminKubeconfig = (await cluster.start()).kubeconfig;
  }
  if (records.length > 0) {
    // Again, now that the node runs (idempotent): a `make build` meanwhile (another run compiling the
    // operator) empties dist/, images included.
    records = imagesOfExamples(ensureImages(say));
    say(`importing ${records.length} images into the real node`);
    loadImages(
      records,
      (archive) => importImage(archive),
      (m) => say(`  ${m}`),
    );
  }
  if (realAgents) applyFixtures(adminKubeconfig, mode.kind === 'configured');

  say('installing the CRDs (crds/) and the operator RBAC (config/rbac)');
  installCrds((args) => kubectl(adminKubeconfig, args));
  const opKubeconfig = operatorKubeconfig(adminKubeconfig, work);
  if (mode.kind === 'configured') {
    // A Workflow is one run: an earlier demo's would be shown as it ended. They go first, with their
    // Approvals and pods (foreground deletion), so the run below is a new one.
    const gone = kubectl(adminKubeconfig, [
      'delete',
      'workflows.paddock.dev',
      '-n',
      DEMO_NS,
      'fix-cve',
      'repo-audit',
      '--ignore-not-found',
      '--cascade=foreground',
      '--wait',
      '--timeout=120s',
    ]).trim();
    if (gone) say(`an earlier demo's Workflows deleted: ${gone.replace(/\n/g, ', ')}`);
  }

  const logFile = join(work, 'operator.log');
  operatorLog = logFile;
  say(
    `starting the operator on this machine as ServiceAccount ${OPERATOR_NS}/paddock-operator (logs: ${logFile})`,
  );
  // With real agents, every agent pod first proves its NetworkPolicies are enforced (the network gate, an
  // init container running the operator's image), as the shipped Deployment (config/manager) has it.
  const gateArgs = realAgents ? [`--network-gate-image=${operatorImage()}`] : [];
  if (realAgents) say(`  with the network gate: ${gateArgs[0] ?? ''} (docs/security.md)`);
  const operator = startOperator(opKubeconfig, logFile, gateArgs);
  if (!keep) cleanups.push({ what: 'the operator', run: () => stopChild(operator) });

  say(
    realAgents
      ? 'applying the examples (examples/: the real agents)'
      : 'applying the examples with simulated agents (config/demo)',
  );
  process.stdout.write(
    kubectl(adminKubeconfig, [
      'apply',
      '--server-side',
      '-k',
      join(REPO_ROOT, realAgents ? 'examples' : 'config/demo'),
    ]),
  );
  const deadline = Date.now() + timeoutMs;

  say('waiting for the operator to validate every Agent');
  const client = KubeClient.load(adminKubeconfig);
  let agents: Agent[];
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

  // Approvers: the sre group may approve in the demo namespace.
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
  const approvers = approverKubeconfigs(cluster, adminKubeconfig, work);
  const decided = new Set<string>();
  say(
    `following the Workflows (each step is a sandboxed pod; ${realAgents ? 'the agent runs in its container' : 'KWOK plays the agent'})`,
  );
  const seen = new Map<string, string>();
  let workflows: Workflow[];
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
        if (!approvers) {
          say(
            `  ${st.approvalName} waits for two approvals from the sre group: kubectl paddock approve ${st.approvalName} -n ${DEMO_NS}`,
          );
          continue;
        }
        // Two people from the sre group approve, each with their own credentials.
        for (const [user, msg] of [
          ['bob', 'patch matches the scan'],
          ['carol', 'ok to ship'],
        ] as const) {
          const out = plugin(approvers.get(user) ?? '', [
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
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for the Workflows to finish`);
    await sleep(250);
  }
  process.stdout.write('\n' + kubectl(adminKubeconfig, ['get', 'paddock', '-n', DEMO_NS]) + '\n');
  for (const wf of workflows) {
    say(`Workflow ${wf.metadata.name}: ${wf.status?.phase} (${wf.status?.progress} steps)`);
    for (const st of wf.status?.steps ?? []) {
      const why =
        st.phase !== 'Succeeded' && st.reason
          ? `${st.reason}${st.message ? `: ${st.message.slice(0, 100)}` : ''}`
          : '';
      process.stdout.write(
        `      ${st.name.padEnd(12)} ${st.phase.padEnd(10)} ${why || briefOutputs(st.outputs)}\n`,
      );
    }
  }
  if (realAgents) {
    try {
      await showFixtures(adminKubeconfig, workflows);
    } catch (err) {
      say(`reading the fixtures back failed: ${errorMessage(err)}`);
      throw err;
    }
  }
  const failed = workflows.filter((w) => w.status?.phase !== 'Succeeded');
  if (realAgents)
    for (const wf of failed)
      for (const st of wf.status?.steps ?? [])
        if (st.phase === 'Failed' && st.podName) {
          let logs: string;
          try {
            logs = kubectl(adminKubeconfig, ['logs', '-n', DEMO_NS, st.podName, '--tail=15']);
          } catch (err) {
            logs = String(err);
          }
          say(`logs of ${st.podName} (${wf.metadata.name}/${st.name}):\n${logs}`);
        }
  if (failed.length > 0)
    throw new Error(`Workflows did not succeed: ${failed.map((w) => w.metadata.name).join(', ')}`);
  say(
    `Every example Workflow succeeded (${Math.round((Date.now() - started) / 1000)} s in all). Inspect them with: kubectl describe pwf -n ${DEMO_NS}`,
  );
  // Kept after a failure: the operator's log is there.
  if (!keep) rmSync(work, { recursive: true, force: true });
  if (keep) {
    say(
      cluster
        ? `left running. KUBECONFIG=${adminKubeconfig}; stop with: make cluster-down CLUSTER=demo (and kill ${operator.pid ?? '?'}, the operator)`
        : `the operator is left running (pid ${operator.pid ?? '?'})`,
    );
  }
}

main().then(
  async () => {
    await cleanup();
    process.exit(0);
  },
  async (err: unknown) => {
    if (stoppedBy) return; // the signal's handler stops everything and exits
    process.stderr.write(`demo failed: ${errorMessage(err)}\n`);
    if (operatorLog) process.stderr.write(`the operator's log: ${operatorLog}\n`);
    await cleanup();
    process.exit(1);
  },
);
