// `make bench`: Paddock against its performance budget (docs/benchmarks.md), on the local
// control plane. A measurement, not a test: it exits 0 once it has measured,
// whatever it found, and prints MISSED next to each target it missed.
//
// Phases (docs/benchmarks.md explains each number):
//   cluster A + operator: warm-up; paced (unloaded) latency; sustained load at a fixed
//   rate; burst (max throughput); raw-pod reference on the same control plane;
//   cluster B + fresh operator: RSS with many Workflows and pods cached;
//   fan-out cluster + fresh operator: one Workflow with a 1,000-item forEach step;
//   cluster C with a real kubelet node + fresh operator: real agent containers, one workflow at a
//   time (Linux and root; otherwise skipped with the reason).
// Flags: `node bench/run.ts --help`; through make: `make bench BENCH_ARGS="--small"`.
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Component } from '../cluster/src/local-cluster.ts';
import { REPO_ROOT } from '../cluster/src/paths.ts';
import { AGENT, POD, WORKFLOW } from '../operator/src/api/constants.ts';
import type { Workflow } from '../operator/src/api/generated/index.ts';
import type { KubeClient } from '../operator/src/kube/client.ts';
import type { KubeObject } from '../operator/src/kube/types.ts';
import {
  apiServerCost,
  CpuMeter,
  machineBusyCores,
  operatorCost,
  type ApiServerCost,
  type OperatorCost,
} from './lib/analysis.ts';
import { parseBenchArgs, USAGE, type BenchArgs } from './lib/args.ts';
import { ensureCompiledOperator } from './lib/build.ts';
import { importImage } from '../cluster/src/real-node.ts';
import { ensureRealNodeBuild, realNodeUnsupported } from '../cluster/src/real-node-host.ts';
import { OPERATOR_IMAGE, type ImageRecord } from '../images/src/build.ts';
import { ensureImages } from '../images/src/ensure.ts';
import {
  ContainerdEvents,
  msSummary,
  realNodeFigures,
  runRealNode,
  setupRealNodeNamespace,
  type RealNodeRunResult,
} from './lib/real-node.ts';
import { HostileObjects } from './lib/hostile.ts';
import { buildFanOutWorkflow, checkFanOut, FAN_STEPS, fanOutItems, runFanOut } from './lib/fan-out.ts';
import {
  APPROVER,
  ApprovalWatch,
  approverClient,
  armRound,
  decideRound,
  setupApprovals,
  type ApprovalRound,
  type DecideResult,
} from './lib/approvals.ts';
import {
  BenchOperator,
  deploymentNodeOptions,
  setupNamespace,
  startCluster,
  waitServiceAccount,
  type BenchCluster,
} from './lib/env.ts';
import { parseMetrics, sum, value, type Scrape } from './lib/prom.ts';
import {
  printReport,
  verdicts,
  type ApprovalRoundBlock,
  type CpuUse,
  type FanOutBlock,
  type RealNodeBlock,
  type Report,
  type RunBlock,
} from './lib/report.ts';
import {
  copySandboxLimits,
  runRawPods,
  runWorkflows,
  Tracker,
  type WorkflowRunOptions,
  type WorkflowRunResult,
} from './lib/scenarios.ts';
import { linearFit, now, round, roundSummary, sleep, summarize } from './lib/stats.ts';
import { LivenessMonitor } from '../tests/integration/support/liveness.ts';
import { restrictedNamespace, simAgent } from '../tests/integration/support/workflows.ts';
import { errorMessage } from '../operator/src/util/errors.ts';

const NS = 'bench';
const RAW_NS = 'bench-raw';
/** Where the sustained load runs the second time, next to the hostile objects. */
const SECOND_NS = 'bench-2';
const AGENT_NAME = 'sim';
/** The fan-out's instances and its report step: outputs = rendered inputs (SIM_ECHO_INPUTS). */
const ECHO_AGENT = 'sim-echo';
const GATED_AGENT = 'sim-gated';
const REPORTS = join(REPO_ROOT, 'bench', 'reports');
/** Other processes may use this much CPU before the machine counts as busy. */
const QUIET_CORES = 0.3;
/** The agent image of the real-node phase (agents/sandbox-probe, built by `make images`). */
const PROBE_IMAGE = 'agent-sandbox-probe';
const REAL_NS = 'bench-real';

/**
 * What SIGINT or SIGTERM must stop and remove: the cluster and operator of the phase running now, and the
 * bench's copies of the real node's image archives.
 */
const live: { env?: BenchCluster; op?: BenchOperator; imagesDir?: string; stoppedBy?: NodeJS.Signals } = {};

function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

function runBlock(r: WorkflowRunResult, operator: OperatorCost, m: Measured): RunBlock {
  const { submitToFirstPodMs, createRttMs, stepToNextPodMs, ...run } = r;
  return {
    run: { ...run, wallMs: round(run.wallMs, 1), stepsPerMin: round(run.stepsPerMin, 1) },
    submitToFirstPodMs: roundSummary(summarize(submitToFirstPodMs)),
    createRttMs: roundSummary(summarize(createRttMs)),
    stepToNextPodMs: roundSummary(summarize(stepToNextPodMs)),
    operator,
    apiServer: m.apiServer,
    cpuByProcess: m.cpu,
    operatorPeakRssBytes: m.peakRss,
    operatorOpenSocketsEnd: m.openSockets,
  };
}

function componentPids(env: BenchCluster, op: BenchOperator): Map<string, number | undefined> {
  const m = new Map<string, number | undefined>();
  const components: Component[] = [
    'etcd',
    'kube-apiserver',
    'kube-controller-manager',
    'kube-scheduler',
    'kwok',
  ];
  for (const c of components) m.set(c, env.cluster.process(c).pid);
  m.set('operator', op.pid);
  m.set('bench', process.pid);
  return m;
}

