import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { AGENT } from '../../../operator/src/api/constants.ts';
import type { Agent, AgentSpec, AgentStatus } from '../../../operator/src/api/generated/index.ts';
import { checkAgent, type AgentCheckResult } from '../../../operator/src/controllers/agent/checks.ts';
import { AgentReconciler } from '../../../operator/src/controllers/agent/reconciler.ts';
import {
  agentStatusEqual,
  CONDITION_IMAGE_NOT_PINNED,
  desiredAgentStatus,
  readyTransition,
} from '../../../operator/src/controllers/agent/status.ts';
import type { Condition } from '../../../operator/src/controllers/conditions.ts';
import type { ReconcileContext } from '../../../operator/src/controllers/controller.ts';
import type { EventInput, EventSink } from '../../../operator/src/controllers/events.ts';
import { StatusWriter } from '../../../operator/src/controllers/status-writer.ts';
import type { ApplyOptions, KubeClient } from '../../../operator/src/kube/client.ts';
import type { Informer } from '../../../operator/src/kube/informer.ts';
import type { KubeObject } from '../../../operator/src/kube/types.ts';
import type { ResourceRef } from '../../../operator/src/api/constants.ts';
import { deepFreeze } from '../../../operator/src/util/freeze.ts';

const DIGEST = `sha256:${'ab12'.repeat(16)}`;
const PINNED = `ghcr.io/acme/agent@${DIGEST}`;
const TAGGED = 'ghcr.io/acme/agent:1.2.3';
const T0 = '2025-01-01T00:00:00Z';
const T1 = '2025-01-01T01:00:00Z';

const BAD_SCHEMA = { type: 'object', properties: { a: { type: 'strin' } } } as const;
const GOOD_SCHEMA = { type: 'object', properties: { repo: { type: 'string' } }, required: ['repo'] } as const;

function spec(extra: Partial<AgentSpec> = {}): AgentSpec {
  return { image: PINNED, ...extra };
}

const OK: AgentCheckResult = { problems: [], imageNotPinned: false };

// --- checkAgent ------------------------------------------------------------------------------

