// What must hold before a Workflow may start, checked against the Agents it
// uses. Every problem names the step and field; the reconciler turns them into
// a Stalled condition and an Event. Pure.
import type { Agent, Workflow, WorkflowStep } from '../../api/generated/index.ts';
import { compileUserSchema, isJsonObject } from '../../api/schemas.ts';
import { buildGraph, type Graph } from './graph.ts';
import { CEL_PER_CALL_COST_LIMIT, CEL_WORKFLOW_COST_LIMIT } from './cel-cost.ts';
import {
  MAX_OUTPUTS_BYTES,
  MAX_PHASE_CHARS,
  SCALAR,
  estimate,
  jsonWithin,
  shapeOfSchema,
  shapeOfValue,
  stringShape,
  union,
  type Shape,
} from './cel-estimate.ts';
import { approvalPolicyOf } from './approval-request.ts';
import { MAX_FANOUT_OUTPUTS_BYTES, MAX_FOREACH_LIST_BYTES, MAX_INSTANCES } from './instances.ts';
import {
  compile,
  freeVariables,
  isTemplated,
  referencedInputs,
  referencedSteps,
  templateExpressionsAt,
} from './expressions.ts';

export type ProblemReason =
  | 'DuplicateStep'
  | 'UnknownDependency'
  | 'SelfDependency'
  | 'CyclicDependency'
  | 'AgentNotFound'
  | 'AgentNotReady'
  | 'InvalidCondition'
  | 'InvalidTemplate'
  | 'MissingInput'
  | 'InputsSchemaMismatch'
  | 'ExpressionTooExpensive'
  | 'InvalidForEach';

export interface WorkflowProblem {
  readonly reason: ProblemReason;
  readonly step?: string;
  readonly message: string;
}

/** `graph` orders spec.steps; `finallyGraph` orders spec.finally (empty when there is none). */
export type ValidationOutcome =
  | { ok: true; graph: Graph; finallyGraph: Graph }
  | { ok: false; problems: WorkflowProblem[]; graph?: Graph; finallyGraph?: Graph };

/**
 * The most expression text (every `when` and every `{{ }}` template, in characters) one Workflow
 * may hold. Parsing and planning cost about 8 ms per 1000 characters on the operator's thread, so
 * this bounds the first validation of any Workflow to a few hundred milliseconds.
 */
export const MAX_WORKFLOW_EXPRESSION_CHARS = 32 * 1024;

const VALIDATION_CACHE_LIMIT = 1024;

/** The largest value `workflow` can hold (template-scope.ts), for cost estimates. */
const WORKFLOW_VARIABLE_BOUND = {
  status: 'WaitingForApproval',
  failedSteps: Array.from({ length: 100 }, () => 'x'.repeat(63)),
};
const validationCache = new Map<string, ValidationOutcome>();

/**
 * Validates a Workflow against its Agents. The outcome depends only on the Workflow's spec (one
 * per generation) and on the Agents it names, so it is kept per (uid, generation, the
 * resourceVersions of those Agents): a Workflow is parsed and estimated once, not on every
 * reconcile. Objects without those identities (not read from the API server) are validated every time.
 */
export function validateWorkflow(wf: Workflow, agents: ReadonlyMap<string, Agent>): ValidationOutcome {
  const key = validationKey(wf, agents);
  const hit = key === undefined ? undefined : validationCache.get(key);
  if (hit) return hit;
  const outcome = validateUncached(wf, agents);
  if (key !== undefined) {
    if (validationCache.size >= VALIDATION_CACHE_LIMIT)
      validationCache.delete(validationCache.keys().next().value!);
    validationCache.set(key, outcome);
  }
  return outcome;
}

function validationKey(wf: Workflow, agents: ReadonlyMap<string, Agent>): string | undefined {
  const { uid, generation, resourceVersion } = wf.metadata;
  // Only objects as the API server stores them: uid and generation identify the spec exactly.
  if (!uid || generation === undefined || !resourceVersion) return undefined;
  const parts = [uid, String(generation)];
  for (const name of new Set(
    [...wf.spec.steps, ...(wf.spec.finally ?? [])].map((s) => s.agentRef.name),
  ).values()) {
    const a = agents.get(name);
    if (a && !a.metadata.resourceVersion) return undefined;
    parts.push(`${name}@${a?.metadata.resourceVersion ?? '-'}`);
  }
  return parts.join('/');
}

/** Total characters of the Workflow's expressions; stops counting past the limit. */
function expressionChars(wf: Workflow): number {
  let n = 0;
  for (const step of [...wf.spec.steps, ...(wf.spec.finally ?? [])]) {
    n += step.when?.length ?? 0;
    n += step.forEach?.expression?.length ?? 0;
    for (const { expr } of templateExpressionsAt(step.inputs ?? {})) {
      n += expr.length;
      if (n > MAX_WORKFLOW_EXPRESSION_CHARS) return n;
    }
  }
  return n;
}

