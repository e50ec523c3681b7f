// Worst-case cost of a Workflow expression, estimated before the Workflow starts,
// from bounds on the sizes of the values it can see (like the Kubernetes API
// server's estimated cost of CRD validation rules). Counts in the units and with
// the rules of the run-time meter (cel-cost.ts): nodes, per-iteration costs,
// callCost of each function. Conservative: where a size is unknown it takes the
// largest the value could have, both branches of `?:` count, and a comprehension
// counts its step once per element of the largest range. Pure.
import {
  APPEND_FN,
  LIST_CREATE_COST,
  MAP_CREATE_COST,
  NODE_COST,
  TRAVERSAL_COST_FACTOR,
  callCost,
  isAccumulatorAppend,
  type Expr,
  type Sized,
} from './cel-cost.ts';

/**
 * The most a step's outputs can take: Kubernetes keeps at most 4096 bytes of a
 * container's termination message, where agents write them (docs/agent-authors.md).
 * So an output list has at most 2048 items, a string at most 4096 characters.
 */
export const MAX_OUTPUTS_BYTES = 4096;

/** The longest step phase (`WaitingForApproval`), rounded up: `steps.<name>.phase` is no longer. */
export const MAX_PHASE_CHARS = 32;

/** What is known of the size of a value, in the three dimensions the cost formulas read. */
export interface Shape {
  /** At most this many list elements or map entries. */
  readonly items: number;
  /** At most this many characters (strings) or bytes (bytes values). */
  readonly chars: number;
  /** At most this deep cost (Sized.deep): never more than the value's JSON size in bytes. */
  readonly deep: number;
  /**
   * When known: at most this JSON size (characters of strings counted as bytes), and
   * then the shape is also within jsonWithin(bytes). Known for values that come from
   * JSON (inputs, outputs): the elements of a list together take no more than the list,
   * which lets a loop over it be estimated by their total (estComprehension).
   */
  readonly bytes?: number;
  /** Shape of every list element, and of every key and value of a map. */
  readonly elem?: Shape;
  /** Shapes of known map fields (what `.name` selects); other fields have the shape `elem`. */
  readonly fields?: ReadonlyMap<string, Shape>;
}

/** A value with nothing to traverse: numbers, booleans, null, durations, timestamps. */
export const SCALAR: Shape = Object.freeze({ items: 0, chars: 0, deep: 1 });

/** What an expression that fails (unknown variable, missing field) yields: nothing. */
const NOTHING: Shape = Object.freeze({ items: 0, chars: 0, deep: 0 });

/** A string (or bytes) of at most `chars` characters. */
export function stringShape(chars: number): Shape {
  return { items: 0, chars, deep: 1 + TRAVERSAL_COST_FACTOR * chars };
}

/**
 * Any value whose deep cost is at most `deep` (so any JSON value of at most `deep`
 * bytes): at most deep/2 elements (`[0,0,...]`), 10 × deep characters, and elements
 * bounded the same way. Self-referential, which is what "any depth" means here.
 */
export function anyValueWithin(deep: number): Shape {
  const shape: { items: number; chars: number; deep: number; elem?: Shape } = {
    items: deep / 2,
    chars: deep / TRAVERSAL_COST_FACTOR,
    deep,
  };
  shape.elem = shape;
  return shape;
}

/** Any JSON value of at most `bytes` bytes. */
export function jsonWithin(bytes: number): Shape {
  const shape: { items: number; chars: number; deep: number; bytes: number; elem?: Shape } = {
    items: bytes / 2,
    chars: bytes,
    deep: bytes,
    bytes,
  };
  shape.elem = shape;
  return shape;
}

const MAX_FIELDS = 64;
const MAX_DEPTH = 24;

/** A shape that bounds both `a` and `b`. */
export function union(a: Shape | undefined, b: Shape | undefined, depth = 0): Shape | undefined {
  if (a === undefined || a === b) return b;
  if (b === undefined) return a;
  if (depth > MAX_DEPTH) return anyValueWithin(Math.max(a.deep, b.deep));
  const items = Math.max(a.items, b.items);
  const chars = Math.max(a.chars, b.chars);
  const deep = Math.max(a.deep, b.deep);
  let elem = union(a.elem, b.elem, depth + 1);
  let fields: Map<string, Shape> | undefined;
  if (a.fields && b.fields && a.fields.size + b.fields.size <= MAX_FIELDS) {
    fields = new Map();
    for (const key of new Set([...a.fields.keys(), ...b.fields.keys()])) {
      const u = union(a.fields.get(key) ?? a.elem, b.fields.get(key) ?? b.elem, depth + 1);
      if (u) fields.set(key, u);
    }
  } else {
    for (const f of [a.fields, b.fields]) for (const s of f?.values() ?? []) elem = union(elem, s, depth + 1);
  }
  const bytes = a.bytes !== undefined && b.bytes !== undefined ? Math.max(a.bytes, b.bytes) : undefined;
  return {
    items,
    chars,
    deep,
    ...(bytes !== undefined ? { bytes } : {}),
    ...(elem ? { elem } : {}),
    ...(fields ? { fields } : {}),
  };
}

