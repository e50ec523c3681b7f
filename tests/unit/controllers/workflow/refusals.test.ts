// What each refusal by the API server means for a step: wait (and say so), fail, or retry
// quietly a couple of times first. Nothing is ever stuck silently.
import { describe, expect, it } from 'vitest';
import {
  approvalRefusal,
  inputStrings,
  podRefusal,
  QUIET_RETRIES,
  scrubValues,
} from '../../../../operator/src/controllers/workflow/refusals.ts';
import { ApiError } from '../../../../operator/src/kube/errors.ts';

const err = (status: number, message: string, reason = ''): ApiError =>
  new ApiError('POST', '/api/v1/namespaces/ns/pods', status, {
    kind: 'Status',
    reason,
    message,
    code: status,
  });

describe('podRefusal', () => {
  it('waits for quota, the sandbox, and the operator RBAC', () => {
    expect(podRefusal(err(403, 'pods "x" is forbidden: exceeded quota: paddock-agents'), 1)).toEqual({
      kind: 'wait',
      reason: 'QuotaExceeded',
    });
    expect(
      podRefusal(
        err(
          403,
          'error looking up service account ns/paddock-agent: serviceaccount "paddock-agent" not found',
        ),
        1,
      ),
    ).toEqual({ kind: 'wait', reason: 'SandboxNotReady' });
    expect(
      podRefusal(
        err(
          403,
          'pods is forbidden: User "system:serviceaccount:paddock-system:paddock-operator" cannot create resource "pods" in API group "" in the namespace "ns"',
          'Forbidden',
        ),
        1,
      ),
    ).toEqual({ kind: 'wait', reason: 'OperatorForbidden' });
  });

  it('fails on what the same pod would meet again: admission, invalid, too large', () => {
    expect(
      podRefusal(err(403, 'pods "x" is forbidden: violates PodSecurity "restricted:latest"'), 1),
    ).toEqual({
      kind: 'fail',
      reason: 'PodRejected',
    });
    expect(podRefusal(err(422, 'Pod "x" is invalid: metadata.annotations: Too long'), 1)).toEqual({
      kind: 'fail',
      reason: 'PodInvalid',
    });
    expect(podRefusal(err(400, 'bad request'), 1)).toEqual({ kind: 'fail', reason: 'PodInvalid' });
    expect(podRefusal(err(413, 'Request entity too large: limit is 3145728'), 1)).toEqual({
      kind: 'fail',
      reason: 'PodTooLarge',
    });
  });

  it('retries transient errors quietly a few times, then waits with a reason', () => {
    for (const e of [
      err(500, 'etcdserver: request timed out'),
      err(429, 'slow down'),
      err(0, ''),
      new Error('ECONNRESET'),
      err(409, 'conflict', 'Conflict'),
    ]) {
      for (let n = 1; n <= QUIET_RETRIES; n++) expect(podRefusal(e, n)).toEqual({ kind: 'retry' });
      expect(podRefusal(e, QUIET_RETRIES + 1)).toEqual({ kind: 'wait', reason: 'CreateFailed' });
    }
  });
});

describe('approvalRefusal', () => {
  it('waits on 403 (missing RBAC or admission set-up), fails on a malformed or oversized request', () => {
    expect(
      approvalRefusal(err(403, 'denied request: only the Paddock operator may create Approvals'), 1),
    ).toEqual({
      kind: 'wait',
      reason: 'ApprovalRequestFailed',
    });
    expect(approvalRefusal(err(422, 'spec.request.inputs: Too long'), 1)).toEqual({
      kind: 'fail',
      reason: 'ApprovalRequestRefused',
    });
    expect(approvalRefusal(err(413, 'too large'), 1)).toEqual({
      kind: 'fail',
      reason: 'ApprovalRequestRefused',
    });
    // A policy answering 422 (reason Invalid), or a binding missing its parameters: fixable, so wait.
    expect(
      approvalRefusal(
        err(
          422,
          "ValidatingAdmissionPolicy 'p' with binding 'p' denied request: failed to configure binding",
        ),
        1,
      ),
    ).toEqual({ kind: 'wait', reason: 'ApprovalRequestFailed' });
    expect(approvalRefusal(err(503, 'unavailable'), 1)).toEqual({ kind: 'retry' });
    expect(approvalRefusal(err(503, 'unavailable'), QUIET_RETRIES + 1)).toEqual({
      kind: 'wait',
      reason: 'ApprovalRequestFailed',
    });
  });
});

describe('scrubValues', () => {
  it('hides every value the refused object carried, longest first, JSON-escaped forms too', () => {
    const inputs = { token: 'CANARY-s3cret', nested: { list: ['line1\nline2', 'short'] }, n: 123456 };
    const message =
      'admission webhook "x" denied: env PADDOCK_INPUTS={"token":"CANARY-s3cret","nested":{"list":["line1\\nline2","short"]},"n":123456} and CANARY-s3cret again';
    const out = scrubValues(message, inputStrings(inputs));
    expect(out).not.toContain('CANARY');
    expect(out).not.toContain('line1');
    expect(out).not.toContain('123456');
    expect(out).toContain('admission webhook "x" denied');
  });

  it('leaves very short values alone (they would shred the message and hide nothing)', () => {
    expect(scrubValues('a pod is invalid', ['a', 'is'])).toBe('a pod is invalid');
  });
});
