// The fan-out scenario: one Workflow `list -> fan -> report` whose middle step is a forEach over
// `inputs.items` (1,000 items by default), each instance echoing its item and index as outputs,
// and a last step reading the list of outputs. Measures the run's time, the instance pods per
// minute, how fast a freed slot is refilled, and the Workflow object's size (at the end, and the
// largest any write made it); checks that the run ended as it must (checkFanOut). Every time
// comes from the bench's own watches (scenarios.ts Tracker), as in the other phases.
import { WORKFLOW } from '../../operator/src/api/constants.ts';
import type { PodGCStrategy, Workflow } from '../../operator/src/api/generated/index.ts';
import { instancePodName, podName } from '../../operator/src/api/labels.ts';
import type { KubeClient } from '../../operator/src/kube/client.ts';
import type { Tracker } from './scenarios.ts';
import { now, sleep } from './stats.ts';

/** The steps of the scenario's Workflow. */
export const FAN_STEPS = { list: 'list', fan: 'fan', report: 'report' } as const;

/** `count` items, as a list of repositories might be: `repo-0000`, `repo-0001`, ... */
export function fanOutItems(count: number): string[] {
  const width = Math.max(4, String(count - 1).length);
  return Array.from({ length: count }, (_, i) => `repo-${String(i).padStart(width, '0')}`);
}

/**
 * `list` (the plain agent) -> `fan` (forEach over inputs.items on the echoing agent, so each
 * instance's outputs are `{item, index}`) -> `report` (echoing agent: its outputs are its rendered
 * inputs, the number of outputs it was given and the last one's item).
 */
export function buildFanOutWorkflow(o: {
  name: string;
  namespace: string;
  agent: string;
  echoAgent: string;
  items: readonly string[];
  parallelism: number;
  podGC: PodGCStrategy;
}): Workflow {
  const { list, fan, report } = FAN_STEPS;
  return {
    apiVersion: `${WORKFLOW.group}/${WORKFLOW.version}`,
    kind: 'Workflow',
    metadata: { name: o.name, namespace: o.namespace },
    spec: {
      inputs: { items: [...o.items] },
      parallelism: o.parallelism,
      podGC: { strategy: o.podGC },
      steps: [
        { name: list, agentRef: { name: o.agent } },
        {
          name: fan,
          agentRef: { name: o.echoAgent },
          dependsOn: [list],
          forEach: { expression: 'inputs.items' },
          inputs: { item: '{{ item }}', index: '{{ index }}' },
        },
        {
          name: report,
          agentRef: { name: o.echoAgent },
          dependsOn: [fan],
          inputs: {
            count: `{{ size(steps.${fan}.outputs) }}`,
            last: `{{ steps.${fan}.outputs[${o.items.length - 1}].item }}`,
          },
        },
      ],
    },
  };
}

/** A pod as the Tracker saw it: ADDED and terminal times (ms, bench clock), its phase. */
export interface PodTimes {
  readonly added?: number;
  readonly done?: number;
  readonly phase?: string;
}

/**
 * Most and mean (time-weighted, between the first ADDED and the last terminal event) instance pods
 * not yet terminal, from the watch's own event order.
 */
export function podsAtOnce(pods: readonly PodTimes[]): { max: number; mean: number } {
  const edges: Array<[number, number]> = [];
  for (const p of pods) {
    if (p.added === undefined) continue;
    edges.push([p.added, 1]);
    if (p.done !== undefined) edges.push([p.done, -1]);
  }
  // At one instant an end goes before a start: the slot was free when the next pod came.
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let live = 0;
  let max = 0;
  let area = 0;
  for (let i = 0; i < edges.length; i++) {
    live += edges[i]![1];
    max = Math.max(max, live);
    const next = edges[i + 1];
    if (next) area += live * (next[0] - edges[i]![0]);
  }
  const span = edges.length > 1 ? edges[edges.length - 1]![0] - edges[0]![0] : 0;
  return { max, mean: span > 0 ? area / span : NaN };
}

/**
 * Slot freed -> next instance pod, ms. Instances start in index order, at most `parallelism` at a
 * time, so instance `parallelism + k` cannot start before the (k+1)-th instance to end has ended:
 * its ADDED minus that end is how long the freed slot stayed empty (the fan-out's step done -> next
 * pod). Only without retries (one pod per instance).
 */
