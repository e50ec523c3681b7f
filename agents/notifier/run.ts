// The notifier's run: build the post (pure), send it with a deadline, and fail with one clear line otherwise.
import { AgentFailure, type AgentContext } from '../../sdk/typescript/src/index.ts';
import {
  buildNotification,
  describeFailure,
  messageIdOf,
  NotifyError,
  originOf,
  type NotifierInputs,
} from './notification.ts';

export interface NotifierOutputs {
  delivered: boolean;
  status: number;
  messageId?: string;
}

export async function runNotifier(
  inputs: NotifierInputs,
  ctx: AgentContext,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<NotifierOutputs> {
  let n;
  try {
    n = buildNotification(inputs, ctx, env);
  } catch (err) {
    if (err instanceof NotifyError) throw new AgentFailure(err.message);
    throw err;
  }
  ctx.log.info('posting', { to: originOf(n.url), bytes: n.body.length });
  const signal = AbortSignal.timeout(n.timeoutMs);
  let response: Response;
  let text: string;
  try {
    response = await fetch(n.url, {
      method: 'POST',
      headers: n.headers,
      body: n.body,
      signal,
      redirect: 'error',
    });
    text = await response.text();
  } catch (err) {
    const timedOut = signal.aborted;
    throw new AgentFailure(
      describeFailure(n.url, timedOut ? { timedOut: true } : { error: err }, n.timeoutMs),
    );
  }
  if (!response.ok) throw new AgentFailure(describeFailure(n.url, { status: response.status }, n.timeoutMs));
  const messageId = messageIdOf(text);
  ctx.log.info('delivered', { status: response.status, messageId });
  return { delivered: true, status: response.status, ...(messageId === undefined ? {} : { messageId }) };
}
