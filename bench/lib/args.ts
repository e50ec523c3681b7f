// Command-line flags of `node bench/run.ts` (also reachable as `make bench BENCH_ARGS=...`).
import { parseArgs } from 'node:util';
import type { PodGCStrategy } from '../../operator/src/api/generated/index.ts';
import type { Shape } from './scenarios.ts';

export interface BenchArgs {
  workflows: number;
  steps: number;
  shape: Shape;
  duration: string;
  result: string;
  podGC: PodGCStrategy;
  workers: number;
  nodes: number;
  submitConcurrency: number;
  latencyWorkflows: number;
  sustainedRate: number;
  sustainedSeconds: number;
  rawConcurrency: number;
  rawWindow: number;
  approvals: number;
  approvalIdleSeconds: number;
  hostileCopies: number;
  hostileChurnSeconds: number;
  rssWorkflows: number;
  rssSteps: number;
  rssShape: Shape;
  rssBudgetSeconds: number;
  /** Items of the fan-out run's forEach step, and its Workflow's spec.parallelism. */
  fanOutItems: number;
  fanOutParallelism: number;
  timeoutSeconds: number;
  apiServerArgs: string[];
  operatorArgs: string[];
  logLevel: string;
  cpuProf: boolean;
  heapSnapshot: boolean;
  experiments: string[];
  operatorNodeOptions: string;
  operatorEntry: 'js' | 'ts';
  realNodeRuns: number;
  realNodeGapMs: number;
  realNodeLockWaitSeconds: number;
  /** The agent pods' network gate (an init container; the shipped Deployment sets it): with, without, or both. */
  realNodeGate: 'on' | 'off' | 'both';
  skip: Set<string>;
  label: string;
  waitQuietSeconds: number;
}

/** The phases, in the order they run; `--skip` and `--only` name them. */
export const PHASES = [
  'latency',
  'approval',
  'sustained',
  'hostile',
  'throughput',
  'raw',
  'rss',
  'fan-out',
  'real-node',
] as const;

export const USAGE = `Usage: node bench/run.ts [flags]     (make bench BENCH_ARGS="...")

Throughput / latency run (one cluster):
  --workflows N            workflows in the throughput burst (default 200)
  --steps M                steps per workflow (default 5)
  --shape chain|fanout|parallel   step graph (default chain)
  --duration D             SIM_DURATION of the simulated agent, a Go duration (default 1ms)
  --result JSON            SIM_RESULT of the simulated agent (default {"ok":true})
  --pod-gc S               Workflow podGC strategy (default Never)
  --latency-workflows K    workflows run one at a time for unloaded latency (default 20; 0 skips)
  --sustained-rate R       steps/min offered in the sustained phase, open loop (default 1000; 0 skips)
  --sustained-seconds S    length of the sustained phase (default 60)
  --submit-concurrency C   Workflow creates in flight during the burst (default 16)
  --raw-concurrency C      bare-pod creates in flight for the raw reference (default 32)
  --raw-window W           at most W raw pods not yet finished (default 0: no limit)
  --approvals K            gated workflows decided one at a time, per round (default 20; 0 skips)
  --approval-idle-seconds S  the second round is decided after the Approval watch sat idle
                           this long (default 600; the budget's check needs >= 600)
  --hostile-copies N       copies of the hostile set (tests/integration/support/pathological.ts),
                           each in its own namespace, applied after the sustained phase; the
                           sustained load then runs again with them present (default 1; needs
                           the sustained phase, --skip hostile leaves it out; 0: the second run
                           with nothing hostile, a control for running second)
  --hostile-churn S        during that run, apply one more copy every S seconds (default 0: none)
RSS run (a second, fresh cluster):
  --rss-workflows N        Workflows (default 1000)
  --rss-steps M            steps per Workflow (default 10; podGC Never, so every pod stays cached)
  --rss-shape S            step graph (default parallel: fastest way to create the pods)
  --rss-budget SECONDS     stop waiting after this long and extrapolate (default 600)
Fan-out run (a cluster of its own, fresh operator):
  --fan-out-items N        items of the one Workflow's forEach step, list -> fan -> report (default 1000)
  --fan-out-parallelism P  its spec.parallelism, 1..100 (default 100, the most a Workflow may have)
Real node (a cluster of its own, with one real kubelet node; Linux and root, else skipped with the reason):
  --real-node-runs N       two-step workflows of the sandbox-probe agent image, one at a time (default 30)
  --real-node-gap-ms MS    pause after each run, so one run's pod teardown does not overlap the next (default 2000)
  --real-node-lock-wait S  wait up to S seconds for another real node on this machine to stop (default 1200)
  --real-node-gate on|off|both  the network gate init container (--network-gate-image, as the shipped
                           Deployment runs it): runs with it, without it, or both, without first (default both)
All:
  --workers N              operator --workers (default 8)
  --nodes N                KWOK nodes (default 4)
  --api-server-arg FLAG    extra kube-apiserver flag (repeatable)
  --operator-arg FLAG      extra operator flag (repeatable)
  --log-level L            operator log level (default warn)
  --cpu-prof               profile the operator (NODE_OPTIONS=--cpu-prof), written to bench/reports/prof-*
  --heap-snapshot          heap snapshot of the operator at the end of the RSS run (bench/reports/prof-b-*)
  --experiment NAME        preload bench/experiments/NAME.ts into the operator (repeatable; A/B of a fix)
  --operator-node-options S  extra NODE_OPTIONS for the operator (e.g. "--max-semi-space-size=2")
  --operator-entry js|ts   run the compiled operator (dist/, compiled if stale; what the image runs)
                           or the TypeScript sources through type stripping (default js)
  --skip LIST              comma list of: latency,approval,sustained,hostile,throughput,raw,rss,fan-out,real-node
  --only LIST              run only these phases (the same names; not with --skip)
  --timeout SECONDS        per phase (default 900)
  --small                  quick preset: 30x3 burst, 5 paced, 5 approvals after 30 s idle,
                           20 s sustained, 100x10 RSS, a 200-item fan-out, 20 real-node runs
  --label TEXT             free text stored in the report
  --wait-quiet SECONDS     before each cluster, wait up to this long for the machine to be idle (default 300)
  -h, --help`;