function validateUncached(wf: Workflow, agents: ReadonlyMap<string, Agent>): ValidationOutcome {
  if (expressionChars(wf) > MAX_WORKFLOW_EXPRESSION_CHARS)
    return {
      ok: false,
      problems: [
        {
          reason: 'ExpressionTooExpensive',
          message: `spec.steps: the expressions of this Workflow (when conditions and {{ }} templates) hold more than ${MAX_WORKFLOW_EXPRESSION_CHARS} characters together; split the work into several Workflows or simplify the expressions`,
        },
      ],
    };
  const g = buildGraph(wf.spec.steps);
  if (!g.ok) return { ok: false, problems: g.problems };
  const graph = g.graph;
  const fg = buildGraph(wf.spec.finally ?? []);
  if (!fg.ok)
    return {
      ok: false,
      problems: fg.problems.map((p) => ({
        ...p,
        message: p.message.replace(/^spec\.steps/, 'spec.finally'),
      })),
    };
  const finallyGraph = fg.graph;
  const mainNames = wf.spec.steps.map((x) => x.name);
  const problems: WorkflowProblem[] = [];
  const wfInputs = wf.spec.inputs ?? {};
  const scope = expressionScope(wf, agents);
  const total = { cost: 0 };
  const finallySteps = new Set((wf.spec.finally ?? []).map((x) => x.name));
  for (const step of [...wf.spec.steps, ...(wf.spec.finally ?? [])]) {
    const isFinally = finallySteps.has(step.name);
    const at = `spec.${isFinally ? 'finally' : 'steps'}[${step.name}]`;
    const agent = agents.get(step.agentRef.name);
    if (!agent) {
      problems.push({
        reason: 'AgentNotFound',
        step: step.name,
        message: `${at}.agentRef: Agent "${step.agentRef.name}" does not exist in namespace ${wf.metadata.namespace ?? ''}`,
      });
    } else if (agent.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'False')) {
      const ready = agent.status.conditions.find((c) => c.type === 'Ready')!;
      problems.push({
        reason: 'AgentNotReady',
        step: step.name,
        message: `${at}.agentRef: Agent "${step.agentRef.name}" is not Ready (${ready.reason}: ${ready.message})`,
      });
    }
    // A finally step runs after every step of spec.steps has ended: it may read any of them.
    const upstream = isFinally
      ? new Set([...mainNames, ...(finallyGraph.ancestors.get(step.name) ?? [])])
      : (graph.ancestors.get(step.name) ?? new Set<string>());
    if (step.forEach)
      problems.push(...checkForEach(wf, step, agent, at, { upstream, wfInputs, scope, total }));
    // A forEach step's own expressions also see its item and index.
    const stepScope = step.forEach ? instanceScope(step, scope) : scope;
    if (step.when !== undefined) {
      const where = { field: `${at}.when`, step, upstream, wfInputs, scope: stepScope, total };
      problems.push(...checkExpression(step.when, where, 'InvalidCondition'));
    }
    for (const { expr, path } of templateExpressionsAt(step.inputs ?? {})) {
      const field = `${at}.inputs${path.replace(/\//g, '.')}`;
      problems.push(
        ...checkExpression(
          expr,
          { field, step, upstream, wfInputs, scope: stepScope, total },
          'InvalidTemplate',
        ),
      );
    }
    if (agent?.spec.inputsSchema) problems.push(...checkLiteralInputs(step, agent, at));
  }
  if (total.cost > CEL_WORKFLOW_COST_LIMIT) {
    problems.push({
      reason: 'ExpressionTooExpensive',
      message: `spec.steps: the expressions of this Workflow have an estimated worst-case cost of ${formatCost(total.cost)} together, more than the limit of ${CEL_WORKFLOW_COST_LIMIT} per Workflow`,
    });
  }
  return problems.length === 0
    ? { ok: true, graph, finallyGraph }
    : { ok: false, problems, graph, finallyGraph };
}

/**
 * Bounds of what expressions can see: `inputs` exactly (spec.inputs is immutable),
 * each step's outputs by its Agent's outputsSchema and the termination message limit
 * (MAX_OUTPUTS_BYTES), its phase by MAX_PHASE_CHARS.
 */
