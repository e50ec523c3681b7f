// Helpers for tests where people decide Approvals: the Role that lets the sre group (bob, carol:
// tokens; erin: certificate) approve in a namespace, and a decision made as `kubectl paddock
// approve` makes it, with the decider's own credentials.
import { APPROVAL } from '../../../operator/src/api/constants.ts';
import type { KubeClient } from '../../../operator/src/kube/client.ts';
import type { KubeObject } from '../../../operator/src/kube/types.ts';

/** A Role with the `approve` verb on Approvals in `namespace`, bound to the group sre. */
export function sreApprovers(namespace: string): string {
  return `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: approve, namespace: ${namespace}}
rules:
- apiGroups: [paddock.dev]
  resources: [approvals]
  verbs: [get, list, watch, patch, update, approve]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: sre-approves, namespace: ${namespace}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: approve}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: sre}]
`;
}

/**
 * Appends one decision as `user` with that user's client: server-side apply of just their entry
 * (decisions are a list keyed by user), so concurrent deciders never conflict.
 */
export async function decideAs(
  client: KubeClient,
  user: string,
  namespace: string,
  name: string,
  decision: 'Approve' | 'Reject' = 'Approve',
  comment = '',
): Promise<void> {
  const entry = {
    user,
    decision,
    ...(comment ? { comment } : {}),
    at: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  await client.apply(
    APPROVAL,
    {
      apiVersion: 'paddock.dev/v1alpha1',
      kind: 'Approval',
      metadata: { name, namespace },
      spec: { decisions: [entry] },
    } as KubeObject,
    { fieldManager: `test-${user}` },
  );
}
