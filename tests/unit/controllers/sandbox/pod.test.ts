import { describe, expect, it } from 'vitest';
import type { AgentSpec } from '../../../../operator/src/api/generated/index.ts';
import {
  AGENT_CONTAINER,
  ANNOTATION_INPUTS,
  ANNOTATION_INPUTS_DIGEST,
  ANNOTATION_SIGNATURE,
  INPUTS_FILE,
  LABEL_AGENT,
  LABEL_AGENT_POD,
  LABEL_ATTEMPT,
  LABEL_MANAGED_BY,
  LABEL_STEP,
  LABEL_WORKFLOW,
  SANDBOX_SERVICE_ACCOUNT,
} from '../../../../operator/src/api/labels.ts';
import type { SandboxConfig } from '../../../../operator/src/config.ts';
import {
  agentResources,
  buildAgentPod,
  isSandboxNotReady,
  type AgentPodInput,
} from '../../../../operator/src/controllers/sandbox/pod.ts';
import { ApiError } from '../../../../operator/src/kube/errors.ts';
import { Provenance } from '../../../../operator/src/controllers/provenance.ts';
import type { Container, EnvVar, Pod } from '../../../../operator/src/kube/core-types.ts';

const IMAGE = `ghcr.io/acme/patcher@sha256:${'ab12'.repeat(16)}`;
const PROVENANCE = new Provenance(Buffer.alloc(32, 1));
const DEFAULTS: SandboxConfig = {
  quota: { pods: 50, cpu: '8', memory: '16Gi' },
  limitRange: { defaultRequest: { cpu: '100m', memory: '128Mi' }, default: { cpu: '1', memory: '512Mi' } },
};

function input(spec: Partial<AgentSpec> = {}, extra: Partial<AgentPodInput> = {}): AgentPodInput {
  return {
    namespace: 'team-a',
    workflow: { name: 'fix-cve', uid: 'wf-uid-1' },
    step: 'patch',
    attempt: 2,
    agent: { name: 'patcher', generation: 3, spec: { image: IMAGE, ...spec } },
    inputs: { patch: 'diff --git a b', n: 1 },
    inputsDigest: 'hmac-sha256:deadbeef',
    timeoutSeconds: 600,
    defaults: DEFAULTS,
    provenance: PROVENANCE,
    ...extra,
  };
}

function container(pod: Pod): Container {
  expect(pod.spec.containers).toHaveLength(1);
  return pod.spec.containers[0]!;
}

function env(pod: Pod): Record<string, EnvVar> {
  return Object.fromEntries((container(pod).env ?? []).map((e) => [e.name, e]));
}

