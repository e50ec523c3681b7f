import { describe, expect, it } from 'vitest';
import type {
  Agent,
  AgentSpec,
  Workflow,
  WorkflowStep,
} from '../../../../operator/src/api/generated/index.ts';
import {
  MAX_WORKFLOW_EXPRESSION_CHARS,
  validateWorkflow,
  type ValidationOutcome,
  type WorkflowProblem,
} from '../../../../operator/src/controllers/workflow/validate.ts';

const NS = 'team-a';
const IMAGE = `ghcr.io/acme/agent@sha256:${'ab'.repeat(32)}`;

function agent(name: string, spec: Partial<AgentSpec> = {}, ready: boolean | undefined = true): Agent {
  return {
    apiVersion: 'paddock.dev/v1alpha1',
    kind: 'Agent',
    metadata: { name, namespace: NS, generation: 1 },
    spec: { image: IMAGE, ...spec },
    ...(ready === undefined
      ? {}
      : {
          status: {
            conditions: [
              {
                type: 'Ready',
                status: ready ? 'True' : 'False',
                lastTransitionTime: '2025-01-01T00:00:00Z',
                reason: ready ? 'Ready' : 'InvalidInputsSchema',
                message: ready ? '' : 'spec.inputsSchema: not a valid JSON Schema',
              },
            ],
          },
        }),
  };
}

function agents(...list: Agent[]): Map<string, Agent> {
  return new Map(list.map((a) => [a.metadata.name ?? '', a]));
}

function wf(steps: WorkflowStep[], inputs?: Record<string, unknown>): Workflow {
  return {
    apiVersion: 'paddock.dev/v1alpha1',
    kind: 'Workflow',
    metadata: { name: 'wf', namespace: NS, uid: 'uid-1', generation: 1 },
    spec: { steps, ...(inputs ? { inputs } : {}) },
  };
}

function problems(v: ValidationOutcome): WorkflowProblem[] {
  if (v.ok) throw new Error('expected problems');
  return v.problems;
}

const SCHEMA = {
  type: 'object' as const,
  properties: {
    repo: { type: 'string' },
    count: { type: 'integer' },
    opts: { type: 'object', properties: { depth: { type: 'integer' } } },
  },
  required: ['repo'],
  additionalProperties: false,
};

