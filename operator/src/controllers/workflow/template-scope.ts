// What templates and conditions see: the run's inputs and each step's outputs and phase, with
// sensitive outputs read back from their pods (status holds them redacted).
import type { StepStatus, Workflow, WorkflowStep } from '../../api/generated/index.ts';
import { AGENT_CONTAINER, instancePodName } from '../../api/labels.ts';
import { REDACTED, sensitivePaths } from '../../api/schemas.ts';
import type { ExpressionContext, ExpressionFailureReason } from './expressions.ts';
import { parseOutputs } from './outputs.ts';
import { allSteps, runVariable } from './verdict.ts';
import { TERMINAL_STEP, type EngineInput } from './plan.ts';

// --- helpers ----------------------------------------------------------------------

export function context(
  wf: Workflow,
  steps: ReadonlyMap<string, StepStatus>,
  input: EngineInput,
): { expr: ExpressionContext; lost: ReadonlyMap<string, string> } {
  const out: ExpressionContext['steps'] = {};
  const lost = new Map<string, string>();
  for (const spec of allSteps(wf)) {
    const st = steps.get(spec.name)!;
    if (spec.forEach) {
      const r = fanOutOutputs(wf, st, spec, input);
      if (r.lostPod !== undefined) lost.set(spec.name, r.lostPod);
      out[spec.name] = { outputs: r.outputs, phase: st.phase };
      continue;
    }
    const r = realOutputs(st, spec, input);
    if (r.lostPod !== undefined) lost.set(spec.name, r.lostPod);
    out[spec.name] = { outputs: r.outputs ?? {}, phase: st.phase };
  }
  return { expr: { inputs: wf.spec.inputs ?? {}, steps: out, workflow: runVariable(wf, steps) }, lost };
}

/**
 * Outputs for templating: status holds them with sensitive fields redacted, so
 * when the Agent marks outputs sensitive, the real values are read back from
 * the step's pod (kept until the workflow finishes for that reason). When that
 * pod is gone (deleted by hand, its node lost), only the redacted copy is left:
 * `lostPod` names it, and a step that would read those values fails closed.
 */
export function realOutputs(
  st: StepStatus,
  spec: WorkflowStep,
  input: EngineInput,
): { outputs: Record<string, unknown> | undefined; lostPod?: string } {
  if (st.phase !== 'Succeeded') return { outputs: st.outputs };
  const agent = input.agents.get(spec.agentRef.name);
  if (!agent?.spec.outputsSchema || sensitivePaths(agent.spec.outputsSchema).length === 0)
    return { outputs: st.outputs };
  const found = st.podName ? input.pods.get(st.podName) : undefined;
  const pod = found && input.provenance.verifyPod(found) ? found : undefined;
  const term = pod?.status?.containerStatuses?.find((c) => c.name === AGENT_CONTAINER)?.state?.terminated;
  const parsed = pod ? parseOutputs(term?.message, agent.spec.outputsSchema) : undefined;
  return parsed?.ok ? { outputs: parsed.outputs } : { outputs: st.outputs, lostPod: st.podName ?? '?' };
}

/**
 * A forEach step's outputs for templating: the list of its instances' outputs in item order (null
 * where an instance did not succeed), sensitive fields read back from each instance's pod as in
 * realOutputs. Empty until the step has ended: dependents only run after it.
 */
export function fanOutOutputs(
  wf: Workflow,
  st: StepStatus,
  spec: WorkflowStep,
  input: EngineInput,
): { outputs: Array<Record<string, unknown> | null>; lostPod?: string } {
  const inst = st.instances;
  if (!inst || !TERMINAL_STEP.has(st.phase)) return { outputs: [] };
  const stored = Array.from({ length: inst.count }, (_, i) =>
    inst.phases[i] === 'S' ? (inst.outputs?.[i] ?? {}) : null,
  );
  const agent = input.agents.get(spec.agentRef.name);
  const schema = agent?.spec.outputsSchema;
  if (!schema || sensitivePaths(schema).length === 0) return { outputs: stored };
  let lostPod: string | undefined;
  const real = stored.map((o, i) => {
    if (o === null) return null;
    const name = instancePodName(wf.metadata.name ?? '', spec.name, i, inst.attempts?.[String(i)] ?? 1);
    const found = input.pods.get(name);
    const pod = found && input.provenance.verifyPod(found) ? found : undefined;
    const term = pod?.status?.containerStatuses?.find((c) => c.name === AGENT_CONTAINER)?.state?.terminated;
    const parsed = pod ? parseOutputs(term?.message, schema) : undefined;
    if (parsed?.ok) return parsed.outputs;
    lostPod ??= name;
    return o;
  });
  return lostPod === undefined ? { outputs: real } : { outputs: real, lostPod };
}

/** Why one of `refs` cannot give its real outputs, if so (see realOutputs). */
export function lostOutputs(refs: Iterable<string>, lost: ReadonlyMap<string, string>): string | undefined {
  for (const name of refs) {
    const pod = lost.get(name);
    if (pod !== undefined)
      return `step ${name}'s outputs are marked sensitive and its pod ${pod} is gone, so only their redacted copy in status remains; run the Workflow again`;
  }
  return undefined;
}

export function containsRedacted(v: unknown): boolean {
  if (typeof v === 'string') return v.includes(REDACTED);
  if (Array.isArray(v)) return v.some(containsRedacted);
  if (v && typeof v === 'object') return Object.values(v).some(containsRedacted);
  return false;
}

/**
 * The step failure reason for an expression that could not be evaluated: over budget
 * (CostLimitExceeded, ResultTooLarge) as such; a template's unresolved reference as
 * MissingReference; anything else (types, evaluation, a condition's missing field) as `otherwise`.
 */
export function failureReason(
  reason: ExpressionFailureReason,
  otherwise: 'InvalidCondition' | 'InvalidTemplate',
): string {
  if (reason === 'CostLimitExceeded' || reason === 'ResultTooLarge') return reason;
  return reason === 'MissingReference' && otherwise === 'InvalidTemplate' ? reason : otherwise;
}
