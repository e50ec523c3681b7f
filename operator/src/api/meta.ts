// Loose shapes of the Kubernetes object metadata the generated Paddock types refer to.
// Typed by hand because the CRD schemas declare `metadata` as a bare object (the API server owns it).
// Timestamps stay RFC 3339 strings, as they arrive on the wire.

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: { [k: string]: string };
  annotations?: { [k: string]: string };
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: unknown[];
  [k: string]: unknown;
}
