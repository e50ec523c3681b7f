// One real kubelet node beside the KWOK nodes (docs/testing.md, "The real node"): containerd + runc, the
// kubelet, kube-proxy (Services) and kube-router (NetworkPolicies), all in the node's network namespace with
// the control plane, plus CoreDNS as a pod. LocalCluster starts it after its control plane is ready and
// stops it before the control plane.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeKubeconfig } from './kubeconfig.ts';
import { issueClientCertificate, type Pki } from './pki.ts';
import { ManagedProcess } from './process.ts';
import {
  cniConflist,
  containerdConfig,
  kubeletConfig,
  kubeProxyConfig,
  NETNS_PATH,
  NODE_IP,
  NODE_KIND_LABEL,
  POD_CIDR,
  REAL_NODE_NAME,
  STATE_DIR,
  statePaths,
} from './real-node-config.ts';
import { corednsObjects } from './real-node-dns.ts';
import { createCgroupRoot, ensureRealNodeBuild, readLock, type RealNodeBuild } from './real-node-host.ts';
import { PAUSE_IMAGE, type InfraImages } from './real-node-images.ts';

export const REAL_NODE_COMPONENTS = ['containerd', 'kubelet', 'kube-proxy', 'kube-router'] as const;
export type RealNodeComponent = (typeof REAL_NODE_COMPONENTS)[number];

export interface AdminApi {
  request(method: string, path: string, body?: unknown): Promise<{ status: number; body: string }>;
}

export interface RealNodeOptions {
  readonly build: RealNodeBuild;
  readonly images: InfraImages;
  /** The cluster's state directory: pid and log files of the node's processes, its kubeconfigs. */
  readonly clusterDir: string;
  readonly apiServerPort: number;
  readonly pki: Pki;
  readonly api: AdminApi;
  readonly detached: boolean;
  readonly log: (m: string) => void;
}

export class RealNode {
  private readonly o: RealNodeOptions;
  private readonly procs = new Map<RealNodeComponent, ManagedProcess>();

  constructor(o: RealNodeOptions) {
    this.o = o;
  }

  process(c: RealNodeComponent): ManagedProcess | undefined {
    return this.procs.get(c);
  }

  async start(): Promise<void> {
    const t0 = Date.now();
    const { build } = this.o;
    for (const d of Object.values(statePaths))
      if (!d.endsWith('.sock') && !d.endsWith('.toml')) mkdirSync(d, { recursive: true });
    mkdirSync(join(STATE_DIR, 'containerd'), { recursive: true });
    createCgroupRoot();
    writeFileSync(
      statePaths.containerdConfig,
      containerdConfig({ cniBinDir: build.cniBin, runc: join(build.bin, 'runc'), sandboxImage: PAUSE_IMAGE }),
    );
    writeFileSync(join(statePaths.cniConfDir, '10-paddock.conflist'), cniConflist());
    await this.grantRbac();
    const kubeconfigs = this.writeKubeconfigs();

    this.spawn('containerd', join(build.bin, 'containerd'), ['--config', statePaths.containerdConfig]);
    await this.waitFor('containerd', 30_000, () => existsSync(statePaths.containerdSocket) && this.ctrOk());
    const { pause, busybox, coredns } = this.o.images;
    for (const img of [pause, busybox, coredns]) importImage(img.path, build);

    const kubeletConf = join(this.o.clusterDir, 'kubelet-config.json');
    writeFileSync(kubeletConf, kubeletConfig({ containerdSocket: statePaths.containerdSocket }));
    this.spawn('kubelet', join(build.bin, 'kubelet'), [
      `--config=${kubeletConf}`,
      `--kubeconfig=${kubeconfigs.kubelet}`,
      `--root-dir=${statePaths.kubeletRoot}`,
      // Its self-signed serving certificate would otherwise go to /var/lib/kubelet/pki.
      `--cert-dir=${join(statePaths.kubeletRoot, 'pki')}`,
      `--hostname-override=${REAL_NODE_NAME}`,
      `--node-ip=${NODE_IP}`,
      `--node-labels=${NODE_KIND_LABEL}=real`,
      '--v=1',
    ]);
    await this.waitFor('node registered', 60_000, async () => {
      const r = await this.o.api.request('GET', `/api/v1/nodes/${REAL_NODE_NAME}`);
      return r.status === 200;
    });
    // KCM runs without node IPAM (the KWOK nodes need none): the node's pod range is set here.
    const cidr = await this.o.api.request('PATCH', `/api/v1/nodes/${REAL_NODE_NAME}`, {
      spec: { podCIDR: POD_CIDR, podCIDRs: [POD_CIDR] },
    });
    if (cidr.status !== 200) throw new Error(`setting the node's podCIDR: ${cidr.status} ${cidr.body}`);

    const proxyConf = join(this.o.clusterDir, 'kube-proxy-config.json');
    writeFileSync(proxyConf, kubeProxyConfig({ kubeconfig: kubeconfigs.kubeProxy }));
    this.spawn('kube-proxy', join(build.bin, 'kube-proxy'), [`--config=${proxyConf}`, '--v=1']);
    this.spawn('kube-router', join(build.bin, 'kube-router'), [
      `--kubeconfig=${kubeconfigs.kubeRouter}`,
      `--hostname-override=${REAL_NODE_NAME}`,
      // NetworkPolicies only: routes are the bridge's, and Services are kube-proxy's (no IPVS in this kernel).
      '--run-firewall=true',
      // The API server's range (kube-router assumes 10.96.0.0/12 otherwise and exempts the wrong addresses).
      '--service-cluster-ip-range=10.0.0.0/24',
      '--run-router=false',
      '--run-service-proxy=false',
      '--metrics-port=0',
      '--health-port=20244',
      '--v=1',
    ]);
    await this.waitFor('node Ready', 90_000, async () => {
      const r = await this.o.api.request('GET', `/api/v1/nodes/${REAL_NODE_NAME}`);
      const node = JSON.parse(r.body) as {
        status?: { conditions?: Array<{ type: string; status: string }> };
      };
      return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    });
    this.o.log(`real node ${REAL_NODE_NAME} Ready in ${Date.now() - t0} ms`);
  }

