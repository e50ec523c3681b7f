// The real-node scenario: the same operator (compiled, on this machine) driving agent pods that run for real
// on the local cluster's real kubelet node (containerd + runc), with a real image: agents/sandbox-probe in
// mode `inspect` (a Node.js agent that looks around and exits). Two-step chains s0 -> s1, run one at a time,
// each alone, so the numbers are latency, not throughput.
//
// Every time is taken on this machine's clock: the bench's own watch events (the time each reaches this
// process) and containerd's event stream (`ctr events`: its /tasks/start and /tasks/exit, stamped by
// containerd with nanoseconds). API timestamps (creationTimestamp, startedAt, finishedAt) have one-second
// resolution and are not used.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { statePaths } from '../../cluster/src/real-node-config.ts';
import { API_VERSION, AGENT, POD, WORKFLOW } from '../../operator/src/api/constants.ts';
import type { Agent, Workflow } from '../../operator/src/api/generated/index.ts';
import {
  ANNOTATION_NS_QUOTA_CPU,
  ANNOTATION_NS_QUOTA_MEMORY,
  ANNOTATION_NS_QUOTA_PODS,
  GATE_CONTAINER,
  LABEL_AGENT_POD,
  SANDBOX_SERVICE_ACCOUNT,
} from '../../operator/src/api/labels.ts';
import type { KubeClient } from '../../operator/src/kube/client.ts';
import type { ContainerStatus, Pod } from '../../operator/src/kube/core-types.ts';
import type { WatchEventType } from '../../operator/src/kube/types.ts';
import { restrictedNamespace } from '../../tests/integration/support/workflows.ts';
import { waitServiceAccount, type BenchCluster } from './env.ts';
import { WatchRecorder } from './kube.ts';
import { now, round, sleep, summarize } from './stats.ts';

export const PROBE_AGENT = 'sandbox-probe';

/** The sandbox-probe Agent: its image, the inputs it takes in mode inspect, no egress, no retries. */
export function probeAgent(namespace: string, image: string): Agent {
  return {
    apiVersion: API_VERSION,
    kind: 'Agent',
    metadata: { name: PROBE_AGENT, namespace },
    spec: {
      image,
      riskLevel: 'Auto',
      inputsSchema: {
        type: 'object',
        additionalProperties: false,
        properties: { mode: { enum: ['inspect'] } },
      },
      outputsSchema: { type: 'object' },
      // Node.js starting under a tight CPU limit is throttled: the limit would be the measure.
      resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '1', memory: '256Mi' } },
      timeoutSeconds: 120,
      retries: { limit: 0 },
    },
  };
}

/** A two-step chain s0 -> s1 of the probe in mode inspect; pods are kept (podGC Never). */
export function probeWorkflow(name: string, namespace: string): Workflow {
  const step = (n: string, deps: string[]) => ({
    name: n,
    agentRef: { name: PROBE_AGENT },
    inputs: { mode: 'inspect' },
    ...(deps.length ? { dependsOn: deps } : {}),
  });
  return {
    apiVersion: API_VERSION,
    kind: 'Workflow',
    metadata: { name, namespace },
    spec: { steps: [step('s0', []), step('s1', ['s0'])], podGC: { strategy: 'Never' } },
  };
}

/** The namespace: restricted Pod Security, sandbox quota raised, the probe Agent, its sandbox ready. */
export async function setupRealNodeNamespace(
  env: BenchCluster,
  namespace: string,
  image: string,
): Promise<void> {
  env.kubectl(
    ['apply', '-f', '-'],
    restrictedNamespace(namespace, {
      [ANNOTATION_NS_QUOTA_PODS]: '1000',
      [ANNOTATION_NS_QUOTA_CPU]: '1000',
      [ANNOTATION_NS_QUOTA_MEMORY]: '1000Gi',
    }),
  );
  await env.admin.create(AGENT, probeAgent(namespace, image));
  await waitServiceAccount(env.admin, namespace, SANDBOX_SERVICE_ACCOUNT);
}

// --- containerd's events -------------------------------------------------------------------------

export interface TaskEvent {
  readonly topic: '/tasks/start' | '/tasks/exit';
  readonly containerId: string;
  /** containerd's timestamp, ms since the epoch (sub-millisecond digits kept). */
  readonly at: number;
}