describe('buildAgentPod', () => {
  it('passes every Pod Security Standards "restricted" check', () => {
    const pod = buildAgentPod(input());
    expect(pod.spec.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container(pod).securityContext).toEqual({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
    });
    expect(pod.spec.hostNetwork).toBe(false);
    expect(pod.spec.hostPID).toBe(false);
    expect(pod.spec.hostIPC).toBe(false);
    expect(container(pod).ports).toBeUndefined();
    // Only volume types the restricted profile allows, and no hostPath.
    for (const v of pod.spec.volumes ?? []) {
      expect(Object.keys(v).filter((k) => k !== 'name')).toEqual([
        expect.stringMatching(/^(emptyDir|downwardAPI)$/),
      ]);
    }
    expect(JSON.stringify(pod)).not.toMatch(/hostPath|privileged|hostPort/);
  });

  it('isolates the pod from the API and from the run: no token, no service links, one attempt, a deadline', () => {
    const pod = buildAgentPod(input());
    expect(pod.spec).toMatchObject({
      automountServiceAccountToken: false,
      serviceAccountName: SANDBOX_SERVICE_ACCOUNT,
      enableServiceLinks: false,
      restartPolicy: 'Never',
      activeDeadlineSeconds: 600,
    });
    expect(SANDBOX_SERVICE_ACCOUNT).toBe('paddock-agent');
    expect(buildAgentPod(input({}, { timeoutSeconds: 42 })).spec.activeDeadlineSeconds).toBe(42);
  });

  it('mounts a size-limited /tmp and the inputs read-only; the root filesystem stays read-only', () => {
    const pod = buildAgentPod(input());
    const mounts = container(pod).volumeMounts ?? [];
    const tmp = mounts.find((m) => m.mountPath === '/tmp');
    const inputs = mounts.find((m) => m.mountPath === '/paddock');
    expect(tmp?.readOnly).toBeFalsy();
    expect(inputs?.readOnly).toBe(true);
    const volumes = Object.fromEntries((pod.spec.volumes ?? []).map((v) => [v.name, v]));
    expect(volumes[tmp!.name]?.emptyDir).toEqual({ sizeLimit: '256Mi' });
    expect(volumes[inputs!.name]?.downwardAPI).toEqual({
      items: [{ path: 'inputs.json', fieldRef: { fieldPath: "metadata.annotations['paddock.dev/inputs']" } }],
    });
    expect(`${inputs!.mountPath}/${volumes[inputs!.name]!.downwardAPI!.items[0]!.path}`).toBe(INPUTS_FILE);
  });

  it('delivers inputs as an annotation (projected to a file) and as env, with the run identity', () => {
    const pod = buildAgentPod(input());
    const json = JSON.stringify({ patch: 'diff --git a b', n: 1 });
    expect(pod.metadata.annotations).toEqual({
      [ANNOTATION_INPUTS]: json,
      [ANNOTATION_INPUTS_DIGEST]: 'hmac-sha256:deadbeef',
      [ANNOTATION_SIGNATURE]: PROVENANCE.signPod({
        namespace: 'team-a',
        name: 'fix-cve-patch-2',
        workflow: 'fix-cve',
        workflowUid: 'wf-uid-1',
        step: 'patch',
        attempt: 2,
        inputsDigest: 'hmac-sha256:deadbeef',
      }),
    });
    expect(JSON.parse(pod.metadata.annotations![ANNOTATION_INPUTS]!)).toEqual({
      patch: 'diff --git a b',
      n: 1,
    });
    const e = env(pod);
    expect(e['PADDOCK_INPUTS']).toEqual({ name: 'PADDOCK_INPUTS', value: json });
    expect(e['PADDOCK_INPUTS_FILE']?.value).toBe('/paddock/inputs.json');
    expect(e['PADDOCK_OUTPUTS_FILE']?.value).toBe('/dev/termination-log');
    expect(e['PADDOCK_WORKFLOW']?.value).toBe('fix-cve');
    expect(e['PADDOCK_STEP']?.value).toBe('patch');
    expect(e['PADDOCK_ATTEMPT']?.value).toBe('2');
  });

  it('takes outputs from the termination message file', () => {
    const c = container(buildAgentPod(input()));
    expect(c.terminationMessagePath).toBe('/dev/termination-log');
    expect(c.terminationMessagePolicy).toBe('File');
  });

  it('passes the Agent env as literals and secrets only as secretKeyRef', () => {
    const pod = buildAgentPod(
      input({
        env: [{ name: 'LOG_LEVEL', value: 'debug' }, { name: 'EMPTY' }],
        secrets: [
          { env: 'GITHUB_TOKEN', secretKeyRef: { name: 'gh', key: 'token' } },
          { env: 'API_KEY', secretKeyRef: { name: 'vendor', key: 'key' } },
        ],
      }),
    );
    const e = env(pod);
    expect(e['LOG_LEVEL']).toEqual({ name: 'LOG_LEVEL', value: 'debug' });
    expect(e['EMPTY']).toEqual({ name: 'EMPTY', value: '' });
    expect(e['GITHUB_TOKEN']).toEqual({
      name: 'GITHUB_TOKEN',
      valueFrom: { secretKeyRef: { name: 'gh', key: 'token' } },
    });
    expect(e['API_KEY']).toEqual({
      name: 'API_KEY',
      valueFrom: { secretKeyRef: { name: 'vendor', key: 'key' } },
    });
    // Nothing but literal values and secretKeyRefs; no secret volumes, no envFrom.
    for (const v of container(pod).env ?? []) {
      if (v.valueFrom) expect(Object.keys(v.valueFrom)).toEqual(['secretKeyRef']);
    }
    expect(JSON.stringify(pod)).not.toMatch(/envFrom|"secret":/);
  });

  it('uses the image, command and args of the Agent, in the agent container', () => {
    const c = container(buildAgentPod(input({ command: ['/bin/patch'], args: ['--apply', '-v'] })));
    expect(c).toMatchObject({
      name: AGENT_CONTAINER,
      image: IMAGE,
      command: ['/bin/patch'],
      args: ['--apply', '-v'],
    });
    const plain = container(buildAgentPod(input()));
    expect(plain.command).toBeUndefined();
    expect(plain.args).toBeUndefined();
  });

  it('is named <workflow>-<step>-<attempt>, labelled for the sandbox, and owned by the Workflow', () => {
    const pod = buildAgentPod(input());
    expect(pod.apiVersion).toBe('v1');
    expect(pod.kind).toBe('Pod');
    expect(pod.metadata.name).toBe('fix-cve-patch-2');
    expect(pod.metadata.namespace).toBe('team-a');
    expect(pod.metadata.labels).toEqual({
      [LABEL_AGENT_POD]: 'true',
      [LABEL_WORKFLOW]: 'fix-cve',
      [LABEL_STEP]: 'patch',
      [LABEL_ATTEMPT]: '2',
      [LABEL_AGENT]: 'patcher',
      [LABEL_MANAGED_BY]: 'paddock',
    });
    expect(pod.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'paddock.dev/v1alpha1',
        kind: 'Workflow',
        name: 'fix-cve',
        uid: 'wf-uid-1',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
  });

  it('sets runtimeClassName only when the Agent asks for one', () => {
    expect(buildAgentPod(input()).spec.runtimeClassName).toBeUndefined();
    expect('runtimeClassName' in buildAgentPod(input()).spec).toBe(false);
    expect(buildAgentPod(input({ runtimeClassName: 'gvisor' })).spec.runtimeClassName).toBe('gvisor');
  });

  it('always sets requests and limits: the Agent values, else the sandbox defaults', () => {
    expect(container(buildAgentPod(input())).resources).toEqual({
      requests: { cpu: '100m', memory: '128Mi' },
      limits: { cpu: '1', memory: '512Mi' },
    });
    const r = container(
      buildAgentPod(
        input({
          resources: {
            requests: { cpu: '250m', memory: '256Mi', 'ephemeral-storage': '1Gi' },
            limits: { cpu: 2, memory: '1Gi' },
          },
        }),
      ),
    ).resources;
    expect(r).toEqual({
      requests: { cpu: '250m', memory: '256Mi', 'ephemeral-storage': '1Gi' },
      limits: { cpu: '2', memory: '1Gi' },
    });
  });

  it('does not build a pod a dumb default would make invalid (requests above limits)', () => {
    // Request above the default limit: the limit rises to the request.
    expect(agentResources({ requests: { cpu: '4', memory: '2Gi' } }, DEFAULTS)).toEqual({
      requests: { cpu: '4', memory: '2Gi' },
      limits: { cpu: '4', memory: '2Gi' },
    });
    // Request below the default limit: the default limit applies.
    expect(agentResources({ requests: { cpu: '200m' } }, DEFAULTS)).toEqual({
      requests: { cpu: '200m', memory: '128Mi' },
      limits: { cpu: '1', memory: '512Mi' },
    });
    // Limit below the default request: the request falls to the limit.
    expect(agentResources({ limits: { cpu: '50m', memory: '64Mi' } }, DEFAULTS)).toEqual({
      requests: { cpu: '50m', memory: '64Mi' },
      limits: { cpu: '50m', memory: '64Mi' },
    });
    // Limit above the default request: the default request applies.
    expect(agentResources({ limits: { memory: '4Gi' } }, DEFAULTS)).toEqual({
      requests: { cpu: '100m', memory: '128Mi' },
      limits: { cpu: '1', memory: '4Gi' },
    });
  });

  it('carries any JSON value as inputs, and null for none', () => {
    expect(buildAgentPod(input({}, { inputs: undefined })).metadata.annotations?.[ANNOTATION_INPUTS]).toBe(
      'null',
    );
    expect(env(buildAgentPod(input({}, { inputs: ['a', 1] })))['PADDOCK_INPUTS']?.value).toBe('["a",1]');
  });

  it('does not share state between pods (the Agent spec is copied, not aliased)', () => {
    const spec: AgentSpec = { image: IMAGE, command: ['a'], args: ['b'] };
    const pod = buildAgentPod(input(spec));
    container(pod).command!.push('x');
    expect(spec.command).toEqual(['a']);
  });
});

describe('isSandboxNotReady', () => {
  const refused = (message: string, status = 403): ApiError =>
    new ApiError('POST', '/api/v1/namespaces/team-a/pods', status, { reason: 'Forbidden', message });

  it('recognizes the refusal of a pod whose sandbox ServiceAccount is missing', () => {
    expect(
      isSandboxNotReady(
        refused(
          'pods "fix-patch-1" is forbidden: error looking up service account team-a/paddock-agent: serviceaccount "paddock-agent" not found',
        ),
      ),
    ).toBe(true);
  });

  it('does not mistake other refusals for it', () => {
    expect(isSandboxNotReady(refused('pods "x" is forbidden: exceeded quota: paddock-agents'))).toBe(false);
    expect(
      isSandboxNotReady(refused('pods "x" is forbidden: violates PodSecurity "restricted:latest"')),
    ).toBe(false);
    expect(
      isSandboxNotReady(
        refused('error looking up service account team-a/other: serviceaccount "other" not found'),
      ),
    ).toBe(false);
    expect(isSandboxNotReady(refused('error looking up service account team-a/paddock-agent', 500))).toBe(
      false,
    );
    expect(isSandboxNotReady(new Error('error looking up service account team-a/paddock-agent'))).toBe(false);
  });
});

describe('the network gate init container', () => {
  const GATED: SandboxConfig = {
    ...DEFAULTS,
    networkGate: {
      image: 'ghcr.io/paddock-dev/paddock-operator:0.1.0',
      kubeletPort: 10250,
      timeoutSeconds: 30,
    },
  };

  it("gives every pod its own objects: changing one pod's container never changes the next pod's", () => {
    const first = buildAgentPod(input({}, { defaults: GATED }));
    delete first.spec.containers[0]!.securityContext;
    first.spec.initContainers![0]!.securityContext!.allowPrivilegeEscalation = true;
    const next = buildAgentPod(input({}, { defaults: GATED }));
    expect(next.spec.containers[0]!.securityContext?.allowPrivilegeEscalation).toBe(false);
    expect(next.spec.initContainers![0]!.securityContext?.allowPrivilegeEscalation).toBe(false);
  });

  it('is absent without a configured gate', () => {
    expect(buildAgentPod(input()).spec.initContainers).toBeUndefined();
  });

  it('runs the operator image as `network-gate` against the kubelet port of its own node, restricted like the agent', () => {
    const pod = buildAgentPod(input({}, { defaults: GATED }));
    expect(pod.spec.initContainers).toHaveLength(1);
    const gate = pod.spec.initContainers![0]!;
    expect(gate).toMatchObject({
      name: 'paddock-network-gate',
      image: 'ghcr.io/paddock-dev/paddock-operator:0.1.0',
      args: ['network-gate'],
      terminationMessagePath: '/dev/termination-log',
      securityContext: {
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
      },
    });
    expect(gate.env).toEqual([
      { name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
      { name: 'PADDOCK_GATE_TARGET', value: '$(HOST_IP):10250' },
      { name: 'PADDOCK_GATE_TIMEOUT_SECONDS', value: '30' },
    ]);
    // Requests and limits both, so quota and LimitRange admit the pod like the agent's own.
    expect(gate.resources?.requests).toBeDefined();
    expect(gate.resources?.limits).toBeDefined();
    // Nothing of the agent reaches it: no inputs, no secrets, no volumes.
    expect(gate.volumeMounts).toBeUndefined();
    expect(JSON.stringify(gate)).not.toContain('diff --git');
  });

  it.each([
    ['a rule without ports', [{ cidr: '0.0.0.0/0' }]],
    ['a rule with no ports listed', [{ cidr: '10.0.0.0/8', ports: [] }]],
    ['a rule naming the kubelet port', [{ cidr: '10.0.0.0/8', ports: [443, 10250] }]],
  ])('is left out when the Agent declares egress that may reach the kubelet: %s', (_what, egress) => {
    expect(buildAgentPod(input({ egress }, { defaults: GATED })).spec.initContainers).toBeUndefined();
  });

  it('stays for egress on other ports', () => {
    const egress = [{ cidr: '0.0.0.0/0', ports: [443] }];
    expect(buildAgentPod(input({ egress }, { defaults: GATED })).spec.initContainers).toHaveLength(1);
  });
});
