// Git over smart HTTP with isomorphic-git (pure JavaScript: the agent images carry no git binary). Every network
// call is bounded by a deadline: a fixture that does not answer fails the step with a clear message instead of
// hanging until the step's timeout.
import fs from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import git from 'isomorphic-git';
import nodeHttp from 'isomorphic-git/http/node';
import type { RepositoryLocation } from './repository-path.ts';

type HttpClient = Parameters<typeof git.clone>[0]['http'];

export const AUTHOR = { name: 'Paddock agent', email: 'agents@paddock.dev' } as const;

export class GitError extends Error {}

/** An HTTP client for isomorphic-git whose requests are all aborted once `signal` fires. */
function httpWithSignal(signal: AbortSignal): HttpClient {
  return { request: (req) => nodeHttp.request({ ...req, signal }) };
}

/** Runs `work` with an HTTP client that gives up after `seconds`, turning the abort into a clear error. */
export async function withDeadline<T>(
  what: string,
  seconds: number,
  work: (http: HttpClient) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), seconds * 1000);
  try {
    return await work(httpWithSignal(controller.signal));
  } catch (err) {
    if (controller.signal.aborted) throw new GitError(`${what} did not finish within ${seconds} s`);
    throw new GitError(`${what} failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    clearTimeout(timer);
  }
}

const HEX_COMMIT = /^[0-9a-f]{7,40}$/;

export interface Checkout {
  readonly dir: string;
  /** The commit checked out. */
  readonly commit: string;
  /** The branch checked out, when the ref was a branch (or the default branch). */
  readonly branch: string | undefined;
}

/**
 * Clones `location` into a new directory under `tmpDir` (all branches, so a baseline can be compared) and checks
 * out its ref: a branch or tag by name, or a commit by (abbreviated) hash. Without a ref, the remote's default.
 */
export async function cloneRepository(
  location: RepositoryLocation,
  tmpDir: string,
  timeoutSeconds = 120,
): Promise<Checkout> {
  const dir = await mkdtemp(join(tmpDir, 'repo-'));
  await withDeadline(`git clone ${location.display}`, timeoutSeconds, (http) =>
    git.clone({ fs, http, dir, url: location.url, singleBranch: false, noTags: false }),
  );
  let branch = (await git.currentBranch({ fs, dir })) ?? undefined;
  if (location.ref !== undefined && location.ref !== branch) {
    const ref = location.ref;
    const remoteBranches = await git.listBranches({ fs, dir, remote: 'origin' });
    if (remoteBranches.includes(ref)) {
      // git.branch only moves HEAD; checkout writes the branch's files into the working tree.
      await git.branch({ fs, dir, ref, object: `refs/remotes/origin/${ref}`, force: true });
      await git.checkout({ fs, dir, ref, force: true });
      branch = ref;
    } else if ((await git.listTags({ fs, dir })).includes(ref) || HEX_COMMIT.test(ref)) {
      const oid = await resolveCommit(dir, ref);
      await git.checkout({ fs, dir, ref: oid, force: true });
      branch = undefined;
    } else {
      throw new GitError(`${location.display} has no branch, tag or commit "${ref}"`);
    }
  }
  const commit = await git.resolveRef({ fs, dir, ref: 'HEAD' });
  return { dir, commit, branch };
}

/** Resolves a branch (local or origin's), tag or (abbreviated) commit hash to a full commit id. */
export async function resolveCommit(dir: string, ref: string): Promise<string> {
  for (const candidate of [`refs/remotes/origin/${ref}`, `refs/tags/${ref}`, ref]) {
    try {
      const oid = await git.resolveRef({ fs, dir, ref: candidate });
      // Annotated tags point at a tag object: peel to the commit.
      const { oid: commit } = await git.readCommit({ fs, dir, oid }).catch(async () => {
        const tag = await git.readTag({ fs, dir, oid });
        return { oid: tag.tag.object };
      });
      return commit;
    } catch {
      // try the next form
    }
  }
  if (HEX_COMMIT.test(ref)) {
    try {
      return await git.expandOid({ fs, dir, oid: ref });
    } catch {
      // fall through to the error
    }
  }
  throw new GitError(`no branch, tag or commit "${ref}" in the repository`);
}

/** The paths (posix, relative) whose content differs between two commits, added and deleted files included. */
export async function changedPaths(dir: string, fromCommit: string, toCommit: string): Promise<string[]> {
  const changed: string[] = [];
  await git.walk({
    fs,
    dir,
    trees: [git.TREE({ ref: fromCommit }), git.TREE({ ref: toCommit })],
    map: async (filepath, entries) => {
      if (filepath === '.') return undefined;
      const [a, b] = entries;
      const [ta, tb] = [await a?.type(), await b?.type()];
      if (ta === 'tree' || tb === 'tree') return undefined;
      const [oa, ob] = [await a?.oid(), await b?.oid()];
      if (oa !== ob) changed.push(filepath);
      return undefined;
    },
  });
  return changed.sort();
}
