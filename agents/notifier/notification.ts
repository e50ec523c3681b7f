// What the notifier posts, and how it words a failure, pure. A webhook URL often carries its credential in the
// path (chat services do this), so messages name only the URL's origin, never its path or query.

export type NotifySeverity = 'info' | 'warning' | 'critical';

export interface NotifierInputs {
  /** The receiver; when absent, the WEBHOOK_URL environment variable (from the Agent's spec.secrets). */
  readonly webhookUrl?: string;
  readonly title?: string;
  readonly text: string;
  readonly severity?: NotifySeverity;
  /** Free-form JSON passed through (step outcomes, report sections). */
  readonly details?: Readonly<Record<string, unknown>>;
  readonly timeoutSeconds?: number;
}

export interface Run {
  readonly workflow: string;
  readonly step: string;
  readonly attempt: number;
}

export interface Notification {
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly timeoutMs: number;
}

export const DEFAULT_TIMEOUT_SECONDS = 10;

export class NotifyError extends Error {}

/** The origin of a URL (scheme, host, port): safe to show. */
export function originOf(url: URL): string {
  return url.origin;
}

export function buildNotification(
  inputs: NotifierInputs,
  run: Run,
  env: Readonly<Record<string, string | undefined>>,
): Notification {
  const raw = inputs.webhookUrl ?? env['WEBHOOK_URL'];
  if (raw === undefined || raw === '') {
    throw new NotifyError(
      'webhookUrl: no webhook URL (set the input webhookUrl, or WEBHOOK_URL from a Secret)',
    );
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new NotifyError('webhookUrl: not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new NotifyError(`webhookUrl: only http and https are supported, not ${url.protocol}`);
  }
  const payload = {
    source: 'paddock',
    workflow: run.workflow,
    step: run.step,
    attempt: run.attempt,
    severity: inputs.severity ?? 'info',
    title: inputs.title ?? `Paddock workflow ${run.workflow}`,
    text: inputs.text,
    ...(inputs.details === undefined ? {} : { details: inputs.details }),
  };
  return {
    url,
    headers: {
      'content-type': 'application/json',
      // The same key on every attempt of the step: a receiver can drop the duplicate of a retried post.
      'idempotency-key': `${run.workflow}/${run.step}`,
    },
    body: JSON.stringify(payload),
    timeoutMs: (inputs.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
  };
}

/** A one-line reason for a failed post, naming the origin only. */
export function describeFailure(
  url: URL,
  failure: { status: number } | { timedOut: true } | { error: unknown },
  timeoutMs: number,
): string {
  const where = `the webhook at ${originOf(url)}`;
  if ('status' in failure) return `${where} answered HTTP ${failure.status}`;
  if ('timedOut' in failure) return `no answer from ${where} within ${timeoutMs / 1000} s`;
  const err = failure.error;
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  const code =
    cause instanceof Error && 'code' in cause && typeof cause.code === 'string' ? cause.code : undefined;
  return `cannot reach ${where}: ${code ?? (cause instanceof Error ? cause.message : String(cause))}`;
}

/** The receiver's message id, when its answer is JSON with a string or number `id`. */
export function messageIdOf(responseText: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(responseText);
    if (typeof parsed === 'object' && parsed !== null && 'id' in parsed) {
      const id = parsed.id;
      if (typeof id === 'string' || typeof id === 'number') return String(id).slice(0, 200);
    }
  } catch {
    // not JSON: no id
  }
  return undefined;
}
