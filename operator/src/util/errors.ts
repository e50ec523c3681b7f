// The words of a thrown value, for log messages, conditions and CLI output. Anything may be
// thrown in JavaScript, so callers cannot assume an Error.

/**
 * An Error's message, or the value as a string. Only the message: an error's other own
 * properties (an HTTP client's response body or headers) may hold secrets, so they are never
 * read here; the logger's serializer (observability/logger.ts) decides what else a log line gets.
 */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
