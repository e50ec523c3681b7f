// What the real node does to the host, and how it undoes it (docs/testing.md, "The real node"): the support
// check, the build, the one-per-machine lock, the network namespace, the cgroup root, and a teardown that
// removes every process, mount, cgroup, namespace and file the node made, whether it stopped cleanly or its
// owner crashed.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmdirSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { CLUSTER_DIR } from './paths.ts';
import {
  BRIDGE,
  CGROUP_ROOT,
  CNI_NETWORK,
  HOST_PATHS,
  LOCK_FILE,
  NETNS,
  NETNS_PATH,
  NODE_IP,
  REALNODE_ROOT,
  STATE_DIR,
  statePaths,
} from './real-node-config.ts';

/** Why this machine cannot run a real node, or undefined when it can. */
export function realNodeUnsupported(): string | undefined {
  if (process.platform !== 'linux') return `needs Linux (this is ${process.platform})`;
  const uid = process.getuid?.() ?? -1;
  if (uid !== 0) return `needs root (running as uid ${uid})`;
  if (cgroupMounts().length === 0) return 'needs cgroups (nothing mounted under /sys/fs/cgroup)';
  for (const tool of ['ip', 'nsenter', 'mount', 'umount', 'sysctl', 'tar'])
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `needs ${tool} on PATH`;
  return undefined;
}

export interface RealNodeBuild {
  readonly dir: string;
  readonly bin: string;
  readonly cniBin: string;
  /** PATH and library variables for the node's components (iptables and ipset come from the cache). */
  readonly env: NodeJS.ProcessEnv;
}

