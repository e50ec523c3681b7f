import { describe, expect, it } from 'vitest';
import type { WorkflowStep } from '../../../../operator/src/api/generated/index.ts';
import {
  buildGraph,
  type Graph,
  type GraphProblem,
} from '../../../../operator/src/controllers/workflow/graph.ts';

function step(name: string, dependsOn?: string[]): WorkflowStep {
  return { name, agentRef: { name: 'agent' }, ...(dependsOn ? { dependsOn } : {}) };
}

function graphOf(steps: WorkflowStep[]): Graph {
  const r = buildGraph(steps);
  if (!r.ok) throw new Error(`unexpected problems: ${JSON.stringify(r.problems)}`);
  return r.graph;
}

function problemsOf(steps: WorkflowStep[]): GraphProblem[] {
  const r = buildGraph(steps);
  if (r.ok) throw new Error('expected problems');
  return r.problems;
}

function sorted(s: ReadonlySet<string> | undefined): string[] {
  return [...(s ?? [])].sort();
}

describe('buildGraph: order', () => {
  it('keeps spec order for independent steps', () => {
    expect(graphOf([step('c'), step('a'), step('b')]).order).toEqual(['c', 'a', 'b']);
  });

  it('puts dependencies first even when the spec lists them later', () => {
    expect(graphOf([step('deploy', ['build']), step('build', ['fetch']), step('fetch')]).order).toEqual([
      'fetch',
      'build',
      'deploy',
    ]);
  });

  it('breaks ties among ready steps by spec order, not by when they became ready', () => {
    // z becomes ready before y (right after a), but y comes first in the spec.
    const g = graphOf([step('a'), step('b'), step('y', ['b']), step('z', ['a'])]);
    expect(g.order).toEqual(['a', 'b', 'y', 'z']);
    // x is listed before its independent sibling and is ready from the start.
    expect(graphOf([step('m', ['r']), step('x'), step('r')]).order).toEqual(['x', 'r', 'm']);
  });

  it('orders a diamond with every step after all of its dependencies', () => {
    const steps = [
      step('join', ['left', 'right']),
      step('right', ['root']),
      step('left', ['root']),
      step('root'),
    ];
    const g = graphOf(steps);
    expect(g.order).toEqual(['root', 'right', 'left', 'join']);
    for (const s of steps) {
      for (const d of s.dependsOn ?? []) expect(g.order.indexOf(d)).toBeLessThan(g.order.indexOf(s.name));
    }
  });

  it('gives the same order for the same spec every time', () => {
    const steps = [step('e', ['c', 'd']), step('d', ['a']), step('c', ['a', 'b']), step('b'), step('a')];
    const first = graphOf(steps).order;
    for (let i = 0; i < 5; i++) expect(graphOf(steps).order).toEqual(first);
    expect(first).toEqual(['b', 'a', 'd', 'c', 'e']);
  });

  it('indexes steps by name', () => {
    const s = step('scan');
    const g = graphOf([s, step('patch', ['scan'])]);
    expect(g.byName.get('scan')).toBe(s);
    expect([...g.byName.keys()]).toEqual(['scan', 'patch']);
  });
});

describe('buildGraph: ancestors and dependents', () => {
  const g = graphOf([
    step('a'),
    step('b', ['a']),
    step('c', ['b']),
    step('d', ['c', 'x']),
    step('x'),
    step('lone'),
  ]);

  it('ancestors are transitive', () => {
    expect(sorted(g.ancestors.get('a'))).toEqual([]);
    expect(sorted(g.ancestors.get('b'))).toEqual(['a']);
    expect(sorted(g.ancestors.get('c'))).toEqual(['a', 'b']);
    expect(sorted(g.ancestors.get('d'))).toEqual(['a', 'b', 'c', 'x']);
    expect(sorted(g.ancestors.get('lone'))).toEqual([]);
  });

  it('ancestors never include descendants or unrelated steps', () => {
    expect(g.ancestors.get('b')?.has('c')).toBe(false);
    expect(g.ancestors.get('d')?.has('lone')).toBe(false);
    expect(g.ancestors.get('d')?.has('d')).toBe(false);
  });

  it('dependents are direct only, in spec order', () => {
    expect(g.dependents.get('a')).toEqual(['b']);
    expect(g.dependents.get('c')).toEqual(['d']);
    expect(g.dependents.get('x')).toEqual(['d']);
    expect(g.dependents.get('d')).toEqual([]);
    expect(g.dependents.get('lone')).toEqual([]);
    const fan = graphOf([step('root'), step('p', ['root']), step('q', ['root']), step('r', ['root'])]);
    expect(fan.dependents.get('root')).toEqual(['p', 'q', 'r']);
  });
});

describe('buildGraph: problems', () => {
  it('reports an unknown dependency with the step and the missing name', () => {
    const p = problemsOf([step('a'), step('b', ['a', 'ghost'])]);
    expect(p).toEqual([
      {
        reason: 'UnknownDependency',
        message: 'spec.steps[b].dependsOn: no step named "ghost" in this workflow',
      },
    ]);
  });

  it('reports a self dependency (not as a cycle)', () => {
    const p = problemsOf([step('a', ['a'])]);
    expect(p).toEqual([
      { reason: 'SelfDependency', message: 'spec.steps[a].dependsOn: a step cannot depend on itself' },
    ]);
  });

  it('reports duplicate step names', () => {
    const p = problemsOf([step('a'), step('b'), step('a')]);
    expect(p).toEqual([
      { reason: 'DuplicateStep', message: 'spec.steps: step name "a" is used more than once' },
    ]);
  });

  it('reports every problem at once', () => {
    const p = problemsOf([step('a'), step('a', ['nope']), step('c', ['c'])]);
    expect(p.map((x) => x.reason).sort()).toEqual(['DuplicateStep', 'SelfDependency', 'UnknownDependency']);
  });

  it('reports a cycle of length 2 with its path', () => {
    const p = problemsOf([step('a', ['b']), step('b', ['a'])]);
    expect(p).toHaveLength(1);
    expect(p[0]!.reason).toBe('CyclicDependency');
    expect(p[0]!.message).toBe('spec.steps: dependsOn forms a cycle: a -> b -> a');
  });

  it('reports a cycle of length 3 with its path', () => {
    const p = problemsOf([step('a', ['c']), step('b', ['a']), step('c', ['b'])]);
    expect(p).toHaveLength(1);
    expect(p[0]!.reason).toBe('CyclicDependency');
    expect(p[0]!.message).toBe('spec.steps: dependsOn forms a cycle: a -> c -> b -> a');
  });

  it('reports only the cycle, not the steps hanging off it or before it', () => {
    // root is fine; tail depends on the cycle but is not part of it; tail comes first in the spec.
    const p = problemsOf([
      step('tail', ['x']),
      step('root'),
      step('x', ['y', 'root']),
      step('y', ['z']),
      step('z', ['x']),
    ]);
    expect(p).toHaveLength(1);
    const cycle = /cycle: (.*)$/.exec(p[0]!.message)![1]!.split(' -> ');
    expect(cycle[0]).toBe(cycle[cycle.length - 1]);
    expect(new Set(cycle)).toEqual(new Set(['x', 'y', 'z']));
    expect(cycle).toHaveLength(4);
    expect(cycle).not.toContain('tail');
    expect(cycle).not.toContain('root');
    // Each arrow follows a dependsOn edge.
    const deps: Record<string, string[]> = { x: ['y', 'root'], y: ['z'], z: ['x'] };
    for (let i = 0; i + 1 < cycle.length; i++) expect(deps[cycle[i]!]).toContain(cycle[i + 1]);
  });
});
