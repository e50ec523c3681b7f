import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ResourceRef } from '../../../operator/src/api/constants.ts';
import { KubeClient, type ClientOptions, type Verb } from '../../../operator/src/kube/client.ts';
import {
  ApiError,
  apiErrorKind,
  GoneError,
  isAlreadyExists,
  isNotFound,
} from '../../../operator/src/kube/errors.ts';
import type { Connection, Credentials } from '../../../operator/src/kube/kubeconfig.ts';
import type { KubeObject, Status, WatchEvent } from '../../../operator/src/kube/types.ts';
import { createTestPki, type TestPki } from './support/test-pki.ts';

// --- a local HTTPS "API server" ----------------------------------------------------------------

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** The SNI name the client sent (false when it sent none, as for IP addresses). */
  servername: string | false | null;
  /** CN of the client certificate, when one was presented and verified. */
  clientCN: string | string[] | undefined;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void | Promise<void>;

let pkiDir: string;
let pki: TestPki;
let server: Server;
let base: string;
let handler: Handler;
let seen: Seen[];
let connections: number;

function json(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const ECHO = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'echo' } };
const okHandler: Handler = (_req, res) => json(res, 200, ECHO);

function startServer(host: string): Promise<Server> {
  const s = createHttpsServer(
    {
      key: pki.serverKey,
      cert: pki.serverCert,
      ca: pki.ca,
      requestCert: true, // client certificates are optional (rejectUnauthorized: false) but checked
      rejectUnauthorized: false,
    },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const socket = req.socket as TLSSocket;
        const peer = socket.authorized ? socket.getPeerCertificate() : undefined;
        seen.push({
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body,
          servername: socket.servername,
          clientCN: peer?.subject?.CN,
        });
        void handler(req, res, body);
      });
    },
  );
  s.on('connection', () => connections++);
  return new Promise((resolve) => s.listen(0, host, () => resolve(s)));
}

function closeServer(s: Server): Promise<void> {
  s.closeAllConnections();
  return new Promise((resolve) => s.close(() => resolve()));
}

beforeAll(async () => {
  pkiDir = mkdtempSync(join(tmpdir(), 'paddock-client-pki-'));
  pki = createTestPki(pkiDir);
  server = await startServer('127.0.0.1');
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await closeServer(server);
  rmSync(pkiDir, { recursive: true, force: true });
});

const clients: KubeClient[] = [];
beforeEach(() => {
  handler = okHandler;
  seen = [];
  connections = 0;
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  server.closeAllConnections();
});

function connection(over: Partial<Connection> = {}): Connection {
  return {
    server: base,
    ca: pki.ca,
    insecureSkipTLSVerify: false,
    credentials: () => Promise.resolve({ token: 'tok-1' }),
    source: 'test',
    ...over,
  };
}

function client(over: Partial<Connection> = {}, opts: ClientOptions = {}): KubeClient {
  const c = new KubeClient(connection(over), opts);
  clients.push(c);
  return c;
}

function only(): Seen {
  expect(seen).toHaveLength(1);
  return seen[0] as Seen;
}

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(Error);
    return err as Error;
  }
  throw new Error('expected the promise to reject');
}

