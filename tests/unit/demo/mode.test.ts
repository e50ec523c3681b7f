// How `make demo` picks its mode (operator/hack/demo-mode.ts): a configured cluster first, then the real
// node when this machine can run one, else KWOK; and the one line it prints about it.
import { describe, expect, it } from 'vitest';
import {
  decideDemoMode,
  summarizeNodes,
  type DemoModeFacts,
  type NodeSummary,
} from '../../../operator/hack/demo-mode.ts';

const ROOT = 'needs root (running as uid 1000)';
const facts = (f: Partial<DemoModeFacts> = {}): DemoModeFacts => ({
  configured: undefined,
  realNodeUnsupported: undefined,
  realNodeHere: false,
  requested: undefined,
  ...f,
});
const reachable = (nodes: NodeSummary) =>
  ({ kubeconfig: '/k/config', reachable: true, server: 'https://127.0.0.1:6443', nodes }) as const;

describe('decideDemoMode', () => {
  it('runs the real node when nothing is configured and the machine can run one', () => {
    const m = decideDemoMode(facts());
    expect(m.kind).toBe('real');
    expect(m.line).toBe(
      'mode: real node (agents run in containers): no cluster configured, so an embedded cluster, and this machine can run a real node',
    );
  });

  it('falls back to KWOK with the real node’s one-line reason', () => {
    const m = decideDemoMode(facts({ realNodeUnsupported: ROOT }));
    expect(m.kind).toBe('kwok');
    expect(m.line).toBe(
      'mode: KWOK (simulated agents): no cluster configured, so an embedded cluster; real node unavailable: it needs root (running as uid 1000)',
    );
  });

  it('says when the kubeconfig was there but not reachable', () => {
    const m = decideDemoMode(facts({ configured: { kubeconfig: '/k/config', reachable: false } }));
    expect(m.kind).toBe('real');
    expect(m.line).toContain('the kubeconfig /k/config is not reachable, so an embedded cluster');
  });

  it('takes PADDOCK_DEMO_MODE for the embedded cluster', () => {
    expect(decideDemoMode(facts({ requested: 'kwok' }))).toMatchObject({
      kind: 'kwok',
      line: 'mode: KWOK (simulated agents): no cluster configured, so an embedded cluster; PADDOCK_DEMO_MODE=kwok',
    });
    expect(decideDemoMode(facts({ requested: 'auto' })).kind).toBe('real');
    expect(decideDemoMode(facts({ requested: 'real' })).kind).toBe('real');
    expect(decideDemoMode(facts({ requested: 'real', realNodeUnsupported: ROOT }))).toEqual({
      kind: 'refused',
      line: 'mode: none: PADDOCK_DEMO_MODE=real, but real node unavailable: it needs root (running as uid 1000)',
    });
    expect(decideDemoMode(facts({ requested: 'docker' }))).toEqual({
      kind: 'refused',
      line: 'mode: none: PADDOCK_DEMO_MODE=docker is not one of auto, kwok, real',
    });
  });

  it('uses a configured cluster of KWOK nodes with simulated agents', () => {
    const m = decideDemoMode(facts({ configured: reachable({ schedulable: 3, kwok: 3, real: 0 }) }));
    expect(m).toMatchObject({ kind: 'configured', agents: 'simulated', importImages: false });
    expect(m.line).toBe(
      'mode: configured cluster, KWOK (simulated agents): every schedulable node of the cluster of /k/config (https://127.0.0.1:6443) is a KWOK node',
    );
  });

  it("runs the real agents on a configured cluster's real node of this machine, importing the images", () => {
    const m = decideDemoMode(
      facts({ configured: reachable({ schedulable: 1, kwok: 0, real: 1 }), realNodeHere: true }),
    );
    expect(m).toMatchObject({ kind: 'configured', agents: 'real', importImages: true });
    expect(m.line).toContain('has a real node; the images are built and imported into it');
  });

  it('runs the real agents on any other cluster and says what it needs', () => {
    for (const nodes of [
      { schedulable: 2, kwok: 0, real: 0 },
      { schedulable: 1, kwok: 0, real: 1 }, // a real node, but not this machine's
      { schedulable: 0, kwok: 0, real: 0 }, // nodes not listable
    ]) {
      const m = decideDemoMode(facts({ configured: reachable(nodes) }));
      expect(m).toMatchObject({ kind: 'configured', agents: 'real', importImages: false });
      expect(m.line).toContain('its nodes must already have the paddock.local images');
    }
  });

  it('a configured cluster wins over the machine, and the variable is said to be ignored there', () => {
    const m = decideDemoMode(
      facts({
        configured: reachable({ schedulable: 3, kwok: 3, real: 0 }),
        realNodeUnsupported: ROOT,
        requested: 'real',
      }),
    );
    expect(m.kind).toBe('configured');
    expect(m.line).toMatch(/; PADDOCK_DEMO_MODE is ignored there$/);
  });
});

describe('summarizeNodes', () => {
  it('counts schedulable nodes by kind; cordoned ones do not count', () => {
    const kwok = (unschedulable = false) => ({
      metadata: {
        annotations: { 'kwok.x-k8s.io/node': 'fake' },
        labels: { 'paddock.dev/node-kind': 'kwok' },
      },
      spec: { unschedulable },
    });
    const real = { metadata: { labels: { 'paddock.dev/node-kind': 'real' } }, spec: {} };
    const other = { metadata: { name: 'worker-1' } };
    expect(summarizeNodes([kwok(true), real])).toEqual({ schedulable: 1, kwok: 0, real: 1 });
    expect(summarizeNodes([kwok(), kwok()])).toEqual({ schedulable: 2, kwok: 2, real: 0 });
    expect(summarizeNodes([other, kwok()])).toEqual({ schedulable: 2, kwok: 1, real: 0 });
    expect(summarizeNodes([])).toEqual({ schedulable: 0, kwok: 0, real: 0 });
  });
});
