// Two operator processes against one API server: exactly one reconciles; when
// it is killed, the other takes over within the lease duration; a graceful
// stop hands over at once by releasing the lease.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT, LEASE } from '../../operator/src/api/constants.ts';
import type { Agent } from '../../operator/src/api/generated/index.ts';
import type { KubeObject } from '../../operator/src/kube/types.ts';
import { testAgent } from './support/agents.ts';
import { useCluster } from './support/cluster.ts';
import { metricValue, OperatorProcess, operatorKubeconfig, OPERATOR_NAMESPACE } from './support/operator.ts';
import { eventually } from './support/wait.ts';

const NS = 'le';
const LEASE_SECONDS = 6;

interface Lease extends KubeObject {
  spec?: { holderIdentity?: string; leaseTransitions?: number };
}

describe('leader election', () => {
  const env = useCluster();
  let kc: string;
  const procs: OperatorProcess[] = [];

  const start = (id: string): OperatorProcess => {
    const p = OperatorProcess.start(kc, [
      `--identity=${id}`,
      `--lease-duration-seconds=${LEASE_SECONDS}`,
      '--renew-deadline-seconds=4',
      '--retry-period-seconds=1',
    ]);
    procs.push(p);
    return p;
  };
  const holder = async () =>
    (await env().admin.get<Lease>(LEASE, OPERATOR_NAMESPACE, 'paddock-operator')).spec?.holderIdentity ?? '';
  const reconciles = async (p: OperatorProcess) =>
    metricValue(await p.metricsText(), 'paddock_reconcile_total', { controller: 'agent' });
  const readyAgent = (name: string) =>
    eventually(
      `${name} Ready`,
      () => env().admin.get<Agent>(AGENT, NS, name),
      (a) => a.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    );

  beforeAll(() => {
    kc = operatorKubeconfig(env());
    env().kubectl(['create', 'namespace', NS]);
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill()));
  });

  it('lets exactly one of two replicas reconcile', async () => {
    const a = start('replica-a');
    await eventually('a leads', holder, (h) => h === 'replica-a', { timeoutMs: 20_000 });
    const b = start('replica-b');
    await b.healthPort();
    for (let i = 0; i < 3; i++) await env().admin.create(AGENT, testAgent(`one-${i}`, NS));
    for (let i = 0; i < 3; i++) await readyAgent(`one-${i}`);
    expect(await reconciles(a)).toBeGreaterThanOrEqual(3);
    expect(await reconciles(b)).toBe(0);
    expect(await a.ready()).toBe(true);
    expect(await b.ready()).toBe(false); // standby: not leading
  });

  it('hands over within the lease duration when the leader is killed', async () => {
    const [a, b] = procs as [OperatorProcess, OperatorProcess];
    await a.kill();
    const killedAt = Date.now();
    await eventually('b leads', holder, (h) => h === 'replica-b', { timeoutMs: 30_000, intervalMs: 50 });
    const handover = Date.now() - killedAt;
    // client-go semantics: the standby counts the lease from when it last SAW it change (never
    // trusting another clock), and polls every retry period with jitter up to 2.2x. So the
    // handover comes at most one lease duration plus two jittered retry periods after the kill.
    expect(handover).toBeLessThanOrEqual(LEASE_SECONDS * 1000 + 2 * 2200 + 500);
    expect(handover).toBeGreaterThanOrEqual(1000); // it did wait for the lease to run out
    await env().admin.create(AGENT, testAgent('after-failover', NS));
    await readyAgent('after-failover');
    expect(await reconciles(b)).toBeGreaterThanOrEqual(1);
  });

  it('releases the lease on SIGTERM so a successor takes over at once', async () => {
    const [, b] = procs as [OperatorProcess, OperatorProcess];
    const c = start('replica-c');
    await c.healthPort();
    const code = await b.stop('SIGTERM');
    expect(code).toBe(0);
    const stoppedAt = Date.now();
    await eventually('c leads', holder, (h) => h === 'replica-c', { timeoutMs: 30_000, intervalMs: 50 });
    // Released, not expired: well under the lease duration (retry period plus jitter).
    expect(Date.now() - stoppedAt).toBeLessThan(LEASE_SECONDS * 1000);
  });

  it('a leader that loses its lease exits', async () => {
    const c = procs[2]!;
    // Someone else takes the lease (as if this replica had been partitioned away).
    const lease = await env().admin.get<Lease>(LEASE, OPERATOR_NAMESPACE, 'paddock-operator');
    await env().admin.patch(LEASE, OPERATOR_NAMESPACE, 'paddock-operator', {
      metadata: { resourceVersion: lease.metadata.resourceVersion },
      spec: {
        holderIdentity: 'intruder',
        renewTime: new Date(Date.now() + 60_000).toISOString().replace('Z', '000Z'),
        leaseDurationSeconds: 60,
      },
    });
    const code = await eventually(
      'c exits',
      () => (c.exited ? c.waitExit() : undefined),
      (x) => x !== undefined,
      { timeoutMs: 20_000 },
    );
    expect(code).toBe(1);
  });
});
