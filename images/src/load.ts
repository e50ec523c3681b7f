// `make images-load`: imports every archive of dist/images/images.json into the real node's
// containerd (namespace k8s.io, where the kubelet looks), through the real node's own importImage
// (cluster/src/real-node.ts). Pods then run the images with imagePullPolicy Never or IfNotPresent.
// Without a running real node it prints the ctr command to run by hand.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { OUT_DIR, REPO_ROOT, type ImageRecord } from './build.ts';

type ImportImage = (archive: string) => void;

/** The real node's importImage, when this checkout has one (looked up at run time, not a build dependency). */
async function realNodeImport(): Promise<ImportImage | undefined> {
  const module = join(REPO_ROOT, 'cluster', 'src', 'real-node.ts');
  if (!existsSync(module)) return undefined;
  const loaded = (await import(pathToFileURL(module).href)) as { importImage?: unknown };
  return typeof loaded.importImage === 'function' ? (loaded.importImage as ImportImage) : undefined;
}

export function manualCommand(archives: readonly string[]): string {
  return archives.map((a) => `ctr --address <containerd socket> -n k8s.io images import ${a}`).join('\n');
}

async function main(): Promise<void> {
  const recordsPath = join(OUT_DIR, 'images.json');
  if (!existsSync(recordsPath))
    throw new Error('dist/images/images.json is missing: run `make images` first');
  const records = (JSON.parse(await readFile(recordsPath, 'utf8')) as { images: ImageRecord[] }).images;
  const importImage = await realNodeImport();
  if (importImage === undefined) {
    console.log('images-load: this checkout has no real node (cluster/src/real-node.ts); import by hand:');
    console.log(manualCommand(records.map((r) => r.archive)));
    return;
  }
  for (const record of records) {
    try {
      importImage(join(REPO_ROOT, record.archive));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(
        `${record.archive}: ${message}\nOr import by hand:\n${manualCommand([record.archive])}`,
        {
          cause: error,
        },
      );
    }
    console.log(`images-load: ${record.reference}@${record.digest} imported`);
  }
}

main().catch((error: unknown) => {
  console.error(`images-load: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
