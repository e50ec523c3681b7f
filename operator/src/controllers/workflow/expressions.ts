// Expressions in Workflows: `when` conditions and `{{ ... }}` templates in step
// inputs are both CEL, the language Kubernetes itself uses (@bufbuild/cel).
// The variables are `inputs` (the Workflow's inputs) and `steps`
// (`steps.<name>.outputs`, `steps.<name>.phase`). Pure.
//
// Step names may contain '-', which CEL reads as minus; `steps.fix-cve.outputs`
// is rewritten to `steps["fix-cve"].outputs` before parsing, so users can write
// the natural form.
//
// Limits (docs/workflow-authors.md#limits-of-expressions): every evaluation is
// metered and stops past CEL_PER_CALL_COST_LIMIT (cel-cost.ts); a template's value
// may not exceed MAX_TEMPLATE_RESULT_BYTES. Error messages never quote a value
// (cel-errors.ts): they name the expression, the path and the kind of problem.
import { celEnv, isCelError, isCelList, isCelMap, isCelUint, parse, plan } from '@bufbuild/cel';
import {
  CEL_PER_CALL_COST_LIMIT,
  instrument,
  metered,
  meteredFunctions,
  nodeCost,
  type Expr,
} from './cel-cost.ts';
import { describeEvaluationError, type ExpressionFailureReason } from './cel-errors.ts';
import { hasTemplate, parseTemplate, rewriteStepRefs, type TemplatePart } from './expr-text.ts';
import { errorMessage } from '../../util/errors.ts';

export { parseTemplate, referencedInputs, referencedSteps, rewriteStepRefs } from './expr-text.ts';
export type { TemplatePart } from './expr-text.ts';
export type { ExpressionFailureReason } from './cel-errors.ts';

/**
 * The most a template's value may take, serialized as JSON (about: characters of
 * strings are counted as bytes). A larger value fails the render with
 * ResultTooLarge, before it is built in full.
 */
export const MAX_TEMPLATE_RESULT_BYTES = 64 * 1024;

/**
 * The most all the templates of one render (one step's inputs) may produce together,
 * serialized: a string may hold many templates, each under MAX_TEMPLATE_RESULT_BYTES.
 */
export const MAX_RENDERED_BYTES = 256 * 1024;

export interface ExpressionContext {
  readonly inputs: Record<string, unknown>;
  /** A forEach step's outputs are the list of its instances' outputs, in item order. */
  readonly steps: Record<
    string,
    { outputs: Record<string, unknown> | ReadonlyArray<Record<string, unknown> | null>; phase: string }
  >;
  /** The run as a whole: its verdict so far and the steps that failed (template-scope.ts). */
  readonly workflow?: { readonly status: string; readonly failedSteps: readonly string[] };
  /** In a forEach step's instance: its item and index (docs/workflow-authors.md, "Fan-out"). */
  readonly instance?: { readonly item: unknown; readonly index: number };
}

const NO_WORKFLOW = { status: 'Running', failedSteps: [] };

export type EvalResult =
  { ok: true; value: unknown } | { ok: false; error: string; reason: ExpressionFailureReason };

interface Variables {
  inputs: unknown;
  steps: unknown;
  workflow: unknown;
  item?: unknown;
  index?: unknown;
}

type Planned = (ctx: Variables) => unknown;

/** A parsed and planned expression. */
export interface CompiledExpression {
  /** The parsed AST (after the dashed step names were quoted), for cost estimation. */
  readonly ast: Expr;
  /** Evaluates the metered plan: a CEL value or a CelError. */
  readonly run: Planned;
  /** What evaluating the expression costs before any loop or function (cel-cost.ts nodeCost). */
  readonly baseCost: number;
  /** Names written in the expression (identifiers, fields, functions, string literals): may be quoted. */
  readonly names: ReadonlySet<string>;
}

/**
 * The longest expression accepted (a `when` is at most 1024 characters by the CRD; this bounds
 * templates): parsing and planning take about 7 ms and 250 KiB per 1000 characters.
 */
export const MAX_EXPRESSION_LENGTH = 4096;

const env = celEnv({ funcs: meteredFunctions(celEnv().funcs) });
const cache = new Map<string, CompiledExpression | string>();
const CACHE_LIMIT = 2048;
/** The cache holds at most this many characters of expressions (so about 16 MiB of plans). */
const CACHE_CHARS_LIMIT = 64 * 1024;
let cachedChars = 0;

