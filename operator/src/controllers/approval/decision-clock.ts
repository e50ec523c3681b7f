// When the operator first saw each Approval's latest decision: the start of the
// decision-to-resume latency (paddock_approval_resume_seconds). The decisions'
// own `at` is whatever the client wrote, and the server's managedFields times
// have one-second precision, so the operator keeps its own receive time.
import type { Approval } from '../../api/generated/index.ts';
import type { InformerHandlers } from '../../kube/informer.ts';
import { objectKey } from '../../kube/types.ts';

export class DecisionClock {
  private readonly seen = new Map<string, number>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  /** Informer handlers that keep the clock: a new decision restarts it, deletion forgets it. */
  handlers(): InformerHandlers<Approval> {
    const count = (a: Approval | undefined): number => a?.spec.decisions?.length ?? 0;
    return {
      add: (a) => {
        if (count(a) > 0) this.seen.set(objectKey(a), this.now());
      },
      update: (old, a) => {
        if (count(a) > count(old)) this.seen.set(objectKey(a), this.now());
      },
      delete: (a) => {
        this.seen.delete(objectKey(a));
      },
    };
  }

  /** ms timestamp at which the Approval `namespace/name` got its latest decision, if seen. */
  decidedAt(key: string): number | undefined {
    return this.seen.get(key);
  }

  get size(): number {
    return this.seen.size;
  }
}
