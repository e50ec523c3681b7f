// One real control plane per integration test file, on free ports, so files
// run in parallel without seeing each other. CRDs are installed from crds/.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { LocalCluster } from '../../../cluster/src/local-cluster.ts';
import { installCrds } from '../../../cluster/src/crds.ts';
import { KubeClient } from '../../../operator/src/kube/client.ts';
import { kubectlOk } from './kubectl.ts';

export interface TestCluster {
  readonly cluster: LocalCluster;
  readonly kubeconfig: string;
  readonly admin: KubeClient;
  kubectl(args: readonly string[], input?: string): string;
}

export interface UseClusterOptions {
  readonly crds?: boolean;
  readonly nodes?: number;
  /**
   * Adds the machine's one real kubelet node (docs/testing.md, "The real node"): the KWOK nodes (1 by
   * default) are cordoned, so new pods run on it; waits for another file's real node to stop first.
   */
  readonly realNode?: boolean;
}

export function useCluster(opts: UseClusterOptions = {}): () => TestCluster {
  let env: TestCluster | undefined;
  // A real node's first build on a machine takes minutes (docs/testing.md), and another file's may run.
  const startTimeoutMs = opts.realNode ? 45 * 60_000 : 240_000;
  beforeAll(async () => {
    const cluster = new LocalCluster({
      name: `it-${randomBytes(4).toString('hex')}`,
      nodes: opts.nodes ?? (opts.realNode ? 1 : 2),
      ...(opts.realNode ? { realNode: true, realNodeLockWaitMs: 15 * 60_000 } : {}),
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
      const e = env;
      installCrds((args) => e.kubectl(args));
    }
  }, startTimeoutMs);
  afterAll(async () => {
    await env?.cluster.destroy();
  });
  return () => {
    if (!env)
      throw new Error('cluster not started (useCluster must be called at the top level of a test file)');
    return env;
  };
}
