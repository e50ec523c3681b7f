// What the benchmark runs: Paddock workflows (paced for latency, a burst for
// throughput), bare pods for the raw reference, and the RSS scale run. Every
// timestamp comes from watches opened before the measured work, read by this
// process, so latencies include the watch delivery delay to the bench.
import { POD, WORKFLOW } from '../../operator/src/api/constants.ts';
import type { PodGCStrategy, Workflow, WorkflowStep } from '../../operator/src/api/generated/index.ts';
import { LABEL_AGENT_POD } from '../../operator/src/api/labels.ts';
import type { KubeClient } from '../../operator/src/kube/client.ts';
import { LIMIT_RANGE, RESOURCE_QUOTA, type Pod } from '../../operator/src/kube/core-types.ts';
import { isAlreadyExists, isConflict, isTransient } from '../../operator/src/kube/errors.ts';
import type { KubeObject, WatchEventType } from '../../operator/src/kube/types.ts';
import { pool, WatchRecorder } from './kube.ts';
import { now, sleep } from './stats.ts';

export type Shape = 'chain' | 'fanout' | 'parallel';

/** Steps s0..s(M-1): a chain (each depends on the previous), a fan-out from s0, or independent. */
export function buildSteps(agent: string, steps: number, shape: Shape): WorkflowStep[] {
  return Array.from({ length: steps }, (_, i) => {
    const deps = i === 0 || shape === 'parallel' ? [] : shape === 'chain' ? [`s${i - 1}`] : ['s0'];
    return { name: `s${i}`, agentRef: { name: agent }, ...(deps.length ? { dependsOn: deps } : {}) };
  });
}

export function buildWorkflow(
  name: string,
  namespace: string,
  steps: WorkflowStep[],
  podGC: PodGCStrategy,
): Workflow {
  return {
    apiVersion: WORKFLOW.group + '/' + WORKFLOW.version,
    kind: 'Workflow',
    metadata: { name, namespace },
    spec: { steps, podGC: { strategy: podGC } },
  };
}

const TERMINAL_WF = new Set(['Succeeded', 'Failed', 'Cancelled']);
const TERMINAL_POD = new Set(['Succeeded', 'Failed']);

interface PodRec {
  added?: number;
  done?: number;
  phase?: string;
}

interface WfRec {
  phase?: string;
  terminalAt?: number;
}

/** Follows the agent pods and Workflows of one namespace. */
export class Tracker {
  readonly pods = new Map<string, PodRec>();
  readonly wfs = new Map<string, WfRec>();
  terminal = 0;
  podsDone = 0;
  /** Called with every Workflow event, after the Tracker has recorded it (the fan-out's object sizes). */
  onWorkflow: ((w: Workflow, at: number) => void) | undefined;
  private readonly podWatch: WatchRecorder<Pod>;
  private readonly wfWatch: WatchRecorder<Workflow>;
  private wake: (() => void) | undefined;
  private abortReason: string | undefined;

  /** `podSelector` "" follows every pod of the namespace (the raw reference's bare pods). */
  constructor(client: KubeClient, namespace: string, podSelector = `${LABEL_AGENT_POD}=true`) {
    this.podWatch = new WatchRecorder<Pod>(
      client,
      POD,
      namespace,
      (t, p, at) => this.onPod(t, p, at),
      podSelector || undefined,
    );
    this.wfWatch = new WatchRecorder<Workflow>(client, WORKFLOW, namespace, (t, w, at) =>
      this.onWf(t, w, at),
    );
  }

