// Which controllers the operator runs. Each controller folder wires itself (its setup.ts: the
// informers, indexes and watches it needs, in the manner of kubebuilder's SetupWithManager);
// this file lists them and builds what two of them share. The manager owns the lifecycle
// (start, leadership, shutdown).
import { setupAgentController } from './agent/setup.ts';
import { setupApprovalController } from './approval/setup.ts';
import type { Controller } from './controller.ts';
import { setupSandboxController } from './sandbox/setup.ts';
import type { SetupDeps } from './setup.ts';
import { StatusWriter } from './status-writer.ts';
import { setupWorkflowController } from './workflow/setup.ts';

export function buildControllers(d: SetupDeps): Controller[] {
  // Approval status is written by the Approval controller and, to mark superseded requests, by
  // the Workflow controller: one writer, so each knows the writes the cache does not show yet.
  const approvalStatus = new StatusWriter(d.client);
  return [
    setupAgentController(d),
    setupWorkflowController({ ...d, approvalStatus }),
    setupApprovalController({ ...d, approvalStatus }),
    setupSandboxController(d),
  ];
}
