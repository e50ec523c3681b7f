// OCI config, manifest, index (images/src/oci.ts) and the layout archive (images/src/archive.ts):
// the fields the OCI image spec requires, digests that match the blobs, and equal archives for
// equal inputs.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeImage } from '../../../images/src/index.ts';
import { buildLayer, sha256Digest } from '../../../images/src/layer.ts';
import {
  buildImage,
  canonicalJson,
  MEDIA_TYPE,
  ociArchitecture,
  validateReference,
} from '../../../images/src/oci.ts';

const work = mkdtempSync(join(tmpdir(), 'paddock-oci-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const runtime = buildLayer([{ type: 'file', path: '/bin/tool', data: Buffer.from('tool'), mode: 0o755 }], {
  mtime: 0,
  description: 'runtime',
});
const app = buildLayer([{ type: 'file', path: '/app/a.js', data: Buffer.from('a') }], {
  mtime: 0,
  description: 'app',
});
const spec = {
  reference: 'paddock.local/example:0.1.0',
  layers: [runtime, app],
  config: {
    entrypoint: ['/bin/tool'],
    cmd: ['/app/a.js'],
    env: { PATH: '/bin', NODE_ENV: 'production' },
    user: '65532:65532',
    workingDir: '/app',
    labels: { 'org.opencontainers.image.title': 'example' },
    exposedPorts: ['8080/tcp'],
  },
  created: 0,
  architecture: 'amd64',
};

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string };
}

describe('buildImage', () => {
  const image = buildImage(spec);
  const blob = (digest: string): Buffer => {
    const found = image.blobs.find((b) => b.digest === digest);
    if (found === undefined) throw new Error(`no blob ${digest}`);
    return found.data;
  };

  it('writes a manifest with the spec fields and descriptors matching the blobs', () => {
    const manifest = JSON.parse(blob(image.manifestDigest).toString()) as {
      schemaVersion: number;
      mediaType: string;
      config: Descriptor;
      layers: Descriptor[];
    };
    expect(manifest.schemaVersion).toBe(2);
    expect(manifest.mediaType).toBe(MEDIA_TYPE.manifest);
    expect(manifest.config).toEqual({
      mediaType: MEDIA_TYPE.config,
      digest: image.configDigest,
      size: blob(image.configDigest).length,
    });
    expect(manifest.layers).toEqual([
      { mediaType: MEDIA_TYPE.layerGzip, digest: runtime.digest, size: runtime.size },
      { mediaType: MEDIA_TYPE.layerGzip, digest: app.digest, size: app.size },
    ]);
    for (const b of image.blobs) expect(sha256Digest(b.data)).toBe(b.digest);
  });

  it('writes a config with rootfs diff_ids, history per layer and the runtime settings', () => {
    const config = JSON.parse(blob(image.configDigest).toString()) as Record<string, unknown>;
    expect(config).toMatchObject({
      architecture: 'amd64',
      os: 'linux',
      created: '1970-01-01T00:00:00Z',
      rootfs: { type: 'layers', diff_ids: [runtime.diffId, app.diffId] },
      config: {
        User: '65532:65532',
        Entrypoint: ['/bin/tool'],
        Cmd: ['/app/a.js'],
        Env: ['NODE_ENV=production', 'PATH=/bin'],
        WorkingDir: '/app',
        ExposedPorts: { '8080/tcp': {} },
        Labels: { 'org.opencontainers.image.title': 'example' },
      },
    });
    expect(config['history']).toHaveLength(2);
  });

  it('names the image in index.json for skopeo/crane (ref.name) and containerd (image.name)', () => {
    const index = JSON.parse(image.index.toString()) as {
      schemaVersion: number;
      mediaType: string;
      manifests: Descriptor[];
    };
    expect(index.schemaVersion).toBe(2);
    expect(index.mediaType).toBe(MEDIA_TYPE.index);
    expect(index.manifests).toEqual([
      {
        mediaType: MEDIA_TYPE.manifest,
        digest: image.manifestDigest,
        size: blob(image.manifestDigest).length,
        platform: { architecture: 'amd64', os: 'linux' },
        annotations: {
          'org.opencontainers.image.ref.name': 'paddock.local/example:0.1.0',
          'io.containerd.image.name': 'paddock.local/example:0.1.0',
        },
      },
    ]);
  });

  it('gives the same digest for equal inputs and another one when the config changes', () => {
    expect(buildImage(spec).manifestDigest).toBe(image.manifestDigest);
    expect(buildImage({ ...spec, config: { ...spec.config, user: '0:0' } }).manifestDigest).not.toBe(
      image.manifestDigest,
    );
    // env given in another key order is the same image
    const env = { NODE_ENV: 'production', PATH: '/bin' };
    expect(buildImage({ ...spec, config: { ...spec.config, env } }).manifestDigest).toBe(
      image.manifestDigest,
    );
  });

  it('counts sizes: compressed and uncompressed', () => {
    const head = blob(image.manifestDigest).length + blob(image.configDigest).length;
    expect(image.size).toBe(head + runtime.size + app.size);
    expect(image.uncompressedSize).toBe(head + runtime.uncompressedSize + app.uncompressedSize);
  });

  it('refuses a bad reference and an image without layers, naming them', () => {
    expect(() => buildImage({ ...spec, reference: 'Paddock/Upper:1' })).toThrow(
      /image reference "Paddock\/Upper:1"/,
    );
    expect(() => buildImage({ ...spec, layers: [] })).toThrow(/at least one layer/);
    expect(() => validateReference('localhost:5000/a/b-c:v1.2')).not.toThrow();
    expect(() => validateReference('paddock.local/agent-x')).not.toThrow();
  });
});

