// Turning failures into the one message a person needs. The API server's own
// words are kept (admission policies and CRD validation rules phrase them for
// people); RBAC refusals add which permission is missing.
import { ApiError } from '../../operator/src/kube/errors.ts';
import { errorMessage } from '../../operator/src/util/errors.ts';

/** A failure whose message is already meant for the user. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

export interface ErrorContext {
  readonly action: 'read' | 'decide' | 'whoami' | 'retry' | 'resubmit';
  readonly namespace?: string;
  readonly name?: string;
  readonly server?: string;
}

/** retry and resubmit act on Workflows; the other commands on Approvals. */
function onWorkflows(ctx: ErrorContext): boolean {
  return ctx.action === 'retry' || ctx.action === 'resubmit';
}

/** The RBAC a refused Workflow command needs (paddock-editor grants all of it). */
function workflowHint(ctx: ErrorContext, where: string): string {
  return ctx.action === 'retry'
    ? `retrying needs RBAC verbs get and patch on workflows.paddock.dev${where}; ask an admin for the ClusterRole paddock-editor (or the built-in edit role) in the namespace`
    : `resubmitting needs RBAC verbs get and create on workflows.paddock.dev${where}; ask an admin for the ClusterRole paddock-editor (or the built-in edit role) in the namespace`;
}

/** Admission refusals (ValidatingAdmissionPolicy or webhook) are 403s too, but not RBAC's. */
function isAdmissionDenial(message: string): boolean {
  return /ValidatingAdmissionPolicy|admission webhook|denied request|denied the request/i.test(message);
}

export function explain(err: unknown, ctx: ErrorContext): string {
  if (err instanceof CliError) return `error: ${err.message}`;
  if (!(err instanceof ApiError)) {
    return `error: ${errorMessage(err)}`;
  }
  const message = err.body?.message ?? err.message;
  const where = ctx.namespace ? ` in namespace ${ctx.namespace}` : '';
  const scope = ctx.namespace ? where : ' in all namespaces (-A needs a ClusterRoleBinding)';
  const selfReview = err.path.includes('/selfsubjectreviews');
  switch (err.status) {
    case 0:
      return `error: cannot reach the Kubernetes API server${ctx.server ? ` at ${ctx.server}` : ''}: ${message}`;
    case 401:
      return `error: the API server did not accept your credentials (401 Unauthorized); check your kubeconfig or log in again`;
    case 403: {
      if (isAdmissionDenial(message)) return `Error from server (Forbidden): ${message}`;
      const hint =
        selfReview || ctx.action === 'whoami'
          ? 'every authenticated user may normally create a SelfSubjectReview (ClusterRole system:basic-user)'
          : onWorkflows(ctx)
            ? workflowHint(ctx, where)
            : ctx.action === 'decide'
              ? `deciding needs RBAC on approvals.paddock.dev${scope}: get and patch, plus the custom "approve" verb; ask an admin for a Role granting verbs [get, list, watch, patch, approve] on approvals`
              : `reading needs RBAC verbs get and list on approvals.paddock.dev${scope}; deciding also needs patch and the "approve" verb`;
      return `Error from server (Forbidden): ${message}\nhint: ${hint}`;
    }
    case 404: {
      const crdMissing = !err.body?.details?.name;
      if (selfReview)
        return `error: this API server has no SelfSubjectReview API (authentication.k8s.io/v1, Kubernetes 1.28+): ${message}`;
      if (onWorkflows(ctx)) {
        if (crdMissing)
          return `error: the Workflow API (workflows.paddock.dev/v1alpha1) is not installed on this cluster: ${message}`;
        return `error: workflow ${ctx.name ?? err.body?.details?.name ?? ''} not found${where}`;
      }
      if (crdMissing)
        return `error: the Approval API (approvals.paddock.dev/v1alpha1) is not installed on this cluster: ${message}`;
      return `error: approval ${ctx.name ?? err.body?.details?.name ?? ''} not found${where}`;
    }
    case 409:
      if (ctx.action === 'retry')
        return `error: workflow ${ctx.name ?? ''} changed since it was read${where} (someone may have asked for a retry at the same time); nothing was changed: look again (kubectl get workflow ${ctx.name ?? 'NAME'} -o yaml) and retry if it is still needed`;
      if (ctx.action === 'resubmit' && err.reason === 'AlreadyExists')
        return `error: a workflow named ${err.body?.details?.name ?? ''} already exists${where}; pick another --name, or leave it out to have one generated`;
      if (/uid mismatch|no existing object/i.test(message))
        return `error: approval ${ctx.name ?? ''} was deleted or replaced since it was read${where}; look again (kubectl paddock describe ${ctx.name ?? 'NAME'})`;
      return `Error from server (Conflict): ${message}`;
    case 422:
      if (/metadata\.uid/.test(message))
        return `error: approval ${ctx.name ?? ''} was deleted or replaced since it was read${where}; look again (kubectl paddock describe ${ctx.name ?? 'NAME'})`;
      return `Error from server (Invalid): ${message}`;
    default:
      return `Error from server (${err.reason || err.status}): ${message}`;
  }
}
