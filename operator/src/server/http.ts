// The operator's probe and metrics endpoints, on plain node:http: a kubelet probe
// and a Prometheus scrape need four routes, not a framework.
//
// /healthz and /readyz answer like kube-apiserver's, so the output is familiar:
//   200 "ok"                         every check passed
//   500 "[+]informers ok\n[-]leader failed: ...\nreadyz check failed"
//   ?verbose lists every check even when all pass; ?exclude=NAME skips a check;
//   /readyz/NAME runs one check.
// /metrics serves the Prometheus registry, on this port or on a separate one.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../observability/logger.ts';
import { errorFields } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { errorMessage } from '../util/errors.ts';

export interface CheckResult {
  /** Short, stable name: shown in the probe output and usable in /readyz/NAME and ?exclude=NAME. */
  readonly name: string;
  readonly ok: boolean;
  /** Why it failed; shown after "failed:". Must not contain secrets. */
  readonly message?: string;
}

export type CheckFn = () => readonly CheckResult[] | Promise<readonly CheckResult[]>;

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface HealthServerOptions extends ListenAddress {
  readonly checks: { readonly healthz: CheckFn; readonly readyz: CheckFn };
  readonly logger: Logger;
  /** Serves /metrics when given. */
  readonly metrics?: Pick<Metrics, 'render' | 'contentType'>;
  /** Serve /metrics on this separate address instead of the probe port. */
  readonly metricsListen?: ListenAddress;
  /** A check taking longer than this fails the probe (default 5 s): a hung check must not hang the kubelet. */
  readonly checkTimeoutMs?: number;
  /** How long close() lets in-flight requests finish before cutting connections (default 5 s). */
  readonly closeGraceMs?: number;
}

export interface HealthServer {
  /** The bound probe address (the real port when 0 was asked for). */
  readonly address: ListenAddress;
  /** The bound metrics address when metrics have their own port. */
  readonly metricsAddress: ListenAddress | undefined;
  /** Stops listening, lets in-flight requests finish, resolves when closed. Idempotent. */
  close(): Promise<void>;
}

type Route = (req: IncomingMessage, url: URL, res: ServerResponse) => Promise<void>;

export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const log = options.logger.child({ component: 'http' });
  const checkTimeoutMs = options.checkTimeoutMs ?? 5000;
  const closeGraceMs = options.closeGraceMs ?? 5000;

  const serveMetrics: Route | undefined =
    options.metrics === undefined ? undefined : metricsRoute(options.metrics, log);
  const probes = {
    healthz: probeRoute('healthz', options.checks.healthz, checkTimeoutMs, log),
    readyz: probeRoute('readyz', options.checks.readyz, checkTimeoutMs, log),
  };
  const separateMetrics = options.metricsListen !== undefined && serveMetrics !== undefined;

  const probeServer = newListener(log, (url) => {
    const [first, ...rest] = url.pathname.split('/').filter((s) => s !== '');
    if ((first === 'healthz' || first === 'readyz') && rest.length <= 1) return probes[first];
    if (first === 'metrics' && rest.length === 0 && !separateMetrics) return serveMetrics;
    return undefined;
  });
  const address = await listen(probeServer.server, options);

  let metricsServer: Listener | undefined;
  let metricsAddress: ListenAddress | undefined;
  if (separateMetrics && options.metricsListen !== undefined) {
    metricsServer = newListener(log, (url) => (url.pathname === '/metrics' ? serveMetrics : undefined));
    try {
      metricsAddress = await listen(metricsServer.server, options.metricsListen);
    } catch (err) {
      await probeServer.close(closeGraceMs);
      throw err;
    }
  }
  log.info({ address, metricsAddress: metricsAddress ?? address }, 'health server listening');

  let closing: Promise<void> | undefined;
  return {
    address,
    metricsAddress,
    close() {
      closing ??= Promise.all([probeServer.close(closeGraceMs), metricsServer?.close(closeGraceMs)]).then(
        () => undefined,
      );
      return closing;
    },
  };
}

interface Listener {
  readonly server: Server;
  /** Stops listening; in-flight requests get graceMs to finish, then connections are cut. */
  close(graceMs: number): Promise<void>;
}

