// Why an agent pod did not start, or why its container ended, in words that name the cause.
//
// A kubelet keeps retrying what it cannot do (pull an image, find a Secret, create a sandbox) and
// reports it only as a waiting reason or an Event; left alone, the step would wait silently until
// its timeout. These functions decide, from the pod alone (and the pod's latest Warning Event when
// nothing else says why), when an attempt has waited long enough and what to call it; a pod that
// is only slow (a large image still pulling, no Warning) is bounded by the step's timeout alone. The bounds
// and the retry rule are documented in docs/workflow-authors.md ("When a pod cannot start"). Pure.
import { AGENT_CONTAINER, GATE_CONTAINER } from '../../api/labels.ts';
import type { Pod } from '../../kube/core-types.ts';

/** How long a pod may wait in each state before its attempt ends (from the pod's creation). */
export const START_BOUNDS_MS = {
  /** Pulls are retried by the kubelet with backoff; a registry may be down for a moment. */
  pull: 120_000,
  /** A missing Secret or key, or a container the runtime could not create. */
  config: 60_000,
  /** Scheduled, but no container state at all (the sandbox, volumes or network failed). */
  sandbox: 120_000,
} as const;

/** How often a pod stuck past the sandbox bound with no Warning Event is looked at again. */
export const EVENTS_RECHECK_MS = 30_000;

/** Longest kubelet or Event text kept in a step's message. */
const MAX_CAUSE_CHARS = 512;

export interface StartProblem {
  readonly reason: StartProblemReason;
  readonly message: string;
  /** Whether another attempt can help (the Agent's retry policy applies) or the step fails now. */
  readonly retry: boolean;
}

export type StartProblemReason =
  | 'ImageNotPresent'
  | 'InvalidImage'
  | 'ImagePullFailed'
  | 'ContainerConfigError'
  | 'ContainerCreateFailed'
  | 'PodStartFailed';

export type StartVerdict =
  /** Nothing wrong (yet): wake at `wakeAtMs` to look again, if given. */
  | { readonly kind: 'ok'; readonly wakeAtMs?: number }
  /** The attempt ends. */
  | { readonly kind: 'failed'; readonly problem: StartProblem }
  /** Past the sandbox bound with nothing on the pod to say why: the pod's Events are needed. */
  | { readonly kind: 'needEvents' };

/** Waiting reasons that only mean "not yet": the sandbox or an init container comes first. */
const NOT_YET = new Set(['ContainerCreating', 'PodInitializing']);

/**
 * The waiting state that holds the pod up: the network gate's (the init container that runs first,
 * controllers/sandbox/network-gate.ts) when it waits for something, else the agent container's.
 */
function waiting(pod: Pod): { reason?: string; message?: string } | undefined {
  const gate = pod.status?.initContainerStatuses?.find((c) => c.name === GATE_CONTAINER)?.state?.waiting;
  if (gate?.reason && !NOT_YET.has(gate.reason)) return gate;
  return pod.status?.containerStatuses?.find((c) => c.name === AGENT_CONTAINER)?.state?.waiting;
}

/** Whether a container of the pod got further than "being created": it ran, ended, or waits on a cause. */
function hasContainerState(pod: Pod): boolean {
  const started = (s: NonNullable<Pod['status']>['containerStatuses']): boolean =>
    (s ?? []).some(
      (c) =>
        !!(
          c.state?.running ||
          c.state?.terminated ||
          (c.state?.waiting && !NOT_YET.has(c.state.waiting.reason ?? ''))
        ),
    );
  return started(pod.status?.initContainerStatuses) || started(pod.status?.containerStatuses);
}

export function clip(text: string, max = MAX_CAUSE_CHARS): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

function said(w: { reason?: string; message?: string }): string {
  return w.message ? `${w.reason}: ${clip(w.message)}` : (w.reason ?? '');
}

const seconds = (ms: number): string => `${Math.round(ms / 1000)}s`;

/**
 * Whether a pod that has not finished is stuck starting. `latestWarning` is the newest Warning
 * Event of the pod ("Reason: message"), when the caller looked it up after a `needEvents`
 * verdict; `null` when it looked and found none (or may not read Events).
 */
