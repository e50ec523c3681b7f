// Debian packages as image content, reproducibly: each package is pinned by version and sha256 in
// images/debian-packages.json, fetched once with `apt-get download` into
// ~/.cache/paddock/images/debs/ and unpacked with `dpkg-deb -x` (nothing is installed on the host).
// A pin that apt no longer offers (Debian replaces point releases) fails with the command that
// re-pins it; docs/operations.md, "Container images".
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const IMAGES_DIR = new URL('../', import.meta.url).pathname.replace(/\/$/, '');
export const PINS_FILE = join(IMAGES_DIR, 'debian-packages.json');
export const CACHE_ROOT = process.env['PADDOCK_CACHE'] ?? join(homedir(), '.cache', 'paddock');
export const DEB_CACHE = join(CACHE_ROOT, 'images', 'debs');

export interface DebianPin {
  readonly version: string;
  readonly sha256: string;
}

/** The pins of one architecture from the pins file's JSON; errors name the offending field. */
export function parsePins(json: unknown, architecture: string): Map<string, DebianPin> {
  if (typeof json !== 'object' || json === null) throw new Error('debian-packages.json: not a JSON object');
  const perArch = (json as Record<string, unknown>)[architecture];
  if (perArch === undefined) {
    throw new Error(
      `debian-packages.json has no pins for architecture ${architecture} (add a "${architecture}" object)`,
    );
  }
  if (typeof perArch !== 'object' || perArch === null)
    throw new Error(`debian-packages.json: ${architecture} is not an object`);
  const pins = new Map<string, DebianPin>();
  for (const [name, value] of Object.entries(perArch as Record<string, unknown>)) {
    const field = `debian-packages.json: ${architecture}.${name}`;
    if (!/^[a-z0-9][a-z0-9+.-]+$/.test(name)) throw new Error(`${field}: not a Debian package name`);
    if (typeof value !== 'object' || value === null) throw new Error(`${field}: not an object`);
    const { version, sha256 } = value as Record<string, unknown>;
    if (typeof version !== 'string' || !/^[0-9][A-Za-z0-9.+~:-]*$/.test(version)) {
      throw new Error(`${field}.version: not a Debian version`);
    }
    if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256))
      throw new Error(`${field}.sha256: not a sha256 hex digest`);
    pins.set(name, { version, sha256 });
  }
  return pins;
}

/** The file name apt gives a downloaded package ("name_version_arch.deb", ":" escaped as "%3a"). */
export function debFileName(name: string, version: string, architecture: string): string {
  return `${name}_${version.replace(/:/g, '%3a')}_${architecture}.deb`;
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export async function readPins(architecture: string): Promise<Map<string, DebianPin>> {
  return parsePins(JSON.parse(await readFile(PINS_FILE, 'utf8')) as unknown, architecture);
}

let aptUpdated = false;

async function aptDownload(spec: string, into: string): Promise<void> {
  try {
    await run('apt-get', ['download', spec], { cwd: into });
  } catch (first) {
    // A fresh machine may have no package lists yet: update once, then try again.
    if (aptUpdated || process.getuid?.() !== 0) throw first;
    aptUpdated = true;
    await run('apt-get', ['update', '-qq']);
    await run('apt-get', ['download', spec], { cwd: into });
  }
}

/** The cached .deb of a pinned package, downloaded on first use and checked against its sha256. */
export async function fetchDeb(name: string, pin: DebianPin, architecture: string): Promise<string> {
  const file = join(DEB_CACHE, debFileName(name, pin.version, architecture));
  if (existsSync(file) && sha256Hex(await readFile(file)) === pin.sha256) return file;
  await mkdir(DEB_CACHE, { recursive: true });
  const work = await mkdtemp(join(tmpdir(), 'paddock-deb-'));
  try {
    try {
      await aptDownload(`${name}:${architecture}=${pin.version}`, work);
    } catch (error) {
      const detail =
        error instanceof Error ? (error as Error & { stderr?: string }).stderr?.trim() || error.message : '';
      throw new Error(
        `cannot download Debian package ${name}=${pin.version} (${architecture}) with apt-get: ${detail}\n` +
          `If Debian no longer offers that version, re-pin it: make images-pin PACKAGES=${name}`,
        { cause: error },
      );
    }
    const downloaded = (await readdir(work)).find((f) => f.endsWith('.deb'));
    if (downloaded === undefined) throw new Error(`apt-get download ${name}=${pin.version} wrote no .deb`);
    const actual = sha256Hex(await readFile(join(work, downloaded)));
    if (actual !== pin.sha256) {
      throw new Error(
        `Debian package ${name}=${pin.version}: sha256 ${actual} differs from the pin ${pin.sha256} in images/debian-packages.json`,
      );
    }
    await rename(join(work, downloaded), file);
    return file;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Unpack a .deb's files (not its maintainer scripts) into a new temporary directory. */
export async function extractDeb(debPath: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'paddock-debx-'));
  await run('dpkg-deb', ['-x', debPath, dir]);
  return dir;
}

/** Fetch and unpack pinned packages; returns one directory per package (caller removes them). */
export async function unpackPinned(
  names: readonly string[],
  architecture: string,
): Promise<Map<string, string>> {
  const pins = await readPins(architecture);
  const dirs = new Map<string, string>();
  for (const name of names) {
    const pin = pins.get(name);
    if (pin === undefined) {
      throw new Error(
        `Debian package ${name} is not pinned in images/debian-packages.json: make images-pin PACKAGES=${name}`,
      );
    }
    dirs.set(name, await extractDeb(await fetchDeb(name, pin, architecture)));
  }
  return dirs;
}

/** Pin the version apt offers now for each name (adding or replacing its entry). */
export async function pinPackages(
  names: readonly string[],
  architecture: string,
): Promise<Map<string, DebianPin>> {
  const json = JSON.parse(await readFile(PINS_FILE, 'utf8')) as Record<string, unknown>;
  const perArch = { ...((json[architecture] as Record<string, DebianPin> | undefined) ?? {}) };
  const pinned = new Map<string, DebianPin>();
  const work = await mkdtemp(join(tmpdir(), 'paddock-pin-'));
  try {
    for (const name of names) {
      const dir = join(work, name);
      await mkdir(dir);
      await aptDownload(`${name}:${architecture}`, dir);
      const deb = (await readdir(dir)).find((f) => f.endsWith('.deb'));
      if (deb === undefined) throw new Error(`apt-get download ${name} wrote no .deb`);
      const { stdout } = await run('dpkg-deb', ['-f', join(dir, deb), 'Version']);
      const pin = { version: stdout.trim(), sha256: sha256Hex(await readFile(join(dir, deb))) };
      perArch[name] = pin;
      pinned.set(name, pin);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  json[architecture] = Object.fromEntries(
    Object.keys(perArch)
      .sort()
      .map((k) => [k, perArch[k]]),
  );
  await writeFile(PINS_FILE, `${JSON.stringify(json, null, 2)}\n`);
  return pinned;
}
