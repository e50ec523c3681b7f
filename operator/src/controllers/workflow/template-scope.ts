// What templates and conditions see: the run's inputs and each step's outputs and phase, with
// sensitive outputs read back from their pods (status holds them redacted).
import type { StepStatus, Workflow, WorkflowStep } from '../../api/generated/index.ts';
import { AGENT_CONTAINER } from '../../api/labels.ts';
import { REDACTED, sensitivePaths } from '../../api/schemas.ts';
import type { ExpressionContext, ExpressionFailureReason } from './expressions.ts';
import { parseOutputs } from './outputs.ts';
import { allSteps, runVariable } from './verdict.ts';
import type { EngineInput } from './plan.ts';

// --- helpers ----------------------------------------------------------------------

export function context(
  wf: Workflow,
  steps: ReadonlyMap<string, StepStatus>,
  input: EngineInput,
): { expr: ExpressionContext; lost: ReadonlyMap<string, string> } {
  const out: Record<string, { outputs: Record<string, unknown>; phase: string }> = {};
  const lost = new Map<string, string>();
  for (const spec of allSteps(wf)) {
    const st = steps.get(spec.name)!;
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
