// The operator's structured logger: pino, one JSON object per line on stdout, so
// `kubectl logs` stays readable and Loki/Elasticsearch can index every field.
//
// Secret hygiene is enforced here, once, rather than trusted to every call site:
// - every log object and every child logger's bindings pass through
//   `redactSecrets`, which censors values under secret-looking keys at any depth;
// - the `err`/`error` serializer keeps only message/code/status/reason, the request
//   line and a Kubernetes Status's `details` (which object, which fields), never the
//   response body or headers an API client attaches to its errors;
// - `log.error(err)` (an Error as first argument) goes through the same serializer,
//   because pino would otherwise copy err.message, which for @kubernetes/client-node's
//   ApiException embeds the whole response body and headers.
//
// Why not pino's own `redact` option: its paths are exact and a `*` matches one
// level, so covering `err.response.headers.authorization` needs wildcard paths
// 4 levels deep, which measured 30-50 us per line (vs ~2 us unredacted) and still
// misses deeper or differently spelled keys. One copy-on-write walk is cheaper
// and covers every depth and spelling.

import { randomUUID } from 'node:crypto';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { truncate } from '../util/truncate.ts';

export type { Logger } from 'pino';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';
export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error'];

export interface LoggerConfig {
  readonly level: LogLevel;
  /** Logger name, written as `name` on every line (e.g. "paddock"). */
  readonly name?: string;
  /** Where lines go; stdout when omitted. Tests pass a stream to inspect output. */
  readonly destination?: DestinationStream;
}

export const REDACTED = '[REDACTED]';

export function createLogger(config: LoggerConfig): Logger {
  const options: LoggerOptions = {
    level: config.level,
    ...(config.name === undefined ? {} : { name: config.name }),
    // ISO timestamps and level labels: people read these in `kubectl logs`.
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      level: (label) => ({ level: label }),
      log: (object) => redactSecrets(object) as Record<string, unknown>,
    },
    serializers: { err: serializeError, error: serializeError },
    hooks: {
      logMethod(args, method) {
        const [first, ...rest] = args;
        if (first instanceof Error) {
          // Re-route through the safe serializer and a safe default message.
          const message = typeof rest[0] === 'string' ? rest : [safeMessage(first), ...rest];
          method.apply(this, [{ err: first }, ...message] as Parameters<typeof method>);
          return;
        }
        method.apply(this, args);
      },
    },
  };
  const logger = config.destination === undefined ? pino(options) : pino(options, config.destination);
  // pino applies `formatters.bindings` to the root only, never to child bindings,
  // so child() is wrapped instead. Children are created with Object.create(parent),
  // so every descendant inherits this wrapper.
  type ChildFn = (this: Logger, bindings: pino.Bindings, options?: pino.ChildLoggerOptions) => Logger;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the child's own `this`
  const parentChild = logger.child as unknown as ChildFn;
  const redactingChild: ChildFn = function (bindings, childOptions) {
    return parentChild.call(this, redactSecrets(bindings) as pino.Bindings, childOptions);
  };
  logger.child = redactingChild as unknown as Logger['child'];
  return logger;
}

// Keys (compared lower-cased, without '-' and '_') whose whole value is secret,
// whatever its type.
const SECRET_KEYS = new Set([
  'authorization',
  'proxyauthorization',
  'cookie',
  'setcookie',
  'stringdata', // a core/v1 Secret's payload (`data` is handled by kind, below)
  'clientkeydata', // kubeconfig credentials
  'xapikey',
  'xauthtoken',
]);
// Key endings that mark a secret scalar: `token`, `githubToken`, `GITHUB_TOKEN`,
// `clientSecret`, `db_password`... Only scalars are censored under these, so
// `automountServiceAccountToken: false` and a pod's `secret: {secretName}` volume
// stay readable while any secret nested inside them is still found.
const SECRET_SUFFIXES = [
  'token',
  'password',
  'passwd',
  'secret',
  'apikey',
  'privatekey',
  'accesskey',
  'credential',
];

