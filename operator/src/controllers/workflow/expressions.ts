// Expressions in Workflows: `when` conditions and `{{ ... }}` templates in step
// inputs are both CEL, the language Kubernetes itself uses (@bufbuild/cel).
// The variables are `inputs` (the Workflow's inputs) and `steps`
// (`steps.<name>.outputs`, `steps.<name>.phase`). Pure.
//
// Step names may contain '-', which CEL reads as minus; `steps.fix-cve.outputs`
// is rewritten to `steps["fix-cve"].outputs` before parsing, so users can write
// the natural form.
import { isCelError, isCelList, isCelMap, isCelUint, parse, plan, celEnv } from '@bufbuild/cel';

export interface ExpressionContext {
  readonly inputs: Record<string, unknown>;
  readonly steps: Record<string, { outputs: Record<string, unknown>; phase: string }>;
}

export type EvalResult = { ok: true; value: unknown } | { ok: false; error: string };

const STEP_REF = /\bsteps\.([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)(?=\.|\s|$|\)|\]|,)/g;
const QUOTED_STEP_REF = /\bsteps\[\s*["']([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)["']\s*\]/g;
const INPUT_REF = /\binputs\.([A-Za-z_][A-Za-z0-9_]*)/g;

/** Rewrites `steps.a-b` into `steps["a-b"]` outside string literals. */
export function rewriteStepRefs(expr: string): string {
  let out = '';
  let i = 0;
  while (i < expr.length) {
    const ch = expr[i]!;
    if (ch === '"' || ch === "'") {
      // Copy a string literal verbatim (with escapes).
      let j = i + 1;
      while (j < expr.length && expr[j] !== ch) j += expr[j] === '\\' ? 2 : 1;
      out += expr.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    let j = i;
    while (j < expr.length && expr[j] !== '"' && expr[j] !== "'") j++;
    out += expr
      .slice(i, j)
      .replace(STEP_REF, (_m, name: string) => (name.includes('-') ? `steps["${name}"]` : `steps.${name}`));
    i = j;
  }
  return out;
}

/** Names of steps an expression refers to (`steps.x`, `steps["x"]`). */
export function referencedSteps(expr: string): Set<string> {
  const code = blankStringLiterals(expr);
  const names = new Set<string>();
  for (const m of code.matchAll(STEP_REF)) names.add(m[1]!);
  for (const m of code.matchAll(QUOTED_STEP_REF)) names.add(m[1]!);
  return names;
}

/**
 * The expression with string literals emptied, except the ones that index
 * `steps[...]`: text like "see steps.x" inside a string is not a reference.
 */
function blankStringLiterals(expr: string): string {
  let out = '';
  let i = 0;
  while (i < expr.length) {
    const ch = expr[i]!;
    if (ch !== '"' && ch !== "'") {
      out += ch;
      i++;
      continue;
    }
    let j = i + 1;
    while (j < expr.length && expr[j] !== ch) j += expr[j] === '\\' ? 2 : 1;
    const literal = expr.slice(i, j + 1);
    out += /steps\[\s*$/.test(out) ? literal : '""';
    i = j + 1;
  }
  return out;
}

/** Names of workflow inputs an expression refers to (`inputs.x`). */
export function referencedInputs(expr: string): Set<string> {
  const names = new Set<string>();
  for (const m of blankStringLiterals(expr).matchAll(INPUT_REF)) names.add(m[1]!);
  return names;
}

type Planned = (ctx: { inputs: unknown; steps: unknown }) => unknown;
const env = celEnv();
const cache = new Map<string, Planned | string>();
const CACHE_LIMIT = 2048;

/** Parses and plans an expression once; returns an error message if it does not parse. */
export function compile(expr: string): Planned | string {
  const hit = cache.get(expr);
  if (hit !== undefined) return hit;
  let result: Planned | string;
  try {
    const parsed = parse(rewriteStepRefs(expr));
    result = plan(env, parsed) as unknown as Planned;
  } catch (err) {
    result = err instanceof Error ? err.message : String(err);
  }
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(expr, result);
  return result;
}

export function evaluate(expr: string, ctx: ExpressionContext): EvalResult {
  const fn = compile(expr);
  if (typeof fn === 'string') return { ok: false, error: `cannot parse ${JSON.stringify(expr)}: ${fn}` };
  let raw: unknown;
  try {
    raw = fn({ inputs: toCel(ctx.inputs), steps: toCel(ctx.steps) });
  } catch (err) {
    return {
      ok: false,
      error: `${JSON.stringify(expr)}: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
  if (isCelError(raw)) return { ok: false, error: `${JSON.stringify(expr)}: ${raw.message}` };
  return { ok: true, value: fromCel(raw) };
}

/** A `when` condition: must evaluate to a boolean. */
export function evaluateCondition(
  expr: string,
  ctx: ExpressionContext,
): { ok: true; value: boolean } | { ok: false; error: string } {
  const r = evaluate(expr, ctx);
  if (!r.ok) return r;
  if (typeof r.value !== 'boolean') {
    return {
      ok: false,
      error: `${JSON.stringify(expr)} must evaluate to a boolean, got ${describe(r.value)}`,
    };
  }
  return { ok: true, value: r.value };
}

// --- templates ------------------------------------------------------------

export type TemplatePart = { kind: 'text'; text: string } | { kind: 'expr'; expr: string };

const TEMPLATE = /\{\{(.*?)\}\}/gs;

export function parseTemplate(s: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const m of s.matchAll(TEMPLATE)) {
    if (m.index > last) parts.push({ kind: 'text', text: s.slice(last, m.index) });
    parts.push({ kind: 'expr', expr: m[1]!.trim() });
    last = m.index + m[0].length;
  }
  if (last < s.length) parts.push({ kind: 'text', text: s.slice(last) });
  return parts;
}

export function isTemplated(value: unknown): boolean {
  if (typeof value === 'string') return parseTemplate(value).some((p) => p.kind === 'expr');
  if (Array.isArray(value)) return value.some(isTemplated);
  if (value && typeof value === 'object') return Object.values(value).some(isTemplated);
  return false;
}

/** Every expression inside a (possibly nested) input value. */
export function templateExpressions(value: unknown): string[] {
  if (typeof value === 'string')
    return parseTemplate(value).flatMap((p) => (p.kind === 'expr' ? [p.expr] : []));
  if (Array.isArray(value)) return value.flatMap(templateExpressions);
  if (value && typeof value === 'object') return Object.values(value).flatMap(templateExpressions);
  return [];
}

export type RenderResult = { ok: true; value: unknown } | { ok: false; error: string; path: string };

/**
 * Renders templates in a value. A string that is exactly one `{{ expr }}` takes
 * the expression's value with its JSON type (number, list, object...); text
 * around expressions makes a string. A reference that does not resolve is an
 * error naming the input and the expression, never an empty string.
 */
export function render(value: unknown, ctx: ExpressionContext, path = ''): RenderResult {
  if (typeof value === 'string') {
    const parts = parseTemplate(value);
    if (parts.length === 1 && parts[0]!.kind === 'expr') {
      const r = evaluate(parts[0]!.expr, ctx);
      return r.ok ? r : { ok: false, error: r.error, path };
    }
    let out = '';
    for (const p of parts) {
      if (p.kind === 'text') {
        out += p.text;
        continue;
      }
      const r = evaluate(p.expr, ctx);
      if (!r.ok) return { ok: false, error: r.error, path };
      out += typeof r.value === 'string' ? r.value : JSON.stringify(r.value);
    }
    return { ok: true, value: out };
  }
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (let i = 0; i < value.length; i++) {
      const r = render(value[i], ctx, `${path}/${i}`);
      if (!r.ok) return r;
      out.push(r.value);
    }
    return { ok: true, value: out };
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const r = render(v, ctx, `${path}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`);
      if (!r.ok) return r;
      out[k] = r.value;
    }
    return { ok: true, value: out };
  }
  return { ok: true, value };
}

// --- JSON <-> CEL values ------------------------------------------------------

/** JSON integers become CEL ints, other numbers doubles; objects become maps. */
export function toCel(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(toCel);
  if (v && typeof v === 'object') return new Map(Object.entries(v).map(([k, x]) => [k, toCel(x)]));
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  return v;
}

export function fromCel(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (isCelUint(v)) return Number(v.value);
  if (isCelList(v)) return [...v].map(fromCel);
  if (isCelMap(v)) {
    const out: Record<string, unknown> = {};
    // Map keys here come from JSON objects: always strings (or CEL scalars, printed as such).
    for (const [k, x] of v)
      out[typeof k === 'string' ? k : typeof k === 'object' ? String(k.value) : String(k)] = fromCel(x);
    return out;
  }
  if (v instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of v) out[String(k)] = fromCel(x);
    return out;
  }
  if (Array.isArray(v)) return v.map(fromCel);
  return v;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'a map' : `${typeof v} ${JSON.stringify(v)}`;
}