export function startVerdict(pod: Pod, nowMs: number, latestWarning?: string | null): StartVerdict {
  const phase = pod.status?.phase;
  if (phase !== 'Pending' && phase !== undefined) return { kind: 'ok' };
  const created = Date.parse(pod.metadata.creationTimestamp ?? '');
  if (Number.isNaN(created)) return { kind: 'ok' };
  const age = nowMs - created;
  const w = waiting(pod);
  const after = (bound: number, problem: StartProblem): StartVerdict =>
    age >= bound ? { kind: 'failed', problem } : { kind: 'ok', wakeAtMs: created + bound };

  switch (w?.reason) {
    case 'ErrImageNeverPull':
      // The image is not on the node and the pod may not pull it: no retry of the same pod helps.
      return {
        kind: 'failed',
        problem: {
          reason: 'ImageNotPresent',
          message: `the image is not present on node ${pod.spec.nodeName ?? '?'} and may not be pulled (${said(w)})`,
          retry: false,
        },
      };
    case 'InvalidImageName':
      return {
        kind: 'failed',
        problem: {
          reason: 'InvalidImage',
          message: `the image reference is invalid (${said(w)})`,
          retry: false,
        },
      };
    case 'ErrImagePull':
    case 'ImagePullBackOff':
    case 'ImageInspectError':
    case 'RegistryUnavailable':
    case 'SignatureValidationFailed':
      return after(START_BOUNDS_MS.pull, {
        reason: 'ImagePullFailed',
        message: `the image could not be pulled within ${seconds(START_BOUNDS_MS.pull)} (${said(w)})`,
        retry: true,
      });
    case 'CreateContainerConfigError':
      return after(START_BOUNDS_MS.config, {
        reason: 'ContainerConfigError',
        message: `the container could not be configured within ${seconds(START_BOUNDS_MS.config)}, e.g. a missing Secret or key (${said(w)})`,
        retry: true,
      });
    case 'CreateContainerError':
    case 'PreCreateHookError':
    case 'PreStartHookError':
      return after(START_BOUNDS_MS.config, {
        reason: 'ContainerCreateFailed',
        message: `the container could not be created within ${seconds(START_BOUNDS_MS.config)} (${said(w)})`,
        retry: true,
      });
    default:
      break;
  }
  // Not scheduled: the step's timeout applies (a node may come); the timeout message says why.
  if (!pod.spec.nodeName || hasContainerState(pod)) return { kind: 'ok' };
  if (age < START_BOUNDS_MS.sandbox) return { kind: 'ok', wakeAtMs: created + START_BOUNDS_MS.sandbox };
  if (latestWarning === undefined) return { kind: 'needEvents' };
  // Nothing says it failed (a large image may still be pulling): the step's timeout bounds it.
  if (latestWarning === null) return { kind: 'ok', wakeAtMs: nowMs + EVENTS_RECHECK_MS };
  return {
    kind: 'failed',
    problem: {
      reason: 'PodStartFailed',
      message: `no container was started within ${seconds(START_BOUNDS_MS.sandbox)} on node ${pod.spec.nodeName} (${clip(latestWarning)})`,
      retry: true,
    },
  };
}

/** What a pod that never ran was waiting on, for a timeout message ("" when it ran). */
export function notStartedCause(pod: Pod): string {
  if (pod.status?.phase !== undefined && pod.status.phase !== 'Pending') return '';
  const w = waiting(pod);
  if (w?.reason && w.reason !== 'ContainerCreating') return `; its container was waiting (${said(w)})`;
  if (!pod.spec.nodeName) {
    const s = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
    return s
      ? `; the pod was never scheduled (${s.reason ?? 'Unschedulable'}: ${clip(s.message ?? '')})`
      : '; the pod was never scheduled';
  }
  return '';
}

/** The reason and message for a container that ended without succeeding, in words that name the cause. */
export function terminationCause(
  pod: Pod,
): { reason: 'OOMKilled' | 'ContainerStartFailed' | 'NetworkNotIsolated'; message: string } | undefined {
  // The network gate failed, so the agent never started (controllers/sandbox/network-gate.ts).
  const gate = pod.status?.initContainerStatuses?.find((c) => c.name === GATE_CONTAINER)?.state?.terminated;
  if (gate && gate.exitCode !== 0) {
    return {
      reason: 'NetworkNotIsolated',
      message: `the agent was not started: ${gate.message ? clip(gate.message) : `the network gate exited ${gate.exitCode}`}`,
    };
  }
  const term = pod.status?.containerStatuses?.find((c) => c.name === AGENT_CONTAINER)?.state?.terminated;
  if (!term) return undefined;
  if (term.reason === 'OOMKilled') {
    const limit = pod.spec.containers.find((c) => c.name === AGENT_CONTAINER)?.resources?.limits?.['memory'];
    return {
      reason: 'OOMKilled',
      message: `the container ran out of memory${limit ? ` (limit ${limit})` : ''} and was killed (exit code ${term.exitCode})`,
    };
  }
  if (term.reason === 'StartError' || term.reason === 'ContainerCannotRun') {
    return {
      reason: 'ContainerStartFailed',
      message: `the container could not be started (${term.reason}${term.message ? `: ${clip(term.message)}` : ''})`,
    };
  }
  return undefined;
}
