// The cached agent pod: small, and the engine decides exactly the same from it
// as from the pod the API server sent.
import { describe, expect, it } from 'vitest';
import {
  AGENT_CONTAINER,
  ANNOTATION_INPUTS_DIGEST,
  ANNOTATION_SIGNATURE,
} from '../../../../operator/src/api/labels.ts';
import { trimAgentPod } from '../../../../operator/src/controllers/workflow/cached-pod.ts';
import type { Pod } from '../../../../operator/src/kube/core-types.ts';
import { agent, SENSITIVE_SCHEMA, Sim, step, workflow } from './engine-sim.ts';

/** A pod as the API server returns it: what we built, plus server fields and a full status. */
function served(pod: Pod, status: Pod['status']): Pod {
  return {
    ...pod,
    metadata: {
      ...pod.metadata,
      uid: `uid-${pod.metadata.name ?? ''}`,
      resourceVersion: '4242',
      creationTimestamp: '2025-03-01T10:00:00Z',
      managedFields: [{ manager: 'paddock', operation: 'Apply', fieldsV1: { 'f:spec': {} } }],
    },
    spec: { ...pod.spec, nodeName: 'kwok-node-0' },
    status: {
      startTime: '2025-03-01T10:00:01Z',
      message: 'some kubelet message',
      ...status,
      ...({
        conditions: [{ type: 'Ready', status: 'False' }],
        podIP: '10.0.0.7',
        hostIP: '10.1.0.1',
      } as object),
    },
  };
}

const terminated = (exitCode: number, message?: string, reason = exitCode === 0 ? 'Completed' : 'Error') => ({
  containerStatuses: [
    {
      name: AGENT_CONTAINER,
      ready: false,
      restartCount: 0,
      state: {
        terminated: {
          exitCode,
          reason,
          ...(message !== undefined ? { message } : {}),
          startedAt: '2025-03-01T10:00:01Z',
          finishedAt: '2025-03-01T10:00:02Z',
        },
      },
    },
  ],
});

