// The operator's signatures: what they cover, what they do not verify, and the keyed inputs
// digest an Approval binds to.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Approval } from '../../../operator/src/api/generated/index.ts';
import {
  ANNOTATION_INPUTS_DIGEST,
  ANNOTATION_SIGNATURE,
  LABEL_ATTEMPT,
  LABEL_STEP,
  LABEL_WORKFLOW,
} from '../../../operator/src/api/labels.ts';
import {
  MIN_SIGNING_KEY_BYTES,
  Provenance,
  podIdentity,
} from '../../../operator/src/controllers/provenance.ts';
import type { Pod } from '../../../operator/src/kube/core-types.ts';

const KEY = Buffer.alloc(32, 5);
const P = new Provenance(KEY);
const OTHER = new Provenance(Buffer.alloc(32, 6));
const IMAGE = `ghcr.io/acme/patcher@sha256:${'ab12'.repeat(16)}`;

function approval(): Approval {
  const a: Approval = {
    apiVersion: 'paddock.dev/v1alpha1',
    kind: 'Approval',
    metadata: { name: 'wf-fix-approval-1', namespace: 'team-a' },
    spec: {
      workflowRef: { name: 'wf', uid: 'u1' },
      step: 'fix',
      request: {
        agent: 'patcher',
        agentGeneration: 3,
        image: IMAGE,
        inputs: { a: 1 },
        digest: P.inputsDigest(3, IMAGE, { a: 1 }),
      },
      policy: { required: 2, approvers: { groups: ['sre'] }, expiresAt: '2025-03-02T10:00:00Z' },
      requestedBy: 'alice',
    },
  };
  a.metadata.annotations = { [ANNOTATION_SIGNATURE]: P.signApproval(a) };
  return a;
}

function pod(): Pod {
  const p: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'wf-fix-1',
      namespace: 'team-a',
      labels: { [LABEL_WORKFLOW]: 'wf', [LABEL_STEP]: 'fix', [LABEL_ATTEMPT]: '1' },
      annotations: { [ANNOTATION_INPUTS_DIGEST]: P.inputsDigest(3, IMAGE, { a: 1 }) },
      ownerReferences: [
        { apiVersion: 'paddock.dev/v1alpha1', kind: 'Workflow', name: 'wf', uid: 'u1', controller: true },
      ],
    },
    spec: { containers: [] },
  };
  p.metadata.annotations![ANNOTATION_SIGNATURE] = P.signPod(podIdentity(p)!);
  return p;
}

describe('Provenance: Approvals', () => {
  it('verifies what it signed, and decisions added by people do not break it', () => {
    const a = approval();
    expect(P.verifyApproval(a)).toBe(true);
    expect(
      P.verifyApproval({ ...a, spec: { ...a.spec, decisions: [{ user: 'bob', decision: 'Approve' }] } }),
    ).toBe(true);
  });

  it('rejects any change to what the request means, another key, or no signature', () => {
    const a = approval();
    const changed: Array<(x: Approval) => Approval> = [
      (x) => ({ ...x, metadata: { ...x.metadata, name: 'wf-fix-approval-2' } }),
      (x) => ({ ...x, metadata: { ...x.metadata, namespace: 'team-b' } }),
      (x) => ({ ...x, spec: { ...x.spec, step: 'other' } }),
      (x) => ({ ...x, spec: { ...x.spec, workflowRef: { name: 'wf', uid: 'u2' } } }),
      (x) => ({ ...x, spec: { ...x.spec, policy: { ...x.spec.policy, required: 1 } } }),
      (x) => ({ ...x, spec: { ...x.spec, policy: { required: 2, expiresAt: x.spec.policy.expiresAt } } }),
      (x) => ({ ...x, spec: { ...x.spec, policy: { ...x.spec.policy, expiresAt: '2099-01-01T00:00:00Z' } } }),
      (x) => ({ ...x, spec: { ...x.spec, request: { ...x.spec.request, image: 'evil:latest' } } }),
      (x) => ({ ...x, spec: { ...x.spec, request: { ...x.spec.request, inputs: { a: 2 } } } }),
      (x) => {
        const { requestedBy: _r, ...spec } = x.spec;
        return { ...x, spec };
      },
      (x) => ({ ...x, metadata: { ...x.metadata, annotations: {} } }),
      (x) => ({ ...x, metadata: { ...x.metadata, annotations: { [ANNOTATION_SIGNATURE]: 'v1:' } } }),
    ];
    for (const change of changed) expect(P.verifyApproval(change(a))).toBe(false);
    expect(OTHER.verifyApproval(a)).toBe(false);
  });
});

