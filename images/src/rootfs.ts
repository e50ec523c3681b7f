// Files for layers from the host: a directory tree copied into the image, and the small files every
// image needs (/etc/passwd and /etc/group with the nonroot user 65532). Modes are normalized
// (0755 for anything executable or a directory, 0644 otherwise), so a host's umask or a checkout's
// permissions never change a digest.
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { LayerEntry } from './layer.ts';

export const NONROOT_UID = 65532;

export interface DirectoryOptions {
  /** Called with the path relative to the host directory ("a/b.js"); false leaves it (and below) out. */
  readonly include?: (relativePath: string, isDirectory: boolean) => boolean;
}

/** 0755 when any execute bit is set, else 0644. */
export function normalizedFileMode(hostMode: number): number {
  return (hostMode & 0o111) !== 0 ? 0o755 : 0o644;
}

/**
 * Every file, directory and symlink under `hostDir`, placed under `imageDir` in the image.
 * Symlinks are kept as links (their target unchanged); sockets, fifos and devices are an error.
 */
export async function entriesFromDirectory(
  hostDir: string,
  imageDir: string,
  options: DirectoryOptions = {},
): Promise<LayerEntry[]> {
  const entries: LayerEntry[] = [];
  const base = imageDir.replace(/\/+$/, '');
  const walk = async (relative: string): Promise<void> => {
    const names = (await readdir(join(hostDir, relative))).sort();
    for (const name of names) {
      const rel = relative === '' ? name : `${relative}/${name}`;
      const hostPath = join(hostDir, rel);
      const stat = await lstat(hostPath);
      if (options.include !== undefined && !options.include(rel, stat.isDirectory())) continue;
      const path = `${base}/${rel}`;
      if (stat.isDirectory()) {
        entries.push({ type: 'directory', path, mode: 0o755 });
        await walk(rel);
      } else if (stat.isSymbolicLink()) {
        entries.push({ type: 'symlink', path, target: await readlink(hostPath) });
      } else if (stat.isFile()) {
        entries.push({
          type: 'file',
          path,
          data: await readFile(hostPath),
          mode: normalizedFileMode(stat.mode),
        });
      } else {
        throw new Error(`${hostPath}: not a file, directory or symlink; cannot put it in an image`);
      }
    }
  };
  entries.push({ type: 'directory', path: base === '' ? '/' : base, mode: 0o755 });
  await walk('');
  return base === '' ? entries.slice(1) : entries;
}

/** One file from the host at `imagePath` (mode normalized). */
export async function entryFromFile(hostPath: string, imagePath: string): Promise<LayerEntry> {
  const stat = await lstat(hostPath);
  if (!stat.isFile()) throw new Error(`${hostPath}: not a regular file`);
  return {
    type: 'file',
    path: imagePath,
    data: await readFile(hostPath),
    mode: normalizedFileMode(stat.mode),
  };
}

/**
 * /etc/passwd, /etc/group and /etc/nsswitch.conf with root and the nonroot user 65532 (the uid the
 * sandbox runs agents as), a world-writable /tmp (the pod mounts an emptyDir there; the directory
 * keeps the image usable without it) and the home directories the passwd file names.
 */
export function baseSystemEntries(): LayerEntry[] {
  const text = (s: string): Uint8Array => Buffer.from(s);
  return [
    {
      type: 'file',
      path: '/etc/passwd',
      data: text(
        'root:x:0:0:root:/root:/sbin/nologin\n' +
          `nonroot:x:${NONROOT_UID}:${NONROOT_UID}:nonroot:/home/nonroot:/sbin/nologin\n`,
      ),
    },
    { type: 'file', path: '/etc/group', data: text(`root:x:0:\nnonroot:x:${NONROOT_UID}:\n`) },
    {
      type: 'file',
      path: '/etc/nsswitch.conf',
      data: text('passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n'),
    },
    { type: 'directory', path: '/tmp', mode: 0o1777 },
    // Mount points the runtime fills (a read-only root cannot get them later).
    { type: 'directory', path: '/proc', mode: 0o555 },
    { type: 'directory', path: '/sys', mode: 0o555 },
    { type: 'directory', path: '/dev', mode: 0o755 },
    { type: 'directory', path: '/home/nonroot', mode: 0o755 },
    { type: 'directory', path: '/root', mode: 0o700 },
  ];
}
