// Reads a checked-out working tree into memory for the pure scanners: text files only, bounded in size and
// number, `.git` and vendored dependency folders skipped.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

export interface SourceFile {
  /** Path relative to the repository root, with `/` separators. */
  readonly path: string;
  readonly text: string;
}

export const SKIPPED_DIRS: ReadonlySet<string> = new Set(['.git', 'node_modules', 'vendor', '.venv', 'dist']);
export const MAX_FILE_BYTES = 512 * 1024;
export const MAX_FILES = 5000;

/** True when the bytes look like text: no NUL byte in the first 8000 (git's own heuristic). */
export function looksLikeText(bytes: Uint8Array): boolean {
  return !bytes.subarray(0, 8000).includes(0);
}

export async function readTree(root: string): Promise<SourceFile[]> {
  const files: SourceFile[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      if (files.length >= MAX_FILES) return;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) await walk(full);
      } else if (entry.isFile()) {
        if ((await stat(full)).size > MAX_FILE_BYTES) continue;
        const bytes = await readFile(full);
        if (!looksLikeText(bytes)) continue;
        files.push({ path: relative(root, full).split(sep).join('/'), text: bytes.toString('utf8') });
      }
    }
  };
  await walk(root);
  return files;
}
