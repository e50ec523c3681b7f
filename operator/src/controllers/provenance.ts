// Provenance: proof that the operator itself made an object it later acts on.
//
// The operator finds its children by deterministic names (`<workflow>-<step>-approval-<n>`,
// `<workflow>-<step>-<attempt>`), which anyone allowed to create such objects can also choose. A
// name, labels, owner references or a field manager prove nothing: they are all written by the
// client. So everything the operator makes and later trusts carries an HMAC-SHA256 signature,
// keyed with a secret only the operator holds (a Secret in its own namespace, see
// operator/src/kube/signing-key.ts), over the fields that decide what the object means. An object
// whose signature is missing or wrong is never adopted (docs/security.md).
//
// The same key makes the inputs digest an Approval binds to a keyed digest, so a reader of the
// Approval cannot confirm guesses of a low-entropy sensitive input by hashing candidates.
// Pure: the key is the only state.
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { Approval } from '../api/generated/index.ts';
import {
  ANNOTATION_INPUTS_DIGEST,
  ANNOTATION_SIGNATURE,
  LABEL_ATTEMPT,
  LABEL_INSTANCE,
  LABEL_STEP,
  LABEL_WORKFLOW,
} from '../api/labels.ts';
import type { Pod } from '../kube/core-types.ts';
import { stableJson } from './status-writer.ts';

/** Shortest key accepted (bytes): HMAC-SHA256's block of security. */
export const MIN_SIGNING_KEY_BYTES = 32;
const SIGNATURE_PREFIX = 'v1:';
const DIGEST_PREFIX = 'hmac-sha256:';

/** What a pod's signature covers: who it belongs to and what it runs (through the inputs digest). */
export interface PodIdentity {
  readonly namespace: string;
  readonly name: string;
  readonly workflow: string;
  readonly workflowUid: string;
  readonly step: string;
  readonly attempt: number;
  /** The instance of a forEach step; absent for other steps (so their signatures are unchanged). */
  readonly instance?: number;
  readonly inputsDigest: string;
}

export class Provenance {
  // A KeyObject, made once: createHmac with a Buffer key imports it on every call (about 16 us
  // against 2.5 us on Node 24), and every pass verifies each running agent pod's signature.
  readonly #key: KeyObject;

  constructor(key: Uint8Array) {
    if (key.byteLength < MIN_SIGNING_KEY_BYTES)
      throw new Error(`the signing key must be at least ${MIN_SIGNING_KEY_BYTES} bytes`);
    this.#key = createSecretKey(Buffer.from(key));
  }

  /**
   * What an Approval binds to: a keyed digest of the canonical JSON (keys sorted at every depth)
   * of `{agentGeneration, image, inputs}`. Equal for equal values whatever their key order; any
   * change to the image, the Agent's generation or the rendered inputs changes it.
   */
  inputsDigest(agentGeneration: number, image: string, inputs: unknown): string {
    const canonical = stableJson({ agentGeneration, image, inputs: inputs ?? null });
    return `${DIGEST_PREFIX}${this.#mac('paddock.dev/inputs', canonical)}`;
  }

  /** The signature of an Approval: its namespace, name and spec, decisions excepted (people add those). */
  signApproval(a: Approval): string {
    return SIGNATURE_PREFIX + this.#mac('paddock.dev/approval', approvalPayload(a));
  }

  /** Whether the Approval carries the signature the operator would give it now. */
  verifyApproval(a: Approval): boolean {
    return this.#matches(a.metadata.annotations?.[ANNOTATION_SIGNATURE], this.signApproval(a));
  }

  signPod(p: PodIdentity): string {
    return SIGNATURE_PREFIX + this.#mac('paddock.dev/pod', stableJson(p));
  }

  /** Whether the pod is one this operator created for the attempt its labels name. */
  verifyPod(pod: Pod): boolean {
    const id = podIdentity(pod);
    return (
      id !== undefined && this.#matches(pod.metadata.annotations?.[ANNOTATION_SIGNATURE], this.signPod(id))
    );
  }

  #mac(domain: string, payload: string): string {
    return createHmac('sha256', this.#key).update(`${domain}\n`).update(payload, 'utf8').digest('hex');
  }

  #matches(given: string | undefined, expected: string): boolean {
    if (typeof given !== 'string' || given.length !== expected.length) return false;
    return timingSafeEqual(Buffer.from(given), Buffer.from(expected));
  }
}

function approvalPayload(a: Approval): string {
  const { decisions: _people, ...spec } = a.spec;
  return stableJson({ namespace: a.metadata.namespace ?? '', name: a.metadata.name ?? '', spec });
}

/** The identity a pod claims through its labels, owner reference and digest annotation. */
export function podIdentity(pod: Pod): PodIdentity | undefined {
  const m = pod.metadata;
  const owner = m.ownerReferences?.find((r) => r.kind === 'Workflow' && r.controller === true);
  const workflow = m.labels?.[LABEL_WORKFLOW];
  const step = m.labels?.[LABEL_STEP];
  const attempt = Number(m.labels?.[LABEL_ATTEMPT]);
  const digest = m.annotations?.[ANNOTATION_INPUTS_DIGEST];
  if (!owner || !workflow || !step || !Number.isSafeInteger(attempt) || !digest) return undefined;
  const instanceLabel = m.labels?.[LABEL_INSTANCE];
  const instance = instanceLabel === undefined ? undefined : Number(instanceLabel);
  if (instance !== undefined && !Number.isSafeInteger(instance)) return undefined;
  return {
    namespace: m.namespace ?? '',
    name: m.name ?? '',
    workflow,
    workflowUid: owner.uid,
    step,
    attempt,
    ...(instance !== undefined ? { instance } : {}),
    inputsDigest: digest,
  };
}
