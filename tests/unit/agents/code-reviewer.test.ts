import { describe, expect, it } from 'vitest';
import {
  complexityScore,
  hasTestFor,
  measure,
  reviewFile,
  stripCommentsAndStrings,
} from '../../../agents/code-reviewer/heuristics.ts';
import { reviewChanges, reviewerOutputs } from '../../../agents/code-reviewer/review.ts';
import { jsonBytes } from '../../../agents/common/fit-outputs.ts';
import { filesAt } from '../../../agents/fixtures/repository-content.ts';

const files = (branch: string) => Object.entries(filesAt(branch)).map(([path, text]) => ({ path, text }));

describe('heuristics', () => {
  it('ignores keywords in comments and strings', () => {
    const code = "// if for while\nconst s = 'if (x) && y';\n/* case\n catch */ if (a) {}\n";
    expect(stripCommentsAndStrings(code, 'js').split('\n')).toHaveLength(5);
    expect(measure(code, 'js').decisions).toBe(1);
  });

  it('measures nesting by braces (JS, Go) and by indentation (Python)', () => {
    expect(measure('a { b { c { } } }', 'js').maxDepth).toBe(3);
    expect(measure('def f():\n    if x:\n        return 1\n', 'py').maxDepth).toBe(2);
  });

  it('scores complexity: 100 when flat, 10 off per level past 3 and 2 per decision past 10', () => {
    expect(complexityScore({ decisions: 3, maxDepth: 2, lines: 10 })).toBe(100);
    expect(complexityScore({ decisions: 12, maxDepth: 5, lines: 10 })).toBe(76);
    expect(complexityScore({ decisions: 200, maxDepth: 9, lines: 10 })).toBe(0);
  });

  it('finds test files by name', () => {
    expect(hasTestFor('src/util.js', ['src/util.js', 'test/util.test.js'])).toBe(true);
    expect(hasTestFor('worker/worker.py', ['tests/test_worker.py'])).toBe(true);
    expect(hasTestFor('src/report.js', ['test/util.test.js'])).toBe(false);
  });

  it('reports one issue per rule and file, counting the other lines', () => {
    const { issues } = reviewFile('a.js', 'eval(a);\neval(b);\nx.eval(c);\n', true);
    expect(issues).toEqual([
      {
        category: 'security',
        severity: 'critical',
        file: 'a.js',
        line: 1,
        message: 'eval() runs arbitrary code (and 1 more in this file)',
        suggestion: expect.any(String) as string,
      },
    ]);
  });

  it('flags Python shell=True, yaml.load and except: pass, not yaml.safe_load', () => {
    const py =
      'import yaml\ntry:\n    yaml.load(f)\nexcept Exception:\n    pass\nsubprocess.run(c, shell=True)\nyaml.safe_load(g)\n';
    const { issues } = reviewFile('w.py', py, true);
    expect(issues.map((i) => `${i.line} ${i.message}`)).toEqual([
      '6 a subprocess runs through the shell',
      '3 yaml.load can construct arbitrary objects',
    ]);
  });
});

describe('reviewChanges on the fixture branch', () => {
  it('reviews the changed files with real findings and a score from the documented formula', () => {
    const review = reviewChanges(files('feature/report'), ['src/report.js', 'src/util.js', 'gone.js']);
    expect(review.reviewed).toEqual(['src/report.js', 'src/util.js']);
    expect(review.skipped).toEqual(['gone.js']);
    expect(review.issues.map((i) => `${i.severity} ${i.category} ${i.file}:${i.line} ${i.message}`)).toEqual([
      'critical security src/report.js:28 eval() runs arbitrary code',
      'warning testing src/report.js:1 no test file for this source file',
      'warning complexity src/report.js:9 blocks nested 7 levels deep (more than 4)',
      'info maintainability src/report.js:12 1 line(s) longer than 120 characters',
      'info maintainability src/report.js:23 an open TODO/FIXME',
    ]);
    // issueScore = 100 - 15 - 5 - 5 - 1 - 1 = 73; complexity: report.js nests 7 levels (100 - 40) with 9
    // decisions (no penalty) = 60, util.js 100 -> mean 80; coverage: util.js has a test, report.js not -> 50.
    // score = round(0.6 * 73 + 0.2 * 80 + 0.2 * 50) = round(69.8) = 70.
    expect(review.metrics).toEqual({ complexityScore: 80, testCoverage: 50, securityIssues: 1 });
    expect(review.score).toBe(70);
    const out = reviewerOutputs(review, 'against main');
    expect(out.summary).toBe(
      'score 70/100 for 2 changed file(s) against main: 1 critical, 2 warning, 2 info issue(s); complexity 80, test coverage 50%; 1 deleted or binary file(s) not reviewed',
    );
  });

  it('a clean change scores 100', () => {
    const review = reviewChanges(files('main'), ['src/util.js']);
    expect(review.issues).toEqual([]);
    expect(review.score).toBe(100);
  });

  it('stays within 4096 bytes however many issues', () => {
    const many = Array.from({ length: 200 }, (_, i) => ({
      path: `src/f${i}.js`,
      text: 'eval(x); // TODO\n',
    }));
    const review = reviewChanges(
      many,
      many.map((f) => f.path),
    );
    const out = reviewerOutputs(review, 'in r');
    expect(jsonBytes(out)).toBeLessThanOrEqual(4096);
    expect(out.score).toBe(Math.round(0.2 * 100));
    expect(out.summary).toMatch(/issue\(s\) not listed/);
  });
});
