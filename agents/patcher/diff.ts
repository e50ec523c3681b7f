// Unified diffs (`diff -u`, `git diff`): parsing with validation, and applying to one file's text. Pure.
//
// Applying is strict, like `git apply` without fuzz: every hunk's context and removed lines must be found exactly
// in the file, at the line the hunk names or shifted by the same offset as earlier hunks, else anywhere after the
// previous hunk (the nearest match wins). Anything else is a conflict, and the caller applies nothing at all.

export interface HunkLine {
  readonly op: ' ' | '-' | '+';
  readonly text: string;
}

export interface Hunk {
  readonly oldStart: number;
  readonly oldLines: number;
  readonly newStart: number;
  readonly newLines: number;
  readonly lines: readonly HunkLine[];
  /** `\ No newline at end of file` after the last old / new line. */
  readonly oldNoNewline: boolean;
  readonly newNoNewline: boolean;
}

export interface FilePatch {
  /** Repository-relative path before, or undefined for a new file. */
  readonly oldPath: string | undefined;
  /** Repository-relative path after, or undefined for a deleted file. */
  readonly newPath: string | undefined;
  readonly hunks: readonly Hunk[];
}

export type ParsedDiff =
  | { readonly ok: true; readonly files: readonly FilePatch[] }
  | { readonly ok: false; readonly error: string };

const HUNK = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

/** Strips git's a/ b/ prefix and refuses paths that could leave the repository or touch .git. */
function cleanPath(raw: string, prefix: 'a/' | 'b/'): { path: string | undefined; error?: string } {
  const name = raw.split('\t')[0]?.trim() ?? '';
  if (name === '/dev/null') return { path: undefined };
  const path = name.startsWith(prefix) ? name.slice(2) : name;
  const parts = path.split('/');
  if (
    path === '' ||
    path.startsWith('/') ||
    parts.includes('..') ||
    parts.includes('.git') ||
    path.includes('\\')
  ) {
    return { path: undefined, error: `unsafe path "${name}"` };
  }
  return { path };
}

export function parseUnifiedDiff(text: string): ParsedDiff {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const files: FilePatch[] = [];
  const fail = (i: number, message: string): ParsedDiff => ({
    ok: false,
    error: `line ${i + 1}: ${message}`,
  });
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] ?? '';
    if (!line.startsWith('--- ')) {
      // git's extended headers (diff --git, index, mode lines) and free text between files are skipped.
      if (line.startsWith('@@') || line.startsWith('+++ '))
        return fail(i, 'hunk or +++ line without a --- header');
      i++;
      continue;
    }
    const next = lines[i + 1] ?? '';
    if (!next.startsWith('+++ ')) return fail(i + 1, 'expected a +++ line after the --- line');
    const from = cleanPath(line.slice(4), 'a/');
    const to = cleanPath(next.slice(4), 'b/');
    if (from.error) return fail(i, from.error);
    if (to.error) return fail(i + 1, to.error);
    if (from.path === undefined && to.path === undefined) return fail(i, 'both sides are /dev/null');
    i += 2;
    const hunks: Hunk[] = [];
    while (i < lines.length && (lines[i] ?? '').startsWith('@@')) {
      const m = HUNK.exec(lines[i] ?? '');
      if (!m) return fail(i, 'malformed hunk header');
      const oldLines = m[2] === undefined ? 1 : Number(m[2]);
      const newLines = m[4] === undefined ? 1 : Number(m[4]);
      const headerAt = i;
      i++;
      const body: HunkLine[] = [];
      let [oldSeen, newSeen] = [0, 0];
      let oldNoNewline = false;
      let newNoNewline = false;
      while (
        i < lines.length &&
        (oldSeen < oldLines || newSeen < newLines || (lines[i] ?? '').startsWith('\\'))
      ) {
        const l = lines[i] ?? '';
        if (l.startsWith('\\')) {
          const last = body[body.length - 1];
          if (!last) return fail(i, '"\\ No newline" before any line');
          if (last.op !== '+') oldNoNewline = true;
          if (last.op !== '-') newNoNewline = true;
          i++;
          continue;
        }
        const op = l === '' ? ' ' : l[0];
        if (op !== ' ' && op !== '-' && op !== '+') break;
        body.push({ op, text: l.slice(1) });
        if (op !== '+') oldSeen++;
        if (op !== '-') newSeen++;
        i++;
      }
      if (oldSeen !== oldLines || newSeen !== newLines) {
        return fail(headerAt, `hunk says -${oldLines} +${newLines} lines but has -${oldSeen} +${newSeen}`);
      }
      hunks.push({
        oldStart: Number(m[1]),
        oldLines,
        newStart: Number(m[3]),
        newLines,
        lines: body,
        oldNoNewline,
        newNoNewline,
      });
    }
    if (hunks.length === 0) return fail(i, `no hunks for ${to.path ?? from.path ?? ''}`);
    files.push({ oldPath: from.path, newPath: to.path, hunks });
  }
  if (files.length === 0)
    return { ok: false, error: 'no file changes found (expected --- / +++ / @@ lines)' };
  const seen = new Set<string>();
  for (const f of files) {
    const path = f.newPath ?? f.oldPath ?? '';
    if (seen.has(path)) return { ok: false, error: `${path} is changed twice in the diff` };
    seen.add(path);
  }
  return { ok: true, files };
}

