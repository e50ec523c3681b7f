// What the operator keeps of an agent pod in its cache: only what the workflow
// engine and the pod watch mappers read. A pod as the API server sends it is
// ~6.8 KB of JSON (spec, env, volumes, the rendered inputs annotation, managed
// fields, conditions); the design budgets 150 MiB of RSS with 10,000 pods
// cached, so each cached pod must be a small fraction of that.
//
// Kept: identity and ownership (name, namespace, uid, resourceVersion, labels,
// ownerReferences, creation and deletion timestamps, and the two annotations the
// operator's signature covers: the inputs digest and the signature itself),
// spec.activeDeadlineSeconds
// (quoted when a pod times out), status.phase and reason, and the agent
// container's terminated state (exit code, reason, and the termination message
// that carries the step's outputs), and the network gate's state. For a pod that has not started: its node,
// the agent container's waiting reason and message, an unmet PodScheduled
// condition (clipped), and its memory limit (quoted when it is OOM-killed), which
// pod-start.ts reads to name why it does not start. Everything else is dropped.
import {
  AGENT_CONTAINER,
  ANNOTATION_INPUTS_DIGEST,
  ANNOTATION_SIGNATURE,
  GATE_CONTAINER,
} from '../../api/labels.ts';
import type { ContainerStatus, Pod } from '../../kube/core-types.ts';
import { clip } from './pod-start.ts';
import type { ObjectMeta } from '../../kube/types.ts';

export function trimAgentPod(pod: Pod): Pod {
  const m = pod.metadata;
  const metadata: ObjectMeta = {
    ...(m.name !== undefined ? { name: m.name } : {}),
    ...(m.namespace !== undefined ? { namespace: m.namespace } : {}),
    ...(m.uid !== undefined ? { uid: m.uid } : {}),
    ...(m.resourceVersion !== undefined ? { resourceVersion: m.resourceVersion } : {}),
    ...(m.creationTimestamp !== undefined ? { creationTimestamp: m.creationTimestamp } : {}),
    ...(m.deletionTimestamp !== undefined ? { deletionTimestamp: m.deletionTimestamp } : {}),
    ...(m.labels ? { labels: m.labels } : {}),
    ...(m.ownerReferences ? { ownerReferences: m.ownerReferences } : {}),
  };
  const kept: Record<string, string> = {};
  for (const k of [ANNOTATION_INPUTS_DIGEST, ANNOTATION_SIGNATURE]) {
    const v = m.annotations?.[k];
    if (v !== undefined) kept[k] = v;
  }
  if (Object.keys(kept).length > 0) metadata.annotations = kept;
  const s = pod.status;
  const state = s?.containerStatuses?.find((c) => c.name === AGENT_CONTAINER)?.state;
  const term = state?.terminated;
  const wait = state?.waiting;
  const agent: ContainerStatus | undefined = term
    ? {
        name: AGENT_CONTAINER,
        state: {
          terminated: {
            exitCode: term.exitCode,
            ...(term.reason !== undefined ? { reason: term.reason } : {}),
            ...(term.message !== undefined ? { message: term.message } : {}),
          },
        },
      }
    : wait
      ? {
          name: AGENT_CONTAINER,
          state: {
            waiting: {
              ...(wait.reason !== undefined ? { reason: wait.reason } : {}),
              ...(wait.message !== undefined ? { message: clip(wait.message) } : {}),
            },
          },
        }
      : undefined;
  // The network gate, the init container that runs first: whether it runs, why it waits, and how it
  // ended when it failed (then the agent never ran and this is why).
  const gateState = s?.initContainerStatuses?.find((c) => c.name === GATE_CONTAINER)?.state;
  const gateTerm = gateState?.terminated;
  const gateWait = gateState?.waiting;
  const gate: ContainerStatus | undefined = gateTerm
    ? {
        name: GATE_CONTAINER,
        state: {
          terminated: {
            exitCode: gateTerm.exitCode,
            ...(gateTerm.exitCode !== 0 && gateTerm.message !== undefined
              ? { message: clip(gateTerm.message) }
              : {}),
          },
        },
      }
    : gateWait
      ? {
          name: GATE_CONTAINER,
          state: {
            waiting: {
              ...(gateWait.reason !== undefined ? { reason: gateWait.reason } : {}),
              ...(gateWait.message !== undefined ? { message: clip(gateWait.message) } : {}),
            },
          },
        }
      : gateState?.running
        ? { name: GATE_CONTAINER, state: { running: {} } }
        : undefined;
  const unscheduled = s?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  const memoryLimit = pod.spec.containers.find((c) => c.name === AGENT_CONTAINER)?.resources?.limits?.[
    'memory'
  ];
  return {
    ...(pod.apiVersion ? { apiVersion: pod.apiVersion } : {}),
    ...(pod.kind ? { kind: pod.kind } : {}),
    metadata,
    spec: {
      containers:
        memoryLimit !== undefined
          ? [{ name: AGENT_CONTAINER, image: '', resources: { limits: { memory: memoryLimit } } }]
          : [],
      ...(pod.spec.nodeName !== undefined ? { nodeName: pod.spec.nodeName } : {}),
      ...(pod.spec.activeDeadlineSeconds !== undefined
        ? { activeDeadlineSeconds: pod.spec.activeDeadlineSeconds }
        : {}),
    },
    ...(s
      ? {
          status: {
            ...(s.phase ? { phase: s.phase } : {}),
            ...(s.reason !== undefined ? { reason: s.reason } : {}),
            ...(unscheduled
              ? {
                  conditions: [
                    {
                      type: 'PodScheduled',
                      status: 'False' as const,
                      ...(unscheduled.reason !== undefined ? { reason: unscheduled.reason } : {}),
                      ...(unscheduled.message !== undefined ? { message: clip(unscheduled.message) } : {}),
                    },
                  ],
                }
              : {}),
            ...(gate ? { initContainerStatuses: [gate] } : {}),
            ...(agent ? { containerStatuses: [agent] } : {}),
          },
        }
      : {}),
  };
}