describe('checkAgent', () => {
  it('accepts a valid spec with compiling schemas and sane resources', () => {
    expect(
      checkAgent(
        spec({
          inputsSchema: GOOD_SCHEMA,
          outputsSchema: { type: 'object' },
          resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '1', memory: '1024Mi' } },
        }),
      ),
    ).toEqual(OK);
  });

  it('reports an inputsSchema that does not compile', () => {
    const r = checkAgent(spec({ inputsSchema: BAD_SCHEMA }));
    expect(r.problems).toHaveLength(1);
    const p = r.problems[0]!;
    expect(p.reason).toBe('InvalidInputsSchema');
    expect(p.field).toBe('spec.inputsSchema');
    expect(p.message).toMatch(/^spec\.inputsSchema: not a valid JSON Schema: \/properties\/a\/type/);
  });

  it('reports an outputsSchema that does not compile, after the inputsSchema', () => {
    const r = checkAgent(
      spec({
        inputsSchema: { type: 'object', $schema: 'https://example.com/my-draft' },
        outputsSchema: BAD_SCHEMA,
      }),
    );
    expect(r.problems.map((p) => [p.reason, p.field])).toEqual([
      ['InvalidInputsSchema', 'spec.inputsSchema'],
      ['InvalidOutputsSchema', 'spec.outputsSchema'],
    ]);
    expect(r.problems[0]!.message).toMatch(/^spec\.inputsSchema: unsupported \$schema/);
    expect(r.problems[1]!.message).toMatch(/^spec\.outputsSchema: not a valid JSON Schema/);
  });

  it('reports requests above limits', () => {
    const r = checkAgent(
      spec({
        resources: { requests: { cpu: '2', memory: '512Mi' }, limits: { cpu: '1500m', memory: '1Gi' } },
      }),
    );
    expect(r.problems).toEqual([
      {
        reason: 'InvalidResources',
        field: 'spec.resources.requests.cpu',
        message: 'spec.resources.requests.cpu (2) must not exceed spec.resources.limits.cpu (1500m)',
      },
    ]);
  });

  it('compares numbers and quantities, reporting resources in name order', () => {
    const r = checkAgent(
      spec({
        resources: {
          requests: { memory: '2Gi', cpu: 3, 'ephemeral-storage': '1G' },
          limits: { memory: '2G', cpu: '2', 'ephemeral-storage': '1000M' },
        },
      }),
    );
    expect(r.problems.map((p) => p.field)).toEqual([
      'spec.resources.requests.cpu',
      'spec.resources.requests.memory', // 2Gi > 2G
    ]);
    expect(r.problems.every((p) => p.reason === 'InvalidResources')).toBe(true);
  });

  it('requests without limits (or the reverse) are fine', () => {
    expect(checkAgent(spec({ resources: { requests: { cpu: '64' } } })).problems).toEqual([]);
    expect(checkAgent(spec({ resources: { limits: { cpu: '1m' } } })).problems).toEqual([]);
  });

  it('reports a value that is not a Kubernetes quantity, and does not compare it', () => {
    const r = checkAgent(
      spec({ resources: { requests: { cpu: 'lots', memory: '1Gi' }, limits: { cpu: '1', memory: '1 Gi' } } }),
    );
    expect(r.problems).toEqual([
      {
        reason: 'InvalidResources',
        field: 'spec.resources.requests.cpu',
        message: 'spec.resources.requests.cpu: "lots" is not a Kubernetes quantity',
      },
      {
        reason: 'InvalidResources',
        field: 'spec.resources.limits.memory',
        message: 'spec.resources.limits.memory: "1 Gi" is not a Kubernetes quantity',
      },
    ]);
  });

  it('tells a digest from a tag', () => {
    const pinned = (image: string): boolean => !checkAgent(spec({ image })).imageNotPinned;
    expect(pinned(PINNED)).toBe(true);
    expect(pinned(`ghcr.io/acme/agent:1.2.3@${DIGEST}`)).toBe(true);
    expect(pinned(TAGGED)).toBe(false);
    expect(pinned('ghcr.io/acme/agent')).toBe(false);
    expect(pinned(`ghcr.io/acme/agent@sha256:${'ab'.repeat(31)}`)).toBe(false); // too short
    expect(pinned(`ghcr.io/acme/agent@sha256:${'AB12'.repeat(16)}`)).toBe(false); // digests are lower-case
    expect(pinned(`ghcr.io/acme/agent@${DIGEST}:latest`)).toBe(false);
  });

  it('an unpinned image is a warning, not a problem', () => {
    expect(checkAgent(spec({ image: TAGGED }))).toEqual({ problems: [], imageNotPinned: true });
  });
});

// --- desiredAgentStatus and friends ----------------------------------------------------------

const invalid: AgentCheckResult = {
  problems: [
    { reason: 'InvalidResources', field: 'spec.resources.requests.cpu', message: 'cpu too high' },
    { reason: 'InvalidOutputsSchema', field: 'spec.outputsSchema', message: 'bad schema' },
  ],
  imageNotPinned: false,
};

function byType(s: AgentStatus): Record<string, Condition> {
  return Object.fromEntries((s.conditions ?? []).map((c) => [c.type, c]));
}

