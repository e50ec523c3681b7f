// A real Kubernetes control plane on loopback: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, and KWOK simulating nodes and the
// pod lifecycle. Used by the integration tests (one cluster per test file, on
// free ports), by `make cluster-up`, and by the demo.
import { request } from 'node:https';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBinaries } from './binaries.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { createPki, type Pki } from './pki.ts';
import { freePorts } from './ports.ts';
import { killFromPidFiles, ManagedProcess } from './process.ts';
import { CLUSTER_DIR, CLUSTER_SRC_DIR, CLUSTERS_ROOT } from './paths.ts';
import { RealNode } from './real-node.ts';
import { ensureInfraImages } from './real-node-images.ts';
import { NETNS_PATH, NODE_IP, NODE_KIND_LABEL, statePaths } from './real-node-config.ts';
import {
  acquireLock,
  createNetns,
  ensureRealNodeBuild,
  readLock,
  realNodeUnsupported,
  setLockOwner,
  teardownRealNode,
} from './real-node-host.ts';
import { createCertUsers, createUsers, writeTokenFile, type CertUser, type User } from './users.ts';

export const COMPONENTS = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kwok',
] as const;
export type Component = (typeof COMPONENTS)[number];

export interface LocalClusterOptions {
  /** Directory name under ~/.cache/paddock/clusters. */
  readonly name: string;
  /** Number of fake nodes KWOK manages. */
  readonly nodes?: number;
  /** Processes outlive the caller (shell `cluster up`). */
  readonly detached?: boolean;
  /** Extra kube-apiserver flags (tests). */
  readonly apiServerArgs?: readonly string[];
  /**
   * Adds one real kubelet node (containerd, kube-proxy, kube-router, CoreDNS) and cordons the KWOK nodes,
   * so new pods run for real (docs/testing.md, "The real node"). One per machine; needs Linux and root.
   */
  readonly realNode?: boolean;
  /** With realNode: how long to wait for another cluster's real node to stop (default: fail at once). */
  readonly realNodeLockWaitMs?: number;
  readonly log?: (msg: string) => void;
}

/** Relays between the host's loopback and the real node's network namespace (cluster/src/relay.ts). */
const RELAYS = ['relay-host', 'relay-netns'] as const;

export interface ClusterInfo {
  readonly name: string;
  readonly dir: string;
  readonly server: string;
  readonly apiServerPort: number;
  readonly etcdClientUrl: string;
  readonly caFile: string;
  readonly kubeconfig: string;
  readonly users: readonly User[];
  /** People who authenticate with client certificates (erin, frank, grace). */
  readonly certUsers: readonly CertUser[];
}

interface Ports {
  etcdClient: number;
  etcdPeer: number;
  apiServer: number;
}

export class LocalCluster {
  readonly opts: LocalClusterOptions;
  readonly dir: string;
  private binDir = '';
  private ports: Ports = { etcdClient: 0, etcdPeer: 0, apiServer: 0 };
  private pki: Pki | undefined;
  private users: User[] = [];
  private certUsers: CertUser[] = [];
  private readonly procs = new Map<Component, ManagedProcess>();
  private readonly relays: ManagedProcess[] = [];
  private realNode: RealNode | undefined;
  private readonly log: (msg: string) => void;

  constructor(opts: LocalClusterOptions) {
    this.opts = opts;
    this.dir = join(CLUSTERS_ROOT, opts.name);
    this.log = opts.log ?? (() => {});
  }

  get info(): ClusterInfo {
    if (!this.pki) throw new Error('cluster not started');
    return {
      name: this.opts.name,
      dir: this.dir,
      server: `https://127.0.0.1:${this.ports.apiServer}`,
      apiServerPort: this.ports.apiServer,
      etcdClientUrl: `http://127.0.0.1:${this.ports.etcdClient}`,
      caFile: this.pki.caCert,
      kubeconfig: join(this.dir, 'kubeconfig'),
      users: this.users,
      certUsers: this.certUsers,
    };
  }

  user(name: string): User {
    const u = this.users.find((x) => x.name === name);
    if (!u) throw new Error(`no such local user ${name}`);
    return u;
  }

  /** A person who authenticates with a client certificate (erin, frank, grace). */
  certUser(name: string): CertUser {
    const u = this.certUsers.find((x) => x.name === name);
    if (!u) throw new Error(`no such local certificate user ${name}`);
    return u;
  }

