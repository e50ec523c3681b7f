// Hostile objects on the benchmark's cluster: the set of the integration tests
// (tests/integration/support/pathological.ts: expensive CEL, blow-ups, backtracking-looking and
// non-RE2 patterns, deep nesting, megabyte strings), each copy in its own namespace, so that the
// normal load can be measured with them present (docs/benchmarks.md). Everything here is
// asynchronous: the bench's own event loop timestamps the watch events of the measured load.
import { NAMESPACE } from '../../operator/src/kube/core-types.ts';
import type { KubeClient } from '../../operator/src/kube/client.ts';
import type { KubeObject } from '../../operator/src/kube/types.ts';
import {
  applyPathologicalSet,
  pathologicalSet,
  unmetOutcomes,
  type PathologicalSet,
} from '../../tests/integration/support/pathological.ts';
import { restrictedNamespace } from '../../tests/integration/support/workflows.ts';
import { sleep } from './stats.ts';

export const HOSTILE_NAMESPACE_PREFIX = 'hostile-';

export class HostileObjects {
  readonly sets: PathologicalSet[] = [];
  private churning = false;
  private churnLoop: Promise<void> | undefined;
  private readonly client: KubeClient;
  private readonly kubeconfig: string;
  private readonly log: (m: string) => void;

  constructor(client: KubeClient, kubeconfig: string, log: (m: string) => void) {
    this.client = client;
    this.kubeconfig = kubeconfig;
    this.log = log;
  }

  /** Agents and Workflows applied so far. */
  get objects(): number {
    return this.sets.reduce((n, s) => n + s.agents.length + s.workflows.length, 0);
  }

  get namespaces(): string[] {
    return this.sets.map((s) => s.namespace);
  }

  /** Applies one more copy of the set, in a new namespace. */
  async addCopy(): Promise<void> {
    const namespace = `${HOSTILE_NAMESPACE_PREFIX}${this.sets.length}`;
    await this.client.create(NAMESPACE, JSON.parse(restrictedNamespace(namespace)) as KubeObject);
    const set = pathologicalSet(namespace);
    this.sets.push(set);
    await applyPathologicalSet(this.client, this.kubeconfig, set);
  }

  /** From now on, a fresh copy every `everyMs` until stopChurn: hostile objects being evaluated all along. */
  startChurn(everyMs: number): void {
    this.churning = true;
    this.churnLoop = (async () => {
      while (this.churning) {
        await sleep(everyMs);
        if (!this.churning) break;
        await this.addCopy().catch((err: unknown) => this.log(`hostile copy failed: ${String(err)}`));
      }
    })();
  }

  async stopChurn(): Promise<void> {
    this.churning = false;
    await this.churnLoop;
  }

  /** What did not get its outcome within `timeoutMs` (empty: every object of every copy did). */
  async unmet(timeoutMs: number): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const out: string[] = [];
      for (const s of this.sets)
        for (const u of await unmetOutcomes(this.client, s)) out.push(`${s.namespace}: ${u}`);
      if (out.length === 0 || Date.now() > deadline) return out;
      await sleep(1000);
    }
  }
}
