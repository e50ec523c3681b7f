// The Node.js runtime layer every Node image starts with: the pinned Node 24 binary (the one in
// node_modules/node/bin/node, the same the project runs everywhere) and exactly the shared libraries
// it links (ld.so, libc, libm, libdl, libpthread, libstdc++, libgcc_s) taken from pinned Debian
// packages, plus /etc/passwd and /etc/group with the nonroot user 65532. It does not depend on the
// image, so every Node image has the same layer digest and a node stores it once.
import { lstat, readFile, readlink, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { buildLayer, type Layer, type LayerEntry } from './layer.ts';
import { normalizedFileMode, baseSystemEntries } from './rootfs.ts';
import { unpackPinned } from './debian.ts';

/** Where Node is in the image (the entrypoint of every Node image). */
export const NODE_PATH = '/usr/local/bin/node';

interface ArchitectureLibraries {
  /** Debian multiarch triplet. */
  readonly triplet: string;
  /** The dynamic loader node's ELF header names (PT_INTERP), as an absolute path. */
  readonly interpreter: string;
}

const LIBRARIES: Record<string, ArchitectureLibraries> = {
  amd64: { triplet: 'x86_64-linux-gnu', interpreter: '/lib64/ld-linux-x86-64.so.2' },
  arm64: { triplet: 'aarch64-linux-gnu', interpreter: '/lib/ld-linux-aarch64.so.1' },
};

/** The Debian packages of the runtime layer (gcc-12-base only for the copyright of the gcc libraries). */
export const RUNTIME_PACKAGES = ['libc6', 'libstdc++6', 'libgcc-s1', 'gcc-12-base'] as const;

/**
 * The package paths to take, per package: the sonames node needs (`ldd node_modules/node/bin/node`)
 * and each package's copyright. Symlinks are followed inside the package, link and target both kept.
 */
export function runtimeFiles(architecture: string): Record<(typeof RUNTIME_PACKAGES)[number], string[]> {
  const arch = LIBRARIES[architecture];
  if (arch === undefined) throw new Error(`no Node runtime layer for architecture ${architecture}`);
  const lib = `lib/${arch.triplet}`;
  return {
    libc6: [
      arch.interpreter.slice(1),
      `${lib}/${posix.basename(arch.interpreter)}`,
      `${lib}/libc.so.6`,
      `${lib}/libm.so.6`,
      `${lib}/libdl.so.2`,
      `${lib}/libpthread.so.0`,
      'usr/share/doc/libc6/copyright',
    ],
    'libstdc++6': [`usr/lib/${arch.triplet}/libstdc++.so.6`],
    'libgcc-s1': [`${lib}/libgcc_s.so.1`],
    'gcc-12-base': ['usr/share/doc/gcc-12-base/copyright'],
  };
}

/**
 * The entries for `paths` inside an unpacked package, following symlinks (relative or absolute,
 * resolved inside the package) so each link's target comes along.
 */
export async function pickFromPackage(
  root: string,
  paths: readonly string[],
  packageName: string,
): Promise<LayerEntry[]> {
  const entries = new Map<string, LayerEntry>();
  const take = async (path: string, depth: number): Promise<void> => {
    if (entries.has(path)) return;
    if (depth > 8) throw new Error(`${packageName}: too many symlinks at /${path}`);
    const hostPath = join(root, path);
    let stat;
    try {
      stat = await lstat(hostPath);
    } catch {
      throw new Error(
        `Debian package ${packageName} has no /${path} (was the package's layout changed by a new version?)`,
      );
    }
    if (stat.isSymbolicLink()) {
      const target = await readlink(hostPath);
      entries.set(path, { type: 'symlink', path, target });
      const resolved = target.startsWith('/')
        ? target.slice(1)
        : posix.normalize(posix.join(posix.dirname(path), target));
      await take(resolved, depth + 1);
    } else if (stat.isFile()) {
      entries.set(path, {
        type: 'file',
        path,
        data: await readFile(hostPath),
        mode: normalizedFileMode(stat.mode),
      });
    } else {
      throw new Error(`Debian package ${packageName}: /${path} is not a file or symlink`);
    }
  };
  for (const path of paths) await take(path, 0);
  return [...entries.values()];
}

export interface RuntimeLayerOptions {
  /** The Node binary to ship (default: the project's pinned node_modules/node/bin/node). */
  readonly nodeBinary: string;
  readonly architecture: string;
  readonly mtime: number;
}

/** Everything in the runtime layer, gathered from the pinned packages and the Node binary. */
export async function runtimeLayerEntries(options: RuntimeLayerOptions): Promise<LayerEntry[]> {
  const files = runtimeFiles(options.architecture);
  const dirs = await unpackPinned(RUNTIME_PACKAGES, options.architecture);
  try {
    const entries: LayerEntry[] = [...baseSystemEntries()];
    for (const name of RUNTIME_PACKAGES) {
      const dir = dirs.get(name);
      if (dir === undefined) throw new Error(`Debian package ${name} was not unpacked`);
      entries.push(...(await pickFromPackage(dir, files[name], name)));
    }
    entries.push({ type: 'file', path: NODE_PATH, data: await readFile(options.nodeBinary), mode: 0o755 });
    return entries;
  } finally {
    await Promise.all([...dirs.values()].map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

export async function buildRuntimeLayer(options: RuntimeLayerOptions): Promise<Layer> {
  return buildLayer(await runtimeLayerEntries(options), {
    mtime: options.mtime,
    description: `node runtime (${posix.basename(NODE_PATH)}, glibc, libstdc++, /etc/passwd)`,
  });
}