  /**
   * Writes a kubeconfig for one of the local people and returns its path: a bearer token for the
   * token users (alice, bob, ...), the client certificate and key for the certificate users
   * (erin, frank, grace).
   */
  kubeconfigFor(userName: string, server = this.info.server): string {
    const path = join(this.dir, `kubeconfig-${userName.replace(/[^a-z0-9-]/gi, '_')}`);
    const caFile = this.info.caFile;
    const cert = this.certUsers.find((x) => x.name === userName);
    if (cert) {
      writeKubeconfig(path, {
        server,
        caFile,
        user: cert.name,
        certFile: cert.certFile,
        keyFile: cert.keyFile,
      });
      return path;
    }
    const u = this.user(userName);
    writeKubeconfig(path, { server, caFile, user: u.name, token: u.token });
    return path;
  }

  /** Writes a kubeconfig that authenticates with a bearer token (e.g. a ServiceAccount's). */
  kubeconfigWithToken(fileName: string, user: string, token: string, server = this.info.server): string {
    const path = join(this.dir, fileName);
    writeKubeconfig(path, { server, caFile: this.info.caFile, user, token });
    return path;
  }

  /** The real node, when the cluster has one (options.realNode). */
  get node(): RealNode | undefined {
    return this.realNode;
  }

  async start(): Promise<ClusterInfo> {
    const t0 = Date.now();
    if (this.opts.realNode) {
      const why = realNodeUnsupported();
      if (why) throw new Error(`real node unavailable: it ${why}; run without it to use KWOK nodes only`);
    }
    this.binDir = ensureBinaries();
    const realBuild = this.opts.realNode ? ensureRealNodeBuild() : undefined;
    const realImages = realBuild ? await ensureInfraImages(realBuild.dir) : undefined;
    this.cleanupStale();
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(join(this.dir, 'etcd'), { recursive: true });
    // Who owns this cluster: cleanup of crashed runs spares clusters whose owner still lives.
    writeFileSync(join(this.dir, 'owner.pid'), String(process.pid));
    if (this.opts.realNode)
      await acquireLock(this.opts.name, this.dir, this.log, this.opts.realNodeLockWaitMs ?? 0);
    const [etcdClient, etcdPeer, apiServer] = await freePorts(3);
    this.ports = { etcdClient: etcdClient!, etcdPeer: etcdPeer!, apiServer: apiServer! };
    this.pki = createPki(this.dir);
    this.users = createUsers();
    this.certUsers = createCertUsers(this.dir, this.pki);
    writeTokenFile(join(this.dir, 'tokens.csv'), this.users);
    const server = `https://127.0.0.1:${this.ports.apiServer}`;
    writeKubeconfig(this.info.kubeconfig, {
      server,
      caFile: this.pki.caCert,
      user: 'paddock-admin',
      token: this.user('paddock-admin').token,
    });
    for (const [component, user] of [
      ['kube-controller-manager', 'system:kube-controller-manager'],
      ['kube-scheduler', 'system:kube-scheduler'],
      ['kwok', 'kwok-controller'],
    ] as const) {
      writeKubeconfig(join(this.dir, `${component}.kubeconfig`), {
        server,
        caFile: this.pki.caCert,
        user,
        token: this.user(user).token,
      });
    }
    try {
      if (this.opts.realNode) this.startNetnsAndRelays();
      await this.startEtcd();
      await this.startApiServer();
      this.startProcess('kube-controller-manager', this.controllerManagerArgs());
      this.startProcess('kube-scheduler', this.schedulerArgs());
      this.startProcess('kwok', this.kwokArgs());
      await this.createNodes(this.opts.nodes ?? 3);
      await this.waitForWorkloads();
      if (realBuild && realImages) {
        this.realNode = new RealNode({
          build: realBuild,
          images: realImages,
          clusterDir: this.dir,
          apiServerPort: this.ports.apiServer,
          pki: this.pki,
          api: { request: (m, p, b) => this.adminRequest(m, p, b) },
          detached: this.opts.detached ?? false,
          log: this.log,
        });
        await this.realNode.start();
        // New pods go to the real node: the KWOK nodes took the probe pod and now take nothing.
        for (let i = 0; i < (this.opts.nodes ?? 3); i++) {
          const r = await this.adminRequest('PATCH', `/api/v1/nodes/kwok-node-${i}`, {
            spec: { unschedulable: true },
          });
          if (r.status !== 200) throw new Error(`cordoning kwok-node-${i}: ${r.status} ${r.body}`);
        }
        await this.realNode.startDns();
        const kubelet = this.realNode.process('kubelet')?.pid;
        if (this.opts.detached && kubelet) setLockOwner(kubelet);
      }
    } catch (err) {
      const tails = [...this.procs.values()].map((p) => `--- ${p.spec.name} ---\n${p.tail(15)}`).join('\n');
      if (process.env['PADDOCK_CLUSTER_KEEP_ON_FAILURE'] !== '1') await this.stop();
      throw new Error(`local cluster ${this.opts.name} failed to start: ${String(err)}\n${tails}`, {
        cause: err,
      });
    }
    this.log(`cluster ${this.opts.name} ready at ${server} in ${Date.now() - t0} ms`);
    return this.info;
  }

