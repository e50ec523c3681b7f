// One operator serves every namespace, so no object in one namespace may stop it for the
// others. Hostile Workflows and Agents (expensive CEL, blow-ups, backtracking-looking patterns,
// deep nesting, megabyte strings: support/pathological.ts) are applied at the same time as
// normal Workflows in other namespaces, to the operator running as a real process under its
// least-privilege ServiceAccount. Every normal Workflow must succeed, every hostile object
// must carry its reason, and the operator must stay live throughout: /healthz answered
// quickly, bounded memory, no exit, no error logged. Limits: docs/workflow-authors.md#limits-of-expressions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT, WORKFLOW } from '../../operator/src/api/constants.ts';
import type { Agent, Workflow, WorkflowStep } from '../../operator/src/api/generated/index.ts';
import { useCluster } from './support/cluster.ts';
import { LivenessMonitor, type LivenessReport } from './support/liveness.ts';
import { metricValue, OperatorProcess, operatorKubeconfig } from './support/operator.ts';
import {
  applyPathologicalSet,
  outcomeProblem,
  pathologicalSet,
  unmetOutcomes,
  type PathologicalSet,
} from './support/pathological.ts';
import { eventually, sleep } from './support/wait.ts';
import { createAll, restrictedNamespace, simAgent, waitForPhase, workflow } from './support/workflows.ts';

const BAD_NS = 'hostile';
const TEAMS = ['team-a', 'team-b', 'team-c'];
const CHAINS_PER_TEAM = 6;
const STEPS = 4;
const MiB = 1024 * 1024;

/** A normal chain s0 → s1 → … that passes outputs along and has a `when`. */
function chain(name: string, namespace: string): Workflow {
  const steps: WorkflowStep[] = Array.from({ length: STEPS }, (_, i) => ({
    name: `s${i}`,
    agentRef: { name: 'worker' },
    ...(i > 0
      ? {
          dependsOn: [`s${i - 1}`],
          when: `steps.s${i - 1}.outputs.n > 0`,
          inputs: { n: `{{ steps.s${i - 1}.outputs.n }}`, note: 'step {{ inputs.id }}' },
        }
      : { inputs: { id: '{{ inputs.id }}' } }),
  }));
  return workflow(name, namespace, steps, { inputs: { id: name } });
}