async function apiError(p: Promise<unknown>): Promise<ApiError> {
  const err = await failure(p);
  expect(err).toBeInstanceOf(ApiError);
  return err as ApiError;
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// --- resources ---------------------------------------------------------------------------------

const POD: ResourceRef = { group: '', version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true };
const NODE: ResourceRef = { group: '', version: 'v1', kind: 'Node', plural: 'nodes', namespaced: false };
const WIDGET: ResourceRef = {
  group: 'example.com',
  version: 'v1',
  kind: 'Widget',
  plural: 'widgets',
  namespaced: true,
};
const CLUSTER_ROLE: ResourceRef = {
  group: 'rbac.authorization.k8s.io',
  version: 'v1',
  kind: 'ClusterRole',
  plural: 'clusterroles',
  namespaced: false,
};

interface Widget extends KubeObject {
  spec?: { size?: number };
}
const W1: Widget = {
  apiVersion: 'example.com/v1',
  kind: 'Widget',
  metadata: { name: 'w1', namespace: 'team-a' },
  spec: { size: 3 },
};
const W1_PATH = '/apis/example.com/v1/namespaces/team-a/widgets/w1';

// --- requests ----------------------------------------------------------------------------------

describe('KubeClient requests', () => {
  it('sends the bearer token, accept and user-agent headers', async () => {
    const result = await client().get<Widget>(WIDGET, 'team-a', 'w1');
    expect(result).toEqual(ECHO);
    const { headers } = only();
    expect(headers['authorization']).toBe('Bearer tok-1');
    expect(headers['accept']).toBe('application/json');
    expect(headers['user-agent']).toBe('paddock-operator');
  });

  it('uses a custom user-agent', async () => {
    await client({}, { userAgent: 'paddock/1.2.3 (test)' }).get(POD, 'ns', 'p');
    expect(only().headers['user-agent']).toBe('paddock/1.2.3 (test)');
  });

  it('asks for credentials on every request, so a rotated token is used at once', async () => {
    let n = 0;
    const c = client({ credentials: () => Promise.resolve({ token: `tok-${++n}` }) });
    await c.get(POD, 'ns', 'p');
    await c.get(POD, 'ns', 'p');
    expect(seen.map((s) => s.headers['authorization'])).toEqual(['Bearer tok-1', 'Bearer tok-2']);
  });

  it('sends no authorization header without a token', async () => {
    await client({ credentials: () => Promise.resolve({}) }).get(POD, 'ns', 'p');
    expect(only().headers['authorization']).toBeUndefined();
  });

  interface Case {
    name: string;
    call: (c: KubeClient) => Promise<unknown>;
    method: string;
    path: string;
    query?: Record<string, string>;
    contentType?: string;
    body?: unknown;
  }
  const cases: Case[] = [
    {
      name: 'get, core group, namespaced',
      call: (c) => c.get(POD, 'team-a', 'web-0'),
      method: 'GET',
      path: '/api/v1/namespaces/team-a/pods/web-0',
    },
    {
      name: 'get, core group, cluster-scoped (namespace ignored)',
      call: (c) => c.get(NODE, 'ignored', 'node-1'),
      method: 'GET',
      path: '/api/v1/nodes/node-1',
    },
    {
      name: 'get, named group, cluster-scoped',
      call: (c) => c.get(CLUSTER_ROLE, undefined, 'admin'),
      method: 'GET',
      path: '/apis/rbac.authorization.k8s.io/v1/clusterroles/admin',
    },
    {
      name: 'get, a name that needs escaping',
      call: (c) => c.get(WIDGET, 'team a', 'w/1 x'),
      method: 'GET',
      path: '/apis/example.com/v1/namespaces/team%20a/widgets/w%2F1%20x',
    },
    {
      name: 'list with selectors and paging',
      call: (c) =>
        c.list(WIDGET, 'team-a', {
          labelSelector: 'app=x,tier in (a,b)',
          fieldSelector: 'metadata.name=w1',
          limit: 50,
          continue: 'next-page',
          resourceVersion: '',
        }),
      method: 'GET',
      path: '/apis/example.com/v1/namespaces/team-a/widgets',
      query: {
        labelSelector: 'app=x,tier in (a,b)',
        fieldSelector: 'metadata.name=w1',
        limit: '50',
        continue: 'next-page',
      },
    },
    {
      name: 'list across all namespaces',
      call: (c) => c.list(WIDGET, undefined, { resourceVersion: '0', resourceVersionMatch: 'NotOlderThan' }),
      method: 'GET',
      path: '/apis/example.com/v1/widgets',
      query: { resourceVersion: '0', resourceVersionMatch: 'NotOlderThan' },
    },
    {
      name: 'create',
      call: (c) => c.create(WIDGET, W1),
      method: 'POST',
      path: '/apis/example.com/v1/namespaces/team-a/widgets',
      contentType: 'application/json',
      body: W1,
    },
    {
      name: 'create, dry run',
      call: (c) => c.create(POD, { metadata: { name: 'p', namespace: 'ns' } }, { dryRun: true }),
      method: 'POST',
      path: '/api/v1/namespaces/ns/pods',
      query: { dryRun: 'All' },
      contentType: 'application/json',
      body: { metadata: { name: 'p', namespace: 'ns' } },
    },
    {
      name: 'update',
      call: (c) => c.update(WIDGET, W1),
      method: 'PUT',
      path: W1_PATH,
      contentType: 'application/json',
      body: W1,
    },
    {
      name: 'update of the status subresource',
      call: (c) => c.update(WIDGET, W1, 'status'),
      method: 'PUT',
      path: `${W1_PATH}/status`,
      contentType: 'application/json',
      body: W1,
    },
    {
      name: 'patch, merge by default',
      call: (c) => c.patch(WIDGET, 'team-a', 'w1', { spec: { size: 4 } }),
      method: 'PATCH',
      path: W1_PATH,
      contentType: 'application/merge-patch+json',
      body: { spec: { size: 4 } },
    },
    {
      name: 'patch, JSON patch on status with a field manager',
      call: (c) =>
        c.patch(WIDGET, 'team-a', 'w1', [{ op: 'remove', path: '/status/x' }], 'json', {
          fieldManager: 'paddock',
          subresource: 'status',
        }),
      method: 'PATCH',
      path: `${W1_PATH}/status`,
      query: { fieldManager: 'paddock' },
      contentType: 'application/json-patch+json',
      body: [{ op: 'remove', path: '/status/x' }],
    },
    {
      name: 'patch, strategic merge',
      call: (c) => c.patch(POD, 'ns', 'p', { metadata: { labels: { a: 'b' } } }, 'strategic'),
      method: 'PATCH',
      path: '/api/v1/namespaces/ns/pods/p',
      contentType: 'application/strategic-merge-patch+json',
      body: { metadata: { labels: { a: 'b' } } },
    },
    {
      name: 'apply with force',
      call: (c) => c.apply(WIDGET, W1, { fieldManager: 'paddock', force: true }),
      method: 'PATCH',
      path: W1_PATH,
      query: { fieldManager: 'paddock', force: 'true' },
      contentType: 'application/apply-patch+yaml',
      body: W1,
    },
    {
      name: 'apply to the status subresource, dry run, not forced',
      call: (c) =>
        c.apply(WIDGET, W1, { fieldManager: 'paddock-status', subresource: 'status', dryRun: true }),
      method: 'PATCH',
      path: `${W1_PATH}/status`,
      query: { fieldManager: 'paddock-status', dryRun: 'All' },
      contentType: 'application/apply-patch+yaml',
      body: W1,
    },
    {
      name: 'delete with propagation policy, grace period and preconditions',
      call: (c) =>
        c.delete(WIDGET, 'team-a', 'w1', {
          propagationPolicy: 'Background',
          gracePeriodSeconds: 0,
          preconditions: { uid: 'uid-1' },
        }),
      method: 'DELETE',
      path: W1_PATH,
      contentType: 'application/json',
      body: {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        propagationPolicy: 'Background',
        gracePeriodSeconds: 0,
        preconditions: { uid: 'uid-1' },
      },
    },
    {
      name: 'delete with defaults',
      call: (c) => c.delete(NODE, undefined, 'node-1'),
      method: 'DELETE',
      path: '/api/v1/nodes/node-1',
      contentType: 'application/json',
      body: { apiVersion: 'v1', kind: 'DeleteOptions' },
    },
    {
      name: 'raw GET',
      call: (c) => c.raw('GET', '/version'),
      method: 'GET',
      path: '/version',
    },
    {
      name: 'raw POST',
      call: (c) => c.raw('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', { kind: 'X' }),
      method: 'POST',
      path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      contentType: 'application/json',
      body: { kind: 'X' },
    },
  ];

  it.each(cases)('$name', async ({ call, method, path, query, contentType, body }) => {
    const result = await call(client());
    const s = only();
    const url = new URL(s.url, 'https://x');
    expect(s.method).toBe(method);
    expect(url.pathname).toBe(path);
    expect(Object.fromEntries(url.searchParams)).toEqual(query ?? {});
    if (!query) expect(s.url).not.toContain('?');
    expect(s.headers['content-type']).toBe(contentType);
    if (body === undefined) expect(s.body).toBe('');
    else {
      expect(JSON.parse(s.body)).toEqual(body);
      expect(s.headers['content-length']).toBe(String(Buffer.byteLength(s.body)));
    }
    if (method !== 'DELETE') expect(result).toEqual(ECHO);
  });

  it('keeps a path prefix in the server URL', async () => {
    await client({ server: `${base}/k8s/clusters/c-1` }).get(POD, 'ns', 'p');
    expect(only().url).toBe('/k8s/clusters/c-1/api/v1/namespaces/ns/pods/p');
  });

  it('returns {} for a 2xx response without a body', async () => {
    handler = (_req, res) => {
      res.writeHead(200);
      res.end();
    };
    expect(await client().raw('GET', '/healthz')).toEqual({});
  });
});

// --- errors ------------------------------------------------------------------------------------

describe('KubeClient errors', () => {
  const notFound: Status = {
    kind: 'Status',
    status: 'Failure',
    message: 'widgets.example.com "w1" not found',
    reason: 'NotFound',
    code: 404,
    details: { name: 'w1', kind: 'widgets' },
  };

  it('maps an error status to an ApiError carrying the Status body', async () => {
    handler = (_req, res) => json(res, 404, notFound);
    const err = await apiError(client().get(WIDGET, 'team-a', 'w1'));
    expect(err.status).toBe(404);
    expect(err.reason).toBe('NotFound');
    expect(err.body).toEqual(notFound);
    expect(err.verb).toBe('GET');
    expect(err.path).toBe(W1_PATH);
    expect(err.message).toBe(`GET ${W1_PATH}: 404 NotFound widgets.example.com "w1" not found`);
    expect(err.message).not.toContain('tok-1');
    expect(isNotFound(err)).toBe(true);
  });

  it('keeps the reason that tells a conflict from an existing object', async () => {
    handler = (_req, res) =>
      json(res, 409, { kind: 'Status', reason: 'AlreadyExists', message: 'exists', code: 409 });
    const err = await apiError(client().create(WIDGET, W1, { dryRun: true }));
    expect(err.status).toBe(409);
    expect(err.path).toBe('/apis/example.com/v1/namespaces/team-a/widgets'); // without the query
    expect(isAlreadyExists(err)).toBe(true);
  });

  it('keeps a non-JSON error body as the message', async () => {
    handler = (_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html>bad gateway</html>');
    };
    const err = await apiError(client().list(POD, 'ns'));
    expect(err.status).toBe(502);
    expect(err.reason).toBe('');
    expect(err.body).toEqual({ message: '<html>bad gateway</html>' });
    expect(err.message).toContain('<html>bad gateway</html>');
  });

  it('an error without a body has no Status', async () => {
    handler = (_req, res) => {
      res.writeHead(503);
      res.end();
    };
    const err = await apiError(client().get(POD, 'ns', 'p'));
    expect(err.status).toBe(503);
    expect(err.body).toBeUndefined();
  });

  it('a refused connection is an ApiError with status 0', async () => {
    const port = await closedPort();
    const err = await apiError(client({ server: `https://127.0.0.1:${port}` }).get(POD, 'ns', 'p'));
    expect(err.status).toBe(0);
    expect(err.reason).toBe('ConnectionError');
    expect(err.message).toContain('ECONNREFUSED');
    // The socket error is kept as the cause: it tells a refusal from a timeout.
    expect((err.cause as { code?: string } | undefined)?.code).toBe('ECONNREFUSED');
    expect(apiErrorKind(err)).toBe('network');
  });

  it('a request that gets no answer times out as an ApiError with status 0', async () => {
    handler = () => undefined; // never answers
    const started = performance.now();
    const err = await apiError(client({}, { requestTimeoutMs: 150 }).get(POD, 'ns', 'p'));
    const elapsed = performance.now() - started;
    expect(err.status).toBe(0);
    expect(err.reason).toBe('ConnectionError');
    expect(err.message).toContain('request timed out after 150 ms');
    expect(apiErrorKind(err)).toBe('timeout');
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(2_000);
  });

  it('a response body that stalls also times out', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"kind":');
    };
    const err = await apiError(client({}, { requestTimeoutMs: 150 }).get(POD, 'ns', 'p'));
    expect(err.status).toBe(0);
  });

  it('a failing credential source fails the request without reaching the server', async () => {
    const c = client({ credentials: () => Promise.reject(new Error('exec plugin "aws" failed')) });
    const err = await apiError(c.get(POD, 'ns', 'p'));
    expect(err.status).toBe(0);
    expect(err.message).toContain('exec plugin "aws" failed');
    expect(seen).toHaveLength(0);
  });
});

