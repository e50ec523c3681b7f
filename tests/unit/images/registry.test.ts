// The daemonless pusher (images/src/registry.ts). Its HTTP side runs against a small in-process
// server implementing the OCI distribution calls it uses (blob HEAD, upload POST + PUT, manifest
// PUT, Bearer token service): a test double for this unit test only; it proves the client follows
// the protocol as written here, not that a given registry accepts it (docs/operations.md says what
// was checked against a real registry).
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ociArchiveChunks } from '../../../images/src/archive.ts';
import { buildLayer } from '../../../images/src/layer.ts';
import { buildImage } from '../../../images/src/oci.ts';
import { tagOf } from '../../../images/src/push.ts';
import {
  dockerCredentials,
  parseChallenge,
  parseRegistry,
  readOciArchive,
  RegistryClient,
  uploadCompletionUrl,
} from '../../../images/src/registry.ts';
import { readTarFiles } from '../../../images/src/tar.ts';

const image = buildImage({
  reference: 'paddock.local/agent-x:0.1.0',
  layers: [
    buildLayer([{ type: 'file', path: '/a', data: Buffer.from('a') }], { mtime: 0, description: 'a' }),
    buildLayer([{ type: 'file', path: '/b', data: Buffer.from('b'.repeat(5000)) }], {
      mtime: 0,
      description: 'b',
    }),
  ],
  config: { entrypoint: ['/a'] },
  created: 0,
  architecture: 'amd64',
});
const archive = Buffer.concat(ociArchiveChunks(image, 0));

describe('parseRegistry', () => {
  it('takes host[:port][/path], https unless loopback or http:// is given', () => {
    expect(parseRegistry('ghcr.io/my-org/paddock')).toEqual({
      baseUrl: 'https://ghcr.io',
      host: 'ghcr.io',
      prefix: 'my-org/paddock',
    });
    expect(parseRegistry('localhost:5000')).toEqual({
      baseUrl: 'http://localhost:5000',
      host: 'localhost:5000',
      prefix: '',
    });
    expect(parseRegistry('127.0.0.1:5000/x/')).toMatchObject({
      baseUrl: 'http://127.0.0.1:5000',
      prefix: 'x',
    });
    expect(parseRegistry('http://registry.lan:5000/p')).toMatchObject({
      baseUrl: 'http://registry.lan:5000',
      prefix: 'p',
    });
  });
  it('refuses an empty value, a missing host and a bad path, naming REGISTRY', () => {
    expect(() => parseRegistry('')).toThrow(/REGISTRY is empty/);
    expect(() => parseRegistry('myorg/paddock')).toThrow(/first part must be a registry host/);
    expect(() => parseRegistry('ghcr.io/My_Org')).toThrow(/path component "My_Org"/);
  });
});

describe('pure helpers', () => {
  it('parses Bearer and Basic challenges', () => {
    expect(
      parseChallenge(
        'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a:pull"',
      ),
    ).toEqual({
      scheme: 'bearer',
      params: {
        realm: 'https://auth.example/token',
        service: 'registry.example',
        scope: 'repository:a:pull',
      },
    });
    expect(parseChallenge('Basic realm="Registry"').scheme).toBe('basic');
  });
  it('finds credentials by host in a Docker config (auth, or username/password)', () => {
    const config = {
      auths: {
        'ghcr.io': { auth: 'dTpw' },
        'https://index.docker.io/v1/': { auth: 'x' },
        'registry.lan:5000': { username: 'u', password: 'p' },
      },
    };
    expect(dockerCredentials(config, 'ghcr.io')).toBe('dTpw');
    expect(dockerCredentials(config, 'registry.lan:5000')).toBe(Buffer.from('u:p').toString('base64'));
    expect(dockerCredentials(config, 'quay.io')).toBeUndefined();
    expect(dockerCredentials({ credHelpers: {} }, 'ghcr.io')).toBeUndefined();
  });
  it('completes an upload at the Location, relative or absolute, keeping its query', () => {
    expect(uploadCompletionUrl('/v2/r/blobs/uploads/1?state=s', 'http://h:1', 'sha256:ab')).toBe(
      'http://h:1/v2/r/blobs/uploads/1?state=s&digest=sha256%3Aab',
    );
    expect(uploadCompletionUrl('https://other/up/2', 'http://h:1', 'sha256:ab')).toBe(
      'https://other/up/2?digest=sha256%3Aab',
    );
  });
  it('takes the tag of a local reference', () => {
    expect(tagOf('paddock.local/agent-x:0.1.0')).toBe('0.1.0');
    expect(() => tagOf('localhost:5000/agent-x')).toThrow(/has no tag/);
  });
});

