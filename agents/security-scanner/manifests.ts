// Reads the dependency versions a repository pins, with the file and line that pins them, from the manifests the
// advisory database covers: npm's package-lock.json (lockfile versions 1-3) and package.json (exact versions of
// direct dependencies, when there is no lockfile), pip's requirements*.txt (`name==version` pins) and Go's go.mod.

export type Ecosystem = 'npm' | 'pypi' | 'go';

export interface Dependency {
  readonly ecosystem: Ecosystem;
  /** Normalised name: npm and Go as written, PyPI lowercased with `-_.` runs folded to `-` (PEP 503). */
  readonly name: string;
  readonly version: string;
  readonly file: string;
  /** 1-based line of the pin, or 1 when it cannot be located. */
  readonly line: number;
}

export function normalisePypiName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** The 1-based number of the first line containing `needle` at or after line `from`, or `fallback`. */
function lineOf(lines: readonly string[], needle: string, from = 0, fallback = 1): number {
  for (let i = from; i < lines.length; i++) if ((lines[i] ?? '').includes(needle)) return i + 1;
  return fallback;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(v: Json | undefined): v is { [key: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJson(text: string): Json | undefined {
  try {
    return JSON.parse(text) as Json;
  } catch {
    return undefined;
  }
}

export function parsePackageLock(file: string, text: string): Dependency[] {
  const doc = parseJson(text);
  if (!isObject(doc)) return [];
  const lines = text.split('\n');
  const out: Dependency[] = [];
  const packages = doc['packages'];
  if (isObject(packages)) {
    // Lockfile v2/v3: "node_modules/a/node_modules/b": {"version": ...}
    for (const [key, entry] of Object.entries(packages)) {
      if (key === '' || !isObject(entry) || typeof entry['version'] !== 'string') continue;
      const name = key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
      const at = lineOf(lines, `"${key}":`);
      out.push({
        ecosystem: 'npm',
        name,
        version: entry['version'],
        file,
        line: lineOf(lines, '"version"', at, at),
      });
    }
    return out;
  }
  // Lockfile v1: nested "dependencies" maps.
  const walk = (deps: Json | undefined): void => {
    if (!isObject(deps)) return;
    for (const [name, entry] of Object.entries(deps)) {
      if (!isObject(entry)) continue;
      if (typeof entry['version'] === 'string') {
        const at = lineOf(lines, `"${name}": {`);
        out.push({
          ecosystem: 'npm',
          name,
          version: entry['version'],
          file,
          line: lineOf(lines, '"version"', at, at),
        });
      }
      walk(entry['dependencies']);
    }
  };
  walk(doc['dependencies']);
  return out;
}

const EXACT = /^=?v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$/;

export function parsePackageJson(file: string, text: string): Dependency[] {
  const doc = parseJson(text);
  if (!isObject(doc)) return [];
  const lines = text.split('\n');
  const out: Dependency[] = [];
  for (const section of ['dependencies', 'devDependencies', 'optionalDependencies']) {
    const deps = doc[section];
    if (!isObject(deps)) continue;
    for (const [name, spec] of Object.entries(deps)) {
      const m = typeof spec === 'string' ? EXACT.exec(spec.trim()) : null;
      if (!m?.[1]) continue;
      out.push({ ecosystem: 'npm', name, version: m[1], file, line: lineOf(lines, `"${name}"`) });
    }
  }
  return out;
}

const REQUIREMENT = /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*===?\s*([0-9][0-9A-Za-z.+!-]*)/;

export function parseRequirements(file: string, text: string): Dependency[] {
  const out: Dependency[] = [];
  text.split('\n').forEach((raw, i) => {
    const m = REQUIREMENT.exec(raw.replace(/#.*/, ''));
    if (m?.[1] && m[2]) {
      out.push({ ecosystem: 'pypi', name: normalisePypiName(m[1]), version: m[2], file, line: i + 1 });
    }
  });
  return out;
}

const GO_REQUIRE =
  /^\s*(?:require\s+)?([A-Za-z0-9][A-Za-z0-9._~/-]*\.[A-Za-z0-9._~/-]+)\s+(v\d+\.\d+\.\d+[0-9A-Za-z.+-]*)/;

export function parseGoMod(file: string, text: string): Dependency[] {
  const out: Dependency[] = [];
  let inRequire = false;
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\/\/.*/, '').trim();
    if (/^require\s*\($/.test(line)) inRequire = true;
    else if (inRequire && line === ')') inRequire = false;
    else if (inRequire || line.startsWith('require ')) {
      const m = GO_REQUIRE.exec(line);
      if (m?.[1] && m[2]) out.push({ ecosystem: 'go', name: m[1], version: m[2], file, line: i + 1 });
    }
  });
  return out;
}

/**
 * Every pinned dependency of the repository. package.json counts only in a folder without a package-lock.json
 * (the lockfile says what is installed).
 */
export function readDependencies(files: readonly { path: string; text: string }[]): Dependency[] {
  const dirs = (name: string) =>
    new Set(files.filter((f) => basename(f.path) === name).map((f) => f.path.slice(0, -name.length)));
  const locked = dirs('package-lock.json');
  const out: Dependency[] = [];
  for (const f of files) {
    const name = basename(f.path);
    if (name === 'package-lock.json') out.push(...parsePackageLock(f.path, f.text));
    else if (name === 'package.json' && !locked.has(f.path.slice(0, -name.length)))
      out.push(...parsePackageJson(f.path, f.text));
    else if (/^requirements[\w.-]*\.txt$/.test(name)) out.push(...parseRequirements(f.path, f.text));
    else if (name === 'go.mod') out.push(...parseGoMod(f.path, f.text));
  }
  return out;
}
