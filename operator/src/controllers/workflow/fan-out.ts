// A forEach step (a fan-out): the step runs once per item of a list, each instance an attempt
// sequence of its own with deterministic pod names (`<workflow>-<step>-<index>-<attempt>`), so the
// crash-safety rules of attempts.ts hold per instance. The step itself is Running from the moment
// its list is known until every instance has ended; then it Succeeded, or Failed if an instance
// failed. Instances count against spec.parallelism; pending instances also wait while as many
// instances wait in retry backoff, which bounds the instances kept in full in status.
// (docs/workflow-authors.md, "Fan-out"). Pure.
import type { StepStatus, Workflow, WorkflowStep } from '../../api/generated/index.ts';
import { LABEL_INSTANCE, LABEL_STEP } from '../../api/labels.ts';
import type { Pod } from '../../kube/core-types.ts';
import { adoptNewerPod, observeRunning, start, type InstanceUnit } from './attempts.ts';
import { evaluateCondition, evaluateWithin, referencedSteps, type ExpressionContext } from './expressions.ts';
import {
  MAX_FAILURES_KEPT,
  MAX_FANOUT_OUTPUTS_BYTES,
  MAX_FOREACH_LIST_BYTES,
  MAX_INSTANCES,
  countPhases,
  decodeInstances,
  encodeInstances,
  freshInstances,
  jsonBytes,
  phaseLetter,
} from './instances.ts';
import { finish } from './outcomes.ts';
import { TERMINAL_STEP, WAIT_TO_CREATE, type EngineInput, type Plan } from './plan.ts';
import { context, failureReason, lostOutputs } from './template-scope.ts';

type Scope = { expr: ExpressionContext; lost: ReadonlyMap<string, string> };
export type ItemsResult =
  { ok: true; items: readonly unknown[] } | { ok: false; reason: string; message: string };

/** Where a step is written, for messages: spec.steps[name] or spec.finally[name]. */
export function stepField(wf: Workflow, name: string): string {
  return `spec.${wf.spec.finally?.some((s) => s.name === name) ? 'finally' : 'steps'}[${name}]`;
}

/** The list a forEach step runs over, or why there is none. Never quotes a value. */
export function forEachItems(wf: Workflow, spec: WorkflowStep, scope: Scope): ItemsResult {
  const at = `${stepField(wf, spec.name)}.forEach`;
  const fe = spec.forEach ?? {};
  let value: unknown = fe.items;
  if (fe.items === undefined) {
    const expr = fe.expression ?? '';
    const gone = lostOutputs(referencedSteps(expr), scope.lost);
    if (gone) return { ok: false, reason: 'OutputsUnavailable', message: `${at}.expression: ${gone}` };
    const r = evaluateWithin(expr, scope.expr, MAX_FOREACH_LIST_BYTES);
    if (!r.ok) {
      const reason = failureReason(r.reason, 'InvalidTemplate');
      return {
        ok: false,
        reason: reason === 'InvalidTemplate' ? 'InvalidForEach' : reason,
        message: `${at}.expression: ${r.error}`,
      };
    }
    value = r.value;
  }
  if (!Array.isArray(value)) {
    const kind = value === null ? 'null' : typeof value === 'object' ? 'a map' : `a ${typeof value}`;
    return { ok: false, reason: 'InvalidForEach', message: `${at}.expression must give a list, got ${kind}` };
  }
  if (value.length > MAX_INSTANCES) {
    return {
      ok: false,
      reason: 'TooManyItems',
      message: `${at}: the list has ${value.length} items, more than the ${MAX_INSTANCES} a forEach step may have`,
    };
  }
  return { ok: true, items: value };
}

/** One forEach step during one planning pass: its instances decoded, worked on, encoded back. */
export class FanOut {
  instances: StepStatus[];
  private readonly podsByIndex = new Map<number, Pod[]>();
  private outputsBytes = 0;
  /** Failed instances so far (asInstance). */
  private failed: number | undefined;
  /** Why instances waited when the pass began (asInstance). */
  private waits: ReadonlySet<string> | undefined;
  private scope: Scope | undefined;
  private items: ItemsResult | undefined;