async function apiServerScrape(env: BenchCluster): Promise<Scrape> {
  const res = await env.cluster.adminRequest('GET', '/metrics');
  return res.status === 200 ? parseMetrics(res.body) : [];
}

/** Fails fast, with the operator's last log lines, if the operator dies while `p` runs. */
function guard<T>(op: BenchOperator, p: Promise<T>, onDeath?: () => void): Promise<T> {
  const died = op.proc.waitExit().then((code) => {
    onDeath?.();
    throw new Error(
      `operator exited (code ${String(code)}) during the run; its last lines:\n${op.proc.dumpLogs(30)}`,
    );
  });
  died.catch(() => {});
  return Promise.race([p, died]);
}

interface Measured {
  readonly before: Scrape;
  readonly after: Scrape;
  readonly apiServer: ApiServerCost;
  readonly cpu: CpuUse;
  readonly peakRss: number;
  readonly openSockets: number;
}

/**
 * Runs `fn` between two settled operator scrapes and two API server scrapes, with the CPU of
 * every process and the operator's RSS (from /proc, every second) measured around it.
 */
async function measured<T>(
  env: BenchCluster,
  op: BenchOperator,
  tracker: Tracker,
  fn: () => Promise<T>,
): Promise<[T, Measured]> {
  const before = await op.settle();
  const apiBefore = await apiServerScrape(env);
  const cpu = new CpuMeter(componentPids(env, op));
  let peak = op.memory().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, op.memory().rss)), 1000);
  cpu.begin();
  let result: T;
  try {
    result = await guard(op, fn(), () => tracker.abort('the operator exited'));
  } finally {
    clearInterval(sampler);
  }
  const cpuUse = cpu.end();
  peak = Math.max(peak, op.memory().rss);
  const after = await op.settle();
  const apiAfter = await apiServerScrape(env);
  const openSockets = op.openSockets();
  return [
    result,
    { before, after, apiServer: apiServerCost(apiBefore, apiAfter), cpu: cpuUse, peakRss: peak, openSockets },
  ];
}

async function objectSizes(
  env: BenchCluster,
  workflow: string,
  pod: string,
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  try {
    const wf = await env.admin.get<KubeObject & { status?: unknown }>(WORKFLOW, NS, workflow);
    out['workflowBytes'] = JSON.stringify(wf).length;
    out['workflowStatusBytes'] = JSON.stringify(wf.status ?? {}).length;
    out['workflowManagedFieldsBytes'] = JSON.stringify(wf.metadata.managedFields ?? []).length;
    const p = await env.admin.get<KubeObject>(POD, NS, pod);
    out['podBytes'] = JSON.stringify(p).length;
    out['podManagedFieldsBytes'] = JSON.stringify(p.metadata.managedFields ?? []).length;
  } catch (err) {
    log(`object sizes: ${String(err)}`);
  }
  return out;
}

/**
 * This is a 2-core machine: anything else running (tests, builds) shows up directly in the
 * numbers. Waits (bounded) until the machine is idle and records what it saw.
 */
async function waitQuiet(a: BenchArgs, report: Report, what: string): Promise<void> {
  const deadline = Date.now() + a.waitQuietSeconds * 1000;
  let busy = await machineBusyCores(3000);
  while (busy > QUIET_CORES && Date.now() < deadline) {
    log(`machine busy (${round(busy, 2)} cores used by other processes); waiting before ${what}`);
    await sleep(10_000);
    busy = await machineBusyCores(3000);
  }
  report.environment.busyCoresBefore[what] = round(busy, 2);
  if (busy > QUIET_CORES) log(`WARNING: starting ${what} on a busy machine (${round(busy, 2)} cores)`);
}

function approvalBlock(
  workflows: number,
  r: DecideResult,
  before: Scrape,
  after: Scrape,
  extra: Partial<ApprovalRoundBlock> = {},
): ApprovalRoundBlock {
  const n =
    value(after, 'paddock_approval_resume_seconds_count') -
    value(before, 'paddock_approval_resume_seconds_count');
  const s =
    value(after, 'paddock_approval_resume_seconds_sum') -
    value(before, 'paddock_approval_resume_seconds_sum');
  return {
    workflows,
    decided: r.samples.length,
    succeeded: r.succeeded,
    missing: r.missing,
    decisionToPodMs: roundSummary(summarize(r.samples.map((x) => x.sendToPodMs))),
    writtenToPodMs: roundSummary(summarize(r.samples.map((x) => x.writtenToPodMs))),
    decisionWriteRttMs: roundSummary(summarize(r.samples.map((x) => x.writeRttMs))),
    decisionToPodSamplesMs: r.samples.map((x) => round(x.sendToPodMs, 1)),
    ...(n > 0 ? { operatorResumeMeanMs: round((s / n) * 1000, 1) } : {}),
    ...extra,
  };
}

/** Approval informer counters of the operator between two scrapes. */
function approvalWatchDelta(
  before: Scrape,
  after: Scrape,
): { restarts: number; relists: Record<string, number> } {
  const isApprovals = (l: Record<string, string>): boolean => l['resource'] === 'approvals';
  const restarts =
    sum(after, 'paddock_informer_watch_restarts_total', isApprovals) -
    sum(before, 'paddock_informer_watch_restarts_total', isApprovals);
  const relists: Record<string, number> = {};
  for (const reason of ['initial', 'gone', 'watchdog', 'error']) {
    const f = (l: Record<string, string>): boolean => isApprovals(l) && l['reason'] === reason;
    const d =
      sum(after, 'paddock_informer_relists_total', f) - sum(before, 'paddock_informer_relists_total', f);
    if (d > 0) relists[reason] = d;
  }
  return { restarts, relists };
}