  /** CoreDNS as a pod on the node, behind the kube-dns Service the kubelet's clusterDNS names. */
  async startDns(): Promise<void> {
    for (const obj of corednsObjects()) {
      const r = await this.o.api.request('POST', obj.path, obj.body);
      if (r.status !== 201 && r.status !== 409)
        throw new Error(`creating ${obj.path}: ${r.status} ${r.body}`);
    }
    await this.waitFor('CoreDNS Ready', 90_000, async () => {
      const r = await this.o.api.request(
        'GET',
        '/api/v1/namespaces/kube-system/pods?labelSelector=k8s-app%3Dkube-dns',
      );
      const list = JSON.parse(r.body) as {
        items?: Array<{ status?: { conditions?: Array<{ type: string; status: string }> } }>;
      };
      return (list.items ?? []).some((p) =>
        p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      );
    });
  }

  /**
   * Stops the node's pods through the kubelet (so the runtime removes their mounts and network namespaces
   * itself), then the node's processes. What is left is removed by teardownRealNode().
   */
  async stop(): Promise<void> {
    const kubelet = this.procs.get('kubelet');
    if (kubelet?.running) {
      await this.o.api.request('PATCH', `/api/v1/nodes/${REAL_NODE_NAME}`, { spec: { unschedulable: true } });
      const list = await this.o.api.request(
        'GET',
        `/api/v1/pods?fieldSelector=spec.nodeName%3D${REAL_NODE_NAME}`,
      );
      const pods =
        list.status === 200
          ? ((JSON.parse(list.body) as { items?: Array<{ metadata: { name: string; namespace: string } }> })
              .items ?? [])
          : [];
      for (const p of pods)
        await this.o.api.request(
          'DELETE',
          `/api/v1/namespaces/${p.metadata.namespace}/pods/${p.metadata.name}`,
          {
            gracePeriodSeconds: 1,
          },
        );
      const deadline = Date.now() + 30_000;
      while (pods.length > 0 && Date.now() < deadline) {
        const r = await this.o.api.request(
          'GET',
          `/api/v1/pods?fieldSelector=spec.nodeName%3D${REAL_NODE_NAME}`,
        );
        if (r.status !== 200 || ((JSON.parse(r.body) as { items?: unknown[] }).items ?? []).length === 0)
          break;
        await sleep(250);
      }
    }
    for (const c of ['kube-router', 'kube-proxy', 'kubelet', 'containerd'] as const)
      await this.procs.get(c)?.stop();
  }

  // ---------------------------------------------------------------------------------------------

  private spawn(name: RealNodeComponent, command: string, args: readonly string[]): void {
    // nsenter --net only: `ip netns exec` would remount /sys and hide the cgroup mounts from runc.
    const p = new ManagedProcess({
      name,
      command: 'nsenter',
      args: [`--net=${NETNS_PATH}`, '--', command, ...args],
      dir: this.o.clusterDir,
      detached: this.o.detached,
      env: this.o.build.env,
    });
    p.start();
    this.procs.set(name, p);
  }