function specNames(e: Expr | undefined, out: Set<string>): Set<string> {
  if (e === undefined) return out;
  const k = e.exprKind;
  switch (k.case) {
    case 'constExpr':
      if (k.value.constantKind.case === 'stringValue') out.add(k.value.constantKind.value);
      break;
    case 'identExpr':
      out.add(k.value.name);
      break;
    case 'selectExpr':
      out.add(k.value.field);
      specNames(k.value.operand, out);
      break;
    case 'callExpr':
      out.add(k.value.function);
      specNames(k.value.target, out);
      for (const a of k.value.args) specNames(a, out);
      break;
    case 'listExpr':
      for (const a of k.value.elements) specNames(a, out);
      break;
    case 'structExpr':
      for (const en of k.value.entries) {
        if (en.keyKind.case === 'mapKey') specNames(en.keyKind.value, out);
        specNames(en.value, out);
      }
      break;
    case 'comprehensionExpr':
      for (const x of [k.value.iterRange, k.value.accuInit, k.value.loopStep, k.value.result])
        specNames(x, out);
      break;
    default:
      break;
  }
  return out;
}

/**
 * The variables an expression reads (identifiers not bound by one of its own comprehensions, such
 * as `x` in `l.all(x, x > 0)`): `inputs`, `steps`, `workflow`, and in forEach steps `item`, `index`.
 */
export function freeVariables(
  e: Expr | undefined,
  bound: ReadonlySet<string> = new Set(),
  out = new Set<string>(),
): Set<string> {
  if (e === undefined) return out;
  const k = e.exprKind;
  switch (k.case) {
    case 'identExpr':
      if (!bound.has(k.value.name)) out.add(k.value.name);
      break;
    case 'selectExpr':
      freeVariables(k.value.operand, bound, out);
      break;
    case 'callExpr':
      freeVariables(k.value.target, bound, out);
      for (const a of k.value.args) freeVariables(a, bound, out);
      break;
    case 'listExpr':
      for (const a of k.value.elements) freeVariables(a, bound, out);
      break;
    case 'structExpr':
      for (const en of k.value.entries) {
        if (en.keyKind.case === 'mapKey') freeVariables(en.keyKind.value, bound, out);
        freeVariables(en.value, bound, out);
      }
      break;
    case 'comprehensionExpr': {
      const c = k.value;
      freeVariables(c.iterRange, bound, out);
      freeVariables(c.accuInit, bound, out);
      const inner = new Set([...bound, c.iterVar, c.iterVar2, c.accuVar].filter((v) => v !== ''));
      for (const x of [c.loopCondition, c.loopStep, c.result]) freeVariables(x, inner, out);
      break;
    }
    default:
      break;
  }
  return out;
}

/** Parses and plans an expression once; returns an error message if it does not parse. */
export function compile(expr: string): CompiledExpression | string {
  const hit = cache.get(expr);
  if (hit !== undefined) return hit;
  if (expr.length > MAX_EXPRESSION_LENGTH) {
    return `the expression is longer than ${MAX_EXPRESSION_LENGTH} characters`;
  }
  let result: CompiledExpression | string;
  try {
    const ast = parse(rewriteStepRefs(expr)).expr;
    const run = plan(env, instrument(ast)) as unknown as Planned;
    result = { ast, run, baseCost: nodeCost(ast), names: specNames(ast, new Set()) };
  } catch (err) {
    // Parse errors quote the expression's own text (spec), never a value.
    const message = errorMessage(err);
    result = message.startsWith('Maximum call stack') ? 'the expression is nested too deeply' : message;
  }
  while (cache.size > 0 && (cache.size >= CACHE_LIMIT || cachedChars + expr.length > CACHE_CHARS_LIMIT)) {
    const oldest = cache.keys().next().value!;
    cache.delete(oldest);
    cachedChars -= oldest.length;
  }
  cache.set(expr, result);
  cachedChars += expr.length;
  return result;
}

function quote(expr: string): string {
  return JSON.stringify(expr);
}

/** The CEL forms of the context's inputs and steps, converted once per object. */
const celForms = new WeakMap<object, unknown>();

function celFormOf(v: object): unknown {
  let c = celForms.get(v);
  if (c === undefined) {
    c = toCel(v);
    celForms.set(v, c);
  }
  return c;
}

