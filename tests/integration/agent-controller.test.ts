// The Agent controller end to end, under its own least-privilege identity:
// valid Agents become Ready, invalid ones Stalled with a reason naming the
// field, transitions are Events, and fixing the spec recovers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT, EVENT } from '../../operator/src/api/constants.ts';
import type { Agent } from '../../operator/src/api/generated/index.ts';
import type { KubeObject } from '../../operator/src/kube/types.ts';
import { testAgent } from './support/agents.ts';
import { useCluster } from './support/cluster.ts';
import { kubectl } from './support/kubectl.ts';
import { OperatorProcess, operatorKubeconfig, OPERATOR_NAMESPACE, OPERATOR_SA } from './support/operator.ts';
import { eventually } from './support/wait.ts';

const NS = 'agents';

interface EventObj extends KubeObject {
  reason?: string;
  note?: string;
  type?: string;
  regarding?: { name?: string; kind?: string };
  reportingController?: string;
}

describe('Agent controller', () => {
  const env = useCluster();
  let op: OperatorProcess;
  let operatorKc: string;

  const get = (name: string) => env().admin.get<Agent>(AGENT, NS, name);
  const cond = (a: Agent, type: string) => a.status?.conditions?.find((c) => c.type === type);
  const events = async (name: string) =>
    (await env().admin.list<EventObj>(EVENT, NS)).items.filter((e) => e.regarding?.name === name);

  beforeAll(() => {
    operatorKc = operatorKubeconfig(env());
    env().kubectl(['create', 'namespace', NS]);
    op = OperatorProcess.start(operatorKc, ['--leader-elect=false']);
  });
  afterAll(async () => {
    await op?.stop();
  });

  it('runs as its ServiceAccount, which is not a cluster admin', () => {
    const as = `system:serviceaccount:${OPERATOR_NAMESPACE}:${OPERATOR_SA}`;
    const can = (verb: string, res: string, ns?: string) => {
      const [resource, sub] = res.split('/');
      return kubectl(env().kubeconfig, [
        'auth',
        'can-i',
        verb,
        resource!,
        `--as=${as}`,
        ...(sub ? [`--subresource=${sub}`] : []),
        ...(ns ? ['-n', ns] : []),
      ]).stdout.trim();
    };
    expect(can('watch', 'agents.paddock.dev', NS)).toBe('yes');
    expect(can('patch', 'agents.paddock.dev/status', NS)).toBe('yes');
    expect(can('update', 'agents.paddock.dev', NS)).toBe('no');
    expect(can('get', 'secrets', NS)).toBe('no');
    expect(can('create', 'clusterrolebindings')).toBe('no');
    expect(can('*', '*')).toBe('no');
  });

  it('marks a valid Agent Ready with observedGeneration and kstatus conditions, and records an Event', async () => {
    await env().admin.create(AGENT, testAgent('scanner', NS));
    const a = await eventually(
      'scanner Ready',
      () => get('scanner'),
      (x) => cond(x, 'Ready')?.status === 'True',
    );
    expect(a.status?.observedGeneration).toBe(a.metadata.generation);
    expect(cond(a, 'Ready')).toMatchObject({ status: 'True', reason: 'Valid', observedGeneration: 1 });
    expect(cond(a, 'Reconciling')).toMatchObject({ status: 'False' });
    expect(cond(a, 'Stalled')).toMatchObject({ status: 'False' });
    expect(cond(a, 'ImageNotPinned')).toMatchObject({ status: 'False' });
    const evs = await eventually(
      'AgentReady event',
      () => events('scanner'),
      (e) => e.some((x) => x.reason === 'AgentReady'),
    );
    expect(evs.find((x) => x.reason === 'AgentReady')).toMatchObject({
      type: 'Normal',
      reportingController: 'paddock.dev/operator',
      regarding: { kind: 'Agent' },
    });
    // Status is owned by the operator's field manager via server-side apply.
    const raw = await env().admin.get<Agent>(AGENT, NS, 'scanner');
    const managers = (raw.metadata.managedFields ?? []) as Array<{ manager?: string; subresource?: string }>;
    expect(managers.some((f) => f.manager === 'paddock' && f.subresource === 'status')).toBe(true);
  });

  it('stalls an Agent whose schema does not compile, naming the field, then recovers when fixed', async () => {
    await env().admin.create(
      AGENT,
      testAgent('broken', NS, {
        outputsSchema: { type: 'object', properties: { n: { type: 'integer', minimum: 'zero' } } },
      }),
    );
    const bad = await eventually(
      'broken Stalled',
      () => get('broken'),
      (x) => cond(x, 'Stalled')?.status === 'True',
    );
    expect(cond(bad, 'Ready')).toMatchObject({ status: 'False', reason: 'InvalidOutputsSchema' });
    expect(cond(bad, 'Ready')?.message).toContain('spec.outputsSchema');
    const warn = await eventually(
      'warning event',
      () => events('broken'),
      (e) => e.some((x) => x.reason === 'InvalidOutputsSchema'),
    );
    expect(warn.find((x) => x.reason === 'InvalidOutputsSchema')?.type).toBe('Warning');
    const stalledSince = cond(bad, 'Stalled')?.lastTransitionTime;

    await env().admin.patch(AGENT, NS, 'broken', {
      spec: { outputsSchema: { type: 'object', properties: { n: { type: 'integer', minimum: 0 } } } },
    });
    const fixed = await eventually(
      'broken fixed',
      () => get('broken'),
      (x) => cond(x, 'Ready')?.status === 'True' && x.status?.observedGeneration === 2,
    );
    expect(cond(fixed, 'Stalled')?.status).toBe('False');
    expect(cond(fixed, 'Ready')?.observedGeneration).toBe(2);
    expect(stalledSince).toBeDefined();
  });

  it('refuses requests above limits with InvalidResources and warns about tags', async () => {
    await env().admin.create(AGENT, testAgent('tagged', NS, { image: 'ghcr.io/acme/tagged:latest' }));
    const t = await eventually(
      'tagged Ready',
      () => get('tagged'),
      (x) => cond(x, 'Ready')?.status === 'True',
    );
    expect(cond(t, 'ImageNotPinned')).toMatchObject({ status: 'True', reason: 'TagNotDigest' });
    await eventually(
      'ImageNotPinned event',
      () => events('tagged'),
      (e) => e.some((x) => x.reason === 'ImageNotPinned' && x.type === 'Warning'),
    );
  });

  it('keeps lastTransitionTime when nothing flips and writes nothing for a no-op change', async () => {
    const before = await get('scanner');
    const t0 = cond(before, 'Ready')?.lastTransitionTime;
    // A label change bumps resourceVersion but not generation: the status stays as it was.
    await env().admin.patch(AGENT, NS, 'scanner', { metadata: { labels: { touched: 'yes' } } });
    await new Promise((r) => setTimeout(r, 1000));
    const after = await get('scanner');
    expect(cond(after, 'Ready')?.lastTransitionTime).toBe(t0);
    expect(after.status).toEqual(before.status);
  });

  it('logs structured audit lines with a reconcile id, and never crashes on bad input', () => {
    const auditLines = op.lines.filter((l) => l['audit'] === true);
    expect(auditLines.some((l) => l['event'] === 'agent.invalid' && l['agent'] === 'broken')).toBe(true);
    expect(auditLines.every((l) => typeof l['reconcileId'] === 'string')).toBe(true);
    expect(op.exited).toBe(false);
  });
});
