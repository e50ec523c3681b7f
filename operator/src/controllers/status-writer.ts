// Writes status by server-side apply, and remembers what it wrote until the
// informer cache has caught up. Without this, a reconcile that runs between
// our write and the watch event that reports it sees the old status in the
// cache and writes the same status again — harmless (SSA makes it a no-op)
// but a wasted API call on the hot path.
//
// resourceVersions are opaque in the API contract; here they are compared as
// integers (etcd revisions) only to decide whether to SKIP a write. If a
// server ever hands out non-numeric ones, nothing is skipped and writes stay
// correct. The comparison and the expiry live in expectations.ts.
import type { ResourceRef } from '../api/constants.ts';
import { FIELD_MANAGER } from '../api/constants.ts';
import { jsonEqual } from '../api/json-equal.ts';
import type { KubeClient } from '../kube/client.ts';
import type { KubeObject } from '../kube/types.ts';
import { objectKey } from '../kube/types.ts';
import { Expectations, type CacheView, type ExpectationsOptions } from './expectations.ts';

/**
 * Left out when comparing statuses for "same write": a reconcile on a stale cache recomputes
 * transitions with a later "now" while deciding exactly the same thing.
 */
const IGNORED_IN_COMPARISON: ReadonlySet<string> = new Set(['lastTransitionTime']);

/** If the cache has not caught up with a write after this long, stop waiting for it. */
const CATCH_UP_MS = 30_000;

export class StatusWriter {
  private readonly client: Pick<KubeClient, 'apply'>;
  /** The status last written per object key (a copy: the caller's object may change after). */
  private readonly written: Expectations<string, unknown>;

  /** `options` (the lag, the clock) are for tests; the default lag is CATCH_UP_MS. */
  constructor(client: Pick<KubeClient, 'apply'>, options: ExpectationsOptions = {}) {
    this.client = client;
    this.written = new Expectations({ lagMs: CATCH_UP_MS, ...options });
  }

  /**
   * True when the cache has not yet seen the last status this writer applied to
   * the object. Deciding from such a cache would repeat decisions (and their
   * Events) already made; the watch event for our write will trigger a fresh
   * reconcile, so the caller can simply wait for it.
   */
  cacheBehind(cached: KubeObject): boolean {
    return this.written.isBehind(objectKey(cached), view(cached));
  }

  /**
   * True when `cached` is older than a status this writer already applied and
   * that status equals `status`: the write would repeat itself.
   */
  isPending(cached: KubeObject, status: unknown): boolean {
    const w = this.written.behind(objectKey(cached), view(cached));
    return w !== undefined && jsonEqual(w.value, status, IGNORED_IN_COMPARISON);
  }

  /** Applies `status` to the object's status subresource and records the write. */
  async apply<T extends KubeObject>(ref: ResourceRef, obj: KubeObject, status: unknown): Promise<T> {
    // From the resource, not the object: list and watch items of built-in types omit them.
    const body = {
      apiVersion: ref.group ? `${ref.group}/${ref.version}` : ref.version,
      kind: ref.kind,
      metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace },
      status,
    };
    const res = await this.client.apply<T>(ref, body, {
      fieldManager: FIELD_MANAGER,
      force: true,
      subresource: 'status',
    });
    this.written.expectWritten(objectKey(obj), res.metadata.resourceVersion, structuredClone(status));
    return res;
  }

  /** Forget an object by its workqueue key ("namespace/name"), e.g. once it is deleted. */
  forgetKey(key: string): void {
    this.written.forget(key);
  }

  get size(): number {
    return this.written.size;
  }
}

/** A cached object shows our write once its own resourceVersion reaches the write's. */
function view(cached: KubeObject): CacheView {
  return { present: true, resourceVersion: cached.metadata.resourceVersion };
}

/** JSON with object keys sorted (and `omitKeys` left out), so equal values compare equal whatever their key order. */
export function stableJson(v: unknown, omitKeys: ReadonlySet<string> = new Set()): string {
  return JSON.stringify(v, (_k, val: unknown) => {
    if (val && typeof val === 'object' && !Array.isArray(val)) {
      return Object.fromEntries(
        Object.entries(val as Record<string, unknown>)
          .filter(([k]) => !omitKeys.has(k))
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      );
    }
    return val;
  });
}
