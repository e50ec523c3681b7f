// The e2e tier (docs/testing.md, "End to end on the real node"): a local control plane with the real kubelet
// node, the images `make images` built imported into its containerd, and Paddock installed by its Helm chart
// as it would be on any cluster: the operator image running as pods on the real node (two replicas, leader
// election, probes, metrics), the CRDs and admission policies from the chart. Nothing runs on the host but
// the control plane.
import { join } from 'node:path';
import { beforeAll } from 'vitest';
import { REPO_ROOT } from '../../../cluster/src/paths.ts';
import { importImage } from '../../../cluster/src/real-node.ts';
import { loadImages, readImageRecords } from '../../../images/src/ensure.ts';
import type { ImageRecord } from '../../../images/src/build.ts';
import type { Pod } from '../../../operator/src/kube/core-types.ts';
import { useCluster, type TestCluster } from '../../integration/support/cluster.ts';
import { CHART, helm, ok } from '../../integration/support/install.ts';
import { eventually } from '../../integration/support/wait.ts';

export const OPERATOR_NAMESPACE = 'paddock-system';
export const RELEASE = 'paddock';
export const LEASE_NAME = 'paddock-operator';
export const FIXTURES_NAMESPACE = 'paddock-fixtures';
/** The fixtures Service's pinned ClusterIP (examples/fixtures/fixtures.yaml). */
export const FIXTURES_SERVICE_IP = '10.0.0.80';

export interface PaddockEnv extends TestCluster {
  readonly images: ReadonlyMap<string, ImageRecord>;
  /** `paddock.local/<name>:<version>` of one built image. */
  image(name: string): string;
  /** The operator's pods, as the API server has them. */
  operatorPods(): Pod[];
}

/**
 * Starts the cluster with its real node, imports the images and installs the chart. `fixtures` also applies
 * examples/fixtures/fixtures.yaml (the Git server and webhook receiver the example agents work on).
 */
export function usePaddockOnRealNode(opts: { fixtures?: boolean } = {}): () => PaddockEnv {
  const cluster = useCluster({ realNode: true, crds: false });
  let env: PaddockEnv | undefined;
  beforeAll(async () => {
    const c = cluster();
    const records = readImageRecords();
    loadImages(records, (archive) => importImage(archive));
    const images = new Map(records.map((r) => [r.name, r]));
    const image = (name: string): string => {
      const r = images.get(name);
      if (!r) throw new Error(`no image ${name} in dist/images/images.json`);
      return r.reference;
    };
    const operator = image('paddock-operator');
    const [repository, tag] = [
      operator.slice(0, operator.lastIndexOf(':')),
      operator.slice(operator.lastIndexOf(':') + 1),
    ];
    ok(
      'helm install',
      helm([
        '--kubeconfig',
        c.kubeconfig,
        'install',
        RELEASE,
        CHART,
        '-n',
        OPERATOR_NAMESPACE,
        '--create-namespace',
        '--set',
        `image.repository=${repository}`,
        '--set',
        `image.tag=${tag}`,
        // The image is imported, never pulled: a pull would mean the test is not running what was built.
        '--set',
        'image.pullPolicy=Never',
        '--wait',
        '--timeout=4m',
      ]),
    );
    const operatorPods = (): Pod[] =>
      (
        JSON.parse(
          c.kubectl([
            'get',
            'pods',
            '-n',
            OPERATOR_NAMESPACE,
            '-l',
            'app.kubernetes.io/name=paddock',
            '-o',
            'json',
          ]),
        ) as { items: Pod[] }
      ).items;
    if (opts.fixtures) {
      c.kubectl(['apply', '-f', join(REPO_ROOT, 'examples', 'fixtures', 'fixtures.yaml')]);
      c.kubectl(['rollout', 'status', 'deployment/fixtures', '-n', FIXTURES_NAMESPACE, '--timeout=120s']);
    }
    // A leader has taken the Lease: only then does anything reconcile.
    await eventually(
      'a leader holds the Lease',
      () =>
        JSON.parse(c.kubectl(['get', 'lease', LEASE_NAME, '-n', OPERATOR_NAMESPACE, '-o', 'json'])) as {
          spec?: { holderIdentity?: string };
        },
      (l) => (l.spec?.holderIdentity ?? '') !== '',
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    env = { ...c, images, image, operatorPods };
  }, 10 * 60_000);
  return () => {
    if (!env) throw new Error('Paddock not installed (usePaddockOnRealNode must be called at the top level)');
    return env;
  };
}
