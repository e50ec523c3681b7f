// The patcher's decisions, pure: whether a validated diff applies to the target branch as it is (every file, or
// nothing), what to write, and the names it uses.
import { applyFilePatch, type FilePatch } from './diff.ts';

export interface Conflict {
  readonly file: string;
  readonly reason: string;
}

export interface FileChange {
  readonly path: string;
  /** The new content, or undefined to delete the file. */
  readonly text: string | undefined;
}

export type Plan =
  | { readonly ok: true; readonly changes: readonly FileChange[] }
  | { readonly ok: false; readonly conflicts: readonly Conflict[] };

/**
 * Applies every file patch in memory against `read` (the target branch's files). Any conflict makes the whole
 * plan fail: the caller then changes nothing. Renames are a delete of the old path plus a write of the new one.
 */
export function planPatch(patches: readonly FilePatch[], read: (path: string) => string | undefined): Plan {
  const conflicts: Conflict[] = [];
  const changes: FileChange[] = [];
  for (const patch of patches) {
    const file = patch.newPath ?? patch.oldPath ?? '';
    if (patch.newPath !== undefined && patch.oldPath !== undefined && patch.newPath !== patch.oldPath) {
      if (read(patch.newPath) !== undefined) {
        conflicts.push({ file, reason: `renames ${patch.oldPath} onto an existing file` });
        continue;
      }
    }
    const applied = applyFilePatch(patch.oldPath === undefined ? read(file) : read(patch.oldPath), patch);
    if (!applied.ok) {
      conflicts.push({ file, reason: applied.reason });
      continue;
    }
    if (patch.oldPath !== undefined && patch.newPath !== undefined && patch.oldPath !== patch.newPath)
      changes.push({ path: patch.oldPath, text: undefined });
    changes.push({ path: file, text: applied.text });
  }
  return conflicts.length > 0 ? { ok: false, conflicts } : { ok: true, changes };
}

/**
 * The backup branch: derived from the run, not the attempt (docs/agent-authors.md#retries), so a retried attempt
 * finds the backup its first attempt made instead of making another.
 */
export function backupBranchName(targetBranch: string, workflow: string, step: string): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'x';
  return `paddock/backup/${safe(workflow)}/${safe(step)}/${targetBranch}`;
}

/** The trailer that marks the patcher's commit, so a retry can tell its own earlier commit from anyone else's. */
export function runTrailer(workflow: string, step: string): string {
  return `Paddock-Run: ${workflow}/${step}`;
}

export function commitMessage(files: readonly string[], workflow: string, step: string): string {
  const subject = files.length === 1 ? `Apply patch to ${files[0]}` : `Apply patch to ${files.length} files`;
  return `${subject}\n\nApplied by the Paddock patcher agent.\n\n${runTrailer(workflow, step)}\n`;
}
