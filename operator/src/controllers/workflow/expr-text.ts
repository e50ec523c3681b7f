// The text of Workflow expressions, read without parsing CEL: `{{ }}` templates in
// step inputs, string literals, and references to `steps.<name>` and `inputs.<name>`.
// Every scanner here walks its input once with indexOf and character tests (no
// backtracking regular expression), so its time is linear in the input's length:
// step inputs can be as long as the Workflow itself. Pure.

export type TemplatePart = { kind: 'text'; text: string } | { kind: 'expr'; expr: string };

/**
 * Splits a string into text and `{{ expression }}` parts (expressions trimmed). An
 * expression ends at the first `}}` after its `{{`; a `{{` without a closing `}}` is
 * text.
 */
export function parseTemplate(s: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let last = 0;
  while (last < s.length) {
    const open = s.indexOf('{{', last);
    if (open < 0) break;
    const close = s.indexOf('}}', open + 2);
    if (close < 0) break; // no later `}}` can close this or any later `{{`
    if (open > last) parts.push({ kind: 'text', text: s.slice(last, open) });
    parts.push({ kind: 'expr', expr: s.slice(open + 2, close).trim() });
    last = close + 2;
  }
  if (last < s.length) parts.push({ kind: 'text', text: s.slice(last) });
  return parts;
}

/** Whether `s` has at least one `{{ ... }}` (without building the parts). */
export function hasTemplate(s: string): boolean {
  const open = s.indexOf('{{');
  return open >= 0 && s.indexOf('}}', open + 2) >= 0;
}

// --- lexical scan of a CEL expression ---------------------------------------------------

function isWordChar(c: number): boolean {
  return (
    (c >= 97 && c <= 122) || // a-z
    (c >= 65 && c <= 90) || // A-Z
    (c >= 48 && c <= 57) || // 0-9
    c === 95 // _
  );
}

function isStepNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45; // a-z 0-9 -
}

function isAlnumLower(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 48 && c <= 57);
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 11;
}

/**
 * End (exclusive) of the string literal that starts at `i` (a quote, possibly after
 * an `r`/`R` raw prefix that the caller has already consumed). Handles triple quotes
 * and backslash escapes (none in raw strings). An unterminated literal runs to the end.
 */
function literalEnd(expr: string, i: number, raw: boolean): number {
  const q = expr[i]!;
  if (expr.startsWith(q + q + q, i)) {
    const close = expr.indexOf(q + q + q, i + 3);
    if (raw) return close < 0 ? expr.length : close + 3;
    let j = i + 3;
    while (j < expr.length) {
      if (expr[j] === '\\') j += 2;
      else if (expr.startsWith(q + q + q, j)) return j + 3;
      else j++;
    }
    return expr.length;
  }
  let j = i + 1;
  while (j < expr.length && expr[j] !== q) j += !raw && expr[j] === '\\' ? 2 : 1;
  return Math.min(j + 1, expr.length);
}

/** One reference to a step or an input found in an expression's code (not in its strings). */
interface Reference {
  readonly kind: 'step' | 'quoted-step' | 'input';
  readonly name: string;
  /** Where the name starts and ends in the expression. */
  readonly start: number;
  readonly end: number;
}

/**
 * Walks an expression once, skipping string literals, and returns the references found
 * in code, in order. The dotted step form is `steps.<dns-label>` followed by `.`, a
 * space, `)`, `]`, `,`, a quote or the end; the quoted form is `steps[ "name" ]` with
 * either quote.
 */
