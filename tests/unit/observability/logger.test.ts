import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../operator/src/kube/errors.ts';
import {
  audit,
  createLogger,
  errorFields,
  newReconcileId,
  reconcileLogger,
  redactSecrets,
  REDACTED,
  serializeError,
  type LogLevel,
} from '../../../operator/src/observability/logger.ts';

// A pino destination that keeps lines in memory (pino writes synchronously to it).
function capture(level: LogLevel = 'trace') {
  const lines: string[] = [];
  const logger = createLogger({
    level,
    name: 'paddock',
    destination: { write: (s: string) => void lines.push(s) },
  });
  const records = (): Record<string, unknown>[] => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger, lines, records, text: () => lines.join('') };
}

// Shaped like @kubernetes/client-node's ApiException: the message embeds body and headers.
class FakeApiException extends Error {
  readonly code: number;
  readonly body: unknown;
  readonly headers: Record<string, string>;
  constructor(code: number, body: unknown, headers: Record<string, string>) {
    super(
      `HTTP-Code: ${code}\nMessage: Unknown API Status Code!\nBody: ${JSON.stringify(body)}\nHeaders: ${JSON.stringify(headers)}`,
    );
    this.code = code;
    this.body = body;
    this.headers = headers;
  }
}

describe('createLogger', () => {
  it('writes one JSON object per line with a level label, name, ISO time and message', () => {
    const { logger, records } = capture('info');
    logger.info({ key: 'team-a/fix' }, 'reconciled');
    logger.debug('not written at info');
    expect(records()).toHaveLength(1);
    const [line] = records();
    expect(line).toMatchObject({ level: 'info', name: 'paddock', key: 'team-a/fix', msg: 'reconciled' });
    expect(String(line?.['time'])).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });
});

describe('secret redaction', () => {
  const SECRETS = [
    'tok-TOP',
    'tok-DEEP',
    'pw-1',
    'bearer-xyz',
    'gh-ENV',
    'cookie-1',
    'sd-1',
    'data-1',
    'kcd-VALUE',
    'child-pw',
    'grandchild-key',
    'class-tok',
    'body-tok',
  ];

  it('never writes a secret value, at any depth, in objects, arrays, bindings or nested errors', () => {
    const { logger, text, records } = capture();
    class Credentials {
      readonly user = 'bob';
      readonly accessToken = 'class-tok';
    }
    logger.info(
      {
        token: 'tok-TOP',
        a: { b: { c: { d: { e: { f: { token: 'tok-DEEP' } } } } } },
        list: [{ user: 'u', password: 'pw-1' }],
        req: { headers: { Authorization: 'bearer-xyz', 'Set-Cookie': 'cookie-1', accept: 'json' } },
        env: { GITHUB_TOKEN: 'gh-ENV' },
        secretObject: {
          kind: 'Secret',
          metadata: { name: 'gh' },
          data: { token: 'data-1' },
          stringData: { x: 'sd-1' },
        },
        kubeconfig: { users: [{ user: { 'client-key-data': 'kcd-VALUE' } }] },
        creds: new Credentials(),
        failure: new FakeApiException(
          401,
          { kind: 'Status', message: 'Unauthorized', token: 'body-tok' },
          {},
        ),
      },
      'everything',
    );
    logger
      .child({ db: { password: 'child-pw' } })
      .child({ step: 'x' })
      .info({ nested: { apiKey: 'grandchild-key' } }, 'child');
    const out = text();
    for (const secret of SECRETS) expect(out).not.toContain(secret);
    expect(out.split(REDACTED).length - 1).toBeGreaterThanOrEqual(11);
    // Non-secret neighbours survive.
    const [first, second] = records();
    expect(first).toMatchObject({
      req: { headers: { accept: 'json' } },
      secretObject: { metadata: { name: 'gh' } },
    });
    expect(second).toMatchObject({ db: { password: REDACTED }, step: 'x', nested: { apiKey: REDACTED } });
  });

  it('keeps non-secret values under secret-looking keys readable', () => {
    const { logger, records } = capture();
    const pod = {
      spec: {
        automountServiceAccountToken: false,
        volumes: [{ name: 'creds', secret: { secretName: 'gh' } }],
        containers: [
          { env: [{ name: 'GITHUB_TOKEN', valueFrom: { secretKeyRef: { name: 'gh', key: 'token' } } }] },
        ],
      },
    };
    logger.info({ pod }, 'built pod');
    expect(records()[0]?.['pod']).toEqual(pod);
  });

  it('redactSecrets copies on write: the input is untouched and returned as is when clean', () => {
    const clean = { metadata: { name: 'a', labels: { x: 'y' } }, items: [1, 2, { z: true }] };
    expect(redactSecrets(clean)).toBe(clean);
    const dirty = { metadata: { name: 'a' }, spec: { auth: { token: 'T' } }, items: [{ password: 'p' }] };
    const snapshot = structuredClone(dirty);
    const out = redactSecrets(dirty) as typeof dirty;
    expect(dirty).toEqual(snapshot);
    expect(out.spec.auth.token).toBe(REDACTED);
    expect(out.items[0]?.password).toBe(REDACTED);
    expect(out.metadata).toBe(dirty.metadata); // untouched branches are shared, not copied
  });

  it('cuts objects nested beyond the depth limit instead of leaving them unchecked', () => {
    let deep: Record<string, unknown> = { token: 'abyss' };
    for (let i = 0; i < 30; i++) deep = { next: deep };
    expect(JSON.stringify(redactSecrets(deep))).not.toContain('abyss');
  });
});