/** The namespace under test with its simulated Agent, and a Tracker already watching it. */
async function prepareNamespace(env: BenchCluster, a: BenchArgs, namespace = NS): Promise<Tracker> {
  await setupNamespace(env, env.admin, {
    namespace,
    agent: AGENT_NAME,
    duration: a.duration,
    result: JSON.parse(a.result) as unknown,
    quotaPods: 10_000,
  });
  const tracker = new Tracker(env.admin, namespace);
  await tracker.start();
  return tracker;
}

async function phaseA(a: BenchArgs, report: Report): Promise<void> {
  const phases = report.phases;
  const wanted = ['latency', 'approval', 'sustained', 'throughput', 'raw'].some((p) => !a.skip.has(p));
  if (!wanted) return;
  await waitQuiet(a, report, 'cluster A');
  log(`starting cluster A (${a.nodes} KWOK nodes)`);
  const env = (live.env = await startCluster({ nodes: a.nodes, apiServerArgs: a.apiServerArgs, log }));
  report.environment.kubeVersion = env.kubeVersion;
  let op: BenchOperator | undefined;
  try {
    op = await startOperator(env, a, 'a', report);
    const o = op;
    report.environment.operatorArgs = op.args.filter((x) => !x.startsWith('--kubeconfig'));
    const tracker = await prepareNamespace(env, a);
    const common: Omit<WorkflowRunOptions, 'prefix' | 'count' | 'mode'> = {
      client: env.admin,
      tracker,
      namespace: NS,
      agent: AGENT_NAME,
      steps: a.steps,
      shape: a.shape,
      podGC: a.podGC,
      concurrency: a.submitConcurrency,
      timeoutMs: a.timeoutSeconds * 1000,
      onProgress: log,
    };
    const workflows = async (
      prefix: string,
      count: number,
      mode: WorkflowRunOptions['mode'],
      intervalMs?: number,
      at: { namespace: string; tracker: Tracker } = { namespace: NS, tracker },
    ): Promise<RunBlock> => {
      const [r, m] = await measured(env, o, at.tracker, () =>
        runWorkflows({ ...common, ...at, prefix, count, mode, ...(intervalMs ? { intervalMs } : {}) }),
      );
      return runBlock(r, operatorCost(m.before, m.after, r.completedSteps), m);
    };

    log('warm-up: 5 workflows');
    await runWorkflows({ ...common, prefix: 'warm', count: 5, mode: 'burst' });

    if (!a.skip.has('latency') && a.latencyWorkflows > 0) {
      log(`paced: ${a.latencyWorkflows} workflows x ${a.steps} steps, one at a time`);
      phases.latency = await workflows('lat', a.latencyWorkflows, 'paced');
    }

    // Approvals, first round: decided while the Approval watch is busy (the requests were just
    // made). The second round is armed now, so that nothing touches an Approval until it is
    // decided after the idle period, which the other phases fill.
    let approvalIdle:
      { watch: ApprovalWatch; round: ApprovalRound; scrape: Scrape; approver: KubeClient } | undefined;
    const roundTimeoutMs = Math.min(a.timeoutSeconds * 1000, 120_000);
    if (!a.skip.has('approval') && a.approvals > 0) {
      log(`approval: ${a.approvals} gated workflows per round, decided one at a time as ${APPROVER}`);
      await setupApprovals(env, NS, GATED_AGENT, {
        duration: a.duration,
        result: JSON.parse(a.result) as unknown,
      });
      const watch = new ApprovalWatch(env.admin, NS);
      await watch.start();
      const approver = await approverClient(env);
      const arm = (prefix: string): Promise<ApprovalRound> =>
        guard(
          o,
          armRound({
            client: env.admin,
            watch,
            namespace: NS,
            agent: GATED_AGENT,
            prefix,
            count: a.approvals,
            timeoutMs: roundTimeoutMs,
          }),
        );
      const fresh = await arm('apr-fresh');
      const idleRound = await arm('apr-idle');
      const before = await o.settle();
      const r = await guard(
        o,
        decideRound({
          approver,
          tracker,
          namespace: NS,
          round: fresh,
          gapMs: 100,
          timeoutMs: roundTimeoutMs,
        }),
        () => tracker.abort('the operator exited'),
      );
      const after = await o.settle();
      phases.approval = {
        approver: APPROVER,
        idleTargetSeconds: a.approvalIdleSeconds,
        fresh: approvalBlock(a.approvals, r, before, after),
      };
      approvalIdle = { watch, round: idleRound, scrape: after, approver };
      log(
        `approval (fresh watch): decision -> gated pod p99 ${phases.approval.fresh?.decisionToPodMs.p99 ?? '?'} ms`,
      );
    }

    if (!a.skip.has('sustained') && a.sustainedRate > 0) {
      // Open loop: workflows arrive evenly so that steps arrive at `sustainedRate` per minute.
      const intervalMs = (60_000 * a.steps) / a.sustainedRate;
      const count = Math.max(1, Math.round((a.sustainedSeconds * 1000) / intervalMs));
      log(
        `sustained: ${count} workflows, one every ${round(intervalMs, 1)} ms (${a.sustainedRate} steps/min offered)`,
      );
      // /healthz polled all along, in this run and in the one with hostile objects alike.
      const watched = async (
        prefix: string,
        at?: { namespace: string; tracker: Tracker },
      ): Promise<RunBlock> => {
        const monitor = new LivenessMonitor(o.port, o.pid);
        monitor.start();
        let block: RunBlock;
        try {
          block = await workflows(prefix, count, 'rate', intervalMs, at);
        } catch (err) {
          await monitor.stop();
          throw err;
        }
        return { ...block, operatorLiveness: await monitor.stop() };
      };
      phases.sustained = { ...(await watched('sus')), offeredStepsPerMin: a.sustainedRate };

      if (!a.skip.has('hostile')) {
        // The same load again, with the hostile objects applied before it starts and kept during
        // it, in a namespace of its own: the first run's 1,000 finished pods stay in NS
        // (podGC Never), and a second run in NS is slower for that alone (about 3x at p99 with
        // nothing hostile: docs/benchmarks.md), which the comparison must not count.
        const second = await prepareNamespace(env, a, SECOND_NS);
        const hostile = new HostileObjects(env.admin, env.kubeconfig, log);
        log(
          `hostile: ${a.hostileCopies} copies of the hostile set, then the sustained load again in ${SECOND_NS}`,
        );
        for (let i = 0; i < a.hostileCopies; i++) await hostile.addCopy();
        if (a.hostileChurnSeconds > 0) hostile.startChurn(a.hostileChurnSeconds * 1000);
        let block: RunBlock;
        try {
          block = await watched('sush', { namespace: SECOND_NS, tracker: second });
        } finally {
          await hostile.stopChurn();
          await second.stop();
        }
        const unmet = await hostile.unmet(60_000);
        const without = phases.sustained.stepToNextPodMs.p99;
        const withBad = block.stepToNextPodMs.p99;
        phases.hostile = {
          ...block,
          offeredStepsPerMin: a.sustainedRate,
          copies: a.hostileCopies,
          churnSeconds: a.hostileChurnSeconds,
          namespaces: hostile.namespaces,
          objects: hostile.objects,
          unmet,
          withoutStepToNextPodP99Ms: without,
          withStepToNextPodP99Ms: withBad,
          ratio: round(withBad / without, 2),
        };
        log(
          `hostile: step done -> next pod p99 ${withBad} ms with, ${without} ms without (${phases.hostile.ratio}x); ${unmet.length} hostile objects without their outcome`,
        );
      }
    }

    if (!a.skip.has('throughput')) {
      log(`burst: ${a.workflows} workflows x ${a.steps} steps (${a.shape}) submitted at once`);
      phases.throughput = await workflows('tp', a.workflows, 'burst');
      phases.throughput.objectSizes = await objectSizes(env, 'tp-00000', 'tp-00000-s0-1');
    }

    if (!a.skip.has('raw')) {
      const count = a.workflows * a.steps;
      log(`raw reference: ${count} bare pods, ${a.rawConcurrency} creates in flight`);
      env.kubectl(['apply', '-f', '-'], restrictedNamespace(RAW_NS));
      await copySandboxLimits(env.admin, NS, RAW_NS);
      await waitServiceAccount(env.admin, RAW_NS);
      const rawTracker = new Tracker(env.admin, RAW_NS, '');
      await rawTracker.start(false);
      const [r, m] = await measured(env, o, rawTracker, () =>
        runRawPods({
          client: env.admin,
          tracker: rawTracker,
          namespace: RAW_NS,
          count,
          concurrency: a.rawConcurrency,
          window: a.rawWindow,
          env: [
            { name: 'SIM_DURATION', value: a.duration },
            { name: 'SIM_RESULT', value: a.result },
          ],
          timeoutMs: a.timeoutSeconds * 1000,
          onProgress: log,
        }),
      );
      await rawTracker.stop();
      const { createToAddedMs, ...rest } = r;
      phases.raw = {
        ...rest,
        wallMs: round(rest.wallMs, 1),
        podsPerMin: round(rest.podsPerMin, 1),
        createToAddedMs: roundSummary(summarize(createToAddedMs)),
        apiServer: m.apiServer,
        cpuByProcess: m.cpu,
      };
    }

    if (approvalIdle && phases.approval) {
      const { watch, round: idleRound, approver } = approvalIdle;
      const lastEvent = watch.lastEventAt;
      const waitMs = lastEvent + a.approvalIdleSeconds * 1000 - now();
      if (waitMs > 0) {
        log(
          `approval: waiting ${round(waitMs / 1000, 0)} s more, until the Approval watch has been idle ${a.approvalIdleSeconds} s`,
        );
        await guard(o, sleep(waitMs));
      }
      const idleScrape = await o.scrape();
      // Idle means no Approval event at all since the last one before the wait.
      if (watch.lastEventAt !== lastEvent) log('WARNING: an Approval changed during the idle period');
      const idleSeconds = round((now() - watch.lastEventAt) / 1000, 1);
      const delta = approvalWatchDelta(approvalIdle.scrape, idleScrape);
      const r = await guard(
        o,
        decideRound({
          approver,
          tracker,
          namespace: NS,
          round: idleRound,
          gapMs: 100,
          timeoutMs: roundTimeoutMs,
        }),
        () => tracker.abort('the operator exited'),
      );
      const after = await o.settle();
      phases.approval = {
        ...phases.approval,
        idle: approvalBlock(a.approvals, r, idleScrape, after, {
          approvalWatchIdleSeconds: idleSeconds,
          operatorApprovalWatchRestarts: delta.restarts,
          operatorApprovalRelists: delta.relists,
        }),
      };
      log(
        `approval (after ${idleSeconds} s idle): decision -> gated pod p99 ${phases.approval.idle?.decisionToPodMs.p99 ?? '?'} ms`,
      );
      await watch.stop();
    }
    await tracker.stop();
  } finally {
    await stopOperator(op, a);
    await env.cluster.destroy();
    live.env = undefined;
  }
}