  async start(withWorkflows = true): Promise<void> {
    await this.podWatch.start();
    if (withWorkflows) await this.wfWatch.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.podWatch.stop(), this.wfWatch.stop()]);
  }

  private onPod(type: WatchEventType, p: Pod, at: number): void {
    const name = p.metadata.name ?? '';
    let r = this.pods.get(name);
    if (!r) this.pods.set(name, (r = {}));
    if (type === 'ADDED' && r.added === undefined) {
      r.added = at;
      this.poke();
    }
    const phase = p.status?.phase;
    if (phase) r.phase = phase;
    if (phase && TERMINAL_POD.has(phase) && r.done === undefined) {
      r.done = at;
      this.podsDone++;
      this.poke();
    }
  }

  private onWf(_type: WatchEventType, w: Workflow, at: number): void {
    const name = w.metadata.name ?? '';
    let r = this.wfs.get(name);
    if (!r) this.wfs.set(name, (r = {}));
    const phase = w.status?.phase;
    if (phase) r.phase = phase;
    if (phase && TERMINAL_WF.has(phase) && r.terminalAt === undefined) {
      r.terminalAt = at;
      this.terminal++;
      this.poke();
    }
    this.onWorkflow?.(w, at);
  }

  /** Stops every wait (the run is being torn down, e.g. the operator died). */
  abort(reason: string): void {
    this.abortReason = reason;
    this.poke();
  }

  get aborted(): boolean {
    return this.abortReason !== undefined;
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Resolves true once the pod `name` has been seen ADDED, false at the deadline. */
  untilPod(name: string, timeoutMs: number): Promise<boolean> {
    return this.until(() => this.pods.get(name)?.added !== undefined, timeoutMs);
  }

  /** Resolves true once `pred` holds, false at the deadline. Re-checked on each pod ADDED and each terminal event. */
  async until(pred: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (this.abortReason !== undefined) throw new Error(`run aborted: ${this.abortReason}`);
      const left = deadline - Date.now();
      if (left <= 0) return false;
      const err = this.podWatch.error ?? this.wfWatch.error;
      if (err) throw err instanceof Error ? err : new Error('watch failed');
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 1000));
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
    return true;
  }
}

export interface WorkflowRunResult {
  readonly workflows: number;
  readonly stepsPerWorkflow: number;
  readonly shape: Shape;
  readonly submitted: number;
  readonly succeeded: number;
  readonly failed: readonly string[];
  readonly timedOut: boolean;
  /** ms from the first submit to the last workflow seen terminal. */
  readonly wallMs: number;
  readonly completedSteps: number;
  readonly stepsPerMin: number;
  /** Client send of the create -> ADDED of the workflow's first pod(s), ms. */
  readonly submitToFirstPodMs: number[];
  /** Create request round trip, ms (part of submitToFirstPod). */
  readonly createRttMs: number[];
  /** Terminal MODIFIED of a step's last dependency -> ADDED of the step's pod, ms. */
  readonly stepToNextPodMs: number[];
}

export interface WorkflowRunOptions {
  readonly client: KubeClient;
  readonly tracker: Tracker;
  readonly namespace: string;
  readonly agent: string;
  readonly prefix: string;
  readonly count: number;
  readonly steps: number;
  readonly shape: Shape;
  readonly podGC: PodGCStrategy;
  /** Creates in flight during a burst. */
  readonly concurrency: number;
  /**
   * How workflows arrive: `paced` one at a time (submit, wait until terminal, then the next:
   * unloaded latency); `burst` all at once (max throughput); `rate` open loop, one every
   * `intervalMs` whatever the system does (latency under a given sustained load).
   */
  readonly mode: 'paced' | 'burst' | 'rate';
  readonly intervalMs?: number;
  readonly timeoutMs: number;
  readonly onProgress?: (msg: string) => void;
}

