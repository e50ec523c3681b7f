import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { ResourceRef } from '../../../../operator/src/api/constants.ts';
import type { Agent, AgentSpec } from '../../../../operator/src/api/generated/index.ts';
import type { SandboxConfig } from '../../../../operator/src/config.ts';
import type { ReconcileContext } from '../../../../operator/src/controllers/controller.ts';
import type { EventInput, EventSink } from '../../../../operator/src/controllers/events.ts';
import {
  SandboxReconciler,
  sandboxKeysForNamespace,
  sandboxKeysForNamespaced,
  type SandboxInformers,
} from '../../../../operator/src/controllers/sandbox/reconciler.ts';
import type { ApplyOptions, DeleteOptions, KubeClient } from '../../../../operator/src/kube/client.ts';
import type { Namespace, NetworkPolicy, ResourceQuota } from '../../../../operator/src/kube/core-types.ts';
import { ApiError } from '../../../../operator/src/kube/errors.ts';
import type { Informer } from '../../../../operator/src/kube/informer.ts';
import type { KubeObject } from '../../../../operator/src/kube/types.ts';

const DEFAULTS: SandboxConfig = {
  quota: { pods: 50, cpu: '8', memory: '16Gi' },
  limitRange: { defaultRequest: { cpu: '100m', memory: '128Mi' }, default: { cpu: '1', memory: '512Mi' } },
};

interface LogLine {
  msg: string;
  audit?: boolean;
  event?: string;
  [k: string]: unknown;
}

/** The part of an Informer the reconciler uses, over a map the test controls. */
class FakeInformer<T extends KubeObject> {
  readonly store = new Map<string, T>();
  lastResourceVersion = '0';
  /** One scope: every key's position is the informer's. */
  lastResourceVersionFor(_key: string): string {
    return this.lastResourceVersion;
  }
  get(key: string): T | undefined {
    return this.store.get(key);
  }
  list(namespace?: string): T[] {
    return [...this.store.values()].filter(
      (o) => namespace === undefined || o.metadata.namespace === namespace,
    );
  }
  set(obj: T): void {
    const key = obj.metadata.namespace
      ? `${obj.metadata.namespace}/${obj.metadata.name}`
      : obj.metadata.name!;
    this.store.set(key, Object.freeze(structuredClone(obj)));
    const rv = Number(obj.metadata.resourceVersion ?? '0');
    if (rv > Number(this.lastResourceVersion)) this.lastResourceVersion = String(rv);
  }
}

class Harness {
  rv = 100;
  /** The "API server": plural/ns/name -> object. */
  readonly server = new Map<string, KubeObject>();
  readonly applies: Array<{ ref: ResourceRef; obj: KubeObject; opts: ApplyOptions }> = [];
  readonly deletes: Array<{
    ref: ResourceRef;
    namespace: string | undefined;
    name: string;
    opts: DeleteOptions;
  }> = [];
  readonly events: Array<{ regarding: KubeObject; event: EventInput }> = [];
  readonly lines: LogLine[] = [];
  failApply: ((obj: KubeObject) => Error | undefined) | undefined;
  readonly inf = {
    namespaces: new FakeInformer<Namespace>(),
    agents: new FakeInformer<Agent>(),
    networkPolicies: new FakeInformer<NetworkPolicy>(),
    resourceQuotas: new FakeInformer<ResourceQuota>(),
    limitRanges: new FakeInformer<KubeObject>(),
    serviceAccounts: new FakeInformer<KubeObject>(),
  };
  readonly reconciler: SandboxReconciler;
  readonly ctx: ReconcileContext;

  constructor() {
    const client: Pick<KubeClient, 'apply' | 'delete'> = {
      apply: async <T extends KubeObject>(
        ref: ResourceRef,
        obj: KubeObject,
        opts: ApplyOptions,
      ): Promise<T> => {
        await Promise.resolve();
        const err = this.failApply?.(obj);
        if (err) throw err;
        this.applies.push({ ref, obj: structuredClone(obj), opts: { ...opts } });
        const stored = structuredClone(obj);
        stored.metadata.resourceVersion = String(++this.rv);
        stored.metadata.uid = `uid-${obj.metadata.name}`;
        this.server.set(`${ref.plural}/${obj.metadata.namespace}/${obj.metadata.name}`, stored);
        return structuredClone(stored) as T;
      },
      delete: async (ref, namespace, name, opts = {}) => {
        await Promise.resolve();
        this.deletes.push({ ref, namespace, name, opts });
        const key = `${ref.plural}/${namespace}/${name}`;
        if (!this.server.delete(key)) throw new ApiError('DELETE', key, 404, { reason: 'NotFound' });
      },
    };
    const events: EventSink = { record: (regarding, event) => this.events.push({ regarding, event }) };
    this.reconciler = new SandboxReconciler({
      client,
      informers: this.inf as unknown as SandboxInformers,
      events,
      defaults: DEFAULTS,
    });
    const logger = pino(
      { level: 'debug' },
      { write: (s: string) => this.lines.push(JSON.parse(s) as LogLine) },
    );
    this.ctx = { logger: logger.child({ reconcileId: 'r-1' }), reconcileId: 'r-1' };
  }

