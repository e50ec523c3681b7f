// The cost model of Workflow expressions (CEL), after the Kubernetes API server's:
// every expression has a per-call cost limit, counted deterministically while it
// runs (a counter, never a clock), and a worst-case estimate checked before the
// Workflow starts (cel-estimate.ts). Both count in the same units, with the same
// rules, so an expression whose estimate is under the limit never hits it at run
// time while the values stay within the sizes the estimate assumed
// (docs/workflow-authors.md#limits-of-expressions).
//
// How run-time cost is counted, using only @bufbuild/cel's public API:
// - the parsed AST is rewritten before plan(): each comprehension's loopCondition
//   (evaluated before every iteration) is wrapped in a call to ITERATION_FN, which
//   charges that iteration's cost. The condition rather than the step is wrapped
//   because @bufbuild/cel's fold stops at the first error its condition returns,
//   while an error from the step would only become the accumulator and the loop
//   would go on;
// - every standard function (`_+_`, `size`, `matches`, `_==_`, conversions...) is
//   replaced, by the same overload id through celEnv({ funcs }), with a wrapper that
//   charges by the sizes of its arguments before calling the original, so a call
//   that would build a huge string or list is refused before it runs;
// - the map/filter macros append to their accumulator with `@result + [x]`, which
//   @bufbuild/cel makes a lazy concatenation: a list built in n steps is a chain n
//   deep, read in O(n) per element and overflowing the stack when iterated past a
//   few thousand elements. Those appends are rewritten to APPEND_FN, which appends
//   to an array owned by that one evaluation of the comprehension (the accumulator
//   variable `@result` cannot be written in source, so nothing else sees it).
//
// When the counter passes the limit, the charging function throws; @bufbuild/cel
// turns that into an error value, every later charge throws again, and every loop
// stops at its next iteration.
import {
  CelScalar,
  celFunc,
  celList,
  celMethod,
  isCelList,
  isCelError,
  isCelMap,
  listType,
  type CelFunc,
  type CelList,
  type CelValue,
  type parse,
} from '@bufbuild/cel';

/** A parsed CEL expression (the AST @bufbuild/cel's parse returns). */
export type Expr = ReturnType<typeof parse>['expr'];
type Comprehension = Extract<Expr['exprKind'], { case: 'comprehensionExpr' }>['value'];
type Call = Extract<Expr['exprKind'], { case: 'callExpr' }>['value'];

/**
 * The most an expression may cost in one evaluation (a `when` or one `{{ }}`), in
 * cost units; the Kubernetes API server's per-call limit for CRD validation rules
 * has the same value. One unit is about one AST node evaluated; measured worst cases
 * are in docs/workflow-authors.md#limits-of-expressions.
 */
export const CEL_PER_CALL_COST_LIMIT = 1_000_000;

/**
 * The most all expressions of one Workflow may cost together, by their estimates:
 * bounds the work of a Workflow with many expressions, each under the per-call limit.
 */
export const CEL_WORKFLOW_COST_LIMIT = 10_000_000;

/** Cost of evaluating one AST node (a literal, a variable, a field, an operator...). */
export const NODE_COST = 1;

/**
 * Cost of a list literal (`[a, b]`) and of a map literal (`{"k": v}`), on top of
 * their elements: the Kubernetes values (ListCreateBaseCost, MapCreateBaseCost).
 * They allocate more than other nodes: at these costs, what an expression keeps
 * alive stays under about 10 bytes per unit.
 */
export const LIST_CREATE_COST = 10;
export const MAP_CREATE_COST = 30;

/**
 * Cost per character of text times character of pattern in `matches` (RE2 runs
 * the pattern's automaton over the text; measured about 2.5 times slower per
 * character than other traversals).
 */
export const REGEX_COST_FACTOR = 0.25;

/** Cost of a function call, on top of its node and its arguments' traversal. */
export const CALL_COST = 1;

/**
 * Cost per character or element a function goes through (Kubernetes uses 0.1 for
 * string traversal): `a + b` on strings or lists, `size`, `contains`, conversions.
 */
export const TRAVERSAL_COST_FACTOR = 0.1;

/** Name of the function wrapped around each comprehension's loop condition (not writable in source). */
export const ITERATION_FN = '@paddock.iteration';

/** Name of the function that appends to a map/filter accumulator (not writable in source). */
export const APPEND_FN = '@paddock.append';

