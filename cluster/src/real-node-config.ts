// The real node's fixed addresses and the configuration files of its components, as pure functions of the
// paths they use (docs/testing.md, "The real node"). One real node runs per machine, so the names are fixed.
import { join } from 'node:path';
import { CACHE_ROOT } from './paths.ts';

export const REAL_NODE_NAME = 'real-node';
/** Label on the real node; a pod targets it with this nodeSelector. KWOK nodes carry `kwok`. */
export const NODE_KIND_LABEL = 'paddock.dev/node-kind';
export const NETNS = 'paddock-realnode';
export const NETNS_PATH = `/run/netns/${NETNS}`;
/** Name of the kubelet's cgroup root in every hierarchy. */
export const CGROUP_ROOT = 'paddock-realnode';
export const BRIDGE = 'cni0';
/** The bridge's address: gateway of the pods and the node's (and the API server's) address. */
export const NODE_IP = '10.88.0.1';
export const POD_CIDR = '10.88.0.0/16';
/** Inside the API server's --service-cluster-ip-range (10.0.0.0/24); kubernetes is 10.0.0.1. */
export const CLUSTER_DNS_IP = '10.0.0.10';
export const CNI_NETWORK = 'paddock-realnode';

export const REALNODE_ROOT = join(CACHE_ROOT, 'realnode');
/** Everything the node's runtime mounts or writes lives under here; removed when the node stops. */
export const STATE_DIR = join(REALNODE_ROOT, 'state');
export const LOCK_FILE = join(REALNODE_ROOT, 'lock.json');

export const statePaths = {
  containerdRoot: join(STATE_DIR, 'containerd', 'root'),
  containerdState: join(STATE_DIR, 'containerd', 'state'),
  containerdSocket: join(STATE_DIR, 'containerd', 'containerd.sock'),
  containerdConfig: join(STATE_DIR, 'containerd', 'config.toml'),
  runcRoot: join(STATE_DIR, 'runc'),
  cniConfDir: join(STATE_DIR, 'cni', 'net.d'),
  cniIpamDir: join(STATE_DIR, 'cni', 'ipam'),
  kubeletRoot: join(STATE_DIR, 'kubelet'),
  podLogs: join(STATE_DIR, 'pod-logs'),
  relaySockets: join(STATE_DIR, 'relay'),
} as const;

/** Host paths the runtime's defaults write to even when configured elsewhere; cleaned on stop. */
export const HOST_PATHS = {
  /** containerd 1.6 shim sockets and fifos (fixed in the shim). */
  containerdRun: '/run/containerd',
  /** Pod network namespaces made by the CRI plugin (cni-<uuid>). */
  netnsDir: '/run/netns',
  /** libcni's result cache (fixed in containerd 1.6). */
  cniResults: '/var/lib/cni/results',
  cniLib: '/var/lib/cni',
  /** kubelet's symlinks to container logs (fixed in the kubelet). */
  containerLogs: '/var/log/containers',
  /** The kubelet's device-plugin socket (fixed in the kubelet, whatever its root dir). */
  kubeletLib: '/var/lib/kubelet',
  devicePlugins: '/var/lib/kubelet/device-plugins',
} as const;

export function containerdConfig(o: { cniBinDir: string; runc: string; sandboxImage: string }): string {
  const p = statePaths;
  return `version = 2
root = "${p.containerdRoot}"
state = "${p.containerdState}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "${p.containerdSocket}"

[ttrpc]
  address = "${p.containerdSocket}.ttrpc"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "${join(STATE_DIR, 'containerd', 'opt')}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${o.sandboxImage}"
  # The machine gives no CAP_SYS_RESOURCE: runc cannot lower oom_score_adj below containerd's own.
  restrict_oom_score_adj = true
  enable_selinux = false
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "${o.runc}"
        Root = "${p.runcRoot}"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${o.cniBinDir}"
    conf_dir = "${p.cniConfDir}"
    max_conf_num = 1
`;
}

export function cniConflist(): string {
  return JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: CNI_NETWORK,
      plugins: [
        {
          type: 'bridge',
          bridge: BRIDGE,
          isGateway: true,
          ipMasq: false,
          // A pod that reaches itself through a Service comes back on its own bridge port.
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: POD_CIDR, gateway: NODE_IP }]],
            routes: [{ dst: '0.0.0.0/0' }],
            dataDir: statePaths.cniIpamDir,
          },
        },
      ],
    },
    null,
    2,
  );
}

export function kubeletConfig(o: { containerdSocket: string }): string {
  return JSON.stringify(
    {
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      // This machine kind runs cgroup v1 (with a cgroup2 mount beside it).
      failCgroupV1: false,
      cgroupDriver: 'cgroupfs',
      cgroupRoot: `/${CGROUP_ROOT}`,
      cgroupsPerQOS: true,
      enforceNodeAllocatable: ['pods'],
      containerRuntimeEndpoint: `unix://${o.containerdSocket}`,
      // A fork bomb in one pod must not exhaust the machine's pids.
      podPidsLimit: 256,
      failSwapOn: false,
      podLogsDir: statePaths.podLogs,
      resolvConf: '',
      clusterDNS: [CLUSTER_DNS_IP],
      clusterDomain: 'cluster.local',
      address: NODE_IP,
      port: 10250,
      readOnlyPort: 0,
      healthzBindAddress: '127.0.0.1',
      healthzPort: 10248,
      // The kubelet's port is reachable only inside the node's network namespace (the API server's
      // logs/exec connections); the API server sends no client certificate here.
      authentication: { anonymous: { enabled: true }, webhook: { enabled: false } },
      authorization: { mode: 'AlwaysAllow' },
      // A shared development machine: do not evict pods because other work fills the disk.
      evictionHard: { 'memory.available': '1Mi', 'nodefs.available': '1%', 'imagefs.available': '1%' },
      imageGCHighThresholdPercent: 100,
      imageGCLowThresholdPercent: 99,
      serializeImagePulls: false,
      nodeStatusReportFrequency: '10s',
      rotateCertificates: false,
      serverTLSBootstrap: false,
      containerLogMaxSize: '10Mi',
    },
    null,
    2,
  );
}

export function kubeProxyConfig(o: { kubeconfig: string }): string {
  return JSON.stringify(
    {
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      clientConnection: { kubeconfig: o.kubeconfig },
      // The kernel here has no IPVS (CONFIG_IP_VS is not set): iptables mode.
      mode: 'iptables',
      clusterCIDR: POD_CIDR,
      hostnameOverride: REAL_NODE_NAME,
      bindAddress: NODE_IP,
      healthzBindAddress: '127.0.0.1:10256',
      metricsBindAddress: '127.0.0.1:10249',
      // conntrack sysctls are the host's (read-only from a network namespace): leave them alone.
      conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
      iptables: { localhostNodePorts: false },
      oomScoreAdj: 0,
    },
    null,
    2,
  );
}
