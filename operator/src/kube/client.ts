// A thin REST client for the Kubernetes API. Authentication, TLS and kubeconfig
// handling come from @kubernetes/client-node's KubeConfig (exec plugins, token
// files, client certs, in-cluster config); the requests themselves are plain
// JSON over undici with keep-alive, so every verb the operator uses — including
// server-side apply on the status subresource and streaming watches — is one
// small, typed function with no per-resource generated client.
import type { HttpMethod } from '@kubernetes/client-node';
import { KubeConfig, RequestContext } from '@kubernetes/client-node';
import { fetch, type Dispatcher } from 'undici';
import type { ResourceRef } from '../api/constants.ts';
import { ApiError, GoneError } from './errors.ts';
import type { KubeList, KubeObject, Status, WatchEvent } from './types.ts';

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

interface Auth {
  headers: Record<string, string>;
  dispatcher: Dispatcher | undefined;
}

export class KubeClient {
  readonly kubeConfig: KubeConfig;
  readonly server: string;
  private readonly opts: Required<Omit<ClientOptions, 'observe'>> & Pick<ClientOptions, 'observe'>;

  constructor(kc: KubeConfig, opts: ClientOptions = {}) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.kubeConfig = kc;
    this.server = cluster.server.replace(/\/+$/, '');
    this.opts = {
      userAgent: opts.userAgent ?? 'paddock-operator',
      requestTimeoutMs: opts.requestTimeoutMs ?? 30_000,
      observe: opts.observe,
    };
  }

  /** Loads a kubeconfig file, or the default chain (KUBECONFIG, ~/.kube/config, in-cluster). */
  static load(kubeconfigPath: string | undefined, opts: ClientOptions = {}): KubeClient {
    const kc = new KubeConfig();
    if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
    else kc.loadFromDefault();
    return new KubeClient(kc, opts);
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
    const url = `${this.server}${path}?${new URLSearchParams(query).toString()}`;
    const auth = await this.auth(url, 'GET');
    const started = performance.now();
    const res = await fetch(url, {
      method: 'GET',
      headers: { ...auth.headers, accept: 'application/json', 'user-agent': this.opts.userAgent },
      dispatcher: auth.dispatcher,
      signal: opts.signal ?? null,
    });
    this.observe('watch', ref, res.status, started);
    if (res.status === 410) throw new GoneError(`watch ${path}: 410 Gone`);
    if (res.status !== 200 || !res.body) {
      throw new ApiError('WATCH', path, res.status, await readStatus(res));
    }
    opts.onOpen?.();
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body) {
      buf += decoder.decode(chunk as Uint8Array, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.trim()) continue;
        const ev = JSON.parse(line) as { type: WatchEvent<T>['type']; object: unknown };
        if (ev.type === 'ERROR') {
          const st = ev.object as Status;
          if (st.code === 410) throw new GoneError(`watch ${path}: ${st.message ?? '410 Gone'}`);
          throw new ApiError('WATCH', path, st.code ?? 500, st);
        }
        yield { type: ev.type, object: ev.object as T };
      }
    }
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
    const url = `${this.server}${pathAndQuery}`;
    const auth = await this.auth(url, method);
    const started = performance.now();
    let res;
    try {
      res = await fetch(url, {
        method,
        headers: {
          ...auth.headers,
          accept: 'application/json',
          'user-agent': this.opts.userAgent,
          ...(o.body !== undefined ? { 'content-type': o.contentType ?? 'application/json' } : {}),
        },
        body: o.body === undefined ? null : JSON.stringify(o.body),
        dispatcher: auth.dispatcher,
        signal: AbortSignal.timeout(this.opts.requestTimeoutMs),
      });
    } catch (err) {
      this.opts.observe?.(verb, resource, 0, (performance.now() - started) / 1000);
      throw new ApiError(method, pathAndQuery.split('?')[0] ?? '', 0, {
        message: err instanceof Error ? err.message : String(err),
        reason: 'ConnectionError',
      });
    }
    this.opts.observe?.(verb, resource, res.status, (performance.now() - started) / 1000);
    if (res.status >= 200 && res.status < 300) {
      const text = await res.text();
      return (text ? JSON.parse(text) : {}) as T;
    }
    throw new ApiError(method, pathAndQuery.split('?')[0] ?? '', res.status, await readStatus(res));
  }

  private observe(verb: Verb, ref: ResourceRef, code: number, started: number): void {
    this.opts.observe?.(verb, ref.plural, code, (performance.now() - started) / 1000);
  }

  private async auth(url: string, method: string): Promise<Auth> {
    const ctx = new RequestContext(url, method as HttpMethod);
    await this.kubeConfig.applySecurityAuthentication(ctx);
    return { headers: ctx.getHeaders(), dispatcher: ctx.getDispatcher() };
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

async function readStatus(res: { text(): Promise<string> }): Promise<Status | undefined> {
  try {
    const text = await res.text();
    try {
      return JSON.parse(text) as Status;
    } catch {
      return { message: text.slice(0, 500) };
    }
  } catch {
    return undefined;
  }
}
