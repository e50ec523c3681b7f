// Parses the Prometheus text exposition the operator serves on /metrics, and
// computes counter deltas between two scrapes.

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export type Scrape = readonly Sample[];

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseMetrics(text: string): Scrape {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, '$1');
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of a metric over the label sets that match `filter`. */
export function sum(
  s: Scrape,
  name: string,
  filter: (labels: Record<string, string>) => boolean = () => true,
): number {
  let total = 0;
  for (const x of s) if (x.name === name && filter(x.labels)) total += x.value;
  return total;
}

/** One value (first match), or NaN. */
export function value(s: Scrape, name: string): number {
  return s.find((x) => x.name === name)?.value ?? NaN;
}

/** Counter delta per label key (labels joined), for a metric, between two scrapes. */
export function deltaBy(
  before: Scrape,
  after: Scrape,
  name: string,
  key: (labels: Record<string, string>) => string,
): Map<string, number> {
  const acc = new Map<string, number>();
  const add = (s: Scrape, sign: number): void => {
    for (const x of s) {
      if (x.name !== name) continue;
      const k = key(x.labels);
      acc.set(k, (acc.get(k) ?? 0) + sign * x.value);
    }
  };
  add(after, 1);
  add(before, -1);
  for (const [k, v] of acc) if (v === 0) acc.delete(k);
  return acc;
}

export const API_REQUESTS = 'paddock_api_requests_total';
export const WRITE_VERBS: ReadonlySet<string> = new Set(['create', 'apply', 'patch', 'update', 'delete']);
export const READ_VERBS: ReadonlySet<string> = new Set(['get', 'list']);
