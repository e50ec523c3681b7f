// The smallest OCI image writer the real node needs for its infrastructure images (pause, busybox, CoreDNS):
// one uncompressed layer made from a directory, an image config, a manifest and an index, packed as an OCI
// image layout archive that `ctr images import` reads. Reproducible: tar sorts names, zeroes times and
// owners, so the same directory gives the same digest (docs/testing.md, "The real node").
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface OciImageSpec {
  /** Full reference the image is imported under, e.g. `paddock.local/busybox:1.35`. */
  readonly reference: string;
  /** Directory whose content becomes the image's only layer. */
  readonly rootfs: string;
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  /** `uid:gid`; kubelet's runAsNonRoot check needs a numeric user. */
  readonly user?: string;
  readonly env?: readonly string[];
  readonly workingDir?: string;
}

export interface OciArchive {
  readonly path: string;
  readonly reference: string;
  /** Digest of the manifest: what the runtime reports as the image's id. */
  readonly manifestDigest: string;
}

/** GNU tar flags that make the same tree produce the same bytes. */
const REPRODUCIBLE_TAR = [
  '--sort=name',
  '--mtime=@0',
  '--owner=0',
  '--group=0',
  '--numeric-owner',
  '--format=posix',
  '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
];

export function writeOciArchive(spec: OciImageSpec, outFile: string): OciArchive {
  const work = `${outFile}.layout-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  const blobs = join(work, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const layerTmp = join(work, 'layer.tar');
  execFileSync('tar', [...REPRODUCIBLE_TAR, '-C', spec.rootfs, '-cf', layerTmp, '.']);
  const layer = readFileSync(layerTmp);
  rmSync(layerTmp);
  const layerDigest = putBlob(blobs, layer);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: {
        ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
        ...(spec.cmd ? { Cmd: spec.cmd } : {}),
        ...(spec.user ? { User: spec.user } : {}),
        Env: spec.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        ...(spec.workingDir ? { WorkingDir: spec.workingDir } : {}),
      },
      rootfs: { type: 'layers', diff_ids: [layerDigest] },
      history: [{ created: '1970-01-01T00:00:00Z', created_by: 'paddock cluster/src/oci-archive.ts' }],
      created: '1970-01-01T00:00:00Z',
    }),
  );
  const configDigest = putBlob(blobs, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: configDigest,
        size: config.length,
      },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length },
      ],
    }),
  );
  const manifestDigest = putBlob(blobs, manifest);
  const tag = spec.reference.slice(spec.reference.lastIndexOf(':') + 1);
  writeFileSync(join(work, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(work, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: manifestDigest,
          size: manifest.length,
          annotations: {
            // containerd names an imported image after this annotation (the full reference);
            // other tools read the standard tag annotation.
            'io.containerd.image.name': spec.reference,
            'org.opencontainers.image.ref.name': tag,
          },
        },
      ],
    }),
  );
  mkdirSync(dirname(outFile), { recursive: true });
  const tmp = `${outFile}.tmp-${process.pid}`;
  execFileSync('tar', [...REPRODUCIBLE_TAR, '-C', work, '-cf', tmp, 'oci-layout', 'index.json', 'blobs']);
  renameSync(tmp, outFile);
  rmSync(work, { recursive: true, force: true });
  return { path: outFile, reference: spec.reference, manifestDigest };
}

function putBlob(dir: string, data: Buffer): string {
  const hex = createHash('sha256').update(data).digest('hex');
  writeFileSync(join(dir, hex), data);
  return `sha256:${hex}`;
}
