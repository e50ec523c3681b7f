// Names shared by the CRDs, the operator and the tests. One place, so a rename
// is one edit.

export const GROUP = 'paddock.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** Field manager for every server-side apply the operator makes. */
export const FIELD_MANAGER = 'paddock';

/** Reporting controller name on Events (events.k8s.io/v1 `reportingController`). */
export const REPORTING_CONTROLLER = 'paddock.dev/operator';

export interface ResourceRef {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

export const AGENT: ResourceRef = {
  group: GROUP,
  version: VERSION,
  kind: 'Agent',
  plural: 'agents',
  namespaced: true,
};
export const WORKFLOW: ResourceRef = {
  group: GROUP,
  version: VERSION,
  kind: 'Workflow',
  plural: 'workflows',
  namespaced: true,
};
export const APPROVAL: ResourceRef = {
  group: GROUP,
  version: VERSION,
  kind: 'Approval',
  plural: 'approvals',
  namespaced: true,
};

export const POD: ResourceRef = { group: '', version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true };
/** Only the operator's own signing key (operator/src/kube/signing-key.ts): the operator reads no other Secret. */
export const SECRET: ResourceRef = {
  group: '',
  version: 'v1',
  kind: 'Secret',
  plural: 'secrets',
  namespaced: true,
};
export const EVENT: ResourceRef = {
  group: 'events.k8s.io',
  version: 'v1',
  kind: 'Event',
  plural: 'events',
  namespaced: true,
};
/** The core Events the kubelet records on pods (read only to explain a pod that cannot start). */
export const CORE_EVENT: ResourceRef = {
  group: '',
  version: 'v1',
  kind: 'Event',
  plural: 'events',
  namespaced: true,
};
export const LEASE: ResourceRef = {
  group: 'coordination.k8s.io',
  version: 'v1',
  kind: 'Lease',
  plural: 'leases',
  namespaced: true,
};

/** kstatus condition types (https://github.com/kubernetes-sigs/cli-utils/tree/master/pkg/kstatus). */
export const CONDITION_READY = 'Ready';
export const CONDITION_RECONCILING = 'Reconciling';
export const CONDITION_STALLED = 'Stalled';

/** JSON Schema extension that marks an input or output field as sensitive (redacted everywhere). */
export const SENSITIVE_KEYWORD = 'x-paddock-sensitive';