// Deeper values are replaced rather than left unchecked (pino itself has no depth limit).
const MAX_REDACT_DEPTH = 16;

/**
 * Returns `value` with secrets censored. Copy-on-write: the input is never
 * mutated (it may be an informer's cached object) and is returned as is when
 * it holds no secret, so the common case allocates nothing.
 */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_REDACT_DEPTH) return '[Truncated]';
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const redacted = redactSecrets(item, depth + 1);
      if (redacted !== item) {
        copy ??= value.slice();
        copy[i] = redacted;
      }
    }
    return copy ?? value;
  }
  // An Error anywhere (not only under `err`) would otherwise be stringified with
  // all its own properties, such as an API exception's body and headers.
  if (value instanceof Error) return serializeError(value);
  // Values with their own JSON form (Date, Buffer, URL) and binary views carry no
  // keyed fields to check. Other class instances are walked like plain objects,
  // because JSON.stringify writes their own enumerable properties.
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function' || ArrayBuffer.isView(value)) return value;
  const record = value as Record<string, unknown>;
  const isSecretObject = record['kind'] === 'Secret';
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(record)) {
    const item = record[key];
    const redacted =
      isSecretKey(key, item) || (isSecretObject && key === 'data')
        ? REDACTED
        : redactSecrets(item, depth + 1);
    if (redacted !== item) {
      copy ??= { ...record };
      copy[key] = redacted;
    }
  }
  return copy ?? value;
}

function isSecretKey(key: string, value: unknown): boolean {
  if (value === undefined || value === null) return false;
  const normalized = key.toLowerCase().replace(/[-_]/g, '');
  if (SECRET_KEYS.has(normalized)) return true;
  const scalar =
    typeof value === 'string' ||
    typeof value === 'number' ||
    typeof value === 'bigint' ||
    ArrayBuffer.isView(value);
  return (
    scalar &&
    SECRET_SUFFIXES.some((suffix) => normalized.endsWith(suffix) || normalized.endsWith(`${suffix}s`))
  );
}

export interface ReconcileContext {
  readonly controller: string;
  /** The workqueue key, `namespace/name`. */
  readonly key: string;
  readonly reconcileId: string;
}

/** A child logger that stamps every line of one reconcile with its controller, key and id. */
export function reconcileLogger(base: Logger, context: ReconcileContext): Logger {
  return base.child({ controller: context.controller, key: context.key, reconcileId: context.reconcileId });
}

/** A short random id tying together the log lines (and audit lines) of one reconcile. */
export function newReconcileId(): string {
  // 12 hex chars = 48 random bits: collision-free in practice within any log search window.
  return randomUUID().replaceAll('-', '').slice(0, 12);
}

/** Audit event names (docs/operations.md, "Logs"); the same words are used as Event reasons. */
export const AUDIT_EVENTS = [
  'StepStarted',
  'StepSucceeded',
  'StepFailed',
  'StepRetried',
  'ApprovalRequested',
  'ApprovalApproved',
  'ApprovalRejected',
  'ApprovalExpired',
  'ApprovalVoided',
  'SandboxApplied',
  'SpecInvalid',
] as const;
// `string & {}` keeps editor completion for the known names while allowing new ones.
export type AuditEvent = (typeof AUDIT_EVENTS)[number] | (string & {});

export interface AuditFields {
  readonly event: AuditEvent;
  readonly namespace?: string;
  readonly workflow?: string;
  readonly step?: string;
  readonly agent?: string;
  readonly approval?: string;
  /** The authenticated user behind the action (Approval decisions, Workflow creator). */
  readonly user?: string;
  readonly reconcileId?: string;
  readonly reason?: string;
  /** Human-readable message; defaults to the event name. */
  readonly message?: string;
  /** Anything else worth recording (attempt, phase, digest...). Redaction still applies. */
  readonly [extra: string]: unknown;
}

