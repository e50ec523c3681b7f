// forEach steps (fan-out) on the real control plane with KWOK: 50 instances over an upstream
// output under parallelism 5 (never more than 5 instance pods at once, outputs in item order, the
// Workflow object small), a failing instance under FailFast and under RunAll, a list that is not
// one, a gated Agent, and what the API server refuses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT, POD, WORKFLOW } from '../../operator/src/api/constants.ts';
import type { Workflow } from '../../operator/src/api/generated/index.ts';
import { LABEL_INSTANCE, LABEL_STEP, LABEL_WORKFLOW } from '../../operator/src/api/labels.ts';
import type { Pod } from '../../operator/src/kube/core-types.ts';
import type { KubeObject } from '../../operator/src/kube/types.ts';
import { useCluster } from './support/cluster.ts';
import { OperatorProcess, operatorKubeconfig } from './support/operator.ts';
import { eventually, sleep } from './support/wait.ts';
import {
  agentReady,
  createAll,
  inputsOfPod,
  podsOf,
  restrictedNamespace,
  simAgent,
  stepOf,
  waitForPhase,
  workflow,
} from './support/workflows.ts';

const NS = 'fan-out';
const FILES = Array.from({ length: 50 }, (_, i) => `src/file-${i}.go`);

describe('forEach fan-out', () => {
  const env = useCluster();
  let op: OperatorProcess;

  const events = async (name: string) =>
    (
      await env().admin.list<KubeObject & { reason?: string; note?: string; regarding?: { name?: string } }>(
        EVENT,
        NS,
      )
    ).items.filter((e) => e.regarding?.name === name);

  beforeAll(async () => {
    env().kubectl(['apply', '-f', '-'], restrictedNamespace(NS));
    await createAll(env().admin, [
      simAgent('lister', NS, { result: { files: FILES } }),
      // Outputs are the rendered inputs: each instance returns its own item and index.
      simAgent('scanner', NS, { echoInputs: true, duration: '400ms' }),
      simAgent('picky', NS, { echoInputs: true, failInstances: [3] }),
      simAgent('reporter', NS, { echoInputs: true }),
      simAgent('gated', NS, { result: {} }, { riskLevel: 'ApprovalRequired', approval: { required: 1 } }),
    ]);
    op = OperatorProcess.start(operatorKubeconfig(env()), ['--leader-elect=false']);
    for (const a of ['lister', 'scanner', 'picky', 'reporter', 'gated']) await agentReady(env().admin, NS, a);
  });
  afterAll(async () => {
    if (process.env['DUMP_OPERATOR_LOGS']) console.log(op?.dumpLogs(400));
    await op?.stop();
  });

  it('runs 50 instances over an upstream output, at most 5 at once, outputs in item order', async () => {
    await createAll(env().admin, [
      workflow(
        'scan-all',
        NS,
        [
          { name: 'list', agentRef: { name: 'lister' } },
          {
            name: 'scan',
            agentRef: { name: 'scanner' },
            dependsOn: ['list'],
            forEach: { expression: 'steps.list.outputs.files' },
            inputs: { file: '{{ item }}', n: '{{ index }}' },
          },
          {
            name: 'report',
            agentRef: { name: 'reporter' },
            dependsOn: ['scan'],
            inputs: { count: '{{ size(steps.scan.outputs) }}', last: '{{ steps.scan.outputs[49].file }}' },
          },
        ],
        { parallelism: 5 },
      ),
    ]);
    // Sample the instance pods that are not finished while the run goes on.
    let most = 0;
    let samples = 0;
    let done = false;
    const sampler = (async () => {
      while (!done) {
        const pods = (
          await env().admin.list<Pod>(POD, NS, {
            labelSelector: `${LABEL_WORKFLOW}=scan-all,${LABEL_STEP}=scan`,
          })
        ).items;
        const live = pods.filter(
          (p) =>
            p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed' && !p.metadata.deletionTimestamp,
        );
        most = Math.max(most, live.length);
        samples++;
        await sleep(50);
      }
    })();
    const wf = await waitForPhase(env().admin, NS, 'scan-all', ['Succeeded', 'Failed'], 180_000);
    done = true;
    await sampler;
    expect(wf.status?.phase).toBe('Succeeded');
    expect(samples).toBeGreaterThan(20);
    // Some overlap happened (the sampler saw several at once), and never more than parallelism.
    expect(most).toBeGreaterThanOrEqual(2);
    expect(most).toBeLessThanOrEqual(5);

    const scan = stepOf(wf, 'scan');
    expect(scan).toMatchObject({ phase: 'Succeeded', reason: 'Completed' });
    expect(scan.instances).toMatchObject({ count: 50, phases: 'S'.repeat(50) });
    expect(scan.instances?.outputs).toEqual(FILES.map((file, n) => ({ file, n })));
    expect(scan.instances?.active).toBeUndefined();
    // One pod per instance, with deterministic names and the instance label.
    const pods = (await podsOf(env().admin, NS, 'scan-all')).filter(
      (p) => p.metadata.labels?.[LABEL_STEP] === 'scan',
    );
    expect(pods.map((p) => p.metadata.name).sort()).toEqual(
      FILES.map((_, i) => `scan-all-scan-${i}-1`).sort(),
    );
    expect(
      pods.every((p) => p.metadata.name === `scan-all-scan-${p.metadata.labels?.[LABEL_INSTANCE]}-1`),
    ).toBe(true);
    // The dependent read the outputs as a list, in item order.
    const report = (await podsOf(env().admin, NS, 'scan-all')).find(
      (p) => p.metadata.labels?.[LABEL_STEP] === 'report',
    )!;
    expect(inputsOfPod(report)).toEqual({ count: 50, last: 'src/file-49.go' });
    // History and Events stay about steps: no entry per instance.
    expect(wf.status?.history?.filter((h) => h.step === 'scan').map((h) => h.type)).toEqual([
      'StepStarted',
      'StepSucceeded',
    ]);
    const evs = await events('scan-all');
    expect(evs.filter((e) => e.reason === 'InstanceFailed')).toHaveLength(0);
    expect(evs.length).toBeLessThan(15);
    expect(Buffer.byteLength(JSON.stringify(wf))).toBeLessThan(32 * 1024);
  });

  it('FailFast: a failed instance stops new instances and fails the step, with an Event', async () => {
    await createAll(env().admin, [
      workflow(
        'fail-fast',
        NS,
        [
          {
            name: 'check',
            agentRef: { name: 'picky' },
            forEach: { items: Array.from({ length: 12 }, (_, i) => i) },
            inputs: { n: '{{ item }}' },
          },
          { name: 'after', agentRef: { name: 'reporter' }, dependsOn: ['check'] },
        ],
        { parallelism: 2 },
      ),
    ]);
    const wf = await waitForPhase(env().admin, NS, 'fail-fast', ['Succeeded', 'Failed'], 120_000);
    expect(wf.status?.phase).toBe('Failed');
    const check = stepOf(wf, 'check');
    expect(check).toMatchObject({ phase: 'Failed', reason: 'InstancesFailed' });
    expect(check.message).toContain('instance 3');
    const phases = check.instances!.phases;
    expect(phases[3]).toBe('F');
    // Instances after the failure never started (those already running finished).
    expect(phases).toMatch(/^[SF]{4,7}K{5,}$/);
    expect(check.instances?.failures).toEqual([expect.objectContaining({ index: 3, reason: 'Error' })]);
    expect(stepOf(wf, 'after')).toMatchObject({ phase: 'Skipped', reason: 'UpstreamFailed' });
    const pods = (await podsOf(env().admin, NS, 'fail-fast')).filter(
      (p) => p.metadata.labels?.[LABEL_STEP] === 'check',
    );
    expect(pods.length).toBeLessThan(12);
    const evs = await events('fail-fast');
    expect(evs.filter((e) => e.reason === 'InstanceFailed').map((e) => e.note)).toEqual([
      expect.stringContaining('step check instance 3'),
    ]);
  });

  it('RunAll: every instance runs; the step fails; a continuing dependent sees null for the failure', async () => {
    await createAll(env().admin, [
      workflow(
        'run-all',
        NS,
        [
          {
            name: 'check',
            agentRef: { name: 'picky' },
            forEach: { items: ['a', 'b', 'c', 'd', 'e', 'f'], failurePolicy: 'RunAll' },
            inputs: { v: '{{ item }}' },
            continueOnFailure: true,
          },
          {
            name: 'after',
            agentRef: { name: 'reporter' },
            dependsOn: ['check'],
            inputs: { got: '{{ steps.check.outputs.map(o, o == null ? "-" : o.v) }}' },
          },
        ],
        { parallelism: 3 },
      ),
    ]);
    const wf = await waitForPhase(env().admin, NS, 'run-all', ['Succeeded', 'Failed'], 120_000);
    const check = stepOf(wf, 'check');
    expect(check).toMatchObject({ phase: 'Failed', reason: 'InstancesFailed' });
    expect(check.instances?.phases).toBe('SSSFSS');
    expect(check.instances?.outputs?.[3]).toBeNull();
    const pods = (await podsOf(env().admin, NS, 'run-all')).filter(
      (p) => p.metadata.labels?.[LABEL_STEP] === 'check',
    );
    expect(pods).toHaveLength(6);
    // continueOnFailure: the run goes on and succeeds; the dependent saw the list with a gap.
    expect(wf.status?.phase).toBe('Succeeded');
    const after = (await podsOf(env().admin, NS, 'run-all')).find(
      (p) => p.metadata.labels?.[LABEL_STEP] === 'after',
    )!;
    expect(inputsOfPod(after)).toEqual({ got: ['a', 'b', 'c', '-', 'e', 'f'] });
  });

  it('a list that is not one fails the step naming the field', async () => {
    await createAll(env().admin, [
      workflow('not-a-list', NS, [
        { name: 'list', agentRef: { name: 'lister' } },
        {
          name: 'scan',
          agentRef: { name: 'scanner' },
          dependsOn: ['list'],
          forEach: { expression: 'steps.list.outputs' },
        },
      ]),
    ]);
    const wf = await waitForPhase(env().admin, NS, 'not-a-list', ['Succeeded', 'Failed']);
    expect(stepOf(wf, 'scan')).toMatchObject({ phase: 'Failed', reason: 'InvalidForEach' });
    expect(stepOf(wf, 'scan').message).toContain(
      'spec.steps[scan].forEach.expression must give a list, got a map',
    );
    expect((await events('not-a-list')).some((e) => e.reason === 'StepFailed')).toBe(true);
  });

  it('a gated Agent in a forEach step stalls the run with a reason naming the field', async () => {
    await createAll(env().admin, [
      workflow('gated-fan-out', NS, [
        { name: 'fix', agentRef: { name: 'gated' }, forEach: { items: [1, 2] } },
      ]),
    ]);
    const wf = await eventually(
      'gated-fan-out Stalled',
      () => env().admin.get<Workflow>(WORKFLOW, NS, 'gated-fan-out'),
      (w) => w.status?.conditions?.some((c) => c.type === 'Stalled' && c.status === 'True') ?? false,
    );
    const stalled = wf.status!.conditions!.find((c) => c.type === 'Stalled')!;
    expect(stalled.reason).toBe('InvalidForEach');
    expect(stalled.message).toContain('spec.steps[fix].forEach');
    expect(await podsOf(env().admin, NS, 'gated-fan-out')).toHaveLength(0);
  });

  it('the API server refuses forEach with both or neither list, or with an approval', async () => {
    const refuse = async (name: string, forEach: unknown, extra: Record<string, unknown> = {}) => {
      const wf = workflow(name, NS, [
        { name: 's', agentRef: { name: 'scanner' }, forEach: forEach as never, ...extra },
      ]);
      const err = await env()
        .admin.create(WORKFLOW, wf)
        .then(
          () => undefined,
          (e: unknown) => String(e instanceof Error ? e.message : e),
        );
      expect(err, name).toBeDefined();
      return err!;
    };
    expect(await refuse('both', { items: [1], expression: 'inputs.x' })).toContain('spec.steps[0].forEach');
    expect(await refuse('neither', {})).toContain('spec.steps[0].forEach');
    expect(await refuse('gated', { items: [1] }, { approval: { required: 1 } })).toContain(
      'cannot gate a forEach step',
    );
    expect(await refuse('too-many', { items: Array.from({ length: 5001 }, (_, i) => i) })).toContain(
      'spec.steps[0].forEach.items',
    );
  });
});
