// `make push REGISTRY=host[:port][/path]`: pushes every image of dist/images/images.json to
// <registry>/<name>:<version> with the project's own OCI distribution client (registry.ts), no
// daemon. Credentials come from ~/.docker/config.json (`docker login`, `crane auth login` or
// `skopeo login --authfile ~/.docker/config.json` write it).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { OUT_DIR, REPO_ROOT, type ImageRecord } from './build.ts';
import { loadDockerCredentials, parseRegistry, readOciArchive, RegistryClient } from './registry.ts';

/** The tag of a local reference ("paddock.local/x:0.1.0" -> "0.1.0"). */
export function tagOf(reference: string): string {
  const slash = reference.lastIndexOf('/');
  const colon = reference.lastIndexOf(':');
  if (colon <= slash) throw new Error(`reference ${reference} has no tag`);
  return reference.slice(colon + 1);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      registry: { type: 'string' },
      tag: { type: 'string' },
      only: { type: 'string', multiple: true },
    },
  });
  const target = parseRegistry(values.registry ?? '');
  const recordsPath = join(OUT_DIR, 'images.json');
  if (!existsSync(recordsPath))
    throw new Error('dist/images/images.json is missing: run `make images` first');
  const records = (JSON.parse(await readFile(recordsPath, 'utf8')) as { images: ImageRecord[] }).images;
  const credentials = await loadDockerCredentials(target.host);
  for (const record of records) {
    if (values.only !== undefined && !values.only.includes(record.name)) continue;
    const repository = target.prefix === '' ? record.name : `${target.prefix}/${record.name}`;
    const image = readOciArchive(await readFile(join(REPO_ROOT, record.archive)), record.archive);
    const client = new RegistryClient(target.baseUrl, repository, credentials);
    const result = await client.pushImage(image, values.tag ?? tagOf(record.reference));
    console.log(
      `push: ${result.reference}@${result.digest} (${result.uploaded} blobs uploaded, ${result.skipped} already there)`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(`push: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
