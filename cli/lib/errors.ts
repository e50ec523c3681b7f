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
  readonly action: 'read' | 'decide' | 'whoami';
  readonly namespace?: string;
  readonly name?: string;
  readonly server?: string;
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
          : ctx.action === 'decide'
            ? `deciding needs RBAC on approvals.paddock.dev${scope}: get and patch, plus the custom "approve" verb; ask an admin for a Role granting verbs [get, list, watch, patch, approve] on approvals`
            : `reading needs RBAC verbs get and list on approvals.paddock.dev${scope}; deciding also needs patch and the "approve" verb`;
      return `Error from server (Forbidden): ${message}\nhint: ${hint}`;
    }
    case 404: {
      const crdMissing = !err.body?.details?.name;
      if (selfReview)
        return `error: this API server has no SelfSubjectReview API (authentication.k8s.io/v1, Kubernetes 1.28+): ${message}`;
      if (crdMissing)
        return `error: the Approval API (approvals.paddock.dev/v1alpha1) is not installed on this cluster: ${message}`;
      return `error: approval ${ctx.name ?? err.body?.details?.name ?? ''} not found${where}`;
    }
    case 409:
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
