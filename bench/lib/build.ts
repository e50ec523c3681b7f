// The operator the benchmark runs is the one the image ships: JavaScript compiled
// by `make build` (tsconfig.build.json -> dist/), not the TypeScript sources run
// through Node's type stripping. Compiled here when dist/ is missing or older
// than any source, so a bench never measures stale code.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../cluster/src/paths.ts';

const DIST = join(REPO_ROOT, 'dist');
export const COMPILED_MAIN = join(DIST, 'operator', 'src', 'main.js');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Path of the compiled main script, compiling first if it is missing or stale. */
export function ensureCompiledOperator(log: (m: string) => void): string {
  const sources = Math.max(
    newestMtime(join(REPO_ROOT, 'operator', 'src')),
    newestMtime(join(REPO_ROOT, 'crds')),
    statSync(join(REPO_ROOT, 'tsconfig.build.json')).mtimeMs,
  );
  if (existsSync(COMPILED_MAIN) && statSync(COMPILED_MAIN).mtimeMs >= sources) return COMPILED_MAIN;
  log('compiling the operator (make build: tsconfig.build.json -> dist/)');
  execFileSync('make', ['--no-print-directory', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (!existsSync(COMPILED_MAIN)) throw new Error(`make build did not produce ${COMPILED_MAIN}`);
  return COMPILED_MAIN;
}