  private readonly wf: Workflow;
  readonly spec: WorkflowStep;
  readonly st: StepStatus;
  private readonly steps: ReadonlyMap<string, StepStatus>;
  private readonly input: EngineInput;

  constructor(
    wf: Workflow,
    spec: WorkflowStep,
    st: StepStatus,
    steps: ReadonlyMap<string, StepStatus>,
    input: EngineInput,
  ) {
    this.wf = wf;
    this.spec = spec;
    this.st = st;
    this.steps = steps;
    this.input = input;
    this.instances = st.instances ? decodeInstances(spec.name, st.instances) : [];
    for (const pod of input.pods.values()) {
      const labels = pod.metadata.labels;
      const index = labels?.[LABEL_INSTANCE];
      if (labels?.[LABEL_STEP] !== spec.name || index === undefined) continue;
      const list = this.podsByIndex.get(Number(index)) ?? [];
      list.push(pod);
      this.podsByIndex.set(Number(index), list);
    }
    for (const ist of this.instances)
      if (ist.phase === 'Succeeded') this.outputsBytes += jsonBytes(ist.outputs ?? {}) + 1;
  }

  /** Instances with a pod running now. */
  running(): number {
    return this.instances.filter((i) => i.phase === 'Running').length;
  }

  /**
   * Sets up the instances once the step's dependencies are done: Running with a pending instance
   * per item, or ended at once (a list that cannot be had fails the step; an empty one succeeds).
   * A retried step keeps its instances when its list is unchanged (retry-run.ts).
   */
  begin(plan: Plan): boolean {
    const r = forEachItems(this.wf, this.spec, this.baseScope());
    if (!r.ok) {
      finish(plan, this.st, this.spec, 'Failed', r.reason, r.message);
      return false;
    }
    this.items = r;
    const n = r.items.length;
    const earlier = this.st.instances;
    this.st.instances = earlier && earlier.count === n ? earlier : freshInstances(n, earlier);
    this.instances = decodeInstances(this.spec.name, this.st.instances);
    this.failed = undefined;
    if (n === 0) {
      finish(plan, this.st, this.spec, 'Succeeded', 'NoItems', 'the forEach list is empty: nothing to run');
      return false;
    }
    this.st.phase = 'Running';
    this.st.startedAt = plan.now;
    delete this.st.reason;
    delete this.st.message;
    delete this.st.finishedAt;
    plan.record('StepStarted', {
      step: this.spec.name,
      reason: 'Started',
      message: `forEach over ${n} items (failurePolicy ${this.spec.forEach?.failurePolicy ?? 'FailFast'})`,
      agent: this.spec.agentRef.name,
    });
    // Pods a pass created before it crashed, its status unwritten, are this step's instances.
    this.observe(plan);
    return true;
  }

  /** Adopts pods a crashed pass created, and observes the running instances. */
  observe(plan: Plan): void {
    this.instances.forEach((ist, i) => {
      if (TERMINAL_STEP.has(ist.phase)) return;
      const unit = this.unit(i);
      this.asInstance(plan, i, () => {
        adoptNewerPod(plan, ist, this.input, unit);
        if (ist.phase === 'Running') observeRunning(plan, this.wf, this.spec, ist, this.input, unit);
      });
    });
  }

  /**
   * Plans `fn` as instance `i`'s work. Only the step's first MAX_FAILURES_KEPT instance failures are
   * Events (the rest are audit lines), so one fan-out cannot flood the Event queue all share.
   */
  private asInstance<T>(plan: Plan, i: number, fn: () => T): T {
    this.failed ??= this.instances.filter((x) => x.phase === 'Failed').length;
    const wasFailed = this.instances[i]?.phase === 'Failed';
    this.waits ??= new Set(
      this.instances.flatMap((x) => (x.phase === 'Waiting' && x.reason ? [x.reason] : [])),
    );
    const out = plan.withInstance(i, fn, { quiet: this.failed >= MAX_FAILURES_KEPT, waits: this.waits });
    if (!wasFailed && this.instances[i]?.phase === 'Failed') this.failed++;
    return out;
  }