export function slotToNextPodMs(
  added: ReadonlyArray<number | undefined>,
  done: ReadonlyArray<number | undefined>,
  parallelism: number,
): number[] {
  const ends = done.filter((t): t is number => t !== undefined).sort((a, b) => a - b);
  const out: number[] = [];
  for (let i = parallelism; i < added.length; i++) {
    const a = added[i];
    const freed = ends[i - parallelism];
    if (a !== undefined && freed !== undefined) out.push(a - freed);
  }
  return out;
}

/**
 * What must hold at the end, as a list of problems (empty: right). The Workflow and every step
 * Succeeded; `fan` has one instance per item, each Succeeded, none active; its outputs are the
 * items with their index, in order; `report` read all of them; one pod per instance, first
 * attempt, each Succeeded; never more instance pods at once than `parallelism`.
 */
export function checkFanOut(
  wf: Workflow,
  items: readonly string[],
  parallelism: number,
  instancePods: readonly PodTimes[],
  maxAtOnce: number,
  retriedPods: readonly string[],
): string[] {
  const problems: string[] = [];
  const n = items.length;
  const st = wf.status;
  if (st?.phase !== 'Succeeded') problems.push(`Workflow ${st?.phase ?? 'without a phase'}, not Succeeded`);
  const step = (name: string) => st?.steps?.find((s) => s.name === name);
  for (const name of Object.values(FAN_STEPS)) {
    const s = step(name);
    if (s?.phase !== 'Succeeded')
      problems.push(`step ${name}: ${s?.phase ?? 'missing'} (${s?.reason ?? ''}: ${s?.message ?? ''})`);
  }
  const ins = step(FAN_STEPS.fan)?.instances;
  if (!ins) problems.push('step fan: no instances in status');
  else {
    if (ins.count !== n) problems.push(`step fan: instances.count ${ins.count}, not ${n}`);
    const succeeded = [...ins.phases].filter((c) => c === 'S').length;
    if (succeeded !== n || ins.phases.length !== n)
      problems.push(
        `step fan: ${succeeded} of ${ins.phases.length} instances Succeeded (${ins.summary ?? ''})`,
      );
    if ((ins.active?.length ?? 0) > 0)
      problems.push(`step fan: ${ins.active?.length} instances still active`);
    const outs = ins.outputs ?? [];
    if (outs.length !== n) problems.push(`step fan: ${outs.length} outputs, not ${n}`);
    const wrong = outs.findIndex((o, i) => o?.['item'] !== items[i] || o?.['index'] !== i);
    if (wrong >= 0)
      problems.push(`step fan: outputs[${wrong}] is ${JSON.stringify(outs[wrong])}, not its item and index`);
  }
  const rep = step(FAN_STEPS.report)?.outputs;
  if (rep?.['count'] !== n || rep['last'] !== items[n - 1])
    problems.push(`step report read ${JSON.stringify(rep ?? null)}, not count ${n} and the last item`);
  const missing = instancePods.filter((p) => p.added === undefined).length;
  const notSucceeded = instancePods.filter((p) => p.added !== undefined && p.phase !== 'Succeeded').length;
  if (missing > 0) problems.push(`${missing} of ${n} instance pods never seen`);
  if (notSucceeded > 0) problems.push(`${notSucceeded} instance pods not Succeeded`);
  if (retriedPods.length > 0)
    problems.push(
      `${retriedPods.length} instance pods of a later attempt: ${retriedPods.slice(0, 3).join(' ')}`,
    );
  if (maxAtOnce > parallelism)
    problems.push(`${maxAtOnce} instance pods at once, more than parallelism ${parallelism}`);
  return problems;
}

