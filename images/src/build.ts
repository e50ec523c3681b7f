// `make images`: builds the operator image and one image per agent and fixture folder as OCI
// archives in dist/images/, plus dist/images/images.json (docs/operations.md, "Container images").
// Needs `make build` first (the operator's compiled JavaScript in dist/operator/src).
//
//   node images/src/build.ts [--only NAME ...]
import { existsSync } from 'node:fs';
import { lstat, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { build as esbuild } from 'esbuild';
import { writeOciArchive } from './archive.ts';
import { discoverFolderImages, productionPackagePaths, type FolderImage } from './definitions.ts';
import { unpackPinned } from './debian.ts';
import { buildLayer, sourceDateEpoch, type Layer, type LayerEntry } from './layer.ts';
import { buildImage, ociArchitecture, type Image, type RuntimeConfig } from './oci.ts';
import { entriesFromDirectory, entryFromFile } from './rootfs.ts';
import { buildRuntimeLayer, NODE_PATH } from './runtime-layer.ts';

export const REPO_ROOT = new URL('../../', import.meta.url).pathname.replace(/\/$/, '');
export const OUT_DIR = join(REPO_ROOT, 'dist', 'images');
/** Registry host of the local names; `make push` gives the images their registry's names. */
export const LOCAL_REGISTRY = 'paddock.local';
export const OPERATOR_IMAGE = 'paddock-operator';
const NONROOT = '65532:65532';
const PATH_ENV = '/usr/local/bin:/usr/bin:/bin';

export interface ImageRecord {
  readonly name: string;
  readonly reference: string;
  /** The manifest digest: pin images as `reference@digest`. */
  readonly digest: string;
  readonly archive: string;
  /** Manifest + config + compressed layers (what a registry and a node's content store hold). */
  readonly size: number;
  /** Manifest + config + uncompressed layers (what the unpacked image takes). */
  readonly uncompressedSize: number;
  readonly layers: readonly { digest: string; size: number; uncompressedSize: number; description: string }[];
}

interface Context {
  readonly epoch: number;
  readonly architecture: string;
  readonly version: string;
  readonly runtime: () => Promise<Layer>;
}

function labels(title: string, version: string, description: string): Record<string, string> {
  return {
    'org.opencontainers.image.title': title,
    'org.opencontainers.image.description': description,
    'org.opencontainers.image.version': version,
    'org.opencontainers.image.licenses': 'Apache-2.0',
  };
}

/**
 * Files of a production package the operator can load at run time. Left out: nested node_modules
 * (packages of their own in the lockfile), TypeScript sources and declarations (Node never strips
 * types under node_modules), source maps and documentation other than licenses.
 */
export function keepInImage(relativePath: string, isDirectory: boolean): boolean {
  if (isDirectory) return relativePath !== 'node_modules';
  const base = relativePath.slice(relativePath.lastIndexOf('/') + 1);
  if (/licen[cs]e|notice|copying/i.test(base)) return true;
  return !/\.(map|[cm]?ts|md|markdown)$/i.test(base);
}

/** The operator, like the Dockerfile: production node_modules, compiled operator/src, crds/. */
async function operatorImage(ctx: Context): Promise<Image> {
  const compiled = join(REPO_ROOT, 'dist', 'operator', 'src');
  if (!existsSync(join(compiled, 'main.js'))) {
    throw new Error('dist/operator/src/main.js is missing: run `make build` first (make images does)');
  }
  const lock = JSON.parse(await readFile(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as unknown;
  const modules: LayerEntry[] = [];
  for (const path of productionPackagePaths(lock)) {
    const dir = join(REPO_ROOT, path);
    if (!existsSync(dir)) continue; // an optional package for another platform
    // Nested node_modules are packages of their own in the lockfile, each judged dev or not.
    modules.push(...(await entriesFromDirectory(dir, `/app/${path}`, { include: keepInImage })));
  }
  const app: LayerEntry[] = [
    await entryFromFile(join(REPO_ROOT, 'package.json'), '/app/package.json'),
    ...(await entriesFromDirectory(compiled, '/app/operator/src')),
    ...(await entriesFromDirectory(join(REPO_ROOT, 'crds'), '/app/crds')),
  ];
  const runtime = await ctx.runtime();
  return buildImage({
    reference: `${LOCAL_REGISTRY}/${OPERATOR_IMAGE}:${ctx.version}`,
    layers: [
      runtime,
      buildLayer(modules, { mtime: ctx.epoch, description: 'production node_modules' }),
      buildLayer(app, { mtime: ctx.epoch, description: 'operator (dist/operator/src, crds, package.json)' }),
    ],
    config: {
      // Entrypoint holds the script too, so the Deployment's args are the operator's flags.
      entrypoint: [NODE_PATH, '/app/operator/src/main.js'],
      env: { NODE_ENV: 'production', PADDOCK_VERSION: ctx.version, PATH: PATH_ENV },
      user: NONROOT,
      workingDir: '/app',
      exposedPorts: ['8080/tcp', '8081/tcp'],
      labels: labels(
        OPERATOR_IMAGE,
        ctx.version,
        'Paddock: runs AI agents on Kubernetes as sandboxed, approved, audited workflows.',
      ),
    },
    created: ctx.epoch,
    architecture: ctx.architecture,
  });
}

/** One file: the entry and everything it imports (the SDK, npm packages), as an ES module. */
export async function bundleAgent(entry: string): Promise<Buffer> {
  const result = await esbuild({
    entryPoints: [entry],
    absWorkingDir: REPO_ROOT, // paths in the bundle's comments are repository-relative
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    write: false,
    outfile: 'agent.mjs',
    logLevel: 'silent',
    // CommonJS packages inside an ES module bundle still call require() for Node's built-ins.
    banner: {
      js: "import { createRequire as __paddockCreateRequire } from 'node:module';\nconst require = __paddockCreateRequire(import.meta.url);",
    },
  });
  const file = result.outputFiles[0];
  if (file === undefined) throw new Error(`esbuild wrote nothing for ${entry}`);
  return Buffer.from(file.contents);
}

/** Files of Debian packages, without documentation other than the copyright files. */
async function debianEntries(names: readonly string[], architecture: string): Promise<LayerEntry[]> {
  const dirs = await unpackPinned(names, architecture);
  try {
    const entries: LayerEntry[] = [];
    const dropped = /^usr\/share\/(man|info|locale|lintian|bug|doc\/[^/]+\/(?!copyright$)[^/]+)(\/|$)/;
    for (const dir of dirs.values()) {
      entries.push(...(await entriesFromDirectory(dir, '/', { include: (rel) => !dropped.test(rel) })));
    }
    // Packages share directories; keep one entry per directory path (the first).
    const seen = new Set<string>();
    return entries.filter((e) => {
      if (e.type !== 'directory') return true;
      if (seen.has(e.path)) return false;
      seen.add(e.path);
      return true;
    });
  } finally {
    await Promise.all([...dirs.values()].map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

async function folderImageBuild(ctx: Context, def: FolderImage): Promise<Image> {
  const file = def.file;
  const useNode = file.runtime !== 'none';
  const layers: Layer[] = [];
  if (useNode) layers.push(await ctx.runtime());
  if (file.debianPackages !== undefined && file.debianPackages.length > 0) {
    layers.push(
      buildLayer(await debianEntries(file.debianPackages, ctx.architecture), {
        mtime: ctx.epoch,
        description: `Debian packages ${file.debianPackages.join(' ')}`,
      }),
    );
  }
  const app: LayerEntry[] = [];
  if (def.entry !== undefined) {
    app.push({ type: 'file', path: '/app/agent.mjs', data: await bundleAgent(def.entry) });
  }
  for (const copy of file.files ?? []) {
    const from = join(REPO_ROOT, def.folder, copy.from);
    if (!existsSync(from)) throw new Error(`${def.folder}/image.json: files: ${copy.from} does not exist`);
    const stat = await lstat(from);
    app.push(
      ...(stat.isDirectory()
        ? await entriesFromDirectory(from, copy.to)
        : [await entryFromFile(from, copy.to)]),
    );
  }
  if (app.length > 0) layers.push(buildLayer(app, { mtime: ctx.epoch, description: `${def.folder}` }));
  const entrypoint = file.entrypoint ?? (def.entry !== undefined ? [NODE_PATH, '/app/agent.mjs'] : undefined);
  if (entrypoint === undefined)
    throw new Error(`${def.folder}/image.json: no entry and no entrypoint: nothing to run`);
  const config: RuntimeConfig = {
    entrypoint,
    ...(file.cmd !== undefined ? { cmd: file.cmd } : {}),
    env: { ...(useNode ? { NODE_ENV: 'production' } : {}), PATH: PATH_ENV, ...file.env },
    user: file.user ?? NONROOT,
    workingDir: file.workingDir ?? '/app',
    ...(file.exposedPorts !== undefined ? { exposedPorts: file.exposedPorts } : {}),
    labels: labels(def.name, ctx.version, `Paddock ${def.folder}`),
  };
  return buildImage({
    reference: `${LOCAL_REGISTRY}/${def.name}:${ctx.version}`,
    layers,
    config,
    created: ctx.epoch,
    architecture: ctx.architecture,
  });
}

export function formatSize(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { only: { type: 'string', multiple: true } } });
  const only = values.only === undefined ? undefined : new Set(values.only);
  const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  let runtime: Promise<Layer> | undefined;
  const ctx: Context = {
    epoch: sourceDateEpoch(),
    architecture: ociArchitecture(),
    version: pkg.version,
    runtime: () =>
      (runtime ??= buildRuntimeLayer({
        nodeBinary: join(REPO_ROOT, 'node_modules', 'node', 'bin', 'node'),
        architecture: ociArchitecture(),
        mtime: sourceDateEpoch(),
      })),
  };
  const { images: folders, skipped } = discoverFolderImages(REPO_ROOT);
  const builders: { name: string; make: () => Promise<Image> }[] = [
    { name: OPERATOR_IMAGE, make: () => operatorImage(ctx) },
    ...folders.map((def) => ({ name: def.name, make: () => folderImageBuild(ctx, def) })),
  ];
  for (const reason of skipped) console.log(`images: skipped ${reason}`);
  if (folders.length === 0)
    console.log('images: no agent or fixture folder with a main.ts yet; building the operator only');
  await mkdir(OUT_DIR, { recursive: true });
  const recordsPath = join(OUT_DIR, 'images.json');
  const previous = existsSync(recordsPath)
    ? ((JSON.parse(await readFile(recordsPath, 'utf8')) as { images: ImageRecord[] }).images ?? [])
    : [];
  const records = new Map<string, ImageRecord>(only === undefined ? [] : previous.map((r) => [r.name, r]));
  for (const builder of builders) {
    if (only !== undefined && !only.has(builder.name)) continue;
    const started = Date.now();
    const image = await builder.make();
    const archive = join(OUT_DIR, `${builder.name}.oci.tar`);
    await writeOciArchive(image, archive, ctx.epoch);
    records.set(builder.name, {
      name: builder.name,
      reference: image.reference,
      digest: image.manifestDigest,
      archive: relative(REPO_ROOT, archive),
      size: image.size,
      uncompressedSize: image.uncompressedSize,
      layers: image.layers.map((l) => ({
        digest: l.digest,
        size: l.size,
        uncompressedSize: l.uncompressedSize,
        description: l.description,
      })),
    });
    console.log(
      `images: ${image.reference}@${image.manifestDigest}  ${formatSize(image.size)} compressed, ` +
        `${formatSize(image.uncompressedSize)} unpacked  (${((Date.now() - started) / 1000).toFixed(1)} s)`,
    );
  }
  if (only !== undefined) {
    for (const name of only)
      if (!builders.some((b) => b.name === name)) throw new Error(`--only ${name}: no such image`);
  }
  const sorted = [...records.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  await writeFile(recordsPath, `${JSON.stringify({ images: sorted }, null, 2)}\n`);
  console.log(`images: wrote ${relative(REPO_ROOT, recordsPath)} (${sorted.length} images)`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(`images: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