/** The CEL variables of a context; throws RangeError on a value nested deeper than the stack. */
function variables(ctx: ExpressionContext): Variables {
  const vars: Variables = {
    inputs: celFormOf(ctx.inputs),
    steps: celFormOf(ctx.steps),
    workflow: celFormOf(ctx.workflow ?? NO_WORKFLOW),
  };
  if (ctx.instance) {
    vars.item = toCel(ctx.instance.item);
    vars.index = BigInt(ctx.instance.index);
  }
  return vars;
}

/** Runs a compiled expression under the cost meter; the raw CEL value or a failure. */
function run(
  expr: string,
  ctx: ExpressionContext,
): { ok: true; raw: unknown } | { ok: false; error: string; reason: ExpressionFailureReason } {
  const compiled = compile(expr);
  if (typeof compiled === 'string') {
    return { ok: false, error: `cannot parse ${quote(expr)}: ${compiled}`, reason: 'ParseError' };
  }
  let vars: Variables;
  try {
    vars = variables(ctx);
  } catch {
    // Only a value nested deeper than the stack allows gets here (RangeError).
    return {
      ok: false,
      error: `${quote(expr)}: the inputs or outputs are nested too deeply to evaluate`,
      reason: 'EvaluationError',
    };
  }
  let raw: unknown;
  let exceeded: boolean;
  try {
    const r = metered(compiled.baseCost, CEL_PER_CALL_COST_LIMIT, () => compiled.run(vars));
    raw = r.value;
    exceeded = r.exceeded;
  } catch (err) {
    // plan() catches what evaluation throws; this is a last resort, and its message is not trusted.
    const message = err instanceof Error ? err.message : '';
    const d = describeEvaluationError(message, compiled.names);
    return { ok: false, error: `${quote(expr)}: ${d.message}`, reason: d.reason };
  }
  if (exceeded) {
    return {
      ok: false,
      error: `${quote(expr)}: cost limit exceeded (more than ${CEL_PER_CALL_COST_LIMIT} units)`,
      reason: 'CostLimitExceeded',
    };
  }
  if (isCelError(raw)) {
    const d = describeEvaluationError(raw.message, compiled.names);
    return { ok: false, error: `${quote(expr)}: ${d.message}`, reason: d.reason };
  }
  return { ok: true, raw };
}

/**
 * The cost one evaluation of `expr` spends, as the meter counts it (cel-cost.ts),
 * whatever its outcome; undefined when it does not parse. For tests and benchmarks
 * that compare it with the estimate.
 */
export function evaluationCost(expr: string, ctx: ExpressionContext): number | undefined {
  const compiled = compile(expr);
  if (typeof compiled === 'string') return undefined;
  let vars: Variables;
  try {
    vars = variables(ctx);
  } catch {
    return undefined;
  }
  return metered(compiled.baseCost, CEL_PER_CALL_COST_LIMIT, () => compiled.run(vars)).cost;
}

/** Evaluates an expression to a JSON value of at most MAX_TEMPLATE_RESULT_BYTES. */
export function evaluate(expr: string, ctx: ExpressionContext): EvalResult {
  return evaluateWithin(expr, ctx, MAX_TEMPLATE_RESULT_BYTES);
}

/** Evaluates an expression to a JSON value of at most `maxBytes` (a forEach list's own bound). */
export function evaluateWithin(expr: string, ctx: ExpressionContext, maxBytes: number): EvalResult {
  const r = run(expr, ctx);
  if (!r.ok) return r;
  const json = fromCelBounded(r.raw, maxBytes);
  if (json === TOO_LARGE || json === TOO_DEEP) {
    const what =
      json === TOO_LARGE
        ? `larger than ${maxBytes} bytes`
        : `nested more than ${MAX_RESULT_DEPTH} levels deep`;
    return { ok: false, error: `${quote(expr)}: the value is ${what}`, reason: 'ResultTooLarge' };
  }
  return { ok: true, value: json.value };
}

/** A `when` condition: must evaluate to a boolean. */
export function evaluateCondition(
  expr: string,
  ctx: ExpressionContext,
): { ok: true; value: boolean } | { ok: false; error: string; reason: ExpressionFailureReason } {
  const r = run(expr, ctx);
  if (!r.ok) return r;
  if (typeof r.raw !== 'boolean') {
    return {
      ok: false,
      error: `${quote(expr)} must evaluate to a boolean, got ${describeKind(r.raw)}`,
      reason: 'TypeError',
    };
  }
  return { ok: true, value: r.raw };
}