  async stop(): Promise<void> {
    // The real node first, through the API (its pods), then its processes.
    if (this.realNode) {
      try {
        await this.realNode.stop();
      } catch (err) {
        this.log(`stopping the real node: ${String(err)}`);
      }
    }
    // Reverse order: workloads first, etcd last.
    for (const c of [...COMPONENTS].reverse()) {
      await this.procs.get(c)?.stop();
    }
    for (const r of this.relays) await r.stop();
    if (this.opts.realNode && readLock()?.cluster === this.opts.name) teardownRealNode(this.log);
  }

  /** Stops the cluster and deletes its state directory. */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  process(c: Component): ManagedProcess {
    const p = this.procs.get(c);
    if (!p) throw new Error(`${c} not started`);
    return p;
  }

  /** Kills the API server (SIGKILL, like a crash) and starts it again on the same port. */
  async restartApiServer(downMs = 0): Promise<void> {
    await this.process('kube-apiserver').kill();
    if (downMs > 0) await sleep(downMs);
    await this.startApiServer();
  }

  /** Compacts etcd at its current revision, so older resourceVersions answer 410 Gone. */
  async compactEtcd(): Promise<number> {
    const url = this.info.etcdClientUrl;
    const range = await postJson(`${url}/v3/kv/range`, { key: Buffer.from('/').toString('base64') });
    const header = (range as { header?: { revision?: string } }).header;
    const revision = Number(header?.revision ?? 0);
    await postJson(`${url}/v3/kv/compaction`, { revision: String(revision), physical: true });
    return revision;
  }

  // --- components -------------------------------------------------------

  private startProcess(c: Component, args: string[]): ManagedProcess {
    const command = join(this.binDir, c);
    const p = new ManagedProcess({
      name: c,
      // With a real node the control plane lives in the node's network namespace (nsenter --net only: see
      // real-node-host.ts), so the API server and the kubelet reach each other on the node's address.
      ...(this.opts.realNode
        ? { command: 'nsenter', args: [`--net=${NETNS_PATH}`, '--', command, ...args] }
        : { command, args }),
      dir: this.dir,
      detached: this.opts.detached ?? false,
    });
    p.start();
    this.procs.set(c, p);
    return p;
  }

  /**
   * The real node's network namespace, and relays that make the API server's and etcd's ports inside it
   * answer on the host's loopback too (the kubeconfig and the tests stay as they are).
   */
  private startNetnsAndRelays(): void {
    createNetns();
    mkdirSync(statePaths.relaySockets, { recursive: true });
    const pairs = [this.ports.apiServer, this.ports.etcdClient].map((port) => ({
      tcp: `127.0.0.1:${port}`,
      sock: join(statePaths.relaySockets, `${port}.sock`),
    }));
    const relay = join(CLUSTER_SRC_DIR, 'relay.ts');
    const specs: Array<{ name: (typeof RELAYS)[number]; command: string; args: string[] }> = [
      {
        name: 'relay-netns',
        command: 'nsenter',
        args: [
          `--net=${NETNS_PATH}`,
          '--',
          process.execPath,
          relay,
          'unix-to-tcp',
          ...pairs.map((p) => `${p.sock}=${p.tcp}`),
        ],
      },
      {
        name: 'relay-host',
        command: process.execPath,
        args: [relay, 'tcp-to-unix', ...pairs.map((p) => `${p.tcp}=${p.sock}`)],
      },
    ];
    for (const s of specs) {
      const p = new ManagedProcess({ ...s, dir: this.dir, detached: this.opts.detached ?? false });
      p.start();
      this.relays.push(p);
    }
  }

