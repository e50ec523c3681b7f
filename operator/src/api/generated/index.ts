/* eslint-disable */
/**
 * Generated from the crds/ schemas (all Paddock API types) by operator/hack/generate-types.ts.
 * DO NOT EDIT: change the CRD and regenerate with `make generate`.
 */

export type { ObjectMeta, OwnerReference } from '../meta.ts';
export type * from './common.ts';
export type * from './agent.ts';
export type * from './workflow.ts';
export type * from './approval.ts';
