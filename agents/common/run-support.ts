// What every repository agent does before its pure core runs: check repositoryPath, clone it into the agent's
// temporary folder, read the tree. Errors become AgentFailures with one clear line (docs/agent-authors.md#exit-codes-and-failures).
import { rm } from 'node:fs/promises';
import { AgentFailure, type AgentContext } from '../../sdk/typescript/src/index.ts';
import { cloneRepository, GitError, type Checkout } from './git.ts';
import { parseRepositoryPath, type RepositoryLocation } from './repository-path.ts';
import { readTree, type SourceFile } from './tree.ts';

export function locate(repositoryPath: string, field = 'repositoryPath'): RepositoryLocation {
  const parsed = parseRepositoryPath(repositoryPath, field);
  if (!parsed.ok) throw new AgentFailure(parsed.error);
  return parsed.value;
}

/** Turns the failures the agents expect (git, network) into AgentFailures; anything else stays a bug. */
export async function clearly<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof GitError) throw new AgentFailure(err.message);
    throw err;
  }
}

export interface Workspace {
  readonly checkout: Checkout;
  readonly files: SourceFile[];
  dispose(): Promise<void>;
}

/** Clones the repository (at its ref) and reads its text files. */
export async function openRepository(location: RepositoryLocation, ctx: AgentContext): Promise<Workspace> {
  ctx.log.info('cloning', { repository: location.display, ref: location.ref ?? '(default branch)' });
  const checkout = await clearly(() => cloneRepository(location, ctx.tmpDir));
  const files = await readTree(checkout.dir);
  ctx.log.info('cloned', { commit: checkout.commit, branch: checkout.branch, files: files.length });
  return { checkout, files, dispose: () => rm(checkout.dir, { recursive: true, force: true }) };
}