async function phaseB(a: BenchArgs, report: Report): Promise<void> {
  if (a.skip.has('rss')) return;
  log(
    `starting cluster B for the RSS run (${a.rssWorkflows} workflows x ${a.rssSteps} steps, ${a.rssShape})`,
  );
  const env = (live.env = await startCluster({ nodes: a.nodes, apiServerArgs: a.apiServerArgs, log }));
  report.environment.kubeVersion = env.kubeVersion;
  let op: BenchOperator | undefined;
  try {
    op = await startOperator(env, a, 'b', report);
    const o = op;
    const tracker = await prepareNamespace(env, a);
    await sleep(2000);
    const idle = o.memory();
    const idleSockets = o.openSockets();
    const idleScrape = await o.scrape();
    const samples: Array<{
      t: number;
      rss: number;
      pods: number;
      workflows: number;
      heapUsed: number;
      sockets: number;
    }> = [];
    const t0 = Date.now();
    const sampler = setInterval(() => {
      o.scrape()
        .then((s) =>
          samples.push({
            t: round((Date.now() - t0) / 1000, 1),
            rss: o.memory().rss,
            pods: sum(s, 'paddock_informer_cache_objects', (l) => l['resource'] === 'pods'),
            workflows: sum(s, 'paddock_informer_cache_objects', (l) => l['resource'] === 'workflows'),
            heapUsed: value(s, 'paddock_nodejs_heap_size_used_bytes'),
            sockets: o.openSockets(),
          }),
        )
        .catch(() => {});
    }, 5000);
    const cpu = new CpuMeter(componentPids(env, o));
    cpu.begin();
    let r: WorkflowRunResult;
    try {
      r = await guard(
        o,
        runWorkflows({
          client: env.admin,
          tracker,
          namespace: NS,
          agent: AGENT_NAME,
          prefix: 'rss',
          count: a.rssWorkflows,
          steps: a.rssSteps,
          shape: a.rssShape,
          podGC: 'Never',
          concurrency: a.submitConcurrency,
          mode: 'burst',
          timeoutMs: a.rssBudgetSeconds * 1000,
          onProgress: log,
        }),
        () => tracker.abort('the operator exited'),
      );
    } finally {
      clearInterval(sampler);
    }
    const cpuUse = cpu.end();
    // Let the operator go idle, so the final RSS is not mid-burst.
    await sleep(5000);
    const end = await o.settle();
    const mem = o.memory();
    let heapSnapshot: string | undefined;
    if (a.heapSnapshot) heapSnapshot = await takeHeapSnapshot(o);
    const podsCached = sum(end, 'paddock_informer_cache_objects', (l) => l['resource'] === 'pods');
    const wfsCached = sum(end, 'paddock_informer_cache_objects', (l) => l['resource'] === 'workflows');
    const rssEnd = sum(end, 'paddock_process_resident_memory_bytes');
    const targetPods = a.rssWorkflows * a.rssSteps;
    // When the budget ran out before every pod existed: RSS against pods cached, fitted over
    // the samples taken once every Workflow existed, evaluated at the target.
    const late = samples.filter((s) => s.workflows >= a.rssWorkflows && s.pods > 0);
    const fit = linearFit(late.map((s) => [s.pods, s.rss] as const));
    // Measured (not extrapolated) once every Workflow and every pod is in the cache, even if
    // some Workflows are still finishing when the budget ends.
    const complete = podsCached >= targetPods && wfsCached >= a.rssWorkflows;
    report.phases.rss = {
      workflowsTarget: a.rssWorkflows,
      podsTarget: targetPods,
      shape: a.rssShape,
      stepsPerWorkflow: a.rssSteps,
      succeeded: r.succeeded,
      timedOut: r.timedOut,
      wallSeconds: round(r.wallMs / 1000, 1),
      stepsPerMin: round(r.stepsPerMin, 1),
      workflowsCached: wfsCached,
      podsCached,
      idleRssBytes: idle.rss,
      idleHeapUsedBytes: value(idleScrape, 'paddock_nodejs_heap_size_used_bytes'),
      rssEndBytes: rssEnd,
      heapUsedEndBytes: value(end, 'paddock_nodejs_heap_size_used_bytes'),
      heapTotalEndBytes: value(end, 'paddock_nodejs_heap_size_total_bytes'),
      externalEndBytes: value(end, 'paddock_nodejs_external_memory_bytes'),
      vmHwmBytes: mem.hwm,
      openSocketsIdle: idleSockets,
      openSocketsEnd: o.openSockets(),
      complete,
      extrapolated: !complete,
      fitBytesPerPod: round(fit.b, 1),
      rssAtTargetBytes: complete ? rssEnd : Math.round(fit.a + fit.b * targetPods),
      samples: samples.map((s) => ({ ...s, rss: Math.round(s.rss) })),
      cpuByProcess: cpuUse,
      operator: operatorCost(idleScrape, end, r.completedSteps),
      ...(heapSnapshot ? { heapSnapshot } : {}),
    };
    await tracker.stop();
  } finally {
    await stopOperator(op, a);
    await env.cluster.destroy();
    live.env = undefined;
  }
}

