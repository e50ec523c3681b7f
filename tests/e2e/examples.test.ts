// The examples end to end on the real node (docs/testing.md, "End to end on the real node"): Paddock installed
// by its Helm chart (the operator image as two pods on the real node: leader election, probes, metrics), the
// fixtures (examples/fixtures/fixtures.yaml: a Git server and a webhook receiver in the cluster) and the
// examples (examples/) exactly as a user applies them. The real agents do the work: the scanner finds the
// planted CVE and proposes a patch, the patcher waits for two approvers and then commits it to the served
// repository, the notifier posts to the webhook receiver; repo-audit fans out and in over four agents.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../cluster/src/paths.ts';
import { REAL_NODE_NAME } from '../../cluster/src/real-node-config.ts';
import { realNodeUnsupported } from '../../cluster/src/real-node-host.ts';
import { ensureTools } from '../../cluster/src/tools.ts';
import { APPROVAL, WORKFLOW } from '../../operator/src/api/constants.ts';
import type { Approval, Workflow } from '../../operator/src/api/generated/index.ts';
import { KubeClient } from '../../operator/src/kube/client.ts';
import type { Pod } from '../../operator/src/kube/core-types.ts';
import { decideAs, sreApprovers } from '../integration/support/approvals.ts';
import { metricValue } from '../integration/support/operator.ts';
import { eventually } from '../integration/support/wait.ts';
import { stepOf } from '../integration/support/workflows.ts';
import {
  FIXTURES_NAMESPACE,
  LEASE_NAME,
  OPERATOR_NAMESPACE,
  usePaddockOnRealNode,
} from './support/paddock-on-real-node.ts';

const unsupported = realNodeUnsupported();
const NS = 'paddock-demo';

interface Post {
  channel: string;
  idempotencyKey: string;
  body: {
    workflow?: string;
    step?: string;
    title?: string;
    text?: string;
    details?: Record<string, unknown>;
  };
}