describe('desiredAgentStatus', () => {
  it('a valid, pinned Agent is Ready and not Stalled, Reconciling or ImageNotPinned', () => {
    const s = desiredAgentStatus(undefined, 4, OK, T0);
    expect(s.observedGeneration).toBe(4);
    expect(s.conditions).toEqual([
      {
        type: 'Ready',
        status: 'True',
        observedGeneration: 4,
        lastTransitionTime: T0,
        reason: 'Valid',
        message: 'Agent spec is valid; steps may use it',
      },
      {
        type: 'Stalled',
        status: 'False',
        observedGeneration: 4,
        lastTransitionTime: T0,
        reason: 'Valid',
        message: '',
      },
      {
        type: 'Reconciling',
        status: 'False',
        observedGeneration: 4,
        lastTransitionTime: T0,
        reason: 'Reconciled',
        message: '',
      },
      {
        type: CONDITION_IMAGE_NOT_PINNED,
        status: 'False',
        observedGeneration: 4,
        lastTransitionTime: T0,
        reason: 'Digest',
        message: '',
      },
    ]);
  });

  it('an invalid Agent is not Ready and Stalled, with the first reason and every message', () => {
    const c = byType(desiredAgentStatus(undefined, 2, invalid, T0));
    for (const type of ['Ready', 'Stalled']) {
      expect(c[type]).toMatchObject({
        reason: 'InvalidResources',
        message: 'cpu too high; bad schema',
        observedGeneration: 2,
      });
    }
    expect(c['Ready']!.status).toBe('False');
    expect(c['Stalled']!.status).toBe('True');
    expect(c['Reconciling']).toMatchObject({ status: 'False', reason: 'Reconciled' });
  });

  it('a tagged image sets ImageNotPinned without affecting Ready', () => {
    const c = byType(desiredAgentStatus(undefined, 1, { problems: [], imageNotPinned: true }, T0));
    expect(c[CONDITION_IMAGE_NOT_PINNED]).toMatchObject({ status: 'True', reason: 'TagNotDigest' });
    expect(c[CONDITION_IMAGE_NOT_PINNED]!.message).toMatch(/pin it by digest/);
    expect(c['Ready']!.status).toBe('True');
  });

  it('an identical reconcile later yields an identical status (lastTransitionTime preserved)', () => {
    const first = desiredAgentStatus(undefined, 1, OK, T0);
    const again = desiredAgentStatus(first, 1, OK, T1);
    expect(again).toEqual(first);
    expect(agentStatusEqual(first, again)).toBe(true);
  });

  it('moves lastTransitionTime only for conditions whose status flipped', () => {
    const first = desiredAgentStatus(undefined, 1, OK, T0);
    const broken = byType(desiredAgentStatus(first, 2, invalid, T1));
    expect(broken['Ready']!.lastTransitionTime).toBe(T1);
    expect(broken['Stalled']!.lastTransitionTime).toBe(T1);
    expect(broken['Reconciling']!.lastTransitionTime).toBe(T0);
    expect(broken[CONDITION_IMAGE_NOT_PINNED]!.lastTransitionTime).toBe(T0);
    expect(broken['Reconciling']!.observedGeneration).toBe(2);
  });

  it('keeps conditions other writers set', () => {
    const foreign: Condition = {
      type: 'Audited',
      status: 'True',
      lastTransitionTime: T0,
      reason: 'ByPolicy',
      message: 'ok',
    };
    const s = desiredAgentStatus({ conditions: [foreign] }, 1, OK, T1);
    expect(s.conditions?.find((c) => c.type === 'Audited')).toEqual(foreign);
    expect(s.conditions).toHaveLength(5);
  });
});

describe('agentStatusEqual', () => {
  const s = desiredAgentStatus(undefined, 1, OK, T0);

  it('equal statuses, in any condition order', () => {
    expect(agentStatusEqual(structuredClone(s), s)).toBe(true);
    expect(agentStatusEqual({ ...s, conditions: [...(s.conditions ?? [])].reverse() }, s)).toBe(true);
  });

  it('differs without a previous status, on observedGeneration, or on a condition', () => {
    expect(agentStatusEqual(undefined, s)).toBe(false);
    expect(agentStatusEqual({}, s)).toBe(false);
    expect(agentStatusEqual({ ...s, observedGeneration: 2 }, s)).toBe(false);
    const changed = structuredClone(s);
    changed.conditions![2]!.message = 'different';
    expect(agentStatusEqual(changed, s)).toBe(false);
    expect(agentStatusEqual({ ...s, conditions: s.conditions!.slice(1) }, s)).toBe(false);
  });
});

