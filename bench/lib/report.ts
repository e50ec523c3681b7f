// The report: its JSON shape, the verdict per target of the performance budget (docs/benchmarks.md), and the
// human-readable tables.
import type { LivenessReport } from '../../tests/integration/support/liveness.ts';
import type { ApiServerCost, OperatorCost } from './analysis.ts';
import {
  REAL_NODE_FIGURES,
  type MsSummary,
  type RealNodeFigure,
  type RealNodeFigures,
  type RealNodeSample,
} from './real-node.ts';
import type { WorkflowRunResult } from './scenarios.ts';
import type { Summary } from './stats.ts';
import { round } from './stats.ts';

const MiB = 1024 * 1024;

export interface CpuUse {
  readonly wallSeconds: number;
  readonly seconds: Record<string, number>;
  readonly cores: Record<string, number>;
}

export interface RunBlock {
  /** The run's counts (its latency samples are summarized below). */
  readonly run: Omit<WorkflowRunResult, 'submitToFirstPodMs' | 'createRttMs' | 'stepToNextPodMs'>;
  readonly submitToFirstPodMs: Summary;
  readonly createRttMs: Summary;
  readonly stepToNextPodMs: Summary;
  readonly operator: OperatorCost;
  readonly apiServer: ApiServerCost;
  readonly cpuByProcess: CpuUse;
  readonly operatorPeakRssBytes: number;
  /** Sockets the operator holds open at the end of the phase (API server connections). */
  readonly operatorOpenSocketsEnd: number;
  objectSizes?: Record<string, number>;
  /** /healthz polled every 100 ms during the phase, and the RSS sampled with it (sustained phases). */
  operatorLiveness?: LivenessReport;
}

/** The sustained load again, with hostile objects present (bench/lib/hostile.ts). */
export interface HostileBlock extends RunBlock {
  readonly offeredStepsPerMin: number;
  /** Copies of the hostile set applied before the load started, each in its own namespace. */
  readonly copies: number;
  /** One more copy applied every this many seconds during the load (0: none). */
  readonly churnSeconds: number;
  readonly namespaces: readonly string[];
  /** Agents and Workflows of all copies. */
  readonly objects: number;
  /** Hostile objects that did not get their expected outcome (reason) by the end: should be empty. */
  readonly unmet: readonly string[];
  /** Step done -> next pod p99 of the sustained phase (without) and of this one (with), ms. */
  readonly withoutStepToNextPodP99Ms: number;
  readonly withStepToNextPodP99Ms: number;
  /** with / without: the issue's bound is 2. */
  readonly ratio: number;
}

/**
 * One Workflow `list -> fan -> report` whose `fan` is a forEach over `items` items (bench/lib/fan-out.ts),
 * on a cluster and operator of its own. Times from the bench's watches; sizes as JSON bytes.
 */
export interface FanOutBlock {
  readonly workflow: string;
  readonly items: number;
  readonly parallelism: number;
  readonly podGC: string;
  /** SIM_DURATION of the simulated agents. */
  readonly duration: string;
  readonly phase: string;
  readonly timedOut: boolean;
  /** Workflow create sent -> the Workflow Succeeded seen, s. */
  readonly seconds: number;
  /** First instance pod ADDED -> last instance pod terminal, s. */
  readonly fanOutSeconds: number;
  /** Instance pods Succeeded per minute over fanOutSeconds. */
  readonly podsPerMinute: number;
  /** Every pod of the run (the instances, list, report) per minute over `seconds`. */
  readonly runPodsPerMinute: number;
  readonly instancePodsSucceeded: number;
  /** Instance pods not yet terminal at once: the most (never above parallelism) and the time-weighted mean. */
  readonly maxInstancePodsAtOnce: number;
  readonly meanInstancePodsAtOnce: number;
  /** `list` pod Succeeded -> first instance pod ADDED, ms. */
  readonly listToFirstInstanceMs: number;
  /** Last instance pod terminal -> `report` pod ADDED, ms. */
  readonly lastInstanceToReportMs: number;
  /** A slot freed by an instance's end -> the next instance's pod ADDED, ms (the fan-out's step done -> next pod). */
  readonly slotToNextPodMs: Summary;
  /** The Workflow object at the end (GET), JSON bytes: all of it, and its parts. */
  readonly objectBytes: number;
  readonly objectSpecBytes: number;
  readonly objectStatusBytes: number;
  readonly objectManagedFieldsBytes: number;
  /** status.steps[fan].instances. */
  readonly instancesStatusBytes: number;
  /** The largest the object was in any watch event during the run. */
  readonly objectPeakBytes: number;
  /** Watch events of the Workflow (its create, then each write) and their bytes: what every Workflow watcher receives. */
  readonly workflowEvents: number;
  readonly workflowEventBytes: number;
  /** Operator RSS: idle before the run (after a warm-up), highest (VmHWM of the fresh process), after the run. */
  readonly rssIdleMiB: number;
  readonly rssPeakMiB: number;
  readonly rssEndMiB: number;
  readonly heapUsedEndMiB: number;
  /** The operator's cost over the run; its `steps` are the run's pods (instances + 2). */
  readonly operator: OperatorCost;
  readonly apiServer: ApiServerCost;
  readonly cpuByProcess: CpuUse;
  /** What must hold at the end (bench/lib/fan-out.ts checkFanOut): ok, or the problems found. */
  readonly check: { readonly ok: boolean; readonly problems: readonly string[] };
}

