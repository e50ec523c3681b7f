import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import {
  compileUserSchema,
  crdDocument,
  crdSchema,
  isJsonObject,
  PADDOCK_KINDS,
  toValidationSchema,
  validateAgent,
  validateApproval,
  validateWorkflow,
  type PaddockKind,
  type ValidationResult,
} from '../../../operator/src/api/schemas.ts';

const repo = new URL('../../../', import.meta.url);

function load(path: string): unknown {
  return parse(readFileSync(new URL(path, repo), 'utf8'));
}

function yamlFiles(dir: string): string[] {
  return readdirSync(new URL(dir, repo))
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => `${dir}/${f}`);
}

const validators: Record<PaddockKind, (o: unknown) => ValidationResult> = {
  Agent: validateAgent,
  Workflow: validateWorkflow,
  Approval: validateApproval,
};

function validate(o: unknown): ValidationResult {
  if (!isJsonObject(o) || typeof o['kind'] !== 'string' || !(o['kind'] in validators)) {
    throw new Error('not a Paddock object');
  }
  return validators[o['kind'] as PaddockKind](o);
}

function errorsOf(r: ValidationResult): { path: string; message: string }[] {
  return r.ok ? [] : r.errors;
}

const image = `ghcr.io/paddock-dev/x@sha256:${'ab'.repeat(32)}`;

describe('CRD schemas', () => {
  it.each(PADDOCK_KINDS)('%s: loads the CRD and its v1alpha1 openAPIV3Schema', (kind) => {
    const crd = crdDocument(kind);
    expect(crd['kind']).toBe('CustomResourceDefinition');
    const schema = crdSchema(kind);
    expect(schema['type']).toBe('object');
    expect(Object.isFrozen(schema)).toBe(true);
  });

  it.each(PADDOCK_KINDS)(
    '%s: follows the conventions (status subresource, category, printer columns)',
    (kind) => {
      const spec = crdDocument(kind)['spec'] as Record<string, unknown>;
      expect(spec['scope']).toBe('Namespaced');
      const names = spec['names'] as Record<string, unknown>;
      expect(names['categories']).toEqual(['paddock']);
      expect((names['shortNames'] as unknown[]).length).toBeGreaterThan(0);
      const [version] = spec['versions'] as Record<string, unknown>[];
      expect(version?.['subresources']).toEqual({ status: {} });
      const columns = (version?.['additionalPrinterColumns'] as { name: string }[]).map((c) => c.name);
      expect(columns).toContain('Age');
    },
  );

  it.each(PADDOCK_KINDS)('%s: every string and list is bounded (keeps CEL cost estimates finite)', (kind) => {
    const unbounded: string[] = [];
    const walk = (node: unknown, path: string): void => {
      if (!isJsonObject(node)) return;
      if (node['type'] === 'string' && node['maxLength'] === undefined && node['enum'] === undefined) {
        if (node['format'] !== 'date-time' && path !== '.apiVersion' && path !== '.kind')
          unbounded.push(path);
      }
      if (node['type'] === 'array' && node['maxItems'] === undefined) unbounded.push(path);
      const props = node['properties'];
      if (isJsonObject(props)) for (const [k, v] of Object.entries(props)) walk(v, `${path}.${k}`);
      walk(node['items'], `${path}[]`);
      walk(node['additionalProperties'], `${path}{}`);
    };
    walk(crdSchema(kind), '');
    expect(unbounded).toEqual([]);
  });
});

describe('toValidationSchema', () => {
  it('turns int-or-string into a type union and closes objects with declared properties', () => {
    const out = toValidationSchema({
      type: 'object',
      properties: {
        metadata: { type: 'object', properties: { name: { type: 'string' } } },
        spec: {
          type: 'object',
          'x-kubernetes-validations': [{ rule: 'true' }],
          properties: {
            q: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] },
            open: {
              type: 'object',
              'x-kubernetes-preserve-unknown-fields': true,
              properties: { a: { type: 'string' } },
            },
          },
        },
      },
    });
    expect(out).toEqual({
      type: 'object',
      additionalProperties: false,
      properties: {
        metadata: { type: 'object', properties: { name: { type: 'string' } } },
        spec: {
          type: 'object',
          additionalProperties: false,
          properties: {
            q: { type: ['integer', 'string'] },
            open: { type: 'object', properties: { a: { type: 'string' } } },
          },
        },
      },
    });
  });
});