describe('Provenance: pods', () => {
  it('verifies its own pod; any other identity, attempt or digest does not', () => {
    const p = pod();
    expect(P.verifyPod(p)).toBe(true);
    const variants: Array<(x: Pod) => Pod> = [
      (x) => ({ ...x, metadata: { ...x.metadata, name: 'wf-fix-2' } }),
      (x) => ({ ...x, metadata: { ...x.metadata, labels: { ...x.metadata.labels, [LABEL_ATTEMPT]: '2' } } }),
      (x) => ({ ...x, metadata: { ...x.metadata, labels: { ...x.metadata.labels, [LABEL_STEP]: 'other' } } }),
      (x) => ({
        ...x,
        metadata: { ...x.metadata, ownerReferences: [{ ...x.metadata.ownerReferences![0]!, uid: 'u2' }] },
      }),
      (x) => ({
        ...x,
        metadata: {
          ...x.metadata,
          annotations: {
            ...x.metadata.annotations,
            [ANNOTATION_INPUTS_DIGEST]: P.inputsDigest(3, IMAGE, { a: 2 }),
          },
        },
      }),
      (x) => ({ ...x, metadata: { ...x.metadata, ownerReferences: [] } }),
    ];
    for (const v of variants) expect(P.verifyPod(v(p))).toBe(false);
    expect(OTHER.verifyPod(p)).toBe(false);
  });
});

describe('Provenance: the inputs digest', () => {
  it('is hmac-sha256:<64 hex>, keyed: another key gives another digest', () => {
    expect(P.inputsDigest(3, IMAGE, { a: 1 })).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(OTHER.inputsDigest(3, IMAGE, { a: 1 })).not.toBe(P.inputsDigest(3, IMAGE, { a: 1 }));
  });

  it('does not depend on key order, at any depth', () => {
    const a = P.inputsDigest(3, IMAGE, { repo: 'r', opts: { x: 1, y: [1, { b: 2, a: 1 }] } });
    const b = P.inputsDigest(3, IMAGE, { opts: { y: [1, { a: 1, b: 2 }], x: 1 }, repo: 'r' });
    expect(a).toBe(b);
  });

  it('changes with the image, the Agent generation and the inputs', () => {
    const base = P.inputsDigest(3, IMAGE, { a: 1 });
    expect(P.inputsDigest(3, `${IMAGE.slice(0, -1)}0`, { a: 1 })).not.toBe(base);
    expect(P.inputsDigest(4, IMAGE, { a: 1 })).not.toBe(base);
    expect(P.inputsDigest(3, IMAGE, { a: 2 })).not.toBe(base);
    expect(P.inputsDigest(3, IMAGE, { a: '1' })).not.toBe(base);
    expect(P.inputsDigest(3, IMAGE, { a: 1, b: null })).not.toBe(base);
    expect(P.inputsDigest(3, IMAGE, [1, 2])).not.toBe(P.inputsDigest(3, IMAGE, [2, 1]));
  });

  it('is the HMAC of the canonical JSON of {agentGeneration, image, inputs}', () => {
    const canonical = `{"agentGeneration":3,"image":"${IMAGE}","inputs":{"a":1,"b":"x"}}`;
    const mac = createHmac('sha256', KEY).update('paddock.dev/inputs\n').update(canonical).digest('hex');
    expect(P.inputsDigest(3, IMAGE, { b: 'x', a: 1 })).toBe(`hmac-sha256:${mac}`);
  });

  it('refuses a key shorter than 32 bytes', () => {
    expect(() => new Provenance(Buffer.alloc(MIN_SIGNING_KEY_BYTES - 1))).toThrow(/at least 32 bytes/);
  });
});
