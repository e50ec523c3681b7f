// OCI image config, manifest and index (OCI image spec v1.1 field names). JSON is written with
// sorted keys and no whitespace, so equal content is equal bytes and equal digests.
import { sha256Digest, type Layer } from './layer.ts';

export const MEDIA_TYPE = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

/** The index.json annotation `skopeo`, `crane` and containerd read as the image's name. */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
/**
 * containerd's own name annotation: `ctr images import` takes it as the full image name, where a
 * full reference in ref.name alone would be dropped by its default name prefix.
 */
export const CONTAINERD_NAME_ANNOTATION = 'io.containerd.image.name';

/** What the container runs with (the `config` object of the image config). */
export interface RuntimeConfig {
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  /** Environment variables; written sorted by name. */
  readonly env?: Readonly<Record<string, string>>;
  /** "uid:gid" or a name from the image's /etc/passwd. */
  readonly user?: string;
  readonly workingDir?: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** "8080/tcp" style keys. */
  readonly exposedPorts?: readonly string[];
  readonly stopSignal?: string;
}

export interface ImageSpec {
  /** The full reference, e.g. "paddock.local/paddock-operator:0.1.0". */
  readonly reference: string;
  /** Bottom layer first. */
  readonly layers: readonly Layer[];
  readonly config: RuntimeConfig;
  /** Seconds since the epoch for `created` (SOURCE_DATE_EPOCH or 0). */
  readonly created: number;
  /** OCI architecture name ("amd64", "arm64"); see ociArchitecture(). */
  readonly architecture: string;
  readonly os?: string;
}

export interface Blob {
  readonly digest: string;
  readonly mediaType: string;
  readonly data: Buffer;
}

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly platform?: { readonly architecture: string; readonly os: string };
}

/** An image ready to be written: every blob plus the index that names it. */
export interface Image {
  readonly reference: string;
  readonly manifestDigest: string;
  readonly configDigest: string;
  /** Manifest, config and layers (layers bottom first). */
  readonly blobs: readonly Blob[];
  /** The OCI layout's index.json bytes. */
  readonly index: Buffer;
  /** Manifest + config + compressed layers: what a registry or a node stores. */
  readonly size: number;
  /** Manifest + config + uncompressed layers: what the unpacked image takes. */
  readonly uncompressedSize: number;
  readonly layers: readonly Layer[];
}

type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json | undefined };

/** JSON with object keys sorted at every level and undefined members left out. */
export function canonicalJson(value: Json): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((item: Json) => canonicalJson(item)).join(',')}]`;
  const object = value as { readonly [key: string]: Json | undefined };
  const members = Object.keys(object)
    .filter((key) => object[key] !== undefined)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonicalJson(object[key] as Json)}`);
  return `{${members.join(',')}}`;
}

/** RFC 3339 time of an epoch second, without fractions ("1970-01-01T00:00:00Z"). */
export function rfc3339(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Node's process.arch as the OCI/Go architecture name. */
export function ociArchitecture(arch: string = process.arch): string {
  const names: Record<string, string> = {
    x64: 'amd64',
    arm64: 'arm64',
    arm: 'arm',
    ppc64: 'ppc64le',
    s390x: 's390x',
  };
  const name = names[arch];
  if (name === undefined) throw new Error(`unsupported architecture ${arch}`);
  return name;
}

/**
 * A reference's grammar, checked before anything is written, so a bad name fails with its field
 * named instead of later in containerd or a registry: [host[:port]/]path[:tag].
 */
export function validateReference(reference: string): void {
  const match =
    /^((?:[a-z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*)(?::([\w][\w.-]{0,127}))?$/.exec(
      reference,
    );
  if (match === null)
    throw new Error(`image reference ${JSON.stringify(reference)} is not a valid reference`);
}

function imageConfigJson(spec: ImageSpec): Json {
  const c = spec.config;
  const env =
    c.env === undefined
      ? undefined
      : Object.keys(c.env)
          .sort()
          .map((k) => `${k}=${c.env?.[k] ?? ''}`);
  const ports =
    c.exposedPorts === undefined
      ? undefined
      : Object.fromEntries([...c.exposedPorts].sort().map((p) => [p, {}]));
  const created = rfc3339(spec.created);
  return {
    created,
    architecture: spec.architecture,
    os: spec.os ?? 'linux',
    config: {
      User: c.user,
      Env: env,
      Entrypoint: c.entrypoint === undefined ? undefined : [...c.entrypoint],
      Cmd: c.cmd === undefined ? undefined : [...c.cmd],
      WorkingDir: c.workingDir,
      Labels: c.labels === undefined ? undefined : { ...c.labels },
      ExposedPorts: ports,
      StopSignal: c.stopSignal,
    },
    rootfs: { type: 'layers', diff_ids: spec.layers.map((l) => l.diffId) },
    history: spec.layers.map((l) => ({ created, created_by: `paddock images: ${l.description}` })),
  };
}

/** Build the config, manifest and index of an image from its layers. Pure. */
export function buildImage(spec: ImageSpec): Image {
  validateReference(spec.reference);
  if (spec.layers.length === 0) throw new Error(`image ${spec.reference}: at least one layer is needed`);
  const config = Buffer.from(canonicalJson(imageConfigJson(spec)));
  const configDigest = sha256Digest(config);
  const manifestJson: Json = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.manifest,
    config: { mediaType: MEDIA_TYPE.config, digest: configDigest, size: config.length },
    layers: spec.layers.map((l) => ({ mediaType: MEDIA_TYPE.layerGzip, digest: l.digest, size: l.size })),
    annotations: { 'org.opencontainers.image.created': rfc3339(spec.created) },
  };
  const manifest = Buffer.from(canonicalJson(manifestJson));
  const manifestDigest = sha256Digest(manifest);
  const index = Buffer.from(
    canonicalJson({
      schemaVersion: 2,
      mediaType: MEDIA_TYPE.index,
      manifests: [
        {
          mediaType: MEDIA_TYPE.manifest,
          digest: manifestDigest,
          size: manifest.length,
          platform: { architecture: spec.architecture, os: spec.os ?? 'linux' },
          annotations: {
            [REF_NAME_ANNOTATION]: spec.reference,
            [CONTAINERD_NAME_ANNOTATION]: spec.reference,
          },
        },
      ],
    }),
  );
  const blobs: Blob[] = [
    { digest: manifestDigest, mediaType: MEDIA_TYPE.manifest, data: manifest },
    { digest: configDigest, mediaType: MEDIA_TYPE.config, data: config },
    ...spec.layers.map((l) => ({ digest: l.digest, mediaType: MEDIA_TYPE.layerGzip, data: l.blob })),
  ];
  const head = manifest.length + config.length;
  return {
    reference: spec.reference,
    manifestDigest,
    configDigest,
    blobs,
    index,
    size: head + spec.layers.reduce((sum, l) => sum + l.size, 0),
    uncompressedSize: head + spec.layers.reduce((sum, l) => sum + l.uncompressedSize, 0),
    layers: spec.layers,
  };
}
