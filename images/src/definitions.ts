// Which images `make images` builds, and how (docs/operations.md, "Container images"):
// - the operator, always;
// - one image per folder agents/<name>/ with a main.ts (`agent-<name>`), and per folder
//   agents/fixtures/<name>/ with a main.ts (`fixture-<name>`), or agents/fixtures/ itself (`fixtures`);
// - a folder may hold an image.json that changes its image (parseImageFile lists the fields); a
//   folder with only an image.json (no main.ts) is an image too, e.g. one made of Debian packages.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const IMAGE_FILE = 'image.json';
export const DEFAULT_ENTRY = 'main.ts';
/** Folders under agents/ that are shared code, never an image of their own. */
const NOT_IMAGES = new Set(['common', 'node_modules']);

/** A folder's image.json, validated. */
export interface ImageFile {
  /** Image name (default agent-<folder>, fixture-<folder>). */
  readonly name?: string;
  /** Entry bundled into /app/agent.mjs, relative to the folder (default main.ts); null: no bundle. */
  readonly entry?: string | null;
  /** "node" (default): the shared Node runtime layer; "none": no Node (give an entrypoint). */
  readonly runtime?: 'node' | 'none';
  /** Debian packages unpacked whole into one layer (each pinned in images/debian-packages.json). */
  readonly debianPackages?: readonly string[];
  /** Files or folders of the folder copied into the image: { from (relative), to (absolute) }. */
  readonly files?: readonly { readonly from: string; readonly to: string }[];
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly workingDir?: string;
  /** Default "65532:65532"; the sandbox runs agents as 65532 whatever the image says. */
  readonly user?: string;
  readonly exposedPorts?: readonly string[];
}

export interface FolderImage {
  /** Image name, e.g. "agent-security-scanner". */
  readonly name: string;
  /** Repository-relative folder, e.g. "agents/security-scanner". */
  readonly folder: string;
  /** Repository-relative entry to bundle, or undefined for no bundle. */
  readonly entry: string | undefined;
  readonly file: ImageFile;
}

const NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

function stringArray(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new Error(`${field}: must be an array of strings`);
  }
  return value;
}

/** Validate an image.json's parsed JSON; every error names the file and the field. */
export function parseImageFile(json: unknown, where: string): ImageFile {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new Error(`${where}: must be a JSON object`);
  const o = json as Record<string, unknown>;
  const known = [
    'name',
    'entry',
    'runtime',
    'debianPackages',
    'files',
    'entrypoint',
    'cmd',
    'env',
    'workingDir',
    'user',
    'exposedPorts',
  ];
  for (const key of Object.keys(o)) {
    if (!known.includes(key))
      throw new Error(`${where}: unknown field "${key}" (known: ${known.join(', ')})`);
  }
  const out: { -readonly [K in keyof ImageFile]: ImageFile[K] } = {};
  if (o['name'] !== undefined) {
    if (typeof o['name'] !== 'string' || !NAME.test(o['name']))
      throw new Error(`${where}: name must match ${NAME.source}`);
    out.name = o['name'];
  }
  if (o['entry'] !== undefined) {
    if (
      o['entry'] !== null &&
      (typeof o['entry'] !== 'string' || o['entry'].startsWith('/') || o['entry'].includes('..'))
    ) {
      throw new Error(`${where}: entry must be a path inside the folder, or null`);
    }
    out.entry = o['entry'];
  }
  if (o['runtime'] !== undefined) {
    if (o['runtime'] !== 'node' && o['runtime'] !== 'none')
      throw new Error(`${where}: runtime must be "node" or "none"`);
    out.runtime = o['runtime'];
  }
  if (o['debianPackages'] !== undefined)
    out.debianPackages = stringArray(o['debianPackages'], `${where}: debianPackages`);
  if (o['files'] !== undefined) {
    if (!Array.isArray(o['files'])) throw new Error(`${where}: files must be an array of { from, to }`);
    out.files = o['files'].map((f: unknown, i) => {
      const field = `${where}: files[${i}]`;
      if (typeof f !== 'object' || f === null) throw new Error(`${field}: must be { from, to }`);
      const { from, to } = f as Record<string, unknown>;
      if (typeof from !== 'string' || from.startsWith('/') || from.split('/').includes('..')) {
        throw new Error(`${field}.from: must be a path inside the folder`);
      }
      if (typeof to !== 'string' || !to.startsWith('/'))
        throw new Error(`${field}.to: must be an absolute path in the image`);
      return { from, to };
    });
  }
  for (const key of ['entrypoint', 'cmd', 'exposedPorts'] as const) {
    if (o[key] !== undefined) out[key] = stringArray(o[key], `${where}: ${key}`);
  }
  if (o['env'] !== undefined) {
    const env = o['env'];
    if (
      typeof env !== 'object' ||
      env === null ||
      Array.isArray(env) ||
      !Object.values(env).every((v) => typeof v === 'string')
    ) {
      throw new Error(`${where}: env must be an object of strings`);
    }
    out.env = env as Record<string, string>;
  }
  for (const key of ['workingDir', 'user'] as const) {
    if (o[key] !== undefined) {
      if (typeof o[key] !== 'string') throw new Error(`${where}: ${key} must be a string`);
      out[key] = o[key];
    }
  }
  if (out.runtime === 'none' && out.entrypoint === undefined) {
    throw new Error(`${where}: runtime "none" needs an entrypoint (there is no Node to run an entry)`);
  }
  if (out.runtime === 'none' && typeof out.entry === 'string') {
    throw new Error(`${where}: runtime "none" cannot run an entry; set entry to null`);
  }
  return out;
}