function expressionScope(wf: Workflow, agents: ReadonlyMap<string, Agent>): Map<string, Shape> {
  const phase = stringShape(MAX_PHASE_CHARS);
  const steps = new Map<string, Shape>();
  let elem: Shape | undefined;
  for (const step of [...wf.spec.steps, ...(wf.spec.finally ?? [])]) {
    const schema = agents.get(step.agentRef.name)?.spec.outputsSchema;
    const one = schema ? shapeOfSchema(schema, MAX_OUTPUTS_BYTES) : jsonWithin(MAX_OUTPUTS_BYTES);
    // A forEach step's outputs: the list of its instances' (instances.ts bounds them together).
    const outputs: Shape = step.forEach
      ? {
          items: MAX_INSTANCES,
          chars: 0,
          deep: MAX_FANOUT_OUTPUTS_BYTES,
          bytes: MAX_FANOUT_OUTPUTS_BYTES,
          elem: one,
        }
      : one;
    const fields = new Map([
      ['outputs', outputs],
      ['phase', phase],
    ]);
    const shape: Shape = {
      items: 2,
      chars: 0,
      deep: 1 + outputs.deep + phase.deep + 12,
      elem: union(union(outputs, phase), stringShape('outputs'.length))!,
      fields,
    };
    steps.set(step.name, shape);
    elem = union(union(elem, shape), stringShape(step.name.length));
  }
  let deep = 1;
  for (const [name, s] of steps) deep += s.deep + 1 + 0.1 * name.length;
  const stepsShape: Shape = { items: steps.size, chars: 0, deep, ...(elem ? { elem } : {}), fields: steps };
  return new Map([
    ['inputs', shapeOfValue(wf.spec.inputs ?? {})],
    ['steps', stepsShape],
    ['workflow', shapeOfValue(WORKFLOW_VARIABLE_BOUND)],
  ]);
}

function formatCost(cost: number): string {
  return cost < 1e15 ? String(Math.ceil(cost)) : cost.toExponential(2);
}

/** The scope of a forEach step's own expressions: the Workflow's, with its item and index. */
function instanceScope(step: WorkflowStep, scope: ReadonlyMap<string, Shape>): Map<string, Shape> {
  let item: Shape;
  const fe = step.forEach ?? {};
  if (fe.items !== undefined) {
    item = shapeOfValue(fe.items).elem ?? SCALAR;
  } else {
    const compiled = fe.expression === undefined ? undefined : compile(fe.expression);
    const list =
      compiled === undefined || typeof compiled === 'string'
        ? undefined
        : estimate(compiled.ast, scope).shape;
    item = list?.elem ?? jsonWithin(MAX_FOREACH_LIST_BYTES);
  }
  return new Map([...scope, ['item', item], ['index', SCALAR]]);
}

/**
 * A forEach step: its list expression reads only what the step depends on; its Agent may not be
 * gated (one decision cannot bind a list of different inputs); and no other step may be named like
 * one of its instances, whose pods are `<step>-<index>-<attempt>` (api/labels.ts).
 */
function checkForEach(
  wf: Workflow,
  step: WorkflowStep,
  agent: Agent | undefined,
  at: string,
  site: Omit<ExpressionSite, 'field' | 'step'>,
): WorkflowProblem[] {
  const out: WorkflowProblem[] = [];
  const fe = step.forEach ?? {};
  if ((fe.items === undefined) === (fe.expression === undefined)) {
    out.push({
      reason: 'InvalidForEach',
      step: step.name,
      message: `${at}.forEach: set exactly one of items and expression`,
    });
  }
  if (fe.expression !== undefined)
    out.push(
      ...checkExpression(
        fe.expression,
        { ...site, field: `${at}.forEach.expression`, step },
        'InvalidForEach',
      ),
    );
  if (fe.items !== undefined && fe.items.length > MAX_INSTANCES)
    out.push({
      reason: 'InvalidForEach',
      step: step.name,
      message: `${at}.forEach.items: ${fe.items.length} items, more than the ${MAX_INSTANCES} a forEach step may have`,
    });
  if (agent && approvalPolicyOf(step, agent))
    out.push({
      reason: 'InvalidForEach',
      step: step.name,
      message: `${at}.forEach: Agent "${agent.metadata.name}" requires an approval, which a forEach step cannot have (one decision cannot bind many different inputs); gate a step before or after the fan-out`,
    });
  const clash = new RegExp(`^${step.name}-[0-9]+$`);
  for (const other of [...wf.spec.steps, ...(wf.spec.finally ?? [])]) {
    if (clash.test(other.name))
      out.push({
        reason: 'InvalidForEach',
        step: other.name,
        message: `spec.${wf.spec.finally?.includes(other) ? 'finally' : 'steps'}[${other.name}]: the name is that of an instance of forEach step "${step.name}" (their pods would share names); rename one of them`,
      });
  }
  return out;
}

interface ExpressionSite {
  /** The field the expression is written in, e.g. spec.steps[notify].inputs.text. */
  readonly field: string;
  readonly step: WorkflowStep;
  readonly upstream: ReadonlySet<string>;
  readonly wfInputs: Record<string, unknown>;
  readonly scope: ReadonlyMap<string, Shape>;
  /** Running sum of the Workflow's estimates (of the expressions under the per-call limit). */
  readonly total: { cost: number };
}

