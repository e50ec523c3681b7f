// An in-memory Lease "API server" for unit tests of the leader elector. One MemoryLeaseServer holds
// the lease; each candidate talks to it through its own MemoryLeaseStore, so a test can make one
// candidate's requests fail or hang (a partitioned replica) while the others carry on.
// Writes follow the API server's optimistic concurrency: an update must carry the current
// resourceVersion, a create fails if the lease exists; both throw LeaseConflictError.
import {
  LeaseConflictError,
  type Lease,
  type LeaseStore,
} from '../../../../operator/src/kube/leaderelection.ts';

export class MemoryLeaseServer {
  lease: Lease | undefined;
  #rv = 0;
  readonly writes: Array<{ by: string; verb: 'create' | 'update'; lease: Lease }> = [];

  store(name: string): MemoryLeaseStore {
    return new MemoryLeaseStore(this, name);
  }

  get(): Lease | undefined {
    return this.lease ? structuredClone(this.lease) : undefined;
  }

  create(by: string, lease: Lease): Lease {
    if (this.lease) throw new LeaseConflictError('lease already exists');
    return this.#write(by, 'create', lease);
  }

  update(by: string, lease: Lease): Lease {
    if (!this.lease) throw new LeaseConflictError('lease not found');
    if (lease.metadata.resourceVersion !== this.lease.metadata.resourceVersion) {
      throw new LeaseConflictError(
        `resourceVersion ${lease.metadata.resourceVersion ?? '(none)'} != ${this.lease.metadata.resourceVersion ?? ''}`,
      );
    }
    return this.#write(by, 'update', lease);
  }

  /** Someone outside the candidates edits the lease (e.g. an admin or another controller). */
  tamper(mutate: (lease: Lease) => void): void {
    if (!this.lease) throw new Error('no lease');
    const copy = structuredClone(this.lease);
    mutate(copy);
    this.#write('tamper', 'update', copy);
  }

  #write(by: string, verb: 'create' | 'update', lease: Lease): Lease {
    const stored: Lease = structuredClone({
      ...lease,
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { ...lease.metadata, name: 'lease', namespace: 'test', resourceVersion: String(++this.#rv) },
    });
    this.lease = stored;
    this.writes.push({ by, verb, lease: structuredClone(stored) });
    return structuredClone(stored);
  }
}

export type Fault = 'none' | 'fail' | 'hang';

export class MemoryLeaseStore implements LeaseStore {
  readonly server: MemoryLeaseServer;
  readonly name: string;
  /** 'fail' rejects every call; 'hang' never settles (until the fault is cleared). */
  fault: Fault = 'none';
  /** Make the next N writes lose a race: another writer bumps the lease just before ours. */
  conflictNextWrites = 0;
  calls = 0;
  #hung: Array<() => void> = [];

  constructor(server: MemoryLeaseServer, name: string) {
    this.server = server;
    this.name = name;
  }

  /** Clears the fault; hung calls then proceed. */
  heal(): void {
    this.fault = 'none';
    const hung = this.#hung;
    this.#hung = [];
    for (const resume of hung) resume();
  }

  get(): Promise<Lease | undefined> {
    return this.#call(() => this.server.get());
  }

  create(lease: Lease): Promise<Lease> {
    return this.#call(() => this.server.create(this.name, lease));
  }

  update(lease: Lease): Promise<Lease> {
    return this.#call(() => {
      if (this.conflictNextWrites > 0) {
        this.conflictNextWrites--;
        this.server.tamper(() => {});
      }
      return this.server.update(this.name, lease);
    });
  }

  async #call<T>(fn: () => T): Promise<T> {
    this.calls++;
    if (this.fault === 'hang') await new Promise<void>((resolve) => this.#hung.push(resolve));
    if (this.fault === 'fail') throw new Error(`${this.name}: connection refused`);
    await Promise.resolve();
    return fn();
  }
}
