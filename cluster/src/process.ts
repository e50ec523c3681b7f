// Supervises one control plane process: start with its log in a file, stop
// with SIGTERM then SIGKILL. Pids go to a file so `cluster down` can clean up
// processes left by a crashed test runner.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ProcessSpec {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly dir: string;
  /** Keep running after the parent exits (the `cluster up` CLI). */
  readonly detached?: boolean;
  readonly env?: NodeJS.ProcessEnv;
}

export class ManagedProcess {
  readonly spec: ProcessSpec;
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> = Promise.resolve(null);

  constructor(spec: ProcessSpec) {
    this.spec = spec;
  }

  get logFile(): string {
    return join(this.spec.dir, `${this.spec.name}.log`);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    if (this.running) throw new Error(`${this.spec.name} is already running`);
    const fd = openSync(this.logFile, 'a');
    const child = spawn(this.spec.command, [...this.spec.args], {
      cwd: this.spec.dir,
      stdio: ['ignore', fd, fd],
      detached: this.spec.detached ?? false,
      env: this.spec.env ?? process.env,
    });
    closeSync(fd);
    if (this.spec.detached) child.unref();
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    writeFileSync(join(this.spec.dir, `${this.spec.name}.pid`), String(child.pid));
  }

  /** Resolves with the exit code when the process ends. */
  waitExit(): Promise<number | null> {
    return this.exited;
  }

  async stop(graceMs = 5000): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  kill(): Promise<number | null> {
    this.child?.kill('SIGKILL');
    return this.exited;
  }

  tail(lines = 40): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }
}

/** Kills processes recorded in pid files under a cluster directory. */
export function killFromPidFiles(dir: string, names: readonly string[]): void {
  for (const n of names) {
    try {
      const pid = Number(readFileSync(join(dir, `${n}.pid`), 'utf8'));
      if (pid > 0) process.kill(pid, 'SIGKILL');
    } catch {
      // not running or no pid file: nothing to do
    }
  }
}
