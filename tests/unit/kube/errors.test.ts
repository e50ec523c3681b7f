// The kinds of failed API requests: a bounded set that a metric label and the reconcile loop's
// retry decision rely on.
import { describe, expect, it } from 'vitest';
import {
  API_ERROR_KINDS,
  ApiError,
  apiErrorKind,
  GoneError,
  isAdmissionDenial,
  type ApiErrorKind,
} from '../../../operator/src/kube/errors.ts';

const answer = (status: number, reason = '', message = 'no'): ApiError =>
  new ApiError('PATCH', '/api/v1/namespaces/ns/pods/p', status, {
    kind: 'Status',
    code: status,
    reason,
    message,
  });

const noAnswer = (cause: unknown): ApiError =>
  new ApiError('GET', '/api/v1/pods', 0, { message: 'failed', reason: 'ConnectionError' }, { cause });

const sysErr = (code: string): Error => Object.assign(new Error(code), { code });

describe('apiErrorKind', () => {
  const cases: Array<[string, unknown, ApiErrorKind]> = [
    ['409 Conflict', answer(409, 'Conflict'), 'conflict'],
    ['409 AlreadyExists', answer(409, 'AlreadyExists'), 'conflict'],
    ['404 NotFound', answer(404, 'NotFound'), 'notFound'],
    ['410 Gone', answer(410, 'Gone'), 'notFound'],
    ['a watch GoneError', new GoneError('too old'), 'notFound'],
    [
      '403 Forbidden (RBAC)',
      answer(403, 'Forbidden', 'pods is forbidden: User "x" cannot create'),
      'forbidden',
    ],
    ['401 Unauthorized', answer(401, 'Unauthorized'), 'forbidden'],
    [
      '422 from a ValidatingAdmissionPolicy',
      answer(422, 'Invalid', "ValidatingAdmissionPolicy 'p' with binding 'b' denied request: x"),
      'forbidden',
    ],
    [
      '400 from a webhook',
      answer(400, 'BadRequest', 'admission webhook "w" denied the request'),
      'forbidden',
    ],
    ['422 Invalid', answer(422, 'Invalid', 'Pod "p" is invalid: spec.containers: Required value'), 'invalid'],
    ['400 BadRequest', answer(400, 'BadRequest'), 'invalid'],
    ['413 RequestEntityTooLarge', answer(413, 'RequestEntityTooLarge'), 'invalid'],
    ['429 TooManyRequests', answer(429, 'TooManyRequests'), 'throttled'],
    ['500 InternalError', answer(500, 'InternalError'), 'server'],
    ['503 ServiceUnavailable', answer(503, 'ServiceUnavailable'), 'server'],
    ['504 Timeout', answer(504, 'Timeout'), 'timeout'],
    ['500 ServerTimeout', answer(500, 'ServerTimeout'), 'timeout'],
    ['no answer: refused', noAnswer(sysErr('ECONNREFUSED')), 'network'],
    ['no answer: reset', noAnswer(sysErr('ECONNRESET')), 'network'],
    ['no answer: timed out', noAnswer(sysErr('ETIMEDOUT')), 'timeout'],
    ['no answer, cause unknown', noAnswer(new Error('?')), 'network'],
    [
      'no answer, no cause',
      new ApiError('GET', '/x', 0, { message: 'aborted', reason: 'Aborted' }),
      'network',
    ],
    ['a socket error itself', sysErr('EHOSTUNREACH'), 'network'],
    [
      'a TimeoutError (AbortSignal.timeout)',
      Object.assign(new Error('t'), { name: 'TimeoutError' }),
      'timeout',
    ],
    [
      'a fetch failure caused by a timeout',
      new TypeError('fetch failed', { cause: sysErr('ETIMEDOUT') }),
      'timeout',
    ],
    ['405 MethodNotAllowed', answer(405, 'MethodNotAllowed'), 'unknown'],
    ['a TypeError', new TypeError('x is undefined'), 'unknown'],
    ['a string', 'boom', 'unknown'],
    ['undefined', undefined, 'unknown'],
  ];
  for (const [what, err, kind] of cases) {
    it(`${what} is ${kind}`, () => {
      expect(apiErrorKind(err)).toBe(kind);
    });
  }

  it('only ever answers one of API_ERROR_KINDS', () => {
    for (const [, err] of cases) expect(API_ERROR_KINDS).toContain(apiErrorKind(err));
  });
});

describe('isAdmissionDenial', () => {
  it("knows a policy's or a webhook's refusal from the API server's own", () => {
    expect(
      isAdmissionDenial(answer(403, 'Forbidden', "ValidatingAdmissionPolicy 'p' denied request: x")),
    ).toBe(true);
    expect(isAdmissionDenial(answer(400, 'BadRequest', 'admission webhook "w" denied the request'))).toBe(
      true,
    );
    expect(isAdmissionDenial(answer(422, 'Invalid', 'Pod "p" is invalid'))).toBe(false);
    expect(isAdmissionDenial(new Error(' denied request: '))).toBe(false);
  });
});
