// Turns /metrics scrapes and /proc samples into the numbers the report shows:
// operator API calls by verb and resource, CPU, reconcile and queue times, and
// the CPU each control-plane process spent during a phase.
import { readFileSync } from 'node:fs';
import { API_REQUESTS, deltaBy, READ_VERBS, sum, WRITE_VERBS, type Scrape } from './prom.ts';
import { round } from './stats.ts';

export interface OperatorCost {
  readonly steps: number;
  /** "verb resource" -> count, every status code. */
  readonly requests: Record<string, number>;
  /** "verb resource code" -> count (non-2xx only). */
  readonly errors: Record<string, number>;
  /** Writes (create, apply, patch, update, delete) to anything but events.k8s.io Events. */
  readonly writes: number;
  readonly writesPerStep: number;
  /** Writes to events.k8s.io Events (creates and series patches). */
  readonly eventWrites: number;
  readonly eventWritesPerStep: number;
  readonly writesPerStepInclEvents: number;
  /** GET + LIST (all resources). */
  readonly reads: number;
  readonly watches: number;
  readonly podsCreated: number;
  readonly cpuSeconds: number;
  readonly cpuMsPerStep: number;
  readonly reconciles: Record<string, number>;
  readonly reconcileMeanMs: Record<string, number>;
  readonly queueWaitMeanMs: Record<string, number>;
  readonly queueWaitP99Ms: Record<string, number>;
  readonly apiMeanMs: Record<string, number>;
  readonly informerEvents: Record<string, number>;
  readonly rssBytesEnd: number;
  readonly heapUsedBytesEnd: number;
  readonly eventLoopLagP99Ms: number;
  /** Seconds spent in garbage collection, by kind (major = mark-compact). */
  readonly gcSeconds: Record<string, number>;
}

const obj = (m: Map<string, number>): Record<string, number> =>
  Object.fromEntries([...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, round(v, 3)]));

function meanBy(
  before: Scrape,
  after: Scrape,
  base: string,
  key: (l: Record<string, string>) => string,
): Record<string, number> {
  const s = deltaBy(before, after, `${base}_sum`, key);
  const c = deltaBy(before, after, `${base}_count`, key);
  const out: Record<string, number> = {};
  for (const [k, n] of c) if (n > 0) out[k] = round(((s.get(k) ?? 0) / n) * 1000, 2);
  return out;
}

/** Approximate quantile from histogram bucket deltas (upper bound of the bucket that holds it). */
function quantileBy(
  before: Scrape,
  after: Scrape,
  base: string,
  key: (l: Record<string, string>) => string,
  q: number,
): Record<string, number> {
  const buckets = deltaBy(before, after, `${base}_bucket`, (l) => `${key(l)}\u0000${l['le'] ?? ''}`);
  const byKey = new Map<string, Array<[number, number]>>();
  for (const [k, v] of buckets) {
    const [name, le] = k.split('\u0000') as [string, string];
    const bound = le === '+Inf' ? Infinity : Number(le);
    let arr = byKey.get(name);
    if (!arr) byKey.set(name, (arr = []));
    arr.push([bound, v]);
  }
  const out: Record<string, number> = {};
  for (const [k, arr] of byKey) {
    arr.sort((a, b) => a[0] - b[0]);
    const total = arr[arr.length - 1]?.[1] ?? 0;
    if (total <= 0) continue;
    const hit = arr.find(([, c]) => c >= q * total);
    out[k] = hit ? (hit[0] === Infinity ? Infinity : round(hit[0] * 1000, 2)) : NaN;
  }
  return out;
}

export function operatorCost(before: Scrape, after: Scrape, steps: number): OperatorCost {
  const requests = deltaBy(before, after, API_REQUESTS, (l) => `${l['verb']} ${l['resource']}`);
  const errors = deltaBy(before, after, API_REQUESTS, (l) =>
    l['code']?.startsWith('2') ? '' : `${l['verb']} ${l['resource']} ${l['code']}`,
  );
  errors.delete('');
  let writes = 0;
  let eventWrites = 0;
  let reads = 0;
  let watches = 0;
  for (const [k, v] of requests) {
    const [verb, resource] = k.split(' ') as [string, string];
    if (WRITE_VERBS.has(verb)) {
      if (resource === 'events') eventWrites += v;
      else writes += v;
    } else if (READ_VERBS.has(verb)) reads += v;
    else if (verb === 'watch') watches += v;
  }
  const cpu =
    sum(after, 'paddock_process_cpu_seconds_total') - sum(before, 'paddock_process_cpu_seconds_total');
  const per = (n: number): number => (steps > 0 ? round(n / steps, 3) : NaN);
  return {
    steps,
    requests: obj(requests),
    errors: obj(errors),
    writes,
    writesPerStep: per(writes),
    eventWrites,
    eventWritesPerStep: per(eventWrites),
    writesPerStepInclEvents: per(writes + eventWrites),
    reads,
    watches,
    podsCreated: sum(after, 'paddock_pods_created_total') - sum(before, 'paddock_pods_created_total'),
    cpuSeconds: round(cpu, 3),
    cpuMsPerStep: steps > 0 ? round((cpu / steps) * 1000, 3) : NaN,
    reconciles: obj(
      deltaBy(before, after, 'paddock_reconcile_total', (l) => `${l['controller']} ${l['result']}`),
    ),
    reconcileMeanMs: meanBy(
      before,
      after,
      'paddock_reconcile_duration_seconds',
      (l) => l['controller'] ?? '',
    ),
    queueWaitMeanMs: meanBy(
      before,
      after,
      'paddock_workqueue_queue_duration_seconds',
      (l) => l['name'] ?? '',
    ),
    queueWaitP99Ms: quantileBy(
      before,
      after,
      'paddock_workqueue_queue_duration_seconds',
      (l) => l['name'] ?? '',
      0.99,
    ),
    apiMeanMs: meanBy(
      before,
      after,
      'paddock_api_request_duration_seconds',
      (l) => `${l['verb']} ${l['resource']}`,
    ),
    informerEvents: obj(
      deltaBy(before, after, 'paddock_informer_events_total', (l) => `${l['resource']} ${l['type']}`),
    ),
    rssBytesEnd: sum(after, 'paddock_process_resident_memory_bytes'),
    heapUsedBytesEnd: sum(after, 'paddock_nodejs_heap_size_used_bytes'),
    eventLoopLagP99Ms: round(sum(after, 'paddock_nodejs_eventloop_lag_p99_seconds') * 1000, 2),
    gcSeconds: obj(deltaBy(before, after, 'paddock_nodejs_gc_duration_seconds_sum', (l) => l['kind'] ?? '')),
  };
}

