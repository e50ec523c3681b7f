// The sandbox, proven at run time on the real node (docs/security.md, "Checking a cluster's sandbox"): the
// operator installed by its Helm chart runs agents/sandbox-probe as ordinary Agents, and each test asserts
// what the probe observed from inside its container: identity and capabilities, filesystem, token, host
// files, the network (other agents, the operator, the API server, the kubelet, declared egress, DNS), the
// memory and pids limits, the 4096-byte outputs limit, the step timeout, a pod deleted mid-run, and pods
// that cannot start.
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../cluster/src/paths.ts';
import { NODE_IP, REAL_NODE_NAME, REALNODE_ROOT, statePaths } from '../../cluster/src/real-node-config.ts';
import { realNodeUnsupported } from '../../cluster/src/real-node-host.ts';
import { BUSYBOX_IMAGE } from '../../cluster/src/real-node-images.ts';
import { startVerdict } from '../../operator/src/controllers/workflow/pod-start.ts';
import type { Pod } from '../../operator/src/kube/core-types.ts';
import { kubectl } from '../integration/support/kubectl.ts';
import { podsOf, restrictedNamespace, stepOf } from '../integration/support/workflows.ts';
import { eventually } from '../integration/support/wait.ts';
import {
  FIXTURES_NAMESPACE,
  FIXTURES_SERVICE_IP,
  usePaddockOnRealNode,
} from './support/paddock-on-real-node.ts';
import { restrictedPod } from '../integration/support/pods.ts';
import {
  createAgent,
  finished,
  probeAgent,
  PROBE_IMAGE_NAME,
  submit,
  type Inspection,
} from './support/probe.ts';

const unsupported = realNodeUnsupported();
const NS = 'audit';
const OUTSIDE_NS = 'outside';
// A file on the host the agent must not see.
const HOST_MARKER = `/tmp/paddock-e2e-host-marker-${randomBytes(4).toString('hex')}`;