// --- watch -------------------------------------------------------------------------------------

function line(type: string, object: unknown): string {
  return `${JSON.stringify({ type, object })}\n`;
}

/** Writes the chunks with a pause between them, so the client receives them separately. */
async function stream(res: ServerResponse, chunks: Array<string | Buffer>, end = true): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
  for (const c of chunks) {
    await sleep(15);
    if (res.destroyed) return;
    res.write(c);
  }
  if (end) res.end();
}

async function collect<T extends KubeObject>(
  events: AsyncGenerator<WatchEvent<T>, void, undefined>,
): Promise<{ events: Array<WatchEvent<T>>; error?: Error }> {
  const out: Array<WatchEvent<T>> = [];
  try {
    for await (const ev of events) out.push(ev);
  } catch (err) {
    return { events: out, error: err as Error };
  }
  return { events: out };
}

const obj = (name: string, rv: string): Widget => ({
  metadata: { name, namespace: 'team-a', resourceVersion: rv },
});

describe('KubeClient.watch', () => {
  it('sends the watch query, with bookmarks by default', async () => {
    handler = (_req, res) => void stream(res, []);
    await collect(
      client().watch(WIDGET, 'team-a', {
        resourceVersion: '42',
        labelSelector: 'app=x',
        fieldSelector: 'metadata.name=w1',
        timeoutSeconds: 300,
      }),
    );
    const s = only();
    const url = new URL(s.url, 'https://x');
    expect(s.method).toBe('GET');
    expect(url.pathname).toBe('/apis/example.com/v1/namespaces/team-a/widgets');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      watch: 'true',
      resourceVersion: '42',
      labelSelector: 'app=x',
      fieldSelector: 'metadata.name=w1',
      timeoutSeconds: '300',
      allowWatchBookmarks: 'true',
    });
    expect(s.headers['authorization']).toBe('Bearer tok-1');
  });

  it('can turn bookmarks off; watches all namespaces without a namespace', async () => {
    handler = (_req, res) => void stream(res, []);
    await collect(client().watch(POD, undefined, { allowWatchBookmarks: false }));
    expect(only().url).toBe('/api/v1/pods?watch=true');
  });

  it('parses events split across chunks (also inside a UTF-8 character) and skips blank lines', async () => {
    const text =
      line('ADDED', obj('café-1', '1')) +
      '\n' +
      line('MODIFIED', obj('café-1', '2')) +
      line('BOOKMARK', { metadata: { resourceVersion: '3' } }) +
      line('DELETED', obj('café-1', '4'));
    const bytes = Buffer.from(text, 'utf8');
    const e = bytes.indexOf(Buffer.from('é')); // first byte of the two-byte "é"
    const cuts = [10, e + 1, bytes.indexOf('\n') + 1, bytes.indexOf('BOOKMARK'), bytes.length - 3];
    const chunks: Buffer[] = [];
    let from = 0;
    for (const cut of cuts) {
      chunks.push(bytes.subarray(from, cut));
      from = cut;
    }
    chunks.push(bytes.subarray(from));
    expect(chunks.map((c) => c.length).every((n) => n > 0)).toBe(true);
    handler = (_req, res) => void stream(res, chunks);

    const { events, error } = await collect(client().watch<Widget>(WIDGET, 'team-a'));
    expect(error).toBeUndefined();
    expect(events).toEqual([
      { type: 'ADDED', object: obj('café-1', '1') },
      { type: 'MODIFIED', object: obj('café-1', '2') },
      { type: 'BOOKMARK', object: { metadata: { resourceVersion: '3' } } },
      { type: 'DELETED', object: obj('café-1', '4') },
    ]);
  });

  it('calls onOpen once the server accepts the watch, before any event', async () => {
    const order: string[] = [];
    let opened!: () => void;
    const openedP = new Promise<void>((resolve) => (opened = resolve));
    handler = async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      await openedP; // the first event only after onOpen ran
      res.end(line('ADDED', obj('a', '1')));
    };
    const events = client().watch<Widget>(WIDGET, 'team-a', {
      onOpen: () => {
        order.push('open');
        opened();
      },
    });
    for await (const ev of events) order.push(ev.type);
    expect(order).toEqual(['open', 'ADDED']);
  });

  it('an ERROR event with code 410 is a GoneError, after the events before it', async () => {
    handler = (_req, res) =>
      void stream(res, [
        line('ADDED', obj('a', '1')),
        line('ERROR', {
          kind: 'Status',
          code: 410,
          reason: 'Expired',
          message: 'too old resource version: 1 (5)',
        }),
        line('ADDED', obj('never', '9')),
      ]);
    const { events, error } = await collect(client().watch<Widget>(WIDGET, 'team-a'));
    expect(events.map((e) => e.type)).toEqual(['ADDED']);
    expect(error).toBeInstanceOf(GoneError);
    expect(error?.message).toContain('too old resource version: 1 (5)');
  });

  it('another ERROR event is an ApiError with its code and reason', async () => {
    handler = (_req, res) =>
      void stream(res, [
        line('ERROR', { kind: 'Status', code: 500, reason: 'InternalError', message: 'etcd is sad' }),
      ]);
    const { events, error } = await collect(client().watch<Widget>(WIDGET, 'team-a'));
    expect(events).toEqual([]);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).not.toBeInstanceOf(GoneError);
    expect((error as ApiError).status).toBe(500);
    expect((error as ApiError).reason).toBe('InternalError');
    expect(error?.message).toContain('etcd is sad');
  });

  it('HTTP 410 is a GoneError, and onOpen is not called', async () => {
    handler = (_req, res) => json(res, 410, { kind: 'Status', code: 410, reason: 'Gone' });
    let opened = false;
    const { error } = await collect(client().watch(WIDGET, 'team-a', { onOpen: () => (opened = true) }));
    expect(error).toBeInstanceOf(GoneError);
    expect(opened).toBe(false);
  });

  it('another HTTP error is an ApiError with the Status, and onOpen is not called', async () => {
    handler = (_req, res) =>
      json(res, 403, { kind: 'Status', code: 403, reason: 'Forbidden', message: 'cannot watch widgets' });
    let opened = false;
    const { error } = await collect(client().watch(WIDGET, 'team-a', { onOpen: () => (opened = true) }));
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(403);
    expect((error as ApiError).reason).toBe('Forbidden');
    expect((error as ApiError).verb).toBe('WATCH');
    expect(opened).toBe(false);
  });

  it('ends when the server closes the stream', async () => {
    handler = (_req, res) => void stream(res, [line('ADDED', obj('a', '1'))]);
    const { events, error } = await collect(client().watch<Widget>(WIDGET, 'team-a'));
    expect(events).toHaveLength(1);
    expect(error).toBeUndefined();
  });

  it('is not cut off by the request timeout', async () => {
    handler = async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(line('ADDED', obj('a', '1')));
      await sleep(400);
      res.end(line('MODIFIED', obj('a', '2')));
    };
    const { events, error } = await collect(
      client({}, { requestTimeoutMs: 100 }).watch<Widget>(WIDGET, 'team-a'),
    );
    expect(error).toBeUndefined();
    expect(events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED']);
  });

  it('aborting the signal ends an open watch and closes its connection', async () => {
    let serverSawClose!: () => void;
    const closed = new Promise<void>((resolve) => (serverSawClose = resolve));
    handler = (req, res) => {
      req.socket.on('close', () => serverSawClose());
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(line('ADDED', obj('a', '1'))); // and then silence, never ending
    };
    const abort = new AbortController();
    const received: string[] = [];
    const done = (async () => {
      for await (const ev of client().watch<Widget>(WIDGET, 'team-a', { signal: abort.signal })) {
        received.push(ev.type);
        abort.abort();
      }
    })();
    await done.catch(() => undefined); // ends (an error is fine: the caller asked for it)
    expect(received).toEqual(['ADDED']);
    await closed;
  });

  it('aborting before the server answers ends the watch too', async () => {
    handler = () => undefined; // never answers
    const abort = new AbortController();
    const events = client().watch(WIDGET, 'team-a', { signal: abort.signal });
    setTimeout(() => abort.abort(), 50);
    const err = await failure(events.next());
    expect(err.name).toBe('AbortError');
  });
});

