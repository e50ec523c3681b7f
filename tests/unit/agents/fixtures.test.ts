import { describe, expect, it } from 'vitest';
import { parseReceiveCommands } from '../../../agents/fixtures/git-http.ts';
import {
  FLUSH,
  packetText,
  pkt,
  readPackets,
  sideband,
  SIDEBAND_MAX,
} from '../../../agents/fixtures/pkt-line.ts';
import { MAX_POSTS, PostLog } from '../../../agents/fixtures/webhook-receiver.ts';
import { FIXTURE_COMMITS, filesAt } from '../../../agents/fixtures/repository-content.ts';

describe('pkt-line', () => {
  it('frames payloads with a 4-hex-digit length that counts itself', () => {
    expect(pkt('a\n').toString()).toBe('0006a\n');
    expect(FLUSH.toString()).toBe('0000');
    expect(() => pkt(Buffer.alloc(65517))).toThrow(/too long/);
  });

  it('reads packets up to the first flush and says where the rest starts', () => {
    const input = Buffer.concat([pkt('one\n'), pkt('two\n'), FLUSH, Buffer.from('PACK...')]);
    const { packets, rest } = readPackets(input);
    expect(packets.map(packetText)).toEqual(['one', 'two', undefined]);
    expect(input.subarray(rest).toString()).toBe('PACK...');
    expect(() => readPackets(Buffer.from('zzzz'))).toThrow(/malformed pkt-line length/);
    expect(() => readPackets(Buffer.from('00ffab'))).toThrow(/invalid/);
  });

  it('splits side-band data into packets of at most 65515 bytes, band byte first', () => {
    const packets = sideband(1, Buffer.alloc(SIDEBAND_MAX + 10, 7));
    expect(packets).toHaveLength(2);
    expect(packets[0]?.length).toBe(65520);
    expect(packets[1]?.subarray(4, 5)[0]).toBe(1);
  });

  it('parses receive-pack commands and refuses malformed ones', () => {
    const a = 'a'.repeat(40);
    const b = 'b'.repeat(40);
    const body = Buffer.concat([
      pkt(`${a} ${b} refs/heads/main\0report-status\n`),
      FLUSH,
      Buffer.from('PACK'),
    ]);
    expect(parseReceiveCommands(body)).toEqual({
      updates: [{ oldOid: a, newOid: b, ref: 'refs/heads/main' }],
      packStart: body.length - 4,
    });
    expect(() => parseReceiveCommands(Buffer.concat([pkt('nonsense\n'), FLUSH]))).toThrow(
      /malformed receive-pack command/,
    );
  });
});

describe('PostLog', () => {
  it('parses JSON bodies, keeps text otherwise, and keeps the newest MAX_POSTS', () => {
    const log = new PostLog();
    log.record('a', 'application/json', 'k', '{"x":1}');
    log.record('b', undefined, undefined, 'text');
    expect(log.list('a').map((p) => p.body)).toEqual([{ x: 1 }]);
    expect(log.list('b').map((p) => p.body)).toEqual(['text']);
    for (let i = 0; i < MAX_POSTS; i++) log.record('c', undefined, undefined, String(i));
    expect(log.list()).toHaveLength(MAX_POSTS);
    expect(log.list('a')).toEqual([]);
  });
});

describe('the fixture repository', () => {
  it('has a branch whose files are its parent plus its own', () => {
    expect(FIXTURE_COMMITS.map((c) => c.branch)).toEqual(['main', 'feature/report']);
    expect(Object.keys(filesAt('feature/report')).length).toBe(Object.keys(filesAt('main')).length + 1);
    expect(() => filesAt('nope')).toThrow(/no branch nope/);
  });

  it('commits no secret-shaped literal in this repository: the fake keys are assembled at run time', async () => {
    const { readFile } = await import('node:fs/promises');
    const source = await readFile(
      new URL('../../../agents/fixtures/repository-content.ts', import.meta.url),
      'utf8',
    );
    expect(source).not.toMatch(/AKIA[0-9A-Z]{16}/);
    expect(source).not.toMatch(/-----BEGIN [A-Z ]*PRIVATE KEY-----/);
    expect(filesAt('main')['config/deploy.env']).toMatch(/AKIA[0-9A-Z]{16}/);
  });
});
