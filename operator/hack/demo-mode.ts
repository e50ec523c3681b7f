// Which way `make demo` runs, decided from what the machine and the kubeconfig offer. Pure: the demo
// (operator/hack/demo.ts) gathers the facts, this decides and words the one line it prints first.
//
//   real    the embedded local control plane with one real kubelet node: the example agents run in
//           containers from the images `make images` builds, against the in-cluster fixtures
//   kwok    the embedded local control plane with KWOK nodes only: KWOK plays the agents, and
//           config/demo gives the example Agents simulated outputs
//   configured  the cluster the kubeconfig names; simulated agents when every schedulable node is a
//           KWOK node (a `make cluster-up` cluster), the real agents otherwise

/** What the demo learned about the cluster a kubeconfig names. */
export type ConfiguredCluster =
  | { readonly kubeconfig: string; readonly reachable: false }
  | {
      readonly kubeconfig: string;
      readonly reachable: true;
      readonly server: string;
      readonly nodes: NodeSummary;
    };

/** Schedulable nodes (not cordoned) by kind. */
export interface NodeSummary {
  readonly schedulable: number;
  /** KWOK's fake nodes (annotation kwok.x-k8s.io/node: fake). */
  readonly kwok: number;
  /** A Paddock real node (label paddock.dev/node-kind: real): images can be imported into it. */
  readonly real: number;
}

export interface DemoModeFacts {
  /** undefined: no kubeconfig (KUBECONFIG unset and no ~/.kube/config). */
  readonly configured: ConfiguredCluster | undefined;
  /** realNodeUnsupported(): why this machine cannot run a real node, or undefined. */
  readonly realNodeUnsupported: string | undefined;
  /** A real node runs on this machine (its lock is held): a configured cluster's real node is this one. */
  readonly realNodeHere: boolean;
  /** PADDOCK_DEMO_MODE: `kwok` or `real` picks the embedded cluster's kind; unset or `auto` decides. */
  readonly requested: string | undefined;
}

export type DemoMode =
  | { readonly kind: 'real'; readonly line: string }
  | { readonly kind: 'kwok'; readonly line: string }
  | {
      readonly kind: 'configured';
      readonly kubeconfig: string;
      /** Simulated: apply config/demo. Real: apply the fixtures and examples/ as they are. */
      readonly agents: 'simulated' | 'real';
      /** Real agents on this machine's real node: build the images and import them into it. */
      readonly importImages: boolean;
      readonly line: string;
    }
  /** The request cannot be met: the demo prints the line and exits non-zero. */
  | { readonly kind: 'refused'; readonly line: string };

export const MODE_VARIABLE = 'PADDOCK_DEMO_MODE';

interface NodeLike {
  readonly metadata?: {
    readonly name?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly spec?: { readonly unschedulable?: boolean };
}

export function summarizeNodes(nodes: readonly NodeLike[]): NodeSummary {
  const open = nodes.filter((n) => n.spec?.unschedulable !== true);
  return {
    schedulable: open.length,
    kwok: open.filter((n) => n.metadata?.annotations?.['kwok.x-k8s.io/node'] === 'fake').length,
    real: open.filter((n) => n.metadata?.labels?.['paddock.dev/node-kind'] === 'real').length,
  };
}

export function decideDemoMode(f: DemoModeFacts): DemoMode {
  const requested = (f.requested ?? '').trim().toLowerCase();
  if (requested !== '' && requested !== 'auto' && requested !== 'kwok' && requested !== 'real')
    return {
      kind: 'refused',
      line: `mode: none: ${MODE_VARIABLE}=${f.requested ?? ''} is not one of auto, kwok, real`,
    };

  const c = f.configured;
  if (c?.reachable) {
    const where = `the cluster of ${c.kubeconfig} (${c.server})`;
    const asked = requested === 'kwok' || requested === 'real' ? `; ${MODE_VARIABLE} is ignored there` : '';
    const n = c.nodes;
    if (n.schedulable > 0 && n.kwok === n.schedulable)
      return {
        kind: 'configured',
        kubeconfig: c.kubeconfig,
        agents: 'simulated',
        importImages: false,
        line: `mode: configured cluster, KWOK (simulated agents): every schedulable node of ${where} is a KWOK node${asked}`,
      };
    if (n.real > 0 && f.realNodeHere)
      return {
        kind: 'configured',
        kubeconfig: c.kubeconfig,
        agents: 'real',
        importImages: true,
        line: `mode: configured cluster, real node (agents run in containers): ${where} has a real node; the images are built and imported into it${asked}`,
      };
    return {
      kind: 'configured',
      kubeconfig: c.kubeconfig,
      agents: 'real',
      importImages: false,
      line: `mode: configured cluster (agents run in containers): ${where}; its nodes must already have the paddock.local images (make images; examples/README.md) and 10.0.0.80 must be free for the fixtures Service${asked}`,
    };
  }

  const embedded = c
    ? `the kubeconfig ${c.kubeconfig} is not reachable, so an embedded cluster`
    : 'no cluster configured, so an embedded cluster';
  if (requested === 'kwok')
    return { kind: 'kwok', line: `mode: KWOK (simulated agents): ${embedded}; ${MODE_VARIABLE}=kwok` };
  if (f.realNodeUnsupported !== undefined) {
    const why = `real node unavailable: it ${f.realNodeUnsupported}`;
    if (requested === 'real')
      return { kind: 'refused', line: `mode: none: ${MODE_VARIABLE}=real, but ${why}` };
    return { kind: 'kwok', line: `mode: KWOK (simulated agents): ${embedded}; ${why}` };
  }
  return {
    kind: 'real',
    line: `mode: real node (agents run in containers): ${embedded}, and this machine can run a real node`,
  };
}