export function parseBenchArgs(argv: readonly string[]): BenchArgs | undefined {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      workflows: { type: 'string' },
      steps: { type: 'string' },
      shape: { type: 'string' },
      duration: { type: 'string' },
      result: { type: 'string' },
      'pod-gc': { type: 'string' },
      workers: { type: 'string' },
      nodes: { type: 'string' },
      'submit-concurrency': { type: 'string' },
      'latency-workflows': { type: 'string' },
      'sustained-rate': { type: 'string' },
      'sustained-seconds': { type: 'string' },
      'raw-concurrency': { type: 'string' },
      'raw-window': { type: 'string' },
      approvals: { type: 'string' },
      'approval-idle-seconds': { type: 'string' },
      'hostile-copies': { type: 'string' },
      'hostile-churn': { type: 'string' },
      'rss-workflows': { type: 'string' },
      'rss-steps': { type: 'string' },
      'rss-shape': { type: 'string' },
      'rss-budget': { type: 'string' },
      'fan-out-items': { type: 'string' },
      'fan-out-parallelism': { type: 'string' },
      timeout: { type: 'string' },
      'api-server-arg': { type: 'string', multiple: true },
      'operator-arg': { type: 'string', multiple: true },
      'log-level': { type: 'string' },
      'cpu-prof': { type: 'boolean' },
      'heap-snapshot': { type: 'boolean' },
      experiment: { type: 'string', multiple: true },
      'operator-node-options': { type: 'string' },
      'operator-entry': { type: 'string' },
      'real-node-runs': { type: 'string' },
      'real-node-gap-ms': { type: 'string' },
      'real-node-lock-wait': { type: 'string' },
      'real-node-gate': { type: 'string' },
      skip: { type: 'string' },
      only: { type: 'string' },
      small: { type: 'boolean' },
      label: { type: 'string' },
      'wait-quiet': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return undefined;
  const small = values.small ?? false;
  const int = (name: string, v: string | undefined, def: number, min = 0): number => {
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got ${v}`);
    return n;
  };
  const shape = (name: string, v: string | undefined, def: Shape): Shape => {
    const s = v ?? def;
    if (s !== 'chain' && s !== 'fanout' && s !== 'parallel')
      throw new Error(`--${name} must be chain, fanout or parallel`);
    return s;
  };
  const podGC = values['pod-gc'] ?? 'Never';
  if (!['Never', 'OnPodSuccess', 'OnWorkflowSuccess', 'OnWorkflowCompletion'].includes(podGC))
    throw new Error(`--pod-gc: unknown strategy ${podGC}`);
  const entry = values['operator-entry'] ?? 'js';
  if (entry !== 'js' && entry !== 'ts') throw new Error(`--operator-entry must be js or ts, got ${entry}`);
  const gate = values['real-node-gate'] ?? 'both';
  if (gate !== 'on' && gate !== 'off' && gate !== 'both')
    throw new Error(`--real-node-gate must be on, off or both, got ${gate}`);
  const names = (flag: string, v: string | undefined): string[] => {
    const list = (v ?? '').split(',').filter(Boolean);
    for (const s of list)
      if (!(PHASES as readonly string[]).includes(s))
        throw new Error(`--${flag}: unknown phase ${s} (phases: ${PHASES.join(', ')})`);
    return list;
  };
  const fanOutItems = int('fan-out-items', values['fan-out-items'], small ? 200 : 1000, 1);
  const fanOutParallelism = int('fan-out-parallelism', values['fan-out-parallelism'], 100, 1);
  // The CRD's bounds (crds/workflows.paddock.dev.yaml): the API server would refuse the Workflow.
  if (fanOutItems > 5000) throw new Error('--fan-out-items must be at most 5000 (a forEach list)');
  if (fanOutParallelism > 100)
    throw new Error('--fan-out-parallelism must be at most 100 (spec.parallelism)');
  if (values.skip !== undefined && values.only !== undefined)
    throw new Error('--skip and --only: give one of them');
  const only = names('only', values.only);
  if (values.only !== undefined && only.length === 0) throw new Error('--only: name at least one phase');
  const skip = new Set(
    values.only !== undefined ? PHASES.filter((p) => !only.includes(p)) : names('skip', values.skip),
  );
  return {
    workflows: int('workflows', values.workflows, small ? 30 : 200, 1),
    steps: int('steps', values.steps, small ? 3 : 5, 1),
    shape: shape('shape', values.shape, 'chain'),
    duration: values.duration ?? '1ms',
    result: values.result ?? '{"ok":true}',
    podGC: podGC as PodGCStrategy,
    workers: int('workers', values.workers, 8, 1),
    nodes: int('nodes', values.nodes, 4, 1),
    submitConcurrency: int('submit-concurrency', values['submit-concurrency'], 16, 1),
    latencyWorkflows: int('latency-workflows', values['latency-workflows'], small ? 5 : 20),
    sustainedRate: int('sustained-rate', values['sustained-rate'], 1000),
    sustainedSeconds: int('sustained-seconds', values['sustained-seconds'], small ? 20 : 60, 1),
    rawConcurrency: int('raw-concurrency', values['raw-concurrency'], 32, 1),
    rawWindow: int('raw-window', values['raw-window'], 0),
    approvals: int('approvals', values.approvals, small ? 5 : 20),
    approvalIdleSeconds: int('approval-idle-seconds', values['approval-idle-seconds'], small ? 30 : 600),
    hostileCopies: int('hostile-copies', values['hostile-copies'], 1),
    hostileChurnSeconds: int('hostile-churn', values['hostile-churn'], 0),
    rssWorkflows: int('rss-workflows', values['rss-workflows'], small ? 100 : 1000, 1),
    rssSteps: int('rss-steps', values['rss-steps'], 10, 1),
    rssShape: shape('rss-shape', values['rss-shape'], 'parallel'),
    rssBudgetSeconds: int('rss-budget', values['rss-budget'], 600, 10),
    fanOutItems,
    fanOutParallelism,
    timeoutSeconds: int('timeout', values.timeout, 900, 10),
    apiServerArgs: values['api-server-arg'] ?? [],
    operatorArgs: values['operator-arg'] ?? [],
    logLevel: values['log-level'] ?? 'warn',
    cpuProf: values['cpu-prof'] ?? false,
    heapSnapshot: values['heap-snapshot'] ?? false,
    experiments: values.experiment ?? [],
    operatorNodeOptions: values['operator-node-options'] ?? '',
    operatorEntry: entry,
    realNodeRuns: int('real-node-runs', values['real-node-runs'], small ? 20 : 30, 1),
    realNodeGapMs: int('real-node-gap-ms', values['real-node-gap-ms'], 2000),
    realNodeLockWaitSeconds: int('real-node-lock-wait', values['real-node-lock-wait'], 1200),
    realNodeGate: gate,
    skip,
    label: values.label ?? '',
    waitQuietSeconds: int('wait-quiet', values['wait-quiet'], 300),
  };
}