// --- templates ------------------------------------------------------------

/**
 * How deep in a step's inputs a template may be: deeper values are kept as they are when they hold
 * no template, and fail the render when they do (the walks below never recurse past it).
 */
export const MAX_TEMPLATE_DEPTH = 64;

export function isTemplated(value: unknown): boolean {
  // Iterative: step inputs may nest as deep as the API server allows.
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (hasTemplate(v)) return true;
    } else if (Array.isArray(v)) {
      for (const x of v as unknown[]) stack.push(x);
    } else if (v && typeof v === 'object') {
      for (const x of Object.values(v)) stack.push(x);
    }
  }
  return false;
}

/** Every expression inside a (possibly nested) input value. */
export function templateExpressions(value: unknown): string[] {
  return templateExpressionsAt(value).map((t) => t.expr);
}

/** Every expression inside a (possibly nested) input value, with the JSON pointer of its string. */
export function templateExpressionsAt(value: unknown, path = ''): { expr: string; path: string }[] {
  const out: { expr: string; path: string }[] = [];
  const stack: { v: unknown; path: string }[] = [{ v: value, path }];
  while (stack.length > 0) {
    const { v, path: at } = stack.pop()!;
    if (typeof v === 'string') {
      for (const p of parseTemplate(v)) if (p.kind === 'expr') out.push({ expr: p.expr, path: at });
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i] as unknown, path: `${at}/${i}` });
    } else if (v && typeof v === 'object') {
      const entries: [string, unknown][] = Object.entries(v as Record<string, unknown>);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, x] = entries[i]!;
        stack.push({ v: x, path: `${at}/${escapeKey(k)}` });
      }
    }
  }
  return out;
}

function escapeKey(k: string): string {
  return k.replaceAll('~', '~0').replaceAll('/', '~1');
}

export type RenderResult =
  { ok: true; value: unknown } | { ok: false; error: string; path: string; reason: ExpressionFailureReason };

/**
 * Renders templates in a value. A string that is exactly one `{{ expr }}` takes
 * the expression's value with its JSON type (number, list, object...); text
 * around expressions makes a string. A reference that does not resolve is an
 * error naming the input and the expression, never an empty string. What the
 * templates produce together is bounded by MAX_RENDERED_BYTES.
 */
export function render(value: unknown, ctx: ExpressionContext, path = ''): RenderResult {
  return renderWithin(value, ctx, path, { left: MAX_RENDERED_BYTES });
}

function renderWithin(
  value: unknown,
  ctx: ExpressionContext,
  path: string,
  budget: { left: number },
  depth = 0,
): RenderResult {
  if (typeof value === 'string') return renderString(value, ctx, path, budget);
  if (depth >= MAX_TEMPLATE_DEPTH && value !== null && typeof value === 'object') {
    if (!isTemplated(value)) return { ok: true, value };
    return {
      ok: false,
      error: `a template is nested more than ${MAX_TEMPLATE_DEPTH} levels deep in the inputs`,
      path,
      reason: 'EvaluationError',
    };
  }
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (let i = 0; i < value.length; i++) {
      const r = renderWithin(value[i], ctx, `${path}/${i}`, budget, depth + 1);
      if (!r.ok) return r;
      out.push(r.value);
    }
    return { ok: true, value: out };
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const r = renderWithin(v, ctx, `${path}/${escapeKey(k)}`, budget, depth + 1);
      if (!r.ok) return r;
      out[k] = r.value;
    }
    return { ok: true, value: out };
  }
  return { ok: true, value };
}

function renderString(
  value: string,
  ctx: ExpressionContext,
  path: string,
  budget: { left: number },
): RenderResult {
  const parts: TemplatePart[] = parseTemplate(value);
  const exprValue = (expr: string): RenderResult => {
    const r = evaluate(expr, ctx);
    if (!r.ok) return { ...r, path };
    const size = jsonSize(r.value);
    budget.left -= size;
    if (budget.left < 0) {
      return {
        ok: false,
        error: `${quote(expr)}: the templates of these inputs produce more than ${MAX_RENDERED_BYTES} bytes together`,
        path,
        reason: 'ResultTooLarge',
      };
    }
    return { ok: true, value: r.value };
  };
  if (parts.length === 1 && parts[0]!.kind === 'expr') return exprValue(parts[0]!.expr);
  let out = '';
  for (const p of parts) {
    if (p.kind === 'text') {
      out += p.text;
      continue;
    }
    const r = exprValue(p.expr);
    if (!r.ok) return r;
    out += typeof r.value === 'string' ? r.value : JSON.stringify(r.value);
  }
  return { ok: true, value: out };
}

