// Comparing Workflow statuses, so a reconcile that decides nothing new writes nothing. Pure.
import type { WorkflowStatus } from '../../api/generated/index.ts';
import { stableJson } from '../status-writer.ts';

export function workflowStatusEqual(a: WorkflowStatus | undefined, b: WorkflowStatus): boolean {
  return a !== undefined && stableJson(a) === stableJson(b);
}
