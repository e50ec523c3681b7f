// Comparing Workflow statuses, so a reconcile that decides nothing new writes nothing. Pure.
import type { WorkflowStatus } from '../../api/generated/index.ts';
import { jsonEqual } from '../../api/json-equal.ts';

export function workflowStatusEqual(a: WorkflowStatus | undefined, b: WorkflowStatus): boolean {
  return a !== undefined && jsonEqual(a, b);
}
