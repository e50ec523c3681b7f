// A set of hostile Agents and Workflows for one namespace, each with the outcome the
// operator must give it, and the check of that outcome. Shared by the integration test
// (tests/integration/pathological.test.ts) and the benchmark (bench/run.ts), which runs
// normal load while they are present. What the limits are and why:
// docs/workflow-authors.md#limits-of-expressions and docs/agent-authors.md.
//
// Sizes are chosen against those limits (per-evaluation budget 1,000,000 units, template
// value 64 KiB, inputs delivered to a pod 120 KiB, outputs bounded by the 4096-byte
// termination message): each object is far over the limit it targets, or, for the
// "passes the estimate" cases, over it only at run time.
import { spawn } from 'node:child_process';
import { ensureTools } from '../../../cluster/src/tools.ts';
import { AGENT, EVENT, WORKFLOW } from '../../../operator/src/api/constants.ts';
import type {
  Agent,
  JsonSchemaObject,
  Workflow,
  WorkflowStep,
} from '../../../operator/src/api/generated/index.ts';
import type { KubeClient } from '../../../operator/src/kube/client.ts';
import type { KubeObject } from '../../../operator/src/kube/types.ts';
import { eventually } from './wait.ts';
import { simAgent, workflow } from './workflows.ts';

/** What the operator must make of one object of the set. */
export type Expectation =
  | {
      /** Refused before it starts: Stalled=True with `reason`, and a Warning Event naming `field`. */
      readonly kind: 'Workflow';
      readonly name: string;
      readonly outcome: 'Stalled';
      readonly reason: string;
      readonly step: string;
      /** The field the status message and the Event name, e.g. spec.steps[gate].when. */
      readonly field: string;
    }
  | {
      /** Started, then failed at run time: the Workflow Failed, `step` Failed with `stepReason`. */
      readonly kind: 'Workflow';
      readonly name: string;
      readonly outcome: 'Failed';
      readonly step: string;
      readonly stepReason: string;
    }
  | {
      /** Ran to the end (hostile-looking data the operator handles in linear time). */
      readonly kind: 'Workflow';
      readonly name: string;
      readonly outcome: 'Succeeded';
      /** A step that must end Skipped because its `when` was false. */
      readonly skipped?: string;
    }
  | {
      readonly kind: 'Agent';
      readonly name: string;
      readonly outcome: 'NotReady';
      readonly reason: string;
    };

/** A Workflow of the set as JSON text: the deepest ones cannot go through JSON.stringify. */
export interface WorkflowManifest {
  readonly name: string;
  readonly json: string;
}

export interface PathologicalSet {
  readonly namespace: string;
  readonly agents: readonly Agent[];
  readonly workflows: readonly WorkflowManifest[];
  readonly expectations: readonly Expectation[];
}

/**
 * How deep the deeply nested objects go: about as deep as the API server takes (its JSON
 * decoder, like kubectl's, stops at 10,000 levels), far deeper than Node's JSON.stringify
 * can follow on its default stack (about 4,000 levels).
 */
export const NESTING_DEPTH = 9_900;

/** A list of 2,000 numbers: a loop inside a loop inside a loop over it is ~10^10 units. */
const NUMBERS = Array.from({ length: 2000 }, (_, i) => i);

/** 100,001 characters that `^(a+)+$` does not match: catastrophic for a backtracking engine. */
const NEAR_MISS = `${'a'.repeat(100_000)}!`;

/**
 * Outputs of 8,187 bytes (a list of 4,090 numbers). The estimate assumes at most 4,096 bytes,
 * what the kubelet keeps of a termination message; KWOK keeps it whole, which stands for a
 * pod status written past that contract. A quadratic loop over it is under the budget at
 * 4,096 bytes and over it at 8,187: only the run-time meter can stop it.
 */
const OVERSIZED_OUTPUTS = JSON.stringify({ l: Array.from({ length: 4090 }, () => 0) });

/** `{"text":"aaa…"}` of exactly 4,096 bytes, the most a termination message holds. */
const A_RUN = 'a'.repeat(4096 - '{"text":""}'.length);

const BACKTRACKING = '^(a+)+$';

/** Stands in a Workflow for a value built as JSON text (nestedJson), replaced after JSON.stringify. */
const NESTED = '@nested@';