export async function runWorkflows(o: WorkflowRunOptions): Promise<WorkflowRunResult> {
  const steps = buildSteps(o.agent, o.steps, o.shape);
  const names = Array.from({ length: o.count }, (_, i) => `${o.prefix}-${String(i).padStart(5, '0')}`);
  const submitAt = new Map<string, number>();
  const createRtt: number[] = [];
  const base = o.tracker.terminal;
  const deadline = Date.now() + o.timeoutMs;
  let timedOut = false;

  const submit = async (name: string): Promise<void> => {
    const t = now();
    submitAt.set(name, t);
    await o.client.create(WORKFLOW, buildWorkflow(name, o.namespace, steps, o.podGC));
    createRtt.push(now() - t);
  };

  let progress: NodeJS.Timeout | undefined;
  if (o.onProgress) {
    progress = setInterval(() => {
      o.onProgress?.(
        `  ${o.prefix}: ${o.tracker.terminal - base}/${o.count} workflows done, ${o.tracker.podsDone} pods done`,
      );
    }, 10_000);
  }
  try {
    if (o.mode === 'paced') {
      for (const name of names) {
        await submit(name);
        const ok = await o.tracker.until(
          () => o.tracker.wfs.get(name)?.terminalAt !== undefined,
          deadline - Date.now(),
        );
        if (!ok) {
          timedOut = true;
          break;
        }
      }
    } else if (o.mode === 'rate') {
      const interval = o.intervalMs ?? 1000;
      const t0 = performance.now();
      const inflight: Array<Promise<void>> = [];
      const errors: unknown[] = [];
      for (let i = 0; i < names.length && !o.tracker.aborted; i++) {
        const wait = t0 + i * interval - performance.now();
        if (wait > 0) await sleep(wait);
        // Open loop: never wait for a create here, but never lose its error either.
        inflight.push(submit(names[i]!).catch((err: unknown) => void errors.push(err)));
      }
      await Promise.all(inflight);
      if (errors.length > 0)
        throw errors[0] instanceof Error ? errors[0] : new Error('workflow create failed');
      timedOut = !(await o.tracker.until(() => o.tracker.terminal - base >= o.count, deadline - Date.now()));
    } else {
      await pool(names, o.concurrency, submit);
      timedOut = !(await o.tracker.until(() => o.tracker.terminal - base >= o.count, deadline - Date.now()));
    }
  } finally {
    if (progress) clearInterval(progress);
  }
  // Late pod events for the last workflows are in by now; give the watch a moment anyway.
  await sleep(200);

  const submitToFirstPod: number[] = [];
  const stepToNext: number[] = [];
  const failed: string[] = [];
  let succeeded = 0;
  let last = 0;
  for (const name of names) {
    const wf = o.tracker.wfs.get(name);
    if (wf?.terminalAt !== undefined) last = Math.max(last, wf.terminalAt);
    if (wf?.phase === 'Succeeded') succeeded++;
    else if (wf?.terminalAt !== undefined) failed.push(`${name}:${wf.phase ?? '?'}`);
    const sub = submitAt.get(name);
    for (const s of steps) {
      const pod = o.tracker.pods.get(`${name}-${s.name}-1`);
      if (pod?.added === undefined) continue;
      const deps = s.dependsOn ?? [];
      if (deps.length === 0) {
        if (sub !== undefined) submitToFirstPod.push(pod.added - sub);
        continue;
      }
      const doneTimes = deps.map((d) => o.tracker.pods.get(`${name}-${d}-1`)?.done);
      if (doneTimes.some((t) => t === undefined)) continue;
      stepToNext.push(pod.added - Math.max(...(doneTimes as number[])));
    }
  }
  const first = Math.min(...submitAt.values());
  const wallMs = last > 0 ? last - first : NaN;
  const completedSteps = succeeded * o.steps;
  return {
    workflows: o.count,
    stepsPerWorkflow: o.steps,
    shape: o.shape,
    submitted: submitAt.size,
    succeeded,
    failed,
    timedOut,
    wallMs,
    completedSteps,
    stepsPerMin: (completedSteps / wallMs) * 60_000,
    submitToFirstPodMs: submitToFirstPod,
    createRttMs: createRtt,
    stepToNextPodMs: stepToNext,
  };
}

// --- raw pod reference ---------------------------------------------------------------------------

export interface RawResult {
  readonly pods: number;
  readonly concurrency: number;
  readonly window: number;
  readonly completed: number;
  readonly failedPods: number;
  readonly timedOut: boolean;
  readonly wallMs: number;
  readonly podsPerMin: number;
  /** Creates retried after 409 Conflict (quota usage race) or a transient error. */
  readonly createRetries: number;
  /** Create send -> ADDED on the watch, ms. */
  readonly createToAddedMs: number[];
}