/**
 * Writes one structured audit line (`"audit": true`) at info level, so audit
 * lines can be selected with a single filter in any log pipeline. Audit lines
 * need log level info or lower; the durable record is status.history and the
 * Approval objects (docs/approvals.md, "Audit trail"), this is the searchable copy.
 */
export function audit(logger: Logger, fields: AuditFields): void {
  const { message, ...rest } = fields;
  // Fields already bound on the logger (a reconcile logger carries reconcileId)
  // are skipped when equal: pino would otherwise write the key twice.
  const bound = logger.bindings();
  const line: Record<string, unknown> = { audit: true };
  for (const [key, value] of Object.entries(rest)) {
    if (value === undefined || bound[key] === value) continue;
    line[key] = value;
  }
  logger.info(line, message ?? fields.event);
}

/** The safe shape of an error in a log line. */
export interface ErrorLogFields {
  readonly message: string;
  /** A Node/system error code (`ECONNREFUSED`) or another string code. */
  readonly code?: string;
  /** An HTTP status, when the error came from an API response. */
  readonly status?: number;
  /** A Kubernetes Status reason (`Conflict`, `NotFound`, ...). */
  readonly reason?: string;
  readonly name?: string;
  /** The request that failed, `VERB /path` (the REST client's ApiError; no query, no headers). */
  readonly request?: string;
  /** A Kubernetes Status's details: the object, and for Invalid which fields were refused and why. */
  readonly details?: StatusDetailsLog;
  /** Stack frames only (no message line), for errors that are not API responses. */
  readonly stack?: string;
  readonly cause?: ErrorLogFields;
}

/** metav1.StatusDetails as logged: only its known fields, a bounded number of causes. */
export interface StatusDetailsLog {
  readonly name?: string;
  readonly group?: string;
  readonly kind?: string;
  readonly uid?: string;
  readonly retryAfterSeconds?: number;
  readonly causes?: ReadonlyArray<{
    readonly reason?: string;
    readonly message?: string;
    readonly field?: string;
  }>;
}

/** `{err: {...}}` for spreading into a log call: `log.warn({...errorFields(e), key}, 'apply failed')`. */
export function errorFields(err: unknown): { err: ErrorLogFields } {
  return { err: serializeError(err) };
}

const MAX_MESSAGE_LENGTH = 1024;
/** Long messages are cut to MAX_MESSAGE_LENGTH, this marker included. */
const cap = (s: string): string => truncate(s, MAX_MESSAGE_LENGTH, '...(truncated)');
const MAX_CAUSE_DEPTH = 3;
/** Field causes logged from a Status (an Invalid object can list one per field). */
const MAX_STATUS_CAUSES = 10;
const MAX_CAUSE_MESSAGE_LENGTH = 256;

/**
 * Reduces any thrown value to message/code/status/reason. Response bodies and
 * headers are never copied: they can hold secrets or whole objects. Idempotent,
 * so an already-serialized error passing through pino's serializer is unchanged.
 */
export function serializeError(err: unknown, depth = 0): ErrorLogFields {
  if (typeof err !== 'object' || err === null) {
    return { message: cap(typeof err === 'string' ? err : `non-error value thrown: ${String(err)}`) };
  }
  const e = err as Record<string, unknown>;
  const body = statusBody(e['body']);
  const status = firstNumber(e['status'], e['statusCode'], e['code'], body?.code);
  const code = typeof e['code'] === 'string' ? e['code'] : undefined;
  const reason =
    body?.reason ?? (typeof e['reason'] === 'string' && e['reason'] !== '' ? e['reason'] : undefined);
  const name = typeof e['name'] === 'string' && e['name'] !== 'Error' ? e['name'] : undefined;
  const request =
    typeof e['request'] === 'string'
      ? e['request']
      : typeof e['verb'] === 'string' && typeof e['path'] === 'string'
        ? `${e['verb']} ${e['path'].split('?')[0] ?? ''}`
        : undefined;
  // A second pass (pino's serializer on an errorFields() result) finds them at the top level.
  const details = body?.details ?? statusDetails(e['details']);
  const out: {
    message: string;
    code?: string;
    status?: number;
    reason?: string;
    name?: string;
    request?: string;
    details?: StatusDetailsLog;
    stack?: string;
    cause?: ErrorLogFields;
  } = { message: body?.message ?? safeMessage(e) };
  if (code !== undefined) out.code = code;
  if (status !== undefined) out.status = status;
  if (reason !== undefined) out.reason = reason;
  if (name !== undefined) out.name = name;
  if (request !== undefined) out.request = cap(request);
  if (details !== undefined) out.details = details;
  // A stack helps with bugs (TypeError in a reconciler); for an API refusal the
  // status says it all. Only frame lines are kept: the first line repeats the message.
  if (status === undefined && typeof e['stack'] === 'string') {
    const frames = e['stack']
      .split('\n')
      .filter((line) => /^\s+at /.test(line))
      .join('\n');
    if (frames !== '') out.stack = frames;
  }
  if (e['cause'] !== undefined && depth < MAX_CAUSE_DEPTH) out.cause = serializeError(e['cause'], depth + 1);
  return out;
}