  private async startEtcd(): Promise<void> {
    const { etcdClient, etcdPeer } = this.ports;
    this.startProcess('etcd', [
      '--name=paddock',
      `--data-dir=${join(this.dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=paddock=http://127.0.0.1:${etcdPeer}`,
      // A test cluster: durability across power loss is not a goal, speed is.
      '--unsafe-no-fsync',
      '--quota-backend-bytes=4294967296',
      '--log-level=warn',
    ]);
    await waitFor('etcd', 30_000, this.process('etcd'), async () => {
      const res = await httpGet(`http://127.0.0.1:${etcdClient}/health`);
      return res.status === 200 && res.body.includes('true');
    });
  }

  private async startApiServer(): Promise<void> {
    const pki = this.pki!;
    this.startProcess('kube-apiserver', [
      `--etcd-servers=http://127.0.0.1:${this.ports.etcdClient}`,
      ...(this.opts.realNode
        ? [
            // Inside the real node's namespace: pods reach it through the kubernetes Service, whose
            // endpoint is the node's address; the kubelet is reached by its InternalIP (no DNS there).
            '--bind-address=0.0.0.0',
            `--advertise-address=${NODE_IP}`,
            '--endpoint-reconciler-type=lease',
            '--kubelet-preferred-address-types=InternalIP,Hostname',
          ]
        : [
            '--bind-address=127.0.0.1',
            // No default route on these machines: the server must be told its address.
            '--advertise-address=127.0.0.1',
            // The only address is loopback, which Endpoints refuse; nothing in-cluster dials the API server here.
            '--endpoint-reconciler-type=none',
          ]),
      `--secure-port=${this.ports.apiServer}`,
      `--tls-cert-file=${pki.serverCert}`,
      `--tls-private-key-file=${pki.serverKey}`,
      `--client-ca-file=${pki.caCert}`,
      `--token-auth-file=${join(this.dir, 'tokens.csv')}`,
      '--authorization-mode=RBAC',
      '--enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,PodSecurity,ResourceQuota,ValidatingAdmissionPolicy,DefaultTolerationSeconds,Priority',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.saPub}`,
      `--service-account-signing-key-file=${pki.saKey}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=false',
      '--profiling=false',
      '--v=1',
      ...(this.opts.apiServerArgs ?? []),
    ]);
    await waitFor('kube-apiserver', 60_000, this.process('kube-apiserver'), async () => {
      const res = await this.adminRequest('GET', '/readyz');
      return res.status === 200;
    });
  }

  private controllerManagerArgs(): string[] {
    const pki = this.pki!;
    return [
      `--kubeconfig=${join(this.dir, 'kube-controller-manager.kubeconfig')}`,
      `--authentication-kubeconfig=${join(this.dir, 'kube-controller-manager.kubeconfig')}`,
      `--authorization-kubeconfig=${join(this.dir, 'kube-controller-manager.kubeconfig')}`,
      '--bind-address=127.0.0.1',
      '--secure-port=0',
      '--leader-elect=false',
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${pki.saKey}`,
      `--root-ca-file=${pki.caCert}`,
      // The node lifecycle controller stays on: it lifts the not-ready taint that
      // admission puts on new nodes once KWOK reports them Ready (KWOK renews
      // their leases). Cloud and volume controllers have nothing to do here.
      '--controllers=*,-nodeipam,-service-lb-controller,-cloud-node-lifecycle,-persistentvolume-binder,-attachdetach,-persistentvolume-expander',
      '--concurrent-gc-syncs=10',
      '--v=1',
    ];
  }

  private schedulerArgs(): string[] {
    return [
      `--kubeconfig=${join(this.dir, 'kube-scheduler.kubeconfig')}`,
      `--authentication-kubeconfig=${join(this.dir, 'kube-scheduler.kubeconfig')}`,
      `--authorization-kubeconfig=${join(this.dir, 'kube-scheduler.kubeconfig')}`,
      '--bind-address=127.0.0.1',
      '--secure-port=0',
      '--leader-elect=false',
      '--v=1',
    ];
  }

  private kwokArgs(): string[] {
    return [
      `--kubeconfig=${join(this.dir, 'kwok.kubeconfig')}`,
      `--config=${join(CLUSTER_DIR, 'kwok', 'stages.yaml')}`,
      '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
      '--node-lease-duration-seconds=40',
      '--cidr=10.244.0.0/16',
      '--node-ip=10.240.0.1',
    ];
  }

  private async createNodes(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const name = `kwok-node-${i}`;
      const res = await this.adminRequest('POST', '/api/v1/nodes', {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name,
          annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
          labels: {
            'kubernetes.io/hostname': name,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/arch': 'amd64',
            type: 'kwok',
            [NODE_KIND_LABEL]: 'kwok',
          },
        },
        spec: {},
        status: {
          allocatable: { cpu: '32', memory: '128Gi', pods: '1000', 'ephemeral-storage': '500Gi' },
          capacity: { cpu: '32', memory: '128Gi', pods: '1000', 'ephemeral-storage': '500Gi' },
        },
      });
      if (res.status !== 201 && res.status !== 409)
        throw new Error(`creating node ${name}: ${res.status} ${res.body}`);
    }
  }

  /** Ready for workloads: a probe pod is admitted, scheduled, run and completed by KWOK. */
  private async waitForWorkloads(): Promise<void> {
    const ns = 'paddock-probe';
    await this.adminRequest('POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns },
    });
    await waitFor('default ServiceAccount', 60_000, this.process('kube-controller-manager'), async () => {
      const r = await this.adminRequest('GET', `/api/v1/namespaces/${ns}/serviceaccounts/default`);
      return r.status === 200;
    });
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'probe' },
      spec: {
        restartPolicy: 'Never',
        automountServiceAccountToken: false,
        containers: [{ name: 'probe', image: 'probe', env: [{ name: 'SIM_DURATION', value: '1ms' }] }],
      },
    };
    await waitFor('probe pod admitted', 30_000, this.process('kube-apiserver'), async () => {
      const r = await this.adminRequest('POST', `/api/v1/namespaces/${ns}/pods`, pod);
      return r.status === 201 || r.status === 409;
    });
    await waitFor('probe pod Succeeded (scheduler + KWOK)', 60_000, this.process('kwok'), async () => {
      const r = await this.adminRequest('GET', `/api/v1/namespaces/${ns}/pods/probe`);
      return (
        r.status === 200 &&
        (JSON.parse(r.body) as { status?: { phase?: string } }).status?.phase === 'Succeeded'
      );
    });
    await this.adminRequest('DELETE', `/api/v1/namespaces/${ns}`);
  }

  /** A request as the cluster admin. For harness plumbing; tests use real clients. */
  adminRequest(method: string, path: string, body?: unknown): Promise<HttpResult> {
    const token = this.user('paddock-admin').token;
    const ca = readFileSync(this.pki!.caCert);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: this.ports.apiServer,
          path,
          method,
          ca,
          headers: {
            authorization: `Bearer ${token}`,
            ...(payload
              ? { 'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' }
              : {}),
          },
          timeout: 10_000,
        },
        (res) => {
          let data = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (data += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
        },
      );
      req.on('error', (e) => resolve({ status: 0, body: String(e) }));
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.end(payload);
    });
  }

  private cleanupStale(): void {
    killFromPidFiles(this.dir, [...COMPONENTS, ...RELAYS]);
  }
}

export interface HttpResult {
  readonly status: number;
  readonly body: string;
}

export function stopStaleCluster(name: string): void {
  killFromPidFiles(join(CLUSTERS_ROOT, name), [...COMPONENTS, ...RELAYS]);
  if (readLock()?.cluster === name) teardownRealNode();
}

/** Stops a cluster only if the process that started it is gone (a crashed test run). */
export function stopOrphanedCluster(name: string): boolean {
  const dir = join(CLUSTERS_ROOT, name);
  let owner = 0;
  try {
    owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8'));
  } catch {
    // no owner recorded: treat as orphaned
  }
  if (owner > 0 && isAlive(owner)) return false;
  killFromPidFiles(dir, [...COMPONENTS, ...RELAYS]);
  if (readLock()?.cluster === name) teardownRealNode();
  rmSync(dir, { recursive: true, force: true });
  return true;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitFor(
  what: string,
  timeoutMs: number,
  proc: ManagedProcess,
  check: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 50;
  for (;;) {
    if (!proc.running)
      throw new Error(`${proc.spec.name} exited while waiting for ${what}:\n${proc.tail(30)}`);
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(delay);
    delay = Math.min(delay * 2, 500);
  }
}

async function httpGet(url: string): Promise<HttpResult> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

async function postJson(url: string, body: unknown): Promise<unknown> {
  const res = await fetch(url, { method: 'POST', body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Records which cluster `cluster up` started, for `cluster down`/`env`. */
export function writeCurrent(info: ClusterInfo): void {
  writeFileSync(
    join(CLUSTERS_ROOT, `${info.name}.json`),
    JSON.stringify({ ...info, users: undefined, certUsers: undefined }, null, 2),
  );
}