export type Applied =
  { readonly ok: true; readonly text: string | undefined } | { readonly ok: false; readonly reason: string };

function toLines(text: string): { lines: string[]; finalNewline: boolean } {
  if (text === '') return { lines: [], finalNewline: true };
  const finalNewline = text.endsWith('\n');
  const lines = (finalNewline ? text.slice(0, -1) : text).split('\n');
  return { lines, finalNewline };
}

function matchesAt(lines: readonly string[], at: number, expected: readonly string[]): boolean {
  if (at < 0 || at + expected.length > lines.length) return false;
  return expected.every((l, k) => lines[at + k] === l);
}

/**
 * Applies one file's hunks to its current text (undefined = the file does not exist). Returns the new text
 * (undefined = delete the file) or the reason it conflicts.
 */
export function applyFilePatch(current: string | undefined, patch: FilePatch): Applied {
  if (patch.oldPath === undefined && current !== undefined)
    return { ok: false, reason: 'the file already exists' };
  if (patch.oldPath !== undefined && current === undefined)
    return { ok: false, reason: 'the file does not exist' };
  const { lines, finalNewline } = toLines(current ?? '');
  const out: string[] = [];
  let newFinal = finalNewline;
  let cursor = 0;
  let offset = 0;
  for (const [n, hunk] of patch.hunks.entries()) {
    const expected = hunk.lines.filter((l) => l.op !== '+').map((l) => l.text);
    const wanted = Math.max(0, hunk.oldStart - 1 + (hunk.oldLines === 0 ? 1 : 0) + offset);
    let at = -1;
    if (matchesAt(lines, wanted, expected) && wanted >= cursor) at = wanted;
    else {
      for (let d = 1; at === -1 && (wanted - d >= cursor || wanted + d <= lines.length); d++) {
        if (wanted - d >= cursor && matchesAt(lines, wanted - d, expected)) at = wanted - d;
        else if (matchesAt(lines, wanted + d, expected)) at = wanted + d;
      }
    }
    if (at === -1) {
      return {
        ok: false,
        reason: `hunk ${n + 1} (@@ -${hunk.oldStart},${hunk.oldLines}) does not match the file: its context or removed lines differ`,
      };
    }
    if (hunk.oldNoNewline && (at + expected.length !== lines.length || finalNewline)) {
      return { ok: false, reason: `hunk ${n + 1} expects the file to end without a newline` };
    }
    out.push(...lines.slice(cursor, at));
    out.push(...hunk.lines.filter((l) => l.op !== '-').map((l) => l.text));
    if (at + expected.length === lines.length) newFinal = !hunk.newNoNewline;
    cursor = at + expected.length;
    offset = at - (hunk.oldStart - 1 + (hunk.oldLines === 0 ? 1 : 0));
  }
  out.push(...lines.slice(cursor));
  if (patch.newPath === undefined) {
    if (out.length > 0) return { ok: false, reason: 'the diff deletes the file but the file has more lines' };
    return { ok: true, text: undefined };
  }
  if (out.length === 0) return { ok: true, text: '' };
  return { ok: true, text: `${out.join('\n')}${newFinal ? '\n' : ''}` };
}