  namespace(name: string, annotations: Record<string, string> = {}, extra: Partial<Namespace> = {}): void {
    this.inf.namespaces.set({
      metadata: { name, uid: `ns-${name}`, resourceVersion: String(++this.rv), annotations },
      ...extra,
    });
  }

  agent(name: string, spec: Partial<AgentSpec> = {}, namespace = 'team-a'): void {
    this.inf.agents.set({
      metadata: { name, namespace, uid: `uid-${name}`, generation: 1, resourceVersion: String(++this.rv) },
      spec: { image: 'x@sha256:00', ...spec },
    });
  }

  removeAgent(name: string, namespace = 'team-a'): void {
    this.inf.agents.store.delete(`${namespace}/${name}`);
  }

  /** The watch delivers everything on the server to the caches (as list items: no apiVersion/kind). */
  sync(): void {
    const byPlural: Record<string, FakeInformer<KubeObject>> = {
      networkpolicies: this.inf.networkPolicies,
      resourcequotas: this.inf.resourceQuotas,
      limitranges: this.inf.limitRanges,
      serviceaccounts: this.inf.serviceAccounts,
    };
    for (const inf of Object.values(byPlural)) inf.store.clear();
    for (const [key, obj] of this.server) {
      const { apiVersion: _a, kind: _k, ...item } = structuredClone(obj);
      byPlural[key.split('/')[0]!]!.set(item);
    }
    for (const inf of Object.values(byPlural)) inf.lastResourceVersion = String(this.rv);
  }

  /** Someone else changes an object on the server (and the watch delivers it). */
  tamper(plural: string, namespace: string, name: string, edit: (o: KubeObject) => void): void {
    const key = `${plural}/${namespace}/${name}`;
    const o = structuredClone(this.server.get(key)!);
    edit(o);
    o.metadata.resourceVersion = String(++this.rv);
    this.server.set(key, o);
    this.sync();
  }

  remove(plural: string, namespace: string, name: string): void {
    this.server.delete(`${plural}/${namespace}/${name}`);
    this.rv++;
    this.sync();
  }

  reconcile(ns = 'team-a'): Promise<unknown> {
    return this.reconciler.reconcile(ns, this.ctx);
  }

  names(): string[] {
    return this.applies.map((a) => `${a.obj.kind}/${a.obj.metadata.name}`);
  }

  audits(): LogLine[] {
    return this.lines.filter((l) => l.audit === true);
  }

  reset(): void {
    this.applies.length = 0;
    this.deletes.length = 0;
    this.events.length = 0;
    this.lines.length = 0;
  }
}