/**
 * The fan-out (bench/lib/fan-out.ts): one Workflow list -> fan (forEach over `--fan-out-items`) -> report,
 * on a cluster and operator of its own, so the operator's RSS is this run's alone. A warm-up fan-out
 * of 20 items first (not measured), then the run. A run that did not end right fails the bench, after
 * its figures are in the report.
 */
async function phaseFanOut(a: BenchArgs, report: Report): Promise<void> {
  if (a.skip.has('fan-out')) return;
  await waitQuiet(a, report, 'cluster fan-out');
  log(`starting the fan-out cluster (${a.nodes} KWOK nodes)`);
  const env = (live.env = await startCluster({ nodes: a.nodes, apiServerArgs: a.apiServerArgs, log }));
  report.environment.kubeVersion = env.kubeVersion;
  let op: BenchOperator | undefined;
  try {
    op = await startOperator(env, a, 'f', report);
    const o = op;
    const tracker = await prepareNamespace(env, a);
    await env.admin.create(AGENT, simAgent(ECHO_AGENT, NS, { echoInputs: true, duration: a.duration }));
    const workflow = (name: string, count: number): Workflow =>
      buildFanOutWorkflow({
        name,
        namespace: NS,
        agent: AGENT_NAME,
        echoAgent: ECHO_AGENT,
        items: fanOutItems(count),
        parallelism: a.fanOutParallelism,
        podGC: a.podGC,
      });
    const run = (wf: Workflow) =>
      runFanOut({
        client: env.admin,
        tracker,
        workflow: wf,
        timeoutMs: a.timeoutSeconds * 1000,
        onProgress: log,
      });
    log('fan-out warm-up: 20 items (not measured)');
    const warm = await guard(o, run(workflow('fan-warm', 20)), () => tracker.abort('the operator exited'));
    if (warm.phase !== 'Succeeded') throw new Error(`fan-out: the warm-up ended ${warm.phase}`);
    await sleep(2000);
    const idleRss = o.memory().rss;
    const items = fanOutItems(a.fanOutItems);
    const wf = workflow('fanout', a.fanOutItems);
    log(
      `fan-out: one Workflow, forEach over ${a.fanOutItems} items, parallelism ${a.fanOutParallelism} (${round(Buffer.byteLength(JSON.stringify(wf)) / 1024, 1)} KiB as created)`,
    );
    const [r, m] = await measured(env, o, tracker, () => run(wf));
    const final = await env.admin.get<Workflow>(WORKFLOW, NS, wf.metadata.name ?? '');
    const bytes = (v: unknown): number => Buffer.byteLength(JSON.stringify(v ?? null), 'utf8');
    const problems = checkFanOut(
      final,
      items,
      a.fanOutParallelism,
      r.instancePods,
      r.maxInstancePodsAtOnce,
      r.retriedPods,
    );
    if (r.timedOut) problems.unshift(`not over after ${a.timeoutSeconds} s`);
    const MiB = 1024 * 1024;
    const cost = operatorCost(m.before, m.after, r.items + 2);
    const block: FanOutBlock = {
      workflow: r.name,
      items: r.items,
      parallelism: r.parallelism,
      podGC: a.podGC,
      duration: a.duration,
      phase: r.phase,
      timedOut: r.timedOut,
      seconds: round(r.wallMs / 1000, 2),
      fanOutSeconds: round(r.fanOutMs / 1000, 2),
      podsPerMinute: round((r.instancePodsSucceeded / r.fanOutMs) * 60_000, 1),
      runPodsPerMinute: round(((r.instancePodsSucceeded + 2) / r.wallMs) * 60_000, 1),
      instancePodsSucceeded: r.instancePodsSucceeded,
      maxInstancePodsAtOnce: r.maxInstancePodsAtOnce,
      meanInstancePodsAtOnce: round(r.meanInstancePodsAtOnce, 1),
      listToFirstInstanceMs: round(r.listToFirstInstanceMs, 1),
      lastInstanceToReportMs: round(r.lastInstanceToReportMs, 1),
      slotToNextPodMs: roundSummary(summarize(r.slotToNextPodMs)),
      objectBytes: bytes(final),
      objectSpecBytes: bytes(final.spec),
      objectStatusBytes: bytes(final.status),
      objectManagedFieldsBytes: bytes(final.metadata.managedFields),
      instancesStatusBytes: bytes(final.status?.steps?.find((x) => x.name === FAN_STEPS.fan)?.instances),
      objectPeakBytes: r.objectPeakBytes,
      workflowEvents: r.workflowEvents,
      workflowEventBytes: r.workflowEventBytes,
      rssIdleMiB: round(idleRss / MiB, 1),
      rssPeakMiB: round(Math.max(o.memory().hwm, m.peakRss) / MiB, 1),
      rssEndMiB: round(cost.rssBytesEnd / MiB, 1),
      heapUsedEndMiB: round(cost.heapUsedBytesEnd / MiB, 1),
      operator: cost,
      apiServer: m.apiServer,
      cpuByProcess: m.cpu,
      check: { ok: problems.length === 0, problems },
    };
    report.phases.fanOut = block;
    log(
      `fan-out: ${block.phase} in ${block.seconds} s, ${block.podsPerMinute} instance pods/min, object ${round(block.objectBytes / 1024, 1)} KiB at the end, operator RSS peak ${block.rssPeakMiB} MiB`,
    );
    if (problems.length > 0) throw new Error(`fan-out: the run did not end right: ${problems.join('; ')}`);
    await tracker.stop();
  } finally {
    await stopOperator(op, a);
    await env.cluster.destroy();
    live.env = undefined;
  }
}

