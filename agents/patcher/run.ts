// The patcher's run: validate the diff, clone the target branch, plan every change in memory (pure), and only if
// nothing conflicts: push a backup branch, write, commit and push. A conflict changes nothing anywhere.
//
// Retries are safe (docs/agent-authors.md#retries): the commit carries a `Paddock-Run: <workflow>/<step>` trailer
// and the backup branch is named after the run, so an attempt that finds its own commit on the target branch
// reports it instead of patching twice, and an existing backup branch is kept as it is.
import fs from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import git from 'isomorphic-git';
import { AgentFailure, type AgentContext } from '../../sdk/typescript/src/index.ts';
import { clip, fitOutputs } from '../common/fit-outputs.ts';
import { AUTHOR, changedPaths, withDeadline } from '../common/git.ts';
import { clearly, locate, openRepository } from '../common/run-support.ts';
import { parseUnifiedDiff } from './diff.ts';
import { backupBranchName, commitMessage, planPatch, runTrailer, type Conflict } from './plan.ts';
import { MAX_CONFLICTS_LISTED, MAX_FILES_LISTED } from './schemas.ts';

export interface PatcherInputs {
  readonly repositoryPath: string;
  readonly patchContent: string;
  readonly targetBranch?: string;
  readonly createBackup?: boolean;
}

export interface PatcherOutputs {
  applied: boolean;
  filesModified: string[];
  backupPath: string;
  commit?: string;
  conflicts: Conflict[];
  summary: string;
}

function bounded(outputs: PatcherOutputs, total: { files: number; conflicts: number }): PatcherOutputs {
  const listed = {
    ...outputs,
    filesModified: outputs.filesModified.slice(0, MAX_FILES_LISTED).map((f) => clip(f, 300)),
    conflicts: outputs.conflicts
      .slice(0, MAX_CONFLICTS_LISTED)
      .map((c) => ({ file: clip(c.file, 300), reason: clip(c.reason, 200) })),
  };
  return fitOutputs(listed, ['conflicts', 'filesModified'], (o) => {
    const left = total.files - o.filesModified.length + (total.conflicts - o.conflicts.length);
    return {
      ...o,
      summary: clip(`${outputs.summary}${left > 0 ? `; ${left} path(s) not listed` : ''}`, 500),
    };
  }).outputs;
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

export async function runPatcher(inputs: PatcherInputs, ctx: AgentContext): Promise<PatcherOutputs> {
  const location = locate(inputs.repositoryPath);
  const targetBranch = inputs.targetBranch ?? location.ref ?? 'main';
  const createBackup = inputs.createBackup ?? true;
  const diff = parseUnifiedDiff(inputs.patchContent);
  if (!diff.ok) throw new AgentFailure(`patchContent: not a valid unified diff: ${diff.error}`);

  const workspace = await openRepository({ ...location, ref: targetBranch }, ctx);
  try {
    const { dir, commit: base } = workspace.checkout;
    if (workspace.checkout.branch !== targetBranch) {
      throw new AgentFailure(`targetBranch: ${location.display} has no branch "${targetBranch}"`);
    }
    const backup = createBackup ? backupBranchName(targetBranch, ctx.workflow, ctx.step) : '';

    // A retry after a push that succeeded: report the earlier commit instead of patching again.
    const head = await git.readCommit({ fs, dir, oid: base });
    if (head.commit.message.includes(runTrailer(ctx.workflow, ctx.step))) {
      const parent = head.commit.parent[0];
      const files = parent === undefined ? [] : await changedPaths(dir, parent, base);
      ctx.log.info('already applied by an earlier attempt', { commit: base });
      return bounded(
        {
          applied: true,
          filesModified: files,
          backupPath: backup,
          commit: base,
          conflicts: [],
          summary: `already applied to ${targetBranch} by an earlier attempt (${base.slice(0, 12)})`,
        },
        { files: files.length, conflicts: 0 },
      );
    }

    const current = new Map<string, string | undefined>();
    for (const f of diff.files) {
      for (const path of [f.oldPath, f.newPath]) {
        if (path !== undefined && !current.has(path)) current.set(path, await readIfExists(join(dir, path)));
      }
    }
    const plan = planPatch(diff.files, (path) => current.get(path));
    if (!plan.ok) {
      ctx.log.warn('conflicts: nothing changed', { conflicts: plan.conflicts.length });
      return bounded(
        {
          applied: false,
          filesModified: [],
          backupPath: '',
          conflicts: [...plan.conflicts],
          summary: `not applied: ${plan.conflicts.length} file(s) conflict with ${targetBranch} at ${base.slice(0, 12)}; nothing was changed`,
        },
        { files: 0, conflicts: plan.conflicts.length },
      );
    }

    if (backup !== '') {
      const remoteBranches = await git.listBranches({ fs, dir, remote: 'origin' });
      if (remoteBranches.includes(backup)) {
        ctx.log.info('backup branch already exists: kept', { backup });
      } else {
        await git.branch({ fs, dir, ref: backup, object: base });
        await clearly(() =>
          withDeadline(`git push ${backup}`, 60, (http) =>
            git.push({ fs, http, dir, remote: 'origin', ref: backup }),
          ),
        );
        ctx.log.info('backup pushed', { backup, commit: base });
      }
    }

    const paths: string[] = [];
    for (const change of plan.changes) {
      const full = join(dir, change.path);
      if (change.text === undefined) {
        await rm(full, { force: true });
        await git.remove({ fs, dir, filepath: change.path });
      } else {
        await mkdir(dirname(full), { recursive: true });
        await writeFile(full, change.text);
        await git.add({ fs, dir, filepath: change.path });
      }
      paths.push(change.path);
    }
    const files = [...new Set(paths)].sort();
    const commit = await git.commit({
      fs,
      dir,
      message: commitMessage(files, ctx.workflow, ctx.step),
      author: AUTHOR,
      committer: AUTHOR,
    });
    try {
      await withDeadline(`git push ${targetBranch}`, 60, (http) =>
        git.push({ fs, http, dir, remote: 'origin', ref: targetBranch }),
      );
    } catch (err) {
      throw new AgentFailure(
        `${err instanceof Error ? err.message : String(err)} (${targetBranch} may have moved since the clone; ` +
          `it was not changed${backup === '' ? '' : `, the backup branch ${backup} was kept`})`,
      );
    }
    ctx.log.info('patched', { commit, files: files.length });
    return bounded(
      {
        applied: true,
        filesModified: files,
        backupPath: backup,
        commit,
        conflicts: [],
        summary:
          `applied to ${targetBranch}: ${files.length} file(s) in commit ${commit.slice(0, 12)}` +
          (backup === '' ? '' : `; previous head ${base.slice(0, 12)} kept on ${backup}`),
      },
      { files: files.length, conflicts: 0 },
    );
  } finally {
    await workspace.dispose();
  }
}
