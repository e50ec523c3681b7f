// The compliance checker end to end against the served fixture repository.
import { describe, expect, it } from 'vitest';
import type { ComplianceOutputs } from '../../agents/compliance-checker/outputs.ts';
import { outputsOf, runAgent, useFixtures } from './support.ts';

describe('compliance-checker', () => {
  const fixtures = useFixtures();

  it('fails the fixture repository on all three rule sets, with file and line', async () => {
    const run = await runAgent('compliance-checker', {
      repositoryPath: fixtures().repositoryUrl,
      rules: ['licenses', 'security-headers', 'secrets'],
    });
    const out = outputsOf<ComplianceOutputs>(run);
    expect(out.passed).toBe(false);
    expect(out.counts).toEqual({ critical: 3, warning: 5, info: 0 });
    expect(out.violations.map((v) => `${v.severity} ${v.rule} ${v.file}:${v.line}`)).toEqual([
      'critical secrets config/deploy-key.pem:1',
      'critical secrets config/deploy.env:3',
      'critical secrets config/deploy.env:4',
      'warning licenses src/server.js:1',
      'warning security-headers src/server.js:8',
      'warning security-headers src/server.js:8',
      'warning security-headers src/server.js:8',
      'warning security-headers src/server.js:8',
    ]);
    expect(run.written).not.toMatch(/AKIA[0-9A-Z]{16}/);
  });

  it('checks only the rules asked for, all three when left out', async () => {
    const only = outputsOf<ComplianceOutputs>(
      await runAgent('compliance-checker', { repositoryPath: fixtures().repositoryUrl, rules: ['licenses'] }),
    );
    expect(only.violations.map((v) => v.rule)).toEqual(['licenses']);
    const all = outputsOf<ComplianceOutputs>(
      await runAgent('compliance-checker', { repositoryPath: fixtures().repositoryUrl }),
    );
    expect(all.violations).toHaveLength(8);
  });

  it('refuses an unknown rule before running (exit 2)', async () => {
    const run = await runAgent('compliance-checker', {
      repositoryPath: fixtures().repositoryUrl,
      rules: ['gdpr'],
    });
    expect(run.exitCode).toBe(2);
  });
});