/**
 * The real node: agents in containers (bench/lib/real-node.ts). Runs `--real-node-runs` two-step workflows of
 * the sandbox-probe image one at a time, after two warm-up runs, on a cluster of its own.
 */
/** An image of the real-node phase: its record, and a copy of its archive the bench owns. */
interface OwnedImage {
  readonly record: ImageRecord;
  readonly archive: string;
}

/** The agent's image, and the network gate's (the operator image, as the shipped Deployment names it). */
interface RealNodeImages {
  readonly probe: OwnedImage;
  readonly gate: OwnedImage;
}

async function phaseRealNode(
  a: BenchArgs,
  report: Report,
  images: RealNodeImages | undefined,
): Promise<void> {
  if (a.skip.has('real-node') || !images) return;
  await waitQuiet(a, report, 'cluster real-node');
  log('starting the real-node cluster (one KWOK node, cordoned, and the real kubelet node)');
  const env = (live.env = await startCluster({
    nodes: 1,
    apiServerArgs: a.apiServerArgs,
    log,
    realNode: { lockWaitMs: a.realNodeLockWaitSeconds * 1000 },
  }));
  report.environment.kubeVersion = env.kubeVersion;
  let events: ContainerdEvents | undefined;
  try {
    for (const image of [images.probe, images.gate]) {
      importImage(image.archive);
      log(`imported ${image.record.reference}@${image.record.digest}`);
    }
    events = new ContainerdEvents(join(ensureRealNodeBuild().bin, 'ctr'));
    events.start();
    // Without the gate first (when both): the difference is the gate's cost.
    const gates = a.realNodeGate === 'both' ? [false, true] : [a.realNodeGate === 'on'];
    for (const [i, withGate] of gates.entries()) {
      const block = await measureRealNode(env, a, report, images, events, withGate, i === 0);
      if (withGate || gates.length === 1) report.phases.realNode = block;
      else report.phases.realNodeWithoutGate = block;
    }
  } finally {
    events?.stop();
    await stopOperator(live.op, a);
    await env.cluster.destroy();
    live.env = undefined;
  }
}