// --- per-process CPU from /proc ------------------------------------------------------------------

const CLK_TCK = 100;

export function cpuSecondsOf(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may contain spaces) start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/** Busy CPU seconds of the whole machine (all processes), from /proc/stat. */
export function machineBusySeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
    const busy = f.slice(0, 8).reduce((a, b, i) => (i === 3 || i === 4 ? a : a + b), 0);
    return busy / CLK_TCK;
  } catch {
    return NaN;
  }
}

export class CpuMeter {
  private readonly pids: ReadonlyMap<string, number | undefined>;
  private start = new Map<string, number>();
  private machine0 = 0;
  private t0 = 0;

  constructor(pids: ReadonlyMap<string, number | undefined>) {
    this.pids = pids;
  }

  begin(): void {
    this.t0 = performance.now();
    this.start = new Map([...this.pids].map(([k, pid]) => [k, cpuSecondsOf(pid)]));
    this.machine0 = machineBusySeconds();
  }

  /** CPU seconds per process since begin(), and as cores used on average. */
  end(): { wallSeconds: number; seconds: Record<string, number>; cores: Record<string, number> } {
    const wall = (performance.now() - this.t0) / 1000;
    const seconds: Record<string, number> = {};
    const cores: Record<string, number> = {};
    let total = 0;
    for (const [k, pid] of this.pids) {
      const s = cpuSecondsOf(pid) - (this.start.get(k) ?? NaN);
      seconds[k] = round(s, 2);
      cores[k] = round(s / wall, 2);
      if (Number.isFinite(s)) total += s;
    }
    seconds['total'] = round(total, 2);
    cores['total'] = round(total / wall, 2);
    // Everything else on the machine (other users, the kernel): non-zero means a noisy neighbour.
    const machine = machineBusySeconds() - this.machine0;
    seconds['machine'] = round(machine, 2);
    cores['machine'] = round(machine / wall, 2);
    seconds['other'] = round(machine - total, 2);
    cores['other'] = round((machine - total) / wall, 2);
    return { wallSeconds: round(wall, 2), seconds, cores };
  }
}

// --- the API server's own view --------------------------------------------------------------------

export interface ApiServerCost {
  /** "VERB resource[/subresource]" -> requests (all clients), top entries. */
  readonly requests: Record<string, number>;
  /** Same keys: summed request latency in seconds (time in flight, a proxy for work). */
  readonly latencySeconds: Record<string, number>;
  /** Watch events sent, by kind, and their total bytes. */
  readonly watchEvents: Record<string, number>;
  readonly watchEventBytes: Record<string, number>;
}

function top(m: Map<string, number>, n: number, digits = 0): Record<string, number> {
  return Object.fromEntries(
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => [k, round(v, digits)]),
  );
}

export function apiServerCost(before: Scrape, after: Scrape): ApiServerCost {
  const key = (l: Record<string, string>): string =>
    `${l['verb'] ?? ''} ${l['resource'] ?? ''}${l['subresource'] ? `/${l['subresource']}` : ''}`;
  return {
    requests: top(deltaBy(before, after, 'apiserver_request_total', key), 14),
    latencySeconds: top(deltaBy(before, after, 'apiserver_request_duration_seconds_sum', key), 14, 2),
    watchEvents: top(
      deltaBy(before, after, 'apiserver_watch_events_total', (l) => l['resource'] ?? l['kind'] ?? ''),
      10,
    ),
    watchEventBytes: top(
      deltaBy(before, after, 'apiserver_watch_events_sizes_sum', (l) => l['resource'] ?? l['kind'] ?? ''),
      10,
    ),
  };
}

/** Cores busy on the whole machine, averaged over `ms`. */
export async function machineBusyCores(ms: number): Promise<number> {
  const b0 = machineBusySeconds();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  return (machineBusySeconds() - b0) / ((performance.now() - t0) / 1000);
}