function checkExpression(
  expr: string,
  site: ExpressionSite,
  reason: 'InvalidCondition' | 'InvalidTemplate' | 'InvalidForEach',
): WorkflowProblem[] {
  const { field, step, upstream, wfInputs } = site;
  const out: WorkflowProblem[] = [];
  const compiled = compile(expr);
  if (typeof compiled === 'string') {
    out.push({
      reason,
      step: step.name,
      message: `${field}: cannot parse ${JSON.stringify(expr)}: ${compiled}`,
    });
    return out;
  }
  const instanceOnly = site.scope.has('item') ? [] : ['item', 'index'];
  for (const v of freeVariables(compiled.ast)) {
    if (instanceOnly.includes(v))
      out.push({
        reason,
        step: step.name,
        message: `${field}: ${JSON.stringify(expr)} uses \`${v}\`, which only the inputs and when of a forEach step can read`,
      });
  }
  for (const ref of referencedSteps(expr)) {
    if (!upstream.has(ref)) {
      out.push({
        reason,
        step: step.name,
        message: `${field}: ${JSON.stringify(expr)} refers to step "${ref}", which is not among this step's dependencies (dependsOn, directly or transitively)`,
      });
    }
  }
  for (const name of referencedInputs(expr)) {
    if (!Object.hasOwn(wfInputs, name)) {
      out.push({
        reason: 'MissingInput',
        step: step.name,
        message: `${field}: ${JSON.stringify(expr)} refers to inputs.${name}, which spec.inputs does not define`,
      });
    }
  }
  if (out.length > 0) return out;
  const { cost } = estimate(compiled.ast, site.scope);
  // An expression refused on its own is reported once, not again in the Workflow's total.
  if (cost <= CEL_PER_CALL_COST_LIMIT) site.total.cost += cost;
  if (cost > CEL_PER_CALL_COST_LIMIT) {
    out.push({
      reason: 'ExpressionTooExpensive',
      step: step.name,
      message: `${field}: ${JSON.stringify(expr)} has an estimated worst-case cost of ${formatCost(cost)}, more than the limit of ${CEL_PER_CALL_COST_LIMIT} per evaluation (bound list sizes with maxItems/maxLength in the Agent's outputsSchema, or avoid nested loops)`,
    });
  }
  return out;
}

/**
 * Inputs fixed in the spec (no template) must already satisfy the Agent's
 * inputsSchema, and every required input must be given. Templated values are
 * checked after rendering, before the pod exists.
 */
function checkLiteralInputs(step: WorkflowStep, agent: Agent, at: string): WorkflowProblem[] {
  const schema = agent.spec.inputsSchema;
  const out: WorkflowProblem[] = [];
  const inputs = step.inputs ?? {};
  const required = Array.isArray(schema?.['required']) ? (schema['required'] as unknown[]) : [];
  for (const r of required) {
    if (typeof r === 'string' && !Object.hasOwn(inputs, r)) {
      out.push({
        reason: 'InputsSchemaMismatch',
        step: step.name,
        message: `${at}.inputs: missing "${r}", which Agent "${agent.metadata.name}" requires (spec.inputsSchema.required)`,
      });
    }
  }
  const literal: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(inputs)) if (!isTemplated(v)) literal[k] = v;
  const compiled = compileUserSchema(schema);
  if (!compiled.ok) return out; // the Agent itself is not Ready; reported as AgentNotReady
  // Validate literals alone; "required" errors for templated keys are not theirs to report.
  const res = compiled.validate(literal);
  if (!res.ok) {
    for (const e of res.errors) {
      const key = e.path.split('/')[1] ?? '';
      const isRequiredNoise = e.path === '' && /required/.test(e.message);
      if (isRequiredNoise || (key !== '' && !Object.hasOwn(literal, key))) continue;
      out.push({
        reason: 'InputsSchemaMismatch',
        step: step.name,
        message: `${at}.inputs${e.path.replace(/\//g, '.')}: ${e.message} (Agent "${agent.metadata.name}" inputsSchema)`,
      });
    }
  }
  if (
    schema &&
    isJsonObject(schema) &&
    schema['additionalProperties'] === false &&
    isJsonObject(schema['properties'])
  ) {
    // Covered by the validation above for literal keys; templated unknown keys are caught here.
    const known = new Set(Object.keys(schema['properties']));
    for (const k of Object.keys(inputs)) {
      if (!known.has(k) && isTemplated(inputs[k])) {
        out.push({
          reason: 'InputsSchemaMismatch',
          step: step.name,
          message: `${at}.inputs.${k}: Agent "${agent.metadata.name}" accepts no input "${k}" (additionalProperties: false)`,
        });
      }
    }
  }
  return out;
}