/** One configuration: a fresh operator (with or without the network gate), warm-up runs, measured runs. */
async function measureRealNode(
  env: BenchCluster,
  a: BenchArgs,
  report: Report,
  images: RealNodeImages,
  events: ContainerdEvents,
  withGate: boolean,
  first: boolean,
): Promise<RealNodeBlock> {
  const probe = images.probe.record;
  const gateArgs = withGate ? [`--network-gate-image=${images.gate.record.reference}`] : [];
  const what = withGate ? 'with the network gate' : 'without the network gate';
  const op = await startOperator(env, a, withGate ? 'real-gate' : 'real', report, gateArgs);
  try {
    if (first) await setupRealNodeNamespace(env, REAL_NS, probe.reference);
    const tag = withGate ? 'rg' : 'rn';
    const run = (prefix: string, runs: number): Promise<RealNodeRunResult> =>
      guard(
        op,
        runRealNode({
          client: env.admin,
          namespace: REAL_NS,
          prefix,
          runs,
          gapMs: a.realNodeGapMs,
          timeoutMs: Math.min(a.timeoutSeconds * 1000, 300_000),
          events,
          onProgress: log,
        }),
      );
    const warmupRuns = 2;
    log(`real node, ${what}: ${warmupRuns} warm-up runs (an image's first container), not measured`);
    const warm = await run(`${tag}-warm`, warmupRuns);
    if (warm.succeeded < warmupRuns)
      throw new Error(
        `real node: the warm-up runs did not succeed (${warm.failed.join(' ')}):\n${await realNodePodLogs(env)}`,
      );
    log(
      `real node, ${what}: ${a.realNodeRuns} runs of ${probe.reference} (s0 -> s1), one at a time, ${a.realNodeGapMs} ms apart`,
    );
    const pids = componentPids(env, op);
    for (const c of ['containerd', 'kubelet', 'kube-proxy', 'kube-router'] as const)
      pids.set(c, env.cluster.node?.process(c)?.pid);
    const cpu = new CpuMeter(pids);
    const lagsBefore = events.lags.length;
    cpu.begin();
    const r = await run(tag, a.realNodeRuns);
    const cpuUse = cpu.end();
    if (!events.running || events.errors) log(`real node: ctr events: ${events.errors || 'exited'}`);
    const node = await env.admin.raw<{
      status?: { nodeInfo?: { kubeletVersion?: string; containerRuntimeVersion?: string } };
    }>('GET', '/api/v1/nodes/real-node');
    const block: RealNodeBlock = {
      networkGate: withGate,
      runs: r.runs,
      succeeded: r.succeeded,
      failed: r.failed,
      timedOut: r.timedOut,
      warmupRuns,
      gapMs: a.realNodeGapMs,
      image: probe.reference,
      imageDigest: probe.digest,
      runningSeen: r.samples.filter((x) => x.runningSeen).length,
      containerdEvents: r.samples.some((x) => x.submitToContainerStart !== undefined),
      containerdEventLag: msSummary(events.lags.slice(lagsBefore)),
      kubeletVersion: node.status?.nodeInfo?.kubeletVersion ?? '?',
      runtimeVersion: node.status?.nodeInfo?.containerRuntimeVersion ?? '?',
      cpuByProcess: cpuUse,
      ...realNodeFigures(r.samples),
      samples: r.samples,
    };
    log(
      `real node, ${what}: submit -> running p50/p95/p99 ${block.submitToRunning.p50Ms}/${block.submitToRunning.p95Ms}/${block.submitToRunning.p99Ms} ms; step done -> next pod ${block.stepToNextPod.p50Ms}/${block.stepToNextPod.p95Ms}/${block.stepToNextPod.p99Ms} ms`,
    );
    if (r.failed.length > 0)
      log(`real node: failed runs ${r.failed.join(' ')}:\n${await realNodePodLogs(env)}`);
    return block;
  } finally {
    await stopOperator(op, a);
  }
}

/** The last lines of the failed agent pods of the real-node namespace (why a run failed). */
async function realNodePodLogs(env: BenchCluster): Promise<string> {
  const pods = await env.admin.list<KubeObject & { status?: { phase?: string } }>(POD, REAL_NS);
  const failed = pods.items.filter((p) => p.status?.phase !== 'Succeeded').slice(0, 3);
  return failed
    .map((p) => {
      const name = p.metadata.name ?? '';
      let logs: string;
      try {
        logs = env.kubectl(['logs', '-n', REAL_NS, name, '--tail=10']);
      } catch (err) {
        logs = String(err);
      }
      return `--- ${name} (${p.status?.phase ?? '?'}) ---\n${logs}`;
    })
    .join('\n');
}

/** SIGUSR2 makes the operator (started with --heapsnapshot-signal) write a snapshot after a full GC. */
async function takeHeapSnapshot(op: BenchOperator): Promise<string | undefined> {
  const dir = op.diagnosticDir;
  if (!dir) return undefined;
  const seen = new Set(readdirSync(dir));
  process.kill(op.pid, 'SIGUSR2');
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    await sleep(1000);
    const f = readdirSync(dir).find((x) => x.endsWith('.heapsnapshot') && !seen.has(x));
    // Written in one go once complete; the operator answers /metrics again when done.
    if (
      f &&
      (await op.scrape().then(
        () => true,
        () => false,
      ))
    )
      return join(dir, f);
  }
  return undefined;
}

