// The sandbox's network gate: the init container of every agent pod (docs/security.md, "The network gate").
//
// A NetworkPolicy engine programs a new pod's rules after the pod has an address, and some (kube-router among
// them) do it asynchronously: for the first few hundred milliseconds the pod's traffic is not filtered at all.
// An agent started in that window could open a connection to the kubelet or the API server, and a connection
// opened then stays open (the engines accept established connections). So before the agent's container starts,
// this gate proves that the pod's egress is filtered: it connects to a target the sandbox always denies (the
// node's kubelet port) until the connection is refused or dropped, and only then exits 0. If the target is
// still reachable after the timeout, the pod's policies are not enforced: it exits 1 with the reason as its
// termination message, and the agent never runs.
//
// Run as `main.js network-gate` from the operator image, with only node: built-in modules (it must start fast).
import { connect } from 'node:net';
import { writeFileSync } from 'node:fs';

export const ENV_GATE_TARGET = 'PADDOCK_GATE_TARGET';
export const ENV_GATE_TIMEOUT_SECONDS = 'PADDOCK_GATE_TIMEOUT_SECONDS';
export const GATE_TERMINATION_FILE = '/dev/termination-log';

export interface GateConfig {
  readonly host: string;
  readonly port: number;
  readonly timeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly intervalMs: number;
}

/** The gate's settings from its environment, or what is wrong with them (pure). */
export function gateConfig(env: NodeJS.ProcessEnv): GateConfig | string {
  const target = env[ENV_GATE_TARGET] ?? '';
  const i = target.lastIndexOf(':');
  const host = target.slice(0, i);
  const port = Number(target.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port < 1 || port > 65535)
    return `${ENV_GATE_TARGET} must be host:port, got ${JSON.stringify(target)}`;
  const seconds = Number(env[ENV_GATE_TIMEOUT_SECONDS] ?? '30');
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 600)
    return `${ENV_GATE_TIMEOUT_SECONDS} must be 1-600, got ${JSON.stringify(env[ENV_GATE_TIMEOUT_SECONDS])}`;
  return { host, port, timeoutMs: seconds * 1000, connectTimeoutMs: 250, intervalMs: 50 };
}

/** 'connected', 'timeout' or the error code of one TCP connection attempt. */
export function tryConnect(host: string, port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (result: string): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    socket.once('connect', () => done('connected'));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? 'error'));
  });
}

export type Probe = (host: string, port: number, timeoutMs: number) => Promise<string>;

export interface GateResult {
  readonly sealed: boolean;
  readonly attempts: number;
  readonly elapsedMs: number;
  readonly last: string;
}

/** Probes until the target is not reachable (sealed) or the timeout passes. */
export async function waitForIsolation(
  config: GateConfig,
  probe: Probe = tryConnect,
  now: () => number = Date.now,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<GateResult> {
  const started = now();
  let attempts = 0;
  for (;;) {
    attempts++;
    const last = await probe(config.host, config.port, config.connectTimeoutMs);
    const elapsedMs = now() - started;
    if (last !== 'connected') return { sealed: true, attempts, elapsedMs, last };
    if (elapsedMs >= config.timeoutMs) return { sealed: false, attempts, elapsedMs, last };
    await sleep(config.intervalMs);
  }
}

export function notIsolatedMessage(config: GateConfig): string {
  return (
    `the pod's network was not isolated within ${config.timeoutMs / 1000}s: ${config.host}:${config.port} ` +
    `(the node's kubelet) was still reachable, so its NetworkPolicies are not enforced; ` +
    `is a NetworkPolicy engine running on this node? (docs/security.md, "The network gate")`
  );
}

/** The init container's whole run: returns its exit code. */
export async function runNetworkGate(env: NodeJS.ProcessEnv): Promise<number> {
  const config = gateConfig(env);
  const say = (line: string): void => void process.stderr.write(`${JSON.stringify(line)}\n`);
  if (typeof config === 'string') {
    writeFileSync(GATE_TERMINATION_FILE, config);
    say(config);
    return 2;
  }
  const result = await waitForIsolation(config);
  if (!result.sealed) {
    const message = notIsolatedMessage(config);
    writeFileSync(GATE_TERMINATION_FILE, message);
    say(message);
    return 1;
  }
  say(
    `network isolated: ${config.host}:${config.port} ${result.last} after ${result.elapsedMs} ms (${result.attempts} attempts)`,
  );
  return 0;
}
