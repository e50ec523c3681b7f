import { describe, expect, it } from 'vitest';
import { applyFilePatch, parseUnifiedDiff } from '../../../agents/patcher/diff.ts';
import { backupBranchName, commitMessage, planPatch } from '../../../agents/patcher/plan.ts';

const FILE = 'a\nb\nc\nd\ne\nf\ng\n';
const DIFF = `diff --git a/x.txt b/x.txt
index 0000000..1111111 100644
--- a/x.txt
+++ b/x.txt
@@ -2,3 +2,3 @@
 b
-c
+C
 d
`;

describe('parseUnifiedDiff', () => {
  it('parses git diffs, skipping extended headers', () => {
    const r = parseUnifiedDiff(DIFF);
    expect(r).toEqual({
      ok: true,
      files: [
        {
          oldPath: 'x.txt',
          newPath: 'x.txt',
          hunks: [
            {
              oldStart: 2,
              oldLines: 3,
              newStart: 2,
              newLines: 3,
              oldNoNewline: false,
              newNoNewline: false,
              lines: [
                { op: ' ', text: 'b' },
                { op: '-', text: 'c' },
                { op: '+', text: 'C' },
                { op: ' ', text: 'd' },
              ],
            },
          ],
        },
      ],
    });
  });

  it.each([
    ['empty', '', 'no file changes found'],
    ['a hunk without a header', '@@ -1 +1 @@\n-a\n+b\n', 'line 1: hunk or +++ line without a --- header'],
    [
      'wrong counts',
      '--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n-a\n+b\n',
      'line 3: hunk says -2 +2 lines but has -1 +1',
    ],
    [
      'a path leaving the repository',
      '--- a/../x\n+++ b/../x\n@@ -1 +1 @@\n-a\n+b\n',
      'line 1: unsafe path "a/../x"',
    ],
    ['a path into .git', '--- a/.git/config\n+++ b/.git/config\n@@ -1 +1 @@\n-a\n+b\n', 'unsafe path'],
    ['an absolute path', '--- /etc/passwd\n+++ /etc/passwd\n@@ -1 +1 @@\n-a\n+b\n', 'unsafe path'],
    ['a file changed twice', `${DIFF}${DIFF}`, 'x.txt is changed twice in the diff'],
    ['no hunks', '--- a/x\n+++ b/x\n', 'no hunks for x'],
  ])('refuses %s', (_name, text, error) => {
    const r = parseUnifiedDiff(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(error);
  });
});

describe('applyFilePatch', () => {
  const patch = () => {
    const r = parseUnifiedDiff(DIFF);
    if (!r.ok) throw new Error(r.error);
    return r.files[0]!;
  };

  it('applies at the named line, or shifted when lines were added above', () => {
    expect(applyFilePatch(FILE, patch())).toEqual({ ok: true, text: 'a\nb\nC\nd\ne\nf\ng\n' });
    expect(applyFilePatch(`0\n1\n${FILE}`, patch())).toEqual({
      ok: true,
      text: '0\n1\na\nb\nC\nd\ne\nf\ng\n',
    });
  });

  it('conflicts when the removed line changed, or the file is missing', () => {
    expect(applyFilePatch(FILE.replace('c\n', 'changed\n'), patch())).toEqual({
      ok: false,
      reason: 'hunk 1 (@@ -2,3) does not match the file: its context or removed lines differ',
    });
    expect(applyFilePatch(undefined, patch())).toEqual({ ok: false, reason: 'the file does not exist' });
  });

  it('creates and deletes files, and honours "no newline at end of file"', () => {
    const create = parseUnifiedDiff(
      '--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1,2 @@\n+x\n+y\n\\ No newline at end of file\n',
    );
    if (!create.ok) throw new Error(create.error);
    expect(applyFilePatch(undefined, create.files[0]!)).toEqual({ ok: true, text: 'x\ny' });
    expect(applyFilePatch('exists', create.files[0]!)).toEqual({
      ok: false,
      reason: 'the file already exists',
    });
    const del = parseUnifiedDiff('--- a/old.txt\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-x\n-y\n');
    if (!del.ok) throw new Error(del.error);
    expect(applyFilePatch('x\ny\n', del.files[0]!)).toEqual({ ok: true, text: undefined });
    expect(applyFilePatch('x\ny\nz\n', del.files[0]!)).toMatchObject({ ok: false });
  });
});

describe('planPatch', () => {
  const files: Record<string, string> = { 'x.txt': FILE, 'y.txt': 'one\n' };
  const read = (p: string) => files[p];

  it('plans every change when everything applies', () => {
    const r = parseUnifiedDiff(`${DIFF}--- a/y.txt\n+++ b/y.txt\n@@ -1 +1 @@\n-one\n+two\n`);
    if (!r.ok) throw new Error(r.error);
    expect(planPatch(r.files, read)).toEqual({
      ok: true,
      changes: [
        { path: 'x.txt', text: 'a\nb\nC\nd\ne\nf\ng\n' },
        { path: 'y.txt', text: 'two\n' },
      ],
    });
  });

  it('plans nothing when any file conflicts, and lists every conflict', () => {
    const r = parseUnifiedDiff(
      `${DIFF}--- a/y.txt\n+++ b/y.txt\n@@ -1 +1 @@\n-uno\n+two\n--- a/z.txt\n+++ b/z.txt\n@@ -1 +1 @@\n-a\n+b\n`,
    );
    if (!r.ok) throw new Error(r.error);
    expect(planPatch(r.files, read)).toEqual({
      ok: false,
      conflicts: [
        {
          file: 'y.txt',
          reason: 'hunk 1 (@@ -1,1) does not match the file: its context or removed lines differ',
        },
        { file: 'z.txt', reason: 'the file does not exist' },
      ],
    });
  });
});

describe('names', () => {
  it('derives the backup branch from the run, not the attempt', () => {
    expect(backupBranchName('main', 'fix-cve', 'patch')).toBe('paddock/backup/fix-cve/patch/main');
    expect(backupBranchName('main', 'a b..c', '')).toBe('paddock/backup/a-b..c/x/main');
    expect(commitMessage(['a'], 'w', 's')).toBe(
      'Apply patch to a\n\nApplied by the Paddock patcher agent.\n\nPaddock-Run: w/s\n',
    );
  });
});
