// Layers (images/src/layer.ts): normalized, sorted, parents added, deterministic gzip.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  buildLayer,
  layerTarEntries,
  normalizeImagePath,
  sha256Digest,
  sourceDateEpoch,
  type LayerEntry,
} from '../../../images/src/layer.ts';

const work = mkdtempSync(join(tmpdir(), 'paddock-layer-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const files: LayerEntry[] = [
  { type: 'file', path: '/usr/local/bin/node', data: Buffer.from('ELF'), mode: 0o755 },
  { type: 'file', path: 'etc/passwd', data: Buffer.from('root:x:0:0::/:/sbin/nologin\n') },
  {
    type: 'symlink',
    path: '/lib64/ld-linux-x86-64.so.2',
    target: '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2',
  },
  { type: 'directory', path: '/tmp/', mode: 0o1777 },
  { type: 'file', path: './app/a.js', data: Buffer.from('a') },
  { type: 'file', path: 'app/a-b.js', data: Buffer.from('ab') },
];

describe('layer entries', () => {
  it('normalizes paths and refuses ".." and the empty path', () => {
    expect(normalizeImagePath('/a//b/./c/')).toBe('a/b/c');
    expect(() => normalizeImagePath('/a/../../etc/passwd')).toThrow(/"\.\." is not allowed/);
    expect(() => normalizeImagePath('/')).toThrow(/empty/);
  });

  it('adds every parent directory and sorts parents before children', () => {
    const paths = layerTarEntries(files).map((e) => `${e.type[0]}:${e.path}`);
    expect(paths).toEqual([
      'd:app',
      'f:app/a-b.js',
      'f:app/a.js',
      'd:etc',
      'f:etc/passwd',
      'd:lib64',
      's:lib64/ld-linux-x86-64.so.2',
      'd:tmp',
      'd:usr',
      'd:usr/local',
      'd:usr/local/bin',
      'f:usr/local/bin/node',
    ]);
  });

  it('keeps an explicit directory mode and defaults files to 0644', () => {
    const byPath = new Map(layerTarEntries(files).map((e) => [e.path, e]));
    expect(byPath.get('tmp')).toMatchObject({ mode: 0o1777 });
    expect(byPath.get('usr')).toMatchObject({ mode: 0o755 });
    expect(byPath.get('etc/passwd')).toMatchObject({ mode: 0o644 });
  });

  it('refuses two different entries at one path, and a file used as a directory', () => {
    expect(() =>
      layerTarEntries([
        { type: 'file', path: '/a', data: Buffer.from('1') },
        { type: 'symlink', path: 'a', target: 'b' },
      ]),
    ).toThrow(/\/a is given twice/);
    expect(() =>
      layerTarEntries([
        { type: 'file', path: '/a', data: Buffer.from('1') },
        { type: 'file', path: '/a/b', data: Buffer.from('2') },
      ]),
    ).toThrow(/\/a is a file but \/a\/b is inside it/);
  });
});

describe('buildLayer', () => {
  it('gives the same digests for the same files in any order', () => {
    const a = buildLayer(files, { mtime: 0, description: 'x' });
    const b = buildLayer([...files].reverse(), { mtime: 0, description: 'x' });
    expect(b.digest).toBe(a.digest);
    expect(b.diffId).toBe(a.diffId);
    expect(a.blob.equals(b.blob)).toBe(true);
  });

  it('changes digest when a byte, a mode or the mtime changes', () => {
    const base = buildLayer(files, { mtime: 0, description: 'x' });
    const otherByte = files.map((f) => (f.path === 'app/a-b.js' ? { ...f, data: Buffer.from('aB') } : f));
    expect(buildLayer(otherByte as LayerEntry[], { mtime: 0, description: 'x' }).digest).not.toBe(
      base.digest,
    );
    const otherMode = files.map((f) => (f.path === 'etc/passwd' ? { ...f, mode: 0o600 } : f));
    expect(buildLayer(otherMode as LayerEntry[], { mtime: 0, description: 'x' }).digest).not.toBe(
      base.digest,
    );
    expect(buildLayer(files, { mtime: 1, description: 'x' }).digest).not.toBe(base.digest);
  });

  it('digests are sha256 of the blob and of the uncompressed tar', () => {
    const layer = buildLayer(files, { mtime: 0, description: 'x' });
    const tar = gunzipSync(layer.blob);
    expect(layer.diffId).toBe(sha256Digest(tar));
    expect(layer.digest).toBe(sha256Digest(layer.blob));
    expect(layer.uncompressedSize).toBe(tar.length);
    expect(layer.size).toBe(layer.blob.length);
  });

  it('writes a gzip header with no timestamp and no file name', () => {
    const { blob } = buildLayer(files, { mtime: 1_700_000_000, description: 'x' });
    expect([blob[0], blob[1], blob[2]]).toEqual([0x1f, 0x8b, 8]);
    expect(blob[3]).toBe(0); // FLG: no FNAME, FCOMMENT, FEXTRA
    expect(blob.readUInt32LE(4)).toBe(0); // MTIME
  });

  it('is a tar that GNU tar lists as uid/gid 0 with the fixed mtime', () => {
    const { blob } = buildLayer(files, { mtime: 86_400, description: 'x' });
    const file = join(work, 'layer.tar.gz');
    writeFileSync(file, blob);
    const listing = execFileSync('tar', ['--numeric-owner', '--full-time', '-tzvf', file], {
      encoding: 'utf8',
      env: { ...process.env, TZ: 'UTC' },
    });
    const lines = listing.trim().split('\n');
    expect(lines).toHaveLength(12);
    for (const line of lines) expect(line).toMatch(/ 0\/0 +\d+ 1970-01-02 00:00:00 /);
    expect(listing).toMatch(/^drwxrwxrwt 0\/0 .* tmp\/$/m);
    expect(listing).toMatch(/^-rwxr-xr-x 0\/0 +3 .* usr\/local\/bin\/node$/m);
  });
});

describe('sourceDateEpoch', () => {
  it('reads SOURCE_DATE_EPOCH, defaults to 0 and names the variable when invalid', () => {
    expect(sourceDateEpoch({})).toBe(0);
    expect(sourceDateEpoch({ SOURCE_DATE_EPOCH: '1700000000' })).toBe(1_700_000_000);
    expect(() => sourceDateEpoch({ SOURCE_DATE_EPOCH: 'yesterday' })).toThrow(/SOURCE_DATE_EPOCH/);
  });
});