// --- connections and TLS -----------------------------------------------------------------------

describe('KubeClient connections', () => {
  it('reuses one keep-alive connection for sequential requests', async () => {
    const c = client();
    await c.get(POD, 'ns', 'p');
    await c.list(POD, 'ns');
    await c.create(WIDGET, W1);
    await c.patch(WIDGET, 'team-a', 'w1', { spec: {} });
    await c.apply(WIDGET, W1, { fieldManager: 'paddock' });
    await c.delete(WIDGET, 'team-a', 'w1');
    handler = (_req, res) => json(res, 404, { reason: 'NotFound' });
    await expect(c.get(POD, 'ns', 'gone')).rejects.toThrow(ApiError); // an error response keeps it too
    handler = okHandler;
    await c.get(POD, 'ns', 'p');
    expect(seen).toHaveLength(8);
    expect(connections).toBe(1);
  });

  it('close() drops pooled connections; the client reconnects when used again', async () => {
    const c = client();
    await c.get(POD, 'ns', 'p');
    c.close();
    await c.get(POD, 'ns', 'p');
    expect(connections).toBe(2);
  });

  it('rejects a server whose certificate the configured CA did not sign', async () => {
    const err = await apiError(client({ ca: pki.otherCa }).get(POD, 'ns', 'p'));
    expect(err.status).toBe(0);
    expect(err.message).toMatch(
      /self-signed certificate in certificate chain|unable to (get local issuer|verify the first) certificate/,
    );
    expect(seen).toHaveLength(0);
  });

  it('rejects the private CA when no CA is configured (system roots only)', async () => {
    const { ca: _ca, ...noCa } = connection();
    const c = new KubeClient(noCa);
    clients.push(c);
    await expect(c.get(POD, 'ns', 'p')).rejects.toThrow(/certificate/);
    expect(seen).toHaveLength(0);
  });

  it('insecureSkipTLSVerify accepts a certificate no trusted CA signed', async () => {
    await client({ ca: pki.otherCa, insecureSkipTLSVerify: true }).get(POD, 'ns', 'p');
    expect(only().method).toBe('GET');
  });

  it('sends no SNI for an IP address, and tls-server-name as SNI and for verification', async () => {
    await client().get(POD, 'ns', 'p');
    await client({ tlsServerName: 'localhost' }).get(POD, 'ns', 'p');
    expect(seen.map((s) => s.servername)).toEqual([false, 'localhost']);
    const err = await apiError(client({ tlsServerName: 'wrong.example' }).get(POD, 'ns', 'p'));
    expect(err.status).toBe(0);
    expect(err.message).toContain("Host: wrong.example. is not in the cert's altnames");
  });

  it('presents the kubeconfig client certificate', async () => {
    await client({ cert: pki.clientCert, key: pki.clientKey }).get(POD, 'ns', 'p');
    expect(only().clientCN).toBe('paddock-test-client');
  });

  it('presents a client certificate from the credential source, reconnecting when it appears', async () => {
    let creds: Credentials = { token: 'tok-1' };
    const c = client({ credentials: () => Promise.resolve(creds) });
    await c.get(POD, 'ns', 'p');
    creds = { cert: pki.clientCert, key: pki.clientKey };
    await c.get(POD, 'ns', 'p');
    await c.get(POD, 'ns', 'p');
    expect(seen.map((s) => s.clientCN)).toEqual([undefined, 'paddock-test-client', 'paddock-test-client']);
    expect(seen.map((s) => s.headers['authorization'])).toEqual(['Bearer tok-1', undefined, undefined]);
    expect(connections).toBe(2); // one new connection for the new certificate, then reused
  });

  it('talks to an IPv6 server', async () => {
    const v6 = await startServer('::1');
    try {
      const port = (v6.address() as AddressInfo).port;
      const result = await client({ server: `https://[::1]:${port}` }).get(POD, 'ns', 'p');
      expect(result).toEqual(ECHO);
      expect(only().url).toBe('/api/v1/namespaces/ns/pods/p');
    } finally {
      for (const c of clients.splice(0)) c.close();
      await closeServer(v6);
    }
  });
});