// client-node's ApiException message is "HTTP-Code: ...\nMessage: ...\nBody: {...}\nHeaders: {...}".
function safeMessage(e: object): string {
  const raw = (e as { message?: unknown }).message;
  // Bounded before the search: on a long run of whitespace the pattern is quadratic, and error
  // messages can echo what a server (or an agent, through it) sent.
  const message = (typeof raw === 'string' ? raw : Object.prototype.toString.call(e)).slice(0, 4096);
  const cut = message.search(/\n\s*(Body|Headers):/);
  return cap(cut === -1 ? message : message.slice(0, cut));
}

// A Kubernetes `Status` object (the API server's error body): only its summary fields and details.
function statusBody(
  body: unknown,
): { message?: string; reason?: string; code?: number; details?: StatusDetailsLog } | undefined {
  if (typeof body === 'string') {
    try {
      return statusBody(JSON.parse(body));
    } catch {
      return undefined;
    }
  }
  if (typeof body !== 'object' || body === null || (body as { kind?: unknown }).kind !== 'Status')
    return undefined;
  const { message, reason, code, details } = body as Record<string, unknown>;
  const d = statusDetails(details);
  return {
    ...(typeof message === 'string' ? { message: cap(message) } : {}),
    ...(typeof reason === 'string' && reason !== '' ? { reason } : {}),
    ...(typeof code === 'number' ? { code } : {}),
    ...(d ? { details: d } : {}),
  };
}

// metav1.StatusDetails: its known string and number fields, copied (never the object as sent).
function statusDetails(value: unknown): StatusDetailsLog | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const causes = (Array.isArray(v['causes']) ? (v['causes'] as unknown[]) : [])
    .slice(0, MAX_STATUS_CAUSES)
    .map((c) => {
      const cause = typeof c === 'object' && c !== null ? (c as Record<string, unknown>) : {};
      return withoutUndefined({
        reason: text(cause['reason']),
        message: text(cause['message'], MAX_CAUSE_MESSAGE_LENGTH),
        field: text(cause['field']),
      });
    })
    .filter((c) => Object.keys(c).length > 0);
  const out: StatusDetailsLog = withoutUndefined({
    name: text(v['name']),
    group: text(v['group']),
    kind: text(v['kind']),
    uid: text(v['uid']),
    retryAfterSeconds: typeof v['retryAfterSeconds'] === 'number' ? v['retryAfterSeconds'] : undefined,
    causes: causes.length > 0 ? causes : undefined,
  });
  return Object.keys(out).length > 0 ? out : undefined;
}

function text(value: unknown, max = MAX_MESSAGE_LENGTH): string | undefined {
  return typeof value === 'string' && value !== '' ? truncate(value, max) : undefined;
}

function withoutUndefined<T extends object>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

function firstNumber(...values: unknown[]): number | undefined {
  return values.find((v): v is number => typeof v === 'number' && Number.isInteger(v));
}
