// The built images, for whoever needs them on the real node (the e2e tests, `make demo`, `make bench`):
// `make images` runs again only when dist/images/images.json is missing or older than anything an image is
// built from, and `loadImages` imports the archives into the running real node's containerd.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
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
  // Its version is the images' tag.
  'package.json',
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

/** One build at a time per checkout: `make images` empties dist/ first (make build). */
const BUILD_LOCK = join(REPO_ROOT, '.cache', 'images-build.lock');

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function holderAlive(): boolean {
  try {
    process.kill(Number(readFileSync(BUILD_LOCK, 'utf8')), 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Builds the images (`make images`) when stale; returns their records. Another process of this checkout
 * building them is waited for (up to 20 minutes), then the staleness is checked again.
 */
export function ensureImages(log: (msg: string) => void = () => {}): ImageRecord[] {
  mkdirSync(dirname(BUILD_LOCK), { recursive: true });
  const deadline = Date.now() + 20 * 60_000;
  for (;;) {
    try {
      writeFileSync(BUILD_LOCK, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!holderAlive()) rmSync(BUILD_LOCK, { force: true });
      else if (Date.now() > deadline)
        throw new Error(`another process has been building the images for 20 minutes (${BUILD_LOCK})`, {
          cause: err,
        });
      else sleepSync(1000);
    }
  }
  try {
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
  } finally {
    rmSync(BUILD_LOCK, { force: true });
  }
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