/** The exact shape of a JSON value (a Workflow's spec.inputs are known before it starts). */
export function shapeOfValue(v: unknown, depth = 0): Shape {
  if (depth > MAX_DEPTH) return jsonWithin(jsonBytes(v));
  if (typeof v === 'string') return { ...stringShape(v.length), bytes: v.length + 2 };
  if (Array.isArray(v)) {
    let elem: Shape | undefined;
    let deep = 1;
    let bytes = 2;
    for (const x of v as unknown[]) {
      const s = shapeOfValue(x, depth + 1);
      elem = union(elem, s);
      deep += s.deep;
      bytes += (s.bytes ?? 0) + 1;
    }
    return { items: v.length, chars: 0, deep, bytes, ...(elem ? { elem } : {}) };
  }
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v);
    const fields = new Map<string, Shape>();
    let elem: Shape | undefined;
    let deep = 1;
    let bytes = 2;
    for (const [k, x] of entries) {
      const s = shapeOfValue(x, depth + 1);
      const key: Shape = { ...stringShape(k.length), bytes: k.length + 2 };
      if (entries.length <= MAX_FIELDS) fields.set(k, s);
      elem = union(union(elem, s), key);
      deep += s.deep + key.deep;
      bytes += (s.bytes ?? 0) + k.length + 4;
    }
    return {
      items: entries.length,
      chars: 0,
      deep,
      bytes,
      ...(elem ? { elem } : {}),
      ...(entries.length <= MAX_FIELDS ? { fields } : {}),
    };
  }
  // A number, boolean or null: its JSON text (deep cost 1 is within it).
  return { ...SCALAR, bytes: Math.max(1, JSON.stringify(v)?.length ?? 4) };
}