describe('error logging', () => {
  const apiError = (): FakeApiException =>
    new FakeApiException(
      409,
      {
        kind: 'Status',
        status: 'Failure',
        message: 'the object has been modified',
        reason: 'Conflict',
        code: 409,
        details: { token: 'in-body' },
      },
      { 'x-secret-header': 'in-headers' },
    );

  it('log.error(err) keeps status and reason but no response body or headers, in err or msg', () => {
    const { logger, records, text } = capture();
    logger.error(apiError());
    expect(text()).not.toContain('in-body');
    expect(text()).not.toContain('in-headers');
    expect(records()[0]).toMatchObject({
      msg: 'HTTP-Code: 409\nMessage: Unknown API Status Code!',
      err: { message: 'the object has been modified', status: 409, reason: 'Conflict' },
    });
  });

  it('serializes {err} objects the same way and keeps an explicit message', () => {
    const { logger, records, text } = capture();
    logger.warn({ err: apiError(), key: 'a/b' }, 'apply failed');
    expect(text()).not.toContain('in-body');
    expect(records()[0]).toMatchObject({
      msg: 'apply failed',
      key: 'a/b',
      err: { status: 409, reason: 'Conflict' },
    });
  });

  it('errorFields gives message, code, status; a stack for bugs; causes; nothing else', () => {
    expect(errorFields(apiError())).toEqual({
      err: { message: 'the object has been modified', status: 409, reason: 'Conflict' },
    });
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' });
    const fetchFailed = new TypeError('fetch failed', { cause: refused });
    const { err } = errorFields(fetchFailed);
    expect(err).toMatchObject({
      message: 'fetch failed',
      name: 'TypeError',
      cause: { message: refused.message, code: 'ECONNREFUSED' },
    });
    expect(err.stack).toMatch(/^\s+at /);
    expect(err.stack).not.toContain('fetch failed');
    expect(errorFields({ status: 503, body: 'x', message: 'unavailable' })).toEqual({
      err: { message: 'unavailable', status: 503 },
    });
    expect(errorFields('plain string')).toEqual({ err: { message: 'plain string' } });
    expect(errorFields(42)).toEqual({ err: { message: 'non-error value thrown: 42' } });
  });

  it("handles the REST client's ApiError, including connection failures", () => {
    const conflict = new ApiError('PATCH', '/api/v1/namespaces/a/pods/p', 409, {
      kind: 'Status',
      message: 'Operation cannot be fulfilled',
      reason: 'Conflict',
      code: 409,
    });
    expect(serializeError(conflict)).toEqual({
      message: 'Operation cannot be fulfilled',
      status: 409,
      reason: 'Conflict',
      name: 'ApiError',
      request: 'PATCH /api/v1/namespaces/a/pods/p',
    });
    const refused = new ApiError('GET', '/api/v1/pods', 0, {
      message: 'fetch failed',
      reason: 'ConnectionError',
    });
    expect(serializeError(refused)).toEqual({
      message: 'GET /api/v1/pods: 0 ConnectionError fetch failed',
      status: 0,
      reason: 'ConnectionError',
      name: 'ApiError',
      request: 'GET /api/v1/pods',
    });
  });

  it("keeps a Status's details (object, field causes) and nothing else from it", () => {
    const invalid = new ApiError('PATCH', '/apis/paddock.dev/v1alpha1/namespaces/a/workflows/w/status', 422, {
      kind: 'Status',
      message: 'Workflow.paddock.dev "w" is invalid: status.phase: Unsupported value',
      reason: 'Invalid',
      code: 422,
      details: {
        name: 'w',
        kind: 'Workflow',
        causes: [
          { reason: 'FieldValueNotSupported', message: 'Unsupported value: "x"', field: 'status.phase' },
          ...Array.from({ length: 20 }, (_, i) => ({ reason: 'FieldValueInvalid', field: `f${i}` })),
        ],
        // Not a field of metav1.StatusDetails: never copied.
        ...{ token: 'CANARY' },
      },
    });
    const out = serializeError(invalid);
    expect(out).toMatchObject({
      status: 422,
      reason: 'Invalid',
      details: {
        name: 'w',
        kind: 'Workflow',
        causes: expect.arrayContaining([
          { reason: 'FieldValueNotSupported', message: 'Unsupported value: "x"', field: 'status.phase' },
        ]) as unknown,
      },
    });
    expect(out.details?.causes).toHaveLength(10);
    expect(JSON.stringify(out)).not.toContain('CANARY');
    // A second pass (pino's serializer on errorFields' result) keeps them.
    expect(serializeError(out)).toEqual(out);
  });

  it('reads a Status body given as a JSON string, and truncates huge messages', () => {
    const e = Object.assign(new Error('x'), {
      statusCode: 404,
      body: JSON.stringify({ kind: 'Status', message: 'pods "a" not found', reason: 'NotFound' }),
    });
    expect(serializeError(e)).toEqual({ message: 'pods "a" not found', status: 404, reason: 'NotFound' });
    expect(serializeError(new Error('y'.repeat(5000))).message.length).toBeLessThan(1100);
  });

  it('is idempotent, so an already-serialized error passes through unchanged', () => {
    const once = serializeError(new TypeError('boom', { cause: new Error('inner') }));
    expect(serializeError(once)).toEqual(once);
  });
});