export interface FanOutRun {
  readonly name: string;
  readonly items: number;
  readonly parallelism: number;
  readonly phase: string;
  readonly timedOut: boolean;
  /** Create sent -> Workflow Succeeded (or terminal) seen, ms. */
  readonly wallMs: number;
  /** First instance pod ADDED -> last instance pod terminal, ms. */
  readonly fanOutMs: number;
  readonly instancePodsSeen: number;
  readonly instancePodsSucceeded: number;
  readonly maxInstancePodsAtOnce: number;
  readonly meanInstancePodsAtOnce: number;
  /** `list` pod Succeeded -> first instance pod ADDED (the pass that reads the list and starts the first ones). */
  readonly listToFirstInstanceMs: number;
  /** Last instance pod terminal -> `report` pod ADDED. */
  readonly lastInstanceToReportMs: number;
  readonly slotToNextPodMs: number[];
  /** Workflow watch events of this Workflow after the create (its status writes, as every watcher receives them). */
  readonly workflowEvents: number;
  /** Their JSON bytes together: what each Workflow watcher received. */
  readonly workflowEventBytes: number;
  /** The largest the object was in any of them. */
  readonly objectPeakBytes: number;
  readonly retriedPods: readonly string[];
  readonly instancePods: readonly PodTimes[];
}

/** Creates the Workflow and follows it to its end (or `timeoutMs`). */
export async function runFanOut(o: {
  client: KubeClient;
  tracker: Tracker;
  workflow: Workflow;
  timeoutMs: number;
  onProgress?: (msg: string) => void;
}): Promise<FanOutRun> {
  const wf = o.workflow;
  const name = wf.metadata.name ?? '';
  const items = (wf.spec.inputs?.['items'] ?? []) as unknown[];
  const parallelism = wf.spec.parallelism ?? 4;
  const { list, fan, report } = FAN_STEPS;
  let events = 0;
  let bytes = 0;
  let peak = 0;
  let summary = '';
  o.tracker.onWorkflow = (w) => {
    if (w.metadata.name !== name) return;
    const b = Buffer.byteLength(JSON.stringify(w), 'utf8');
    events++;
    bytes += b;
    peak = Math.max(peak, b);
    summary = w.status?.steps?.find((s) => s.name === fan)?.instances?.summary ?? summary;
  };
  const progress = o.onProgress
    ? setInterval(() => o.onProgress?.(`  ${name}: ${summary || 'not started'}`), 10_000)
    : undefined;
  const sent = now();
  let timedOut: boolean;
  try {
    await o.client.create(WORKFLOW, wf);
    timedOut = !(await o.tracker.until(() => o.tracker.wfs.get(name)?.terminalAt !== undefined, o.timeoutMs));
  } finally {
    if (progress) clearInterval(progress);
    o.tracker.onWorkflow = undefined;
  }
  // The last pod events are in by now; give the watch a moment anyway.
  await sleep(200);
  const rec = o.tracker.wfs.get(name);
  const pod = (n: string): PodTimes => o.tracker.pods.get(n) ?? {};
  const instancePods = items.map((_, i) => pod(instancePodName(name, fan, i, 1)));
  const added = instancePods.map((p) => p.added);
  const done = instancePods.map((p) => p.done);
  const defined = (xs: ReadonlyArray<number | undefined>) => xs.filter((t): t is number => t !== undefined);
  const firstAdded = Math.min(...defined(added));
  const lastDone = Math.max(...defined(done));
  const prefix = `${name}-${fan}-`;
  const retriedPods = [...o.tracker.pods.keys()].filter(
    (n) => n.startsWith(prefix) && !/^\d+-1$/.test(n.slice(prefix.length)),
  );
  const at = podsAtOnce(instancePods);
  const listDone = pod(podName(name, list, 1)).done;
  const reportAdded = pod(podName(name, report, 1)).added;
  return {
    name,
    items: items.length,
    parallelism,
    phase: rec?.phase ?? '?',
    timedOut,
    wallMs: rec?.terminalAt !== undefined ? rec.terminalAt - sent : NaN,
    fanOutMs: lastDone - firstAdded,
    instancePodsSeen: defined(added).length,
    instancePodsSucceeded: instancePods.filter((p) => p.phase === 'Succeeded').length,
    maxInstancePodsAtOnce: at.max,
    meanInstancePodsAtOnce: at.mean,
    listToFirstInstanceMs: listDone !== undefined ? firstAdded - listDone : NaN,
    lastInstanceToReportMs: reportAdded !== undefined ? reportAdded - lastDone : NaN,
    slotToNextPodMs: slotToNextPodMs(added, done, parallelism),
    workflowEvents: events,
    workflowEventBytes: bytes,
    objectPeakBytes: peak,
    retriedPods,
    instancePods,
  };
}
