// Pure rules about a Workflow as `kubectl paddock retry` and `resubmit` see it:
// whether it can be retried, the patch that asks for a retry, and the new
// Workflow a resubmit creates. No I/O here, so the unit tests cover it all.
import { API_VERSION } from '../../operator/src/api/constants.ts';
import type { Workflow, WorkflowSpec } from '../../operator/src/api/generated/workflow.ts';

/** The Workflow as read from the server. */
export type WorkflowView = Workflow;

/** Annotation a resubmitted Workflow carries: the name of the run it was made from. */
export const RESUBMITTED_FROM = 'paddock.dev/resubmitted-from';

/** The phases a retry may be asked of (the paddock-workflow-retry admission policy checks it too). */
export const RETRYABLE_PHASES: readonly string[] = ['Failed', 'Cancelled'];

/** The CRD's maximum for spec.retry.count. */
export const MAX_RETRIES = 100;

/** Phase as shown: a Workflow the operator has not yet given a status is Pending. */
export function workflowPhase(w: WorkflowView): string {
  return w.status?.phase || 'Pending';
}

/**
 * Why the caller cannot ask for a retry of this Workflow, or undefined when
 * they can. The API server enforces the phase, the count, the requester, and
 * that a retry already asked for and not yet carried out is not asked twice
 * (paddock-workflow-retry); checking first gives a clearer message.
 */
export function cannotRetry(w: WorkflowView): string | undefined {
  const name = w.metadata.name ?? '';
  const phase = workflowPhase(w);
  const requested = w.spec.retry?.count ?? 0;
  const done = w.status?.retries ?? 0;
  if (requested > done) {
    const by = w.spec.retry?.requestedBy ? ` by ${w.spec.retry.requestedBy}` : '';
    return `workflow ${name} already has a retry requested${by} that the operator has not carried out yet (spec.retry.count ${requested}, status.retries ${done}); wait for it to run`;
  }
  if (!RETRYABLE_PHASES.includes(phase)) {
    const why =
      phase === 'Succeeded'
        ? 'it Succeeded; to run it again from the start, use kubectl paddock resubmit'
        : 'it has not ended yet; only a run that has Failed or was Cancelled can be retried';
    return `workflow ${name} is ${phase}: ${why}`;
  }
  if (requested >= MAX_RETRIES)
    return `workflow ${name} was already retried ${requested} times, the most allowed; use kubectl paddock resubmit to start a new run`;
  return undefined;
}

/** The JSON merge patch that asks for one more retry. */
export interface RetryPatch {
  metadata: { resourceVersion: string };
  spec: { retry: { count: number; requestedBy: string }; cancel?: false };
}

/**
 * The merge patch asking for a retry as `user`: spec.retry.count one more than
 * read, requestedBy the caller, and spec.cancel cleared when it was set (the
 * CRD lets a retry clear it in the same update). It carries the resourceVersion
 * read, so the API server refuses it (409 Conflict) if the Workflow changed in
 * between: two people retrying at once cannot both count, or ask twice.
 */
export function retryPatch(w: WorkflowView, user: string): RetryPatch {
  if (!user) throw new Error('cannot ask for a retry without an authenticated username');
  const resourceVersion = w.metadata.resourceVersion;
  if (!resourceVersion) throw new Error('the Workflow read has no resourceVersion');
  return {
    metadata: { resourceVersion },
    spec: {
      retry: { count: (w.spec.retry?.count ?? 0) + 1, requestedBy: user },
      ...(w.spec.cancel === true ? { cancel: false as const } : {}),
    },
  };
}

/**
 * The new Workflow a resubmit creates: the same spec but the run controls
 * (cancel, retry, suspend) left out, spec.requestedBy the caller when the
 * original named a requester (paddock-workflow-requester requires it to be
 * the creator), the original's labels, and the resubmitted-from annotation.
 * Named `newName`, else generated from the original's name.
 */
export function resubmitObject(w: WorkflowView, user: string, newName?: string): WorkflowView {
  const name = w.metadata.name;
  if (!name) throw new Error('the Workflow read has no name');
  const { cancel: _cancel, retry: _retry, suspend: _suspend, requestedBy, ...rest } = w.spec;
  if (requestedBy !== undefined && !user)
    throw new Error('cannot name the requester without an authenticated username');
  const spec: WorkflowSpec = {
    ...(requestedBy !== undefined ? { requestedBy: user } : {}),
    ...structuredClone(rest),
  };
  const labels = w.metadata.labels;
  return {
    apiVersion: API_VERSION,
    kind: 'Workflow',
    metadata: {
      ...(newName ? { name: newName } : { generateName: `${name}-` }),
      ...(w.metadata.namespace ? { namespace: w.metadata.namespace } : {}),
      ...(labels && Object.keys(labels).length > 0 ? { labels: { ...labels } } : {}),
      annotations: { [RESUBMITTED_FROM]: name },
    },
    spec,
  };
}