describe('reconcile logging and audit', () => {
  it('reconcileLogger stamps controller, key and reconcile id on every line', () => {
    const { logger, records } = capture();
    const log = reconcileLogger(logger, { controller: 'workflow', key: 'team-a/fix', reconcileId: 'abc123' });
    log.info('one');
    log.info('two');
    for (const line of records())
      expect(line).toMatchObject({ controller: 'workflow', key: 'team-a/fix', reconcileId: 'abc123' });
  });

  it('newReconcileId is short, hex and unique', () => {
    const ids = new Set(Array.from({ length: 1000 }, newReconcileId));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{12}$/);
  });

  it('audit writes one info line with audit: true, the event and its fields', () => {
    const { logger, records } = capture();
    audit(logger, {
      event: 'ApprovalApproved',
      namespace: 'team-a',
      workflow: 'fix',
      step: 'patch',
      agent: 'patcher',
      approval: 'fix-patch',
      user: 'bob',
      reconcileId: 'r1',
      approvals: 2,
      step2: undefined,
    });
    expect(records()).toEqual([
      expect.objectContaining({
        level: 'info',
        audit: true,
        event: 'ApprovalApproved',
        namespace: 'team-a',
        workflow: 'fix',
        step: 'patch',
        agent: 'patcher',
        approval: 'fix-patch',
        user: 'bob',
        reconcileId: 'r1',
        approvals: 2,
        msg: 'ApprovalApproved',
      }),
    ]);
    expect(records()[0]).not.toHaveProperty('step2');
  });

  it('audit through a reconcile logger does not write reconcileId twice, and redacts', () => {
    const { logger, lines } = capture();
    const log = reconcileLogger(logger, { controller: 'workflow', key: 'a/b', reconcileId: 'r9' });
    audit(log, {
      event: 'StepStarted',
      reconcileId: 'r9',
      message: 'step scan started',
      inputs: { token: 'tok-audit' },
    });
    expect(lines[0]?.match(/"reconcileId"/g)).toHaveLength(1);
    expect(lines[0]).toContain('"msg":"step scan started"');
    expect(lines[0]).not.toContain('tok-audit');
  });
});
