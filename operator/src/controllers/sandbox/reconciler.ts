// Sandbox reconciler, keyed by namespace name: keeps the sandbox (desired.ts) in every
// namespace that runs agents, i.e. holds at least one Agent.
//
// Reads only from informers. Writes (server-side apply, field manager "paddock", forced) only
// what is missing or differs from the cache, so a steady state costs no API calls, and drift
// is repaired: a sandbox object deleted or edited behind the operator's back comes back, with
// a Warning Event on the Namespace and an audit line. Per-Agent egress policies whose Agent is
// gone or declares no egress are deleted.
//
// A namespace whose last Agent is deleted keeps its namespace-wide objects (agent pods may
// still be running and must stay fenced; they cost nothing otherwise); they go with the
// namespace, or by `kubectl delete -l app.kubernetes.io/managed-by=paddock`.
import { FIELD_MANAGER, type ResourceRef } from '../../api/constants.ts';
import type { Agent } from '../../api/generated/index.ts';
import { LABEL_SANDBOX_COMPONENT, SANDBOX_COMPONENT_AGENT_EGRESS } from '../../api/labels.ts';
import type { SandboxConfig } from '../../config.ts';
import type { KubeClient } from '../../kube/client.ts';
import {
  NETWORK_POLICY,
  type LimitRange,
  type Namespace,
  type NetworkPolicy,
  type ResourceQuota,
  type ServiceAccount,
} from '../../kube/core-types.ts';
import { isNotFound } from '../../kube/errors.ts';
import type { Informer } from '../../kube/informer.ts';
import type { KubeObject } from '../../kube/types.ts';
import { audit } from '../../observability/logger.ts';
import { errorMessage } from '../../util/errors.ts';
import type { MapFunc, ReconcileContext, ReconcileResult, Reconciler } from '../controller.ts';
import type { EventSink } from '../events.ts';
import { jsonEqual } from '../../api/json-equal.ts';
import { Expectations } from '../expectations.ts';
import { desiredSandbox, sandboxObjectInSync, type DesiredObject } from './desired.ts';

/** The caches the sandbox reads. The last four are filtered by SANDBOX_OWNED_SELECTOR. */
export interface SandboxInformers {
  readonly namespaces: Informer<Namespace>;
  readonly agents: Informer<Agent>;
  readonly networkPolicies: Informer<NetworkPolicy>;
  readonly resourceQuotas: Informer<ResourceQuota>;
  readonly limitRanges: Informer<LimitRange>;
  readonly serviceAccounts: Informer<ServiceAccount>;
}

export interface SandboxReconcilerDeps {
  readonly client: Pick<KubeClient, 'apply' | 'delete'>;
  readonly informers: SandboxInformers;
  readonly events: EventSink;
  readonly defaults: SandboxConfig;
}

// --- informer -> namespace key maps (for Controller.watch) ------------------------------------

/** A Namespace changed (annotations, deletion): reconcile it. */
export const sandboxKeysForNamespace: MapFunc<Namespace> = (ns) =>
  ns.metadata.name ? [ns.metadata.name] : [];
/** An Agent or a sandbox object changed: reconcile its namespace. */
export const sandboxKeysForNamespaced: MapFunc<KubeObject> = (obj) =>
  obj.metadata.namespace ? [obj.metadata.namespace] : [];

type Change = 'applied' | 'repaired';

export class SandboxReconciler implements Reconciler {
  private readonly deps: SandboxReconcilerDeps;
  /** The desired object last applied or found in sync, by key (a copy): tells drift from new intent. */
  private readonly lastApplied = new Map<string, unknown>();
  /**
   * Our last write per object, until its informer has caught up with it. Never expired: the
   * informer's position for the object's scope always moves past the write (its watch event, a
   * resumed watch, a relist; docs/design.md on kube/informer.ts), and acting on a cache that
   * has not would report a repair (a Warning Event and a sandbox.repaired audit line) of a
   * change nobody made. Entries go once seen, or with their object or namespace.
   */
  private readonly written = new Expectations<string>({ lagMs: Number.POSITIVE_INFINITY });

