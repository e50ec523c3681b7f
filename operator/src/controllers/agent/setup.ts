// Wiring of the Agent controller: it reads Agents only and reconciles each on its own changes.
import { AGENT } from '../../api/constants.ts';
import type { Agent } from '../../api/generated/index.ts';
import type { Config } from '../../config.ts';
import { Controller } from '../controller.ts';
import { controllerMetrics, reportFailing, type SetupDeps } from '../setup.ts';
import { StatusWriter } from '../status-writer.ts';
import { AgentReconciler } from './reconciler.ts';

export type AgentSetupDeps = Pick<SetupDeps, 'client' | 'informer' | 'events' | 'logger' | 'metrics'> & {
  readonly config: Pick<Config, 'workers'>;
};

export function setupAgentController(d: AgentSetupDeps): Controller {
  const agents = d.informer<Agent>(AGENT);
  const controller = new Controller({
    name: 'agent',
    reconciler: new AgentReconciler({ status: new StatusWriter(d.client), agents, events: d.events }),
    onFailing: reportFailing(d.events, 'agent', agents),
    logger: d.logger,
    workers: d.config.workers,
    metrics: controllerMetrics(d.metrics),
  });
  controller.watchPrimary(agents);
  return controller;
}