/** `{"a":{"a":…leaf…}}`, `depth` levels, as text: no recursion builds or prints it. */
function nestedJson(depth: number, leafJson: string): string {
  return `${'{"a":'.repeat(depth)}${leafJson}${'}'.repeat(depth)}`;
}

function manifest(w: Workflow, nested?: string): WorkflowManifest {
  const json = JSON.stringify(w);
  return {
    name: w.metadata.name ?? '',
    json: nested === undefined ? json : json.replace(JSON.stringify(NESTED), () => nested),
  };
}

const textSchema = (pattern: string): JsonSchemaObject => ({
  type: 'object',
  properties: { text: { type: 'string', pattern } },
});

/** The hostile set for `namespace` (one namespace, so it can sit next to others). */
export function pathologicalSet(namespace: string): PathologicalSet {
  const ns = namespace;
  const step = (name: string, agent: string, extra: Partial<WorkflowStep> = {}): WorkflowStep => ({
    name,
    agentRef: { name: agent },
    ...extra,
  });
  const agents: Agent[] = [
    simAgent('sim', ns, { result: { ok: true } }),
    simAgent(
      'oversized-outputs',
      ns,
      { rawResult: OVERSIZED_OUTPUTS },
      {
        outputsSchema: {
          type: 'object',
          properties: { l: { type: 'array', items: { type: 'integer' } } },
        },
      },
    ),
    simAgent(
      'a-run',
      ns,
      { result: { text: A_RUN } },
      { inputsSchema: textSchema(BACKTRACKING), outputsSchema: textSchema(BACKTRACKING) },
    ),
    simAgent(
      'a-run-then-bang',
      ns,
      { result: { text: `${A_RUN.slice(1)}!` } },
      { outputsSchema: textSchema(BACKTRACKING) },
    ),
    // Lookaround and backreferences are not RE2: refused, so the Agent is not Ready.
    simAgent('lookahead', ns, { result: {} }, { inputsSchema: textSchema('^(?=a)a+$') }),
    simAgent('backreference', ns, { result: {} }, { outputsSchema: textSchema('^(a+)\\1$') }),
  ];

  const workflows: WorkflowManifest[] = [];
  const expectations: Expectation[] = [];
  const stalled = (name: string, s: WorkflowStep, field: string, inputs?: Record<string, unknown>): void => {
    workflows.push(manifest(workflow(name, ns, [s], inputs ? { inputs } : {})));
    expectations.push({
      kind: 'Workflow',
      name,
      outcome: 'Stalled',
      reason: 'ExpressionTooExpensive',
      step: s.name,
      field,
    });
  };

  // Refused by the estimate before anything runs.
  stalled(
    'cubic-template',
    step('fan', 'sim', {
      inputs: { triples: '{{ inputs.l.map(x, inputs.l.map(y, inputs.l.map(z, x + y + z))) }}' },
    }),
    'spec.steps[fan].inputs.triples',
    { l: NUMBERS },
  );
  stalled(
    'cubic-when',
    step('gate', 'sim', { when: 'inputs.l.all(x, inputs.l.all(y, inputs.l.all(z, x + y + z >= 0)))' }),
    'spec.steps[gate].when',
    { l: NUMBERS },
  );
  stalled(
    'string-blowup',
    step('grow', 'sim', { inputs: { text: '{{ inputs.l.map(x, inputs.s + inputs.s) }}' } }),
    'spec.steps[grow].inputs.text',
    { l: NUMBERS, s: NEAR_MISS },
  );
  stalled(
    'regex-over-budget',
    step('match', 'sim', { when: "inputs.s.matches('^(a+)+(a+)+(a+)+(a+)+(a+)+(a+)+(a+)+(a+)+$')" }),
    'spec.steps[match].when',
    { s: NEAR_MISS },
  );
  workflows.push(
    manifest(
      workflow('literal-vs-pattern', ns, [
        step('say', 'a-run', { inputs: { text: NEAR_MISS.slice(95_000) } }),
      ]),
    ),
  );
  expectations.push({
    kind: 'Workflow',
    name: 'literal-vs-pattern',
    outcome: 'Stalled',
    reason: 'InputsSchemaMismatch',
    step: 'say',
    field: 'spec.steps[say].inputs.text',
  });
  workflows.push(manifest(workflow('uses-lookahead', ns, [step('x', 'lookahead')])));
  expectations.push({
    kind: 'Workflow',
    name: 'uses-lookahead',
    outcome: 'Stalled',
    reason: 'AgentNotReady',
    step: 'x',
    field: 'spec.steps[x].agentRef',
  });

  // Pass the estimate, stopped at run time.
  const failed = (
    name: string,
    steps: WorkflowStep[],
    at: string,
    stepReason: string,
    spec: Partial<Workflow['spec']> = {},
    nested?: string,
  ): void => {
    workflows.push(manifest(workflow(name, ns, steps, spec), nested));
    expectations.push({ kind: 'Workflow', name, outcome: 'Failed', step: at, stepReason });
  };
  failed(
    'list-blowup',
    [step('copy', 'sim', { inputs: { matrix: '{{ inputs.l.map(x, inputs.l) }}' } })],
    'copy',
    'ResultTooLarge',
    { inputs: { l: NUMBERS } },
  );
  failed(
    'outputs-cost-when',
    [
      step('big', 'oversized-outputs'),
      step('use', 'sim', {
        dependsOn: ['big'],
        when: 'steps.big.outputs.l.all(x, size(steps.big.outputs.l) > 0)',
      }),
    ],
    'use',
    'CostLimitExceeded',
  );
  failed(
    'outputs-cost-template',
    [
      step('big', 'oversized-outputs'),
      step('use', 'sim', {
        dependsOn: ['big'],
        inputs: { v: '{{ steps.big.outputs.l.filter(x, size(steps.big.outputs.l) > x) }}' },
      }),
    ],
    'use',
    'CostLimitExceeded',
  );
  failed(
    'deep-inputs',
    [step('read', 'sim', { inputs: { v: '{{ inputs.d }}' } })],
    'read',
    'InvalidTemplate',
    { inputs: { d: NESTED } },
    nestedJson(NESTING_DEPTH, '1'),
  );
  failed(
    'deep-template',
    [step('read', 'sim', { inputs: { v: NESTED } })],
    'read',
    'InvalidTemplate',
    { inputs: { x: 1 } },
    nestedJson(NESTING_DEPTH, JSON.stringify('{{ inputs.x }}')),
  );
  // 1 MiB of `{{` with no `}}`: literal text, too large to hand to a pod.
  failed(
    'brace-flood',
    [step('flood', 'sim', { inputs: { text: '{{'.repeat(512 * 1024) } })],
    'flood',
    'InputsTooLarge',
  );
  failed(
    'rendered-vs-pattern',
    [step('say', 'a-run', { inputs: { text: '{{ inputs.t }}' } })],
    'say',
    'InputsInvalid',
    { inputs: { t: NEAR_MISS.slice(95_000) } },
  );
  failed('outputs-vs-pattern', [step('emit', 'a-run-then-bang')], 'emit', 'OutputSchemaInvalid');

  // Hostile-looking data, handled in linear time: these run to the end.
  workflows.push(
    manifest(
      workflow(
        'regex-linear',
        ns,
        [
          step('first', 'sim'),
          step('match', 'sim', { dependsOn: ['first'], when: `inputs.s.matches('${BACKTRACKING}')` }),
        ],
        { inputs: { s: NEAR_MISS } },
      ),
    ),
  );
  expectations.push({ kind: 'Workflow', name: 'regex-linear', outcome: 'Succeeded', skipped: 'match' });
  workflows.push(manifest(workflow('outputs-match-pattern', ns, [step('emit', 'a-run')])));
  expectations.push({ kind: 'Workflow', name: 'outputs-match-pattern', outcome: 'Succeeded' });

  expectations.push(
    { kind: 'Agent', name: 'lookahead', outcome: 'NotReady', reason: 'InvalidInputsSchema' },
    { kind: 'Agent', name: 'backreference', outcome: 'NotReady', reason: 'InvalidOutputsSchema' },
  );
  return { namespace: ns, agents, workflows, expectations };
}