describe('pathological objects next to normal Workflows', () => {
  const env = useCluster({ nodes: 2 });
  let op: OperatorProcess;
  let monitor: LivenessMonitor;
  let set: PathologicalSet;
  let liveness: LivenessReport | undefined;
  let operatorPid: number | undefined;
  const normal: Array<{ namespace: string; name: string }> = [];

  beforeAll(async () => {
    const kc = operatorKubeconfig(env());
    for (const ns of [BAD_NS, ...TEAMS]) env().kubectl(['apply', '-f', '-'], restrictedNamespace(ns));
    for (const ns of TEAMS) await createAll(env().admin, [simAgent('worker', ns, { result: { n: 1 } })]);
    op = OperatorProcess.start(kc, ['--leader-elect=false']);
    for (const ns of TEAMS) {
      await eventually(
        `worker Ready in ${ns}`,
        () => env().admin.get<Agent>(AGENT, ns, 'worker'),
        (a) => a.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
      );
    }
    operatorPid = op.pid;
    monitor = new LivenessMonitor(await op.healthPort(), op.pid!);
    monitor.start();
    set = pathologicalSet(BAD_NS);
    for (const ns of TEAMS)
      for (let i = 0; i < CHAINS_PER_TEAM; i++) normal.push({ namespace: ns, name: `chain-${i}` });
    // The hostile set and the normal load go in at the same time.
    await Promise.all([
      applyPathologicalSet(env().admin, env().kubeconfig, set),
      (async () => {
        for (const w of normal) await env().admin.create(WORKFLOW, chain(w.name, w.namespace));
      })(),
    ]);
  });

  afterAll(async () => {
    if (monitor && !liveness) await monitor.stop();
    if (process.env['DUMP_OPERATOR_LOGS']) console.log(op?.dumpLogs(400));
    await op?.stop();
  });

  it('runs every normal Workflow in the other namespaces to Succeeded', async () => {
    for (const w of normal) {
      const done = await waitForPhase(env().admin, w.namespace, w.name, ['Succeeded', 'Failed'], 90_000);
      expect(done.status?.phase, `${w.namespace}/${w.name}`).toBe('Succeeded');
      expect(done.status?.progress).toBe(`${STEPS}/${STEPS}`);
    }
  });

  it('gives every hostile object its reason: Stalled with an Event naming the field, a failed step, or not Ready', async () => {
    await eventually(
      'every hostile object has its outcome',
      () => unmetOutcomes(env().admin, set),
      (u) => u.length === 0,
      {
        timeoutMs: 60_000,
        intervalMs: 500,
      },
    );
    // Each on its own, so that a regression names the object.
    for (const e of set.expectations) {
      expect(await outcomeProblem(env().admin, BAD_NS, e), `${e.kind} ${e.name}`).toBeUndefined();
    }
    const stalled = set.expectations.filter((e) => e.kind === 'Workflow' && e.outcome === 'Stalled');
    const failed = set.expectations.filter((e) => e.kind === 'Workflow' && e.outcome === 'Failed');
    expect(stalled.length).toBe(6);
    expect(failed.map((e) => (e.kind === 'Workflow' && e.outcome === 'Failed' ? e.stepReason : ''))).toEqual(
      expect.arrayContaining([
        'CostLimitExceeded',
        'ResultTooLarge',
        'InputsTooLarge',
        'OutputSchemaInvalid',
      ]),
    );
    // A refused Workflow never started a pod; a run-time failure says what stopped it, not a value.
    const costly = await env().admin.get<Workflow>(WORKFLOW, BAD_NS, 'outputs-cost-when');
    const use = costly.status?.steps?.find((s) => s.name === 'use');
    expect(use?.message).toContain('cost limit exceeded (more than 1000000 units)');
    // Messages name fields and limits, never the values (a run of the inputs' characters).
    for (const e of set.expectations) {
      if (e.kind !== 'Workflow') continue;
      const w = await env().admin.get<Workflow>(WORKFLOW, BAD_NS, e.name);
      const texts = [
        ...(w.status?.conditions ?? []).map((c) => c.message ?? ''),
        ...(w.status?.steps ?? []).map((st) => st.message ?? ''),
      ];
      for (const t of texts) expect(t, e.name).not.toMatch(/a{64}|(\{\{){64}|(\{"a":){16}/);
    }
    const cubic = await env().admin.get<Workflow>(WORKFLOW, BAD_NS, 'cubic-template');
    expect(cubic.status?.phase).toBe('Pending');
    expect(cubic.status?.conditions?.find((c) => c.type === 'Stalled')?.message).toMatch(
      /estimated worst-case cost of \d+, more than the limit of 1000000 per evaluation/,
    );
  });

  it('stays live throughout: /healthz fast, memory bounded, never exits, no error logged', async () => {
    // Watch a while past the last outcome too: nothing the hostile set left behind may stall it later.
    await sleep(Math.max(0, 20_000 - monitor.report().durationMs));
    liveness = await monitor.stop();
    // The operator's own view: the longest event-loop delay since start (prom-client resets it per scrape).
    const lagMaxMs = metricValue(await op.metricsText(), 'paddock_nodejs_eventloop_lag_max_seconds') * 1000;
    console.log(
      `liveness over ${(liveness.durationMs / 1000).toFixed(1)} s: ${liveness.probes} /healthz probes, ` +
        `worst ${liveness.worstHealthzMs} ms, ${liveness.failedProbes} failed; ` +
        `peak VmRSS ${(liveness.peakRssBytes / MiB).toFixed(1)} MiB, VmHWM ${(liveness.hwmBytes / MiB).toFixed(1)} MiB; ` +
        `operator event-loop delay max ${lagMaxMs.toFixed(1)} ms`,
    );
    // Probed all along (one every 100 ms plus its answer), from before the hostile set was applied.
    expect(liveness.probes).toBeGreaterThan(liveness.durationMs / 400);
    expect(liveness.failedProbes).toBe(0);
    // A liveness bound, not a speed claim: a blocked event loop would answer in seconds.
    expect(liveness.worstHealthzMs).toBeLessThan(1000);
    expect(liveness.hwmBytes).toBeLessThan(400 * MiB);
    expect(op.exited).toBe(false);
    expect(op.pid).toBe(operatorPid);
    expect(await op.ready()).toBe(true);
    // The level is pino's label. The one error the operator logs under this load is the
    // ResourceQuota update race of concurrent pod creates (409 Conflict), retried.
    const errors = op.lines.filter((l) => {
      const level = String(l.level);
      if (level === 'fatal') return true;
      if (level !== 'error') return false;
      const err = (l['err'] as { message?: string; status?: number } | undefined) ?? {};
      return !(
        l.msg === 'reconcile failed; will retry' &&
        err.status === 409 &&
        /resourcequotas/.test(err.message ?? '')
      );
    });
    expect(errors.map((l) => JSON.stringify(l).slice(0, 400))).toEqual([]);
    expect(
      op.raw.filter((l) => /Maximum call stack|RangeError|FATAL ERROR|heap out of memory/.test(l)),
    ).toEqual([]);
  });
});