describe('readyTransition', () => {
  const ok = desiredAgentStatus(undefined, 1, OK, T0);
  const bad = desiredAgentStatus(ok, 2, invalid, T1);

  it('a first status is a transition from nothing', () => {
    const t = readyTransition(undefined, ok);
    expect(t?.from).toBeUndefined();
    expect(t?.to).toMatchObject({ type: 'Ready', status: 'True' });
  });

  it('status flips are transitions; an unchanged Ready is not', () => {
    expect(readyTransition(ok, bad)).toEqual({ from: byType(ok)['Ready'], to: byType(bad)['Ready'] });
    expect(readyTransition(bad, ok)?.to.status).toBe('True');
    expect(readyTransition(ok, desiredAgentStatus(ok, 5, OK, T1))).toBeUndefined();
    // Only Ready counts: ImageNotPinned flipping alone is not a Ready transition.
    expect(
      readyTransition(ok, desiredAgentStatus(ok, 1, { problems: [], imageNotPinned: true }, T1)),
    ).toBeUndefined();
  });

  it('a new reason or message while still not Ready is a transition', () => {
    const otherReason = desiredAgentStatus(bad, 3, { ...invalid, problems: invalid.problems.slice(1) }, T1);
    expect(readyTransition(bad, otherReason)?.to.reason).toBe('InvalidOutputsSchema');
    const otherMessage = desiredAgentStatus(
      bad,
      3,
      { ...invalid, problems: [{ ...invalid.problems[0]!, message: 'cpu far too high' }] },
      T1,
    );
    expect(readyTransition(bad, otherMessage)?.to.message).toBe('cpu far too high');
  });

  it('no Ready condition in the next status: no transition', () => {
    expect(readyTransition(ok, { conditions: [] })).toBeUndefined();
  });
});

// --- AgentReconciler -------------------------------------------------------------------------

interface ApplyCall {
  ref: ResourceRef;
  obj: KubeObject & { status?: AgentStatus };
  opts: ApplyOptions;
}

interface LogLine {
  audit?: boolean;
  event?: string;
  agent?: string;
  namespace?: string;
  reason?: string;
  reconcileId?: string;
}

class Harness {
  readonly agents = new Map<string, Agent>();
  readonly applies: ApplyCall[] = [];
  readonly events: Array<{ regarding: KubeObject; event: EventInput }> = [];
  readonly lines: LogLine[] = [];
  readonly writer: StatusWriter;
  applyError: Error | undefined;
  /** The "server's" resourceVersion counter: every apply bumps it. */
  rv = 100;
  now = new Date(T0);
  readonly reconciler: AgentReconciler;
  readonly ctx: ReconcileContext;

  constructor() {
    const informer: Pick<Informer<Agent>, 'get'> = { get: (key) => this.agents.get(key) };
    const client: Pick<KubeClient, 'apply'> = {
      apply: async <T extends KubeObject>(
        ref: ResourceRef,
        obj: KubeObject,
        opts: ApplyOptions,
      ): Promise<T> => {
        await Promise.resolve();
        if (this.applyError) throw this.applyError;
        this.applies.push({ ref, obj: structuredClone(obj), opts: { ...opts } });
        const res = structuredClone(obj);
        res.metadata.resourceVersion = String(++this.rv);
        return res as T;
      },
    };
    this.writer = new StatusWriter(client);
    const events: EventSink = { record: (regarding, event) => this.events.push({ regarding, event }) };
    this.reconciler = new AgentReconciler({
      status: this.writer,
      agents: informer as Informer<Agent>,
      events,
      now: () => this.now,
    });
    const logger = pino(
      { level: 'info' },
      { write: (s: string) => this.lines.push(JSON.parse(s) as LogLine) },
    );
    this.ctx = { logger: logger.child({ reconcileId: 'r-1' }), reconcileId: 'r-1' };
  }

  /** Stores an Agent as an informer would: frozen. */
  set(
    name: string,
    s: AgentSpec,
    generation = 1,
    status?: AgentStatus,
    resourceVersion = String(this.rv),
  ): Agent {
    const agent: Agent = {
      apiVersion: 'paddock.dev/v1alpha1',
      kind: 'Agent',
      metadata: {
        name,
        namespace: 'team',
        uid: `uid-${name}`,
        generation,
        resourceVersion,
        labels: { app: 'x' },
        managedFields: [{ manager: 'kubectl' }],
      },
      spec: s,
      ...(status ? { status } : {}),
    };
    this.agents.set(`team/${name}`, deepFreeze(structuredClone(agent)));
    return this.agents.get(`team/${name}`)!;
  }

  /** A spec edit by a user: new generation, new resourceVersion, status kept. */
  edit(name: string, s: AgentSpec): void {
    const cur = this.agents.get(`team/${name}`)!;
    this.set(name, s, (cur.metadata.generation ?? 0) + 1, cur.status, String(++this.rv));
  }

  /** The cache catches up with the last apply: the applied status at the applied resourceVersion. */
  applyLastStatus(name: string): void {
    const last = this.applies.at(-1);
    if (!last?.obj.status) throw new Error('nothing applied');
    const cur = this.agents.get(`team/${name}`)!;
    this.set(name, cur.spec, cur.metadata.generation, last.obj.status, String(this.rv));
  }