/** `kubectl create -f -` of one JSON text, without blocking the event loop (monitors run meanwhile). */
function kubectlCreate(kubeconfig: string, json: string): Promise<void> {
  const { kubectl } = ensureTools();
  return new Promise((resolve, reject) => {
    const child = spawn(kubectl, ['--kubeconfig', kubeconfig, 'create', '-f', '-'], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`kubectl create failed (${String(code)}): ${stderr}`)),
    );
    child.stdin.end(json);
  });
}

/**
 * Creates the set: the Agents, then (once the operator has judged every Agent, so that the
 * Workflows meet a known Ready condition, not a race with it) the Workflows, through kubectl,
 * which parses JSON nested deeper than Node's JSON.stringify can write.
 */
export async function applyPathologicalSet(
  client: KubeClient,
  kubeconfig: string,
  set: PathologicalSet,
): Promise<void> {
  for (const a of set.agents) await client.create(AGENT, a);
  await eventually(
    `the Agents of ${set.namespace} judged`,
    async () =>
      Promise.all(set.agents.map((a) => client.get<Agent>(AGENT, set.namespace, a.metadata.name ?? ''))),
    (as) => as.every((a) => a.status?.conditions?.some((c) => c.type === 'Ready') ?? false),
    { timeoutMs: 60_000, intervalMs: 200 },
  );
  for (const w of set.workflows) await kubectlCreate(kubeconfig, w.json);
}