/** One round of gated workflows, decided one at a time. */
export interface ApprovalRoundBlock {
  readonly workflows: number;
  /** Decided and their gated pod created. */
  readonly decided: number;
  /** Ended Succeeded after the decision. */
  readonly succeeded: number;
  readonly missing: readonly string[];
  /** Decision send -> gated pod ADDED (the verdict's measure: includes the decision's write). */
  readonly decisionToPodMs: Summary;
  /** Decision acknowledged by the API server -> gated pod ADDED. */
  readonly writtenToPodMs: Summary;
  readonly decisionWriteRttMs: Summary;
  /** Every sample, in decision order: decision send -> gated pod ADDED, ms. */
  readonly decisionToPodSamplesMs: readonly number[];
  /** How long the Approval watch had carried no event when the round's first decision was sent, s. */
  readonly approvalWatchIdleSeconds?: number;
  /** The operator's Approval informer over the idle period: watch (re)connections, relists by reason. */
  readonly operatorApprovalWatchRestarts?: number;
  readonly operatorApprovalRelists?: Record<string, number>;
  /** The operator's own paddock_approval_resume_seconds over the round (mean, ms). */
  readonly operatorResumeMeanMs?: number;
}

/**
 * Agents running for real on the local cluster's real node (bench/lib/real-node.ts): two-step workflows of
 * the sandbox-probe image, one at a time. Every figure is ms, from this machine's clock.
 */
export interface RealNodeBlock extends RealNodeFigures {
  /** Workflows run (each s0 -> s1) and how they ended. */
  readonly runs: number;
  readonly succeeded: number;
  readonly failed: readonly string[];
  readonly timedOut: boolean;
  /** Agent pods with the network gate init container (--network-gate-image, as config/manager and the chart set it). */
  readonly networkGate: boolean;
  /** Runs before the measured ones (the first pod of an image unpacks it), not counted. */
  readonly warmupRuns: number;
  readonly gapMs: number;
  readonly image: string;
  readonly imageDigest: string;
  /** Runs whose s0 the API showed running at least once (the others only as already terminated). */
  readonly runningSeen: number;
  /** Whether containerd's events were read (submitToContainerStart, agentRun, agentExit*): false leaves those empty. */
  readonly containerdEvents: boolean;
  /** Each containerd event's arrival at the bench minus containerd's own stamp: the clocks agree when small and >= 0. */
  readonly containerdEventLag: MsSummary;
  readonly kubeletVersion: string;
  readonly runtimeVersion: string;
  readonly cpuByProcess: CpuUse;
  readonly samples: readonly RealNodeSample[];
}

