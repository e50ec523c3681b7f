// Micro-benchmark of the operator's REST client (operator/src/kube/client.ts): what one API
// call costs the operator process and the API server, and how many new TCP connections (TLS
// handshakes) it opens. A regression check for the transport: the client that shipped before
// commit 46e713f opened one connection per request (1000 sockets per 1000 GETs, 4.0 ms client
// CPU and 3.8 ms API server CPU per GET; see docs/benchmarks.md).
//
//   node bench/client-micro.ts [--requests 1000] [--concurrency 1,8]
//
// Each run is a child process of its own, so memory numbers do not mix.
import { spawnSync } from 'node:child_process';
import { subscribe } from 'node:diagnostics_channel';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { LocalCluster } from '../cluster/src/local-cluster.ts';
import { KubeClient } from '../operator/src/kube/client.ts';
import { cpuSecondsOf } from './lib/analysis.ts';
import { round } from './lib/stats.ts';

const NAMESPACE: { group: string; version: string; kind: string; plural: string; namespaced: boolean } = {
  group: '',
  version: 'v1',
  kind: 'Namespace',
  plural: 'namespaces',
  namespaced: false,
};

interface ChildResult {
  variant: string;
  concurrency: number;
  requests: number;
  wallMs: number;
  meanLatencyMs: number;
  clientCpuMsPerRequest: number;
  apiServerCpuMsPerRequest: number;
  newSockets: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  heapUsedAfterMiB: number;
}

async function child(
  variant: string,
  kubeconfig: string,
  requests: number,
  concurrency: number,
  apiPid: number,
): Promise<void> {
  let sockets = 0;
  subscribe('net.client.socket', () => sockets++);
  const client = KubeClient.load(kubeconfig);
  for (let i = 0; i < 20; i++) await client.get(NAMESPACE, undefined, 'default');
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  sockets = 0;
  const cpu0 = process.cpuUsage();
  const api0 = cpuSecondsOf(apiPid);
  const t0 = performance.now();
  let next = 0;
  let latency = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) {
        next++;
        const t = performance.now();
        await client.get(NAMESPACE, undefined, 'default');
        latency += performance.now() - t;
      }
    }),
  );
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const api = cpuSecondsOf(apiPid) - api0;
  const mem = process.memoryUsage();
  const r: ChildResult = {
    variant,
    concurrency,
    requests,
    wallMs: round(wall, 1),
    meanLatencyMs: round(latency / requests, 3),
    clientCpuMsPerRequest: round((cpu.user + cpu.system) / 1000 / requests, 3),
    apiServerCpuMsPerRequest: round((api * 1000) / requests, 3),
    newSockets: sockets,
    rssBeforeMiB: round(rssBefore / 2 ** 20, 1),
    rssAfterMiB: round(mem.rss / 2 ** 20, 1),
    heapUsedAfterMiB: round(mem.heapUsed / 2 ** 20, 1),
  };
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'string' },
      kubeconfig: { type: 'string' },
      requests: { type: 'string' },
      concurrency: { type: 'string' },
      'api-pid': { type: 'string' },
    },
  });
  const requests = Number(values.requests ?? 1000);
  if (values.child) {
    await child(
      values.child,
      values.kubeconfig ?? '',
      requests,
      Number(values.concurrency ?? 1),
      Number(values['api-pid']),
    );
    return;
  }
  const cluster = new LocalCluster({ name: `bench-micro-${randomBytes(3).toString('hex')}`, nodes: 1 });
  const info = await cluster.start();
  try {
    const rows: ChildResult[] = [];
    for (const concurrency of (values.concurrency ?? '1,8').split(',').map(Number)) {
      for (const variant of ['operator']) {
        const res = spawnSync(
          process.execPath,
          [
            '--expose-gc',
            fileURLToPath(import.meta.url),
            `--child=${variant}`,
            `--kubeconfig=${info.kubeconfig}`,
            `--requests=${requests}`,
            `--concurrency=${concurrency}`,
            `--api-pid=${cluster.process('kube-apiserver').pid ?? 0}`,
          ],
          { encoding: 'utf8' },
        );
        if (res.status !== 0) throw new Error(`child ${variant} failed: ${res.stderr}`);
        rows.push(JSON.parse(res.stdout.trim().split('\n').at(-1) ?? '{}') as ChildResult);
      }
    }
    console.table(rows);
  } finally {
    await cluster.destroy();
  }
}

await main();
