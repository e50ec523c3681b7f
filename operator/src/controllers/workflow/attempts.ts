// Attempts and their pods: starting an attempt (rendering and checking its inputs, then its pod),
// observing a running pod to its outcome, adopting a pod a crashed pass created, and retrying.
import { attemptFailed, finish } from './outcomes.ts';
import { refuseStart } from './refused-start.ts';
import type { Agent, StepStatus, Workflow, WorkflowStep } from '../../api/generated/index.ts';
import {
  AGENT_CONTAINER,
  LABEL_ATTEMPT,
  LABEL_INSTANCE,
  LABEL_STEP,
  attemptPodName,
} from '../../api/labels.ts';
import { compileUserSchema, redact, safeErrorPath } from '../../api/schemas.ts';
import type { Pod } from '../../kube/core-types.ts';
import { MAX_INPUTS_BYTES, buildAgentPod, inputsBytes } from '../sandbox/pod.ts';
import { approvalGate } from './approval-gate.ts';
import { approvalPolicyOf } from './approval-request.ts';
import { type ExpressionContext, referencedSteps, render, templateExpressions } from './expressions.ts';
import { parseOutputs, redactMessage } from './outputs.ts';
import {
  type Plan,
  CACHE_LAG_MS,
  DEFAULT_STEP_TIMEOUT_SECONDS,
  TERMINAL_STEP,
  TIMEOUT_GRACE_MS,
  WAIT_TO_CREATE,
  type EngineInput,
} from './plan.ts';
import { truncate } from '../../util/truncate.ts';
import { notStartedCause, startVerdict, terminationCause } from './pod-start.ts';
import { containsRedacted, context, failureReason, lostOutputs } from './template-scope.ts';

/**
 * One instance of a forEach step, as the functions here see it (fan-out.ts): `st` is then the
 * instance's own status, and its pods are named and labelled with its index.
 */
export interface InstanceUnit {
  readonly index: number;
  /** The pods of this instance (any attempt), found once per pass. */
  readonly pods: readonly Pod[];
  /** The item and the scope of the step's dependencies, computed once per pass (only to start). */
  readonly start?: () => { expr: ExpressionContext; lost: ReadonlyMap<string, string> };
  /** Why these outputs cannot be taken (the step's outputs together too large), if so. */
  readonly refuseOutputs?: (outputs: Record<string, unknown>) => string | undefined;
}

/** A pod newer than the status knows (we crashed after creating it): take it as the current attempt. */
export function adoptNewerPod(plan: Plan, st: StepStatus, input: EngineInput, unit?: InstanceUnit): void {
  if (TERMINAL_STEP.has(st.phase)) return;
  let newest: Pod | undefined;
  let newestAttempt = 0;
  for (const pod of unit ? unit.pods : input.pods.values()) {
    if (pod.metadata.labels?.[LABEL_STEP] !== st.name) continue;
    // A forEach instance's pod is never a step's attempt, nor another instance's.
    const instance = pod.metadata.labels[LABEL_INSTANCE];
    if (unit ? instance !== String(unit.index) : instance !== undefined) continue;
    // Only a pod this operator made is adopted; a foreign one under an attempt's name fails that
    // attempt when the step looks at it (observeRunning).
    if (!input.provenance.verifyPod(pod)) continue;
    const a = Number(pod.metadata.labels[LABEL_ATTEMPT] ?? 0);
    if (a > newestAttempt) {
      newest = pod;
      newestAttempt = a;
    }
  }
  const known =
    st.phase === 'Running'
      ? (st.attempt ?? 0)
      : st.phase === 'Waiting' && WAIT_TO_CREATE.has(st.reason ?? '')
        ? (st.attempt ?? 1) - 1
        : (st.attempt ?? 0);
  if (newest && newestAttempt > known) {
    // The start was never recorded (the process stopped between creating the pod and
    // writing status): record it now, as the undisturbed run would have.
    plan.record('StepStarted', {
      step: st.name,
      attempt: newestAttempt,
      reason: newestAttempt === 1 ? 'Started' : 'Retried',
      message: `pod ${newest.metadata.name ?? ''} (adopted after a restart)`,
    });
    st.phase = 'Running';
    st.attempt = newestAttempt;
    st.podName = newest.metadata.name;
    st.startedAt ??= newest.metadata.creationTimestamp ?? plan.now;
    delete st.nextRetryAt;
    delete st.reason;
    delete st.message;
  }
}

