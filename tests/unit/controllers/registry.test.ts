// The controllers' wiring (registry.ts and each folder's setup.ts): which informers each asks the
// manager's factory for, with which selectors and indexes, that they share one cache per
// resource and selector, and which keys a change of each object enqueues.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { ResourceRef } from '../../../operator/src/api/constants.ts';
import type { Agent, Approval, Workflow } from '../../../operator/src/api/generated/index.ts';
import { loadConfig } from '../../../operator/src/config.ts';
import type { Controller } from '../../../operator/src/controllers/controller.ts';
import type { EventInput, EventSink } from '../../../operator/src/controllers/events.ts';
import { buildControllers } from '../../../operator/src/controllers/registry.ts';
import { reportFailing, type InformerSpec, type SetupDeps } from '../../../operator/src/controllers/setup.ts';
import { trimAgentPod } from '../../../operator/src/controllers/workflow/cached-pod.ts';
import type { KubeClient } from '../../../operator/src/kube/client.ts';
import type { Pod, ServiceAccount } from '../../../operator/src/kube/core-types.ts';
import { ApiError } from '../../../operator/src/kube/errors.ts';
import type { IndexFunc, Informer, InformerHandlers } from '../../../operator/src/kube/informer.ts';
import { objectKey, type KubeObject } from '../../../operator/src/kube/types.ts';
import { Metrics } from '../../../operator/src/observability/metrics.ts';

/** An informer with a cache the test fills by hand; handlers and indexes behave like the real one. */
class FakeInformer<T extends KubeObject> {
  readonly handlers: InformerHandlers<T>[] = [];
  readonly indexes = new Map<string, IndexFunc<T>>();
  readonly objects = new Map<string, T>();
  readonly ref: ResourceRef;
  readonly spec: InformerSpec<T>;
  constructor(ref: ResourceRef, spec: InformerSpec<T>) {
    this.ref = ref;
    this.spec = spec;
  }
  addHandler(h: InformerHandlers<T>): void {
    this.handlers.push(h);
  }
  addIndex(name: string, fn: IndexFunc<T>): void {
    this.indexes.set(name, fn);
  }
  hasIndex(name: string): boolean {
    return this.indexes.has(name);
  }
  get(key: string): T | undefined {
    return this.objects.get(key);
  }
  list(): T[] {
    return [...this.objects.values()];
  }
  byIndex(name: string, value: string): T[] {
    const fn = this.indexes.get(name);
    if (!fn) throw new Error(`no index ${name}`);
    return this.list().filter((o) => fn(o).includes(value));
  }
  put(o: T): void {
    const old = this.objects.get(objectKey(o));
    this.objects.set(objectKey(o), o);
    for (const h of this.handlers) {
      if (old) h.update?.(old, o);
      else h.add?.(o);
    }
  }
}

function wire() {
  const created: Array<FakeInformer<KubeObject>> = [];
  const byKey = new Map<string, FakeInformer<KubeObject>>();
  // Shares one informer per resource and selectors and merges indexes in, as the manager does.
  const informer = <T extends KubeObject>(ref: ResourceRef, spec: InformerSpec<T> = {}): Informer<T> => {
    const key = `${ref.plural}?${spec.labelSelector ?? ''}&${spec.fieldSelector ?? ''}&${(spec.names ?? []).join(',')}`;
    let inf = byKey.get(key) as FakeInformer<T> | undefined;
    if (!inf) {
      inf = new FakeInformer<T>(ref, spec);
      byKey.set(key, inf as unknown as FakeInformer<KubeObject>);
      created.push(inf as unknown as FakeInformer<KubeObject>);
    }
    for (const [name, fn] of Object.entries(spec.indexes ?? {}))
      if (!inf.hasIndex(name)) inf.addIndex(name, fn);
    return inf as unknown as Informer<T>;
  };
  const recorded: Array<[KubeObject, EventInput]> = [];
  const events: EventSink = { record: (o, e) => void recorded.push([o, e]) };
  const deps: SetupDeps = {
    config: loadConfig(['--leader-elect=false'], {}),
    client: {} as KubeClient,
    logger: pino({ level: 'silent' }),
    metrics: new Metrics({ defaultMetrics: false }),
    events,
    informer,
    provenance: () => {
      throw new Error('not in this test');
    },
  };
  const controllers = buildControllers(deps);
  const find = (plural: string, labelSelector?: string): FakeInformer<KubeObject> => {
    const inf = created.find((i) => i.ref.plural === plural && i.spec.labelSelector === labelSelector);
    if (!inf) throw new Error(`no informer for ${plural} ${labelSelector ?? ''}`);
    return inf;
  };
  const controller = (name: string): Controller => controllers.find((c) => c.name === name)!;
  return { created, controllers, find, controller, recorded };
}

/** The keys queued in a controller right now (taken out of its queue). */
async function queued(c: Controller): Promise<string[]> {
  const out: string[] = [];
  while (c.queue.len() > 0) {
    const next = await c.queue.get();
    if (next.shutdown) break;
    out.push(next.item);
    c.queue.done(next.item);
  }
  return out.sort();
}

const agent = (ns: string, name: string): Agent =>
  ({ metadata: { namespace: ns, name, resourceVersion: '1' }, spec: {} }) as unknown as Agent;

const workflow = (ns: string, name: string, agents: string[], waiting = false): Workflow =>
  ({
    metadata: { namespace: ns, name, uid: `${name}-uid`, resourceVersion: '1' },
    spec: { steps: agents.map((a, i) => ({ name: `s${i}`, agentRef: { name: a } })) },
    ...(waiting ? { status: { steps: [{ name: 's0', phase: 'Waiting', reason: 'QuotaExceeded' }] } } : {}),
  }) as unknown as Workflow;