/** About the JSON size of a value (as shapeOfValue counts it), without recursion: any depth is fine. */
function jsonBytes(v: unknown): number {
  let total = 0;
  const stack: unknown[] = [v];
  while (stack.length > 0) {
    const x = stack.pop();
    if (typeof x === 'string') total += x.length + 2;
    else if (Array.isArray(x)) {
      total += 2 + x.length;
      for (const e of x as unknown[]) stack.push(e);
    } else if (isObject(x)) {
      for (const [k, e] of Object.entries(x)) {
        total += k.length + 4;
        stack.push(e);
      }
      total += 2;
    } else total += Math.max(1, JSON.stringify(x)?.length ?? 4);
  }
  return total;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function positiveInt(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : undefined;
}

/** What `[REDACTED]` takes in status in place of a sensitive value. */
const REDACTED_CHARS = 10;

/**
 * The shape of values valid against a JSON Schema (an Agent's outputsSchema), at
 * most `bytes` bytes: maxLength, maxItems, maxProperties, enum, properties and
 * additionalProperties: false tighten the bound; anything the estimate does not
 * read ($ref, anyOf, several types...) leaves it at "any JSON value of `bytes`".
 */
export function shapeOfSchema(schema: unknown, bytes: number, depth = 0): Shape {
  const any = jsonWithin(bytes);
  if (!isObject(schema) || depth > MAX_DEPTH) return any;
  let shape = refineBySchema(schema, bytes, depth, any);
  // A sensitive value may be read from status, where it is "[REDACTED]".
  if (schema['x-paddock-sensitive'] === true) shape = union(shape, stringShape(REDACTED_CHARS)) ?? shape;
  // Whatever the schema says, the value is part of one JSON text of `bytes` bytes.
  return { ...shape, bytes };
}

function refineBySchema(schema: Record<string, unknown>, bytes: number, depth: number, any: Shape): Shape {
  if (typeof schema['$ref'] === 'string' || schema['anyOf'] || schema['oneOf'] || schema['allOf']) return any;
  const enumValues = schema['enum'];
  if (Array.isArray(enumValues) && enumValues.length > 0) {
    let s: Shape | undefined;
    for (const v of enumValues as unknown[]) s = union(s, shapeOfValue(v));
    return s ?? any;
  }
  switch (schema['type']) {
    case 'integer':
    case 'number':
    case 'boolean':
    case 'null':
      return SCALAR;
    case 'string':
      return stringShape(Math.min(bytes, positiveInt(schema['maxLength']) ?? bytes));
    case 'array': {
      const items = Math.min(any.items, positiveInt(schema['maxItems']) ?? any.items);
      const elem = isObject(schema['items']) ? shapeOfSchema(schema['items'], bytes, depth + 1) : any;
      return { items, chars: 0, deep: Math.min(bytes, 1 + items * elem.deep), elem };
    }
    case 'object': {
      const items = Math.min(any.items, positiveInt(schema['maxProperties']) ?? any.items);
      const props = isObject(schema['properties']) ? schema['properties'] : {};
      const closed = schema['additionalProperties'] === false && !isObject(schema['patternProperties']);
      const fields = new Map<string, Shape>();
      let elem: Shape | undefined = closed ? undefined : any;
      for (const [name, sub] of Object.entries(props)) {
        const s = shapeOfSchema(sub, bytes, depth + 1);
        fields.set(name, s);
        elem = union(union(elem, s), stringShape(name.length));
      }
      if (Object.keys(props).length > MAX_FIELDS) return { ...any, items };
      return { items, chars: 0, deep: bytes, ...(elem ? { elem } : {}), fields };
    }
    default:
      return any;
  }
}

// --- the estimate -------------------------------------------------------------------------

export interface Estimate {
  /** Worst-case cost of one evaluation, in the units of cel-cost.ts (Infinity: too complex to estimate). */
  readonly cost: number;
  /** Bound of the value it yields. */
  readonly shape: Shape;
}

/**
 * How many sub-expressions the estimator may look at for one expression. Each loop
 * looks at its body a few times (cf. estComprehension), so deeply nested loops would
 * take exponential time to estimate: past this, the expression is refused as too
 * complex (it would be far over the cost limit anyway).
 */
export const MAX_ESTIMATE_STEPS = 100_000;

/** Functions the planner runs itself (no call is charged for them, only their node). */
const PLANNER_OPERATORS = new Set([
  '_[_]',
  '_[?_]',
  '_?._',
  '_?_:_',
  '_&&_',
  '_||_',
  '@not_strictly_false',
  '__not_strictly_false__',
]);

function sized(s: Shape): Sized {
  return { items: s.items, chars: s.chars, deep: () => s.deep };
}

/** The shape `operand.name` (or `operand["name"]`) yields. */
function field(operand: Shape, name: string | undefined): Shape {
  if (name !== undefined) {
    const f = operand.fields?.get(name);
    if (f) return f;
  }
  return operand.elem ?? NOTHING;
}

function concat(a: Shape, b: Shape): Shape {
  if (a.items + b.items + a.chars + b.chars === 0) return SCALAR;
  const elem = union(a.elem, b.elem);
  return {
    items: a.items + b.items,
    chars: a.chars + b.chars,
    deep: a.deep + b.deep,
    ...(elem ? { elem } : {}),
  };
}

/** The shape of what function `name` returns. */
function resultShape(name: string, target: Shape | undefined, args: readonly Shape[]): Shape {
  const first = target ?? args[0] ?? NOTHING;
  switch (name) {
    case '_+_':
    case APPEND_FN:
      return concat(args[0] ?? NOTHING, args[1] ?? NOTHING);
    case 'dyn':
      return first;
    case 'string':
      // string(x) of bytes keeps the length; of a number, bool, timestamp... is short.
      return stringShape(Math.max(first.chars, MAX_PHASE_CHARS));
    case 'bytes':
      // UTF-8 takes at most 3 bytes per UTF-16 code unit.
      return stringShape(3 * first.chars);
    default:
      return SCALAR;
  }
}

type ConstValue = Extract<Expr['exprKind'], { case: 'constExpr' }>['value'];
type CallValue = Extract<Expr['exprKind'], { case: 'callExpr' }>['value'];
type ComprehensionValue = Extract<Expr['exprKind'], { case: 'comprehensionExpr' }>['value'];

function constShape(e: ConstValue): Shape {
  const k = e.constantKind;
  if (k.case === 'stringValue' || k.case === 'bytesValue') return stringShape(k.value.length);
  return SCALAR;
}

function constString(e: Expr | undefined): string | undefined {
  const k = e?.exprKind;
  return k?.case === 'constExpr' && k.value.constantKind.case === 'stringValue'
    ? k.value.constantKind.value
    : undefined;
}

type Scope = ReadonlyMap<string, Shape>;

class TooComplex extends Error {}

interface Walk {
  steps: number;
  /** Inside the end points of a chord (estComprehension): only bounds convex in the sizes. */
  convexOnly: boolean;
}

/**
 * The worst-case cost of evaluating `e` once, with the variables bounded by `scope`
 * (for Workflows: `inputs` and `steps`). Pure.
 */
export function estimate(e: Expr, scope: Scope): Estimate {
  try {
    return est(e, scope, undefined, { steps: 0, convexOnly: false });
  } catch (err) {
    if (err instanceof TooComplex || err instanceof RangeError) {
      return { cost: Number.POSITIVE_INFINITY, shape: NOTHING };
    }
    throw err;
  }
}

function est(e: Expr, scope: Scope, inStepOf: ComprehensionValue | undefined, walk: Walk): Estimate {
  if (++walk.steps > MAX_ESTIMATE_STEPS) throw new TooComplex();
  const k = e.exprKind;
  switch (k.case) {
    case 'constExpr':
      return { cost: NODE_COST, shape: constShape(k.value) };
    case 'identExpr':
      return { cost: NODE_COST, shape: scope.get(k.value.name) ?? NOTHING };
    case 'selectExpr': {
      const operand = k.value.operand
        ? est(k.value.operand, scope, inStepOf, walk)
        : { cost: 0, shape: NOTHING };
      return {
        cost: NODE_COST + operand.cost,
        shape: k.value.testOnly ? SCALAR : field(operand.shape, k.value.field),
      };
    }
    case 'callExpr':
      return estCall(k.value, scope, inStepOf, walk);
    case 'listExpr': {
      let cost = LIST_CREATE_COST;
      let elem: Shape | undefined;
      let deep = 1;
      for (const x of k.value.elements) {
        const r = est(x, scope, inStepOf, walk);
        cost += r.cost;
        elem = union(elem, r.shape);
        deep += r.shape.deep;
      }
      return { cost, shape: { items: k.value.elements.length, chars: 0, deep, ...(elem ? { elem } : {}) } };
    }
    case 'structExpr': {
      let cost = MAP_CREATE_COST;
      let elem: Shape | undefined;
      let deep = 1;
      const fields = new Map<string, Shape>();
      for (const en of k.value.entries) {
        const value = en.value ? est(en.value, scope, inStepOf, walk) : { cost: 0, shape: NOTHING };
        const key =
          en.keyKind.case === 'mapKey'
            ? est(en.keyKind.value, scope, inStepOf, walk)
            : { cost: 0, shape: stringShape(en.keyKind.value?.length ?? 0) };
        const name = en.keyKind.case === 'mapKey' ? constString(en.keyKind.value) : en.keyKind.value;
        if (name !== undefined) fields.set(name, union(fields.get(name), value.shape) ?? value.shape);
        cost += value.cost + key.cost;
        elem = union(union(elem, value.shape), key.shape);
        deep += value.shape.deep + key.shape.deep;
      }
      const keyed = fields.size === k.value.entries.length;
      return {
        cost,
        shape: {
          items: k.value.entries.length,
          chars: 0,
          deep,
          ...(elem ? { elem } : {}),
          ...(keyed ? { fields } : {}),
        },
      };
    }
    case 'comprehensionExpr':
      return estComprehension(k.value, scope, inStepOf, walk);
    default:
      return { cost: NODE_COST, shape: NOTHING };
  }
}

function estCall(
  call: CallValue,
  scope: Scope,
  inStepOf: ComprehensionValue | undefined,
  walk: Walk,
): Estimate {
  const target = call.target ? est(call.target, scope, inStepOf, walk) : undefined;
  const args = call.args.map((a) => est(a, scope, inStepOf, walk));
  const own = NODE_COST + (target?.cost ?? 0) + args.reduce((s, a) => s + a.cost, 0);
  const shapes = args.map((a) => a.shape);
  switch (call.function) {
    case '_[_]':
    case '_[?_]':
    case '_?._':
      return { cost: own, shape: field(shapes[0] ?? NOTHING, constString(call.args[1])) };
    case '_?_:_':
      return { cost: own, shape: union(shapes[1], shapes[2]) ?? NOTHING };
  }
  if (PLANNER_OPERATORS.has(call.function)) return { cost: own, shape: SCALAR };
  const name = inStepOf && isAccumulatorAppend(call, inStepOf) ? APPEND_FN : call.function;
  const cost = own + callCost(name, target && sized(target.shape), shapes.map(sized));
  return { cost, shape: resultShape(name, target?.shape, shapes) };
}

/**
 * A comprehension (the macros map, filter, all, exists, exists_one) over a range of
 * at most n elements, each within the shape E. Its iterations cost at most
 * n × cost(E). When the range comes from JSON (inputs, outputs) its elements also
 * share one size budget: element i takes b_i bytes with b_1 + b_2 + ... no more than
 * the range's bytes R. Each element is then within jsonWithin(b_i), and an
 * iteration's cost, a sum of products of sizes, is convex in b: below the chord
 * c(0) + (c(B) − c(0)) · b / B for b up to B = E's bytes. Summed over the elements:
 * n · c(0) + (c(B) − c(0)) · R / B. The estimate takes the smaller of the two bounds,
 * so that one loop over a step's outputs (n up to 2048, each element up to 4096
 * characters, but not both at once) is not counted as 2048 elements of 4096.
 * The accumulator's growth is bounded the same way. Sums, products and maxima of
 * sizes are convex, a minimum is not: the chord's end points use n × cost(E) only.
 */
function estComprehension(
  c: ComprehensionValue,
  scope: Scope,
  inStepOf: ComprehensionValue | undefined,
  walk: Walk,
): Estimate {
  const range = c.iterRange ? est(c.iterRange, scope, inStepOf, walk) : { cost: 0, shape: NOTHING };
  const init = c.accuInit ? est(c.accuInit, scope, inStepOf, walk) : { cost: 0, shape: NOTHING };
  const n = range.shape.items;
  const elem = range.shape.elem ?? NOTHING;
  const shared =
    range.shape.bytes !== undefined && elem.bytes !== undefined && elem.bytes > 0
      ? {
          ratio: Math.min(n, range.shape.bytes / elem.bytes),
          small: jsonWithin(0),
          large: jsonWithin(elem.bytes),
        }
      : undefined;
  /** The bound above of a sum over the n elements of f(element shape). */
  const overElements = (f: (iter: Shape) => number): number => {
    const full = n * f(elem);
    if (shared === undefined || walk.convexOnly) return full;
    // The chord needs f convex: the smaller of two bounds (below) is not, so the end
    // points are computed with the full bound only.
    walk.convexOnly = true;
    const c0 = f(shared.small);
    const cB = Math.max(c0, f(shared.large));
    walk.convexOnly = false;
    return Math.min(full, n * c0 + (cB - c0) * shared.ratio);
  };
  const withVars = (iter: Shape, accu: Shape): Scope => {
    const inner = new Map(scope);
    inner.set(c.iterVar, iter);
    inner.set(c.accuVar, accu);
    return inner;
  };
  // How much the accumulator grows in one iteration (from its initial value).
  const grown = (iter: Shape): Shape =>
    c.loopStep ? est(c.loopStep, withVars(iter, init.shape), c, walk).shape : init.shape;
  const growth = (dim: 'items' | 'chars' | 'deep'): number =>
    overElements((iter) => Math.max(0, grown(iter)[dim] - init.shape[dim]));
  const once = grown(elem);
  const accuElem = union(init.shape.elem, once.elem);
  const accu: Shape = {
    items: init.shape.items + growth('items'),
    chars: init.shape.chars + growth('chars'),
    deep: init.shape.deep + growth('deep'),
    ...(accuElem ? { elem: accuElem } : {}),
  };
  // The iterations, with the accumulator at its largest.
  const iterations = overElements((iter) => {
    const vars = withVars(iter, accu);
    const step = c.loopStep ? est(c.loopStep, vars, c, walk).cost : 0;
    const cond = c.loopCondition ? est(c.loopCondition, vars, undefined, walk).cost : 0;
    return Math.max(NODE_COST, step + cond);
  });
  const result = c.result ? est(c.result, withVars(elem, accu), undefined, walk) : { cost: 0, shape: accu };
  return {
    cost: NODE_COST + range.cost + init.cost + iterations + result.cost,
    shape: result.shape,
  };
}
