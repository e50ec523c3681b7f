import { connect, createServer as createNetServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../operator/src/observability/logger.ts';
import { Metrics } from '../../../operator/src/observability/metrics.ts';
import {
  startHealthServer,
  type CheckResult,
  type HealthServer,
  type HealthServerOptions,
} from '../../../operator/src/server/http.ts';

const logLines: string[] = [];
const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void logLines.push(s) } });

const servers: HealthServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  logLines.length = 0;
});

const passing: readonly CheckResult[] = [
  { name: 'informers', ok: true },
  { name: 'leader', ok: true },
];

async function start(
  overrides: Partial<HealthServerOptions> = {},
): Promise<{ server: HealthServer; url: string }> {
  const server = await startHealthServer({
    host: '127.0.0.1',
    port: 0,
    logger,
    checks: { healthz: () => passing, readyz: () => passing },
    ...overrides,
  });
  servers.push(server);
  return { server, url: `http://127.0.0.1:${server.address.port}` };
}

async function get(
  url: string,
  init?: RequestInit,
): Promise<{ status: number; body: string; headers: Headers }> {
  const res = await fetch(url, init);
  return { status: res.status, body: await res.text(), headers: res.headers };
}

// Sends raw bytes and returns whatever the server answers before closing.
function rawRequest(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    let data = '';
    socket.on('data', (chunk) => (data += chunk.toString()));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}

