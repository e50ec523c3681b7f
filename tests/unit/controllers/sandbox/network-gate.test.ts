// The network gate's decisions (operator/src/controllers/sandbox/network-gate.ts), on a fake probe and clock.
import { describe, expect, it } from 'vitest';
import {
  gateConfig,
  notIsolatedMessage,
  waitForIsolation,
  type GateConfig,
} from '../../../../operator/src/controllers/sandbox/network-gate.ts';

const CONFIG: GateConfig = {
  host: '10.88.0.1',
  port: 10250,
  timeoutMs: 1000,
  connectTimeoutMs: 250,
  intervalMs: 50,
};

/** A probe answering from a script, on a clock that each probe and sleep advance. */
function scripted(answers: string[]): {
  probe: () => Promise<string>;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  calls: () => number;
} {
  let t = 0;
  let calls = 0;
  return {
    probe: () => {
      t += 5;
      return Promise.resolve(answers[Math.min(calls++, answers.length - 1)] ?? 'connected');
    },
    now: () => t,
    sleep: (ms) => {
      t += ms;
      return Promise.resolve();
    },
    calls: () => calls,
  };
}

describe('gateConfig', () => {
  it('reads host:port and the timeout', () => {
    expect(
      gateConfig({ PADDOCK_GATE_TARGET: '10.88.0.1:10250', PADDOCK_GATE_TIMEOUT_SECONDS: '12' }),
    ).toEqual({ ...CONFIG, timeoutMs: 12_000 });
    expect(gateConfig({ PADDOCK_GATE_TARGET: '[fd00::1]:10250' })).toMatchObject({
      host: '[fd00::1]',
      port: 10250,
      timeoutMs: 30_000,
    });
  });

  it.each([
    [{}, 'PADDOCK_GATE_TARGET must be host:port'],
    [{ PADDOCK_GATE_TARGET: '$(HOST_IP):10250x' }, 'PADDOCK_GATE_TARGET must be host:port'],
    [{ PADDOCK_GATE_TARGET: ':10250' }, 'PADDOCK_GATE_TARGET must be host:port'],
    [{ PADDOCK_GATE_TARGET: 'h:70000' }, 'PADDOCK_GATE_TARGET must be host:port'],
    [
      { PADDOCK_GATE_TARGET: 'h:1', PADDOCK_GATE_TIMEOUT_SECONDS: '0' },
      'PADDOCK_GATE_TIMEOUT_SECONDS must be 1-600',
    ],
  ])('refuses %j', (env, message) => {
    expect(gateConfig(env)).toContain(message);
  });
});

describe('waitForIsolation', () => {
  it('passes at the first refusal, after probing while the target still answered', async () => {
    const s = scripted(['connected', 'connected', 'ECONNREFUSED']);
    const r = await waitForIsolation(CONFIG, s.probe, s.now, s.sleep);
    expect(r).toMatchObject({ sealed: true, attempts: 3, last: 'ECONNREFUSED' });
    expect(s.calls()).toBe(3);
  });

  it('counts a dropped connection (timeout) as isolated: engines that DROP instead of REJECT', async () => {
    const s = scripted(['timeout']);
    expect(await waitForIsolation(CONFIG, s.probe, s.now, s.sleep)).toMatchObject({
      sealed: true,
      attempts: 1,
    });
  });

  it('gives up after the timeout while the target stays reachable', async () => {
    const s = scripted(['connected']);
    const r = await waitForIsolation(CONFIG, s.probe, s.now, s.sleep);
    expect(r.sealed).toBe(false);
    expect(r.elapsedMs).toBeGreaterThanOrEqual(1000);
    expect(r.elapsedMs).toBeLessThan(1100);
  });

  it('says what was reachable and where to look', () => {
    expect(notIsolatedMessage(CONFIG)).toBe(
      "the pod's network was not isolated within 1s: 10.88.0.1:10250 (the node's kubelet) was still reachable, " +
        'so its NetworkPolicies are not enforced; is a NetworkPolicy engine running on this node? ' +
        '(docs/security.md, "The network gate")',
    );
  });
});
