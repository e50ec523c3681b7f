// Runs the operator as a real child process (node operator/src/main.ts), the
// way it runs in production, under its own least-privilege ServiceAccount.
// Tests read its JSON log lines, its /metrics, and can SIGTERM or SIGKILL it.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../../../cluster/src/paths.ts';
import type { TestCluster } from './cluster.ts';
import { eventually } from './wait.ts';

export const OPERATOR_NAMESPACE = 'paddock-system';
export const OPERATOR_SA = 'paddock-operator';

/** Installs config/rbac and returns a kubeconfig that authenticates as the operator's ServiceAccount. */
export function operatorKubeconfig(env: TestCluster, server?: string): string {
  env.kubectl(
    ['apply', '-f', '-'],
    `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${OPERATOR_NAMESPACE}\n`,
  );
  env.kubectl(['apply', '-k', join(REPO_ROOT, 'config', 'rbac')]);
  const token = env
    .kubectl(['create', 'token', OPERATOR_SA, '-n', OPERATOR_NAMESPACE, '--duration=6h'])
    .trim();
  return env.cluster.kubeconfigWithToken(
    `kubeconfig-operator-${server ? 'proxied' : 'direct'}`,
    `system:serviceaccount:${OPERATOR_NAMESPACE}:${OPERATOR_SA}`,
    token,
    server,
  );
}

export interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

export class OperatorProcess {
  readonly lines: LogLine[] = [];
  readonly raw: string[] = [];
  private child: ChildProcess | undefined;
  private exitPromise: Promise<number | null> = Promise.resolve(null);
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** The script node runs: the TypeScript sources, or the compiled dist/ (the benchmark). */
  readonly entry: string;

  constructor(
    args: readonly string[],
    env: NodeJS.ProcessEnv = {},
    entry: string = join(REPO_ROOT, 'operator', 'src', 'main.ts'),
  ) {
    this.args = args;
    this.env = env;
    this.entry = entry;
  }

  static start(
    kubeconfig: string,
    extraArgs: readonly string[] = [],
    env: NodeJS.ProcessEnv = {},
  ): OperatorProcess {
    const p = new OperatorProcess(
      [
        `--kubeconfig=${kubeconfig}`,
        '--health-addr=127.0.0.1:0',
        '--metrics-addr=0',
        '--log-level=debug',
        `--lease-namespace=${OPERATOR_NAMESPACE}`,
        ...extraArgs,
      ],
      env,
    );
    p.start();
    return p;
  }

  start(): void {
    const child = spawn(process.execPath, [this.entry, ...this.args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let buf = '';
    const onData = (chunk: Buffer): void => {
      buf += chunk.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        this.raw.push(line);
        try {
          this.lines.push(JSON.parse(line) as LogLine);
        } catch {
          // not JSON (e.g. a Node warning): kept in raw only
        }
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    this.exitPromise = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get exited(): boolean {
    return this.child?.exitCode !== null || this.child?.signalCode !== null;
  }

  waitExit(): Promise<number | null> {
    return this.exitPromise;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (!this.child || this.exited) return this.child?.exitCode ?? null;
    this.child.kill(signal);
    const t = setTimeout(() => this.child?.kill('SIGKILL'), 20_000);
    const code = await this.exitPromise;
    clearTimeout(t);
    return code;
  }

  kill(): Promise<number | null> {
    return this.stop('SIGKILL');
  }

  async waitForLog(what: string, pred: (l: LogLine) => boolean, timeoutMs = 30_000): Promise<LogLine> {
    const found = await eventually(
      `operator log: ${what}`,
      () => this.lines.find(pred),
      (l) => l !== undefined,
      { timeoutMs },
    );
    return found!;
  }

  /** The probe/metrics port the operator bound (it was given port 0). */
  async healthPort(): Promise<number> {
    const l = await this.waitForLog('probe server listening', (x) => x.msg === 'probe server listening');
    return (l['address'] as { port: number }).port;
  }

  async metricsText(): Promise<string> {
    const port = await this.healthPort();
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    return res.text();
  }

  async ready(): Promise<boolean> {
    const port = await this.healthPort();
    const res = await fetch(`http://127.0.0.1:${port}/readyz`);
    return res.status === 200;
  }

  dumpLogs(n = 80): string {
    return this.raw.slice(-n).join('\n');
  }
}

/** Sum of a Prometheus counter over all label sets matching the filter. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const lbl = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => lbl.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}
