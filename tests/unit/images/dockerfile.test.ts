// The Dockerfile builds from a clean checkout: every file its COPY instructions take from the build
// context is admitted by .dockerignore (Docker's rules: patterns in order, the last match decides,
// a pattern matching a directory matches everything below it, "!" admits again). Docker itself
// cannot run here, so this checks the two files against each other.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** The context sources of the Dockerfile's COPY/ADD instructions (not those copied --from a stage). */
export function copySources(dockerfile: string): string[] {
  const sources: string[] = [];
  const joined = dockerfile.replace(/\\\n/g, ' ');
  for (const line of joined.split('\n')) {
    const match = /^\s*(COPY|ADD)\s+(.*)$/i.exec(line);
    if (match === null) continue;
    let rest = (match[2] ?? '').trim();
    const flags: string[] = [];
    while (rest.startsWith('--')) {
      const space = rest.search(/\s/);
      flags.push(rest.slice(0, space));
      rest = rest.slice(space).trim();
    }
    if (flags.some((f) => f.startsWith('--from='))) continue;
    const args = rest.startsWith('[') ? (JSON.parse(rest) as string[]) : rest.split(/\s+/);
    sources.push(...args.slice(0, -1));
  }
  return sources;
}

interface Pattern {
  readonly exclude: boolean;
  readonly regex: RegExp;
}

export function parseDockerignore(text: string): Pattern[] {
  const patterns: Pattern[] = [];
  for (const raw of text.split('\n')) {
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const exclude = !line.startsWith('!');
    if (!exclude) line = line.slice(1).trim();
    line = line.replace(/^\/+/, '').replace(/\/+$/, '');
    let source = '';
    for (let i = 0; i < line.length; i++) {
      const c = line[i] ?? '';
      if (c === '*' && line[i + 1] === '*') {
        source += '.*';
        i++;
        if (line[i + 1] === '/') i++; // "**/" also matches no directory at all
      } else if (c === '*') source += '[^/]*';
      else if (c === '?') source += '[^/]';
      else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
    patterns.push({ exclude, regex: new RegExp(`^${source}$`) });
  }
  return patterns;
}

/** Whether Docker sends `path` (repository-relative) in the build context. */
export function admitted(patterns: readonly Pattern[], path: string): boolean {
  const parts = path.split('/');
  let excluded = false;
  for (const pattern of patterns) {
    // A pattern applies to the path itself or to any of its parent directories.
    for (let i = 1; i <= parts.length; i++) {
      if (pattern.regex.test(parts.slice(0, i).join('/'))) {
        excluded = pattern.exclude;
        break;
      }
    }
  }
  return !excluded;
}

function trackedFiles(source: string): string[] {
  return execFileSync('git', ['ls-files', '--', source], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .filter(Boolean);
}

describe('Dockerfile and .dockerignore', () => {
  const dockerfile = readFileSync('Dockerfile', 'utf8');
  const patterns = parseDockerignore(readFileSync('.dockerignore', 'utf8'));
  const sources = copySources(dockerfile).filter((s) => s !== '.' && s !== './');

  it('finds the COPY sources from the build context', () => {
    expect(sources).toEqual([
      'package.json',
      'package-lock.json',
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.build.json',
      'operator/src',
      'package.json',
      'crds',
    ]);
  });

  it('admits every committed file of every COPY source (the test files excepted)', () => {
    for (const source of new Set(sources)) {
      const files = trackedFiles(source);
      expect(files.length, `${source} has committed files`).toBeGreaterThan(0);
      for (const file of files) {
        if (file.endsWith('.test.ts')) continue;
        expect(admitted(patterns, file), `${file} (COPY ${source}) is in the build context`).toBe(true);
      }
    }
  });

  it('keeps everything else out (tests, node_modules, .git, dist)', () => {
    for (const path of [
      'tests/unit/shutdown.test.ts',
      'node_modules/ajv/package.json',
      '.git/HEAD',
      'dist/images/images.json',
      'README.md',
    ]) {
      expect(admitted(patterns, path), path).toBe(false);
    }
    expect(admitted(patterns, 'operator/src/x/y.test.ts')).toBe(false);
  });

  it('matches like Docker: last pattern wins, directories cover their contents, ** spans folders', () => {
    const p = parseDockerignore('*\n!a/\na/**/*.tmp\n!a/keep.tmp\n');
    expect(admitted(p, 'b')).toBe(false);
    expect(admitted(p, 'a/x/y.js')).toBe(true);
    expect(admitted(p, 'a/x/y.tmp')).toBe(false);
    expect(admitted(p, 'a/y.tmp')).toBe(false);
    expect(admitted(p, 'a/keep.tmp')).toBe(true);
  });

  it('runs the operator script from the entrypoint, so the chart args are flags', () => {
    expect(dockerfile).toMatch(/^ENTRYPOINT \["\/nodejs\/bin\/node", "\/app\/operator\/src\/main\.js"\]$/m);
    expect(dockerfile).not.toMatch(/^CMD /m);
  });
});
