// `repositoryPath`, the input every repository agent takes: the URL of a Git repository served over smart HTTP,
// optionally followed by `#<ref>` (a branch, tag or commit). Without a ref the agent uses the remote's default
// branch. Examples: `http://10.0.0.80:8080/git/app.git`, `http://10.0.0.80:8080/git/app.git#feature/report`.
// Only http and https are accepted: the agents clone with isomorphic-git, which speaks smart HTTP only.

export interface RepositoryLocation {
  /** The clone URL, without the fragment. */
  readonly url: string;
  /** The ref after `#`, or undefined for the remote's default branch. */
  readonly ref: string | undefined;
  /** The URL without credentials, safe for logs and outputs. */
  readonly display: string;
}

export type Parsed<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

// A ref name as git accepts it, roughly (git-check-ref-format): no spaces, no `..`, no control characters.
const REF = /^[A-Za-z0-9._/-]{1,255}$/;

export function parseRepositoryPath(input: string, field = 'repositoryPath'): Parsed<RepositoryLocation> {
  const hash = input.indexOf('#');
  const base = hash === -1 ? input : input.slice(0, hash);
  const ref = hash === -1 ? undefined : input.slice(hash + 1);
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    return { ok: false, error: `${field}: not a URL (expected http(s)://host/path.git, optionally #ref)` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return {
      ok: false,
      error: `${field}: only http and https repositories are supported, not ${url.protocol}`,
    };
  }
  if (
    ref !== undefined &&
    ref !== '' &&
    (!REF.test(ref) || ref.includes('..') || ref.startsWith('/') || ref.endsWith('/'))
  ) {
    return { ok: false, error: `${field}: the ref after # is not a valid branch, tag or commit name` };
  }
  const display = new URL(url.href);
  display.username = '';
  display.password = '';
  return { ok: true, value: { url: url.href, ref: ref === '' ? undefined : ref, display: display.href } };
}

/**
 * The JSON Schema of `repositoryPath`, as every repository agent's inputsSchema (and its manifest) declares it;
 * `description` says what the ref after `#` means to that agent.
 */
export function repositoryPathSchema<D extends string>(description: D) {
  return { type: 'string', maxLength: 2048, pattern: '^https?://', description } as const;
}