describe('trimAgentPod', () => {
  const sim = new Sim(
    workflow([
      step('a', { inputs: { id: 'x', token: 'secret-value' } }),
      step('b', { inputs: { n: 1 } }),
      step('c'),
      step('d'),
    ]),
    [
      agent('scanner', {
        inputsSchema: SENSITIVE_SCHEMA,
        outputsSchema: SENSITIVE_SCHEMA,
        timeoutSeconds: 60,
      }),
    ],
  );
  const plan = sim.pass();
  const built = new Map(plan.create.map((c) => [c.pod.metadata.name ?? '', c.pod]));

  it('keeps identity, ownership, labels, the deadline, phase and the agent container end; drops the rest', () => {
    const full = served(built.get('wf-a-1')!, {
      phase: 'Succeeded',
      ...terminated(0, '{"id":"x","token":"t"}'),
    });
    const t = trimAgentPod(full);
    expect(t).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'wf-a-1',
        namespace: full.metadata.namespace,
        uid: 'uid-wf-a-1',
        resourceVersion: '4242',
        creationTimestamp: '2025-03-01T10:00:00Z',
        labels: full.metadata.labels,
        ownerReferences: full.metadata.ownerReferences,
        // What the operator's signature covers, to tell its own pods from others' (provenance.ts).
        annotations: {
          [ANNOTATION_INPUTS_DIGEST]: full.metadata.annotations![ANNOTATION_INPUTS_DIGEST],
          [ANNOTATION_SIGNATURE]: full.metadata.annotations![ANNOTATION_SIGNATURE],
        },
      },
      // The node and the memory limit: quoted when a pod cannot start or runs out of memory.
      spec: {
        containers: [{ name: AGENT_CONTAINER, image: '', resources: { limits: { memory: '512Mi' } } }],
        nodeName: 'kwok-node-0',
        activeDeadlineSeconds: 60,
      },
      status: {
        phase: 'Succeeded',
        containerStatuses: [
          {
            name: AGENT_CONTAINER,
            state: { terminated: { exitCode: 0, reason: 'Completed', message: '{"id":"x","token":"t"}' } },
          },
        ],
      },
    });
    // The rendered inputs (with the secret) are not kept in memory.
    expect(JSON.stringify(t)).not.toContain('secret-value');
    expect(JSON.stringify(full)).toContain('secret-value');
    // 10,000 cached pods must fit the memory budget (docs/benchmarks.md): about a kilobyte each,
    // the two signature annotations (~200 bytes) included.
    expect(JSON.stringify(t).length).toBeLessThan(1_200);
    expect(JSON.stringify(t).length).toBeLessThan(JSON.stringify(full).length / 2.5);
  });

  it('keeps a deletion timestamp and a pod-level reason', () => {
    const full = served(built.get('wf-b-1')!, { phase: 'Failed', reason: 'DeadlineExceeded' });
    full.metadata.deletionTimestamp = '2025-03-01T10:01:00Z';
    const t = trimAgentPod(full);
    expect(t.metadata.deletionTimestamp).toBe('2025-03-01T10:01:00Z');
    expect(t.status).toEqual({ phase: 'Failed', reason: 'DeadlineExceeded' });
  });

  it('a pod without status stays without status', () => {
    const t = trimAgentPod({ ...built.get('wf-c-1')!, status: undefined });
    expect(t.status).toBeUndefined();
  });

  it('keeps why a pod does not start: its waiting reason and an unmet PodScheduled condition, clipped', () => {
    const long = 'x'.repeat(5_000);
    const full = served(built.get('wf-a-1')!, {
      phase: 'Pending',
      containerStatuses: [
        {
          name: AGENT_CONTAINER,
          state: { waiting: { reason: 'CreateContainerConfigError', message: long } },
        },
      ],
    });
    (full.status as { conditions: unknown[] }).conditions.push({
      type: 'PodScheduled',
      status: 'False',
      reason: 'Unschedulable',
      message: long,
    });
    const t = trimAgentPod(full);
    const w = t.status?.containerStatuses?.[0]?.state?.waiting;
    expect(w?.reason).toBe('CreateContainerConfigError');
    expect(w?.message?.length).toBeLessThanOrEqual(512);
    expect(t.status?.conditions).toEqual([
      { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: `${'x'.repeat(511)}…` },
    ]);
    expect(JSON.stringify(t).length).toBeLessThan(2_300);
  });

  it('the engine plans the same from trimmed pods as from full ones, in every pod state', () => {
    const waitingOn = (reason: string, message = `kubelet says ${reason}`): Pod['status'] => ({
      phase: 'Pending',
      containerStatuses: [{ name: AGENT_CONTAINER, state: { waiting: { reason, message } } }],
    });
    const cases: Array<Array<[string, Pod['status']]>> = [
      [
        ['wf-a-1', { phase: 'Succeeded', ...terminated(0, '{"id":"x","token":"t"}') }],
        ['wf-b-1', { phase: 'Failed', ...terminated(3, 'boom') }],
        ['wf-c-1', { phase: 'Failed', reason: 'DeadlineExceeded' }],
        [
          'wf-d-1',
          { phase: 'Running', containerStatuses: [{ name: AGENT_CONTAINER, state: { running: {} } }] },
        ],
      ],
      [
        ['wf-a-1', waitingOn('ErrImageNeverPull')],
        ['wf-b-1', { phase: 'Failed', ...terminated(137, undefined, 'OOMKilled') }],
        ['wf-c-1', waitingOn('CreateContainerConfigError', 'secret "model-api" not found')],
        ['wf-d-1', waitingOn('ImagePullBackOff')],
      ],
      [
        ['wf-a-1', { phase: 'Pending' }],
        ['wf-b-1', { phase: 'Failed', ...terminated(128, 'exec: "/agent": not found', 'StartError') }],
        ['wf-c-1', waitingOn('InvalidImageName')],
        ['wf-d-1', waitingOn('CreateContainerError')],
      ],
      [
        // The network gate failed (the agent never ran), and one that passed.
        [
          'wf-a-1',
          {
            phase: 'Failed',
            initContainerStatuses: [
              {
                name: 'paddock-network-gate',
                state: { terminated: { exitCode: 1, message: 'not isolated within 30s', reason: 'Error' } },
              },
            ],
            containerStatuses: [{ name: AGENT_CONTAINER, state: { waiting: { reason: 'PodInitializing' } } }],
          },
        ],
        [
          'wf-b-1',
          {
            phase: 'Running',
            initContainerStatuses: [
              { name: 'paddock-network-gate', state: { terminated: { exitCode: 0, reason: 'Completed' } } },
            ],
            containerStatuses: [{ name: AGENT_CONTAINER, state: { running: {} } }],
          },
        ],
        [
          'wf-c-1',
          {
            phase: 'Pending',
            initContainerStatuses: [
              {
                name: 'paddock-network-gate',
                state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "op:1"' } },
              },
            ],
            containerStatuses: [{ name: AGENT_CONTAINER, state: { waiting: { reason: 'PodInitializing' } } }],
          },
        ],
        [
          'wf-d-1',
          {
            phase: 'Pending',
            initContainerStatuses: [{ name: 'paddock-network-gate', state: { running: {} } }],
            containerStatuses: [{ name: AGENT_CONTAINER, state: { waiting: { reason: 'PodInitializing' } } }],
          },
        ],
      ],
      [
        // Gated pods stuck before any container: the sandbox bound and the Events decide.
        [
          'wf-a-1',
          {
            phase: 'Pending',
            initContainerStatuses: [
              { name: 'paddock-network-gate', state: { waiting: { reason: 'PodInitializing' } } },
            ],
            containerStatuses: [{ name: AGENT_CONTAINER, state: { waiting: { reason: 'PodInitializing' } } }],
          },
        ],
        ['wf-b-1', { phase: 'Pending' }],
        ['wf-c-1', { phase: 'Pending' }],
        ['wf-d-1', { phase: 'Pending' }],
      ],
    ];
    for (const states of cases) {
      const full = new Map(states.map(([n, st]) => [n, served(built.get(n)!, st)] as const));
      const trimmed = new Map([...full].map(([n, p]) => [n, trimAgentPod(p)] as const));
      for (const ms of [1_000, 61_000 + 30_000, 125_000]) {
        sim.now = new Date(Date.parse('2025-03-01T10:00:00Z') + ms);
        const a = sim.plan({ pods: full });
        const b = sim.plan({ pods: trimmed });
        expect(b).toEqual(a);
      }
    }
    const full = new Map(cases[0]!.map(([n, st]) => [n, served(built.get(n)!, st)] as const));
    const trimmed = new Map([...full].map(([n, p]) => [n, trimAgentPod(p)] as const));
    // ...including a deleted pod and step outputs rendered into a later step's inputs.
    const deleted = served(built.get('wf-d-1')!, { phase: 'Running' });
    deleted.metadata.deletionTimestamp = '2025-03-01T10:00:30Z';
    full.set('wf-d-1', deleted);
    trimmed.set('wf-d-1', trimAgentPod(deleted));
    expect(sim.plan({ pods: trimmed })).toEqual(sim.plan({ pods: full }));
  });
});
