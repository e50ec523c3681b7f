// API errors with the Status the server sent, so callers branch on reason and
// code instead of parsing strings.
import type { Status } from './types.ts';

export class ApiError extends Error {
  readonly status: number;
  readonly reason: string;
  readonly body: Status | undefined;
  readonly verb: string;
  readonly path: string;

  /** `options.cause`: the socket error behind a request that got no answer (status 0). */
  constructor(verb: string, path: string, status: number, body: Status | undefined, options?: ErrorOptions) {
    // The message names the request and the server's words, never headers or tokens.
    super(`${verb} ${path}: ${status} ${body?.reason ?? ''} ${body?.message ?? ''}`.trim(), options);
    this.name = 'ApiError';
    this.status = status;
    this.reason = body?.reason ?? '';
    this.body = body;
    this.verb = verb;
    this.path = path;
  }
}

/** A watch ended with 410 Gone: the resourceVersion is too old; relist. */
export class GoneError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GoneError';
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ApiError && err.status === 404;
}

export function isConflict(err: unknown): boolean {
  return err instanceof ApiError && err.status === 409;
}

export function isAlreadyExists(err: unknown): boolean {
  return err instanceof ApiError && err.status === 409 && err.reason === 'AlreadyExists';
}

export function isGone(err: unknown): boolean {
  return err instanceof GoneError || (err instanceof ApiError && err.status === 410);
}

export function isForbidden(err: unknown): boolean {
  return err instanceof ApiError && err.status === 403;
}

/** Quota and limit refusals: worth waiting for, not failing on. */
export function isQuotaExceeded(err: unknown): boolean {
  return (
    err instanceof ApiError && err.status === 403 && /exceeded quota|forbidden: exceeded/i.test(err.message)
  );
}

/**
 * An admission plugin (a ValidatingAdmissionPolicy or webhook) said no, whatever the status code:
 * a policy may answer 422 (reason Invalid), and a binding whose parameters are missing does too.
 */
export function isAdmissionDenial(err: unknown): boolean {
  return (
    err instanceof ApiError &&
    (/ denied request: /.test(err.message) || /admission webhook /.test(err.message))
  );
}

/**
 * What went wrong with a request to the API server, in a bounded set of words: a metric label
 * (paddock_reconcile_errors_total) and a log field, so never anything from the object or the
 * server's message.
 */
export const API_ERROR_KINDS = [
  'conflict',
  'notFound',
  'forbidden',
  'invalid',
  'throttled',
  'server',
  'network',
  'timeout',
  'unknown',
] as const;
export type ApiErrorKind = (typeof API_ERROR_KINDS)[number];

/** Node's codes for a connection that failed or broke before an answer came. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
]);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * The kind of a failed request. Status codes follow the API server's reasons: 400 BadRequest,
 * 413 RequestEntityTooLarge and 422 Invalid are `invalid` (the same request is refused again);
 * 401 and 403 are `forbidden`, and so is an admission plugin's refusal whatever its code (what
 * it refuses can change when its policy does); 504 and the Timeout/ServerTimeout reasons are
 * `timeout`. Without an answer (status 0, or an error that is not an ApiError) the socket
 * error's code decides between `timeout` and `network`. Anything else is `unknown`.
 */
export function apiErrorKind(err: unknown): ApiErrorKind {
  if (err instanceof GoneError) return 'notFound';
  if (!(err instanceof ApiError)) return socketErrorKind(err) ?? 'unknown';
  const { status, reason } = err;
  if (status === 0) return socketErrorKind(err.cause) ?? 'network';
  if (isAdmissionDenial(err)) return 'forbidden';
  if (status === 504 || reason === 'Timeout' || reason === 'ServerTimeout') return 'timeout';
  if (status === 429) return 'throttled';
  if (status >= 500) return 'server';
  if (status === 409) return 'conflict';
  if (status === 404 || status === 410) return 'notFound';
  if (status === 401 || status === 403) return 'forbidden';
  if (status === 400 || status === 413 || status === 422) return 'invalid';
  return 'unknown';
}

/** `timeout` or `network` from a socket error (or its causes, a few deep); undefined if neither. */
function socketErrorKind(err: unknown, depth = 0): 'timeout' | 'network' | undefined {
  if (typeof err !== 'object' || err === null || depth > 3) return undefined;
  const { code, name, cause } = err as { code?: unknown; name?: unknown; cause?: unknown };
  if (name === 'TimeoutError' || (typeof code === 'string' && TIMEOUT_CODES.has(code))) return 'timeout';
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return 'network';
  return socketErrorKind(cause, depth + 1);
}

/** Errors a retry may fix (server overloaded, connection lost). */
export function isTransient(err: unknown): boolean {
  if (err instanceof ApiError) return err.status === 429 || err.status >= 500 || err.status === 0;
  return !(err instanceof GoneError);
}
