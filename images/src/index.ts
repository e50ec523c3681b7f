// The image writer's API, for the build of Paddock's images (images/src/build.ts) and for anyone
// making another image without a Docker daemon (the real node's infrastructure images, for
// instance). docs/operations.md, "Container images", describes the format and its guarantees.
//
//   const image = await writeImage({
//     reference: 'paddock.local/busybox:1.35',
//     layers: [{ description: 'busybox', entries: [{ type: 'file', path: '/bin/busybox', data, mode: 0o755 }] }],
//     config: { entrypoint: ['/bin/busybox'], user: '65532:65532' },
//     path: 'dist/images/busybox.oci.tar',
//   });
//   image.manifestDigest; // "sha256:..."
import { writeOciArchive } from './archive.ts';
import { buildLayer, sourceDateEpoch, type Layer, type LayerEntry } from './layer.ts';
import { buildImage, ociArchitecture, type Image, type RuntimeConfig } from './oci.ts';

export { writeOciArchive, layoutEntries, ociArchiveChunks } from './archive.ts';
export { buildLayer, layerTarEntries, normalizeImagePath, sha256Digest, sourceDateEpoch } from './layer.ts';
export type { Layer, LayerEntry } from './layer.ts';
export { buildImage, canonicalJson, ociArchitecture, MEDIA_TYPE, validateReference } from './oci.ts';
export type { Blob, Image, ImageSpec, RuntimeConfig } from './oci.ts';
export { baseSystemEntries, entriesFromDirectory, entryFromFile, NONROOT_UID } from './rootfs.ts';
export { tarBytes, tarChunks } from './tar.ts';
export type { TarEntry } from './tar.ts';

export interface LayerSource {
  readonly description: string;
  readonly entries: readonly LayerEntry[];
}

export interface WriteImageOptions {
  /** Full reference, e.g. "paddock.local/pause:3.10"; written as the archive's image name. */
  readonly reference: string;
  /** Bottom first: built layers (to share one across images) or entries to build one from. */
  readonly layers: readonly (Layer | LayerSource)[];
  readonly config: RuntimeConfig;
  /** Where the OCI archive goes. */
  readonly path: string;
  /** Timestamp of every file and of the image; default SOURCE_DATE_EPOCH or 0. */
  readonly epoch?: number;
  /** OCI architecture; default this machine's. */
  readonly architecture?: string;
}

function isLayer(layer: Layer | LayerSource): layer is Layer {
  return 'blob' in layer;
}

/** Build an image and write it as an OCI archive; the same options always give the same digest. */
export async function writeImage(options: WriteImageOptions): Promise<Image> {
  const epoch = options.epoch ?? sourceDateEpoch();
  const layers = options.layers.map((layer) =>
    isLayer(layer) ? layer : buildLayer(layer.entries, { mtime: epoch, description: layer.description }),
  );
  const image = buildImage({
    reference: options.reference,
    layers,
    config: options.config,
    created: epoch,
    architecture: options.architecture ?? ociArchitecture(),
  });
  await writeOciArchive(image, options.path, epoch);
  return image;
}
