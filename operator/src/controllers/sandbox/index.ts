// Wiring of the sandbox controller: which informers it needs and how their changes map to
// namespace keys. The manager owns the informers (shared, started once); this module only
// says what to create and connects them to a Controller.
import type { Logger } from 'pino';
import type { ResourceRef } from '../../api/constants.ts';
import type { Agent } from '../../api/generated/index.ts';
import type { SandboxConfig } from '../../config.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { Clock } from '../../kube/clock.ts';
import {
  LIMIT_RANGE,
  NAMESPACE,
  NETWORK_POLICY,
  RESOURCE_QUOTA,
  SERVICE_ACCOUNT,
  type LimitRange,
  type Namespace,
  type NetworkPolicy,
  type ResourceQuota,
  type ServiceAccount,
} from '../../kube/core-types.ts';
import type { Informer } from '../../kube/informer.ts';
import type { KubeObject } from '../../kube/types.ts';
import { Controller, type ControllerMetrics } from '../controller.ts';
import type { EventSink } from '../events.ts';
import { SANDBOX_OWNED_SELECTOR } from './desired.ts';
import {
  SandboxReconciler,
  sandboxKeysForNamespace,
  sandboxKeysForNamespaced,
  type SandboxInformers,
} from './reconciler.ts';

export { SANDBOX_OWNED_SELECTOR } from './desired.ts';
export { buildAgentPod, isSandboxNotReady, MAX_INPUTS_BYTES, type AgentPodInput } from './pod.ts';
export {
  SandboxReconciler,
  sandboxKeysForNamespace,
  sandboxKeysForNamespaced,
  type SandboxInformers,
} from './reconciler.ts';

/** Selectors for one informer, on top of what the factory adds (e.g. the watched namespace). */
export interface SandboxInformerOptions {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** Cluster-scoped resources: only these objects, by name (one list + watch each). */
  readonly names?: readonly string[];
}

/** Creates (and registers) an informer; the manager's own factory. */
export type InformerFactory = <T extends KubeObject>(
  ref: ResourceRef,
  opts: SandboxInformerOptions,
) => Informer<T>;

/**
 * The informers the sandbox reads, made with the manager's factory. `agents` is the informer
 * the Agent controller already has (one cache per resource). The four sandbox kinds are
 * filtered to objects labelled app.kubernetes.io/managed-by=paddock, so the operator never
 * caches the cluster's other NetworkPolicies, quotas, LimitRanges or ServiceAccounts. With
 * `watchNamespaces`, only those Namespace objects are read, each by name, which RBAC can allow
 * with resourceNames instead of a cluster-wide list (docs/operations.md, "Install modes").
 */
export function createSandboxInformers(
  make: InformerFactory,
  agents: Informer<Agent>,
  watchNamespaces: readonly string[] = [],
): SandboxInformers {
  const owned = { labelSelector: SANDBOX_OWNED_SELECTOR };
  return {
    namespaces: make<Namespace>(NAMESPACE, watchNamespaces.length > 0 ? { names: watchNamespaces } : {}),
    agents,
    networkPolicies: make<NetworkPolicy>(NETWORK_POLICY, owned),
    resourceQuotas: make<ResourceQuota>(RESOURCE_QUOTA, owned),
    limitRanges: make<LimitRange>(LIMIT_RANGE, owned),
    serviceAccounts: make<ServiceAccount>(SERVICE_ACCOUNT, owned),
  };
}

export interface SandboxControllerDeps {
  readonly client: Pick<KubeClient, 'apply' | 'delete'>;
  readonly informers: SandboxInformers;
  readonly events: EventSink;
  readonly defaults: SandboxConfig;
  readonly logger: Logger;
  readonly workers?: number;
  readonly metrics?: ControllerMetrics;
  readonly clock?: Clock;
}

/** The "sandbox" controller, watching every informer it reads. Start it once they have synced. */
export function createSandboxController(deps: SandboxControllerDeps): Controller {
  const { informers } = deps;
  const controller = new Controller({
    name: 'sandbox',
    reconciler: new SandboxReconciler({
      client: deps.client,
      informers,
      events: deps.events,
      defaults: deps.defaults,
    }),
    logger: deps.logger,
    ...(deps.workers !== undefined ? { workers: deps.workers } : {}),
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
    ...(deps.clock ? { clock: deps.clock } : {}),
  });
  controller.watch(informers.namespaces, sandboxKeysForNamespace);
  controller.watch(informers.agents, sandboxKeysForNamespaced);
  controller.watch(informers.networkPolicies, sandboxKeysForNamespaced);
  controller.watch(informers.resourceQuotas, sandboxKeysForNamespaced);
  controller.watch(informers.limitRanges, sandboxKeysForNamespaced);
  controller.watch(informers.serviceAccounts, sandboxKeysForNamespaced);
  return controller;
}
