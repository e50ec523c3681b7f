// Ensures the control plane binaries exist (building them on first use) and
// returns the directory that holds them.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CLUSTER_DIR } from './paths.ts';

export const BINARIES = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kwok',
] as const;
export type Binary = (typeof BINARIES)[number];

export function ensureBinaries(): string {
  const script = join(CLUSTER_DIR, 'build-binaries.sh');
  // stdout carries only the directory; the build log goes to stderr (inherited).
  const res = spawnSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (res.status !== 0) {
    throw new Error(`building the control plane failed (exit ${res.status}); see the log above`);
  }
  const dir = res.stdout.trim().split('\n').pop() ?? '';
  for (const b of BINARIES) {
    if (!existsSync(join(dir, b)))
      throw new Error(`control plane binary missing after build: ${join(dir, b)}`);
  }
  return dir;
}
