// The code reviewer end to end: a branch of the served repository against its baseline.
import { describe, expect, it } from 'vitest';
import type { ReviewerOutputs } from '../../agents/code-reviewer/review.ts';
import { outputsOf, runAgent, useFixtures } from './support.ts';

describe('code-reviewer', () => {
  const fixtures = useFixtures();

  it('reviews the files the branch changed against the baseline', async () => {
    const out = outputsOf<ReviewerOutputs>(
      await runAgent('code-reviewer', {
        repositoryPath: `${fixtures().repositoryUrl}#feature/report`,
        baseline: 'main',
      }),
    );
    expect(out.score).toBe(70);
    expect(out.metrics).toEqual({ complexityScore: 80, testCoverage: 50, securityIssues: 1 });
    expect(out.issues[0]).toMatchObject({
      category: 'security',
      severity: 'critical',
      file: 'src/report.js',
      line: 28,
      message: 'eval() runs arbitrary code',
    });
    expect(out.summary).toMatch(/^score 70\/100 for 2 changed file\(s\) against main/);
  });

  it('reviews exactly the changedFiles given', async () => {
    const out = outputsOf<ReviewerOutputs>(
      await runAgent('code-reviewer', {
        repositoryPath: fixtures().repositoryUrl,
        changedFiles: ['worker/worker.py'],
        baseline: 'main',
      }),
    );
    expect(out.issues.map((i) => `${i.file}:${i.line} ${i.message}`)).toEqual([
      'worker/worker.py:1 no test file for this source file',
      'worker/worker.py:10 yaml.load can construct arbitrary objects',
      'worker/worker.py:14 a subprocess runs through the shell',
    ]);
  });

  it('fails below failBelow with the score in the reason, and on an unknown baseline', async () => {
    const gate = await runAgent('code-reviewer', {
      repositoryPath: `${fixtures().repositoryUrl}#feature/report`,
      baseline: 'main',
      failBelow: 80,
    });
    expect(gate.exitCode).toBe(1);
    expect(gate.written).toMatch(/^score 70 is below failBelow 80: score 70\/100/);
    const unknown = await runAgent('code-reviewer', {
      repositoryPath: fixtures().repositoryUrl,
      baseline: 'nope',
    });
    expect(unknown.exitCode).toBe(1);
    expect(unknown.written).toMatch(/^baseline: no branch, tag or commit "nope"/);
  });
});
