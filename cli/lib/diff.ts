// A unified diff of two JSON documents, line by line, for `describe`: what
// changed in the request since the Approval this one superseded.

/** JSON with object keys sorted at every level, so key order never shows up as a change. */
export function stableJson(value: unknown): string {
  return JSON.stringify(sortKeys(value), null, 2) ?? 'null';
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

export interface Op {
  readonly kind: ' ' | '-' | '+';
  readonly line: string;
}

/** Above this many cells the middle is shown as removed-then-added rather than aligned. */
const MAX_CELLS = 4_000_000;

/** Edit script between two line arrays: common prefix and suffix, then an LCS of the middle. */
export function diffLines(a: readonly string[], b: readonly string[]): Op[] {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf])
    suf++;
  const ops: Op[] = [];
  for (let i = 0; i < pre; i++) ops.push({ kind: ' ', line: a[i] ?? '' });
  const am = a.slice(pre, a.length - suf);
  const bm = b.slice(pre, b.length - suf);
  const n = am.length;
  const m = bm.length;
  if (n * m > MAX_CELLS) {
    for (const line of am) ops.push({ kind: '-', line });
    for (const line of bm) ops.push({ kind: '+', line });
  } else {
    // lcs[i][j]: length of the LCS of am[i..] and bm[j..], in one flat array.
    const w = m + 1;
    const lcs = new Uint32Array((n + 1) * w);
    for (let i = n - 1; i >= 0; i--)
      for (let j = m - 1; j >= 0; j--)
        lcs[i * w + j] =
          am[i] === bm[j]
            ? (lcs[(i + 1) * w + j + 1] ?? 0) + 1
            : Math.max(lcs[(i + 1) * w + j] ?? 0, lcs[i * w + j + 1] ?? 0);
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && am[i] === bm[j]) {
        ops.push({ kind: ' ', line: am[i] ?? '' });
        i++;
        j++;
      } else if (j < m && (i >= n || (lcs[i * w + j + 1] ?? 0) >= (lcs[(i + 1) * w + j] ?? 0))) {
        ops.push({ kind: '+', line: bm[j] ?? '' });
        j++;
      } else {
        ops.push({ kind: '-', line: am[i] ?? '' });
        i++;
      }
    }
  }
  for (let k = a.length - suf; k < a.length; k++) ops.push({ kind: ' ', line: a[k] ?? '' });
  // Within a run of changes, show removals before additions (as diff -u does).
  return normalizeRuns(ops);
}

function normalizeRuns(ops: Op[]): Op[] {
  const out: Op[] = [];
  let run: Op[] = [];
  const flush = (): void => {
    out.push(...run.filter((o) => o.kind === '-'), ...run.filter((o) => o.kind === '+'));
    run = [];
  };
  for (const o of ops) {
    if (o.kind === ' ') {
      flush();
      out.push(o);
    } else run.push(o);
  }
  flush();
  return out;
}

/**
 * A unified diff (`--- from`, `+++ to`, `@@ -a,n +b,m @@` hunks with `context`
 * lines around each change). Empty when the texts are equal.
 */
export function unifiedDiff(
  before: string,
  after: string,
  labels: { from: string; to: string },
  context = 3,
): string {
  if (before === after) return '';
  const a = before.split('\n');
  const b = after.split('\n');
  const ops = diffLines(a, b);
  // 0-based line numbers in a and b where each op sits.
  const at: Array<{ a: number; b: number }> = [];
  let ai = 0;
  let bi = 0;
  for (const o of ops) {
    at.push({ a: ai, b: bi });
    if (o.kind !== '+') ai++;
    if (o.kind !== '-') bi++;
  }
  const changed = ops.map((o, k) => (o.kind === ' ' ? -1 : k)).filter((k) => k >= 0);
  if (changed.length === 0) return '';
  // Group changes whose context windows touch into hunks.
  const hunks: Array<[number, number]> = [];
  for (const k of changed) {
    const lo = Math.max(0, k - context);
    const hi = Math.min(ops.length - 1, k + context);
    const last = hunks[hunks.length - 1];
    if (last && lo <= last[1] + 1) last[1] = hi;
    else hunks.push([lo, hi]);
  }
  const lines = [`--- ${labels.from}`, `+++ ${labels.to}`];
  for (const [lo, hi] of hunks) {
    const slice = ops.slice(lo, hi + 1);
    const first = at[lo];
    if (!first) continue;
    const aCount = slice.filter((o) => o.kind !== '+').length;
    const bCount = slice.filter((o) => o.kind !== '-').length;
    // As diff -u: a range of zero lines starts at the line before it.
    const aStart = aCount === 0 ? first.a : first.a + 1;
    const bStart = bCount === 0 ? first.b : first.b + 1;
    // ... and a range of one line is just its number.
    const range = (start: number, count: number): string => (count === 1 ? `${start}` : `${start},${count}`);
    lines.push(`@@ -${range(aStart, aCount)} +${range(bStart, bCount)} @@`);
    for (const o of slice) lines.push(`${o.kind}${o.line}`);
  }
  return lines.join('\n') + '\n';
}