async function startOperator(
  env: BenchCluster,
  a: BenchArgs,
  tag: string,
  report: Report,
  extraArgs: readonly string[] = [],
): Promise<BenchOperator> {
  const diagDir = join(REPORTS, `prof-${tag}-${Date.now()}`);
  const diagnostics = a.cpuProf || a.heapSnapshot;
  if (diagnostics) mkdirSync(diagDir, { recursive: true });
  const entry =
    a.operatorEntry === 'js' ? ensureCompiledOperator(log) : join(REPO_ROOT, 'operator', 'src', 'main.ts');
  report.environment.operatorEntry = entry.slice(REPO_ROOT.length + 1);
  const op = await BenchOperator.start(env, {
    entry,
    workers: a.workers,
    logLevel: a.logLevel,
    extraArgs: [...a.operatorArgs, ...extraArgs],
    nodeOptions: [
      deploymentNodeOptions(),
      ...(a.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${diagDir}`] : []),
      ...(a.heapSnapshot ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${diagDir}`] : []),
      ...a.experiments.map((x) => `--import=${join(REPO_ROOT, 'bench', 'experiments', `${x}.ts`)}`),
      ...(a.operatorNodeOptions ? [a.operatorNodeOptions] : []),
    ].join(' '),
    ...(diagnostics ? { diagnosticDir: diagDir } : {}),
  });
  live.op = op;
  return op;
}

async function stopOperator(op: BenchOperator | undefined, a: BenchArgs): Promise<void> {
  if (!op) return;
  const code = await op.stop();
  if (live.op === op) live.op = undefined;
  if (code !== 0) log(`operator exit code ${String(code)}; last lines:\n${op.proc.dumpLogs(30)}`);
  if (a.cpuProf) log(`operator exited (${String(code)}); CPU profile in ${op.diagnosticDir ?? '?'}`);
  // pino writes the level's label.
  const errors = op.proc.lines.filter((l) => ['error', 'fatal'].includes(String(l.level)));
  if (errors.length > 0)
    log(`operator logged ${errors.length} error(s); last: ${JSON.stringify(errors.at(-1))}`);
}

function checkExperiments(names: readonly string[]): void {
  for (const x of names) {
    if (!existsSync(join(REPO_ROOT, 'bench', 'experiments', `${x}.ts`)))
      throw new Error(`--experiment ${x}: no bench/experiments/${x}.ts`);
  }
}

async function main(): Promise<void> {
  // A stray rejection must not kill the bench before it has stopped its clusters.
  process.on('unhandledRejection', (err) => log(`unhandled rejection: ${String(err)}`));
  const extra = (process.env['BENCH_ARGS'] ?? '').split(/\s+/).filter(Boolean);
  let a: BenchArgs | undefined;
  try {
    a = parseBenchArgs([...process.argv.slice(2), ...extra]);
    if (a) checkExperiments(a.experiments);
  } catch (err) {
    process.stderr.write(`${errorMessage(err)}\n\n${USAGE}\n`);
    process.exit(2);
  }
  if (!a) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const startedAt = new Date();
  const report: Report = {
    startedAt: startedAt.toISOString(),
    label: a.label,
    args: { ...a, skip: [...a.skip] },
    environment: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      node: process.version,
      kubeVersion: 'unknown',
      apiServerArgs: a.apiServerArgs,
      operatorArgs: [],
      operatorNodeOptions: [deploymentNodeOptions(), a.operatorNodeOptions].filter(Boolean).join(' '),
      operatorEntry: '',
      busyCoresBefore: {},
    },
    phases: {},
    skipped: {},
    verdicts: [],
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      live.stoppedBy = signal;
      log(`${signal}: stopping the operator and the cluster of the running phase`);
      void (async () => {
        await live.op?.stop().catch(() => null);
        await live.env?.cluster.destroy().catch(() => {});
        if (live.imagesDir) rmSync(live.imagesDir, { recursive: true, force: true });
      })().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
  // The real node's image is built first (make images, when stale): that also compiles dist/, so the
  // phases on KWOK find the operator compiled. Its archive is copied out of dist/: a later `make build`
  // (a source changed during the run) empties dist/, images included.
  let images: RealNodeImages | undefined;
  try {
    if (!a.skip.has('real-node')) {
      const why = realNodeUnsupported();
      if (why !== undefined) {
        report.skipped['real-node'] = `real node unavailable: it ${why}`;
        log(`real node: skipped: ${report.skipped['real-node']}`);
      } else {
        const records = ensureImages(log);
        const dir = (live.imagesDir = mkdtempSync(join(tmpdir(), 'paddock-bench-')));
        const own = (name: string): OwnedImage => {
          const record = records.find((r) => r.name === name);
          if (!record) throw new Error(`make images wrote no ${name} image (dist/images/images.json)`);
          const archive = join(dir, basename(record.archive));
          copyFileSync(join(REPO_ROOT, record.archive), archive);
          return { record, archive };
        };
        images = { probe: own(PROBE_IMAGE), gate: own(OPERATOR_IMAGE) };
      }
    }
    await phaseA(a, report);
    await phaseB(a, report);
    await phaseFanOut(a, report);
    await phaseRealNode(a, report, images);
  } catch (err) {
    // Stopped by a signal: what failed meanwhile is the stop itself; the handler cleans up and exits.
    if (live.stoppedBy) await new Promise<never>(() => {});
    report.error = err instanceof Error ? (err.stack ?? err.message) : String(err);
    log(`bench failed: ${report.error}`);
  } finally {
    if (live.imagesDir) rmSync(live.imagesDir, { recursive: true, force: true });
  }
  report.finishedAt = new Date().toISOString();
  report.verdicts = verdicts(report);
  mkdirSync(REPORTS, { recursive: true });
  const file = join(REPORTS, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(report, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  copyFileSync(file, join(REPORTS, 'latest.json'));
  printReport(report);
  process.stdout.write(`\nreport: ${file}\n`);
  // A measurement: missed targets are in the report, not the exit code. Only a run that could
  // not measure (cluster failed to start, a phase crashed) exits non-zero.
  process.exit(report.error ? 1 : 0);
}

await main();