function newListener(log: Logger, route: (url: URL) => Route | undefined): Listener {
  // Responses still being computed when close() is called, so they can be sent
  // with `Connection: close`: otherwise their keep-alive sockets hold close() open.
  const inFlight = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    inFlight.add(res);
    res.on('close', () => inFlight.delete(res));
    // Nothing here reads a body; draining it keeps keep-alive connections usable.
    req.resume();
    handle(req, res, route).catch((err: unknown) => {
      log.error(errorFields(err), 'request handler failed');
      if (!res.headersSent) send(res, 500, 'internal error\n');
      else res.destroy();
    });
  });
  // Probes and scrapes are tiny; a client that trickles headers is not one of ours.
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  // Without a listener a server error (say EMFILE on accept) would crash the operator.
  server.on('error', (err) => log.error(errorFields(err), 'health server error'));
  // Malformed HTTP: answer 400 and drop the socket instead of letting the error surface.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    log.debug({ code: err.code }, 'bad HTTP request');
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  return {
    server,
    close(graceMs) {
      for (const res of inFlight) res.shouldKeepAlive = false;
      return closeServer(server, graceMs);
    },
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  route: (url: URL) => Route | undefined,
): Promise<void> {
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    send(res, 400, 'bad request URL\n');
    return;
  }
  const target = route(url);
  if (target === undefined) {
    send(res, 404, 'not found\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, 'method not allowed\n', { Allow: 'GET, HEAD' });
    return;
  }
  await target(req, url, res);
}

function probeRoute(endpoint: 'healthz' | 'readyz', checks: CheckFn, timeoutMs: number, log: Logger): Route {
  // Failures are logged when the set of failing checks changes, not on every
  // probe: the kubelet asks every few seconds.
  let lastFailing = '';
  return async (_req, url, res) => {
    const [, single] = url.pathname.split('/').filter((s) => s !== '');
    const excluded = new Set(url.searchParams.getAll('exclude'));
    let results = (await runChecks(checks, timeoutMs)).filter((r) => !excluded.has(r.name));
    if (single !== undefined) {
      results = results.filter((r) => r.name === single);
      if (results.length === 0) {
        send(res, 404, `no such ${endpoint} check "${single}"\n`);
        return;
      }
    } else {
      const failing = results
        .filter((r) => !r.ok)
        .map((r) => r.name)
        .join(',');
      if (failing !== lastFailing) {
        if (failing === '') log.info({ endpoint }, `${endpoint} checks pass again`);
        else log.warn({ endpoint, failing: results.filter((r) => !r.ok) }, `${endpoint} checks failing`);
        lastFailing = failing;
      }
    }
    const ok = results.every((r) => r.ok);
    if (ok && !url.searchParams.has('verbose')) {
      send(res, 200, 'ok');
      return;
    }
    const lines = results.map((r) =>
      r.ok ? `[+]${r.name} ok` : `[-]${r.name} failed: ${r.message ?? 'no reason given'}`,
    );
    lines.push(`${endpoint} check ${ok ? 'passed' : 'failed'}`);
    send(res, ok ? 200 : 500, `${lines.join('\n')}\n`);
  };
}

// A check function that throws or hangs is itself a failed check, reported as such.
async function runChecks(checks: CheckFn, timeoutMs: number): Promise<readonly CheckResult[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`checks did not finish within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([Promise.resolve().then(checks), timeout]);
  } catch (err) {
    const message = errorMessage(err);
    return [{ name: 'checks', ok: false, message }];
  } finally {
    clearTimeout(timer);
  }
}

function metricsRoute(metrics: Pick<Metrics, 'render' | 'contentType'>, log: Logger): Route {
  return async (_req, _url, res) => {
    let body: string;
    try {
      body = await metrics.render();
    } catch (err) {
      log.error(errorFields(err), 'rendering metrics failed');
      send(res, 500, 'rendering metrics failed\n');
      return;
    }
    send(res, 200, body, { 'Content-Type': metrics.contentType });
  };
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  res.end(body);
}

function listen(server: Server, at: ListenAddress): Promise<ListenAddress> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void =>
      reject(new Error(`cannot listen on ${at.host}:${at.port}: ${err.message}`, { cause: err }));
    server.once('error', onError);
    server.listen({ host: at.host, port: at.port }, () => {
      server.off('error', onError);
      const bound = server.address() as AddressInfo;
      resolve({ host: bound.address, port: bound.port });
    });
  });
}

function closeServer(server: Server, graceMs: number): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve, reject) => {
    // In-flight requests get graceMs to finish; then their connections are cut.
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    timer.unref();
    server.close((err) => {
      clearTimeout(timer);
      if (err === undefined) resolve();
      else reject(err);
    });
    server.closeIdleConnections();
  });
}
