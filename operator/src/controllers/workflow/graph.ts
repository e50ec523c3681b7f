// The Workflow DAG: validation (unknown dependencies, self-dependency, cycles)
// and the ancestor relation templating needs. Pure.
import type { WorkflowStep } from '../../api/generated/index.ts';

export interface Graph {
  /** Step names in a topological order (dependencies first), stable w.r.t. spec order. */
  readonly order: readonly string[];
  readonly byName: ReadonlyMap<string, WorkflowStep>;
  /** Transitive dependencies of each step. */
  readonly ancestors: ReadonlyMap<string, ReadonlySet<string>>;
  /** Direct dependents of each step. */
  readonly dependents: ReadonlyMap<string, readonly string[]>;
}

export interface GraphProblem {
  readonly reason: 'DuplicateStep' | 'UnknownDependency' | 'SelfDependency' | 'CyclicDependency';
  readonly message: string;
}

export type GraphResult = { ok: true; graph: Graph } | { ok: false; problems: GraphProblem[] };

export function buildGraph(steps: readonly WorkflowStep[]): GraphResult {
  const problems: GraphProblem[] = [];
  const byName = new Map<string, WorkflowStep>();
  for (const s of steps) {
    if (byName.has(s.name)) {
      problems.push({
        reason: 'DuplicateStep',
        message: `spec.steps: step name "${s.name}" is used more than once`,
      });
    }
    byName.set(s.name, s);
  }
  for (const s of steps) {
    for (const d of s.dependsOn ?? []) {
      if (d === s.name) {
        problems.push({
          reason: 'SelfDependency',
          message: `spec.steps[${s.name}].dependsOn: a step cannot depend on itself`,
        });
      } else if (!byName.has(d)) {
        problems.push({
          reason: 'UnknownDependency',
          message: `spec.steps[${s.name}].dependsOn: no step named "${d}" in this workflow`,
        });
      }
    }
  }
  if (problems.length > 0) return { ok: false, problems };

  // Kahn's algorithm; ties broken by spec order so the order is deterministic.
  const indexOf = new Map(steps.map((s, i) => [s.name, i]));
  const remaining = new Map(steps.map((s) => [s.name, new Set(s.dependsOn ?? [])]));
  const dependents = new Map<string, string[]>(steps.map((s) => [s.name, []]));
  for (const s of steps) for (const d of s.dependsOn ?? []) dependents.get(d)!.push(s.name);
  const order: string[] = [];
  const ready = steps.filter((s) => (s.dependsOn ?? []).length === 0).map((s) => s.name);
  while (ready.length > 0) {
    ready.sort((a, b) => indexOf.get(a)! - indexOf.get(b)!);
    const next = ready.shift()!;
    order.push(next);
    for (const dep of dependents.get(next) ?? []) {
      const set = remaining.get(dep)!;
      set.delete(next);
      if (set.size === 0) ready.push(dep);
    }
  }
  if (order.length !== steps.length) {
    const cycle = findCycle(steps, new Set(order));
    return {
      ok: false,
      problems: [
        { reason: 'CyclicDependency', message: `spec.steps: dependsOn forms a cycle: ${cycle.join(' -> ')}` },
      ],
    };
  }
  const ancestors = new Map<string, Set<string>>();
  for (const name of order) {
    const set = new Set<string>();
    for (const d of byName.get(name)!.dependsOn ?? []) {
      set.add(d);
      for (const a of ancestors.get(d) ?? []) set.add(a);
    }
    ancestors.set(name, set);
  }
  return { ok: true, graph: { order, byName, ancestors, dependents } };
}

/** One cycle among the steps not in `done`, for the error message. */
function findCycle(steps: readonly WorkflowStep[], done: ReadonlySet<string>): string[] {
  const deps = new Map(steps.map((s) => [s.name, (s.dependsOn ?? []).filter((d) => !done.has(d))]));
  const start = steps.find((s) => !done.has(s.name))!.name;
  const path: string[] = [];
  const onPath = new Map<string, number>();
  let cur = start;
  // Every remaining step has a remaining dependency, so walking always finds a repeat.
  for (;;) {
    if (onPath.has(cur)) return [...path.slice(onPath.get(cur)), cur];
    onPath.set(cur, path.length);
    path.push(cur);
    cur = deps.get(cur)![0]!;
  }
}