describe('canonicalJson and ociArchitecture', () => {
  it('sorts keys at every level and leaves undefined out', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: undefined } })).toBe(
      '{"a":{"d":[2,{"e":0,"f":1}]},"b":1}',
    );
  });
  it('maps Node architectures to OCI names', () => {
    expect(ociArchitecture('x64')).toBe('amd64');
    expect(ociArchitecture('arm64')).toBe('arm64');
    expect(() => ociArchitecture('mips')).toThrow(/unsupported architecture mips/);
  });
});

describe('writeImage (OCI image layout archive)', () => {
  const options = (path: string) => ({
    reference: 'paddock.local/example:0.1.0',
    layers: [
      runtime,
      { description: 'app', entries: [{ type: 'file' as const, path: '/app/a.js', data: Buffer.from('a') }] },
    ],
    config: { entrypoint: ['/bin/tool'], user: '65532:65532' },
    path,
    epoch: 0,
    architecture: 'amd64',
  });

  it('writes oci-layout, index.json and every blob under blobs/sha256, named by digest', async () => {
    const path = join(work, 'a.oci.tar');
    const image = await writeImage(options(path));
    const listing = execFileSync('tar', ['-tf', path], { encoding: 'utf8' }).trim().split('\n');
    expect(listing).toContain('oci-layout');
    expect(listing).toContain('index.json');
    expect(
      listing.filter((p) => p.startsWith('blobs/sha256/') && p.length > 'blobs/sha256/'.length),
    ).toHaveLength(4);
    const out = join(work, 'a');
    execFileSync('mkdir', ['-p', out]);
    execFileSync('tar', ['-xf', path, '-C', out]);
    expect(JSON.parse(readFileSync(join(out, 'oci-layout'), 'utf8'))).toEqual({
      imageLayoutVersion: '1.0.0',
    });
    for (const name of readdirSync(join(out, 'blobs/sha256'))) {
      expect(sha256Digest(readFileSync(join(out, 'blobs/sha256', name)))).toBe(`sha256:${name}`);
    }
    expect(readFileSync(join(out, 'index.json')).equals(image.index)).toBe(true);
    // the app layer built from entries equals the prebuilt one
    expect(image.layers[1]?.digest).toBe(app.digest);
  });

  it('writes byte-identical archives twice', async () => {
    const first = await writeImage(options(join(work, 'b1.oci.tar')));
    const second = await writeImage(options(join(work, 'b2.oci.tar')));
    expect(second.manifestDigest).toBe(first.manifestDigest);
    expect(readFileSync(join(work, 'b1.oci.tar')).equals(readFileSync(join(work, 'b2.oci.tar')))).toBe(true);
  });
});