export function observeRunning(
  plan: Plan,
  wf: Workflow,
  spec: WorkflowStep,
  st: StepStatus,
  input: EngineInput,
  unit?: InstanceUnit,
): void {
  const name = st.podName ?? attemptPodName(wf.metadata.name ?? '', spec.name, st.attempt ?? 1, unit?.index);
  const pod = input.pods.get(name);
  const agent = input.agents.get(spec.agentRef.name);
  if (!pod) {
    if (input.gonePods?.has(name)) {
      attemptFailed(plan, spec, st, agent, 'PodDeleted', `pod ${name} was deleted before it finished`);
    } else if (input.expectedPods?.has(name)) {
      plan.wakeAt(plan.nowMs + CACHE_LAG_MS);
    } else {
      plan.unknownPods.push(name);
    }
    return;
  }
  if (!input.provenance.verifyPod(pod)) {
    // Someone else's pod under this attempt's name: its outcome and outputs mean nothing. Fail
    // closed, without retrying into a race with whoever made it.
    finish(
      plan,
      st,
      spec,
      'Failed',
      'PodMismatch',
      `pod ${name} was not created by the Paddock operator (no valid signature); its outcome is ignored`,
    );
    return;
  }
  const phase = pod.status?.phase;
  const term = pod.status?.containerStatuses?.find((c) => c.name === AGENT_CONTAINER)?.state?.terminated;
  if (phase === 'Succeeded') {
    const parsed = parseOutputs(term?.message, agent?.spec.outputsSchema);
    if (!parsed.ok) {
      attemptFailed(plan, spec, st, agent, parsed.reason, parsed.message);
      return;
    }
    const outputs = agent?.spec.outputsSchema
      ? redact(parsed.outputs, agent.spec.outputsSchema)
      : parsed.outputs;
    const refused = unit?.refuseOutputs?.(outputs);
    if (refused !== undefined) {
      // The same outputs would come again: retrying cannot help.
      attemptFailed(plan, spec, st, agent, 'OutputsTooLarge', refused, { retry: false });
      return;
    }
    st.outputs = outputs;
    st.exitCode = term?.exitCode ?? 0;
    finish(plan, st, spec, 'Succeeded', 'Completed', `succeeded on attempt ${st.attempt ?? 1}`);
    return;
  }
  if (phase === 'Failed') {
    const deadline = pod.status?.reason === 'DeadlineExceeded';
    // Deleted while it ran: on a real node the kubelet stops the agent (SIGTERM), so the pod ends Failed
    // before it is gone. The same attempt outcome as a pod that vanished (below): PodDeleted, retried.
    const deleted = !deadline && pod.metadata.deletionTimestamp !== undefined;
    const cause = deadline || deleted ? undefined : terminationCause(pod);
    const reason = deadline ? 'Timeout' : deleted ? 'PodDeleted' : (cause?.reason ?? 'Error');
    const exited = `exit code ${term?.exitCode ?? '?'}${term?.message ? `: ${truncate(redactMessage(term.message, agent), 512)}` : ''}`;
    const detail = deadline
      ? `the pod ran longer than its activeDeadlineSeconds (${pod.spec.activeDeadlineSeconds ?? '?'})`
      : deleted
        ? `pod ${name} was deleted before it finished (${exited})`
        : cause
          ? redactMessage(cause.message, agent)
          : exited;
    if (term?.exitCode !== undefined) st.exitCode = term.exitCode;
    attemptFailed(plan, spec, st, agent, reason, detail);
    return;
  }
  if (pod.metadata.deletionTimestamp) {
    // Someone deleted it; it ends without outputs. Wait for it to be gone, then retry.
    plan.wakeAt(plan.nowMs + 5_000);
    return;
  }
  const timeout = stepTimeoutSeconds(spec, agent);
  const created = Date.parse(pod.metadata.creationTimestamp ?? st.startedAt ?? plan.now);
  const due = created + timeout * 1000 + TIMEOUT_GRACE_MS;
  if (plan.nowMs >= due) {
    plan.delete.push({ name, reason: 'Timeout' });
    attemptFailed(
      plan,
      spec,
      st,
      agent,
      'Timeout',
      `the step ran longer than its timeout (${timeout}s)${notStartedCause(pod)}`,
    );
    return;
  }
  // A pod that cannot start ends its attempt within a bound, naming the cause (pod-start.ts).
  const verdict = startVerdict(pod, plan.nowMs, input.podWarnings?.get(name));
  if (verdict.kind === 'failed') {
    plan.delete.push({ name, reason: verdict.problem.reason });
    attemptFailed(plan, spec, st, agent, verdict.problem.reason, verdict.problem.message, {
      retry: verdict.problem.retry,
    });
    return;
  }
  if (verdict.kind === 'needEvents') plan.podsNeedingEvents.push(name);
  else if (verdict.wakeAtMs !== undefined) plan.wakeAt(verdict.wakeAtMs);
  plan.wakeAt(due);
}

/**
 * Renders and checks the inputs, then plans the pod. Returns whether the step takes a parallelism
 * slot in this pass (its pod will be created, or its creation was refused in this pass).
 */