/**
 * One line of `ctr events`: `<Go time> <namespace> <topic> <JSON>`, the time as Go prints a time.Time
 * (`2026-01-02 03:04:05.123456789 +0000 UTC`, trailing zeros of the fraction dropped). Only task starts
 * and exits of namespace k8s.io; undefined for anything else.
 */
export function parseCtrEvent(line: string): TaskEvent | undefined {
  const m =
    /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d+))? ([+-])(\d\d)(\d\d) \S+ k8s\.io (\/tasks\/(?:start|exit)) (\{.*\})\s*$/.exec(
      line,
    );
  if (!m) return undefined;
  const [, date, time, frac = '', sign, hh, mm, topic, json] = m;
  const base = Date.parse(`${date}T${time}Z`);
  if (!Number.isFinite(base)) return undefined;
  const offsetMs = (Number(hh) * 60 + Number(mm)) * 60_000 * (sign === '-' ? -1 : 1);
  const fraction = frac ? Number(`0.${frac}`) * 1000 : 0;
  let payload: { container_id?: string };
  try {
    payload = JSON.parse(json ?? '') as { container_id?: string };
  } catch {
    return undefined;
  }
  if (!payload.container_id) return undefined;
  return {
    topic: topic as TaskEvent['topic'],
    containerId: payload.container_id,
    at: base - offsetMs + fraction,
  };
}

/** `ctr events` on the real node's containerd, for as long as the scenario runs. */
export class ContainerdEvents {
  readonly starts = new Map<string, number>();
  readonly exits = new Map<string, number>();
  /** Arrival here minus containerd's stamp, per event, ms: a check that the two clocks agree (small, >= 0). */
  readonly lags: number[] = [];
  private child: ChildProcess | undefined;
  private stderr = '';
  private readonly ctr: string;

  constructor(ctr: string) {
    this.ctr = ctr;
  }

