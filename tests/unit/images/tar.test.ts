// The deterministic tar writer (images/src/tar.ts), read back by the system's GNU tar.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { paxRecord, tarBytes, type TarEntry } from '../../../images/src/tar.ts';

const work = mkdtempSync(join(tmpdir(), 'paddock-tar-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function gnuTar(bytes: Buffer, args: string[]): string {
  const file = join(work, `t-${Math.random().toString(16).slice(2)}.tar`);
  writeFileSync(file, bytes);
  return execFileSync('tar', [...args, '-f', file], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
}

const longDir = `${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(60)}`;
const entries: TarEntry[] = [
  { type: 'directory', path: 'app', mode: 0o755 },
  { type: 'file', path: 'app/main.js', mode: 0o644, data: Buffer.from('console.log(1)\n') },
  { type: 'file', path: 'app/run', mode: 0o755, data: Buffer.from('x'.repeat(1000)) },
  { type: 'file', path: 'app/empty', mode: 0o600, data: new Uint8Array(0) },
  { type: 'symlink', path: 'app/link', target: 'main.js' },
  // 182 bytes: fits ustar's prefix + name split.
  { type: 'file', path: `${longDir}/split.txt`, mode: 0o644, data: Buffer.from('split') },
  // One component longer than 100 bytes: needs a pax path record.
  { type: 'file', path: `app/${'n'.repeat(150)}.txt`, mode: 0o644, data: Buffer.from('pax') },
  { type: 'symlink', path: 'app/far', target: `/${'t'.repeat(120)}` },
];

describe('tar writer', () => {
  it('writes entries GNU tar lists with the right types, modes, owners, sizes and mtime', () => {
    const listing = gnuTar(tarBytes(entries, { mtime: 1_700_000_000 }), [
      '--numeric-owner',
      '--full-time',
      '-tv',
    ])
      .trim()
      .split('\n');
    expect(listing).toHaveLength(entries.length);
    expect(listing[0]).toMatch(/^drwxr-xr-x 0\/0 +0 2023-11-14 22:13:20 app\/$/);
    expect(listing[1]).toMatch(/^-rw-r--r-- 0\/0 +15 2023-11-14 22:13:20 app\/main\.js$/);
    expect(listing[2]).toMatch(/^-rwxr-xr-x 0\/0 +1000 .* app\/run$/);
    expect(listing[3]).toMatch(/^-rw------- 0\/0 +0 .* app\/empty$/);
    expect(listing[4]).toMatch(/^lrwxrwxrwx 0\/0 +0 .* app\/link -> main\.js$/);
    expect(listing[5]).toContain(`${longDir}/split.txt`);
    expect(listing[6]).toContain(`app/${'n'.repeat(150)}.txt`);
    expect(listing[7]).toContain(`app/far -> /${'t'.repeat(120)}`);
  });

  it('round-trips file contents through GNU tar', () => {
    const out = join(work, 'extract');
    execFileSync('mkdir', ['-p', out]);
    const file = join(work, 'x.tar');
    writeFileSync(file, tarBytes(entries, { mtime: 0 }));
    execFileSync('tar', ['-xf', file, '-C', out]);
    expect(readFileSync(join(out, 'app/run'), 'utf8')).toBe('x'.repeat(1000));
    expect(readFileSync(join(out, longDir, 'split.txt'), 'utf8')).toBe('split');
    expect(readFileSync(join(out, 'app', `${'n'.repeat(150)}.txt`), 'utf8')).toBe('pax');
  });

  it('gives the same bytes for the same entries, different bytes for another mtime', () => {
    const a = tarBytes(entries, { mtime: 5 });
    expect(tarBytes(entries, { mtime: 5 }).equals(a)).toBe(true);
    expect(tarBytes(entries, { mtime: 6 }).equals(a)).toBe(false);
  });

  it('pads to 512-byte blocks and ends with two zero blocks', () => {
    const bytes = tarBytes([{ type: 'file', path: 'a', mode: 0o644, data: Buffer.from('abc') }], {
      mtime: 0,
    });
    expect(bytes.length).toBe(512 * 4); // header, one data block, two end blocks
    expect(bytes.subarray(1024).every((b) => b === 0)).toBe(true);
    expect(bytes.subarray(257, 263).toString('latin1')).toBe('ustar\0');
  });

  it('writes no atime, ctime or user names (no pax noise)', () => {
    const bytes = tarBytes(entries, { mtime: 0 }).toString('latin1');
    expect(bytes).not.toMatch(/atime|ctime|uname=|gname=/);
    expect(bytes).not.toContain('root');
  });

  it('computes pax record lengths that include their own digits', () => {
    for (const value of ['a', 'x'.repeat(90), 'y'.repeat(95), 'z'.repeat(994)]) {
      const record = paxRecord('path', value);
      expect(Number(record.split(' ')[0])).toBe(Buffer.byteLength(record));
    }
  });
});