export function start(
  plan: Plan,
  wf: Workflow,
  spec: WorkflowStep,
  st: StepStatus,
  attempt: number,
  steps: ReadonlyMap<string, StepStatus>,
  input: EngineInput,
  unit?: InstanceUnit,
): boolean {
  const agent = input.agents.get(spec.agentRef.name);
  if (!agent) {
    finish(plan, st, spec, 'Failed', 'AgentNotFound', `Agent "${spec.agentRef.name}" no longer exists`);
    return false;
  }
  if (unit && approvalPolicyOf(spec, agent)) {
    // Validation refuses a gated forEach step; this is an Agent made ApprovalRequired mid-run.
    finish(
      plan,
      st,
      spec,
      'Failed',
      'ApprovalNotSupported',
      `Agent "${agent.metadata.name}" now requires an approval, which a forEach step cannot have`,
    );
    return false;
  }
  const scope = unit?.start ? unit.start() : context(wf, steps, input);
  const rendered = render(spec.inputs ?? {}, scope.expr);
  if (rendered.ok && scope.lost.size > 0 && containsRedacted(rendered.value)) {
    // Rendered from the redacted copy in status: never hand an agent "[REDACTED]" for a value.
    const refs = templateExpressions(spec.inputs ?? {}).flatMap((e) => [...referencedSteps(e)]);
    const gone = lostOutputs(refs, scope.lost);
    if (gone) {
      finish(plan, st, spec, 'Failed', 'OutputsUnavailable', `inputs: ${gone}`);
      return false;
    }
  }
  if (!rendered.ok) {
    finish(
      plan,
      st,
      spec,
      'Failed',
      failureReason(rendered.reason, 'InvalidTemplate'),
      `inputs${rendered.path.replace(/\//g, '.')}: ${rendered.error}`,
    );
    return false;
  }
  if (agent.spec.inputsSchema) {
    const compiled = compileUserSchema(agent.spec.inputsSchema);
    const res = compiled.ok
      ? compiled.validate(rendered.value)
      : { ok: false as const, errors: [{ path: '', message: compiled.error }] };
    if (!res.ok) {
      const e = res.errors[0]!;
      finish(
        plan,
        st,
        spec,
        'Failed',
        'InputsInvalid',
        `rendered inputs do not match Agent "${agent.metadata.name}" inputsSchema at ${safeErrorPath(e.path, agent.spec.inputsSchema) || '/'}: ${e.message}`,
      );
      return false;
    }
  }
  const size = inputsBytes(rendered.value);
  if (size > MAX_INPUTS_BYTES) {
    // Refused before any Approval or pod: the container could never receive them (pod.ts).
    finish(
      plan,
      st,
      spec,
      'Failed',
      'InputsTooLarge',
      `rendered inputs are ${size} bytes of JSON; at most ${MAX_INPUTS_BYTES} can be delivered to an agent`,
    );
    return false;
  }
  const digest = input.provenance.inputsDigest(
    agent.metadata.generation ?? 0,
    agent.spec.image,
    rendered.value,
  );
  const gate = approvalGate(plan, wf, spec, st, attempt, agent, rendered.value, digest, input);
  if (gate !== 'proceed') return false;
  const name = attemptPodName(wf.metadata.name ?? '', spec.name, attempt, unit?.index);
  const pod = buildAgentPod({
    namespace: wf.metadata.namespace ?? '',
    workflow: { name: wf.metadata.name ?? '', uid: wf.metadata.uid ?? '' },
    step: spec.name,
    attempt,
    ...(unit ? { instance: unit.index } : {}),
    agent: { name: agent.metadata.name ?? '', generation: agent.metadata.generation ?? 0, spec: agent.spec },
    inputs: rendered.value,
    inputsDigest: digest,
    timeoutSeconds: stepTimeoutSeconds(spec, agent),
    defaults: input.sandbox,
    provenance: input.provenance,
  });
  const refusal = input.refused?.get(name);
  if (refusal) {
    // The API server did not create it (refused-start.ts). The slot stays taken for this pass.
    plan.refusedStarts.push(() => refuseStart(plan, spec, st, refusal, attempt, 'pod', undefined));
    const resumed = plan.resumed.findIndex((r) => r.step === spec.name);
    if (resumed >= 0) plan.resumed.splice(resumed, 1);
    return true;
  }
  plan.create.push({ step: spec.name, attempt, pod });
  const first = attempt === 1;
  st.phase = 'Running';
  st.attempt = attempt;
  st.podName = name;
  st.startedAt ??= plan.now;
  delete st.nextRetryAt;
  delete st.reason;
  delete st.message;
  plan.record('StepStarted', {
    step: spec.name,
    attempt,
    reason: first ? 'Started' : 'Retried',
    message: `pod ${name} (Agent ${agent.metadata.name})`,
    agent: agent.metadata.name ?? '',
  });
  return true;
}

export function stepTimeoutSeconds(spec: WorkflowStep, agent: Agent | undefined): number {
  return spec.timeoutSeconds ?? agent?.spec.timeoutSeconds ?? DEFAULT_STEP_TIMEOUT_SECONDS;
}
