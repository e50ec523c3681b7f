// A thin REST client for the Kubernetes API: JSON over node:https with a
// keep-alive connection pool. Every verb the operator uses — including
// server-side apply on the status subresource and streaming watches — is one
// small, typed function, with no per-resource generated client. Where the
// server is and how to authenticate come from ./kubeconfig.ts.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { ResourceRef } from '../api/constants.ts';
import { ApiError, GoneError } from './errors.ts';
import { loadConnection, type Connection, type Credentials } from './kubeconfig.ts';
import type { KubeList, KubeObject, Status, WatchEvent } from './types.ts';
import { errorMessage } from '../util/errors.ts';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'apply' | 'delete';

export interface RequestObserver {
  (verb: Verb, resource: string, code: number, seconds: number): void;
}

export interface ClientOptions {
  readonly userAgent?: string;
  /** Timeout for non-watch requests. */
  readonly requestTimeoutMs?: number;
  readonly observe?: RequestObserver;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  resourceVersionMatch?: 'NotOlderThan' | 'Exact';
  limit?: number;
  continue?: string;
}

export interface WatchOptions {
  resourceVersion?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Server-side timeout; the server closes the watch after this long. */
  timeoutSeconds?: number;
  allowWatchBookmarks?: boolean;
  signal?: AbortSignal;
  /** Called once the server has accepted the watch (HTTP 200), before any event. */
  onOpen?: () => void;
}

export interface ApplyOptions {
  fieldManager: string;
  force?: boolean;
  subresource?: 'status';
  dryRun?: boolean;
}

export interface DeleteOptions {
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

type PatchType = 'merge' | 'json' | 'strategic';
const PATCH_CONTENT_TYPE: Record<PatchType | 'apply', string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

type Pool = 'requests' | 'watches';
const POOLS: readonly Pool[] = ['requests', 'watches'];

export class KubeClient {
  readonly connection: Connection;
  readonly server: string;
  private readonly url: URL;
  private readonly opts: Required<Omit<ClientOptions, 'observe'>> & Pick<ClientOptions, 'observe'>;
  /** Short requests and long-lived watches use separate pools (see agentFor). */
  private readonly agents: Partial<Record<Pool, HttpAgent>> = {};
  private agentCert: Buffer | undefined;

  constructor(connection: Connection, opts: ClientOptions = {}) {
    this.connection = connection;
    this.server = connection.server;
    this.url = new URL(connection.server);
    this.opts = {
      userAgent: opts.userAgent ?? 'paddock-operator',
      requestTimeoutMs: opts.requestTimeoutMs ?? 30_000,
      observe: opts.observe,
    };
  }

  /** Loads a kubeconfig file, or the default chain (KUBECONFIG, ~/.kube/config, in-cluster). */
  static load(kubeconfigPath: string | undefined, opts: ClientOptions = {}): KubeClient {
    return new KubeClient(loadConnection(kubeconfigPath), opts);
  }

  /** Closes pooled connections (tests and shutdown). */
  close(): void {
    for (const pool of POOLS) {
      this.agents[pool]?.destroy();
      delete this.agents[pool];
    }
  }

  /** The URL path of a resource collection, an object, or one of its subresources. */
  path(ref: ResourceRef, namespace?: string, name?: string, subresource?: string): string {
    const base = ref.group === '' ? `/api/${ref.version}` : `/apis/${ref.group}/${ref.version}`;
    const ns = ref.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
    const obj = name ? `/${encodeURIComponent(name)}` : '';
    const sub = name && subresource ? `/${subresource}` : '';
    return `${base}${ns}/${ref.plural}${obj}${sub}`;
  }

  async get<T extends KubeObject>(ref: ResourceRef, namespace: string | undefined, name: string): Promise<T> {
    return this.request<T>('get', ref, 'GET', this.path(ref, namespace, name));
  }

  async list<T extends KubeObject>(
    ref: ResourceRef,
    namespace: string | undefined,
    opts: ListOptions = {},
  ): Promise<KubeList<T>> {
    return this.request<KubeList<T>>('list', ref, 'GET', this.path(ref, namespace), { query: toQuery(opts) });
  }

  async create<T extends KubeObject>(ref: ResourceRef, obj: T, opts: { dryRun?: boolean } = {}): Promise<T> {
    return this.request<T>('create', ref, 'POST', this.path(ref, obj.metadata.namespace), {
      body: obj,
      query: opts.dryRun ? { dryRun: 'All' } : {},
    });
  }

  async update<T extends KubeObject>(ref: ResourceRef, obj: T, subresource?: 'status'): Promise<T> {
    const { namespace, name } = obj.metadata;
    return this.request<T>('update', ref, 'PUT', this.path(ref, namespace, requireName(name), subresource), {
      body: obj,
    });
  }

  async patch<T extends KubeObject>(
    ref: ResourceRef,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    type: PatchType = 'merge',
    opts: { fieldManager?: string; subresource?: 'status' } = {},
  ): Promise<T> {
    return this.request<T>('patch', ref, 'PATCH', this.path(ref, namespace, name, opts.subresource), {
      body: patch,
      contentType: PATCH_CONTENT_TYPE[type],
      query: opts.fieldManager ? { fieldManager: opts.fieldManager } : {},
    });
  }