// --- observer ----------------------------------------------------------------------------------

describe('KubeClient observer', () => {
  it('reports verb, resource and status code of each request', async () => {
    const calls: Array<[Verb, string, number, number]> = [];
    const c = client(
      {},
      { observe: (verb, resource, code, seconds) => calls.push([verb, resource, code, seconds]) },
    );
    await c.get(POD, 'ns', 'p');
    await c.list(WIDGET, 'team-a');
    await c.apply(WIDGET, W1, { fieldManager: 'paddock' });
    await c.raw('GET', '/version');
    handler = (_req, res) => json(res, 404, { reason: 'NotFound' });
    await expect(c.delete(WIDGET, 'team-a', 'w1')).rejects.toThrow(ApiError);
    handler = (_req, res) => void stream(res, []);
    await collect(c.watch(WIDGET, 'team-a'));
    handler = (_req, res) => json(res, 410, { reason: 'Gone' });
    await collect(c.watch(POD, 'ns'));

    expect(calls.map(([verb, resource, code]) => [verb, resource, code])).toEqual([
      ['get', 'pods', 200],
      ['list', 'widgets', 200],
      ['apply', 'widgets', 200],
      ['get', 'raw', 200],
      ['delete', 'widgets', 404],
      ['watch', 'widgets', 200],
      ['watch', 'pods', 410],
    ]);
    for (const [, , , seconds] of calls) {
      expect(seconds).toBeGreaterThanOrEqual(0);
      expect(seconds).toBeLessThan(5);
    }
  });

  it('reports code 0 for a request that never got an answer', async () => {
    const calls: Array<[Verb, string, number]> = [];
    const port = await closedPort();
    const c = client(
      { server: `https://127.0.0.1:${port}` },
      { observe: (verb, resource, code) => calls.push([verb, resource, code]) },
    );
    await expect(c.create(WIDGET, W1)).rejects.toThrow(ApiError);
    expect(calls).toEqual([['create', 'widgets', 0]]);
  });
});
