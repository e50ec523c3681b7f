// The operator in the namespaced install mode, on a real control plane with KWOK: it runs under
// exactly the RBAC of config/namespaced (with a second served namespace added the documented way,
// support/install.ts) and with the namespace list that install gives it. Workflows in both served
// namespaces run to Succeeded; one in a namespace it does not serve is never touched; and no
// informer ever meets a 403, so every list and watch is one its Roles allow.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT, EVENT, POD, SECRET, WORKFLOW } from '../../operator/src/api/constants.ts';
import type { Agent, Workflow } from '../../operator/src/api/generated/index.ts';
import { SANDBOX_OWNED_SELECTOR } from '../../operator/src/controllers/sandbox/desired.ts';
import { NETWORK_POLICY, RESOURCE_QUOTA, SERVICE_ACCOUNT } from '../../operator/src/kube/core-types.ts';
import type { KubeObject } from '../../operator/src/kube/types.ts';
import { useCluster } from './support/cluster.ts';
import { cleanupHelm, kustomize, namespacedOverlay, RBAC_KINDS, type K8sObject } from './support/install.ts';
import { metricValue, OPERATOR_NAMESPACE, OPERATOR_SA, OperatorProcess } from './support/operator.ts';
import { sleep } from './support/wait.ts';
import { createAll, restrictedNamespace, simAgent, waitForPhase, workflow } from './support/workflows.ts';

const SERVED = ['paddock-demo', 'team-b'];
const ELSEWHERE = 'elsewhere';

interface EventObj extends KubeObject {
  reportingController?: string;
}

describe('the operator in the namespaced install mode', () => {
  const env = useCluster();
  let op: OperatorProcess;
  let watchNamespaces = '';

  beforeAll(async () => {
    for (const ns of [...SERVED, ELSEWHERE]) env().kubectl(['apply', '-f', '-'], restrictedNamespace(ns));
    env().kubectl(['create', 'namespace', OPERATOR_NAMESPACE]);
    // The RBAC of the install (no Deployment: the operator runs here as a process).
    const dir = namespacedOverlay(['team-b']);
    let objs: K8sObject[];
    try {
      objs = kustomize(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const rbac = objs.filter((o) => RBAC_KINDS.has(o.kind));
    env().kubectl(
      ['apply', '--server-side', '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: rbac }),
    );
    const deployment = objs.find((o) => o.kind === 'Deployment') as
      | (K8sObject & {
          spec: {
            template: { spec: { containers: Array<{ env?: Array<{ name: string; value?: string }> }> } };
          };
        })
      | undefined;
    watchNamespaces =
      deployment?.spec.template.spec.containers[0]?.env?.find((e) => e.name === 'PADDOCK_WATCH_NAMESPACES')
        ?.value ?? '';
    expect(watchNamespaces).toBe(SERVED.join(','));

    const token = env()
      .kubectl(['create', 'token', OPERATOR_SA, '-n', OPERATOR_NAMESPACE, '--duration=1h'])
      .trim();
    const kubeconfig = env().cluster.kubeconfigWithToken(
      'kubeconfig-operator-namespaced',
      `system:serviceaccount:${OPERATOR_NAMESPACE}:${OPERATOR_SA}`,
      token,
    );
    for (const ns of [...SERVED, ELSEWHERE]) {
      await createAll(env().admin, [
        simAgent('worker', ns, { result: { ok: true } }),
        workflow('run', ns, [{ name: 'one', agentRef: { name: 'worker' } }]),
      ]);
    }
    op = OperatorProcess.start(kubeconfig, [], { PADDOCK_WATCH_NAMESPACES: watchNamespaces });
  });

  afterAll(async () => {
    if (process.env['DUMP_OPERATOR_LOGS']) console.log(op?.dumpLogs(400));
    await op?.stop();
    cleanupHelm();
  });

  it('runs Workflows in every served namespace to Succeeded', async () => {
    for (const ns of SERVED) {
      const wf = await waitForPhase(env().admin, ns, 'run', ['Succeeded', 'Failed'], 90_000);
      expect(wf.status?.phase, ns).toBe('Succeeded');
    }
  });

  it('leaves a namespace it does not serve untouched', async () => {
    // Well after the served ones finished, nothing has happened here.
    await sleep(1_000);
    const admin = env().admin;
    expect((await admin.get<Workflow>(WORKFLOW, ELSEWHERE, 'run')).status).toBeUndefined();
    expect((await admin.get<Agent>(AGENT, ELSEWHERE, 'worker')).status).toBeUndefined();
    expect((await admin.list(POD, ELSEWHERE)).items).toEqual([]);
    for (const ref of [NETWORK_POLICY, RESOURCE_QUOTA, SERVICE_ACCOUNT]) {
      expect(
        (await admin.list(ref, ELSEWHERE, { labelSelector: SANDBOX_OWNED_SELECTOR })).items,
        ref.plural,
      ).toEqual([]);
    }
    const events = (await admin.list<EventObj>(EVENT, ELSEWHERE)).items;
    expect(events.filter((e) => e.reportingController?.includes('paddock'))).toEqual([]);
    // ... while the served namespaces got their sandbox.
    for (const ns of SERVED) {
      expect(
        (await admin.list(RESOURCE_QUOTA, ns, { labelSelector: SANDBOX_OWNED_SELECTOR })).items,
        ns,
      ).toHaveLength(1);
    }
  });

  it('is ready with every informer synced, one list and watch per served namespace, and never met a 403', async () => {
    expect(await op.ready()).toBe(true);
    const port = await op.healthPort();
    const verbose = await (await fetch(`http://127.0.0.1:${port}/readyz?verbose`)).text();
    expect(verbose).toContain('[+]informer-pods ok');
    expect(verbose).toContain('[+]informer-namespaces ok');
    // Its signing key, made in its own namespace through the Role config/namespaced keeps there.
    expect(verbose).toContain('[+]signing-key ok');
    const key = await env().admin.get<KubeObject & { immutable?: boolean }>(
      SECRET,
      OPERATOR_NAMESPACE,
      'paddock-signing-key',
    );
    expect(key.immutable).toBe(true);
    // Each namespaced informer lists each served namespace once; the Namespace informer each name.
    const metrics = await op.metricsText();
    for (const resource of ['pods', 'workflows', 'networkpolicies', 'namespaces']) {
      expect(
        metricValue(metrics, 'paddock_api_requests_total', { verb: 'list', resource, code: '200' }),
        resource,
      ).toBe(SERVED.length);
      expect(
        metricValue(metrics, 'paddock_api_requests_total', { verb: 'list', resource, code: '403' }),
      ).toBe(0);
    }
    expect(op.lines.filter((l) => l.msg === 'watch failed; retrying')).toEqual([]);
    // A step's pod refused while its namespace's sandbox ServiceAccount does not exist yet is the
    // API server's 403 on a create, audited as a wait (docs/workflow-authors.md), not an informer's.
    const sandboxWait = (l: string): boolean =>
      l.includes('"event":"step.waiting"') && l.includes('"reason":"SandboxNotReady"');
    const denied = op.raw.filter((l) => /\b403\b|forbidden/i.test(l) && !sandboxWait(l));
    expect(denied).toEqual([]);
  });
});