describe('validateAgent / validateWorkflow / validateApproval', () => {
  const examples = [...yamlFiles('examples/agents'), ...yamlFiles('examples/workflows')];

  it('there are at least 4 example Agents and 2 example Workflows', () => {
    expect(yamlFiles('examples/agents').length).toBeGreaterThanOrEqual(4);
    expect(yamlFiles('examples/workflows').length).toBeGreaterThanOrEqual(2);
  });

  it.each(examples)('accepts %s', (file) => {
    expect(errorsOf(validate(load(file)))).toEqual([]);
  });

  it.each(yamlFiles('examples/agents'))('%s: its inputsSchema and outputsSchema compile', (file) => {
    const agent = load(file) as { spec: { inputsSchema?: unknown; outputsSchema?: unknown } };
    for (const schema of [agent.spec.inputsSchema, agent.spec.outputsSchema]) {
      if (schema === undefined) continue;
      const compiled = compileUserSchema(schema);
      expect(compiled.ok ? '' : compiled.error).toBe('');
    }
  });

  it('every workflow step of the examples references an example Agent', () => {
    const agents = new Set(
      yamlFiles('examples/agents').map((f) => (load(f) as { metadata: { name: string } }).metadata.name),
    );
    for (const file of yamlFiles('examples/workflows')) {
      const wf = load(file) as { spec: { steps: { agentRef: { name: string } }[] } };
      for (const step of wf.spec.steps) expect(agents).toContain(step.agentRef.name);
    }
  });

  it('reports JSON pointers for missing, unknown, mistyped and out-of-range fields', () => {
    const r = validateAgent({
      apiVersion: 'paddock.dev/v1alpha1',
      kind: 'Agent',
      metadata: { name: 'x', labels: { a: 'b' } },
      spec: {
        riskLevel: 'Dangerous',
        timeoutSeconds: 0,
        serviceAccountName: 'admin',
        resources: { limits: { cpu: true } },
        egress: [{ cidr: '10.0.0.0/8', ports: [70000] }],
      },
    });
    expect(r.ok).toBe(false);
    const errors = errorsOf(r);
    const paths = errors.map((e) => e.path);
    expect(paths).toContain('/spec/image');
    expect(paths).toContain('/spec/serviceAccountName');
    expect(paths).toContain('/spec/riskLevel');
    expect(paths).toContain('/spec/timeoutSeconds');
    expect(paths).toContain('/spec/resources/limits/cpu');
    expect(paths).toContain('/spec/egress/0/ports/0');
    expect(errors.find((e) => e.path === '/spec/image')?.message).toBe('is required');
    expect(errors.find((e) => e.path === '/spec/serviceAccountName')?.message).toBe('is not a known field');
    expect(errors.find((e) => e.path === '/spec/riskLevel')?.message).toBe(
      'must be one of: "Auto", "ApprovalRequired"',
    );
    // metadata belongs to the API server: labels and the like are not "unknown fields"
    expect(paths.filter((p) => p.startsWith('/metadata'))).toEqual([]);
  });

  it('checks apiVersion and kind when they are given', () => {
    const r = validateWorkflow({
      apiVersion: 'paddock.dev/v1',
      kind: 'Agent',
      metadata: { name: 'w' },
      spec: { steps: [{ name: 'a', agentRef: { name: 'b' } }] },
    });
    expect(errorsOf(r).map((e) => e.path)).toEqual(['/apiVersion', '/kind']);
  });

  it('accepts int and string quantities', () => {
    const r = validateAgent({
      metadata: { name: 'x' },
      spec: {
        image,
        resources: { requests: { cpu: 1, memory: '64Mi' }, limits: { cpu: '2', memory: '1Gi' } },
      },
    });
    expect(r).toEqual({ ok: true });
  });

  it('validates Approvals and their decisions', () => {
    const approval = {
      metadata: { name: 'a' },
      spec: {
        workflowRef: { name: 'fix-cve' },
        step: 'patch',
        request: { agent: 'patcher', agentGeneration: 3, image, digest: `hmac-sha256:${'0'.repeat(64)}` },
        policy: { required: 2, approvers: { groups: ['sre'] }, expiresAt: '2026-01-01T00:00:00Z' },
        decisions: [{ user: 'bob', decision: 'Approve', at: '2026-01-01T00:00:00Z' }],
      },
    };
    expect(validateApproval(approval)).toEqual({ ok: true });
    const bad = structuredClone(approval);
    bad.spec.decisions = [{ user: 'bob', decision: 'Maybe', at: 'yesterday' }];
    expect(errorsOf(validateApproval(bad)).map((e) => e.path)).toEqual([
      '/spec/decisions/0/decision',
      '/spec/decisions/0/at',
    ]);
  });
});

describe('integration fixtures', () => {
  const invalid = yamlFiles('tests/integration/fixtures/invalid');
  const immutable = yamlFiles('tests/integration/fixtures/immutable');

  it('cover at least 20 invalid manifests and the immutable fields', () => {
    expect(invalid.length).toBeGreaterThanOrEqual(20);
    expect(immutable.length).toBeGreaterThanOrEqual(5);
  });

  it.each([...invalid, ...immutable])('%s starts with an `# expect:` line', (file) => {
    const first = readFileSync(new URL(file, repo), 'utf8').split('\n')[0] ?? '';
    expect(first).toMatch(/^# expect: \S.*$/);
  });

  it.each(invalid)('%s holds exactly one document', (file) => {
    expect(parseAllDocuments(readFileSync(new URL(file, repo), 'utf8'))).toHaveLength(1);
  });

  it.each(immutable)('%s holds a valid original and an update of the same object', (file) => {
    const docs = parseAllDocuments(readFileSync(new URL(file, repo), 'utf8')).map((d) => d.toJS() as unknown);
    expect(docs).toHaveLength(2);
    const [before, after] = docs as [
      { kind: string; metadata: { name: string } },
      { kind: string; metadata: { name: string } },
    ];
    expect(errorsOf(validate(before))).toEqual([]);
    expect(after.kind).toBe(before.kind);
    expect(after.metadata.name).toBe(before.metadata.name);
  });
});
