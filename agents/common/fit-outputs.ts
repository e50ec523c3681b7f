// Outputs travel as the container's termination message, which Kubernetes caps at 4096 bytes
// (docs/agent-authors.md#outputs). The agents keep their required fields and shed detail: they drop items from
// the end of their lists until the compact JSON fits, and say how many were left out.

export const MAX_OUTPUT_BYTES = 4096;

export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

/** Cuts `text` to at most `max` characters, marking the cut with an ellipsis. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, Math.max(0, max - 1))}…`;
}

export type Dropped<K extends string> = Readonly<Record<K, number>>;

/**
 * Shrinks the lists named by `lists` (the first is emptied first) until the outputs' JSON is at most `limit`
 * bytes. `finish` runs on every candidate, so the agent can write how many items were left out (a count or a
 * summary) and have that counted too. Throws when even empty lists do not fit: the agent's fixed fields are too
 * large, a bug in the agent rather than in the data.
 */
export function fitOutputs<T extends object, K extends keyof T & string>(
  outputs: T,
  lists: readonly K[],
  finish: (outputs: T, dropped: Dropped<K>) => T = (o) => o,
  limit = MAX_OUTPUT_BYTES,
): { readonly outputs: T; readonly dropped: Dropped<K> } {
  const kept = new Map<K, unknown[]>();
  const dropped = {} as Record<K, number>;
  for (const key of lists) {
    const list = outputs[key];
    kept.set(key, Array.isArray(list) ? [...(list as unknown[])] : []);
    dropped[key] = 0;
  }
  const candidate = (): T => {
    const copy = { ...outputs } as Record<string, unknown>;
    for (const [key, list] of kept) if (Array.isArray(outputs[key])) copy[key] = list;
    return finish(copy as T, { ...dropped });
  };
  let current = candidate();
  for (const key of lists) {
    const list = kept.get(key) ?? [];
    while (jsonBytes(current) > limit && list.length > 0) {
      list.pop();
      dropped[key] += 1;
      current = candidate();
    }
  }
  if (jsonBytes(current) > limit) {
    throw new Error(`outputs are ${jsonBytes(current)} bytes even without their lists, over ${limit}`);
  }
  return { outputs: current, dropped };
}