  /**
   * Server-side apply. The object carries only the fields this manager owns;
   * fields it stops sending are removed if no other manager owns them.
   */
  async apply<T extends KubeObject>(ref: ResourceRef, obj: KubeObject, opts: ApplyOptions): Promise<T> {
    const { namespace, name } = obj.metadata;
    const query: Record<string, string> = { fieldManager: opts.fieldManager };
    if (opts.force) query['force'] = 'true';
    if (opts.dryRun) query['dryRun'] = 'All';
    return this.request<T>(
      'apply',
      ref,
      'PATCH',
      this.path(ref, namespace, requireName(name), opts.subresource),
      {
        body: obj,
        contentType: PATCH_CONTENT_TYPE.apply,
        query,
      },
    );
  }

  async delete(
    ref: ResourceRef,
    namespace: string | undefined,
    name: string,
    opts: DeleteOptions = {},
  ): Promise<void> {
    const body: Record<string, unknown> = { apiVersion: 'v1', kind: 'DeleteOptions' };
    if (opts.propagationPolicy) body['propagationPolicy'] = opts.propagationPolicy;
    if (opts.gracePeriodSeconds !== undefined) body['gracePeriodSeconds'] = opts.gracePeriodSeconds;
    if (opts.preconditions) body['preconditions'] = opts.preconditions;
    await this.request<Status>('delete', ref, 'DELETE', this.path(ref, namespace, name), { body });
  }

  /**
   * Opens a watch and yields its events until the server closes it, the signal
   * aborts, or an error arrives. A 410 (in the HTTP status or as an ERROR event)
   * becomes a GoneError so the caller relists.
   */
  async *watch<T extends KubeObject>(
    ref: ResourceRef,
    namespace: string | undefined,
    opts: WatchOptions = {},
  ): AsyncGenerator<WatchEvent<T>, void, undefined> {
    const query: Record<string, string> = { watch: 'true' };
    if (opts.resourceVersion) query['resourceVersion'] = opts.resourceVersion;
    if (opts.labelSelector) query['labelSelector'] = opts.labelSelector;
    if (opts.fieldSelector) query['fieldSelector'] = opts.fieldSelector;
    if (opts.timeoutSeconds) query['timeoutSeconds'] = String(opts.timeoutSeconds);
    if (opts.allowWatchBookmarks ?? true) query['allowWatchBookmarks'] = 'true';
    const path = this.path(ref, namespace);
    const started = performance.now();
    const res = await this.open(
      'GET',
      `${path}?${new URLSearchParams(query).toString()}`,
      undefined,
      undefined,
      {
        ...(opts.signal ? { signal: opts.signal } : {}),
        timeoutMs: 0,
        pool: 'watches',
      },
    );
    this.observe('watch', ref, res.statusCode ?? 0, started);
    if (res.statusCode === 410) {
      res.resume();
      throw new GoneError(`watch ${path}: 410 Gone`);
    }
    if (res.statusCode !== 200) {
      throw new ApiError('WATCH', path, res.statusCode ?? 0, parseStatus(await readBody(res)));
    }
    opts.onOpen?.();
    res.setEncoding('utf8');
    let buf = '';
    try {
      for await (const chunk of res) {
        buf = buf ? buf + (chunk as string) : (chunk as string);
        // One pass over the chunk: slicing the rest of the buffer after every line would copy
        // it once per event (quadratic in the events per chunk).
        let start = 0;
        let nl: number;
        while ((nl = buf.indexOf('\n', start)) >= 0) {
          const line = buf.slice(start, nl);
          start = nl + 1;
          if (!line.trim()) continue;
          const ev = JSON.parse(line) as { type: WatchEvent<T>['type']; object: unknown };
          if (ev.type === 'ERROR') {
            const st = ev.object as Status;
            if (st.code === 410) throw new GoneError(`watch ${path}: ${st.message ?? '410 Gone'}`);
            throw new ApiError('WATCH', path, st.code ?? 500, st);
          }
          yield { type: ev.type, object: ev.object as T };
        }
        buf = start < buf.length ? buf.slice(start) : '';
      }
    } finally {
      res.destroy();
    }
    if (opts.signal?.aborted) throw new ApiError('WATCH', path, 0, { message: 'aborted', reason: 'Aborted' });
  }

  /** A raw request against any path (discovery, SelfSubjectReview, ...). */
  async raw<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    return this.send<T>(method, path, 'raw', 'get', { body, contentType });
  }

  private async request<T>(
    verb: Verb,
    ref: ResourceRef,
    method: string,
    path: string,
    o: { body?: unknown; contentType?: string; query?: Record<string, string> } = {},
  ): Promise<T> {
    const qs = o.query && Object.keys(o.query).length ? `?${new URLSearchParams(o.query).toString()}` : '';
    return this.send<T>(method, path + qs, ref.plural, verb, o);
  }

