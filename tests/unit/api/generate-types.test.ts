import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  convertCrdSchema,
  DEFAULT_OUT_DIR,
  generateFiles,
  staleFiles,
  writeFiles,
  type GeneratedFile,
} from '../../../operator/hack/generate-types.ts';
import { crdSchema, type PaddockKind } from '../../../operator/src/api/schemas.ts';

const run = promisify(execFile);
const node = fileURLToPath(new URL('../../../node_modules/.bin/node', import.meta.url));
const script = fileURLToPath(new URL('../../../operator/hack/generate-types.ts', import.meta.url));

let files: GeneratedFile[];
let dir: string;

beforeAll(async () => {
  files = await generateFiles();
  dir = await mkdtemp(join(tmpdir(), 'paddock-gen-'));
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('generate-types', () => {
  it('the committed types are current (same as --check)', async () => {
    expect(await staleFiles(DEFAULT_OUT_DIR, files)).toEqual([]);
  });

  it('is deterministic', async () => {
    const again = await generateFiles();
    expect(again).toEqual(files);
  }, 60_000);

  it('emits the friendly names', () => {
    const byName = new Map(files.map((f) => [f.name, f.content]));
    const expectExports = (file: string, names: string[]): void => {
      const content = byName.get(file) ?? '';
      for (const n of names) expect(content).toMatch(new RegExp(`export (interface|type) ${n}\\b`));
    };
    expectExports('agent.ts', [
      'Agent',
      'AgentSpec',
      'AgentStatus',
      'EgressRule',
      'SecretEnvVar',
      'RiskLevel',
    ]);
    expectExports('workflow.ts', [
      'Workflow',
      'WorkflowSpec',
      'WorkflowStatus',
      'WorkflowStep',
      'StepStatus',
      'HistoryEntry',
    ]);
    expectExports('approval.ts', ['Approval', 'ApprovalSpec', 'ApprovalStatus', 'Decision', 'ApprovalPhase']);
    expectExports('common.ts', ['Condition', 'RetryPolicy', 'Backoff', 'Approvers', 'JsonSchemaObject']);
    for (const f of files) expect(f.content).toContain('DO NOT EDIT');
  });

  it('lists missing, changed and leftover files', async () => {
    await writeFiles(dir, files);
    expect(await staleFiles(dir, files)).toEqual([]);
    await writeFile(join(dir, 'agent.ts'), '// edited by hand\n');
    await unlink(join(dir, 'workflow.ts'));
    await writeFile(join(dir, 'old.ts'), 'export {};\n');
    expect(await staleFiles(dir, files)).toEqual([
      'agent.ts (differs)',
      'workflow.ts (missing)',
      'old.ts (not generated any more)',
    ]);
  });

  it('--check exits 1 naming the stale files, and 0 once regenerated', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'paddock-gen-cli-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    await writeFiles(dir, files);
    await writeFile(join(dir, 'approval.ts'), '// stale\n');
    const failed = await run(node, [script, '--check', '--out-dir', dir]).then(
      () => undefined,
      (err: { code?: number; stderr?: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain('approval.ts (differs)');
    expect(failed?.stderr).toContain('make generate');

    await run(node, [script, '--out-dir', dir]);
    expect(await readFile(join(dir, 'approval.ts'), 'utf8')).toBe(
      files.find((f) => f.name === 'approval.ts')?.content,
    );
    const ok = await run(node, [script, '--check', '--out-dir', dir]);
    expect(ok.stdout).toContain('up to date');
  }, 60_000);
});

describe('convertCrdSchema', () => {
  const kinds: PaddockKind[] = ['Agent', 'Workflow', 'Approval'];

  it.each(kinds)('%s: translates the Kubernetes keywords', (kind) => {
    const { schema } = convertCrdSchema(kind, crdSchema(kind));
    const text = JSON.stringify(schema);
    expect(text).not.toContain('x-kubernetes-');
    expect(schema.title).toBe(kind);
    expect(schema.required).toEqual(['metadata', 'spec']);
    expect(schema.properties?.['metadata']).toEqual({ tsType: 'ObjectMeta' });
  });

  it('maps int-or-string to number | string and open objects to an index signature', () => {
    const { schema } = convertCrdSchema('Agent', crdSchema('Agent'));
    expect(text(schema)).toContain('"tsType":"number | string"');
    const wf = convertCrdSchema('Workflow', crdSchema('Workflow')).schema;
    expect(wf.properties?.['spec']?.properties?.['inputs']).toMatchObject({
      tsType: '{ [k: string]: unknown }',
    });
  });

  it('fails loudly when a named path disappears from a CRD', () => {
    const schema = structuredClone(crdSchema('Workflow')) as {
      properties: { status: { properties: Record<string, unknown> } };
    };
    delete schema.properties.status.properties['history'];
    expect(() => convertCrdSchema('Workflow', schema)).toThrow(/status\.history\[\]/);
  });

  it('fails when a shared type gets two shapes', async () => {
    const changed = (kind: PaddockKind): unknown => {
      const s = structuredClone(crdSchema(kind)) as Record<string, unknown>;
      if (kind === 'Approval') {
        const status = (
          s['properties'] as Record<
            string,
            { properties: Record<string, { items: { properties: Record<string, unknown> } }> }
          >
        )['status'];
        if (status?.properties['conditions'])
          status.properties['conditions'].items.properties['extra'] = { type: 'string' };
      }
      return s;
    };
    await expect(generateFiles(changed)).rejects.toThrow(/Condition has a different shape/);
  });
});

function text(v: unknown): string {
  return JSON.stringify(v);
}