  /**
   * Starts instances, at most `slots` of them, in index order (those whose retry is due first).
   * `failing`: another step failed the run, so nothing new starts. Returns how many took a slot.
   */
  startInstances(plan: Plan, slots: number, failing: boolean): number {
    const failFast =
      (this.spec.forEach?.failurePolicy ?? 'FailFast') === 'FailFast' &&
      this.instances.some((i) => i.phase === 'Failed');
    if (failing || failFast) {
      for (const [i, ist] of this.instances.entries()) {
        const skip = ist.phase === 'Pending' || (failing && ist.phase === 'Waiting');
        if (!skip) continue;
        this.asInstance(plan, i, () =>
          finish(
            plan,
            ist,
            this.spec,
            'Skipped',
            failing ? 'WorkflowFailed' : 'FailFast',
            failing
              ? 'not started: another step failed the workflow'
              : 'not started: another instance failed (failurePolicy FailFast)',
          ),
        );
      }
    }
    if (this.wf.spec.suspend) return 0;
    const parallelism = this.wf.spec.parallelism ?? 4;
    let waiting = this.instances.filter((i) => i.phase === 'Waiting').length;
    // Instances kept in full in status (running or waiting): never more than 2 × parallelism, at
    // most 200, the CRD's bound on instances.active. A start counts before its outcome is known (a
    // refused one waits).
    let active = waiting + this.running();
    let taken = 0;
    // Retries that are due go before new instances: they have waited already.
    const order = [
      ...this.instances.flatMap((ist, i) => (ist.phase === 'Waiting' ? [i] : [])),
      ...this.instances.flatMap((ist, i) => (ist.phase === 'Pending' ? [i] : [])),
    ];
    for (const i of order) {
      if (taken >= slots) break;
      const ist = this.instances[i]!;
      if (ist.phase === 'Waiting' && ist.nextRetryAt) {
        const at = Date.parse(ist.nextRetryAt);
        if (plan.nowMs < at) {
          plan.wakeAt(at);
          continue;
        }
      }
      const pending = ist.phase === 'Pending';
      if (pending && (waiting >= parallelism || active >= 2 * parallelism)) break;
      const took = this.asInstance(plan, i, () => this.startOne(plan, i, ist));
      if (took) {
        taken++;
        if (pending) active++;
        else waiting--;
      }
    }
    return taken;
  }

  /** Ends the step once no instance is left to run. */
  settle(plan: Plan, failing: boolean): void {
    // Written back now: steps planned later in this pass read the outputs (template-scope.ts).
    this.encode();
    if (this.st.phase !== 'Running') return;
    const n = countPhases(this.instances.map((i) => phaseLetter(i.phase)).join(''));
    if (n['P']! + n['W']! + n['R']! > 0) return;
    const total = this.instances.length;
    if (n['F']! > 0) {
      const first = this.instances.findIndex((i) => i.phase === 'Failed');
      const f = this.instances[first]!;
      finish(
        plan,
        this.st,
        this.spec,
        'Failed',
        'InstancesFailed',
        `${n['F']} of ${total} instances failed; the first, instance ${first}: ${f.reason ?? 'Failed'}: ${f.message ?? ''}`,
      );
    } else if (failing && n['K']! > 0) {
      finish(
        plan,
        this.st,
        this.spec,
        'Skipped',
        'WorkflowFailed',
        `${n['S']} of ${total} instances succeeded; the others did not start: another step failed the workflow`,
      );
    } else {
      finish(
        plan,
        this.st,
        this.spec,
        'Succeeded',
        'Completed',
        `${n['S']} of ${total} instances succeeded${n['K']! > 0 ? `, ${n['K']} skipped` : ''}`,
      );
    }
  }

  /** Stops every instance (cancel, deadline): running pods are deleted; then the step ends. */
  stop(plan: Plan, runningPhase: 'Cancelled' | 'Failed', reason: string, message: string): void {
    let stopped = false;
    this.instances.forEach((ist, i) => {
      if (TERMINAL_STEP.has(ist.phase)) return;
      this.asInstance(plan, i, () => {
        adoptNewerPod(plan, ist, this.input, this.unit(i));
        if (ist.phase === 'Running' && ist.podName) {
          if (this.input.pods.has(ist.podName) || this.input.expectedPods?.has(ist.podName))
            plan.delete.push({ name: ist.podName, reason });
          stopped = true;
          finish(plan, ist, this.spec, runningPhase, reason, message);
        } else {
          finish(plan, ist, this.spec, 'Cancelled', reason, message);
        }
      });
    });
    // Pods of instances the status does not know yet (a pass that crashed after creating them).
    for (const [i, pods] of this.podsByIndex) {
      if (this.instances[i] && this.instances[i].phase !== 'Cancelled') continue;
      for (const pod of pods) {
        const name = pod.metadata.name ?? '';
        const over = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
        if (over || pod.metadata.deletionTimestamp || !this.input.provenance.verifyPod(pod)) continue;
        if (!plan.delete.some((d) => d.name === name)) plan.delete.push({ name, reason });
      }
    }
    finish(plan, this.st, this.spec, stopped ? runningPhase : 'Cancelled', reason, message);
  }