describe('validateWorkflow', () => {
  it('returns the graph for a valid workflow', () => {
    const v = validateWorkflow(
      wf(
        [
          { name: 'scan', agentRef: { name: 'scanner' }, inputs: { repo: '{{ inputs.repo }}' } },
          {
            name: 'fix-it',
            agentRef: { name: 'patcher' },
            dependsOn: ['scan'],
            when: 'steps.scan.outputs.findings > 0 && inputs.mode == "auto"',
            inputs: { repo: 'x', count: '{{ steps.scan.outputs.findings }}', opts: { depth: 2 } },
          },
          {
            name: 'notify',
            agentRef: { name: 'scanner' },
            dependsOn: ['fix-it'],
            // a transitive ancestor is upstream too; quoted and dashed forms both count
            inputs: {
              repo: '{{ steps.scan.outputs.repo }} {{ steps["fix-it"].outputs.x }} {{ steps.fix-it.phase }}',
            },
          },
        ],
        { repo: 'r', mode: 'auto' },
      ),
      agents(agent('scanner'), agent('patcher', { inputsSchema: SCHEMA })),
    );
    if (!v.ok) throw new Error(JSON.stringify(v.problems));
    expect(v.graph.order).toEqual(['scan', 'fix-it', 'notify']);
    expect([...v.graph.ancestors.get('notify')!].sort()).toEqual(['fix-it', 'scan']);
  });

  it('accepts an Agent that has no status yet', () => {
    const v = validateWorkflow(
      wf([{ name: 'a', agentRef: { name: 'new' } }]),
      agents(agent('new', {}, undefined)),
    );
    expect(v.ok).toBe(true);
  });

  it('accepts an Agent whose readiness is still Unknown: only Ready=False blocks', () => {
    const a = agent('settling');
    a.status = {
      conditions: [
        {
          type: 'Ready',
          status: 'Unknown',
          lastTransitionTime: '2025-01-01T00:00:00Z',
          reason: 'Reconciling',
          message: '',
        },
      ],
    };
    expect(validateWorkflow(wf([{ name: 'a', agentRef: { name: 'settling' } }]), agents(a)).ok).toBe(true);
  });

  it('passes graph problems through, without a graph', () => {
    const v = validateWorkflow(
      wf([
        { name: 'a', agentRef: { name: 'x' }, dependsOn: ['b'] },
        { name: 'b', agentRef: { name: 'x' }, dependsOn: ['a'] },
      ]),
      agents(),
    );
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.problems.map((p) => p.reason)).toEqual(['CyclicDependency']);
    expect(v.graph).toBeUndefined();
  });

  it('reports AgentNotFound with the step, field and namespace', () => {
    const v = validateWorkflow(
      wf([
        { name: 'scan', agentRef: { name: 'scanner' } },
        { name: 'patch', agentRef: { name: 'ghost' }, dependsOn: ['scan'] },
      ]),
      agents(agent('scanner')),
    );
    expect(problems(v)).toEqual([
      {
        reason: 'AgentNotFound',
        step: 'patch',
        message: `spec.steps[patch].agentRef: Agent "ghost" does not exist in namespace ${NS}`,
      },
    ]);
    // The graph is still returned alongside the problems.
    if (!v.ok) expect(v.graph?.order).toEqual(['scan', 'patch']);
  });

  it('reports AgentNotReady when the Agent says Ready=False, with its reason and message', () => {
    expect(
      problems(
        validateWorkflow(wf([{ name: 'a', agentRef: { name: 'bad' } }]), agents(agent('bad', {}, false))),
      ),
    ).toEqual([
      {
        reason: 'AgentNotReady',
        step: 'a',
        message:
          'spec.steps[a].agentRef: Agent "bad" is not Ready (InvalidInputsSchema: spec.inputsSchema: not a valid JSON Schema)',
      },
    ]);
  });

  describe('when conditions', () => {
    const base = (when: string, dependsOn?: string[]): Workflow =>
      wf(
        [
          { name: 'scan', agentRef: { name: 'a' } },
          { name: 'other', agentRef: { name: 'a' } },
          { name: 'gate', agentRef: { name: 'a' }, when, ...(dependsOn ? { dependsOn } : {}) },
          { name: 'after', agentRef: { name: 'a' }, dependsOn: ['gate'] },
        ],
        { n: 1 },
      );

    it('reports an unparsable condition as InvalidCondition', () => {
      const p = problems(validateWorkflow(base('steps.scan.outputs.x >', ['scan']), agents(agent('a'))));
      expect(p).toHaveLength(1);
      expect(p[0]).toMatchObject({ reason: 'InvalidCondition', step: 'gate' });
      expect(p[0]!.message).toMatch(/^spec\.steps\[gate\]\.when: cannot parse "steps\.scan\.outputs\.x >": /);
    });

    it('reports a condition on a step that is not upstream (sibling, downstream, unknown)', () => {
      for (const ref of ['other', 'after', 'nowhere']) {
        const p = problems(
          validateWorkflow(base(`steps.${ref}.phase == "Succeeded"`, ['scan']), agents(agent('a'))),
        );
        expect(p).toEqual([
          {
            reason: 'InvalidCondition',
            step: 'gate',
            message: `spec.steps[gate].when: "steps.${ref}.phase == \\"Succeeded\\"" refers to step "${ref}", which is not among this step's dependencies (dependsOn, directly or transitively)`,
          },
        ]);
      }
    });

    it('accepts a condition on an upstream step and on workflow inputs', () => {
      expect(validateWorkflow(base('steps.scan.outputs.n > inputs.n', ['scan']), agents(agent('a'))).ok).toBe(
        true,
      );
    });

    it('reports an input the workflow does not define as MissingInput', () => {
      const p = problems(validateWorkflow(base('inputs.absent > 0', ['scan']), agents(agent('a'))));
      expect(p).toEqual([
        {
          reason: 'MissingInput',
          step: 'gate',
          message:
            'spec.steps[gate].when: "inputs.absent > 0" refers to inputs.absent, which spec.inputs does not define',
        },
      ]);
    });
  });

  describe('input templates', () => {
    it('reports a template referencing a step that is not upstream as InvalidTemplate', () => {
      const p = problems(
        validateWorkflow(
          wf([
            { name: 'a', agentRef: { name: 'x' } },
            { name: 'b', agentRef: { name: 'x' }, inputs: { deep: ['{{ steps.a.outputs.v }}'] } },
          ]),
          agents(agent('x')),
        ),
      );
      expect(p).toEqual([
        {
          reason: 'InvalidTemplate',
          step: 'b',
          message:
            'spec.steps[b].inputs.deep.0: "steps.a.outputs.v" refers to step "a", which is not among this step\'s dependencies (dependsOn, directly or transitively)',
        },
      ]);
    });

    it('reports an unparsable template as InvalidTemplate', () => {
      const p = problems(
        validateWorkflow(
          wf([{ name: 'a', agentRef: { name: 'x' }, inputs: { v: 'x {{ 1 + }}' } }]),
          agents(agent('x')),
        ),
      );
      expect(p).toHaveLength(1);
      expect(p[0]).toMatchObject({ reason: 'InvalidTemplate', step: 'a' });
      expect(p[0]!.message).toMatch(/^spec\.steps\[a\]\.inputs\.v: cannot parse "1 \+": /);
    });

    it('reports an undefined workflow input as MissingInput (also without spec.inputs at all)', () => {
      const p = problems(
        validateWorkflow(
          wf([{ name: 'a', agentRef: { name: 'x' }, inputs: { v: 'Fix {{ inputs.cve }}' } }]),
          agents(agent('x')),
        ),
      );
      expect(p).toEqual([
        {
          reason: 'MissingInput',
          step: 'a',
          message:
            'spec.steps[a].inputs.v: "inputs.cve" refers to inputs.cve, which spec.inputs does not define',
        },
      ]);
      const ok = validateWorkflow(
        wf([{ name: 'a', agentRef: { name: 'x' }, inputs: { v: 'Fix {{ inputs.cve }}' } }], { cve: 'CVE-1' }),
        agents(agent('x')),
      );
      expect(ok.ok).toBe(true);
    });
  });

  describe('inputs against the Agent inputsSchema', () => {
    const run = (
      inputs: Record<string, unknown>,
      wfInputs: Record<string, unknown> = { n: 1 },
    ): ValidationOutcome =>
      validateWorkflow(
        wf([{ name: 'fix', agentRef: { name: 'patcher' }, inputs }], wfInputs),
        agents(agent('patcher', { inputsSchema: SCHEMA })),
      );

    it('reports a missing required input', () => {
      expect(problems(run({ count: 1 }))).toEqual([
        {
          reason: 'InputsSchemaMismatch',
          step: 'fix',
          message:
            'spec.steps[fix].inputs: missing "repo", which Agent "patcher" requires (spec.inputsSchema.required)',
        },
      ]);
    });

    it('counts a templated required input as given', () => {
      expect(run({ repo: '{{ inputs.n }}' }).ok).toBe(true);
    });

    it('reports a literal of the wrong type, naming spec.steps[<step>].inputs.<field>', () => {
      const p = problems(run({ repo: 'r', count: 'many' }));
      expect(p).toHaveLength(1);
      expect(p[0]).toMatchObject({ reason: 'InputsSchemaMismatch', step: 'fix' });
      expect(p[0]!.message).toMatch(
        /^spec\.steps\[fix\]\.inputs\.count: .*integer.*\(Agent "patcher" inputsSchema\)$/,
      );
    });

    it('names nested literal fields with dots', () => {
      const p = problems(run({ repo: 'r', opts: { depth: 'deep' } }));
      expect(p).toHaveLength(1);
      expect(p[0]!.message).toMatch(/^spec\.steps\[fix\]\.inputs\.opts\.depth: /);
    });

    it('does not flag templated values, even where the schema wants another type', () => {
      expect(run({ repo: 'r', count: '{{ inputs.n }}' }).ok).toBe(true);
      expect(run({ repo: '{{ inputs.n }}', count: 'n={{ inputs.n }}' }).ok).toBe(true);
      expect(run({ repo: 'r', opts: { depth: '{{ inputs.n }}' } }).ok).toBe(true);
    });

    it('reports a literal unknown key under additionalProperties false', () => {
      const p = problems(run({ repo: 'r', extra: 1 }));
      expect(p).toHaveLength(1);
      expect(p[0]!.message).toMatch(/^spec\.steps\[fix\]\.inputs\.extra: /);
    });

    it('reports a templated unknown key under additionalProperties false', () => {
      expect(problems(run({ repo: 'r', extra: '{{ inputs.n }}' }))).toEqual([
        {
          reason: 'InputsSchemaMismatch',
          step: 'fix',
          message:
            'spec.steps[fix].inputs.extra: Agent "patcher" accepts no input "extra" (additionalProperties: false)',
        },
      ]);
    });

    it('allows templated unknown keys when additionalProperties is not false', () => {
      const v = validateWorkflow(
        wf([{ name: 'fix', agentRef: { name: 'open' }, inputs: { extra: '{{ inputs.n }}', more: 1 } }], {
          n: 1,
        }),
        agents(agent('open', { inputsSchema: { type: 'object', properties: { a: { type: 'string' } } } })),
      );
      expect(v.ok).toBe(true);
    });

    it('reports every problem of every step', () => {
      const v = validateWorkflow(
        wf([
          { name: 's1', agentRef: { name: 'patcher' }, inputs: { count: 'x' } },
          { name: 's2', agentRef: { name: 'ghost' }, inputs: { v: '{{ inputs.none }}' } },
        ]),
        agents(agent('patcher', { inputsSchema: SCHEMA })),
      );
      expect(problems(v).map((p) => `${p.step}:${p.reason}`)).toEqual([
        's1:InputsSchemaMismatch',
        's1:InputsSchemaMismatch',
        's2:AgentNotFound',
        's2:MissingInput',
      ]);
    });
  });

  describe('expression cost', () => {
    const big = { l: Array.from({ length: 200 }, (_, i) => i), secret: 'Cnry7Secret' };
    const steps = (when: string, template: string): WorkflowStep[] => [
      { name: 'scan', agentRef: { name: 'a' } },
      { name: 'next', agentRef: { name: 'a' }, dependsOn: ['scan'], when, inputs: { deep: { t: template } } },
    ];

    it('refuses a cubic when and a cubic template with ExpressionTooExpensive, naming field, estimate and limit', () => {
      const cubic = 'inputs.l.map(x, inputs.l.map(y, inputs.l.map(z, z + inputs.secret.size())))';
      const p = problems(
        validateWorkflow(wf(steps(`${cubic}.size() > 0`, `{{ ${cubic} }}`), big), agents(agent('a'))),
      );
      expect(p.map((x) => `${x.step}:${x.reason}`)).toEqual([
        'next:ExpressionTooExpensive',
        'next:ExpressionTooExpensive',
      ]);
      expect(p[0]!.message).toMatch(
        /^spec\.steps\[next\]\.when: ".*" has an estimated worst-case cost of \d+, more than the limit of 1000000 per evaluation/,
      );
      expect(p[1]!.message).toMatch(/^spec\.steps\[next\]\.inputs\.deep\.t: /);
      for (const x of p) expect(x.message).not.toContain('Cnry7Secret');
    });

    it('accepts a loop over outputs without declared bounds, and a loop over inputs', () => {
      const v = validateWorkflow(
        wf(
          steps(
            'steps.scan.outputs.files.exists(f, f.endsWith(".go"))',
            '{{ steps.scan.outputs.files.map(f, f + ".orig") + inputs.l.map(x, string(x)) }}',
          ),
          big,
        ),
        agents(agent('a')),
      );
      expect(v.ok).toBe(true);
    });

    it('refuses a quadratic loop over outputs unless the outputsSchema bounds the list', () => {
      const when = 'steps.scan.outputs.files.all(f, steps.scan.outputs.files.exists(g, g == f))';
      const open = validateWorkflow(wf(steps(when, 'x'), big), agents(agent('a')));
      expect(problems(open).map((x) => x.reason)).toEqual(['ExpressionTooExpensive']);
      const bounded = agent('a', {
        outputsSchema: {
          type: 'object',
          properties: { files: { type: 'array', maxItems: 100, items: { type: 'string', maxLength: 64 } } },
        },
      });
      expect(validateWorkflow(wf(steps(when, 'x'), big), agents(bounded)).ok).toBe(true);
    });

    it('refuses a Workflow whose expressions together are over the per-Workflow limit', () => {
      const each = 'inputs.l.map(x, inputs.l.filter(y, y > x).size())';
      const many: WorkflowStep[] = Array.from({ length: 60 }, (_, i) => ({
        name: `s${i}`,
        agentRef: { name: 'a' },
        inputs: { v: `{{ ${each} }}` },
      }));
      const p = problems(validateWorkflow(wf(many, big), agents(agent('a'))));
      expect(p).toHaveLength(1);
      expect(p[0]!.reason).toBe('ExpressionTooExpensive');
      expect(p[0]!.step).toBeUndefined();
      expect(p[0]!.message).toMatch(
        /^spec\.steps: the expressions of this Workflow have an estimated worst-case cost of \d+ together, more than the limit of 10000000 per Workflow$/,
      );
      expect(validateWorkflow(wf(many.slice(0, 5), big), agents(agent('a'))).ok).toBe(true);
    });
  });
});

