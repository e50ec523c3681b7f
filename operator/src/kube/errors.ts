// API errors with the Status the server sent, so callers branch on reason and
// code instead of parsing strings.
import type { Status } from './types.ts';

export class ApiError extends Error {
  readonly status: number;
  readonly reason: string;
  readonly body: Status | undefined;
  readonly verb: string;
  readonly path: string;

  constructor(verb: string, path: string, status: number, body: Status | undefined) {
    // The message names the request and the server's words, never headers or tokens.
    super(`${verb} ${path}: ${status} ${body?.reason ?? ''} ${body?.message ?? ''}`.trim());
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

/** Errors a retry may fix (server overloaded, connection lost). */
export function isTransient(err: unknown): boolean {
  if (err instanceof ApiError) return err.status === 429 || err.status >= 500 || err.status === 0;
  return !(err instanceof GoneError);
}