/** The image of one folder, or a reason it has none. */
export function folderImage(
  repoRoot: string,
  folder: string,
  defaultName: string,
): { image: FolderImage } | { skipped: string } {
  const dir = join(repoRoot, folder);
  const filePath = join(dir, IMAGE_FILE);
  const hasFile = existsSync(filePath);
  const file = hasFile
    ? parseImageFile(JSON.parse(readFileSync(filePath, 'utf8')) as unknown, `${folder}/${IMAGE_FILE}`)
    : {};
  const entryName = file.entry === undefined ? (file.runtime === 'none' ? null : DEFAULT_ENTRY) : file.entry;
  const hasEntry = entryName !== null && existsSync(join(dir, entryName));
  if (!hasFile && !hasEntry) return { skipped: `${folder}: no ${DEFAULT_ENTRY} and no ${IMAGE_FILE}` };
  if (entryName !== null && !hasEntry) {
    if (file.entry !== undefined)
      throw new Error(`${folder}/${IMAGE_FILE}: entry ${entryName} does not exist`);
    return { skipped: `${folder}: no ${DEFAULT_ENTRY} yet` };
  }
  return {
    image: {
      name: file.name ?? defaultName,
      folder,
      entry: entryName === null ? undefined : `${folder}/${entryName}`,
      file,
    },
  };
}

function subfolders(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter(
      (name) => !name.startsWith('.') && !NOT_IMAGES.has(name) && statSync(join(dir, name)).isDirectory(),
    )
    .sort();
}

/** Every agent and fixture image of the repository, and the folders that have none (with why). */
export function discoverFolderImages(repoRoot: string): { images: FolderImage[]; skipped: string[] } {
  const images: FolderImage[] = [];
  const skipped: string[] = [];
  const add = (result: ReturnType<typeof folderImage>): void => {
    if ('image' in result) images.push(result.image);
    else skipped.push(result.skipped);
  };
  for (const name of subfolders(join(repoRoot, 'agents'))) {
    if (name === 'fixtures') continue;
    add(folderImage(repoRoot, `agents/${name}`, `agent-${name}`));
  }
  const fixtures = join(repoRoot, 'agents', 'fixtures');
  if (existsSync(join(fixtures, DEFAULT_ENTRY)) || existsSync(join(fixtures, IMAGE_FILE))) {
    add(folderImage(repoRoot, 'agents/fixtures', 'fixtures'));
  }
  for (const name of subfolders(fixtures))
    add(folderImage(repoRoot, `agents/fixtures/${name}`, `fixture-${name}`));
  const seen = new Map<string, string>();
  for (const image of images) {
    const other = seen.get(image.name);
    if (other !== undefined)
      throw new Error(`image name ${image.name} is used by ${other} and ${image.folder}`);
    seen.set(image.name, image.folder);
  }
  return { images, skipped };
}

/** Production packages of an npm lockfile (v2/v3): every node_modules/... path not marked dev. */
export function productionPackagePaths(lock: unknown): string[] {
  const packages = (lock as { packages?: Record<string, { dev?: boolean; link?: boolean }> } | null)
    ?.packages;
  if (packages === undefined)
    throw new Error('package-lock.json has no "packages" (lockfileVersion 2 or 3 is needed)');
  return Object.keys(packages)
    .filter(
      (path) =>
        path.startsWith('node_modules/') && packages[path]?.dev !== true && packages[path]?.link !== true,
    )
    .sort();
}