describe('validateWorkflow: bounded work per Workflow', () => {
  it('refuses more expression text than the limit without parsing any of it', () => {
    const big = `{{ ${'1 + '.repeat(1000)}1 }}`;
    const steps: WorkflowStep[] = Array.from({ length: 10 }, (_, i) => ({
      name: `s${i}`,
      agentRef: { name: 'a' },
      inputs: { x: big },
    }));
    const p = problems(validateWorkflow(wf(steps), agents(agent('a'))));
    expect(p.map((x) => x.reason)).toEqual(['ExpressionTooExpensive']);
    expect(p[0]!.message).toContain(`more than ${MAX_WORKFLOW_EXPRESSION_CHARS} characters together`);
  });

  it('validates a stored Workflow once per generation and set of Agent versions', () => {
    const stored = (generation: number): Workflow => ({
      ...wf([{ name: 's', agentRef: { name: 'a' }, inputs: { x: '{{ inputs.n + 1 }}' } }], { n: 1 }),
      metadata: { name: 'wf', namespace: NS, uid: 'uid-cache', generation, resourceVersion: '7' },
    });
    const a1 = { ...agent('a'), metadata: { ...agent('a').metadata, resourceVersion: '10' } };
    const first = validateWorkflow(stored(1), agents(a1));
    expect(first.ok).toBe(true);
    expect(
      validateWorkflow(
        { ...stored(1), metadata: { ...stored(1).metadata, resourceVersion: '8' } },
        agents(a1),
      ),
    ).toBe(first);
    // A changed Agent (new resourceVersion) or a new generation is validated again.
    const a2 = { ...agent('a', {}, false), metadata: { ...agent('a').metadata, resourceVersion: '11' } };
    expect(problems(validateWorkflow(stored(1), agents(a2)))[0]!.reason).toBe('AgentNotReady');
    expect(validateWorkflow(stored(2), agents(a1))).not.toBe(first);
  });
});
