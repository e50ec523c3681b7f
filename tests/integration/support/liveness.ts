// Watches a running operator from outside, the way a kubelet would: /healthz is polled
// one request at a time and each answer timed (a blocked event loop shows up as a slow
// answer), and the process's resident memory is read from /proc/<pid>/status.
import { readFileSync } from 'node:fs';
import { sleep } from './wait.ts';

export interface LivenessReport {
  /** How long the monitor ran, ms. */
  readonly durationMs: number;
  /** Probes sent. */
  readonly probes: number;
  /** Slowest /healthz answer, ms (a probe that failed counts with the time it took). */
  readonly worstHealthzMs: number;
  /** Probes that got no 200 (timeout, refused, 500). */
  readonly failedProbes: number;
  /** Highest VmRSS sampled, bytes. */
  readonly peakRssBytes: number;
  /** The kernel's own high-water mark of the process's RSS (VmHWM) at the end, bytes. */
  readonly hwmBytes: number;
}

/** Reads one field (in kB) of /proc/<pid>/status, in bytes; NaN when the process is gone. */
export function procStatusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

export class LivenessMonitor {
  private running = false;
  private loop: Promise<void> | undefined;
  private probes = 0;
  private worst = 0;
  private failed = 0;
  private peakRss = 0;
  private startedAt = 0;
  private stoppedAt: number | undefined;

  private readonly port: number;
  private readonly pid: number;
  private readonly opts: { intervalMs?: number; probeTimeoutMs?: number };

  constructor(port: number, pid: number, opts: { intervalMs?: number; probeTimeoutMs?: number } = {}) {
    this.port = port;
    this.pid = pid;
    this.opts = opts;
  }

  start(): void {
    this.startedAt = performance.now();
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<LivenessReport> {
    this.running = false;
    await this.loop;
    this.stoppedAt = performance.now();
    return this.report();
  }

  report(): LivenessReport {
    return {
      durationMs: Math.round((this.stoppedAt ?? performance.now()) - this.startedAt),
      probes: this.probes,
      worstHealthzMs: Math.round(this.worst * 10) / 10,
      failedProbes: this.failed,
      peakRssBytes: this.peakRss,
      hwmBytes: procStatusBytes(this.pid, 'VmHWM'),
    };
  }

  private async run(): Promise<void> {
    const interval = this.opts.intervalMs ?? 100;
    const timeout = this.opts.probeTimeoutMs ?? 5000;
    while (this.running) {
      const t0 = performance.now();
      let ok: boolean;
      try {
        const res = await fetch(`http://127.0.0.1:${this.port}/healthz`, {
          signal: AbortSignal.timeout(timeout),
        });
        await res.text();
        ok = res.status === 200;
      } catch {
        ok = false;
      }
      this.worst = Math.max(this.worst, performance.now() - t0);
      this.probes++;
      if (!ok) this.failed++;
      const rss = procStatusBytes(this.pid, 'VmRSS');
      if (Number.isFinite(rss)) this.peakRss = Math.max(this.peakRss, rss);
      await sleep(interval);
    }
  }
}
