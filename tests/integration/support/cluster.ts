// One real control plane per integration test file, on free ports, so files
// run in parallel without seeing each other. CRDs are installed from crds/.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { LocalCluster } from '../../../cluster/src/local-cluster.ts';
import { REPO_ROOT } from '../../../cluster/src/paths.ts';
import { KubeClient } from '../../../operator/src/kube/client.ts';
import { kubectlOk } from './kubectl.ts';

export interface TestCluster {
  readonly cluster: LocalCluster;
  readonly kubeconfig: string;
  readonly admin: KubeClient;
  kubectl(args: readonly string[], input?: string): string;
}

export function useCluster(opts: { crds?: boolean; nodes?: number } = {}): () => TestCluster {
  let env: TestCluster | undefined;
  beforeAll(async () => {
    const cluster = new LocalCluster({
      name: `it-${randomBytes(4).toString('hex')}`,
      nodes: opts.nodes ?? 2,
    });
    const info = await cluster.start();
    const kubeconfig = info.kubeconfig;
    env = {
      cluster,
      kubeconfig,
      admin: KubeClient.load(kubeconfig),
      kubectl: (args, input) => kubectlOk(kubeconfig, args, input),
    };
    if (opts.crds ?? true) {
      env.kubectl(['apply', '--server-side', '-f', join(REPO_ROOT, 'crds')]);
      env.kubectl([
        'wait',
        '--for=condition=Established',
        '--timeout=60s',
        'crd',
        '-l',
        'app.kubernetes.io/part-of=paddock',
      ]);
    }
  }, 240_000);
  afterAll(async () => {
    await env?.cluster.destroy();
  });
  return () => {
    if (!env)
      throw new Error('cluster not started (useCluster must be called at the top level of a test file)');
    return env;
  };
}