  /** Writes the instances back into the step's status, compact. */
  encode(): void {
    if (this.st.instances === undefined && this.instances.length === 0) return;
    this.st.instances = encodeInstances(this.instances);
  }

  private startOne(plan: Plan, i: number, ist: StepStatus): boolean {
    const items = this.listOnce();
    if (!items.ok) {
      finish(plan, ist, this.spec, 'Failed', items.reason, items.message);
      return false;
    }
    if (items.items.length !== this.instances.length) {
      finish(
        plan,
        ist,
        this.spec,
        'Failed',
        'ItemsChanged',
        `${stepField(this.wf, this.spec.name)}.forEach: the list now has ${items.items.length} items, not ${this.instances.length}`,
      );
      return false;
    }
    const scope = this.instanceScope(i, items.items[i]);
    if (ist.phase === 'Pending' && this.spec.when !== undefined) {
      const gone = lostOutputs(referencedSteps(this.spec.when), scope.lost);
      if (gone) {
        finish(plan, ist, this.spec, 'Failed', 'OutputsUnavailable', `when: ${gone}`);
        return false;
      }
      const cond = evaluateCondition(this.spec.when, scope.expr);
      if (!cond.ok) {
        finish(
          plan,
          ist,
          this.spec,
          'Failed',
          failureReason(cond.reason, 'InvalidCondition'),
          `when: ${cond.error}`,
        );
        return false;
      }
      if (!cond.value) {
        finish(plan, ist, this.spec, 'Skipped', 'ConditionFalse', `when is false for instance ${i}`);
        return false;
      }
    }
    // A pending instance that ran before (the run was retried) starts a new attempt, as does a
    // retry after a failed attempt; a refused start tries the same attempt again.
    const attempt =
      ist.phase === 'Pending'
        ? (ist.attempt ?? 0) + 1
        : WAIT_TO_CREATE.has(ist.reason ?? '')
          ? (ist.attempt ?? 1)
          : (ist.attempt ?? 0) + 1;
    const before = plan.refusedStarts.length;
    const unit: InstanceUnit = { ...this.unit(i), start: () => scope };
    const took = start(plan, this.wf, this.spec, ist, attempt, this.steps, this.input, unit);
    // A refusal is applied after the pass's starts: still as this instance's.
    for (let k = before; k < plan.refusedStarts.length; k++) {
      const apply = plan.refusedStarts[k]!;
      plan.refusedStarts[k] = () => this.asInstance(plan, i, apply);
    }
    return took;
  }

  private unit(i: number): InstanceUnit {
    return {
      index: i,
      pods: this.podsByIndex.get(i) ?? [],
      refuseOutputs: (outputs) => {
        const bytes = jsonBytes(outputs) + 1;
        if (this.outputsBytes + bytes > MAX_FANOUT_OUTPUTS_BYTES)
          return `the outputs of step ${this.spec.name}'s instances would take more than ${MAX_FANOUT_OUTPUTS_BYTES} bytes of JSON together (this instance's: ${bytes}); return less per item`;
        this.outputsBytes += bytes;
        return undefined;
      },
    };
  }

  private baseScope(): Scope {
    this.scope ??= context(this.wf, this.steps, this.input);
    return this.scope;
  }

  private listOnce(): ItemsResult {
    this.items ??= forEachItems(this.wf, this.spec, this.baseScope());
    return this.items;
  }

  private instanceScope(index: number, item: unknown): Scope {
    const base = this.baseScope();
    return { expr: { ...base.expr, instance: { item, index } }, lost: base.lost };
  }
}