describe('readOciArchive', () => {
  it('reads the manifest and the config and layers in order, checking digests', () => {
    const read = readOciArchive(archive, 'x.oci.tar');
    expect(read.manifestDigest).toBe(image.manifestDigest);
    expect(read.blobs.map((b) => b.digest)).toEqual([
      image.configDigest,
      ...image.layers.map((l) => l.digest),
    ]);
    expect(readTarFiles(archive).map((f) => f.path)).toContain('oci-layout');
  });
  it('refuses a corrupted blob and a tar without index.json', () => {
    const corrupted = Buffer.from(archive);
    const layer = image.layers[1];
    if (layer === undefined) throw new Error('no layer');
    const at = corrupted.indexOf(layer.blob);
    corrupted[at + 20] = (corrupted[at + 20] ?? 0) ^ 0xff;
    expect(() => readOciArchive(corrupted, 'x.oci.tar')).toThrow(/does not match its digest/);
    expect(() => readOciArchive(Buffer.alloc(1024), 'empty.tar')).toThrow(/no index.json/);
  });
});

/** Test double: the distribution API calls the client makes, with a Bearer token service. */
class FakeRegistry {
  readonly blobs = new Map<string, Buffer>();
  readonly manifests = new Map<string, { body: Buffer; type: string }>();
  readonly log: string[] = [];
  server!: Server;
  url = '';
  private uploads = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(({ status, headers, body }) => {
        res.writeHead(status, headers);
        res.end(body);
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private async handle(
    req: IncomingMessage,
  ): Promise<{ status: number; headers?: Record<string, string>; body?: string }> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', this.url);
    this.log.push(`${req.method} ${url.pathname}`);
    if (url.pathname === '/token') {
      if (req.headers.authorization !== `Basic ${Buffer.from('user:secret').toString('base64')}`)
        return { status: 401 };
      if (url.searchParams.get('scope') !== 'repository:team/agent-x:pull,push') return { status: 403 };
      return { status: 200, body: JSON.stringify({ token: 'good-token' }) };
    }
    if (req.headers.authorization !== 'Bearer good-token') {
      return {
        status: 401,
        headers: { 'www-authenticate': `Bearer realm="${this.url}/token",service="fake"` },
      };
    }
    const m = /^\/v2\/(.+)\/(blobs|manifests)\/(.+)$/.exec(url.pathname);
    if (m === null) return { status: 404 };
    const [, , kind, ref = ''] = m;
    if (kind === 'blobs' && req.method === 'HEAD') return { status: this.blobs.has(ref) ? 200 : 404 };
    if (kind === 'blobs' && req.method === 'POST' && ref === 'uploads/') {
      return {
        status: 202,
        headers: { location: `/v2/${m[1]}/blobs/uploads/${++this.uploads}?state=opaque` },
      };
    }
    if (kind === 'blobs' && req.method === 'PUT' && ref.startsWith('uploads/')) {
      const digest = url.searchParams.get('digest') ?? '';
      if (url.searchParams.get('state') !== 'opaque') return { status: 400 };
      if (`sha256:${createHash('sha256').update(body).digest('hex')}` !== digest)
        return { status: 400, body: 'DIGEST_INVALID' };
      this.blobs.set(digest, body);
      return { status: 201 };
    }
    if (kind === 'manifests' && req.method === 'PUT') {
      const manifest = JSON.parse(body.toString()) as {
        config: { digest: string };
        layers: { digest: string }[];
      };
      for (const d of [manifest.config, ...manifest.layers])
        if (!this.blobs.has(d.digest)) return { status: 400, body: 'BLOB_UNKNOWN' };
      this.manifests.set(ref, { body, type: req.headers['content-type'] ?? '' });
      return {
        status: 201,
        headers: { 'docker-content-digest': `sha256:${createHash('sha256').update(body).digest('hex')}` },
      };
    }
    return { status: 405 };
  }
}

describe('RegistryClient against the test double', () => {
  const registry = new FakeRegistry();
  beforeAll(() => registry.start());
  afterAll(() => new Promise<void>((resolve) => registry.server.close(() => resolve())));
  const credentials = Buffer.from('user:secret').toString('base64');

  it('uploads every blob, then the manifest under the tag, with a Bearer token', async () => {
    const client = new RegistryClient(registry.url, 'team/agent-x', credentials);
    const result = await client.pushImage(readOciArchive(archive, 'x'), '0.1.0');
    expect(result).toMatchObject({ digest: image.manifestDigest, uploaded: 3, skipped: 0 });
    expect(result.reference).toMatch(/^127\.0\.0\.1:\d+\/team\/agent-x:0\.1\.0$/);
    for (const blob of image.blobs.slice(1))
      expect(registry.blobs.get(blob.digest)?.equals(blob.data)).toBe(true);
    expect(registry.manifests.get('0.1.0')?.type).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(registry.manifests.get('0.1.0')?.body.equals(image.blobs[0]?.data ?? Buffer.alloc(0))).toBe(true);
  });

  it('skips blobs the registry has on a second push', async () => {
    const client = new RegistryClient(registry.url, 'team/agent-x', credentials);
    const result = await client.pushImage(readOciArchive(archive, 'x'), 'latest');
    expect(result).toMatchObject({ uploaded: 0, skipped: 3 });
  });

  it('says the login is wrong when the token service refuses', async () => {
    const client = new RegistryClient(
      registry.url,
      'team/agent-x',
      Buffer.from('user:wrong').toString('base64'),
    );
    await expect(client.pushImage(readOciArchive(archive, 'x'), '0.1.0')).rejects.toThrow(
      /token service answered 401.*check the login/,
    );
  });
});