  reconcile(name: string): Promise<unknown> {
    return this.reconciler.reconcile(`team/${name}`, this.ctx);
  }

  audits(): LogLine[] {
    return this.lines.filter((l) => l.audit === true);
  }
}

describe('AgentReconciler', () => {
  it('writes the status of a new Agent once, by server-side apply on the status subresource', async () => {
    const h = new Harness();
    h.set('ok', spec(), 3);
    await expect(h.reconcile('ok')).resolves.toBeUndefined();

    expect(h.applies).toHaveLength(1);
    const { ref, obj, opts } = h.applies[0]!;
    expect(ref).toBe(AGENT);
    expect(opts).toEqual({ fieldManager: 'paddock', force: true, subresource: 'status' });
    // Only the identity and the fields this manager owns: no spec, no server metadata.
    expect(obj).toEqual({
      apiVersion: 'paddock.dev/v1alpha1',
      kind: 'Agent',
      metadata: { name: 'ok', namespace: 'team' },
      status: desiredAgentStatus(undefined, 3, OK, T0),
    });
  });

  it('is idempotent: a reconcile of the applied status writes nothing and emits nothing', async () => {
    const h = new Harness();
    h.set('ok', spec());
    await h.reconcile('ok');
    h.applyLastStatus('ok');
    const eventsBefore = h.events.length;
    h.now = new Date(T1);
    await h.reconcile('ok');
    await h.reconcile('ok');
    expect(h.applies).toHaveLength(1);
    expect(h.events).toHaveLength(eventsBefore);
  });

  it('emits AgentReady (and an audit line) when an Agent becomes Ready', async () => {
    const h = new Harness();
    const agent = h.set('ok', spec());
    await h.reconcile('ok');
    expect(h.events).toHaveLength(1);
    expect(h.events[0]!.regarding).toBe(agent);
    expect(h.events[0]!.event).toEqual({
      type: 'Normal',
      reason: 'AgentReady',
      action: 'Validate',
      note: 'Agent spec is valid',
    });
    expect(h.audits()).toEqual([
      expect.objectContaining({ event: 'agent.ready', agent: 'ok', namespace: 'team', reason: 'Valid' }),
    ]);
  });

  it('a spec change that keeps the Agent Ready writes the new generation but emits nothing', async () => {
    const h = new Harness();
    h.set('ok', spec());
    await h.reconcile('ok');
    h.applyLastStatus('ok');
    h.edit('ok', spec({ args: ['--fast'] }));
    h.now = new Date(T1);
    await h.reconcile('ok');
    expect(h.applies).toHaveLength(2);
    expect(h.applies[1]!.obj.status?.observedGeneration).toBe(2);
    // Nothing flipped: every lastTransitionTime is still the first one.
    expect(h.applies[1]!.obj.status?.conditions?.map((c) => c.lastTransitionTime)).toEqual(Array(4).fill(T0));
    expect(h.events).toHaveLength(1);
    expect(h.audits()).toHaveLength(1);
  });

  it('emits a Warning with the problem when an Agent becomes invalid, and AgentReady when fixed', async () => {
    const h = new Harness();
    h.set('a', spec());
    await h.reconcile('a');
    h.applyLastStatus('a');

    h.edit('a', spec({ inputsSchema: BAD_SCHEMA }));
    await h.reconcile('a');
    expect(h.applies).toHaveLength(2);
    expect(h.events).toHaveLength(2);
    const warn = h.events[1]!.event;
    expect(warn.type).toBe('Warning');
    expect(warn.reason).toBe('InvalidInputsSchema');
    expect(warn.action).toBe('Validate');
    expect(warn.note).toMatch(/^spec\.inputsSchema: /);
    expect(h.audits().at(-1)).toMatchObject({ event: 'agent.invalid', reason: 'InvalidInputsSchema' });

    // Still invalid on the next reconcile: no new Event.
    h.applyLastStatus('a');
    await h.reconcile('a');
    expect(h.applies).toHaveLength(2);
    expect(h.events).toHaveLength(2);

    // Fixed.
    h.edit('a', spec());
    await h.reconcile('a');
    expect(h.events.map((e) => e.event.reason)).toEqual(['AgentReady', 'InvalidInputsSchema', 'AgentReady']);
  });

  it('warns about a tag once, not on every write', async () => {
    const h = new Harness();
    h.set('t', spec({ image: TAGGED }));
    await h.reconcile('t');
    expect(h.events.map((e) => [e.event.type, e.event.reason])).toEqual([
      ['Normal', 'AgentReady'],
      ['Warning', 'ImageNotPinned'],
    ]);
    expect(h.events[1]!.event.note).toBe(`spec.image ${TAGGED} is referenced by tag, not digest`);

    h.applyLastStatus('t');
    h.edit('t', spec({ image: 'ghcr.io/acme/agent:1.2.4' }));
    await h.reconcile('t');
    expect(h.applies).toHaveLength(2);
    expect(h.events).toHaveLength(2);

    // Pinned, then tagged again: warns again.
    h.applyLastStatus('t');
    h.edit('t', spec());
    await h.reconcile('t');
    h.applyLastStatus('t');
    h.edit('t', spec({ image: TAGGED }));
    await h.reconcile('t');
    expect(h.events.map((e) => e.event.reason)).toEqual(['AgentReady', 'ImageNotPinned', 'ImageNotPinned']);
  });

  it('does nothing for an Agent that is gone or being deleted', async () => {
    const h = new Harness();
    await h.reconcile('missing');
    const agent: Agent = {
      metadata: { name: 'd', namespace: 'team', generation: 1, deletionTimestamp: T0 },
      spec: spec(),
    };
    h.agents.set('team/d', agent);
    await h.reconcile('d');
    expect(h.applies).toEqual([]);
    expect(h.events).toEqual([]);
  });

  it('a failed apply fails the reconcile and emits nothing', async () => {
    const h = new Harness();
    h.set('ok', spec({ image: TAGGED }));
    h.applyError = new Error('apiserver unavailable');
    await expect(h.reconcile('ok')).rejects.toThrow('apiserver unavailable');
    expect(h.events).toEqual([]);
    expect(h.audits()).toEqual([]);
    h.applyError = undefined;
    await h.reconcile('ok');
    expect(h.applies).toHaveLength(1);
    expect(h.events).toHaveLength(2);
  });

  it('never mutates the cached Agent', async () => {
    const h = new Harness();
    const agent = h.set('ok', spec({ image: TAGGED, inputsSchema: BAD_SCHEMA }));
    const snapshot = structuredClone(agent);
    await h.reconcile('ok'); // would throw on a frozen object if it mutated it
    expect(agent).toEqual(snapshot);
    expect(h.applies).toHaveLength(1);
  });

  it('does not repeat a write the cache has not caught up with yet', async () => {
    const h = new Harness();
    h.set('ok', spec());
    await h.reconcile('ok');
    expect(h.applies).toHaveLength(1);
    expect(h.writer.size).toBe(1);
    // The watch event for our write has not arrived: the cache still shows no status.
    h.now = new Date(T1);
    await h.reconcile('ok');
    await h.reconcile('ok');
    expect(h.applies).toHaveLength(1);
    expect(h.events).toHaveLength(1);
    // Caught up: nothing to write.
    h.applyLastStatus('ok');
    await h.reconcile('ok');
    expect(h.applies).toHaveLength(1);
  });

  it('a stale cache whose desired status differs from the pending write still writes', async () => {
    const h = new Harness();
    const before = h.set('ok', spec());
    await h.reconcile('ok');
    // The spec changed before the cache saw our write (same old resourceVersion in the cache).
    h.set('ok', spec({ image: TAGGED }), 2, undefined, before.metadata.resourceVersion);
    await h.reconcile('ok');
    expect(h.applies).toHaveLength(2);
    expect(h.applies[1]!.obj.status?.observedGeneration).toBe(2);
  });

  it('a deleted Agent is forgotten by the status writer', async () => {
    const h = new Harness();
    h.set('ok', spec());
    await h.reconcile('ok');
    expect(h.writer.size).toBe(1);
    h.agents.delete('team/ok');
    await h.reconcile('ok');
    expect(h.writer.size).toBe(0);
    expect(h.applies).toHaveLength(1);
  });
});