describe.skipIf(unsupported !== undefined)('the examples on the real node, Paddock installed by Helm', () => {
  const env = usePaddockOnRealNode({ fixtures: true });
  let forward: ChildProcess | undefined;
  let repoUrl = '';
  let hooksUrl = '';
  let before: Record<string, string> = {};

  async function heads(): Promise<Record<string, string>> {
    const refs = await git.listServerRefs({ http, url: repoUrl, prefix: 'refs/heads/' });
    return Object.fromEntries(refs.map((r) => [r.ref.slice('refs/heads/'.length), r.oid]));
  }

  async function posts(channel: string): Promise<Post[]> {
    const res = await fetch(`${hooksUrl}/${channel}`);
    return (await res.json()) as Post[];
  }

  beforeAll(async () => {
    // The fixtures as a user would reach them from a workstation: kubectl port-forward (through the kubelet).
    forward = spawn(
      ensureTools().kubectl,
      ['--kubeconfig', env().kubeconfig, 'port-forward', '-n', FIXTURES_NAMESPACE, 'svc/fixtures', ':8080'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      forward!.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /127\.0\.0\.1:(\d+) ->/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      forward!.once('exit', (code) => reject(new Error(`kubectl port-forward exited ${code}: ${out}`)));
    });
    repoUrl = `http://127.0.0.1:${port}/git/app.git`;
    hooksUrl = `http://127.0.0.1:${port}/hooks`;
    before = await heads();
    expect(before['main']).toMatch(/^[0-9a-f]{40}$/);

    env().kubectl(['apply', '-k', join(REPO_ROOT, 'examples')]);
    env().kubectl(['apply', '-f', '-'], sreApprovers(NS));
  }, 300_000);

  afterAll(() => {
    forward?.kill();
  });

  it('fix-cve: the scanner finds the CVE, the patcher waits for two approvers, then commits the patch', async () => {
    const admin = env().admin;
    const waiting = await eventually(
      'fix-cve patch waits for approval',
      () => admin.get<Workflow>(WORKFLOW, NS, 'fix-cve'),
      (w) => w.status?.steps?.find((s) => s.name === 'patch')?.phase === 'WaitingForApproval',
      { timeoutMs: 180_000, intervalMs: 500 },
    );
    const scan = stepOf(waiting, 'scan');
    expect(scan.phase).toBe('Succeeded');
    const scanOut = scan.outputs as { findings: number; patch?: string; summary: string };
    expect(scanOut.findings).toBeGreaterThan(0);
    expect(scanOut.patch).toContain('+    "minimist": "1.2.6"');
    // Nothing has changed in the repository while the approval is pending.
    expect(await heads()).toEqual(before);

    const approvalName = stepOf(waiting, 'patch').approvalName ?? '';
    const approval = await admin.get<Approval>(APPROVAL, NS, approvalName);
    expect(approval.spec.policy.required).toBe(2);
    for (const user of ['bob', 'carol']) {
      const client = KubeClient.load(env().cluster.kubeconfigFor(user));
      await decideAs(client, user, NS, approvalName, 'Approve', 'patch matches the scan');
    }

    const wf = await eventually(
      'fix-cve finished',
      () => admin.get<Workflow>(WORKFLOW, NS, 'fix-cve'),
      (w) => ['Succeeded', 'Failed'].includes(w.status?.phase ?? ''),
      { timeoutMs: 180_000, intervalMs: 500 },
    );
    expect(wf.status?.phase, JSON.stringify(wf.status?.steps)).toBe('Succeeded');
    const patch = stepOf(wf, 'patch').outputs as {
      applied: boolean;
      commit: string;
      backupPath: string;
      filesModified: string[];
    };
    expect(patch).toMatchObject({ applied: true, backupPath: 'paddock/backup/fix-cve/patch/main' });
    expect(patch.filesModified).toContain('package.json');

    // The served repository: main moved to the patch's commit, the backup branch holds the old head.
    const after = await heads();
    expect(after['main']).toBe(patch.commit);
    expect(after['paddock/backup/fix-cve/patch/main']).toBe(before['main']);
    const dir = await mkdtemp(join(tmpdir(), 'e2e-clone-'));
    try {
      await git.clone({ fs, http, dir, url: repoUrl, ref: 'main', singleBranch: true });
      const { commit } = await git.readCommit({ fs, dir, oid: patch.commit });
      expect(commit.parent).toEqual([before['main']]);
      expect(commit.message).toContain('Paddock-Run: fix-cve/patch');
      expect(await readFile(join(dir, 'package.json'), 'utf8')).toContain('"minimist": "1.2.6"');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }

    // The notifier posted the outcome to the receiver.
    const security = await posts('security');
    expect(security).toHaveLength(1);
    expect(security[0]?.idempotencyKey).toBe('fix-cve/notify');
    expect(security[0]?.body).toMatchObject({ workflow: 'fix-cve', step: 'notify' });
    expect(security[0]?.body.title).toBe('Fix CVE-2021-44906');
    expect(security[0]?.body.details?.['patch']).toBe('Succeeded');
  });

  it('repo-audit: four agents fan out and in, outputs flow into the report, the advisory lint fails alone', async () => {
    const wf = await eventually(
      'repo-audit finished',
      () => env().admin.get<Workflow>(WORKFLOW, NS, 'repo-audit'),
      (w) => ['Succeeded', 'Failed'].includes(w.status?.phase ?? ''),
      { timeoutMs: 240_000, intervalMs: 500 },
    );
    expect(wf.status?.phase, JSON.stringify(wf.status?.steps)).toBe('Succeeded');
    for (const s of ['scan', 'review', 'compliance', 'report'])
      expect(stepOf(wf, s).phase, s).toBe('Succeeded');
    expect(stepOf(wf, 'lint').phase).toBe('Failed');
    const review = stepOf(wf, 'review').outputs as { score: number };
    const compliance = stepOf(wf, 'compliance').outputs as { passed: boolean };
    expect(review.score).toBeGreaterThanOrEqual(0);
    expect(review.score).toBeLessThanOrEqual(100);
    const audit = await posts('audit');
    expect(audit).toHaveLength(1);
    expect(audit[0]?.body.text).toBe(
      `review score ${review.score}/100; compliance passed: ${String(compliance.passed)}`,
    );
  });

  it('every agent ran in a container on the real node', () => {
    const pods = JSON.parse(
      env().kubectl(['get', 'pods', '-n', NS, '-l', 'paddock.dev/agent-pod=true', '-o', 'json']),
    ) as { items: Pod[] };
    // fix-cve's pods are collected on success (podGC OnPodSuccess); repo-audit keeps its five.
    expect(pods.items.length).toBeGreaterThanOrEqual(5);
    for (const p of pods.items) {
      expect(p.spec.nodeName, p.metadata.name).toBe(REAL_NODE_NAME);
      expect(
        (p.status?.containerStatuses?.[0] as { imageID?: string } | undefined)?.imageID,
        p.metadata.name,
      ).toMatch(/sha256:[0-9a-f]{64}/);
    }
  });

  it('the operator pods: both Ready on the real node, one holds the Lease, the leader serves metrics', async () => {
    const pods = { items: env().operatorPods() };
    expect(pods.items).toHaveLength(2);
    for (const p of pods.items) {
      expect(p.spec.nodeName).toBe(REAL_NODE_NAME);
      expect(p.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
      expect(p.status?.containerStatuses?.[0]?.restartCount).toBe(0);
    }
    const lease = JSON.parse(
      env().kubectl(['get', 'lease', LEASE_NAME, '-n', OPERATOR_NAMESPACE, '-o', 'json']),
    ) as { spec: { holderIdentity: string } };
    const leader = pods.items.find((p) => p.metadata.name === lease.spec.holderIdentity);
    expect(leader, lease.spec.holderIdentity).toBeDefined();
    // Through the API server's pod proxy, as a Prometheus in the cluster would scrape the pod.
    const metrics = env().kubectl([
      'get',
      '--raw',
      `/api/v1/namespaces/${OPERATOR_NAMESPACE}/pods/${leader!.metadata.name}:8080/proxy/metrics`,
    ]);
    expect(metricValue(metrics, 'paddock_leader_election_is_leader')).toBe(1);
    expect(metricValue(metrics, 'paddock_workflows', { phase: 'Succeeded' })).toBe(2);
    // The leader created every agent pod: one per attempt of every step that ran (at least 3 + 5).
    const attempts = (await env().admin.list<Workflow>(WORKFLOW, NS)).items
      .flatMap((w) => w.status?.steps ?? [])
      .reduce((n, s) => n + (s.attempt ?? 0), 0);
    expect(attempts).toBeGreaterThanOrEqual(8);
    expect(metricValue(metrics, 'paddock_pods_created_total')).toBe(attempts);
  });
});