describe('buildControllers', () => {
  it('runs the agent, workflow, approval and sandbox controllers', () => {
    expect(wire().controllers.map((c) => c.name)).toEqual(['agent', 'workflow', 'approval', 'sandbox']);
  });

  it('asks for one informer per resource and selector, shared by the controllers that read it', () => {
    const { created, find } = wire();
    const names = created.map(
      (i) => `${i.ref.plural}${i.spec.labelSelector ? `?${i.spec.labelSelector}` : ''}`,
    );
    expect(new Set(names).size).toBe(names.length);
    expect(names.sort()).toEqual(
      [
        'agents',
        'approvals',
        'limitranges?app.kubernetes.io/managed-by=paddock',
        'namespaces',
        'networkpolicies?app.kubernetes.io/managed-by=paddock',
        'pods?paddock.dev/agent-pod=true',
        'resourcequotas?app.kubernetes.io/managed-by=paddock',
        'serviceaccounts?app.kubernetes.io/managed-by=paddock',
        'workflows',
      ].sort(),
    );
    // Agents: the Agent, Workflow and sandbox controllers all watch the one informer.
    expect(find('agents').handlers).toHaveLength(3);
    // The sandbox's ServiceAccounts also wake Workflows waiting for them.
    expect(find('serviceaccounts', 'app.kubernetes.io/managed-by=paddock').handlers).toHaveLength(2);
  });

  it('gives each informer the indexes and the transform its readers use', () => {
    const { find } = wire();
    expect([...find('agents').indexes.keys()]).toEqual(['namespace']);
    expect([...find('workflows').indexes.keys()].sort()).toEqual(['agent', 'create-wait']);
    const pods = find('pods', 'paddock.dev/agent-pod=true');
    expect([...pods.indexes.keys()]).toEqual(['owner-uid']);
    expect(pods.spec.transform).toBe(trimAgentPod);
    expect([...find('approvals').indexes.keys()]).toEqual([]);
  });

  it('an Agent change reaches the Agent, the Workflows using it, and its namespace sandbox', async () => {
    const { find, controller } = wire();
    const workflows = find('workflows') as unknown as FakeInformer<Workflow>;
    workflows.put(workflow('team', 'uses', ['fixer']));
    workflows.put(workflow('team', 'other', ['scanner']));
    workflows.put(workflow('elsewhere', 'same-name', ['fixer']));
    for (const c of ['agent', 'workflow', 'sandbox']) await queued(controller(c));

    (find('agents') as unknown as FakeInformer<Agent>).put(agent('team', 'fixer'));
    expect(await queued(controller('agent'))).toEqual(['team/fixer']);
    expect(await queued(controller('workflow'))).toEqual(['team/uses']);
    expect(await queued(controller('sandbox'))).toEqual(['team']);
    expect(await queued(controller('approval'))).toEqual([]);
  });

  it('an ended pod or a new sandbox ServiceAccount wakes the Workflows waiting to create a pod there', async () => {
    const { find, controller } = wire();
    const workflows = find('workflows') as unknown as FakeInformer<Workflow>;
    workflows.put(workflow('team', 'waits', ['a'], true));
    workflows.put(workflow('team', 'runs', ['a']));
    await queued(controller('workflow'));

    const pods = find('pods', 'paddock.dev/agent-pod=true') as unknown as FakeInformer<Pod>;
    pods.put({
      metadata: { namespace: 'team', name: 'runs-s0-1', resourceVersion: '1', ownerReferences: [] },
      status: { phase: 'Succeeded' },
    } as unknown as Pod);
    expect(await queued(controller('workflow'))).toEqual(['team/waits']);

    const sas = find(
      'serviceaccounts',
      'app.kubernetes.io/managed-by=paddock',
    ) as unknown as FakeInformer<ServiceAccount>;
    sas.put({
      metadata: { namespace: 'team', name: 'paddock-agent', resourceVersion: '1' },
    });
    expect(await queued(controller('workflow'))).toEqual(['team/waits']);
    expect(await queued(controller('sandbox'))).toEqual(['team']);
  });

  it('an Approval change reaches the Approval and the Workflow it gates', async () => {
    const { find, controller } = wire();
    (find('approvals') as unknown as FakeInformer<Approval>).put({
      metadata: { namespace: 'team', name: 'wf-patch-1', resourceVersion: '1' },
      spec: { workflowRef: { name: 'wf' } },
    } as unknown as Approval);
    expect(await queued(controller('approval'))).toEqual(['team/wf-patch-1']);
    expect(await queued(controller('workflow'))).toEqual(['team/wf']);
  });
});

describe('reportFailing', () => {
  it('records the ReconcileFailing Event on the cached object, and nothing for one gone', () => {
    const { find, recorded } = wire();
    const agents = find('agents') as unknown as FakeInformer<Agent>;
    agents.put(agent('team', 'fixer'));
    const hook = reportFailing(
      { record: (o, e) => void recorded.push([o, e]) },
      'agent',
      agents as unknown as Informer<Agent>,
    );
    const err = new ApiError('PATCH', '/x', 422, { kind: 'Status', reason: 'Invalid', code: 422 });
    hook('team/fixer', { failures: 1, err, kind: 'invalid', terminal: true });
    hook('team/gone', { failures: 1, err, kind: 'invalid', terminal: true });
    expect(recorded).toHaveLength(1);
    expect(recorded[0]![0].metadata.name).toBe('fixer');
    expect(recorded[0]![1]).toMatchObject({ reason: 'ReconcileFailing', type: 'Warning' });
  });
});