export interface Report {
  startedAt: string;
  finishedAt?: string;
  label: string;
  args: Record<string, unknown>;
  environment: {
    cpus: number;
    cpuModel: string;
    node: string;
    kubeVersion: string;
    apiServerArgs: readonly string[];
    operatorArgs: readonly string[];
    /** NODE_OPTIONS of the operator: the Deployment's (config/manager) plus --operator-node-options. */
    operatorNodeOptions: string;
    /** The operator's main script: compiled JavaScript (dist/) or the TypeScript sources. */
    operatorEntry: string;
    /** Machine CPU busy (cores) just before each cluster started: should be ~0. */
    busyCoresBefore: Record<string, number>;
  };
  phases: {
    /** One workflow at a time: the latency floor. */
    latency?: RunBlock;
    /** Decision written -> gated pod created: with a fresh Approval watch, then after it sat idle. */
    approval?: {
      readonly approver: string;
      readonly idleTargetSeconds: number;
      readonly fresh?: ApprovalRoundBlock;
      readonly idle?: ApprovalRoundBlock;
    };
    /** Open-loop arrivals at a fixed steps/min. */
    sustained?: RunBlock & { offeredStepsPerMin: number };
    /** The sustained load again, with hostile objects present. */
    hostile?: HostileBlock;
    /** Everything submitted at once: maximum throughput. */
    throughput?: RunBlock;
    raw?: {
      pods: number;
      concurrency: number;
      window: number;
      completed: number;
      failedPods: number;
      timedOut: boolean;
      wallMs: number;
      podsPerMin: number;
      createRetries: number;
      createToAddedMs: Summary;
      apiServer: ApiServerCost;
      cpuByProcess: CpuUse;
    };
    rss?: {
      workflowsTarget: number;
      podsTarget: number;
      shape: string;
      stepsPerWorkflow: number;
      succeeded: number;
      timedOut: boolean;
      wallSeconds: number;
      stepsPerMin: number;
      workflowsCached: number;
      podsCached: number;
      idleRssBytes: number;
      idleHeapUsedBytes: number;
      rssEndBytes: number;
      heapUsedEndBytes: number;
      heapTotalEndBytes: number;
      externalEndBytes: number;
      vmHwmBytes: number;
      openSocketsIdle: number;
      openSocketsEnd: number;
      complete: boolean;
      extrapolated: boolean;
      fitBytesPerPod: number;
      rssAtTargetBytes: number;
      samples: ReadonlyArray<{
        t: number;
        rss: number;
        pods: number;
        workflows: number;
        heapUsed: number;
        sockets: number;
      }>;
      cpuByProcess: CpuUse;
      operator: OperatorCost;
      heapSnapshot?: string;
    };
    /** One Workflow with a 1,000-item forEach step, on a cluster of its own. */
    fanOut?: FanOutBlock;
    /** Real agent containers on the real node: with the network gate, as shipped (or without, if only that ran). */
    realNode?: RealNodeBlock;
    /** The same without the network gate, when both ran (--real-node-gate both): the gate's cost. */
    realNodeWithoutGate?: RealNodeBlock;
  };
  /** Phases not run although asked for, with the one-line reason (e.g. the real node on a machine without root). */
  skipped: Record<string, string>;
  verdicts: Verdict[];
  error?: string;
}

export interface Verdict {
  readonly target: string;
  readonly limit: string;
  readonly measured: string;
  readonly status: 'MET' | 'MISSED' | 'NOT MEASURED';
  readonly note?: string;
}

