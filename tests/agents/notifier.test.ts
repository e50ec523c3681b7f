// The notifier end to end: posts to the fixture webhook receiver, which records what arrived.
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { NotifierOutputs } from '../../agents/notifier/run.ts';
import { outputsOf, runAgent, useFixtures } from './support.ts';

describe('notifier', () => {
  const fixtures = useFixtures();

  it('posts the summary, and the receiver has it', async () => {
    const hook = `${fixtures().baseUrl}/hooks/security`;
    const out = outputsOf<NotifierOutputs>(
      await runAgent(
        'notifier',
        {
          webhookUrl: hook,
          title: 'Audit',
          text: '9 findings',
          severity: 'warning',
          details: { patch: 'Succeeded' },
        },
        { workflow: 'fix-cve', step: 'notify' },
      ),
    );
    expect(out.delivered).toBe(true);
    expect(out.status).toBe(201);
    const posts = (await (await fetch(hook)).json()) as {
      id: number;
      idempotencyKey: string;
      body: unknown;
    }[];
    expect(posts).toHaveLength(1);
    expect(String(posts[0]?.id)).toBe(out.messageId);
    expect(posts[0]?.idempotencyKey).toBe('fix-cve/notify');
    expect(posts[0]?.body).toEqual({
      source: 'paddock',
      workflow: 'fix-cve',
      step: 'notify',
      attempt: 1,
      severity: 'warning',
      title: 'Audit',
      text: '9 findings',
      details: { patch: 'Succeeded' },
    });
  });

  it('takes the URL from WEBHOOK_URL and keeps it out of the logs', async () => {
    const url = `${fixtures().baseUrl}/hooks/from-env`;
    const run = await runAgent('notifier', { text: 'x' }, { env: { WEBHOOK_URL: url } });
    expect(outputsOf<NotifierOutputs>(run).delivered).toBe(true);
    expect(run.stderr).not.toContain('/hooks/from-env');
  });

  it('fails clearly on an error status, a timeout and a refused connection', async () => {
    const base = `${fixtures().baseUrl}/hooks/failing`;
    const error = await runAgent('notifier', { webhookUrl: `${base}?status=503`, text: 'x' });
    expect(error.exitCode).toBe(1);
    expect(error.written).toBe(`the webhook at ${fixtures().baseUrl} answered HTTP 503`);

    const slow = await runAgent('notifier', {
      webhookUrl: `${base}?delayMs=5000`,
      text: 'x',
      timeoutSeconds: 1,
    });
    expect(slow.exitCode).toBe(1);
    expect(slow.written).toBe(`no answer from the webhook at ${fixtures().baseUrl} within 1 s`);

    // A port that was free a moment ago: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const refused = await runAgent('notifier', { webhookUrl: `http://127.0.0.1:${port}/hooks/x`, text: 'x' });
    expect(refused.exitCode).toBe(1);
    expect(refused.written).toBe(`cannot reach the webhook at http://127.0.0.1:${port}: ECONNREFUSED`);
  });
});
