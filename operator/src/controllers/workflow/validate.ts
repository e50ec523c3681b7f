// What must hold before a Workflow may start, checked against the Agents it
// uses. Every problem names the step and field; the reconciler turns them into
// a Stalled condition and an Event. Pure.
import type { Agent, Workflow, WorkflowStep } from '../../api/generated/index.ts';
import { compileUserSchema, isJsonObject } from '../../api/schemas.ts';
import { buildGraph, type Graph } from './graph.ts';
import {
  compile,
  isTemplated,
  referencedInputs,
  referencedSteps,
  templateExpressions,
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
  | 'InputsSchemaMismatch';

export interface WorkflowProblem {
  readonly reason: ProblemReason;
  readonly step?: string;
  readonly message: string;
}

export type ValidationOutcome =
  { ok: true; graph: Graph } | { ok: false; problems: WorkflowProblem[]; graph?: Graph };

export function validateWorkflow(wf: Workflow, agents: ReadonlyMap<string, Agent>): ValidationOutcome {
  const g = buildGraph(wf.spec.steps);
  if (!g.ok) return { ok: false, problems: g.problems };
  const graph = g.graph;
  const problems: WorkflowProblem[] = [];
  const wfInputs = wf.spec.inputs ?? {};
  for (const step of wf.spec.steps) {
    const at = `spec.steps[${step.name}]`;
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
    const upstream = graph.ancestors.get(step.name) ?? new Set<string>();
    if (step.when !== undefined) {
      problems.push(
        ...checkExpression(step.when, `${at}.when`, step, upstream, wfInputs, 'InvalidCondition'),
      );
    }
    for (const expr of templateExpressions(step.inputs ?? {})) {
      problems.push(...checkExpression(expr, `${at}.inputs`, step, upstream, wfInputs, 'InvalidTemplate'));
    }
    if (agent?.spec.inputsSchema) problems.push(...checkLiteralInputs(step, agent, at));
  }
  return problems.length === 0 ? { ok: true, graph } : { ok: false, problems, graph };
}

function checkExpression(
  expr: string,
  field: string,
  step: WorkflowStep,
  upstream: ReadonlySet<string>,
  wfInputs: Record<string, unknown>,
  reason: 'InvalidCondition' | 'InvalidTemplate',
): WorkflowProblem[] {
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