function scan(expr: string): Reference[] {
  const refs: Reference[] = [];
  const n = expr.length;
  let i = 0;
  while (i < n) {
    const c = expr.charCodeAt(i);
    if (c === 34 || c === 39) {
      i = literalEnd(expr, i, false);
      continue;
    }
    if (!isWordChar(c)) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < n && isWordChar(expr.charCodeAt(j))) j++;
    const word = expr.slice(i, j);
    if ((word === 'r' || word === 'R') && j < n && (expr[j] === '"' || expr[j] === "'")) {
      i = literalEnd(expr, j, true);
      continue;
    }
    // `x.steps` and `x.inputs` select fields named so: not the variables.
    let before = i - 1;
    while (before >= 0 && isSpace(expr.charCodeAt(before))) before--;
    const isField = before >= 0 && expr[before] === '.';
    if (isField) {
      i = j;
      continue;
    }
    if (word === 'steps' && expr[j] === '.') {
      let k = j + 1;
      while (k < n && isStepNameChar(expr.charCodeAt(k))) k++;
      const after = k < n ? expr.charCodeAt(k) : -1;
      // What may follow the name: `.`, `)`, `]`, `,`, a space, the end, or a quote (the
      // end of a stretch of code, as the former regular expression saw it).
      const follows =
        after === -1 ||
        after === 46 ||
        after === 41 ||
        after === 93 ||
        after === 44 ||
        after === 34 ||
        after === 39;
      if (
        k > j + 1 &&
        isAlnumLower(expr.charCodeAt(j + 1)) &&
        isAlnumLower(expr.charCodeAt(k - 1)) &&
        (follows || isSpace(after))
      ) {
        refs.push({ kind: 'step', name: expr.slice(j + 1, k), start: j + 1, end: k });
      }
      i = k;
      continue;
    }
    if (word === 'steps') {
      const quoted = quotedStepRef(expr, j);
      if (quoted) {
        refs.push(quoted.ref);
        i = quoted.end;
        continue;
      }
    }
    if (word === 'inputs' && expr[j] === '.') {
      let k = j + 1;
      const first = k < n ? expr.charCodeAt(k) : -1;
      if (first !== -1 && isWordChar(first) && !(first >= 48 && first <= 57)) {
        while (k < n && isWordChar(expr.charCodeAt(k))) k++;
        refs.push({ kind: 'input', name: expr.slice(j + 1, k), start: j + 1, end: k });
      }
      i = k;
      continue;
    }
    i = j;
  }
  return refs;
}

/** `steps[ "name" ]` starting right after the word `steps` at `j`, if it is one. */
function quotedStepRef(expr: string, j: number): { ref: Reference; end: number } | undefined {
  const n = expr.length;
  let k = j;
  while (k < n && isSpace(expr.charCodeAt(k))) k++;
  if (expr[k] !== '[') return undefined;
  k++;
  while (k < n && isSpace(expr.charCodeAt(k))) k++;
  const q = expr[k];
  if (q !== '"' && q !== "'") return undefined;
  const start = k + 1;
  let e = start;
  while (e < n && isStepNameChar(expr.charCodeAt(e))) e++;
  if (e === start || expr[e] !== q) return undefined;
  if (!isAlnumLower(expr.charCodeAt(start)) || !isAlnumLower(expr.charCodeAt(e - 1))) return undefined;
  let m = e + 1;
  while (m < n && isSpace(expr.charCodeAt(m))) m++;
  if (expr[m] !== ']') return undefined;
  return { ref: { kind: 'quoted-step', name: expr.slice(start, e), start, end: e }, end: m + 1 };
}

/** Rewrites `steps.a-b` into `steps["a-b"]` outside string literals. */
export function rewriteStepRefs(expr: string): string {
  let out = '';
  let last = 0;
  for (const r of scan(expr)) {
    if (r.kind !== 'step' || !r.name.includes('-')) continue;
    // r.start - 1 is the '.' after `steps`.
    out += `${expr.slice(last, r.start - 1)}["${r.name}"]`;
    last = r.end;
  }
  return last === 0 ? expr : out + expr.slice(last);
}

/** Names of steps an expression refers to (`steps.x`, `steps["x"]`), outside string literals. */
export function referencedSteps(expr: string): Set<string> {
  const names = new Set<string>();
  for (const r of scan(expr)) if (r.kind !== 'input') names.add(r.name);
  return names;
}

/** Names of workflow inputs an expression refers to (`inputs.x`), outside string literals. */
export function referencedInputs(expr: string): Set<string> {
  const names = new Set<string>();
  for (const r of scan(expr)) if (r.kind === 'input') names.add(r.name);
  return names;
}