interface EventObject extends KubeObject {
  reason?: string;
  note?: string;
  type?: string;
  regarding?: { name?: string; kind?: string };
}

/** Whether an object of the set got its outcome: undefined when it did, else what was seen instead. */
export async function outcomeProblem(
  client: KubeClient,
  namespace: string,
  e: Expectation,
  events?: readonly EventObject[],
): Promise<string | undefined> {
  if (e.kind === 'Agent') {
    const a = await client.get<Agent>(AGENT, namespace, e.name);
    const ready = a.status?.conditions?.find((c) => c.type === 'Ready');
    if (ready?.status === 'False' && ready.reason === e.reason) return undefined;
    return `Agent ${e.name}: Ready=${ready?.status ?? '?'} reason ${ready?.reason ?? '?'}, want False/${e.reason}`;
  }
  const w = await client.get<Workflow>(WORKFLOW, namespace, e.name);
  const phase = w.status?.phase ?? '';
  const stalledCond = w.status?.conditions?.find((c) => c.type === 'Stalled');
  const stepStatus = (name: string) => w.status?.steps?.find((s) => s.name === name);
  const seen = `phase ${phase || '?'}, Stalled ${stalledCond?.status ?? '?'}/${stalledCond?.reason ?? '?'}, steps ${(
    w.status?.steps ?? []
  )
    .map((s) => `${s.name}=${s.phase ?? '?'}/${s.reason ?? ''}`)
    .join(' ')}`;
  switch (e.outcome) {
    case 'Stalled': {
      if (stalledCond?.status !== 'True' || stalledCond.reason !== e.reason)
        return `Workflow ${e.name}: ${seen}; want Stalled/${e.reason}`;
      if (!stalledCond.message?.includes(e.field))
        return `Workflow ${e.name}: Stalled message does not name ${e.field}: ${stalledCond.message?.slice(0, 300)}`;
      const evs =
        events ??
        (await client.list<EventObject>(EVENT, namespace)).items.filter((x) => x.type === 'Warning');
      const named = evs.some(
        (x) => x.regarding?.name === e.name && x.reason === e.reason && (x.note ?? '').includes(e.field),
      );
      return named ? undefined : `Workflow ${e.name}: no Warning Event ${e.reason} naming ${e.field}`;
    }
    case 'Failed': {
      const s = stepStatus(e.step);
      if (phase === 'Failed' && s?.phase === 'Failed' && s.reason === e.stepReason) return undefined;
      return `Workflow ${e.name}: ${seen}; want Failed with step ${e.step} Failed/${e.stepReason}`;
    }
    case 'Succeeded': {
      const skippedOk =
        e.skipped === undefined ||
        (stepStatus(e.skipped)?.phase === 'Skipped' && stepStatus(e.skipped)?.reason === 'ConditionFalse');
      if (phase === 'Succeeded' && skippedOk) return undefined;
      return `Workflow ${e.name}: ${seen}; want Succeeded${e.skipped ? ` with ${e.skipped} Skipped/ConditionFalse` : ''}`;
    }
  }
}

/** Every expectation of the set that does not hold yet, as what was seen (empty: all hold). */
export async function unmetOutcomes(client: KubeClient, set: PathologicalSet): Promise<string[]> {
  const events = (await client.list<EventObject>(EVENT, set.namespace)).items.filter(
    (x) => x.type === 'Warning',
  );
  const out: string[] = [];
  for (const e of set.expectations) {
    const p = await outcomeProblem(client, set.namespace, e, events).catch((err: unknown) => String(err));
    if (p !== undefined) out.push(p);
  }
  return out;
}