  start(): void {
    const child = spawn(this.ctr, ['--address', statePaths.containerdSocket, 'events'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let buf = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const e = parseCtrEvent(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (!e) continue;
        this.lags.push(now() - e.at);
        const into = e.topic === '/tasks/start' ? this.starts : this.exits;
        if (!into.has(e.containerId)) into.set(e.containerId, e.at);
      }
    });
    child.stderr.on('data', (c: Buffer) => (this.stderr = (this.stderr + c.toString('utf8')).slice(-2000)));
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get errors(): string {
    return this.stderr.trim();
  }

  stop(): void {
    this.child?.kill('SIGTERM');
  }
}

export function ctrBinary(buildBin: string): string {
  return join(buildBin, 'ctr');
}

// --- the run -------------------------------------------------------------------------------------

interface PodTimes {
  added?: number;
  /** First event showing the agent container started: state running, or already terminated. */
  started?: number;
  /** Whether that first event showed it running (false: the API never showed it running, only terminated). */
  startedSeenRunning?: boolean;
  /** First event showing the agent container terminated (the pod's phase may follow in a later one). */
  terminated?: number;
  done?: number;
  phase?: string;
  containerId?: string;
  /** The network gate's init container, when the pod has one. */
  gateContainerId?: string;
}

type StatusWithId = ContainerStatus & { containerID?: string };

/** One two-step run, every figure in ms (undefined when a timestamp is missing). */
export interface RealNodeSample {
  readonly workflow: string;
  readonly phase: string;
  /** Client send of the Workflow create -> s0's pod ADDED on the bench's watch. */
  readonly submitToFirstPod?: number;
  /** Client send -> the first watch event showing s0's agent container started (running, or terminated). */
  readonly submitToRunning?: number;
  /** s0's pod ADDED -> that event: the scheduler, the kubelet, the runtime and the status write. */
  readonly podToRunning?: number;
  /** Client send -> containerd's /tasks/start of s0's agent container. */
  readonly submitToContainerStart?: number;
  /** containerd's /tasks/start -> /tasks/exit of s0's agent container: the agent's own run. */
  readonly agentRun?: number;
  /** containerd's /tasks/start -> /tasks/exit of s0's network gate (init container), when it has one. */
  readonly gateRun?: number;
  /** The gate's /tasks/exit -> the agent's /tasks/start: the kubelet starting the agent after its init container. */
  readonly gateExitToAgentStart?: number;
  /** s0's pod Succeeded on the watch -> s1's pod ADDED: the operator's step done -> next pod. */
  readonly stepToNextPod?: number;
  /** containerd's /tasks/exit of s0's agent container -> the first watch event showing it terminated. */
  readonly agentExitToTerminatedSeen?: number;
  /** That event -> s0's pod Succeeded on the watch (the kubelet reports the phase after stopping the pod). */
  readonly terminatedSeenToSucceeded?: number;
  /** containerd's /tasks/exit of s0's agent container -> s0 Succeeded on the watch: the kubelet noticing. */
  readonly agentExitToSucceeded?: number;
  /** containerd's /tasks/exit of s0's agent container -> s1's pod ADDED: what a user waits between steps. */
  readonly agentExitToNextPod?: number;
  /** Whether the API ever showed s0's container running (a short agent may be seen only terminated). */
  readonly runningSeen: boolean;
  /** Client send -> Workflow Succeeded on the watch. */
  readonly wall?: number;
}

export interface RealNodeRunResult {
  readonly runs: number;
  readonly succeeded: number;
  readonly failed: readonly string[];
  readonly timedOut: boolean;
  readonly samples: readonly RealNodeSample[];
}

export async function runRealNode(o: {
  client: KubeClient;
  namespace: string;
  prefix: string;
  runs: number;
  /** Pause after each run, so the kubelet's teardown of one run does not overlap the next. */
  gapMs: number;
  timeoutMs: number;
  events: ContainerdEvents | undefined;
  onProgress?: (m: string) => void;
}): Promise<RealNodeRunResult> {
  const pods = new Map<string, PodTimes>();
  const wfDone = new Map<string, { at: number; phase: string }>();
  let wake: (() => void) | undefined;
  const poke = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onPod = (_t: WatchEventType, p: Pod, at: number): void => {
    const name = p.metadata.name ?? '';
    let r = pods.get(name);
    if (!r) pods.set(name, (r = {}));
    r.added ??= at;
    const cs: StatusWithId | undefined = p.status?.containerStatuses?.[0];
    if (cs?.containerID) r.containerId = cs.containerID.replace(/^[a-z]+:\/\//, '');
    const gate: StatusWithId | undefined = p.status?.initContainerStatuses?.find(
      (c) => c.name === GATE_CONTAINER,
    );
    if (gate?.containerID) r.gateContainerId = gate.containerID.replace(/^[a-z]+:\/\//, '');
    if (r.started === undefined && (cs?.state?.running || cs?.state?.terminated)) {
      r.started = at;
      r.startedSeenRunning = cs.state.running !== undefined;
    }
    if (r.terminated === undefined && cs?.state?.terminated) r.terminated = at;
    const phase = p.status?.phase;
    if (phase) r.phase = phase;
    if ((phase === 'Succeeded' || phase === 'Failed') && r.done === undefined) r.done = at;
    poke();
  };
  const onWf = (_t: WatchEventType, w: Workflow, at: number): void => {
    const phase = w.status?.phase;
    const name = w.metadata.name ?? '';
    if (phase && ['Succeeded', 'Failed', 'Cancelled'].includes(phase) && !wfDone.has(name)) {
      wfDone.set(name, { at, phase });
      poke();
    }
  };
  const podWatch = new WatchRecorder<Pod>(o.client, POD, o.namespace, onPod, `${LABEL_AGENT_POD}=true`);
  const wfWatch = new WatchRecorder<Workflow>(o.client, WORKFLOW, o.namespace, onWf);
  await podWatch.start();
  await wfWatch.start();

  const samples: RealNodeSample[] = [];
  const failed: string[] = [];
  let succeeded = 0;
  let timedOut = false;
  try {
    for (let i = 0; i < o.runs; i++) {
      const name = `${o.prefix}-${String(i).padStart(3, '0')}`;
      const submitAt = now();
      await o.client.create(WORKFLOW, probeWorkflow(name, o.namespace));
      const deadline = Date.now() + o.timeoutMs;
      while (!wfDone.has(name)) {
        const err = podWatch.error ?? wfWatch.error;
        if (err) throw err instanceof Error ? err : new Error('watch failed');
        const left = deadline - Date.now();
        if (left <= 0) break;
        await new Promise<void>((r) => {
          const t = setTimeout(r, Math.min(left, 1000));
          wake = () => {
            clearTimeout(t);
            r();
          };
        });
      }
      const end = wfDone.get(name);
      if (!end) {
        timedOut = true;
        failed.push(`${name}:timed out`);
        break;
      }
      // The last pod events of this run (s1 Succeeded may trail the Workflow's) and the containerd events.
      await sleep(300);
      if (end.phase === 'Succeeded') succeeded++;
      else failed.push(`${name}:${end.phase}`);
      samples.push(sampleOf(name, end, submitAt, pods, o.events));
      if ((i + 1) % 5 === 0) o.onProgress?.(`  real node: ${i + 1}/${o.runs} runs`);
      await sleep(o.gapMs);
    }
  } finally {
    await Promise.all([podWatch.stop(), wfWatch.stop()]);
  }
  return { runs: o.runs, succeeded, failed, timedOut, samples };
}

function sampleOf(
  name: string,
  end: { at: number; phase: string },
  submitAt: number,
  pods: ReadonlyMap<string, PodTimes>,
  events: ContainerdEvents | undefined,
): RealNodeSample {
  const s0 = pods.get(`${name}-s0-1`);
  const s1 = pods.get(`${name}-s1-1`);
  const diff = (a: number | undefined, b: number | undefined): number | undefined =>
    a === undefined || b === undefined ? undefined : round(b - a, 1);
  const start = s0?.containerId ? events?.starts.get(s0.containerId) : undefined;
  const exit = s0?.containerId ? events?.exits.get(s0.containerId) : undefined;
  const gateStart = s0?.gateContainerId ? events?.starts.get(s0.gateContainerId) : undefined;
  const gateExit = s0?.gateContainerId ? events?.exits.get(s0.gateContainerId) : undefined;
  return {
    workflow: name,
    phase: end.phase,
    submitToFirstPod: diff(submitAt, s0?.added),
    submitToRunning: diff(submitAt, s0?.started),
    podToRunning: diff(s0?.added, s0?.started),
    submitToContainerStart: diff(submitAt, start),
    agentRun: diff(start, exit),
    gateRun: diff(gateStart, gateExit),
    gateExitToAgentStart: diff(gateExit, start),
    stepToNextPod: s0?.phase === 'Succeeded' ? diff(s0.done, s1?.added) : undefined,
    agentExitToTerminatedSeen: diff(exit, s0?.terminated),
    terminatedSeenToSucceeded: diff(s0?.terminated, s0?.done),
    agentExitToSucceeded: diff(exit, s0?.done),
    agentExitToNextPod: diff(exit, s1?.added),
    runningSeen: s0?.startedSeenRunning === true,
    wall: diff(submitAt, end.at),
  };
}

// --- the report block ----------------------------------------------------------------------------

/** A latency summary with the unit in every name (`p50Ms`), as the report's real-node block names them. */
export interface MsSummary {
  readonly count: number;
  readonly minMs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
}

export function msSummary(values: ReadonlyArray<number | undefined>): MsSummary {
  const s = summarize(values.filter((v): v is number => v !== undefined && Number.isFinite(v)));
  return {
    count: s.count,
    minMs: round(s.min, 1),
    p50Ms: round(s.p50, 1),
    p90Ms: round(s.p90, 1),
    p95Ms: round(s.p95, 1),
    p99Ms: round(s.p99, 1),
    maxMs: round(s.max, 1),
    meanMs: round(s.mean, 1),
  };
}

export const REAL_NODE_FIGURES = [
  'submitToRunning',
  'stepToNextPod',
  'submitToFirstPod',
  'podToRunning',
  'submitToContainerStart',
  'agentRun',
  'gateRun',
  'gateExitToAgentStart',
  'agentExitToTerminatedSeen',
  'terminatedSeenToSucceeded',
  'agentExitToSucceeded',
  'agentExitToNextPod',
  'wall',
] as const;
export type RealNodeFigure = (typeof REAL_NODE_FIGURES)[number];

export type RealNodeFigures = Record<RealNodeFigure, MsSummary>;

export function realNodeFigures(samples: readonly RealNodeSample[]): RealNodeFigures {
  const out = {} as Record<RealNodeFigure, MsSummary>;
  for (const f of REAL_NODE_FIGURES) out[f] = msSummary(samples.map((s) => s[f]));
  return out;
}