/** The sizes a cost formula reads: of a value at run time, or a bound of it at validation. */
export interface Sized {
  /** Elements of a list or entries of a map; 0 for anything else. */
  readonly items: number;
  /** Characters of a string or bytes of a bytes value; 0 for anything else. */
  readonly chars: number;
  /**
   * Cost of walking the whole value (deep equality, `in`): 1 per value (lists, maps
   * and their elements and keys, recursively), plus TRAVERSAL_COST_FACTOR per
   * character. Never more than the value's size in JSON bytes.
   */
  deep(): number;
}

function traversal(s: Sized | undefined): number {
  return s === undefined ? 0 : TRAVERSAL_COST_FACTOR * (s.items + s.chars);
}

/**
 * The cost a call of function `name` adds (beyond its node and its arguments' own
 * costs), from the sizes of its target (method calls) and arguments. Shared by the
 * run-time meter and the estimator. Not rounded: fractions add up, and the
 * estimator relies on costs being sums and products of sizes (convex in them).
 */
export function callCost(name: string, target: Sized | undefined, args: readonly Sized[]): number {
  switch (name) {
    case '_==_':
    case '_!=_':
    case '@in':
      // Deep equality walks both values (`in` compares with every element of a list).
      return CALL_COST + args.reduce((sum, a) => sum + a.deep(), 0);
    case 'matches': {
      // RE2: linear in the text for a given pattern, and the pattern is compiled at each call.
      const text = target ?? args[0];
      const pattern = target ? args[0] : args[1];
      const t = text?.chars ?? 0;
      const p = pattern?.chars ?? 0;
      return CALL_COST + REGEX_COST_FACTOR * (t + 1) * (p + 1);
    }
    case APPEND_FN:
      // Amortized O(1) per element appended (see the file comment).
      return CALL_COST + traversal(args[1]);
    default:
      return CALL_COST + traversal(target) + args.reduce((sum, a) => sum + traversal(a), 0);
  }
}

// --- static node counts ---------------------------------------------------------------------

/**
 * The node cost of evaluating `e` once, outside any loop: every node counts
 * NODE_COST, but a comprehension counts only itself, its range, its initial value
 * and its result, because its step and condition are charged at each iteration
 * (iterationCost).
 */
export function nodeCost(e: Expr | undefined): number {
  if (e === undefined) return 0;
  const k = e.exprKind;
  switch (k.case) {
    case 'constExpr':
    case 'identExpr':
      return NODE_COST;
    case 'selectExpr':
      return NODE_COST + nodeCost(k.value.operand);
    case 'callExpr':
      return NODE_COST + nodeCost(k.value.target) + k.value.args.reduce((s, a) => s + nodeCost(a), 0);
    case 'listExpr':
      return LIST_CREATE_COST + k.value.elements.reduce((s, a) => s + nodeCost(a), 0);
    case 'structExpr':
      return (
        MAP_CREATE_COST +
        k.value.entries.reduce(
          (s, en) => s + nodeCost(en.value) + (en.keyKind.case === 'mapKey' ? nodeCost(en.keyKind.value) : 0),
          0,
        )
      );
    case 'comprehensionExpr':
      return NODE_COST + nodeCost(k.value.iterRange) + nodeCost(k.value.accuInit) + nodeCost(k.value.result);
    default:
      return NODE_COST;
  }
}

/** The node cost of one iteration of a comprehension: its step and its condition. */
export function iterationCost(c: Comprehension): number {
  return Math.max(NODE_COST, nodeCost(c.loopStep) + nodeCost(c.loopCondition));
}

/**
 * Whether `call` (inside the step of comprehension `c`) is an append to c's
 * accumulator: `@result + [...]` in a comprehension whose accumulator starts as `[]`
 * (the map and filter macros).
 */
export function isAccumulatorAppend(call: Call, c: Comprehension): boolean {
  const [accu, added] = call.args;
  const init = c.accuInit?.exprKind;
  return (
    call.function === '_+_' &&
    call.target === undefined &&
    call.args.length === 2 &&
    accu?.exprKind.case === 'identExpr' &&
    accu.exprKind.value.name === c.accuVar &&
    added?.exprKind.case === 'listExpr' &&
    init?.case === 'listExpr' &&
    init.value.elements.length === 0
  );
}

