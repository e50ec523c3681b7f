// The real node (docs/testing.md, "The real node"): a real kubelet with containerd and runc beside the KWOK
// nodes. Pods run for real here: a restricted pod's termination message, the API server through the
// kubernetes Service, cluster DNS, kubectl logs/exec from the host, NetworkPolicies enforced by
// kube-router, one real node per machine, and a stop that leaves nothing on the host.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalCluster } from '../../cluster/src/local-cluster.ts';
import { CLUSTER_SRC_DIR, CLUSTERS_ROOT, REPO_ROOT } from '../../cluster/src/paths.ts';
import {
  CGROUP_ROOT,
  CNI_NETWORK,
  HOST_PATHS,
  LOCK_FILE,
  NETNS_PATH,
  REAL_NODE_NAME,
  STATE_DIR,
} from '../../cluster/src/real-node-config.ts';
import {
  cgroupMounts,
  criNetns,
  ensureRealNodeBuild,
  readLock,
  realNodeMounts,
  realNodeProcesses,
  realNodeUnsupported,
} from '../../cluster/src/real-node-host.ts';
import { BUSYBOX_IMAGE } from '../../cluster/src/real-node-images.ts';
import { useCluster } from './support/cluster.ts';
import { kubectl } from './support/kubectl.ts';
import { restrictedPod, type RestrictedPodOptions } from './support/pods.ts';
import { eventually } from './support/wait.ts';

const unsupported = realNodeUnsupported();
// Host paths the node's runtime may create: those absent now must be absent after the stop.
const absentBefore = Object.values(HOST_PATHS).filter((p) => !existsSync(p));

interface PodStatus {
  metadata: { name: string; creationTimestamp: string };
  spec: { nodeName?: string };
  status: {
    phase?: string;
    podIP?: string;
    conditions?: Array<{ type: string; status: string; lastTransitionTime?: string }>;
    containerStatuses?: Array<{
      state?: { terminated?: { exitCode: number; message?: string; reason?: string }; running?: unknown };
    }>;
  };
}

