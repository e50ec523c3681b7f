// The CRDs on a real API server: they install, every example is accepted,
// and every invalid manifest is refused with a message that names the field.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../cluster/src/paths.ts';
import { useCluster } from './support/cluster.ts';
import { kubectl } from './support/kubectl.ts';

const FIXTURES = join(REPO_ROOT, 'tests', 'integration', 'fixtures');
const EXAMPLES = join(REPO_ROOT, 'examples');

function expectation(file: string): string {
  const m = /^# expect: (.+)$/m.exec(readFileSync(file, 'utf8'));
  if (!m?.[1]) throw new Error(`${file} has no "# expect:" header`);
  return m[1].trim();
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => join(dir, f));
}

const invalid = yamlFiles(join(FIXTURES, 'invalid'));
const immutable = yamlFiles(join(FIXTURES, 'immutable'));

describe('CRDs on the real API server', () => {
  const env = useCluster();

  it('installs all three CRDs, established, with the paddock category and short names', () => {
    const { kubeconfig } = env();
    const crds = env().kubectl(['get', 'crd', '-o', 'jsonpath={.items[*].metadata.name}']).split(' ').sort();
    expect(crds).toEqual(['agents.paddock.dev', 'approvals.paddock.dev', 'workflows.paddock.dev']);
    const resources = kubectl(kubeconfig, ['api-resources', '--api-group=paddock.dev', '-o', 'wide']).stdout;
    for (const kind of ['Agent', 'Workflow', 'Approval']) expect(resources).toMatch(new RegExp(`${kind}\\s`));
    expect(resources).toContain('paddock');
    // `kubectl get paddock` resolves the category to all three kinds.
    const cat = kubectl(kubeconfig, ['get', 'paddock', '-A']);
    expect(cat.code, cat.stderr).toBe(0);
  });

  it('accepts every example and shows the printer columns', () => {
    env().kubectl(['apply', '-f', join(EXAMPLES, 'namespace.yaml')]);
    const out = env().kubectl([
      'apply',
      '--server-side',
      '-R',
      '-f',
      join(EXAMPLES, 'agents'),
      '-f',
      join(EXAMPLES, 'workflows'),
    ]);
    const applied = out.split('\n').filter((l) => l.includes('serverside-applied'));
    expect(applied.length).toBe(
      readdirSync(join(EXAMPLES, 'agents')).length + readdirSync(join(EXAMPLES, 'workflows')).length,
    );
    const agents = env().kubectl(['get', 'agents', '-n', 'paddock-demo']);
    expect(agents.split('\n')[0]).toMatch(/NAME\s+RISK\s+IMAGE\s+READY\s+AGE/);
    const wfs = env().kubectl(['get', 'pwf', '-n', 'paddock-demo']);
    expect(wfs.split('\n')[0]).toMatch(/NAME\s+PHASE/);
  });

  it(`has a table of at least 20 invalid manifests`, () => {
    expect(invalid.length).toBeGreaterThanOrEqual(20);
  });

  describe.each(invalid.map((f) => [f.split('/').pop()!, f]))('refuses %s', (_name, file) => {
    it('with a message naming the field', () => {
      const want = expectation(file);
      const res = kubectl(env().kubeconfig, ['apply', '--dry-run=server', '-n', 'default', '-f', file]);
      expect(res.code, `expected refusal, got: ${res.stdout}`).not.toBe(0);
      expect(res.stderr).toContain(want);
    });
  });

  describe.each(immutable.map((f) => [f.split('/').pop()!, f]))('refuses the update in %s', (_name, file) => {
    it('after accepting the original', () => {
      const want = expectation(file);
      const [original, update] = readFileSync(file, 'utf8').split(/^---$/m);
      const ns = `imm-${Math.random().toString(36).slice(2, 8)}`;
      env().kubectl(['create', 'namespace', ns]);
      const first = kubectl(env().kubeconfig, ['apply', '--server-side', '-n', ns, '-f', '-'], original);
      expect(first.code, first.stderr).toBe(0);
      const second = kubectl(
        env().kubeconfig,
        ['apply', '--server-side', '--force-conflicts', '-n', ns, '-f', '-'],
        update,
      );
      expect(second.code, `expected refusal, got: ${second.stdout}`).not.toBe(0);
      expect(second.stderr).toContain(want);
    });
  });
});