// --- AST rewrite ------------------------------------------------------------------------------

function callNode(fn: string, args: Expr[]): Expr {
  return {
    $typeName: 'cel.expr.Expr',
    id: 0n,
    exprKind: { case: 'callExpr', value: { $typeName: 'cel.expr.Expr.Call', function: fn, args } },
  };
}

function intNode(n: number): Expr {
  return {
    $typeName: 'cel.expr.Expr',
    id: 0n,
    exprKind: {
      case: 'constExpr',
      value: { $typeName: 'cel.expr.Constant', constantKind: { case: 'int64Value', value: BigInt(n) } },
    },
  };
}

/**
 * A copy of `e` that charges its own cost while it runs (see the file comment):
 * each comprehension's condition becomes `ITERATION_FN(condition, iterationCost)`,
 * and appends to a map/filter accumulator become APPEND_FN calls. Pure.
 */
export function instrument(e: Expr): Expr {
  return rewrite(e, undefined);
}

/** `inStepOf`: the comprehension whose step `e` is part of (for its accumulator appends). */
function rewrite(e: Expr, inStepOf: Comprehension | undefined): Expr {
  const k = e.exprKind;
  switch (k.case) {
    case 'selectExpr':
      return {
        ...e,
        exprKind: {
          case: 'selectExpr',
          value: { ...k.value, operand: k.value.operand && rewrite(k.value.operand, inStepOf) },
        },
      };
    case 'callExpr': {
      const args = k.value.args.map((a) => rewrite(a, inStepOf));
      const target = k.value.target && rewrite(k.value.target, inStepOf);
      const fn = inStepOf && isAccumulatorAppend(k.value, inStepOf) ? APPEND_FN : k.value.function;
      return { ...e, exprKind: { case: 'callExpr', value: { ...k.value, function: fn, target, args } } };
    }
    case 'listExpr':
      return {
        ...e,
        exprKind: {
          case: 'listExpr',
          value: { ...k.value, elements: k.value.elements.map((a) => rewrite(a, inStepOf)) },
        },
      };
    case 'structExpr':
      return {
        ...e,
        exprKind: {
          case: 'structExpr',
          value: {
            ...k.value,
            entries: k.value.entries.map((en) => ({
              ...en,
              keyKind:
                en.keyKind.case === 'mapKey'
                  ? { case: 'mapKey' as const, value: rewrite(en.keyKind.value, inStepOf) }
                  : en.keyKind,
              value: en.value && rewrite(en.value, inStepOf),
            })),
          },
        },
      };
    case 'comprehensionExpr': {
      const c = k.value;
      // Range, initial value and result are evaluated in the enclosing scope (its accumulator).
      const outer = (x: Expr | undefined): Expr | undefined => x && rewrite(x, inStepOf);
      const cond = c.loopCondition && rewrite(c.loopCondition, undefined);
      return {
        ...e,
        exprKind: {
          case: 'comprehensionExpr',
          value: {
            ...c,
            iterRange: outer(c.iterRange),
            accuInit: outer(c.accuInit),
            result: c.result && rewrite(c.result, undefined),
            loopStep: c.loopStep && rewrite(c.loopStep, c),
            loopCondition: cond && callNode(ITERATION_FN, [cond, intNode(iterationCost(c))]),
          },
        },
      };
    }
    default:
      return e;
  }
}

// --- run-time meter ---------------------------------------------------------------------------

/** Thrown (inside @bufbuild/cel, which turns it into an error value) when the limit is passed. */
export class CostLimitExceededError extends Error {
  constructor() {
    super('cost limit exceeded');
  }
}

interface Meter {
  spent: number;
  readonly limit: number;
  exceeded: boolean;
}

// Evaluation is synchronous, so one meter at a time: the one of the evaluation under way.
let meter: Meter | undefined;

function charge(units: number): void {
  if (meter === undefined) return;
  meter.spent += units;
  if (meter.spent > meter.limit) {
    meter.exceeded = true;
    throw new CostLimitExceededError();
  }
}

function remaining(): number {
  return meter === undefined ? Number.POSITIVE_INFINITY : meter.limit - meter.spent;
}

/**
 * Runs `fn` (one evaluation of an instrumented expression) with a cost meter that
 * starts at `initial` (the expression's nodeCost) and stops the evaluation past
 * `limit`. Returns fn's value, the cost spent and whether the limit was passed.
 */