// --- JSON <-> CEL values ------------------------------------------------------

/** JSON integers become CEL ints, other numbers doubles; objects become maps. */
export function toCel(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(toCel);
  if (v && typeof v === 'object') return new Map(Object.entries(v).map(([k, x]) => [k, toCel(x)]));
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  return v;
}

/** The JSON form of a CEL value (no size bound: for values known to be small). */
export function fromCel(v: unknown): unknown {
  const r = fromCelBounded(v, Number.POSITIVE_INFINITY);
  return typeof r === 'symbol' ? undefined : r.value;
}

const TOO_LARGE = Symbol('too large');
const TOO_DEEP = Symbol('too deep');

/** Stops the conversion walk (fromCelBounded) at once, from any depth. */
class StopConversion extends Error {
  readonly why: typeof TOO_LARGE | typeof TOO_DEEP;
  constructor(why: typeof TOO_LARGE | typeof TOO_DEEP) {
    super('conversion stopped');
    this.why = why;
  }
}

/** How deeply a template's value may nest lists and maps (JSON has no limit; this keeps recursion safe). */
export const MAX_RESULT_DEPTH = 100;

function mapKey(k: unknown): string {
  // Map keys here come from JSON objects: always strings (or CEL scalars, printed as such).
  if (typeof k === 'string') return k;
  if (isCelUint(k)) return String(k.value);
  return String(k);
}

/**
 * The JSON form of a CEL value, or TOO_LARGE as soon as its serialized size passes
 * `maxBytes`: the walk stops there, so a value that is huge (or shares its parts
 * many times over) is never built in full.
 */
function fromCelBounded(
  v: unknown,
  maxBytes: number,
): { value: unknown } | typeof TOO_LARGE | typeof TOO_DEEP {
  let left = maxBytes;
  const spend = (n: number): void => {
    left -= n;
    if (left < 0) throw new StopConversion(TOO_LARGE);
  };
  const convert = (x: unknown, depth: number): unknown => {
    if (depth > MAX_RESULT_DEPTH) throw new StopConversion(TOO_DEEP);
    if (typeof x === 'string') {
      spend(x.length + 2);
      return x;
    }
    if (typeof x === 'bigint') {
      spend(String(x).length);
      return Number(x);
    }
    if (isCelUint(x)) {
      spend(String(x.value).length);
      return Number(x.value);
    }
    if (isCelList(x) || Array.isArray(x)) {
      spend(2);
      const out: unknown[] = [];
      for (const e of x as Iterable<unknown>) {
        spend(1);
        out.push(convert(e, depth + 1));
      }
      return out;
    }
    if (isCelMap(x) || x instanceof Map) {
      spend(2);
      const out: Record<string, unknown> = {};
      for (const [k, e] of x as Iterable<[unknown, unknown]>) {
        const key = mapKey(k);
        spend(key.length + 4);
        out[key] = convert(e, depth + 1);
      }
      return out;
    }
    if (x instanceof Uint8Array) {
      // Bytes in JSON are base64, as in CEL's and protobuf's JSON mappings.
      spend(Math.ceil(x.length / 3) * 4 + 2);
      return Buffer.from(x).toString('base64');
    }
    spend(typeof x === 'number' ? String(x).length : 5);
    return x;
  };
  try {
    return { value: convert(v, 0) };
  } catch (err) {
    if (err instanceof StopConversion) return err.why;
    throw err;
  }
}

/** Size of a JSON value as JSON (for the render budget; the value is already bounded). */
function jsonSize(v: unknown): number {
  return typeof v === 'string' ? v.length + 2 : (JSON.stringify(v)?.length ?? 4);
}

/** The kind of a CEL value, never the value: "a string", "an int", "a list"... */
function describeKind(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'bigint') return 'an int';
  if (typeof v === 'number') return 'a double';
  if (isCelUint(v)) return 'a uint';
  if (isCelList(v) || Array.isArray(v)) return 'a list';
  if (isCelMap(v) || v instanceof Map) return 'a map';
  if (v instanceof Uint8Array) return 'bytes';
  return 'a value of another type';
}