/** Builds (first run) or reuses the node's binaries and packages (the images: ensureInfraImages). */
export function ensureRealNodeBuild(): RealNodeBuild {
  const res = spawnSync('bash', [join(CLUSTER_DIR, 'build-realnode.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (res.status !== 0)
    throw new Error(`building the real node failed (exit ${res.status}); see the log above`);
  const dir = res.stdout.trim().split('\n').pop() ?? '';
  const bin = join(dir, 'bin');
  const lib = join(dir, 'root', 'usr', 'lib', 'x86_64-linux-gnu');
  return {
    dir,
    bin,
    cniBin: join(dir, 'root', 'usr', 'lib', 'cni'),
    env: {
      ...process.env,
      PATH: `${bin}:${process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`,
      LD_LIBRARY_PATH: lib,
      XTABLES_LIBDIR: join(lib, 'xtables'),
    },
  };
}

// --- the one-per-machine lock -------------------------------------------------------------------

export interface RealNodeLock {
  readonly cluster: string;
  /** Where the node's processes keep their pid and log files. */
  readonly clusterDir: string;
  /** The process whose life the node's life follows (the test runner, or the kubelet of `cluster up`). */
  readonly ownerPid: number;
  /** Host directories that did not exist before the node started; removed again when empty. */
  readonly createdHostPaths: readonly string[];
  /**
   * The CRI network namespaces (/run/netns/cni-*) that existed before the node started. One node runs per
   * machine, so every other one appearing later is one of its pods', even one the runtime created and then
   * lost track of (a sandbox whose runtime handler does not exist leaves its namespace behind).
   */
  readonly netnsBefore?: readonly string[];
}

/** The CRI network namespaces now on the host (/run/netns/cni-*). */
export function criNetns(): string[] {
  return safeReaddir(HOST_PATHS.netnsDir)
    .filter((e) => e.startsWith('cni-'))
    .map((e) => join(HOST_PATHS.netnsDir, e));
}

export function readLock(): RealNodeLock | undefined {
  try {
    return JSON.parse(readFileSync(LOCK_FILE, 'utf8')) as RealNodeLock;
  } catch {
    return undefined;
  }
}

/**
 * Takes the machine's real-node lock for `cluster`. A lock whose owner died is cleared (with a full
 * teardown of what its node left); a live one is waited for up to `waitMs`, then refused with one line
 * saying who holds it.
 */
export async function acquireLock(
  cluster: string,
  clusterDir: string,
  log: (m: string) => void,
  waitMs = 0,
): Promise<void> {
  mkdirSync(REALNODE_ROOT, { recursive: true });
  const deadline = Date.now() + waitMs;
  let said = false;
  for (;;) {
    const created = Object.values(HOST_PATHS).filter((p) => !existsSync(p));
    const lock: RealNodeLock = {
      cluster,
      clusterDir,
      ownerPid: process.pid,
      createdHostPaths: created,
      netnsBefore: criNetns(),
    };
    try {
      writeFileSync(LOCK_FILE, JSON.stringify(lock), { flag: 'wx' });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const held = readLock();
    if (held && isAlive(held.ownerPid)) {
      if (Date.now() >= deadline)
        throw new Error(
          `a real node already runs on this machine (cluster ${held.cluster}, pid ${held.ownerPid}); only one can run at a time: stop it first (make cluster-down CLUSTER=${held.cluster})`,
        );
      if (!said) log(`waiting for the real node of cluster ${held.cluster} (pid ${held.ownerPid}) to stop`);
      said = true;
      await new Promise((r) => setTimeout(r, 1000));
      continue;
    }
    log(`clearing the real node a dead process left (cluster ${held?.cluster ?? 'unknown'})`);
    teardownRealNode(log);
  }
}

export function setLockOwner(pid: number): void {
  const held = readLock();
  if (held) writeFileSync(LOCK_FILE, JSON.stringify({ ...held, ownerPid: pid }));
}

export function isAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// --- network namespace and cgroups --------------------------------------------------------------

function run(cmd: string, args: readonly string[]): string {
  return execFileSync(cmd, [...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * The node's network namespace: loopback, the bridge with the node's address, forwarding and bridge
 * netfilter (so kube-router's and kube-proxy's rules see traffic between pods on the bridge). All of it
 * exists only inside the namespace.
 */
export function createNetns(): void {
  run('ip', ['netns', 'add', NETNS]);
  run('ip', ['-n', NETNS, 'link', 'set', 'lo', 'up']);
  run('ip', ['-n', NETNS, 'link', 'add', BRIDGE, 'type', 'bridge']);
  run('ip', ['-n', NETNS, 'addr', 'add', `${NODE_IP}/16`, 'dev', BRIDGE]);
  run('ip', ['-n', NETNS, 'link', 'set', BRIDGE, 'up']);
  // nsenter --net, not `ip netns exec`: the latter remounts /sys (docs/testing.md).
  run('nsenter', [
    `--net=${NETNS_PATH}`,
    'sysctl',
    '-q',
    '-w',
    'net.ipv4.ip_forward=1',
    'net.bridge.bridge-nf-call-iptables=1',
  ]);
}

/** Mount points of the cgroup hierarchies (v1 controllers, named ones and the unified one). */
export function cgroupMounts(): string[] {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' '))
      .filter((f) => {
        const dash = f.indexOf('-');
        return dash > 0 && (f[dash + 1] === 'cgroup' || f[dash + 1] === 'cgroup2');
      })
      .map((f) => unescapeMount(f[4] ?? ''));
  } catch {
    return [];
  }
}

/** The kubelet refuses a missing cgroupRoot: create it in every hierarchy (cpuset needs its cpus and mems). */
export function createCgroupRoot(): void {
  for (const m of cgroupMounts()) {
    const dir = join(m, CGROUP_ROOT);
    mkdirSync(dir, { recursive: true });
    for (const f of ['cpuset.cpus', 'cpuset.mems']) {
      const parent = join(m, f);
      if (existsSync(parent) && existsSync(join(dir, f)))
        writeFileSync(join(dir, f), readFileSync(parent, 'utf8').trim() || '0');
    }
  }
}

// --- teardown -------------------------------------------------------------------------------------

function pidsUnder(dir: string): number[] {
  const pids: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return pids;
  }
  try {
    for (const p of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (p) pids.push(Number(p));
  } catch {
    // not a cgroup directory
  }
  for (const e of entries) {
    const sub = join(dir, e);
    try {
      if (lstatSync(sub).isDirectory()) pids.push(...pidsUnder(sub));
    } catch {
      // removed meanwhile
    }
  }
  return pids;
}

function nsInode(pid: number | 'self', kind = 'net'): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/${kind}`);
  } catch {
    return undefined;
  }
}

/** Every process the node runs: in its cgroup root, in its network namespace, or a shim of its containerd. */
export function realNodeProcesses(): number[] {
  const found = new Set<number>();
  for (const m of cgroupMounts()) for (const p of pidsUnder(join(m, CGROUP_ROOT))) found.add(p);
  let ourNet: string | undefined;
  try {
    ourNet = `net:[${statSync(NETNS_PATH).ino}]`;
  } catch {
    ourNet = undefined;
  }
  for (const e of readdirSync('/proc')) {
    const pid = Number(e);
    if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) continue;
    if (ourNet && nsInode(pid) === ourNet) found.add(pid);
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes(statePaths.containerdSocket) || cmd.includes(`${STATE_DIR}/`)) found.add(pid);
    } catch {
      // gone
    }
  }
  found.delete(process.pid);
  return [...found];
}

/** Mount points under the node's state directory or of its pods' network namespaces, deepest first. */
export function realNodeMounts(podNetns: ReadonlySet<string> = new Set()): string[] {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => unescapeMount(l.split(' ')[4] ?? ''))
    .filter(Boolean);
  return mounts
    .filter(
      (m) =>
        m === STATE_DIR ||
        m.startsWith(`${STATE_DIR}/`) ||
        m === NETNS_PATH ||
        (m.startsWith(`${HOST_PATHS.netnsDir}/`) && podNetns.has(m)),
    )
    .sort((a, b) => b.length - a.length);
}

/** The pods' network namespaces (CRI's /run/netns/cni-*): those holding the far ends of the bridge's veths. */
function podNetnsPaths(): Set<string> {
  const paths = new Set<string>();
  if (!existsSync(NETNS_PATH)) return paths;
  try {
    const out = run('ip', ['-n', NETNS, '-o', 'link', 'show', 'master', BRIDGE]);
    for (const m of out.matchAll(/link-netns (\S+)/g)) if (m[1]) paths.add(join(HOST_PATHS.netnsDir, m[1]));
  } catch {
    // no bridge
  }
  return paths;
}

function killAll(pids: readonly number[]): void {
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // gone
    }
  }
  const deadline = Date.now() + 10_000;
  while (pids.some((p) => existsSync(`/proc/${p}/stat`) && !isZombie(p)) && Date.now() < deadline)
    spawnSync('sleep', ['0.1']);
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

function rmdirTree(dir: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const e of entries) {
    const sub = join(dir, e);
    try {
      if (lstatSync(sub).isDirectory()) rmdirTree(sub);
    } catch {
      // gone
    }
  }
  try {
    rmdirSync(dir);
  } catch {
    // still busy or not empty
  }
}

/**
 * Removes everything of the real node, whatever state it is in. Idempotent. Throws when something could
 * not be removed (naming it), after removing all it could.
 */
export function teardownRealNode(log: (m: string) => void = () => {}): void {
  const lock = readLock();
  const podNetns = podNetnsPaths();
  // Namespaces the runtime made while the node ran, including those it lost track of.
  if (lock?.netnsBefore) {
    const before = new Set(lock.netnsBefore);
    for (const n of criNetns()) if (!before.has(n)) podNetns.add(n);
  }
  // Processes: the runtime's shims and the containers first go with everything in the cgroup root.
  for (let round = 0; round < 3; round++) {
    const pids = realNodeProcesses();
    if (pids.length === 0) break;
    for (const p of pids) {
      const n = nsInode(p);
      if (!n) continue;
      for (const e of safeReaddir(HOST_PATHS.netnsDir))
        try {
          if (`net:[${statSync(join(HOST_PATHS.netnsDir, e)).ino}]` === n)
            podNetns.add(join(HOST_PATHS.netnsDir, e));
        } catch {
          // gone
        }
    }
    killAll(pids);
  }
  // Mounts: container rootfs, volumes, shm, pod network namespaces.
  for (const m of realNodeMounts(podNetns)) {
    if (spawnSync('umount', [m]).status !== 0) spawnSync('umount', ['-l', m]);
  }
  for (const p of podNetns) rmSync(p, { force: true });
  if (existsSync(NETNS_PATH)) spawnSync('ip', ['netns', 'delete', NETNS]);
  for (const m of cgroupMounts()) rmdirTree(join(m, CGROUP_ROOT));
  // Files the runtime's fixed defaults wrote on the host, named after our containers' ids: shim sockets
  // (sha256 of containerd's address, namespace and id) and libcni's cached results. A clean stop leaves
  // none; a killed runtime leaves them.
  for (const id of runtimeIds()) {
    const hash = createHash('sha256')
      .update(join(statePaths.containerdSocket, 'k8s.io', id))
      .digest('hex');
    rmSync(join(HOST_PATHS.containerdRun, 's', hash), { force: true });
    rmSync(join(HOST_PATHS.cniResults, `cni-loopback-${id}-lo`), { force: true });
    rmSync(join(HOST_PATHS.cniResults, `${CNI_NETWORK}-${id}-eth0`), { force: true });
  }
  for (const e of safeReaddir(HOST_PATHS.containerLogs)) {
    const link = join(HOST_PATHS.containerLogs, e);
    try {
      if (readlinkSync(link).startsWith(`${STATE_DIR}/`)) unlinkSync(link);
    } catch {
      // not a link of ours
    }
  }
  for (const sub of ['s', 'fifo', 'runc', 'io.containerd.runtime.v2.task'])
    rmdirTree(join(HOST_PATHS.containerdRun, sub));
  rmSync(join(HOST_PATHS.devicePlugins, 'kubelet.sock'), { force: true });
  for (const p of lock?.createdHostPaths ?? []) {
    // `ip netns add` made /run/netns a mount of itself when it created it.
    if (p === HOST_PATHS.netnsDir && safeReaddir(p).length === 0) spawnSync('umount', [p]);
    rmdirTree(p);
  }
  const left = realNodeMounts(podNetns);
  const procs = realNodeProcesses();
  if (left.length === 0) rmSync(STATE_DIR, { recursive: true, force: true });
  rmSync(LOCK_FILE, { force: true });
  const problems = [
    ...(left.length ? [`mounts still present: ${left.join(', ')}`] : []),
    ...(procs.length ? [`processes still running: ${procs.join(', ')}`] : []),
    ...(existsSync(NETNS_PATH) ? [`network namespace ${NETNS} still present`] : []),
    ...cgroupMounts()
      .map((m) => join(m, CGROUP_ROOT))
      .filter((d) => existsSync(d))
      .map((d) => `cgroup ${d} still present`),
  ];
  if (problems.length) throw new Error(`real node teardown incomplete: ${problems.join('; ')}`);
  log('real node removed');
}

/** Ids of every task, sandbox and container the node's containerd knows of. */
function runtimeIds(): Set<string> {
  const ids = new Set<string>();
  for (const d of [
    join(statePaths.containerdState, 'io.containerd.runtime.v2.task', 'k8s.io'),
    join(statePaths.containerdRoot, 'io.containerd.grpc.v1.cri', 'sandboxes'),
    join(statePaths.containerdRoot, 'io.containerd.grpc.v1.cri', 'containers'),
  ])
    for (const e of safeReaddir(d)) if (/^[0-9a-f]{64}$/.test(e)) ids.add(e);
  return ids;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** mountinfo escapes spaces and a few other characters as octal. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}