describe.skipIf(unsupported !== undefined)('real node', () => {
  const env = useCluster({ realNode: true, crds: false });
  const ns = 'rn';

  function pod(name: string, script: string, o: RestrictedPodOptions = {}): unknown {
    return restrictedPod(
      ns,
      name,
      { name: 'main', image: BUSYBOX_IMAGE, imagePullPolicy: 'Never', command: ['sh', '-c', script] },
      o,
    );
  }

  function apply(obj: unknown): void {
    env().kubectl(['apply', '-f', '-'], JSON.stringify(obj));
  }

  function getPod(name: string): PodStatus {
    return JSON.parse(env().kubectl(['get', 'pod', '-n', ns, name, '-o', 'json'])) as PodStatus;
  }

  function terminated(name: string): Promise<PodStatus> {
    return eventually(
      `pod ${name} terminated`,
      () => getPod(name),
      (p) => p.status.phase === 'Succeeded' || p.status.phase === 'Failed',
      { timeoutMs: 60_000, intervalMs: 250 },
    );
  }

  function running(name: string): Promise<PodStatus> {
    return eventually(
      `pod ${name} Ready`,
      () => getPod(name),
      (p) => p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
      { timeoutMs: 60_000, intervalMs: 100 },
    );
  }

  function message(p: PodStatus): string {
    return p.status.containerStatuses?.[0]?.state?.terminated?.message ?? '';
  }

  it('is Ready with the containerd runtime, and the KWOK nodes take no new pods', () => {
    env().kubectl(['create', 'namespace', ns]);
    env().kubectl(['label', 'namespace', ns, 'pod-security.kubernetes.io/enforce=restricted']);
    const node = JSON.parse(env().kubectl(['get', 'node', REAL_NODE_NAME, '-o', 'json'])) as {
      metadata: { labels: Record<string, string> };
      status: {
        nodeInfo: { containerRuntimeVersion: string; kubeletVersion: string };
        conditions: Array<{ type: string; status: string }>;
      };
    };
    expect(node.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(node.status.nodeInfo.containerRuntimeVersion).toMatch(/^containerd:\/\/1\./);
    expect(node.status.nodeInfo.kubeletVersion).toBe('v1.35.4');
    expect(node.metadata.labels['paddock.dev/node-kind']).toBe('real');
    const kwok = JSON.parse(
      env().kubectl(['get', 'nodes', '-l', 'paddock.dev/node-kind=kwok', '-o', 'json']),
    ) as {
      items: Array<{ spec: { unschedulable?: boolean } }>;
    };
    expect(kwok.items.length).toBe(1);
    expect(kwok.items.every((n) => n.spec.unschedulable === true)).toBe(true);
  });

  it('runs a restricted pod for real and reads its termination message', async () => {
    apply(pod('term', `printf '{"answer":42}' > /dev/termination-log; id -u`));
    const p = await terminated('term');
    expect(p.spec.nodeName).toBe(REAL_NODE_NAME);
    expect(p.status.phase).toBe('Succeeded');
    expect(p.status.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(0);
    expect(message(p)).toBe('{"answer":42}');
    // A process ran: its output is in the kubelet's log, read from the host.
    expect(env().kubectl(['logs', '-n', ns, 'term']).trim()).toBe('65532');
    // Admission still refuses what restricted forbids: a root pod never gets to the node.
    const root = pod('root', 'true') as { spec: { securityContext: Record<string, unknown> } };
    root.spec.securityContext = { seccompProfile: { type: 'RuntimeDefault' } };
    const r = kubectl(env().kubeconfig, ['apply', '-f', '-'], JSON.stringify(root));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('violates PodSecurity "restricted');
  });

  it('a pod reaches the API server through the kubernetes Service ClusterIP', async () => {
    const svc = JSON.parse(env().kubectl(['get', 'service', 'kubernetes', '-o', 'json'])) as {
      spec: { clusterIP: string };
    };
    expect(svc.spec.clusterIP).toBe('10.0.0.1');
    // Plain HTTP to the TLS port: only a Go TLS server (the API server) answers with this sentence.
    apply(
      pod(
        'api',
        `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 "$KUBERNETES_SERVICE_HOST" "$KUBERNETES_SERVICE_PORT" > /dev/termination-log; echo "$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT"`,
      ),
    );
    const p = await terminated('api');
    expect(env().kubectl(['logs', '-n', ns, 'api']).trim()).toBe('10.0.0.1:443');
    expect(message(p)).toContain('Client sent an HTTP request to an HTTPS server.');
  });

  it('cluster DNS resolves kubernetes.default.svc.cluster.local (CoreDNS on the node)', async () => {
    const dns = JSON.parse(
      env().kubectl(['get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=kube-dns', '-o', 'json']),
    ) as { items: PodStatus[] };
    expect(dns.items.map((p) => p.spec.nodeName)).toEqual([REAL_NODE_NAME]);
    apply(
      pod(
        'dns',
        'grep nameserver /etc/resolv.conf; nslookup kubernetes.default.svc.cluster.local > /dev/termination-log',
      ),
    );
    const p = await terminated('dns');
    expect(p.status.phase).toBe('Succeeded');
    expect(env().kubectl(['logs', '-n', ns, 'dns']).trim()).toBe('nameserver 10.0.0.10');
    expect(message(p)).toMatch(/Name:\s+kubernetes\.default\.svc\.cluster\.local\s+Address:\s+10\.0\.0\.1\b/);
  });

  it('kubectl logs and exec reach the pod from the host', async () => {
    const t0 = Date.now();
    apply(pod('sleeper', 'echo started; exec sleep 3600', { labels: { app: 'client' } }));
    const p = await running('sleeper');
    console.log(`real node: pod create -> Ready in ${Date.now() - t0} ms (${p.metadata.name})`);
    await eventually(
      'log line',
      () => env().kubectl(['logs', '-n', ns, 'sleeper']),
      (l) => l.includes('started'),
    );
    expect(env().kubectl(['exec', '-n', ns, 'sleeper', '--', 'id', '-u']).trim()).toBe('65532');
    const touch = kubectl(env().kubeconfig, ['exec', '-n', ns, 'sleeper', '--', 'touch', '/x']);
    expect(touch.stderr).toContain('Read-only file system');
  });

  it('enforces NetworkPolicies: default deny blocks pod to pod, an allow rule opens it for its peers only', async () => {
    apply(
      pod(
        'web',
        'mkdir -p /tmp/www && echo pong > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www',
        {
          labels: { app: 'web' },
          tmp: true,
        },
      ),
    );
    apply(pod('other', 'exec sleep 3600', { labels: { app: 'other' } }));
    const web = await running('web');
    await running('other');
    // busybox's static wget crashes on this libc (exit 139); nc speaks the HTTP request itself.
    const request = `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${web.status.podIP} 8080`;
    const get = (from: string): string => {
      const r = kubectl(env().kubeconfig, ['exec', '-n', ns, from, '--', 'sh', '-c', request]);
      return r.code === 0 ? (r.stdout.trim().split('\n').pop() ?? '') : `error: ${r.stderr.trim()}`;
    };
    expect(get('sleeper')).toBe('pong');
    expect(get('other')).toBe('pong');

    apply({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'default-deny', namespace: ns },
      spec: { podSelector: {}, policyTypes: ['Ingress'] },
    });
    await eventually(
      'default deny in force',
      () => get('sleeper'),
      (r) => r.startsWith('error:'),
      {
        timeoutMs: 20_000,
        intervalMs: 250,
      },
    );
    expect(get('other')).toMatch(/^error:/);

    apply({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'web-from-client', namespace: ns },
      spec: {
        podSelector: { matchLabels: { app: 'web' } },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }], ports: [{ port: 8080 }] }],
      },
    });
    await eventually(
      'allow rule in force',
      () => get('sleeper'),
      (r) => r === 'pong',
      {
        timeoutMs: 20_000,
        intervalMs: 250,
      },
    );
    expect(get('other')).toMatch(/^error:/);
  });

  it('refuses a second real node on the machine in one line', async () => {
    const name = `it-second-${process.pid}`;
    const second = new LocalCluster({ name, nodes: 1, realNode: true });
    try {
      await expect(second.start()).rejects.toThrow(
        /^a real node already runs on this machine \(cluster it-[0-9a-f]+, pid \d+\)[^\n]*$/,
      );
    } finally {
      rmSync(join(CLUSTERS_ROOT, name), { recursive: true, force: true });
    }
    // The first node is untouched.
    expect(existsSync(NETNS_PATH)).toBe(true);
  });

  it('stopping leaves no process, mount, cgroup, namespace, firewall rule or file behind', async () => {
    // Pods are still running (sleeper, web, other, CoreDNS): the stop must take them down too.
    const before = {
      pids: realNodeProcesses(),
      mounts: realNodeMounts(),
      // This node's pods' namespaces: those that appeared after it took the lock.
      podNetns: criNetns().filter((n) => !(readLock()?.netnsBefore ?? []).includes(n)),
    };
    expect(before.pids.length).toBeGreaterThan(6);
    expect(before.mounts.some((m) => m.includes('/rootfs'))).toBe(true);
    expect(before.podNetns.length).toBeGreaterThanOrEqual(4);
    const t0 = Date.now();
    await env().cluster.destroy();
    console.log(`real node: cluster stop in ${Date.now() - t0} ms`);

    const alive = before.pids.filter((p) => {
      try {
        const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
        return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
      } catch {
        return false;
      }
    });
    expect(alive).toEqual([]);
    expect(realNodeProcesses()).toEqual([]);
    const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
    expect(mountinfo).not.toContain(STATE_DIR);
    expect(mountinfo).not.toContain(NETNS_PATH);
    for (const n of before.podNetns) {
      expect(mountinfo).not.toContain(n);
      expect(existsSync(n)).toBe(false);
    }
    expect(existsSync(NETNS_PATH)).toBe(false);
    expect(cgroupMounts().filter((m) => existsSync(join(m, CGROUP_ROOT)))).toEqual([]);
    expect(existsSync(STATE_DIR)).toBe(false);
    expect(existsSync(LOCK_FILE)).toBe(false);
    expect(absentBefore.filter((p) => existsSync(p))).toEqual([]);
    expect(existsSync(join(HOST_PATHS.devicePlugins, 'kubelet.sock'))).toBe(false);
    const logLinks = existsSync(HOST_PATHS.containerLogs)
      ? readdirSync(HOST_PATHS.containerLogs).filter((e) => {
          try {
            return readlinkSync(join(HOST_PATHS.containerLogs, e)).startsWith(STATE_DIR);
          } catch {
            return false;
          }
        })
      : [];
    expect(logLinks).toEqual([]);
    const cniLeft = existsSync(HOST_PATHS.cniResults)
      ? readdirSync(HOST_PATHS.cniResults).filter((e) => e.startsWith(`${CNI_NETWORK}-`))
      : [];
    expect(cniLeft).toEqual([]);
    // The node's firewall and Service rules lived in its namespace: the host's tables have none of them.
    const build = ensureRealNodeBuild();
    const save = spawnSync(join(build.bin, 'iptables-save'), [], { env: build.env, encoding: 'utf8' });
    expect(save.status).toBe(0);
    expect(save.stdout).not.toMatch(/KUBE-|KUBE-ROUTER/);
    const sets = spawnSync(join(build.bin, 'ipset'), ['list', '-n'], { env: build.env, encoding: 'utf8' });
    expect(sets.stdout).not.toMatch(/KUBE-/);
  });
});

