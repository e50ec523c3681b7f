// An image layer from a list of files: normalized paths, missing parent directories added, entries
// sorted, written as a deterministic tar (tar.ts) and gzipped with a fixed header. The digest of
// the gzip is the layer's digest in the manifest; the digest of the tar is its diff_id in the config.
import { createHash } from 'node:crypto';
import { constants as zlibConstants, gzipSync } from 'node:zlib';
import { tarChunks, type TarEntry } from './tar.ts';

/** A file, directory or symlink of an image, at an absolute or relative path inside the image. */
export type LayerEntry =
  | { readonly type: 'file'; readonly path: string; readonly data: Uint8Array; readonly mode?: number }
  | { readonly type: 'directory'; readonly path: string; readonly mode?: number }
  | { readonly type: 'symlink'; readonly path: string; readonly target: string };

/** A built layer: its compressed bytes plus the digests and sizes an image needs. */
export interface Layer {
  /** The gzipped tar (the blob pushed and imported). */
  readonly blob: Buffer;
  /** sha256 of `blob`, "sha256:<hex>" (the manifest's layer digest). */
  readonly digest: string;
  /** sha256 of the uncompressed tar (the config's rootfs.diff_ids entry). */
  readonly diffId: string;
  readonly size: number;
  readonly uncompressedSize: number;
  /** What the layer holds, for the image config's history. */
  readonly description: string;
}

export interface LayerOptions {
  /** mtime of every entry (seconds since the epoch); see sourceDateEpoch(). */
  readonly mtime: number;
  readonly description: string;
}

export const DEFAULT_FILE_MODE = 0o644;
export const DEFAULT_DIRECTORY_MODE = 0o755;
/** zlib level, fixed so the compressed bytes never change with a library default. */
export const GZIP_LEVEL = 6;

/** "sha256:<hex>" of some bytes. */
export function sha256Digest(chunks: Uint8Array | readonly Uint8Array[]): string {
  const hash = createHash('sha256');
  for (const chunk of chunks instanceof Uint8Array ? [chunks] : chunks) hash.update(chunk);
  return `sha256:${hash.digest('hex')}`;
}

/**
 * The image path of an entry: no leading "/" or "./", no empty or "." components; ".." is refused
 * because a layer must never write outside its root.
 */
export function normalizeImagePath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') throw new Error(`image path ${JSON.stringify(path)}: ".." is not allowed`);
    parts.push(part);
  }
  if (parts.length === 0) throw new Error(`image path ${JSON.stringify(path)}: empty (the root is implicit)`);
  return parts.join('/');
}

/**
 * The tar entries of a layer: paths normalized, every parent directory present (0755 unless the
 * caller gave one), sorted by path so a parent always comes before its children. The same files
 * in any order give the same list. Two different entries at one path are an error.
 */
export function layerTarEntries(entries: readonly LayerEntry[]): TarEntry[] {
  const byPath = new Map<string, TarEntry>();
  const add = (entry: TarEntry): void => {
    const existing = byPath.get(entry.path);
    if (existing === undefined) {
      byPath.set(entry.path, entry);
      return;
    }
    if (existing.type === 'directory' && entry.type === 'directory') return; // first mode wins
    throw new Error(`image path /${entry.path} is given twice (${existing.type} and ${entry.type})`);
  };
  for (const entry of entries) {
    const path = normalizeImagePath(entry.path);
    if (entry.type === 'file') {
      add({ type: 'file', path, data: entry.data, mode: (entry.mode ?? DEFAULT_FILE_MODE) & 0o7777 });
    } else if (entry.type === 'directory') {
      add({ type: 'directory', path, mode: (entry.mode ?? DEFAULT_DIRECTORY_MODE) & 0o7777 });
    } else {
      if (entry.target === '') throw new Error(`image path /${path}: symlink with an empty target`);
      add({ type: 'symlink', path, target: entry.target });
    }
  }
  // Parents after the explicit entries, so an explicit directory mode wins over the default.
  for (const path of [...byPath.keys()]) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      const existing = byPath.get(parent);
      if (existing === undefined)
        byPath.set(parent, { type: 'directory', path: parent, mode: DEFAULT_DIRECTORY_MODE });
      else if (existing.type !== 'directory') {
        throw new Error(`image path /${parent} is a ${existing.type} but /${path} is inside it`);
      }
    }
  }
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** gzip with a fixed header: mtime 0, no file name, OS byte from zlib (fixed per build of Node). */
export function deterministicGzip(chunks: readonly Uint8Array[]): Buffer {
  // zlib's gzip wrapper writes no name and mtime 0 unless told otherwise; the level is pinned.
  return gzipSync(Buffer.concat(chunks), { level: GZIP_LEVEL, strategy: zlibConstants.Z_DEFAULT_STRATEGY });
}

/** Build one layer. Pure: the same entries and options always give the same digests. */
export function buildLayer(entries: readonly LayerEntry[], options: LayerOptions): Layer {
  const chunks = tarChunks(layerTarEntries(entries), { mtime: options.mtime });
  const uncompressedSize = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const diffId = sha256Digest(chunks);
  const blob = deterministicGzip(chunks);
  return {
    blob,
    digest: sha256Digest(blob),
    diffId,
    size: blob.length,
    uncompressedSize,
    description: options.description,
  };
}

/**
 * The build's timestamp: SOURCE_DATE_EPOCH (the reproducible-builds convention) when set to a
 * non-negative integer, else 0. Anything else is an error naming the variable.
 */
export function sourceDateEpoch(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env['SOURCE_DATE_EPOCH'];
  if (raw === undefined || raw === '') return 0;
  if (!/^\d+$/.test(raw))
    throw new Error(`SOURCE_DATE_EPOCH must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return Number(raw);
}
