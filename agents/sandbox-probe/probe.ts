// What the sandbox lets a process do, observed from inside it: who it runs as, what it can write,
// what it can see of the host and the cluster, where it can connect. The observations are the
// agent's outputs, so a real-node test or an administrator (docs/security.md, "Checking a
// cluster's sandbox") reads them from the step's status. Each check reports what happened, never
// a verdict: the reader decides what should have happened.
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as dns } from 'node:dns';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';

/** The fields of /proc/self/status a sandbox decides. */
export interface Identity {
  uid: string;
  gid: string;
  groups: string;
  capEff: string;
  capPrm: string;
  capBnd: string;
  noNewPrivs: string;
  seccomp: string;
}

/** Parses /proc/<pid>/status text (pure). */
export function parseStatus(text: string): Identity {
  const field = (name: string): string => {
    const line = text.split('\n').find((l) => l.startsWith(`${name}:`));
    return line
      ? line
          .slice(name.length + 1)
          .trim()
          .replace(/\s+/g, ' ')
      : '';
  };
  return {
    uid: field('Uid'),
    gid: field('Gid'),
    groups: field('Groups'),
    capEff: field('CapEff'),
    capPrm: field('CapPrm'),
    capBnd: field('CapBnd'),
    noNewPrivs: field('NoNewPrivs'),
    seccomp: field('Seccomp'),
  };
}

export function identity(): Identity {
  return parseStatus(readFileSync('/proc/self/status', 'utf8'));
}

/** 'ok' or the error code of writing then removing a small file at `path`. */
export function tryWrite(path: string): string {
  try {
    writeFileSync(path, 'probe');
    rmSync(path, { force: true });
    return 'ok';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'error';
  }
}

/** 'connected', 'timeout', or the error code (ECONNREFUSED, ENETUNREACH, ...). */
export type ConnectResult = string;

/** Opens a TCP connection to host:port: 'connected', 'timeout', or the error code. */
export function tryConnect(host: string, port: number, timeoutMs: number): Promise<ConnectResult> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (result: ConnectResult): void => {
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      done('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      done(err.code ?? 'error');
    });
  });
}

/** The addresses `name` resolves to, or the error code. */
export async function tryResolve(name: string, timeoutMs: number): Promise<string[] | string> {
  const timeout = new Promise<string>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs));
  const lookup = dns
    .lookup(name, { all: true })
    .then((addrs) => addrs.map((a) => a.address).sort())
    .catch((err: NodeJS.ErrnoException) => err.code ?? 'error');
  return Promise.race([lookup, timeout]);
}

/** Whether each path exists as this process sees it. */
export function visible(paths: readonly string[]): Record<string, boolean> {
  return Object.fromEntries(paths.map((p) => [p, existsSync(p)]));
}

/**
 * Allocates and touches memory in 16 MiB chunks until `maxMiB` (or until the kernel kills the
 * process, which is what a memory limit should do first). Returns the MiB it held.
 */
export function hogMemory(maxMiB: number): number {
  const held: Buffer[] = [];
  for (let mib = 0; mib < maxMiB; mib += 16) {
    const b = Buffer.allocUnsafe(16 * 1024 * 1024);
    b.fill(1); // touch every page: untouched pages cost nothing
    held.push(b);
  }
  return held.length * 16;
}

/**
 * Starts sleeping child processes (`command`, e.g. busybox sleep) until one fails to start or `max`
 * run, then stops them all. Returns how many started and the first error code.
 */
export async function forkUntilRefused(
  command: readonly string[],
  max: number,
): Promise<{ started: number; error: string | null }> {
  const children: ChildProcess[] = [];
  let error: string | null = null;
  try {
    while (children.length < max) {
      const child = spawn(command[0]!, command.slice(1), { stdio: 'ignore' });
      const outcome = await new Promise<string | null>((resolve) => {
        child.once('spawn', () => resolve(null));
        child.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      });
      if (outcome) {
        error = outcome;
        break;
      }
      children.push(child);
    }
  } finally {
    for (const c of children) c.kill('SIGKILL');
  }
  return { started: children.length, error };
}

/** A JSON object of exactly `bytes` bytes of UTF-8: {"pad":"xxx..."}. */
export function paddedOutputs(bytes: number): { pad: string } {
  const overhead = JSON.stringify({ pad: '' }).length;
  return { pad: 'x'.repeat(Math.max(0, bytes - overhead)) };
}

/**
 * Accepts TCP connections on `port` for `seconds`, answering each with "probe\n", and returns how
 * many arrived: a target for other pods' connection checks.
 */
export function serve(port: number, seconds: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let accepted = 0;
    const open = new Set<Socket>();
    const server = createServer((socket) => {
      accepted++;
      open.add(socket);
      socket.once('close', () => open.delete(socket));
      // A prober that only checks the connection resets it: that is not an error here.
      socket.on('error', () => undefined);
      socket.end('probe\n');
    });
    server.once('error', reject);
    server.listen(port, () =>
      setTimeout(() => {
        // Done at the time, whatever a peer that never closes its side does (close() would wait for it).
        server.close();
        for (const socket of open) socket.destroy();
        resolve(accepted);
      }, seconds * 1000),
    );
  });
}