  constructor(deps: SandboxReconcilerDeps) {
    this.deps = deps;
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const { informers } = this.deps;
    const ns = informers.namespaces.get(key);
    if (!ns || ns.metadata.deletionTimestamp || ns.status?.phase === 'Terminating') {
      // Deleting the namespace deletes the sandbox with it.
      this.forgetNamespace(key);
      return;
    }
    const agents = informers.agents.list(key).filter((a) => !a.metadata.deletionTimestamp);
    const desired = agents.length > 0 ? desiredSandbox(ns, agents, this.deps.defaults) : undefined;
    const regarding = namespaceRef(ns);

    for (const p of desired?.problems ?? []) {
      ctx.logger.warn({ namespace: key, annotation: p.annotation, value: p.value }, p.message);
      this.deps.events.record(regarding, {
        type: 'Warning',
        reason: 'InvalidSandboxOverride',
        action: 'ApplySandbox',
        note: `${p.message}; using the operator default`,
      });
    }

    const errors: string[] = [];
    const changed: Record<Change, string[]> = { applied: [], repaired: [] };
    for (const d of desired?.objects ?? []) {
      try {
        const change = await this.ensure(d);
        if (change) changed[change].push(describe(d.ref, d.object.metadata.name));
      } catch (err) {
        errors.push(`${describe(d.ref, d.object.metadata.name)}: ${errorMessage(err)}`);
      }
    }

    const removed: string[] = [];
    const wanted = desired?.egressPolicies ?? new Set<string>();
    for (const policy of informers.networkPolicies.list(key)) {
      const name = policy.metadata.name ?? '';
      if (policy.metadata.labels?.[LABEL_SANDBOX_COMPONENT] !== SANDBOX_COMPONENT_AGENT_EGRESS) continue;
      if (wanted.has(name) || policy.metadata.deletionTimestamp) continue;
      try {
        await this.deps.client.delete(NETWORK_POLICY, key, name, {
          ...(policy.metadata.uid ? { preconditions: { uid: policy.metadata.uid } } : {}),
        });
        removed.push(describe(NETWORK_POLICY, name));
      } catch (err) {
        if (!isNotFound(err)) errors.push(`delete ${describe(NETWORK_POLICY, name)}: ${errorMessage(err)}`);
      }
      this.forget(objKey(NETWORK_POLICY, key, name));
    }

    if (changed.repaired.length > 0) {
      const note = `restored ${changed.repaired.join(', ')}, changed or deleted outside Paddock`;
      this.deps.events.record(regarding, {
        type: 'Warning',
        reason: 'SandboxRepaired',
        action: 'ApplySandbox',
        note,
      });
      audit(ctx.logger, {
        event: 'sandbox.repaired',
        namespace: key,
        objects: changed.repaired,
        reconcileId: ctx.reconcileId,
        message: note,
      });
    }
    if (changed.applied.length > 0 || removed.length > 0) {
      const note = [
        changed.applied.length > 0 ? `applied ${changed.applied.join(', ')}` : '',
        removed.length > 0 ? `removed ${removed.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join('; ');
      this.deps.events.record(regarding, {
        type: 'Normal',
        reason: 'SandboxApplied',
        action: 'ApplySandbox',
        note,
      });
      audit(ctx.logger, {
        event: 'sandbox.applied',
        namespace: key,
        objects: changed.applied,
        removed,
        reconcileId: ctx.reconcileId,
        message: note,
      });
    }
    if (errors.length > 0) throw new Error(`sandbox of namespace ${key}: ${errors.join('; ')}`);
  }

  /** Makes one object match `d`; says what it did, if anything. */
  private async ensure(d: DesiredObject): Promise<Change | undefined> {
    const informer = this.informerFor(d.ref);
    const { namespace = '', name = '' } = d.object.metadata;
    const key = objKey(d.ref, namespace, name);
    const cacheKey = `${namespace}/${name}`;
    // The cache has not yet seen our last write of this object: comparing with it would
    // report (and "repair") a difference that is already gone. Its event will bring us back.
    // The informer's position, not the object's resourceVersion: it also moves past a deletion.
    if (this.written.isBehind(key, { resourceVersion: informer.lastResourceVersionFor(cacheKey) }))
      return undefined;
    const cached = informer.get(cacheKey);
    const last = this.lastApplied.get(key);
    const sameIntent = last !== undefined && jsonEqual(last, d.object);
    if (cached && sandboxObjectInSync(d.object, cached)) {
      if (!sameIntent) this.lastApplied.set(key, structuredClone(d.object));
      return undefined;
    }
    // Same intent as last time, yet the object differs or is gone: someone changed it.
    const change: Change = sameIntent ? 'repaired' : 'applied';
    const res = await this.deps.client.apply<KubeObject>(d.ref, d.object, {
      fieldManager: FIELD_MANAGER,
      force: true,
    });
    this.lastApplied.set(key, structuredClone(d.object));
    this.written.expectWritten(key, res.metadata.resourceVersion);
    return change;
  }

  private informerFor(ref: ResourceRef): Informer<KubeObject> {
    const i = this.deps.informers;
    const byPlural: Record<string, Informer<KubeObject>> = {
      networkpolicies: i.networkPolicies as unknown as Informer<KubeObject>,
      resourcequotas: i.resourceQuotas as unknown as Informer<KubeObject>,
      limitranges: i.limitRanges as unknown as Informer<KubeObject>,
      serviceaccounts: i.serviceAccounts,
    };
    const informer = byPlural[ref.plural];
    if (!informer) throw new Error(`no sandbox informer for ${ref.plural}`);
    return informer;
  }

  private forget(key: string): void {
    this.lastApplied.delete(key);
    this.written.forget(key);
  }

  private forgetNamespace(namespace: string): void {
    const inNamespace = (k: string): boolean => k.split('/')[1] === namespace;
    for (const k of this.lastApplied.keys()) if (inNamespace(k)) this.lastApplied.delete(k);
    this.written.forgetWhere(inNamespace);
  }

  /** Entries remembered, intents and unseen writes (tests check that memory does not grow without bound). */
  get remembered(): number {
    return this.lastApplied.size + this.written.size;
  }
}

function objKey(ref: ResourceRef, namespace: string, name: string): string {
  return `${ref.plural}/${namespace}/${name}`;
}

function describe(ref: ResourceRef, name: string | undefined): string {
  return `${ref.kind}/${name ?? ''}`;
}

/**
 * The Namespace as an Event's regarding object. events.k8s.io Events live in a namespace and
 * the API server wants the regarding object's namespace to match it, so the Event about a
 * Namespace is put in that namespace, where `kubectl events -n <ns>` shows it.
 */
function namespaceRef(ns: Namespace): KubeObject {
  const { name, uid } = ns.metadata;
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { ...(name ? { name, namespace: name } : {}), ...(uid ? { uid } : {}) },
  };
}