describe.skipIf(unsupported !== undefined)('the sandbox on the real node', () => {
  const env = usePaddockOnRealNode({ fixtures: true });
  const client = () => env().admin;
  const image = () => env().image(PROBE_IMAGE_NAME);

  type PodWithIp = Pod & { status?: { podIP?: string } };

  function podJson(namespace: string, name: string): PodWithIp {
    return JSON.parse(env().kubectl(['get', 'pod', '-n', namespace, name, '-o', 'json'])) as PodWithIp;
  }

  async function podIp(namespace: string, name: string): Promise<string> {
    const p = await eventually(
      `pod ${namespace}/${name} running with an IP`,
      () => podJson(namespace, name),
      (x) => x.status?.phase === 'Running' && (x.status.podIP ?? '') !== '',
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    return p.status?.podIP ?? '';
  }

  // Pods that cannot start take up to two minutes to be given up on (docs/workflow-authors.md, "When a pod
  // cannot start"): they are submitted first and checked last, while the other tests run.
  const startFailures = ['absent-image', 'missing-secret', 'unknown-runtime'] as const;

  beforeAll(async () => {
    writeFileSync(HOST_MARKER, 'the host');
    env().kubectl(['apply', '-f', '-'], restrictedNamespace(NS));
    env().kubectl(['apply', '-f', '-'], restrictedNamespace(OUTSIDE_NS));
    // A RuntimeClass whose handler the node's containerd does not have.
    env().kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'node.k8s.io/v1',
        kind: 'RuntimeClass',
        metadata: { name: 'missing-handler' },
        handler: 'nonexistent',
      }),
    );
    const noRetry = { retries: { limit: 0 } };
    await createAgent(
      client(),
      probeAgent('absent', NS, 'paddock.local/agent-that-was-never-built:0.1.0', noRetry),
    );
    await createAgent(
      client(),
      probeAgent('needs-secret', NS, image(), {
        ...noRetry,
        secrets: [{ env: 'API_TOKEN', secretKeyRef: { name: 'never-created', key: 'token' } }],
      }),
    );
    await createAgent(
      client(),
      probeAgent('odd-runtime', NS, image(), { ...noRetry, runtimeClassName: 'missing-handler' }),
    );
    await submit(client(), NS, 'absent-image', 'absent', {});
    await submit(client(), NS, 'missing-secret', 'needs-secret', {});
    await submit(client(), NS, 'unknown-runtime', 'odd-runtime', {});
  }, 300_000);

  afterAll(() => {
    rmSync(HOST_MARKER, { force: true });
  });

  describe('isolation audit (mode inspect)', () => {
    let seen: Inspection;
    let hostPaths: string[] = [];
    let targets: { otherAgent: string; operator: string; fixturesPod: string; outsider: string };

    beforeAll(async () => {
      // The prober may reach the fixtures (Service and pod range) on port 8080 only, as the example Agents may.
      await createAgent(
        client(),
        probeAgent('prober', NS, image(), {
          egress: [
            { cidr: `${FIXTURES_SERVICE_IP}/32`, ports: [8080] },
            { cidr: '10.88.0.0/16', ports: [8080] },
          ],
        }),
      );
      await createAgent(client(), probeAgent('server', NS, image()));
      // Another agent, listening on 8080: inside the prober's declared egress, so only the sandbox's
      // ingress isolation stands between them.
      await submit(client(), NS, 'target', 'server', { mode: 'serve', port: 8080, seconds: 75 });
      // Outside any agent namespace, listening on 8080 (declared) and 9090 (not declared).
      env().kubectl(
        ['apply', '-f', '-'],
        JSON.stringify(
          restrictedPod(OUTSIDE_NS, 'outsider', {
            name: 'listen',
            image: BUSYBOX_IMAGE,
            imagePullPolicy: 'Never',
            // busybox nc: -ll keeps listening after each connection.
            command: ['sh', '-c', 'nc -ll -p 8080 -e true & nc -ll -p 9090 -e true & wait'],
          }),
        ),
      );
      const fixtures = JSON.parse(
        env().kubectl([
          'get',
          'pods',
          '-n',
          FIXTURES_NAMESPACE,
          '-l',
          'app.kubernetes.io/name=paddock-fixtures',
          '-o',
          'json',
        ]),
      ) as { items: PodWithIp[] };
      targets = {
        otherAgent: await podIp(NS, 'target-probe-1'),
        operator: env().operatorPods()[0]?.status?.podIP ?? '',
        fixturesPod: fixtures.items[0]?.status?.podIP ?? '',
        outsider: await podIp(OUTSIDE_NS, 'outsider'),
      };
      expect(targets.operator).not.toBe('');
      expect(targets.fixturesPod).not.toBe('');
      // Paths that exist on the host (checked here) and mean nothing inside an image.
      hostPaths = [
        HOST_MARKER,
        env().cluster.dir,
        statePaths.containerdSocket,
        REALNODE_ROOT,
        REPO_ROOT,
        '/run/netns',
      ];
      for (const p of hostPaths) expect(existsSync(p), p).toBe(true);
      const apiServerPort = env().cluster.info.apiServerPort;
      const connect = [
        { name: 'fixturesService', host: FIXTURES_SERVICE_IP, port: 8080 },
        { name: 'fixturesName', host: `fixtures.${FIXTURES_NAMESPACE}.svc.cluster.local`, port: 8080 },
        { name: 'fixturesPod', host: targets.fixturesPod, port: 8080 },
        { name: 'outsiderDeclared', host: targets.outsider, port: 8080 },
        { name: 'outsiderUndeclared', host: targets.outsider, port: 9090 },
        { name: 'otherAgent', host: targets.otherAgent, port: 8080 },
        { name: 'operatorMetrics', host: targets.operator, port: 8080 },
        { name: 'operatorHealth', host: targets.operator, port: 8081 },
        { name: 'apiServerService', host: '10.0.0.1', port: 443 },
        { name: 'apiServerNamed', host: 'kubernetes.default.svc.cluster.local', port: 443 },
        { name: 'apiServerNode', host: NODE_IP, port: apiServerPort },
        { name: 'kubelet', host: NODE_IP, port: 10250 },
        { name: 'fixturesUndeclaredPort', host: FIXTURES_SERVICE_IP, port: 9090 },
      ];
      await submit(client(), NS, 'inspect', 'prober', {
        mode: 'inspect',
        timeoutMs: 3000,
        connect,
        resolve: ['kubernetes.default.svc.cluster.local', `fixtures.${FIXTURES_NAMESPACE}.svc.cluster.local`],
        paths: hostPaths,
      });
      const wf = await finished(client(), NS, 'inspect');
      expect(wf.status?.phase, JSON.stringify(stepOf(wf, 'probe'))).toBe('Succeeded');
      seen = stepOf(wf, 'probe').outputs as unknown as Inspection;
      console.log(`sandbox-probe observed: ${JSON.stringify(seen)}`);
    }, 300_000);

    it('runs as uid and gid 65532 with no capabilities, no new privileges and seccomp filtering', () => {
      expect(seen.identity.uid.split(' ')).toEqual(['65532', '65532', '65532', '65532']);
      expect(seen.identity.gid.split(' ')).toEqual(['65532', '65532', '65532', '65532']);
      expect(seen.identity.capEff).toBe('0000000000000000');
      expect(seen.identity.capPrm).toBe('0000000000000000');
      expect(seen.identity.noNewPrivs).toBe('1');
      expect(seen.identity.seccomp).toBe('2'); // SECCOMP_MODE_FILTER: the runtime's default profile
    });

    it('has a read-only root filesystem and a writable /tmp only', () => {
      expect(seen.writes).toEqual({ root: 'EROFS', etc: 'EROFS', tmp: 'ok' });
    });

    it('has no ServiceAccount token', () => {
      expect(seen.tokenMounted).toBe(false);
    });

    it("cannot see the host's files", () => {
      expect(Object.keys(seen.visible).sort()).toEqual([...hostPaths].sort());
      expect(Object.entries(seen.visible).filter(([, v]) => v)).toEqual([]);
    });

    it('reaches its declared egress (the fixtures by Service, name and pod) and cluster DNS', () => {
      expect(seen.connect['fixturesService']).toBe('connected');
      expect(seen.connect['fixturesName']).toBe('connected');
      expect(seen.connect['fixturesPod']).toBe('connected');
      expect(seen.connect['outsiderDeclared']).toBe('connected');
      expect(seen.resolve['kubernetes.default.svc.cluster.local']).toEqual(['10.0.0.1']);
      expect(seen.resolve[`fixtures.${FIXTURES_NAMESPACE}.svc.cluster.local`]).toEqual([FIXTURES_SERVICE_IP]);
    });

    it('reaches nothing else: a port it did not declare, another agent, the operator, the API server, the kubelet', () => {
      const refused = [
        'outsiderUndeclared',
        'fixturesUndeclaredPort',
        'otherAgent',
        'operatorMetrics',
        'operatorHealth',
        'apiServerService',
        'apiServerNamed',
        'apiServerNode',
        'kubelet',
      ];
      for (const name of refused) expect(seen.connect[name], name).not.toBe('connected');
    });

    it('was started only after the network gate saw the kubelet refused (no unfiltered first moments)', () => {
      // The probe connects the moment it starts; without the gate, kube-router's rules for a new pod arrive a few
      // hundred milliseconds late and those first connections went through (docs/security.md, "The network gate").
      const pod = podJson(NS, 'inspect-probe-1');
      expect(pod.spec.initContainers?.map((c) => c.name)).toEqual(['paddock-network-gate']);
      expect(pod.spec.initContainers?.[0]?.image).toBe(env().image('paddock-operator'));
      expect(pod.status?.initContainerStatuses?.[0]?.state?.terminated?.exitCode).toBe(0);
      const log = kubectl(env().kubeconfig, [
        'logs',
        '-n',
        NS,
        'inspect-probe-1',
        '-c',
        'paddock-network-gate',
      ]);
      expect(log.stdout).toMatch(/network isolated: 10\.88\.0\.1:10250 (ECONNREFUSED|timeout) after \d+ ms/);
    });

    it('the other agent was listening all along: it counted the one connection from its node, not the prober', async () => {
      // From the node (the API server's pod proxy), which NetworkPolicies leave alone: proof the port was open.
      // The answer is not HTTP, so the proxy's request fails; the connection is what counts.
      kubectl(env().kubeconfig, ['get', '--raw', `/api/v1/namespaces/${NS}/pods/target-probe-1:8080/proxy/`]);
      const wf = await finished(client(), NS, 'target', 120_000);
      expect(wf.status?.phase, JSON.stringify(wf.status?.steps)).toBe('Succeeded');
      expect(stepOf(wf, 'probe').outputs).toEqual({ accepted: 1 });
    });
  });

  it('kills a memory hog at its limit and says it ran out of memory', async () => {
    await createAgent(
      client(),
      probeAgent('hog', NS, image(), {
        retries: { limit: 0 },
        resources: { requests: { cpu: '50m', memory: '96Mi' }, limits: { cpu: '500m', memory: '96Mi' } },
      }),
    );
    await submit(client(), NS, 'hog', 'hog', { mode: 'memory', memoryMiB: 2048 });
    const wf = await finished(client(), NS, 'hog');
    const step = stepOf(wf, 'probe');
    expect(step).toMatchObject({ phase: 'Failed', reason: 'OOMKilled' });
    expect(step.message).toContain('ran out of memory (limit 96Mi)');
    expect(step.exitCode).toBe(137);
  });

  it('stops a fork bomb at the pod pids limit, and the node stays Ready', async () => {
    await createAgent(client(), probeAgent('forker', NS, image(), { retries: { limit: 0 } }));
    await submit(client(), NS, 'fork', 'forker', { mode: 'fork', forkMax: 5000 });
    const wf = await finished(client(), NS, 'fork');
    const out = stepOf(wf, 'probe').outputs as { started: number; error: string | null };
    expect(wf.status?.phase).toBe('Succeeded');
    // The kubelet's podPidsLimit is 256 (docs/testing.md, "The real node"), threads included.
    expect(out.error).toBe('EAGAIN');
    expect(out.started).toBeGreaterThan(100);
    expect(out.started).toBeLessThan(256);
    const node = JSON.parse(env().kubectl(['get', 'node', REAL_NODE_NAME, '-o', 'json'])) as {
      status: { conditions: Array<{ type: string; status: string }> };
    };
    expect(node.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(node.status.conditions.find((c) => c.type === 'PIDPressure')?.status).toBe('False');
  });

  describe('the outputs limit on a real kubelet', () => {
    beforeAll(async () => {
      await createAgent(client(), probeAgent('writer', NS, image(), { retries: { limit: 0 } }));
      await submit(client(), NS, 'out-4096', 'writer', { mode: 'output', outputBytes: 4096 });
      await submit(client(), NS, 'out-4097', 'writer', { mode: 'output', outputBytes: 4097 });
      await submit(client(), NS, 'out-4097-raw', 'writer', { mode: 'output', outputBytes: 4097, raw: true });
    });

    it('passes outputs of exactly 4096 bytes, whole', async () => {
      const wf = await finished(client(), NS, 'out-4096');
      expect(wf.status?.phase).toBe('Succeeded');
      expect(Buffer.byteLength(JSON.stringify(stepOf(wf, 'probe').outputs))).toBe(4096);
    });

    it('one byte over through the SDK: exit code 4 and a reason that names the limit', async () => {
      const wf = await finished(client(), NS, 'out-4097');
      const step = stepOf(wf, 'probe');
      expect(step.phase).toBe('Failed');
      expect(step.exitCode).toBe(4);
      expect(step.message).toMatch(/4097 bytes/);
      expect(step.message).toMatch(/4096/);
    });

    it('one byte over written past the SDK: OutputTooLarge', async () => {
      const wf = await finished(client(), NS, 'out-4097-raw');
      const step = stepOf(wf, 'probe');
      expect(step).toMatchObject({ phase: 'Failed', reason: 'OutputTooLarge' });
      expect(step.message).toMatch(/4096/);
    });
  });

  it('ends a step that runs past its timeout with Timeout, and nothing of it keeps running', async () => {
    await createAgent(client(), probeAgent('slow', NS, image(), { retries: { limit: 0 } }));
    await submit(
      client(),
      NS,
      'slow',
      'slow',
      { mode: 'serve', port: 8080, seconds: 600 },
      { timeoutSeconds: 5 },
    );
    const wf = await finished(client(), NS, 'slow', 120_000);
    expect(stepOf(wf, 'probe')).toMatchObject({ phase: 'Failed', reason: 'Timeout' });
    // The kubelet ends the pod at its activeDeadlineSeconds, and the agent stops at its SIGTERM.
    const step = stepOf(wf, 'probe');
    expect(Date.parse(step.finishedAt ?? '') - Date.parse(step.startedAt ?? '')).toBeLessThan(20_000);
    expect(wf.status?.history?.some((h) => h.type === 'StepFailed' && h.reason === 'Timeout')).toBe(true);
    // On KWOK the operator deletes the pod it timed out; here the kubelet ended it first (activeDeadlineSeconds),
    // so the pod stays, Failed with its container terminated, until the Workflow's pod GC (its logs can be read).
    const pods = await podsOf(client(), NS, 'slow');
    for (const p of pods) {
      expect(p.status?.phase).toBe('Failed');
      expect(p.status?.reason).toBe('DeadlineExceeded');
      expect(p.status?.containerStatuses?.[0]?.state?.running).toBeUndefined();
    }
  });

  it('retries a step whose pod is deleted mid-run, then succeeds on the next attempt', async () => {
    await createAgent(
      client(),
      probeAgent('held', NS, image(), { retries: { limit: 1, backoff: { seconds: 1 } } }),
    );
    await submit(client(), NS, 'victim', 'held', { mode: 'serve', port: 8080, seconds: 20 });
    await podIp(NS, 'victim-probe-1');
    const deletedAt = Date.now();
    env().kubectl(['delete', 'pod', '-n', NS, 'victim-probe-1', '--wait=false']);
    // The kubelet stops the agent with SIGTERM; the SDK ends it at once (the agent is PID 1, which gets
    // no signal it does not handle), not after the 30 s grace period.
    await eventually(
      'victim-probe-1 gone',
      () => kubectl(env().kubeconfig, ['get', 'pod', '-n', NS, 'victim-probe-1']),
      (r) => r.code !== 0 && r.stderr.includes('NotFound'),
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(Date.now() - deletedAt).toBeLessThan(15_000);
    const wf = await finished(client(), NS, 'victim', 120_000);
    expect(wf.status?.phase).toBe('Succeeded');
    expect(stepOf(wf, 'probe').attempt).toBe(2);
    const retried = wf.status?.history?.find((h) => h.type === 'StepRetrying');
    expect(retried?.reason).toBe('PodDeleted');
  });

  it('the kubelet reports an image it may not pull as ErrImageNeverPull, which ends an attempt at once', async () => {
    // Agent pods never set imagePullPolicy Never; a user's own policy (or a mutating webhook) may. The
    // kubelet's real waiting reason is what pod-start.ts matches.
    env().kubectl(
      ['apply', '-f', '-'],
      JSON.stringify(
        restrictedPod(OUTSIDE_NS, 'never-pull', {
          name: 'agent',
          image: 'paddock.local/agent-that-was-never-built:0.1.0',
          imagePullPolicy: 'Never',
        }),
      ),
    );
    const pod = await eventually(
      'never-pull waiting',
      () => podJson(OUTSIDE_NS, 'never-pull'),
      (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ErrImageNeverPull',
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    const verdict = startVerdict(pod, Date.now());
    expect(verdict).toMatchObject({ kind: 'failed', problem: { reason: 'ImageNotPresent', retry: false } });
  });

  it('pods that cannot start end their attempt with a reason naming the cause, in status and an Event', async () => {
    const expected: Record<(typeof startFailures)[number], { reason: string; message: RegExp }> = {
      'absent-image': {
        reason: 'ImagePullFailed',
        message: /could not be pulled.*(ErrImagePull|ImagePullBackOff)/,
      },
      'missing-secret': {
        reason: 'ContainerConfigError',
        message: /CreateContainerConfigError.*never-created/,
      },
      'unknown-runtime': { reason: 'PodStartFailed', message: /nonexistent/ },
    };
    for (const name of startFailures) {
      const wf = await finished(client(), NS, name, 240_000);
      const step = stepOf(wf, 'probe');
      expect(step.phase, name).toBe('Failed');
      expect(step.reason, name).toBe(expected[name].reason);
      expect(step.message, name).toMatch(expected[name].message);
      // Bounded: within the documented bound of its kind plus the operator's reaction, never the step timeout.
      const started = Date.parse(wf.metadata.creationTimestamp ?? '');
      const ended = Date.parse(step.finishedAt ?? '');
      expect(ended - started, name).toBeLessThan(180_000);
      console.log(
        `start failure ${name}: ${step.reason} ${Math.round((ended - started) / 1000)} s after creation`,
      );
      const events = JSON.parse(
        env().kubectl([
          'get',
          'events',
          '-n',
          NS,
          '--field-selector',
          `involvedObject.kind=Workflow,involvedObject.name=${name}`,
          '-o',
          'json',
        ]),
      ) as { items: Array<{ reason: string; message: string }> };
      expect(
        events.items.some((e) => e.reason === 'StepFailed' && expected[name].message.test(e.message)),
        `${name}: ${JSON.stringify(events.items.map((e) => `${e.reason}: ${e.message}`))}`,
      ).toBe(true);
    }
  }, 300_000);

  // Last: it stops the node's NetworkPolicy engine.
  it('with NetworkPolicies not enforced, the gate keeps the agent from starting and the step says why', async () => {
    await env().cluster.node?.process('kube-router')?.stop();
    await createAgent(client(), probeAgent('unguarded', NS, image(), { retries: { limit: 0 } }));
    await submit(client(), NS, 'unguarded', 'unguarded', { mode: 'inspect' });
    const wf = await finished(client(), NS, 'unguarded', 120_000);
    const step = stepOf(wf, 'probe');
    expect(step).toMatchObject({ phase: 'Failed', reason: 'NetworkNotIsolated' });
    expect(step.message).toContain(
      "the agent was not started: the pod's network was not isolated within 30s",
    );
    expect(step.outputs).toBeUndefined();
    const pod = podJson(NS, 'unguarded-probe-1');
    expect(pod.status?.containerStatuses?.[0]?.state?.running).toBeUndefined();
    expect(pod.status?.containerStatuses?.[0]?.state?.terminated).toBeUndefined();
  }, 180_000);

  it('the operator ran all of this as pods on the real node, and one replica led', () => {
    const pods = { items: env().operatorPods() };
    expect(pods.items).toHaveLength(2);
    for (const p of pods.items) expect(p.spec.nodeName).toBe(REAL_NODE_NAME);
  });
});