describe('SandboxReconciler', () => {
  it('does nothing in a namespace without Agents, or one that is gone or terminating', async () => {
    const h = new Harness();
    h.namespace('team-a');
    await h.reconcile();
    await h.reconcile('missing');
    h.namespace('ending', {}, { status: { phase: 'Terminating' } });
    h.agent('a', {}, 'ending');
    await h.reconcile('ending');
    expect(h.applies).toEqual([]);
    expect(h.events).toEqual([]);
  });

  it('applies the whole sandbox once for the first Agent, by forced server-side apply as "paddock"', async () => {
    const h = new Harness();
    h.namespace('team-a');
    h.agent('scanner');
    h.agent('patcher', { egress: [{ cidr: '140.82.112.0/20', ports: [443] }] });
    await h.reconcile();
    expect(h.names()).toEqual([
      'NetworkPolicy/paddock-agents-default-deny',
      'ResourceQuota/paddock-agents',
      'LimitRange/paddock-agents',
      'ServiceAccount/paddock-agent',
      'NetworkPolicy/paddock-agent-patcher',
    ]);
    expect(h.applies.every((a) => a.opts.fieldManager === 'paddock' && a.opts.force === true)).toBe(true);
    expect(h.applies.every((a) => a.obj.metadata.namespace === 'team-a')).toBe(true);
    // One Normal Event on the Namespace, kept in the namespace itself.
    expect(h.events).toHaveLength(1);
    expect(h.events[0]!.event).toMatchObject({
      type: 'Normal',
      reason: 'SandboxApplied',
      action: 'ApplySandbox',
    });
    expect(h.events[0]!.event.note).toContain('NetworkPolicy/paddock-agent-patcher');
    expect(h.events[0]!.regarding).toEqual({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'team-a', namespace: 'team-a', uid: 'ns-team-a' },
    });
    expect(h.audits()).toEqual([
      expect.objectContaining({ event: 'sandbox.applied', namespace: 'team-a', reconcileId: 'r-1' }),
    ]);
  });

  it('writes nothing when the caches already match (steady state), even before they catch up', async () => {
    const h = new Harness();
    h.namespace('team-a');
    h.agent('patcher', { egress: [{ cidr: '1.2.3.4/32' }] });
    await h.reconcile();
    h.reset();
    // The caches have not seen the writes yet: no second apply, no false "repair".
    await h.reconcile();
    expect(h.applies).toEqual([]);
    h.sync();
    await h.reconcile();
    await h.reconcile();
    expect(h.applies).toEqual([]);
    expect(h.events).toEqual([]);
    expect(h.audits()).toEqual([]);
  });

  it('repairs a deleted or edited object, with a Warning Event and a sandbox.repaired audit line', async () => {
    const h = new Harness();
    h.namespace('team-a');
    h.agent('a');
    await h.reconcile();
    h.sync();
    await h.reconcile();
    h.reset();

    h.remove('networkpolicies', 'team-a', 'paddock-agents-default-deny');
    h.tamper('resourcequotas', 'team-a', 'paddock-agents', (o) => {
      (o as ResourceQuota).spec.hard!['pods'] = '5000';
    });
    await h.reconcile();
    expect(h.names()).toEqual(['NetworkPolicy/paddock-agents-default-deny', 'ResourceQuota/paddock-agents']);
    expect(h.events.map((e) => [e.event.type, e.event.reason])).toEqual([['Warning', 'SandboxRepaired']]);
    expect(h.events[0]!.event.note).toBe(
      'restored NetworkPolicy/paddock-agents-default-deny, ResourceQuota/paddock-agents, changed or deleted outside Paddock',
    );
    expect(h.audits()).toEqual([
      expect.objectContaining({
        event: 'sandbox.repaired',
        objects: ['NetworkPolicy/paddock-agents-default-deny', 'ResourceQuota/paddock-agents'],
      }),
    ]);
    h.sync();
    h.reset();
    await h.reconcile();
    expect(h.applies).toEqual([]);
  });

  it('applies (not "repairs") a change of intent: a Namespace override', async () => {
    const h = new Harness();
    h.namespace('team-a');
    h.agent('a');
    await h.reconcile();
    h.sync();
    h.reset();
    h.namespace('team-a', { 'paddock.dev/agent-quota-pods': '3' });
    await h.reconcile();
    expect(h.names()).toEqual(['ResourceQuota/paddock-agents']);
    expect((h.applies[0]!.obj as ResourceQuota).spec.hard!['pods']).toBe('3');
    expect(h.events.map((e) => e.event.reason)).toEqual(['SandboxApplied']);
  });

  it('warns about an invalid override on the Namespace and in the log, and uses the default', async () => {
    const h = new Harness();
    h.namespace('team-a', { 'paddock.dev/agent-quota-cpu': 'plenty' });
    h.agent('a');
    await h.reconcile();
    const quota = h.applies.find((a) => a.obj.kind === 'ResourceQuota')!.obj as ResourceQuota;
    expect(quota.spec.hard!['requests.cpu']).toBe('8');
    const warn = h.events.find((e) => e.event.reason === 'InvalidSandboxOverride')!;
    expect(warn.event.type).toBe('Warning');
    expect(warn.event.note).toContain('paddock.dev/agent-quota-cpu="plenty" ignored');
    expect(warn.regarding.kind).toBe('Namespace');
    expect(h.lines.find((l) => l.msg.includes('plenty'))).toMatchObject({
      level: 40,
      annotation: 'paddock.dev/agent-quota-cpu',
    });
  });

  it('adds, updates and removes per-Agent egress policies as Agents change', async () => {
    const h = new Harness();
    h.namespace('team-a');
    h.agent('a', { egress: [{ cidr: '1.1.1.1/32', ports: [443] }] });
    h.agent('b', { egress: [{ cidr: '2.2.2.2/32' }] });
    await h.reconcile();
    h.sync();
    h.reset();

    // a drops its egress; b is deleted; c appears with egress.
    h.agent('a');
    h.removeAgent('b');
    h.agent('c', { egress: [{ cidr: '3.3.3.3/32' }] });
    await h.reconcile();
    expect(h.names()).toEqual(['NetworkPolicy/paddock-agent-c']);
    expect(h.deletes.map((d) => d.name).sort()).toEqual(['paddock-agent-a', 'paddock-agent-b']);
    expect(h.deletes.every((d) => d.opts.preconditions?.uid === `uid-${d.name}`)).toBe(true);
    expect(h.events.map((e) => e.event.note)).toEqual([
      expect.stringMatching(
        /^applied NetworkPolicy\/paddock-agent-c; removed NetworkPolicy\/paddock-agent-(a|b), /,
      ),
    ]);
  });

  it('cleans up egress policies when the last Agent goes, but keeps the namespace sandbox', async () => {
    const h = new Harness();
    h.namespace('team-a');
    h.agent('a', { egress: [{ cidr: '1.1.1.1/32' }] });
    await h.reconcile();
    h.sync();
    h.reset();
    h.removeAgent('a');
    await h.reconcile();
    expect(h.applies).toEqual([]);
    expect(h.deletes.map((d) => d.name)).toEqual(['paddock-agent-a']);
    expect([...h.server.keys()].sort()).toEqual([
      'limitranges/team-a/paddock-agents',
      'networkpolicies/team-a/paddock-agents-default-deny',
      'resourcequotas/team-a/paddock-agents',
      'serviceaccounts/team-a/paddock-agent',
    ]);
  });

  it('leaves alone NetworkPolicies that are not per-Agent egress policies', async () => {
    const h = new Harness();
    h.namespace('team-a');
    h.agent('a');
    h.inf.networkPolicies.set({
      metadata: {
        name: 'someone-elses',
        namespace: 'team-a',
        labels: { 'app.kubernetes.io/managed-by': 'paddock' },
      },
      spec: { podSelector: {} },
    });
    await h.reconcile();
    expect(h.deletes).toEqual([]);
  });

  it('treats an egress policy already gone (404) as removed', async () => {
    const h = new Harness();
    h.namespace('team-a');
    h.agent('a');
    h.inf.networkPolicies.set({
      metadata: {
        name: 'paddock-agent-old',
        namespace: 'team-a',
        uid: 'u',
        labels: { 'app.kubernetes.io/managed-by': 'paddock', 'paddock.dev/sandbox': 'agent-egress' },
      },
      spec: { podSelector: {} },
    });
    await expect(h.reconcile()).resolves.toBeUndefined();
    expect(h.deletes.map((d) => d.name)).toEqual(['paddock-agent-old']);
  });

  it('applies what it can and then fails, so the controller retries with backoff', async () => {
    const h = new Harness();
    h.namespace('team-a');
    h.agent('a');
    h.failApply = (o) =>
      o.kind === 'LimitRange'
        ? new ApiError('PATCH', '/x', 422, { reason: 'Invalid', message: 'nope' })
        : undefined;
    await expect(h.reconcile()).rejects.toThrow(
      /sandbox of namespace team-a: LimitRange\/paddock-agents: .*nope/,
    );
    expect(h.names()).toEqual([
      'NetworkPolicy/paddock-agents-default-deny',
      'ResourceQuota/paddock-agents',
      'ServiceAccount/paddock-agent',
    ]);
    h.failApply = undefined;
    h.sync();
    h.reset();
    await h.reconcile();
    expect(h.names()).toEqual(['LimitRange/paddock-agents']);
  });

  it('forgets a namespace once it is deleted', async () => {
    const h = new Harness();
    h.namespace('team-a');
    h.agent('a');
    await h.reconcile();
    h.sync();
    await h.reconcile();
    expect(h.reconciler.remembered).toBe(4);
    h.inf.namespaces.store.delete('team-a');
    await h.reconcile();
    expect(h.reconciler.remembered).toBe(0);
  });

  it('forgets writes the caches have not seen yet when the namespace is deleted', async () => {
    const h = new Harness();
    h.namespace('team-a');
    h.agent('a');
    h.namespace('team-b');
    h.agent('b', {}, 'team-b');
    await h.reconcile('team-a');
    await h.reconcile('team-b');
    // Four intents and four unseen writes per namespace.
    expect(h.reconciler.remembered).toBe(16);
    h.inf.namespaces.store.delete('team-a');
    await h.reconcile('team-a');
    expect(h.reconciler.remembered).toBe(8);
    // team-b's writes are still awaited: no second apply from its stale caches.
    h.reset();
    await h.reconcile('team-b');
    expect(h.applies).toEqual([]);
  });
});

describe('sandbox key maps', () => {
  it('map a Namespace to itself and namespaced objects to their namespace', () => {
    expect(sandboxKeysForNamespace({ metadata: { name: 'team-a' } })).toEqual(['team-a']);
    expect(sandboxKeysForNamespaced({ metadata: { name: 'x', namespace: 'team-b' } })).toEqual(['team-b']);
    expect(sandboxKeysForNamespaced({ metadata: { name: 'cluster-scoped' } })).toEqual([]);
  });
});

// Type-level check that the fake informers fit where real ones go.
export type _InformerShape = Pick<
  Informer<KubeObject>,
  'get' | 'list' | 'lastResourceVersion' | 'lastResourceVersionFor'
>;
