// The benchmark's own API access: a KubeClient that reuses one connection pool,
// and a watch recorder that timestamps every event when it reaches this process.
import type { ResourceRef } from '../../operator/src/api/constants.ts';
import { KubeClient } from '../../operator/src/kube/client.ts';
import type { KubeObject, WatchEventType } from '../../operator/src/kube/types.ts';
import { now } from './stats.ts';

/**
 * A KubeClient for the bench process itself. The operator's client keeps one keep-alive
 * connection pool per process (node:https Agent), so the bench can use it as it is.
 */
export function pooledClient(kubeconfig: string): Promise<KubeClient> {
  return Promise.resolve(
    KubeClient.load(kubeconfig, { userAgent: 'paddock-bench', requestTimeoutMs: 60_000 }),
  );
}

export type Handler<T extends KubeObject> = (type: WatchEventType, obj: T, at: number) => void;

/**
 * A watch opened before the measured work starts. Every event is handed to `handler` with the
 * time it arrived here (so watch delivery delay is part of every latency measured from it).
 * Reconnects from the last resourceVersion when the server closes the stream.
 */
export class WatchRecorder<T extends KubeObject> {
  private readonly abort = new AbortController();
  private rv = '';
  private loop: Promise<void> = Promise.resolve();
  private failure: unknown;
  restarts = 0;
  events = 0;

  private readonly client: KubeClient;
  private readonly ref: ResourceRef;
  private readonly namespace: string;
  private readonly handler: Handler<T>;
  private readonly labelSelector: string | undefined;

  constructor(
    client: KubeClient,
    ref: ResourceRef,
    namespace: string,
    handler: Handler<T>,
    labelSelector?: string,
  ) {
    this.client = client;
    this.ref = ref;
    this.namespace = namespace;
    this.handler = handler;
    this.labelSelector = labelSelector;
  }

  /** Resolves once the server has accepted the watch. */
  async start(): Promise<void> {
    const list = await this.client.list<T>(this.ref, this.namespace, {
      ...(this.labelSelector ? { labelSelector: this.labelSelector } : {}),
      limit: 1,
    });
    this.rv = list.metadata.resourceVersion ?? '';
    let opened: () => void = () => {};
    const open = new Promise<void>((r) => (opened = r));
    this.loop = this.run(opened);
    await Promise.race([open, this.loop]);
  }

  private async run(opened: () => void): Promise<void> {
    while (!this.abort.signal.aborted) {
      try {
        for await (const ev of this.client.watch<T>(this.ref, this.namespace, {
          resourceVersion: this.rv,
          timeoutSeconds: 3600,
          allowWatchBookmarks: true,
          signal: this.abort.signal,
          ...(this.labelSelector ? { labelSelector: this.labelSelector } : {}),
          onOpen: opened,
        })) {
          const at = now();
          if (ev.object.metadata.resourceVersion) this.rv = ev.object.metadata.resourceVersion;
          if (ev.type === 'BOOKMARK') continue;
          this.events++;
          this.handler(ev.type, ev.object, at);
        }
      } catch (err) {
        if (this.abort.signal.aborted) return;
        this.failure = err;
        throw err;
      }
      this.restarts++;
    }
  }

  get error(): unknown {
    return this.failure;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop.catch(() => {});
  }
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
