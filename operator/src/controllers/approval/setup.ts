// Wiring of the Approval controller: it reads Approvals only and reconciles each on its own
// changes. It also gives the metrics their source of pending Approvals.
import { APPROVAL } from '../../api/constants.ts';
import type { Approval } from '../../api/generated/index.ts';
import type { Config } from '../../config.ts';
import { Controller } from '../controller.ts';
import { controllerMetrics, reportFailing, type SetupDeps } from '../setup.ts';
import type { StatusWriter } from '../status-writer.ts';
import { ApprovalReconciler } from './reconciler.ts';

export type ApprovalSetupDeps = Pick<
  SetupDeps,
  'informer' | 'events' | 'logger' | 'metrics' | 'provenance'
> & {
  readonly config: Pick<Config, 'workers'>;
  /** Approval status writes, shared with the Workflow controller (registry.ts says why). */
  readonly approvalStatus: StatusWriter;
};

export function setupApprovalController(d: ApprovalSetupDeps): Controller {
  const approvals = d.informer<Approval>(APPROVAL);
  d.metrics.setApprovalSource(() => approvals.list());
  const controller = new Controller({
    name: 'approval',
    reconciler: new ApprovalReconciler({
      approvals,
      status: d.approvalStatus,
      events: d.events,
      provenance: d.provenance,
      metrics: { outcome: (p) => d.metrics.approvalOutcome(p) },
    }),
    logger: d.logger,
    workers: d.config.workers,
    metrics: controllerMetrics(d.metrics),
    onFailing: reportFailing(d.events, 'approval', approvals),
  });
  controller.watchPrimary(approvals);
  return controller;
}
