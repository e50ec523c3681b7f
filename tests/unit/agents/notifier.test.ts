import { describe, expect, it } from 'vitest';
import {
  buildNotification,
  describeFailure,
  messageIdOf,
  NotifyError,
} from '../../../agents/notifier/notification.ts';

const run = { workflow: 'wf', step: 'notify', attempt: 2 };

describe('buildNotification', () => {
  it('posts JSON with the run, an idempotency key per step and the details', () => {
    const n = buildNotification(
      { webhookUrl: 'http://10.0.0.80:8080/hooks/x', text: 'hello', details: { a: 1 }, timeoutSeconds: 3 },
      run,
      {},
    );
    expect(n.url.href).toBe('http://10.0.0.80:8080/hooks/x');
    expect(n.headers).toEqual({ 'content-type': 'application/json', 'idempotency-key': 'wf/notify' });
    expect(JSON.parse(n.body)).toEqual({
      source: 'paddock',
      workflow: 'wf',
      step: 'notify',
      attempt: 2,
      severity: 'info',
      title: 'Paddock workflow wf',
      text: 'hello',
      details: { a: 1 },
    });
    expect(n.timeoutMs).toBe(3000);
  });

  it('falls back to WEBHOOK_URL, and refuses no URL or another scheme, naming the field', () => {
    expect(buildNotification({ text: 't' }, run, { WEBHOOK_URL: 'https://h/p' }).url.href).toBe(
      'https://h/p',
    );
    expect(() => buildNotification({ text: 't' }, run, {})).toThrow(NotifyError);
    expect(() => buildNotification({ text: 't', webhookUrl: 'ftp://h' }, run, {})).toThrow(
      /^webhookUrl: only http/,
    );
  });
});

describe('describeFailure', () => {
  const url = new URL('https://hooks.example.com/services/T000/B000/secretpart');
  it('names the origin only, never the path', () => {
    expect(describeFailure(url, { status: 500 }, 10_000)).toBe(
      'the webhook at https://hooks.example.com answered HTTP 500',
    );
    expect(describeFailure(url, { timedOut: true }, 10_000)).toBe(
      'no answer from the webhook at https://hooks.example.com within 10 s',
    );
    const err = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }),
    });
    expect(describeFailure(url, { error: err }, 1000)).toBe(
      'cannot reach the webhook at https://hooks.example.com: ECONNREFUSED',
    );
  });
});

describe('messageIdOf', () => {
  it('reads a JSON id, else nothing', () => {
    expect(messageIdOf('{"id": 7}')).toBe('7');
    expect(messageIdOf('ok')).toBeUndefined();
    expect(messageIdOf('{"x": 1}')).toBeUndefined();
  });
});