export function verdicts(r: Report): Verdict[] {
  const out: Verdict[] = [];
  const { latency, sustained, hostile, throughput, raw, rss, approval, realNode, fanOut } = r.phases;
  const add = (
    target: string,
    limit: string,
    measured: number | undefined,
    ok: (v: number) => boolean,
    unit: string,
    note?: string,
  ): void => {
    if (measured === undefined || !Number.isFinite(measured)) {
      out.push({ target, limit, measured: '-', status: 'NOT MEASURED', ...(note ? { note } : {}) });
      return;
    }
    out.push({
      target,
      limit,
      measured: `${round(measured, 2)}${unit}`,
      status: ok(measured) ? 'MET' : 'MISSED',
      ...(note ? { note } : {}),
    });
  };
  const susLabel = sustained ? `at ${sustained.offeredStepsPerMin} steps/min offered` : 'at the target rate';
  const kept = sustained
    ? `achieved ${sustained.run.stepsPerMin} steps/min${sustained.run.timedOut || sustained.run.failed.length ? ', INCOMPLETE' : ''}`
    : undefined;
  add(
    `submit -> first pod p99, ${susLabel}`,
    '<= 100 ms',
    sustained?.submitToFirstPodMs.p99,
    (v) => v <= 100,
    ' ms',
    kept,
  );
  add(
    `step done -> next pod p99, ${susLabel}`,
    '<= 50 ms',
    sustained?.stepToNextPodMs.p99,
    (v) => v <= 50,
    ' ms',
    kept,
  );
  add(
    'step done -> next pod p99 with hostile objects present, / without',
    '<= 2x',
    hostile?.ratio,
    (v) => v <= 2,
    'x',
    hostile
      ? `${hostile.withStepToNextPodP99Ms} ms with, ${hostile.withoutStepToNextPodP99Ms} ms without; ${hostile.objects} hostile objects in ${hostile.namespaces.length} namespaces${hostile.unmet.length ? `; ${hostile.unmet.length} WITHOUT THEIR OUTCOME` : ', each with its outcome'}; /healthz worst ${hostile.operatorLiveness?.worstHealthzMs ?? '?'} ms`
      : undefined,
  );
  add(
    'submit -> first pod p99, paced (unloaded)',
    '<= 100 ms',
    latency?.submitToFirstPodMs.p99,
    (v) => v <= 100,
    ' ms',
  );
  add(
    'step done -> next pod p99, paced (unloaded)',
    '<= 50 ms',
    latency?.stepToNextPodMs.p99,
    (v) => v <= 50,
    ' ms',
  );
  add(
    'step done -> next pod p99, burst (saturated)',
    '<= 50 ms',
    throughput?.stepToNextPodMs.p99,
    (v) => v <= 50,
    ' ms',
    throughput
      ? `${throughput.run.workflows} workflows submitted at once: the machine is saturated, this is queueing`
      : undefined,
  );
  const roundNote = (b: ApprovalRoundBlock | undefined): string | undefined =>
    b
      ? `${b.decided}/${b.workflows} decided, ${b.succeeded} succeeded${b.missing.length ? `, MISSING: ${b.missing.join(' ')}` : ''}`
      : undefined;
  const complete = (b: ApprovalRoundBlock | undefined): number | undefined =>
    b && b.missing.length === 0 && b.decided === b.workflows ? b.decisionToPodMs.p99 : undefined;
  add(
    'approval decision written -> gated pod p99, fresh watch',
    '<= 100 ms',
    complete(approval?.fresh),
    (v) => v <= 100,
    ' ms',
    roundNote(approval?.fresh),
  );
  const idleS = approval?.idle?.approvalWatchIdleSeconds;
  const idleLongEnough = idleS !== undefined && idleS >= 600;
  add(
    'approval decision written -> gated pod p99, after the Approval watch sat idle >= 10 min',
    '<= 100 ms',
    idleLongEnough ? complete(approval?.idle) : undefined,
    (v) => v <= 100,
    ' ms',
    approval?.idle
      ? `${roundNote(approval.idle) ?? ''}; watch idle ${idleS ?? '?'} s${idleLongEnough ? '' : ` (< 600 s: p99 ${approval.idle.decisionToPodMs.p99} ms not judged)`}`
      : undefined,
  );
  const realNote = realNode
    ? `${realNode.runs} two-step workflows of ${realNode.image}, one at a time; ${realNode.succeeded} succeeded`
    : r.skipped['real-node'];
  add(
    'real node: submit -> first pod p99 (real agent image)',
    '<= 100 ms',
    realNode?.submitToFirstPod.p99Ms,
    (v) => v <= 100,
    ' ms',
    realNote,
  );
  add(
    'real node: step done -> next pod p99 (pod Succeeded seen -> next pod ADDED)',
    '<= 50 ms',
    realNode?.stepToNextPod.p99Ms,
    (v) => v <= 50,
    ' ms',
    realNode
      ? `submit -> agent container running p50/p95/p99 ${realNode.submitToRunning.p50Ms}/${realNode.submitToRunning.p95Ms}/${realNode.submitToRunning.p99Ms} ms (no target: the kubelet and the runtime)`
      : undefined,
  );
  add('throughput (burst)', '>= 1000 steps/min', throughput?.run.stepsPerMin, (v) => v >= 1000, ' steps/min');
  const pct = throughput && raw ? (throughput.run.stepsPerMin / raw.podsPerMin) * 100 : undefined;
  add(
    'throughput vs raw pods of the same control plane',
    '>= 70 %',
    pct,
    (v) => v >= 70,
    ' %',
    raw ? `raw: ${raw.podsPerMin} pods/min` : undefined,
  );
  add(
    'operator writes per step, success path (Events NOT counted)',
    '<= 2',
    throughput?.operator.writesPerStep,
    (v) => v <= 2,
    '',
    throughput
      ? `Events add ${throughput.operator.eventWritesPerStep}/step (${throughput.operator.writesPerStepInclEvents}/step with Events)`
      : undefined,
  );
  add(
    'operator writes per step, success path, Events counted',
    '<= 2',
    throughput?.operator.writesPerStepInclEvents,
    (v) => v <= 2,
    '',
  );
  const reads = throughput ? throughput.operator.reads + (sustained?.operator.reads ?? 0) : undefined;
  const steps = throughput ? throughput.operator.steps + (sustained?.operator.steps ?? 0) : 1;
  add(
    'LIST/GET in steady state (sustained + burst)',
    '~0 (<= 0.01/step)',
    reads === undefined ? undefined : reads / Math.max(1, steps),
    (v) => v <= 0.01,
    '/step',
    reads === undefined ? undefined : `${reads} requests`,
  );
  add(
    `operator RSS, ${rss?.workflowsTarget ?? 1000} Workflows / ${rss?.podsTarget ?? 10000} pods cached`,
    '<= 150 MiB',
    rss ? rss.rssAtTargetBytes / MiB : undefined,
    (v) => v <= 150,
    ' MiB',
    rss
      ? rss.extrapolated
        ? `EXTRAPOLATED from ${rss.podsCached} pods cached (${rss.fitBytesPerPod} B/pod)`
        : `measured; idle RSS ${round(rss.idleRssBytes / MiB, 1)} MiB`
      : undefined,
  );
  const fanItems = fanOut ? `${fanOut.items} items, parallelism ${fanOut.parallelism}` : '1,000 items';
  add(
    `fan-out: Workflow object at the end (${fanItems})`,
    '< 256 KiB',
    fanOut ? fanOut.objectBytes / 1024 : undefined,
    (v) => v < 256,
    ' KiB',
    fanOut
      ? `status ${round(fanOut.objectStatusBytes / 1024, 1)} KiB (instances ${round(fanOut.instancesStatusBytes / 1024, 1)}), spec ${round(fanOut.objectSpecBytes / 1024, 1)} KiB; largest during the run ${round(fanOut.objectPeakBytes / 1024, 1)} KiB`
      : undefined,
  );
  // An instance is a step: the budget's throughput target, with the burst as the reference.
  add(
    `fan-out: instance pods/min (${fanItems})`,
    '>= 1000 pods/min',
    fanOut?.podsPerMinute,
    (v) => v >= 1000,
    ' pods/min',
    fanOut
      ? throughput
        ? `burst of this run: ${throughput.run.stepsPerMin} steps/min (the fan-out: ${round((fanOut.podsPerMinute / throughput.run.stepsPerMin) * 100, 0)} % of it)`
        : 'no burst in this run to compare with (docs/benchmarks.md has the last figure)'
      : undefined,
  );
  if (fanOut)
    out.push({
      target:
        'fan-out: the run ended right (every instance Succeeded, outputs in item order, report read them)',
      limit: 'no problem',
      measured: fanOut.check.ok ? 'none' : `${fanOut.check.problems.length} problems`,
      status: fanOut.check.ok ? 'MET' : 'MISSED',
      ...(fanOut.check.ok ? {} : { note: fanOut.check.problems.join('; ') }),
    });
  return out;
}

