// Wiring of the sandbox controller: the informers it reads and how their changes map to
// namespace keys (one sandbox per namespace with Agents).
import { AGENT } from '../../api/constants.ts';
import type { Agent } from '../../api/generated/index.ts';
import type { Config } from '../../config.ts';
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
import { Controller } from '../controller.ts';
import { controllerMetrics, type InformerFactory, type SetupDeps } from '../setup.ts';
import { SANDBOX_OWNED_SELECTOR } from './desired.ts';
import {
  SandboxReconciler,
  sandboxKeysForNamespace,
  sandboxKeysForNamespaced,
  type SandboxInformers,
} from './reconciler.ts';

export type SandboxSetupDeps = Pick<SetupDeps, 'client' | 'informer' | 'events' | 'logger' | 'metrics'> & {
  readonly config: Pick<Config, 'workers' | 'sandbox' | 'watchNamespaces'>;
};

/**
 * The informers the sandbox reads. `agents` is the Agent controller's (one cache per resource).
 * The four sandbox kinds are filtered to objects labelled app.kubernetes.io/managed-by=paddock,
 * so the operator never caches the cluster's other NetworkPolicies, quotas, LimitRanges or
 * ServiceAccounts. With `watchNamespaces`, only those Namespace objects are read, each by name,
 * which RBAC can allow with resourceNames instead of a cluster-wide list (docs/operations.md,
 * "Install modes").
 */
function sandboxInformers(informer: InformerFactory, watchNamespaces: readonly string[]): SandboxInformers {
  const owned = { labelSelector: SANDBOX_OWNED_SELECTOR };
  return {
    namespaces: informer<Namespace>(NAMESPACE, watchNamespaces.length > 0 ? { names: watchNamespaces } : {}),
    agents: informer<Agent>(AGENT),
    networkPolicies: informer<NetworkPolicy>(NETWORK_POLICY, owned),
    resourceQuotas: informer<ResourceQuota>(RESOURCE_QUOTA, owned),
    limitRanges: informer<LimitRange>(LIMIT_RANGE, owned),
    serviceAccounts: informer<ServiceAccount>(SERVICE_ACCOUNT, owned),
  };
}

/** The "sandbox" controller, watching every informer it reads. */
export function setupSandboxController(d: SandboxSetupDeps): Controller {
  const informers = sandboxInformers(d.informer, d.config.watchNamespaces);
  const controller = new Controller({
    name: 'sandbox',
    reconciler: new SandboxReconciler({
      client: d.client,
      informers,
      events: d.events,
      defaults: d.config.sandbox,
    }),
    logger: d.logger,
    workers: d.config.workers,
    metrics: controllerMetrics(d.metrics),
  });
  controller.watch(informers.namespaces, sandboxKeysForNamespace);
  controller.watch(informers.agents, sandboxKeysForNamespaced);
  controller.watch(informers.networkPolicies, sandboxKeysForNamespaced);
  controller.watch(informers.resourceQuotas, sandboxKeysForNamespaced);
  controller.watch(informers.limitRanges, sandboxKeysForNamespaced);
  controller.watch(informers.serviceAccounts, sandboxKeysForNamespaced);
  return controller;
}
