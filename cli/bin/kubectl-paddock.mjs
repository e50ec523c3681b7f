#!/usr/bin/env node
// Executable shim for the kubectl plugin (kubectl finds `kubectl-paddock` on PATH).
// The plugin is TypeScript run as-is by Node's type stripping, so first check
// that this Node can do that, and say what to do when it cannot.
import process from 'node:process';

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
const atLeast = major > 22 || (major === 22 && minor >= 6);
// process.features.typescript: 'strip' | 'transform' | false (Node 22.10+); before that, only the flag enables it.
const flagged = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some(
  (a) => a === '--experimental-strip-types' || a === '--experimental-transform-types',
);
const typescript = process.features.typescript ?? flagged;

if (!atLeast || !typescript) {
  const why = atLeast
    ? `Node ${process.versions.node} has TypeScript type stripping turned off`
    : `Node ${process.versions.node} is too old`;
  process.stderr.write(
    `kubectl-paddock: ${why}; it needs Node >= 22.6 with type stripping (Node 24 recommended).\n` +
      '  Install Node 24 (https://nodejs.org), or run it with the Node the Paddock repository pins:\n' +
      '    npx kubectl-paddock ...   (from the Paddock repository, after npm install)\n' +
      (atLeast ? '  or enable type stripping: NODE_OPTIONS=--experimental-strip-types\n' : ''),
  );
  process.exit(1);
}

const { main } = await import('../kubectl-paddock.ts');
process.exitCode = await main(process.argv.slice(2));