// --- printing ------------------------------------------------------------------------------------

function table(rows: ReadonlyArray<readonly string[]>): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows
    .map((r, ri) => {
      const line = r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd();
      return ri === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}

const ms = (s: Summary | undefined): string[] =>
  s && s.count > 0
    ? [String(s.count), `${s.p50}`, `${s.p95}`, `${s.p99}`, `${s.max}`]
    : ['-', '-', '-', '-', '-'];

const kv = (o: Record<string, number>): string =>
  Object.entries(o)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');

function costRows(name: string, b: RunBlock | undefined): string[][] {
  if (!b) return [];
  const o = b.operator;
  const per = (n: number): string => String(round(n / Math.max(1, o.steps), 3));
  return [
    [
      name,
      String(o.steps),
      String(o.writesPerStep),
      String(o.eventWritesPerStep),
      per(o.reads),
      String(o.cpuMsPerStep),
      `${round(o.rssBytesEnd / MiB, 1)} / ${round(b.operatorPeakRssBytes / MiB, 1)}`,
      String(b.cpuByProcess.cores['operator'] ?? '-'),
      String(b.cpuByProcess.cores['kube-apiserver'] ?? '-'),
      String(b.cpuByProcess.cores['machine'] ?? '-'),
      String(b.operatorOpenSocketsEnd),
    ],
  ];
}

const FIGURE_TEXT: Record<RealNodeFigure, string> = {
  submitToRunning: 'Workflow create sent -> s0 container started, seen on the watch',
  stepToNextPod: 's0 pod Succeeded seen -> s1 pod ADDED',
  submitToFirstPod: 'Workflow create sent -> s0 pod ADDED',
  podToRunning: 's0 pod ADDED -> s0 container started, seen',
  submitToContainerStart: "Workflow create sent -> containerd's task start of s0's agent",
  agentRun: "containerd's task start -> task exit of s0's agent",
  gateRun: "containerd's task start -> task exit of s0's network gate",
  gateExitToAgentStart: "the gate's task exit -> the agent's task start",
  agentExitToTerminatedSeen: "containerd's task exit -> s0 container terminated, seen",
  terminatedSeenToSucceeded: 's0 container terminated seen -> s0 pod Succeeded seen',
  agentExitToSucceeded: "containerd's task exit -> s0 Succeeded seen",
  agentExitToNextPod: "containerd's task exit -> s1 pod ADDED",
  wall: 'Workflow create sent -> Workflow Succeeded seen',
};

function realNodeLines(b: RealNodeBlock): string[] {
  const rows = REAL_NODE_FIGURES.filter((f) => b[f].count > 0 || !f.startsWith('gate')).map((f) => {
    const m = b[f];
    return m.count > 0
      ? [f, FIGURE_TEXT[f], String(m.count), `${m.p50Ms}`, `${m.p95Ms}`, `${m.p99Ms}`, `${m.maxMs}`]
      : [f, FIGURE_TEXT[f], '-', '-', '-', '-', '-'];
  });
  const lag = b.containerdEventLag;
  return [
    `Real node, ${b.networkGate ? 'WITH the network gate (as the shipped Deployment runs)' : 'WITHOUT the network gate'}: ${b.runs} two-step workflows (s0 -> s1) of ${b.image}, one at a time, ${b.gapMs} ms apart; kubelet ${b.kubeletVersion}, ${b.runtimeVersion}`,
    table([['figure', 'from -> to', 'n', 'p50', 'p95', 'p99', 'max'], ...rows]),
    `  ${b.succeeded}/${b.runs} succeeded${b.failed.length ? ` (!! ${b.failed.join(' ')})` : ''}; the API showed s0 running in ${b.runningSeen} of them (else first seen terminated); containerd events ${b.containerdEvents ? `read (arrival here minus containerd's stamp: p50 ${lag.p50Ms} ms, min ${lag.minMs}, max ${lag.maxMs})` : 'NOT read'}`,
    `  CPU cores by process (the agents' containers and shims are in other): ${kv(b.cpuByProcess.cores)}`,
  ];
}

function fanOutLines(b: FanOutBlock): string[] {
  const kib = (n: number): string => `${round(n / 1024, 1)} KiB`;
  const o = b.operator;
  return [
    `Fan-out run: one Workflow list -> fan (forEach over ${b.items} items, parallelism ${b.parallelism}) -> report; SIM_DURATION ${b.duration}, podGC ${b.podGC}`,
    `  ${b.phase}${b.timedOut ? ' (TIMED OUT)' : ''}: create -> Succeeded ${b.seconds} s; the fan-out ${b.fanOutSeconds} s, ${b.podsPerMinute} instance pods/min (the whole run ${b.runPodsPerMinute} pods/min)`,
    `  instance pods at once: most ${b.maxInstancePodsAtOnce}, mean ${b.meanInstancePodsAtOnce}; list done -> first instance pod ${b.listToFirstInstanceMs} ms; last instance done -> report pod ${b.lastInstanceToReportMs} ms`,
    table([
      ['ms', 'n', 'p50', 'p95', 'p99', 'max'],
      ['slot freed -> next instance pod', ...ms(b.slotToNextPodMs)],
    ]),
    `  Workflow object at the end ${kib(b.objectBytes)} (status ${kib(b.objectStatusBytes)}, of which instances ${kib(b.instancesStatusBytes)}; spec ${kib(b.objectSpecBytes)}; managedFields ${kib(b.objectManagedFieldsBytes)}); largest during the run ${kib(b.objectPeakBytes)}`,
    `  ${b.workflowEvents} Workflow watch events, ${round(b.workflowEventBytes / MiB, 1)} MiB to each Workflow watcher`,
    `  operator RSS idle ${b.rssIdleMiB} MiB, peak ${b.rssPeakMiB} MiB, end ${b.rssEndMiB} MiB (heap used ${b.heapUsedEndMiB} MiB); per pod: ${o.cpuMsPerStep} ms CPU, ${o.writesPerStep} writes (+${o.eventWritesPerStep} Events); reconcile mean ms ${kv(o.reconcileMeanMs)}`,
    `  requests by verb/resource: ${kv(o.requests)}`,
    `  CPU cores by process: ${kv(b.cpuByProcess.cores)}`,
    b.check.ok
      ? `  the run ended right: ${b.instancePodsSucceeded}/${b.items} instances Succeeded, outputs in item order, report read ${b.items}`
      : `  !! THE RUN DID NOT END RIGHT: ${b.check.problems.join('; ')}`,
  ];
}

export function printReport(r: Report): void {
  const out: string[] = [];
  const e = r.environment;
  out.push(`Paddock benchmark  ${r.startedAt}  ${r.label}`);
  out.push(`${e.cpus} x ${e.cpuModel}, Node ${e.node}, Kubernetes ${e.kubeVersion}`);
  out.push(
    `operator: node ${e.operatorEntry} ${e.operatorArgs.join(' ')}${e.operatorNodeOptions ? `  (NODE_OPTIONS=${e.operatorNodeOptions})` : ''}`,
  );
  const exps = (r.args['experiments'] as string[] | undefined) ?? [];
  if (exps.length)
    out.push(`EXPERIMENT preloaded into the operator: ${exps.join(', ')} (not the shipped code)`);
  if (e.apiServerArgs.length) out.push(`kube-apiserver extra: ${e.apiServerArgs.join(' ')}`);
  const { latency, sustained, hostile, throughput, raw, rss, approval, realNode, fanOut } = r.phases;

  // The KWOK phases' tables, when any of them ran (`--only real-node` runs none).
  const onKwok = [latency, sustained, hostile, throughput, raw, approval, rss].some((x) => x !== undefined);
  if (onKwok) {
    out.push('', 'Latency, ms (times of watch events as they reach the bench: delivery delay included)');
    out.push(
      table([
        ['phase', 'measure', 'n', 'p50', 'p95', 'p99', 'max'],
        ['paced', 'submit -> first pod', ...ms(latency?.submitToFirstPodMs)],
        ['paced', 'step done -> next pod', ...ms(latency?.stepToNextPodMs)],
        [
          `sustained ${sustained?.offeredStepsPerMin ?? ''}/min`,
          'submit -> first pod',
          ...ms(sustained?.submitToFirstPodMs),
        ],
        [
          `sustained ${sustained?.offeredStepsPerMin ?? ''}/min`,
          'step done -> next pod',
          ...ms(sustained?.stepToNextPodMs),
        ],
        [
          `sustained ${hostile?.offeredStepsPerMin ?? ''}/min + hostile`,
          'submit -> first pod',
          ...ms(hostile?.submitToFirstPodMs),
        ],
        [
          `sustained ${hostile?.offeredStepsPerMin ?? ''}/min + hostile`,
          'step done -> next pod',
          ...ms(hostile?.stepToNextPodMs),
        ],
        ['burst', 'submit -> first pod', ...ms(throughput?.submitToFirstPodMs)],
        ['burst', 'step done -> next pod', ...ms(throughput?.stepToNextPodMs)],
        ['burst', 'Workflow create RTT', ...ms(throughput?.createRttMs)],
        ['raw', 'pod create -> ADDED', ...ms(raw?.createToAddedMs)],
        ['approval, fresh watch', 'decision sent -> gated pod', ...ms(approval?.fresh?.decisionToPodMs)],
        ['approval, fresh watch', 'decision written -> gated pod', ...ms(approval?.fresh?.writtenToPodMs)],
        [
          `approval, idle ${approval?.idle?.approvalWatchIdleSeconds ?? '?'} s`,
          'decision sent -> gated pod',
          ...ms(approval?.idle?.decisionToPodMs),
        ],
        [
          `approval, idle ${approval?.idle?.approvalWatchIdleSeconds ?? '?'} s`,
          'decision written -> gated pod',
          ...ms(approval?.idle?.writtenToPodMs),
        ],
      ]),
    );
    if (approval?.idle)
      out.push(
        `  approval idle period: operator Approval watch (re)connections ${approval.idle.operatorApprovalWatchRestarts ?? '?'}, relists ${kv(approval.idle.operatorApprovalRelists ?? {})}; operator resume metric mean ${approval.idle.operatorResumeMeanMs ?? '?'} ms`,
      );

    out.push('', 'Throughput');
    const rows: string[][] = [['run', 'units', 'wall s', 'per min', 'notes']];
    for (const [name, b] of [
      ['sustained', sustained],
      ['sustained + hostile', hostile],
      ['burst', throughput],
    ] as const) {
      if (!b) continue;
      const bad =
        b.run.failed.length || b.run.timedOut
          ? `!! ${b.run.failed.length} failed, timedOut=${b.run.timedOut}`
          : '';
      rows.push([
        `${name} ${b.run.workflows}x${b.run.stepsPerWorkflow} ${b.run.shape}`,
        `${b.run.completedSteps} steps`,
        `${round(b.run.wallMs / 1000, 1)}`,
        `${b.run.stepsPerMin}`,
        bad,
      ]);
    }
    if (raw)
      rows.push([
        `raw pods (c=${raw.concurrency}${raw.window ? `, window ${raw.window}` : ''})`,
        `${raw.completed} pods`,
        `${round(raw.wallMs / 1000, 1)}`,
        `${raw.podsPerMin}`,
        raw.createRetries ? `${raw.createRetries} creates retried (409 quota race)` : '',
      ]);
    out.push(table(rows));
  }

  if (latency || sustained || throughput) {
    out.push(
      '',
      'Operator cost per step (writes exclude Events; RSS end/peak MiB; CPU in cores averaged over the phase)',
    );
    out.push(
      table([
        [
          'phase',
          'steps',
          'writes',
          'Event writes',
          'GET+LIST',
          'CPU ms',
          'RSS end/peak',
          'op cores',
          'apiserver cores',
          'machine cores',
          'op sockets',
        ],
        ...costRows('paced', latency),
        ...costRows('sustained', sustained),
        ...costRows('sustained + hostile', hostile),
        ...costRows('burst', throughput),
      ]),
    );
  }
  if (throughput) {
    const o = throughput.operator;
    out.push(`  burst requests by verb/resource: ${kv(o.requests)}`);
    if (Object.keys(o.errors).length) out.push(`  burst non-2xx: ${kv(o.errors)}`);
    out.push(`  burst mean API latency ms: ${kv(o.apiMeanMs)}`);
    out.push(
      `  burst reconcile mean ms: ${kv(o.reconcileMeanMs)}; workqueue wait mean ms: ${kv(o.queueWaitMeanMs)}; p99 <= ${kv(o.queueWaitP99Ms)}`,
    );
    out.push(`  burst reconciles: ${kv(o.reconciles)}`);
    out.push(`  burst operator GC seconds: ${kv(o.gcSeconds)}; event-loop lag p99 ${o.eventLoopLagP99Ms} ms`);
    out.push(`  burst CPU cores by process: ${kv(throughput.cpuByProcess.cores)}`);
    if (throughput.objectSizes) out.push(`  object sizes (bytes, as JSON): ${kv(throughput.objectSizes)}`);
  }
  if (raw) out.push(`  raw CPU cores by process: ${kv(raw.cpuByProcess.cores)}`);

  if (hostile) {
    const live = (b: RunBlock | undefined): string => {
      const l = b?.operatorLiveness;
      return l
        ? `/healthz worst ${l.worstHealthzMs} ms over ${l.probes} probes (${l.failedProbes} failed), peak RSS ${round(l.peakRssBytes / MiB, 1)} MiB`
        : '-';
    };
    out.push('', 'Hostile objects present (tests/integration/support/pathological.ts)');
    out.push(
      `  ${hostile.copies} cop${hostile.copies === 1 ? 'y' : 'ies'}${hostile.copies === 0 && !hostile.churnSeconds ? ' (CONTROL: the same second run, nothing hostile)' : ''} before the load${hostile.churnSeconds ? `, one more every ${hostile.churnSeconds} s during it` : ''}: ${hostile.objects} Agents and Workflows in ${hostile.namespaces.join(', ')}`,
    );
    out.push(
      `  step done -> next pod p99: ${hostile.withoutStepToNextPodP99Ms} ms without, ${hostile.withStepToNextPodP99Ms} ms with: ratio ${hostile.ratio}`,
    );
    out.push(`  without: ${live(sustained)}`);
    out.push(`  with:    ${live(hostile)}`);
    out.push(
      hostile.unmet.length
        ? `  !! ${hostile.unmet.length} hostile objects without their outcome: ${hostile.unmet.slice(0, 5).join('; ')}`
        : '  every hostile object got its outcome (Stalled with its reason, failed step, or Agent not Ready)',
    );
  }

  if (rss) {
    out.push('', 'RSS run');
    out.push(
      table([
        [
          'workflows cached',
          'pods cached',
          'RSS end',
          'heap used',
          'VmHWM',
          'idle RSS',
          'sockets idle/end',
          `RSS @ ${rss.podsTarget} pods`,
        ],
        [
          String(rss.workflowsCached),
          String(rss.podsCached),
          `${round(rss.rssEndBytes / MiB, 1)} MiB`,
          `${round(rss.heapUsedEndBytes / MiB, 1)} MiB`,
          `${round(rss.vmHwmBytes / MiB, 1)} MiB`,
          `${round(rss.idleRssBytes / MiB, 1)} MiB`,
          `${rss.openSocketsIdle} / ${rss.openSocketsEnd}`,
          `${round(rss.rssAtTargetBytes / MiB, 1)} MiB${rss.extrapolated ? ' (extrapolated)' : ''}`,
        ],
      ]),
    );
    out.push(
      `  ${rss.succeeded}/${rss.workflowsTarget} succeeded in ${rss.wallSeconds} s (${rss.stepsPerMin} steps/min)`,
    );
    if (rss.heapSnapshot)
      out.push(`  heap snapshot: ${rss.heapSnapshot} (summarize: node bench/heap.ts <file>)`);
  }

  if (fanOut) out.push('', ...fanOutLines(fanOut));
  for (const b of [r.phases.realNodeWithoutGate, realNode]) if (b) out.push('', ...realNodeLines(b));
  for (const [phase, why] of Object.entries(r.skipped)) out.push('', `${phase}: skipped: ${why}`);

  out.push('', 'Verdicts (the performance budget, docs/benchmarks.md)');
  out.push(
    table([
      ['target', 'limit', 'measured', 'verdict'],
      ...r.verdicts.map((v) => [
        v.target,
        v.limit,
        v.measured,
        v.status === 'MISSED' ? '*** MISSED ***' : v.status,
      ]),
    ]),
  );
  for (const v of r.verdicts) if (v.note) out.push(`  - ${v.target}: ${v.note}`);
  const noisy: string[] = [];
  for (const [name, c] of [
    ['paced', latency?.cpuByProcess],
    ['sustained', sustained?.cpuByProcess],
    ['sustained + hostile', hostile?.cpuByProcess],
    ['burst', throughput?.cpuByProcess],
    ['raw', raw?.cpuByProcess],
    ['rss', rss?.cpuByProcess],
    ['fan-out', fanOut?.cpuByProcess],
  ] as const) {
    const other = c?.cores['other'];
    if (other !== undefined && other > 0.25) noisy.push(`${name}: ${other} cores`);
  }
  if (noisy.length)
    out.push(
      '',
      `WARNING: other processes used CPU during: ${noisy.join('; ')}. On 2 cores that distorts every number of those phases.`,
    );
  if (r.error) out.push('', `ERROR: ${r.error}`);
  process.stdout.write(`${out.join('\n')}\n`);
}