/** The sandbox's quota and LimitRange, copied into the raw namespace so admission does the same work. */
export async function copySandboxLimits(client: KubeClient, from: string, to: string): Promise<void> {
  for (const ref of [RESOURCE_QUOTA, LIMIT_RANGE]) {
    const list = await client.list<KubeObject & { spec?: unknown }>(ref, from, {});
    for (const o of list.items) {
      await client.create(ref, {
        apiVersion: ref.version,
        kind: ref.kind,
        metadata: { name: o.metadata.name ?? '', namespace: to, labels: o.metadata.labels ?? {} },
        spec: o.spec,
      } as KubeObject);
    }
  }
}

/** A bare pod as close to an agent pod as a pod without Paddock can be (restricted-compliant). */
export function rawPod(
  name: string,
  namespace: string,
  env: ReadonlyArray<{ name: string; value: string }>,
): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { 'bench.paddock.dev/raw': 'true' } },
    spec: {
      restartPolicy: 'Never',
      activeDeadlineSeconds: 3600,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 65532,
        runAsGroup: 65532,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: 'agent',
          image: `registry.example/agents/raw@sha256:${'c'.repeat(64)}`,
          env: [...env],
          resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '64Mi' } },
          securityContext: {
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
            readOnlyRootFilesystem: true,
            runAsNonRoot: true,
          },
          terminationMessagePolicy: 'File',
        },
      ],
    },
  };
}

export async function runRawPods(o: {
  client: KubeClient;
  tracker: Tracker;
  namespace: string;
  count: number;
  concurrency: number;
  /** At most this many pods not yet terminal (0: no limit). */
  window: number;
  env: ReadonlyArray<{ name: string; value: string }>;
  timeoutMs: number;
  onProgress?: (msg: string) => void;
}): Promise<RawResult> {
  const names = Array.from({ length: o.count }, (_, i) => `raw-${String(i).padStart(6, '0')}`);
  const sentAt = new Map<string, number>();
  const base = o.tracker.podsDone;
  let created = 0;
  let retries = 0;
  const progress = o.onProgress
    ? setInterval(
        () => o.onProgress?.(`  raw: ${created} created, ${o.tracker.podsDone - base}/${o.count} done`),
        10_000,
      )
    : undefined;
  let timedOut: boolean;
  try {
    await pool(names, o.concurrency, async (name) => {
      if (o.window > 0) {
        await o.tracker.until(() => created - (o.tracker.podsDone - base) < o.window, o.timeoutMs);
      }
      created++;
      sentAt.set(name, now());
      // The quota admission plugin answers 409 Conflict when concurrent creates race on the
      // ResourceQuota's usage; a real client (and the operator's requeue) retries, so do we.
      for (let attempt = 1; ; attempt++) {
        try {
          await o.client.create(POD, rawPod(name, o.namespace, o.env));
          break;
        } catch (err) {
          const retry = (isConflict(err) && !isAlreadyExists(err)) || (isTransient(err) && !isConflict(err));
          if (!retry || attempt >= 10) throw err;
          retries++;
        }
      }
    });
    timedOut = !(await o.tracker.until(() => o.tracker.podsDone - base >= o.count, o.timeoutMs));
  } finally {
    if (progress) clearInterval(progress);
  }
  let last = 0;
  let completed = 0;
  let failedPods = 0;
  const createToAdded: number[] = [];
  for (const n of names) {
    const r = o.tracker.pods.get(n);
    if (r?.done !== undefined) {
      completed++;
      last = Math.max(last, r.done);
      if (r.phase === 'Failed') failedPods++;
    }
    const s = sentAt.get(n);
    if (r?.added !== undefined && s !== undefined) createToAdded.push(r.added - s);
  }
  const wallMs = last - Math.min(...sentAt.values());
  return {
    pods: o.count,
    concurrency: o.concurrency,
    window: o.window,
    completed,
    failedPods,
    timedOut,
    wallMs,
    podsPerMin: ((completed - failedPods) / wallMs) * 60_000,
    createRetries: retries,
    createToAddedMs: createToAdded,
  };
}