  private ctrOk(): boolean {
    try {
      execFileSync(join(this.o.build.bin, 'ctr'), ['--address', statePaths.containerdSocket, 'version'], {
        stdio: 'ignore',
        timeout: 5000,
      });
      return true;
    } catch {
      return false;
    }
  }

  private async waitFor(
    what: string,
    timeoutMs: number,
    check: () => boolean | Promise<boolean>,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const p of this.procs.values())
        if (!p.running) throw new Error(`${p.spec.name} exited while waiting for ${what}:\n${p.tail(30)}`);
      try {
        if (await check()) return;
      } catch {
        // not yet
      }
      if (Date.now() > deadline) {
        const tails = [...this.procs.values()].map((p) => `--- ${p.spec.name} ---\n${p.tail(15)}`).join('\n');
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${tails}`);
      }
      await sleep(200);
    }
  }

  private writeKubeconfigs(): { kubelet: string; kubeProxy: string; kubeRouter: string } {
    const { clusterDir, pki, apiServerPort } = this.o;
    // Inside the namespace the API server listens on every address; loopback avoids the Service path.
    const server = `https://127.0.0.1:${apiServerPort}`;
    const identity = (file: string, user: string, groups: string[]): string => {
      const cert = issueClientCertificate(clusterDir, pki, user, groups);
      const path = join(clusterDir, file);
      writeKubeconfig(path, {
        server,
        caFile: pki.caCert,
        user,
        certFile: cert.certFile,
        keyFile: cert.keyFile,
      });
      return path;
    };
    return {
      kubelet: identity('kubelet.kubeconfig', `system:node:${REAL_NODE_NAME}`, ['system:nodes']),
      kubeProxy: identity('kube-proxy.kubeconfig', 'system:kube-proxy', []),
      kubeRouter: identity('kube-router.kubeconfig', 'paddock:kube-router', []),
    };
  }

  /**
   * The harness authorizes with RBAC only (no Node authorizer): the kubelet gets the system:node role
   * bound to its own name; kube-proxy's system:node-proxier binding exists by default; kube-router reads
   * what its firewall needs.
   */
  private async grantRbac(): Promise<void> {
    const objects: Array<{ path: string; body: unknown }> = [
      {
        path: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
        body: {
          metadata: { name: 'paddock:real-node' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:node' },
          subjects: [
            { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: `system:node:${REAL_NODE_NAME}` },
          ],
        },
      },
      {
        path: '/apis/rbac.authorization.k8s.io/v1/clusterroles',
        body: {
          metadata: { name: 'paddock:kube-router' },
          rules: [
            {
              apiGroups: [''],
              resources: ['namespaces', 'pods', 'services', 'nodes', 'endpoints'],
              verbs: ['get', 'list', 'watch'],
            },
            {
              apiGroups: ['networking.k8s.io'],
              resources: ['networkpolicies'],
              verbs: ['get', 'list', 'watch'],
            },
            {
              apiGroups: ['discovery.k8s.io'],
              resources: ['endpointslices'],
              verbs: ['get', 'list', 'watch'],
            },
            { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'patch', 'update'] },
          ],
        },
      },
      {
        path: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
        body: {
          metadata: { name: 'paddock:kube-router' },
          roleRef: {
            apiGroup: 'rbac.authorization.k8s.io',
            kind: 'ClusterRole',
            name: 'paddock:kube-router',
          },
          subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'paddock:kube-router' }],
        },
      },
    ];
    for (const o of objects) {
      const r = await this.o.api.request('POST', o.path, o.body);
      if (r.status !== 201 && r.status !== 409) throw new Error(`creating ${o.path}: ${r.status} ${r.body}`);
    }
  }
}

/**
 * Imports an OCI image archive into the real node's containerd (namespace k8s.io, where the kubelet looks),
 * so pods can run it with `imagePullPolicy: Never` or `IfNotPresent`. The node must be running.
 */
export function importImage(archive: string, build: RealNodeBuild = ensureRealNodeBuild()): void {
  if (!readLock() || !existsSync(statePaths.containerdSocket))
    throw new Error('no real node is running on this machine (start one with make cluster-up REAL_NODES=1)');
  execFileSync(
    join(build.bin, 'ctr'),
    [
      '--address',
      statePaths.containerdSocket,
      '-n',
      'k8s.io',
      'images',
      'import',
      '--snapshotter',
      'overlayfs',
      archive,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