describe.skipIf(unsupported !== undefined)('make cluster-up REAL_NODES=1 / make cluster-down', () => {
  it('starts a real node from a shell that outlives the command, and cluster down removes it all', () => {
    const name = `it-shell-${process.pid}`;
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [join(CLUSTER_SRC_DIR, 'cli.ts'), ...args, '--name', name], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        timeout: 15 * 60_000,
      });
    try {
      const up = cli('up', '--real-node', '--nodes', '1');
      expect(up.status, up.stderr).toBe(0);
      const kubeconfig = up.stdout.trim();
      // The command has exited; the node runs on, reachable from the host through the usual kubeconfig.
      const node = kubectl(kubeconfig, [
        'get',
        'node',
        REAL_NODE_NAME,
        '-o',
        'jsonpath={.status.nodeInfo.containerRuntimeVersion}',
      ]);
      expect(node.stdout).toMatch(/^containerd:\/\//);
      expect(realNodeProcesses().length).toBeGreaterThan(4);
    } finally {
      // Without the API: cluster down kills what runs and unmounts what the runtime left.
      const down = cli('down');
      expect(down.status, down.stderr).toBe(0);
    }
    expect(realNodeProcesses()).toEqual([]);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(STATE_DIR);
    expect(existsSync(NETNS_PATH)).toBe(false);
    expect(cgroupMounts().filter((m) => existsSync(join(m, CGROUP_ROOT)))).toEqual([]);
    expect(existsSync(LOCK_FILE)).toBe(false);
    expect(absentBefore.filter((p) => existsSync(p))).toEqual([]);
  });
});

describe('a machine that cannot run a real node', () => {
  it('says why in one line and stops (here: run as a user who is not root)', () => {
    const cli = [
      join(CLUSTER_SRC_DIR, 'cli.ts'),
      'up',
      '--name',
      `it-unsupported-${process.pid}`,
      '--real-node',
    ];
    // As root, drop to nobody; elsewhere the machine is already one that cannot.
    const [cmd, args] =
      process.getuid?.() === 0
        ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, ...cli]]
        : [process.execPath, cli];
    const r = spawnSync(cmd, args, {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { ...process.env, HOME: '/nonexistent' },
      timeout: 60_000,
    });
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^real node unavailable: it needs .+; run without it to use KWOK nodes only$/);
    if (process.getuid?.() === 0) expect(lines[0]).toContain('needs root (running as uid 65534)');
    if (unsupported) console.log(`real node tests skipped here: the real node ${unsupported}`);
  });
});