  private async send<T>(
    method: string,
    pathAndQuery: string,
    resource: string,
    verb: Verb,
    o: { body?: unknown; contentType?: string },
  ): Promise<T> {
    const path = pathAndQuery.split('?')[0] ?? '';
    const started = performance.now();
    let res: IncomingMessage;
    let text: string;
    try {
      res = await this.open(method, pathAndQuery, o.body, o.contentType, {
        timeoutMs: this.opts.requestTimeoutMs,
      });
      text = await readBody(res);
    } catch (err) {
      this.opts.observe?.(verb, resource, 0, (performance.now() - started) / 1000);
      if (err instanceof ApiError) throw err;
      throw new ApiError(
        method,
        path,
        0,
        { message: errorMessage(err), reason: 'ConnectionError' },
        // The socket error (its code: ECONNREFUSED, ETIMEDOUT) says what kind of failure it was.
        { cause: err },
      );
    }
    const code = res.statusCode ?? 0;
    this.opts.observe?.(verb, resource, code, (performance.now() - started) / 1000);
    if (code >= 200 && code < 300) return (text ? JSON.parse(text) : {}) as T;
    throw new ApiError(method, path, code, parseStatus(text));
  }

  /** Sends one request and resolves with the response once its headers arrive. */
  private async open(
    method: string,
    pathAndQuery: string,
    body: unknown,
    contentType: string | undefined,
    o: { signal?: AbortSignal; timeoutMs: number; pool?: Pool },
  ): Promise<IncomingMessage> {
    const creds = await this.connection.credentials();
    const agent = this.agentFor(creds, o.pool ?? 'requests');
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string | number> = {
      accept: 'application/json',
      'user-agent': this.opts.userAgent,
    };
    if (creds.token) headers['authorization'] = `Bearer ${creds.token}`;
    if (payload !== undefined) {
      headers['content-type'] = contentType ?? 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    const secure = this.url.protocol === 'https:';
    const basePath = this.url.pathname.replace(/\/+$/, '');
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = (secure ? httpsRequest : httpRequest)(
        {
          protocol: this.url.protocol,
          hostname: this.url.hostname.replace(/^\[|\]$/g, ''),
          port: this.url.port || (secure ? 443 : 80),
          path: `${basePath}${pathAndQuery}`,
          method,
          headers,
          agent,
          ...(this.connection.tlsServerName ? { servername: this.connection.tlsServerName } : {}),
          ...(o.signal ? { signal: o.signal } : {}),
        },
        resolve,
      );
      req.on('error', reject);
      if (o.timeoutMs > 0) {
        // Coded like a socket timeout, so callers (kube/errors.ts apiErrorKind) tell it from a refusal.
        req.setTimeout(o.timeoutMs, () =>
          req.destroy(
            Object.assign(new Error(`request timed out after ${o.timeoutMs} ms`), { code: 'ETIMEDOUT' }),
          ),
        );
      }
      req.end(payload);
    });
  }

  /**
   * The pooled agent for requests or for watches; both are rebuilt only if an exec plugin hands
   * out a new client certificate. A watch holds its connection for as long as it runs (one per
   * informer scope: nine per served namespace in the namespaced install mode), so watches get a
   * pool without a socket limit: in the shared 128-socket pool, enough of them would leave every
   * other request queued forever.
   */
  private agentFor(creds: Credentials, pool: Pool): HttpAgent {
    const cert = creds.cert ?? this.connection.cert;
    if (cert !== this.agentCert) this.close();
    this.agentCert = cert;
    const existing = this.agents[pool];
    if (existing) return existing;
    const common = {
      keepAlive: true,
      keepAliveMsecs: 30_000,
      maxSockets: pool === 'watches' ? Infinity : 128,
      maxFreeSockets: 32,
      scheduling: 'lifo' as const,
    };
    let agent: HttpAgent;
    if (this.url.protocol === 'https:') {
      const key = creds.key ?? this.connection.key;
      agent = new HttpsAgent({
        ...common,
        ...(this.connection.ca ? { ca: this.connection.ca } : {}),
        ...(cert ? { cert } : {}),
        ...(key ? { key } : {}),
        rejectUnauthorized: !this.connection.insecureSkipTLSVerify,
      });
    } else {
      agent = new HttpAgent(common);
    }
    this.agents[pool] = agent;
    return agent;
  }

  private observe(verb: Verb, ref: ResourceRef, code: number, started: number): void {
    this.opts.observe?.(verb, ref.plural, code, (performance.now() - started) / 1000);
  }
}

function requireName(name: string | undefined): string {
  if (!name) throw new Error('object has no metadata.name');
  return name;
}

function toQuery(o: ListOptions): Record<string, string> {
  const q: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== '') q[k] = String(v);
  return q;
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
    res.on('aborted', () => reject(new Error('response aborted')));
  });
}

function parseStatus(text: string): Status | undefined {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as Status;
  } catch {
    return { message: text.slice(0, 500) };
  }
}
