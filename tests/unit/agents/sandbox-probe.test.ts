// The sandbox probe's observations (agents/sandbox-probe/probe.ts), checked where they can be
// outside a sandbox; what they observe inside one is for the real-node tests.
import { connect, createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  forkUntilRefused,
  hogMemory,
  paddedOutputs,
  parseStatus,
  serve,
  tryConnect,
  tryResolve,
  tryWrite,
  visible,
} from '../../../agents/sandbox-probe/probe.ts';

const STATUS = `Name:\tnode
Umask:\t0022
State:\tS (sleeping)
Uid:\t65532\t65532\t65532\t65532
Gid:\t65532\t65532\t65532\t65532
Groups:\t65532
NoNewPrivs:\t1
Seccomp:\t2
CapPrm:\t0000000000000000
CapEff:\t0000000000000000
CapBnd:\t0000000000000000
`;

/** A port nothing listens on right now. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as { port: number }).port;
  await new Promise((r) => probe.close(r));
  return port;
}

describe('sandbox probe', () => {
  it('reads identity and capabilities from /proc/self/status text', () => {
    expect(parseStatus(STATUS)).toEqual({
      uid: '65532 65532 65532 65532',
      gid: '65532 65532 65532 65532',
      groups: '65532',
      capEff: '0000000000000000',
      capPrm: '0000000000000000',
      capBnd: '0000000000000000',
      noNewPrivs: '1',
      seccomp: '2',
    });
    expect(parseStatus('Name:\tx\n').uid).toBe('');
  });

  it('reports writes by outcome: ok, or the error code', () => {
    const dir = mkdtempSync(join(tmpdir(), 'probe-'));
    try {
      expect(tryWrite(join(dir, 'f'))).toBe('ok');
      expect(tryWrite(join(dir, 'missing', 'f'))).toBe('ENOENT');
      expect(visible([dir, join(dir, 'f'), join(dir, 'missing')])).toEqual({
        [dir]: true,
        [join(dir, 'f')]: false,
        [join(dir, 'missing')]: false,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports connections: connected, refused, and a timeout', async () => {
    const server = createServer((s) => {
      s.on('error', () => undefined); // the prober resets the connection
      s.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      expect(await tryConnect('127.0.0.1', port, 2000)).toBe('connected');
    } finally {
      await new Promise((r) => server.close(r));
    }
    expect(await tryConnect('127.0.0.1', port, 2000)).toBe('ECONNREFUSED');
    // TEST-NET-1 (RFC 5737): never routed; nothing answers (timeout), or the network says no.
    expect(await tryConnect('192.0.2.1', 9, 300)).not.toBe('connected');
  });

  it('serves connections for a while and counts them', async () => {
    const port = await freePort();
    const served = serve(port, 1);
    await new Promise((r) => setTimeout(r, 200));
    expect(await tryConnect('127.0.0.1', port, 2000)).toBe('connected');
    expect(await served).toBe(1);
  });

  it('ends on time even when a peer never closes its side of a connection', async () => {
    const port = await freePort();
    const served = serve(port, 1);
    await new Promise((r) => setTimeout(r, 200));
    // Half-open: the peer keeps its end open and ignores the server's end (as an HTTP proxy may).
    const peer = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    peer.on('error', () => undefined);
    const started = Date.now();
    expect(await served).toBe(1);
    expect(Date.now() - started).toBeLessThan(2000);
    peer.destroy();
  });

  it('resolves names, or says why not', async () => {
    expect(await tryResolve('localhost', 2000)).toContain('127.0.0.1');
    expect(typeof (await tryResolve('no-such-name.invalid', 2000))).toBe('string');
  });

  it('holds the memory it was asked for, and starts processes up to a maximum', async () => {
    expect(hogMemory(32)).toBe(32);
    expect(await forkUntilRefused(['sleep', '30'], 3)).toEqual({ started: 3, error: null });
    expect(await forkUntilRefused(['/no/such/binary'], 3)).toEqual({ started: 0, error: 'ENOENT' });
  });

  it('pads outputs to an exact size in bytes', () => {
    for (const n of [16, 4095, 4096, 4097])
      expect(Buffer.byteLength(JSON.stringify(paddedOutputs(n)), 'utf8')).toBe(n);
  });
});