export function metered<T>(
  initial: number,
  limit: number,
  fn: () => T,
): { value: T | undefined; cost: number; exceeded: boolean } {
  const previous = meter;
  const m: Meter = { spent: initial, limit, exceeded: initial > limit };
  if (m.exceeded) return { value: undefined, cost: initial, exceeded: true };
  meter = m;
  try {
    const value = fn();
    return { value, cost: m.spent, exceeded: m.exceeded };
  } finally {
    meter = previous;
  }
}

/** Sizes of a CEL value at run time; `deep()` walks it, stopping once past the budget left. */
export function sizeOf(v: unknown): Sized {
  if (typeof v === 'string')
    return { items: 0, chars: v.length, deep: () => 1 + TRAVERSAL_COST_FACTOR * v.length };
  if (v instanceof Uint8Array)
    return { items: 0, chars: v.length, deep: () => 1 + TRAVERSAL_COST_FACTOR * v.length };
  if (isCelList(v) || isCelMap(v)) return { items: v.size, chars: 0, deep: () => deepCost(v, remaining()) };
  return { items: 0, chars: 0, deep: () => 1 };
}

/** Cost of walking `v` (see Sized.deep), counting no further than `budget` (then returns more than it). */
export function deepCost(v: unknown, budget: number): number {
  let total = 0;
  const stack: unknown[] = [v];
  while (stack.length > 0) {
    const x = stack.pop();
    total += 1;
    if (typeof x === 'string' || x instanceof Uint8Array) total += TRAVERSAL_COST_FACTOR * x.length;
    else if (isCelList(x)) for (const e of x) stack.push(e);
    else if (isCelMap(x))
      for (const [key, e] of x) {
        stack.push(key);
        stack.push(e);
      }
    if (total > budget) return total;
  }
  return total;
}

// --- the functions of the metered environment --------------------------------------------------

const DYN_LIST = listType(CelScalar.DYN);

/** Backing arrays of accumulators being built by APPEND_FN, by the list that wraps them. */
const ownedAccumulators = new WeakMap<CelList, CelValue[]>();

function append(accu: CelList, added: CelList): CelList {
  charge(callCost(APPEND_FN, undefined, [sizeOf(accu), sizeOf(added)]));
  let list = accu;
  let array = ownedAccumulators.get(list);
  if (array === undefined) {
    // The first append of this evaluation of the comprehension: `[]` is a shared constant.
    array = [...accu];
    list = celList(array);
    ownedAccumulators.set(list, array);
  }
  for (const x of added) array.push(x);
  return list;
}

function iteration(condition: CelValue, cost: bigint): CelValue {
  charge(Number(cost));
  return condition;
}

/**
 * The std function `f`, charging callCost before it runs. Same name, target and
 * argument types, so the same overload id: given to celEnv({ funcs }), it replaces
 * the original.
 */
function charging(f: CelFunc): CelFunc {
  const name = f.name;
  function call(target: CelValue | undefined, args: CelValue[]): CelValue {
    charge(callCost(name, target === undefined ? undefined : sizeOf(target), args.map(sizeOf)));
    const r = f.call(0, target, args);
    // Thrown values become the call's error in @bufbuild/cel (a CelError is passed through as it is).
    if (r === undefined) throw new Error(`found no matching overload for '${name}'`);
    if (isCelError(r)) throw r;
    return r;
  }
  if (f.target !== undefined) {
    return celMethod(name, f.target, f.arguments, f.result, function (this: CelValue, ...args: CelValue[]) {
      return call(this, args);
    });
  }
  return celFunc(name, f.arguments, f.result, (...args: CelValue[]) => call(undefined, args));
}

/**
 * The functions to give celEnv({ funcs }) so that evaluation is metered: the
 * charging wrappers of `std` (celEnv().funcs) and the two internal functions.
 */
export function meteredFunctions(std: Iterable<CelFunc>): CelFunc[] {
  const out: CelFunc[] = [];
  for (const f of std) out.push(charging(f));
  out.push(celFunc(ITERATION_FN, [CelScalar.DYN, CelScalar.INT], CelScalar.DYN, iteration));
  out.push(celFunc(APPEND_FN, [DYN_LIST, DYN_LIST], DYN_LIST, append));
  return out;
}