describe('startHealthServer', () => {
  it('binds port 0 to a real port and answers /healthz and /readyz with 200 "ok"', async () => {
    const { server, url } = await start();
    expect(server.address.port).toBeGreaterThan(0);
    expect(server.address.host).toBe('127.0.0.1');
    for (const path of ['/healthz', '/readyz', '/readyz/']) {
      const res = await get(url + path);
      expect(res).toMatchObject({ status: 200, body: 'ok' });
      expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    }
  });

  it('a failing readiness check returns 500 naming the check and its reason', async () => {
    const { url } = await start({
      checks: {
        healthz: () => passing,
        readyz: () =>
          Promise.resolve([
            { name: 'informers', ok: true },
            { name: 'leader', ok: false, message: 'lease held by paddock-7f9c' },
          ]),
      },
    });
    const res = await get(`${url}/readyz`);
    expect(res.status).toBe(500);
    expect(res.body).toBe(
      '[+]informers ok\n[-]leader failed: lease held by paddock-7f9c\nreadyz check failed\n',
    );
    expect((await get(`${url}/healthz`)).status).toBe(200);
  });

  it('?verbose lists every check when all pass; ?exclude skips one; /readyz/NAME runs one', async () => {
    const { url } = await start({
      checks: {
        healthz: () => passing,
        readyz: () => [...passing, { name: 'caches', ok: false, message: 'pods not synced' }],
      },
    });
    expect(await get(`${url}/healthz?verbose`)).toMatchObject({
      status: 200,
      body: '[+]informers ok\n[+]leader ok\nhealthz check passed\n',
    });
    expect(await get(`${url}/readyz?exclude=caches`)).toMatchObject({ status: 200, body: 'ok' });
    expect(await get(`${url}/readyz/leader`)).toMatchObject({ status: 200, body: 'ok' });
    expect(await get(`${url}/readyz/caches`)).toMatchObject({
      status: 500,
      body: '[-]caches failed: pods not synced\nreadyz check failed\n',
    });
    expect(await get(`${url}/readyz/nope`)).toMatchObject({
      status: 404,
      body: 'no such readyz check "nope"\n',
    });
  });

  it('a check function that throws or hangs fails the probe instead of breaking it', async () => {
    const { url } = await start({
      checkTimeoutMs: 50,
      checks: {
        healthz: () => {
          throw new Error('cache exploded');
        },
        readyz: () => new Promise<never>(() => {}),
      },
    });
    expect(await get(`${url}/healthz`)).toMatchObject({
      status: 500,
      body: '[-]checks failed: cache exploded\nhealthz check failed\n',
    });
    expect(await get(`${url}/readyz`)).toMatchObject({
      status: 500,
      body: '[-]checks failed: checks did not finish within 50 ms\nreadyz check failed\n',
    });
  });

  it('logs when the set of failing checks changes, not on every probe', async () => {
    let ok = false;
    const { url } = await start({
      checks: { healthz: () => passing, readyz: () => [{ name: 'leader', ok, message: 'not leader' }] },
    });
    await get(`${url}/readyz`);
    await get(`${url}/readyz`);
    ok = true;
    await get(`${url}/readyz`);
    const messages = logLines
      .map((l) => (JSON.parse(l) as { msg: string }).msg)
      .filter((m) => m.startsWith('readyz'));
    expect(messages).toEqual(['readyz checks failing', 'readyz checks pass again']);
  });

  it('serves /metrics from the registry on the probe port', async () => {
    const metrics = new Metrics({ defaultMetrics: false, version: '9.9.9' });
    metrics.observeReconcile('agent', 'success', 0.01);
    const { url } = await start({ metrics });
    const res = await get(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(metrics.contentType);
    expect(res.body).toContain('paddock_reconcile_total{controller="agent",result="success"} 1');
    expect(res.body).toContain('version="9.9.9"');
  });

  it('without metrics, /metrics is 404', async () => {
    const { url } = await start();
    expect((await get(`${url}/metrics`)).status).toBe(404);
  });

  it('serves /metrics on a separate port when asked, and only there', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const { server, url } = await start({ metrics, metricsListen: { host: '127.0.0.1', port: 0 } });
    const metricsPort = server.metricsAddress?.port;
    expect(metricsPort).toBeGreaterThan(0);
    expect(metricsPort).not.toBe(server.address.port);
    const res = await get(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(res.status).toBe(200);
    expect(res.body).toContain('paddock_build_info');
    expect((await get(`${url}/metrics`)).status).toBe(404);
    expect((await get(`http://127.0.0.1:${metricsPort}/healthz`)).status).toBe(404);
  });

  it('a metrics render failure is a 500, not a crash', async () => {
    const { url } = await start({
      metrics: { contentType: 'text/plain', render: () => Promise.reject(new Error('collector broke')) },
    });
    expect(await get(`${url}/metrics`)).toMatchObject({ status: 500, body: 'rendering metrics failed\n' });
    expect((await get(`${url}/healthz`)).status).toBe(200);
  });

  it('answers unknown paths with 404, other methods with 405, and HEAD without a body', async () => {
    const { url } = await start();
    expect((await get(`${url}/`)).status).toBe(404);
    expect((await get(`${url}/healthz/a/b`)).status).toBe(404);
    const post = await get(`${url}/healthz`, { method: 'POST', body: 'x'.repeat(100_000) });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const head = await get(`${url}/readyz`, { method: 'HEAD' });
    expect(head).toMatchObject({ status: 200, body: '' });
  });

  it('survives malformed HTTP and odd URLs, and keeps serving', async () => {
    const { server, url } = await start();
    const port = server.address.port;
    expect(await rawRequest(port, 'THIS IS NOT HTTP\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    expect(
      await rawRequest(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n'),
    ).toMatch(/^HTTP\/1\.1 400 /);
    expect(await rawRequest(port, 'GET //[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toMatch(
      /^HTTP\/1\.1 (400|404) /,
    );
    expect(
      await rawRequest(
        port,
        'GET http://evil.example/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      ),
    ).toMatch(/^HTTP\/1\.1 200 /);
    expect(await get(`${url}/healthz`)).toMatchObject({ status: 200, body: 'ok' });
  });

  it('rejects with the address when the port is taken', async () => {
    const blocker = createNetServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(start({ port })).rejects.toThrow(`cannot listen on 127.0.0.1:${port}`);
      // A taken metrics port fails the start too (and closes the probe listener).
      await expect(
        start({
          metrics: new Metrics({ defaultMetrics: false }),
          metricsListen: { host: '127.0.0.1', port },
        }),
      ).rejects.toThrow(/EADDRINUSE/);
    } finally {
      blocker.close();
    }
  });

  it('close() stops listening, is idempotent, and waits for an in-flight request', async () => {
    let release: (() => void) | undefined;
    const { server, url } = await start({
      closeGraceMs: 30_000,
      checks: {
        healthz: () => passing,
        readyz: () => new Promise<readonly CheckResult[]>((resolve) => (release = () => resolve(passing))),
      },
    });
    const inFlight = get(`${url}/readyz`);
    await new Promise((r) => setTimeout(r, 50));
    const closed = server.close();
    expect(server.close()).toBe(closed);
    release?.();
    expect(await inFlight).toMatchObject({ status: 200, body: 'ok' });
    // The finished request's keep-alive connection must not hold close() open.
    const timedOut = new Promise((_, reject) => setTimeout(() => reject(new Error('close() hung')), 1000));
    await Promise.race([closed, timedOut]);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});
