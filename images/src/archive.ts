// An image as an OCI image layout in one tar file (an "oci-archive"): `oci-layout`, `index.json`
// and `blobs/sha256/<hex>`. `ctr -n k8s.io images import`, `skopeo copy oci-archive:...` and
// `crane push` read it; so does images/src/push.ts.
import { mkdir, open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Image } from './oci.ts';
import { tarChunks, type TarEntry } from './tar.ts';

export const OCI_LAYOUT_FILE = '{"imageLayoutVersion":"1.0.0"}';

/** The tar entries of an image's layout, in a fixed order. Pure. */
export function layoutEntries(image: Image): TarEntry[] {
  const entries: TarEntry[] = [
    { type: 'directory', path: 'blobs', mode: 0o755 },
    { type: 'directory', path: 'blobs/sha256', mode: 0o755 },
  ];
  const seen = new Set<string>();
  const blobs = [...image.blobs].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  for (const blob of blobs) {
    if (seen.has(blob.digest)) continue; // two equal layers are one blob
    seen.add(blob.digest);
    const hex = blob.digest.slice('sha256:'.length);
    entries.push({ type: 'file', path: `blobs/sha256/${hex}`, mode: 0o644, data: blob.data });
  }
  entries.push(
    { type: 'file', path: 'index.json', mode: 0o644, data: image.index },
    { type: 'file', path: 'oci-layout', mode: 0o644, data: Buffer.from(OCI_LAYOUT_FILE) },
  );
  return entries;
}

/** The archive's bytes as chunks (no copy of the layers). mtime fixed like the layers'. */
export function ociArchiveChunks(image: Image, mtime: number): Uint8Array[] {
  return tarChunks(layoutEntries(image), { mtime });
}

/** Write the archive to `path` (through a temporary file, so a reader never sees half of it). */
export async function writeOciArchive(image: Image, path: string, mtime = 0): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.tmp-${process.pid}`;
  const file = await open(temporary, 'w');
  try {
    const chunks = ociArchiveChunks(image, mtime);
    // writev takes at most IOV_MAX buffers at a time.
    for (let i = 0; i < chunks.length; i += 512) await file.writev(chunks.slice(i, i + 512));
  } finally {
    await file.close();
  }
  await rename(temporary, path);
}
