import { describe, expect, it } from 'vitest';
import { diffLines, stableJson, unifiedDiff } from '../../../cli/lib/diff.ts';

const L = { from: 'old', to: 'new' };

describe('stableJson', () => {
  it('sorts keys at every level, keeps array order', () => {
    expect(stableJson({ b: 1, a: { d: [3, 1], c: null } })).toBe(
      '{\n  "a": {\n    "c": null,\n    "d": [\n      3,\n      1\n    ]\n  },\n  "b": 1\n}',
    );
    expect(stableJson({ b: 1, a: 2 })).toBe(stableJson({ a: 2, b: 1 }));
  });
});

describe('unifiedDiff', () => {
  it('is empty for equal texts', () => {
    expect(unifiedDiff('a\nb', 'a\nb', L)).toBe('');
  });

  it('shows a changed line with three lines of context', () => {
    const a = ['1', '2', '3', '4', '5', '6', '7', '8'].join('\n');
    const b = ['1', '2', '3', '4', 'five', '6', '7', '8'].join('\n');
    expect(unifiedDiff(a, b, L)).toBe(
      ['--- old', '+++ new', '@@ -2,7 +2,7 @@', ' 2', ' 3', ' 4', '-5', '+five', ' 6', ' 7', ' 8', ''].join(
        '\n',
      ),
    );
  });

  it('splits far-apart changes into hunks and merges near ones', () => {
    const a = Array.from({ length: 20 }, (_, i) => `l${i}`);
    const b = [...a];
    b[1] = 'X';
    b[18] = 'Y';
    const out = unifiedDiff(a.join('\n'), b.join('\n'), L);
    expect(out.match(/^@@/gm)).toHaveLength(2);
    expect(out).toContain('@@ -1,5 +1,5 @@');
    expect(out).toContain('@@ -16,5 +16,5 @@');
    const near = [...a];
    near[5] = 'X';
    near[9] = 'Y';
    expect(unifiedDiff(a.join('\n'), near.join('\n'), L).match(/^@@/gm)).toHaveLength(1);
  });

  it('numbers pure insertions and deletions as diff -u does', () => {
    expect(unifiedDiff('a\nb', 'a\nx\nb', L, 0)).toBe('--- old\n+++ new\n@@ -1,0 +2 @@\n+x\n');
    expect(unifiedDiff('a\nx\nb', 'a\nb', L, 0)).toBe('--- old\n+++ new\n@@ -2 +1,0 @@\n-x\n');
  });

  it('lists removals before additions within a change', () => {
    const ops = diffLines(['a', 'b', 'c'], ['a', 'x', 'y', 'c']);
    expect(ops.map((o) => `${o.kind}${o.line}`)).toEqual([' a', '-b', '+x', '+y', ' c']);
  });

  it('aligns moved-around JSON minimally', () => {
    const before = stableJson({ inputs: { env: 'staging', replicas: 3, token: '<redacted>' } });
    const after = stableJson({ inputs: { env: 'prod', replicas: 3, token: '<redacted>' } });
    const out = unifiedDiff(before, after, L);
    expect(out).toContain('-    "env": "staging",\n+    "env": "prod",\n');
    expect(out.split('\n').filter((l) => /^[-+] /.test(l) || /^[-+]\s/.test(l))).toHaveLength(2);
  });

  it('falls back to remove-then-add for huge inputs', () => {
    const a = Array.from({ length: 3000 }, (_, i) => `a${i}`);
    const b = Array.from({ length: 3000 }, (_, i) => `b${i}`);
    const ops = diffLines(a, b);
    expect(ops).toHaveLength(6000);
    expect(ops[0]?.kind).toBe('-');
    expect(ops[5999]?.kind).toBe('+');
  });
});
