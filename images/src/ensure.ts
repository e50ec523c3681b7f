// The built images, for whoever needs them on the real node (the e2e tests, `make demo`, `make bench`):
// `make images` runs again only when dist/images/images.json is missing or older than anything an image is
// built from, and `loadImages` imports the archives into the running real node's containerd.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { OUT_DIR, REPO_ROOT, type ImageRecord } from './build.ts';

const RECORDS = join(OUT_DIR, 'images.json');

/** What the images are built from: a change to any of these makes the archives stale. */
export const IMAGE_SOURCES = [
  'agents',
  'sdk/typescript/src',
  'images/src',
  'images/debian-packages.json',
  'operator/src',
  'crds',
  'package-lock.json',
  'tsconfig.build.json',
] as const;

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const e of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, e)));
  return newest;
}

export function readImageRecords(): ImageRecord[] {
  return (JSON.parse(readFileSync(RECORDS, 'utf8')) as { images: ImageRecord[] }).images;
}

/** Whether `make images` must run: no records, an archive missing, or a source newer than the records. */
export function imagesStale(): string | undefined {
  if (!existsSync(RECORDS)) return 'dist/images/images.json is missing';
  const built = statSync(RECORDS).mtimeMs;
  for (const s of IMAGE_SOURCES) if (newestMtime(join(REPO_ROOT, s)) > built) return `${s} changed`;
  for (const r of readImageRecords())
    if (!existsSync(join(REPO_ROOT, r.archive))) return `${r.archive} is missing`;
  return undefined;
}

/** Builds the images (`make images`) when stale; returns their records. */
export function ensureImages(log: (msg: string) => void = () => {}): ImageRecord[] {
  const why = imagesStale();
  if (why !== undefined) {
    log(`building the images (make images): ${why}`);
    execFileSync('make', ['--no-print-directory', 'images'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 64 * 1024 * 1024,
    });
  }
  return readImageRecords();
}

/**
 * Imports each image into the real node's containerd. `importImage` is the real node's own
 * (cluster/src/real-node.ts), passed in so this module does not depend on the cluster code.
 */
export function loadImages(
  records: readonly ImageRecord[],
  importImage: (archive: string) => void,
  log: (msg: string) => void = () => {},
): void {
  for (const r of records) {
    importImage(join(REPO_ROOT, r.archive));
    log(`imported ${r.reference}`);
  }
}
