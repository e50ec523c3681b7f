// The operator keeps following the API server through what real networks and
// control planes do to it — a cut watch connection, a 410 Gone after etcd
// compaction, an API server restart — and reconverges without restarting and
// without repeating work it already did.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT } from '../../operator/src/api/constants.ts';
import type { Agent } from '../../operator/src/api/generated/index.ts';
import { TcpProxy } from '../../cluster/src/tcp-proxy.ts';
import { testAgent } from './support/agents.ts';
import { useCluster } from './support/cluster.ts';
import { metricValue, OperatorProcess, operatorKubeconfig } from './support/operator.ts';
import { eventually, sleep } from './support/wait.ts';

const NS = 'resilience';

describe('operator resilience against a real API server', () => {
  const env = useCluster();
  let proxy: TcpProxy;
  let op: OperatorProcess;

  const ready = async (name: string): Promise<Agent> => await env().admin.get<Agent>(AGENT, NS, name);
  const readyStatus = (a: Agent): string | undefined =>
    a.status?.conditions?.find((c) => c.type === 'Ready')?.status;
  const waitReady = (name: string, status: 'True' | 'False', generation?: number) =>
    eventually(
      `agent ${name} Ready=${status}`,
      () => ready(name),
      (a) =>
        readyStatus(a) === status &&
        (generation === undefined || a.status?.observedGeneration === generation),
    );
  const metrics = async () => {
    const text = await op.metricsText();
    return {
      reconciles: metricValue(text, 'paddock_reconcile_total', { controller: 'agent' }),
      applies: metricValue(text, 'paddock_api_requests_total', { verb: 'apply', resource: 'agents' }),
      relistsGone: metricValue(text, 'paddock_informer_relists_total', {
        resource: 'agents',
        reason: 'gone',
      }),
      relists: metricValue(text, 'paddock_informer_relists_total', { resource: 'agents' }),
      lists: metricValue(text, 'paddock_api_requests_total', { verb: 'list', resource: 'agents' }),
    };
  };

  beforeAll(async () => {
    proxy = new TcpProxy(env().cluster.info.apiServerPort);
    await proxy.start();
    const kubeconfig = operatorKubeconfig(env(), proxy.url);
    env().kubectl(['create', 'namespace', NS]);
    for (let i = 0; i < 5; i++) await env().admin.create(AGENT, testAgent(`agent-${i}`, NS));
    op = OperatorProcess.start(kubeconfig, ['--leader-elect=false']);
    for (let i = 0; i < 5; i++) await waitReady(`agent-${i}`, 'True');
  });

  afterAll(async () => {
    if (process.env['DUMP_OPERATOR_LOGS'])
      console.log(op?.raw.filter((l) => !l.includes('"level":"debug"') || l.includes('watch')).join('\n'));
    await op?.stop();
    await proxy?.stop();
  });

  it('wrote each Agent status exactly once on the way to Ready', async () => {
    await sleep(500);
    const m = await metrics();
    expect(m.applies).toBe(5);
    // Each status write comes back as a watch event and is reconciled once more, as a no-op
    // (at most once more again if the event lands while the first reconcile is finishing).
    expect(m.reconciles).toBeLessThanOrEqual(15);
    expect(m.relists).toBe(1); // the initial list only
  });

  it('resumes after the watch connection is cut, without relisting or redoing work', async () => {
    const before = await metrics();
    const acceptedBefore = proxy.accepted;
    proxy.cutAll();
    await env().admin.patch(AGENT, NS, 'agent-1', {
      spec: { inputsSchema: { type: 'object', properties: { x: { type: 'bogus' } } } },
    });
    const a1 = await waitReady('agent-1', 'False', 2);
    expect(a1.status?.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({
      status: 'True',
      reason: 'InvalidInputsSchema',
    });
    expect(proxy.accepted).toBeGreaterThan(acceptedBefore); // it really reconnected
    await sleep(500);
    const after = await metrics();
    expect(after.relists).toBe(before.relists); // resumed from its resourceVersion
    expect(after.applies - before.applies).toBe(1); // only agent-1 changed
    expect(op.exited).toBe(false);
  });

  it('relists after a 410 Gone (etcd compacted while it was cut off) and only touches what changed', async () => {
    const before = await metrics();
    const rvs = new Map<string, string | undefined>();
    for (const n of ['agent-0', 'agent-3', 'agent-4']) rvs.set(n, (await ready(n)).metadata.resourceVersion);
    proxy.block();
    await env().admin.patch(AGENT, NS, 'agent-2', {
      spec: { outputsSchema: { type: 'object', properties: { y: { type: 'nope' } } } },
    });
    await env().admin.create(AGENT, testAgent('agent-5', NS));
    // Churn so the compaction point lies well past the operator's last resourceVersion.
    for (let i = 0; i < 20; i++) {
      await env().admin.patch(AGENT, NS, 'agent-5', { metadata: { labels: { churn: String(i) } } });
    }
    await env().cluster.compactEtcd();
    // A restarted API server rebuilds its watch cache from now: older resourceVersions are gone.
    await env().cluster.restartApiServer();
    proxy.unblock();
    await waitReady('agent-2', 'False', 2);
    await waitReady('agent-5', 'True');
    await sleep(500);
    const after = await metrics();
    expect(after.relistsGone).toBeGreaterThanOrEqual(before.relistsGone + 1);
    // agent-2 (invalid now) and agent-5 (new) were written; the unchanged ones were not.
    expect(after.applies - before.applies).toBe(2);
    for (const [n, rv] of rvs) expect((await ready(n)).metadata.resourceVersion).toBe(rv);
    expect(op.exited).toBe(false);
  });

  it('rides out an API server restart and picks up changes made after it', async () => {
    const before = await metrics();
    await env().cluster.restartApiServer(2000);
    // A merge patch: the bad nested type is replaced, not merged away.
    await env().admin.patch(AGENT, NS, 'agent-1', {
      spec: { inputsSchema: { properties: { x: { type: 'string' } } } },
    });
    await waitReady('agent-1', 'True', 3);
    await env().admin.create(AGENT, testAgent('agent-6', NS));
    await waitReady('agent-6', 'True');
    await sleep(500);
    const after = await metrics();
    expect(after.applies - before.applies).toBe(2);
    expect(op.exited).toBe(false);
    expect(await op.ready()).toBe(true);
  });
});
