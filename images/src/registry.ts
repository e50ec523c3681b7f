// A minimal OCI distribution client that pushes an OCI archive to a registry without a daemon
// (docs/operations.md, "Pushing the images"): each blob is checked with HEAD and uploaded with
// POST + PUT (monolithic upload) when missing, then the manifest is PUT under the tag. Auth: none,
// Basic, or Bearer tokens from the registry's token service, with the credentials of
// ~/.docker/config.json ("auths" entries; credential helpers are not supported).
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { sha256Digest } from './layer.ts';
import { MEDIA_TYPE } from './oci.ts';
import { readTarFiles } from './tar.ts';

export interface RegistryTarget {
  /** "https://host[:port]" (http:// for loopback registries or an explicit http:// prefix). */
  readonly baseUrl: string;
  /** The host as credentials are keyed in ~/.docker/config.json ("host[:port]"). */
  readonly host: string;
  /** Repository path prefix ("team/paddock"), possibly empty. */
  readonly prefix: string;
}

/**
 * REGISTRY as given to `make push`: "host[:port][/path]", optionally with http:// or https://.
 * The host is required (no implicit Docker Hub), so an image never goes somewhere unintended.
 */
export function parseRegistry(registry: string): RegistryTarget {
  const trimmed = registry.trim().replace(/\/+$/, '');
  if (trimmed === '')
    throw new Error('REGISTRY is empty: give host[:port][/path], e.g. REGISTRY=ghcr.io/my-org');
  const schemeMatch = /^(https?):\/\//.exec(trimmed);
  const rest = schemeMatch === null ? trimmed : trimmed.slice(schemeMatch[0].length);
  const [host = '', ...path] = rest.split('/');
  if (
    !/^[A-Za-z0-9.-]+(:\d+)?$/.test(host) ||
    !(host.includes('.') || host.includes(':') || host === 'localhost')
  ) {
    throw new Error(
      `REGISTRY ${JSON.stringify(registry)}: the first part must be a registry host (with a dot or a port), e.g. ghcr.io/my-org`,
    );
  }
  for (const part of path) {
    if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/.test(part)) {
      throw new Error(
        `REGISTRY ${JSON.stringify(registry)}: path component ${JSON.stringify(part)} is not a valid repository name`,
      );
    }
  }
  const loopback = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/.test(host);
  const scheme = schemeMatch?.[1] ?? (loopback ? 'http' : 'https');
  return { baseUrl: `${scheme}://${host}`, host, prefix: path.join('/') };
}

/** "name=value" pairs of a WWW-Authenticate challenge, e.g. Bearer realm="...",service="...". */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const match = /^\s*(\w+)\s*(.*)$/.exec(header);
  if (match === null) return { scheme: '', params: {} };
  const params: Record<string, string> = {};
  for (const m of (match[2] ?? '').matchAll(/(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    const key = m[1];
    if (key !== undefined) params[key] = m[2] ?? m[3] ?? '';
  }
  return { scheme: (match[1] ?? '').toLowerCase(), params };
}

/** The base64 "user:password" for `host` from a Docker config.json, if it has one. */
export function dockerCredentials(config: unknown, host: string): string | undefined {
  const auths = (
    config as { auths?: Record<string, { auth?: string; username?: string; password?: string }> } | null
  )?.auths;
  if (auths === undefined) return undefined;
  const candidates = [
    host,
    `https://${host}`,
    `http://${host}`,
    `https://${host}/v1/`,
    `https://${host}/v2/`,
  ];
  for (const key of candidates) {
    const entry = auths[key];
    if (entry === undefined) continue;
    if (typeof entry.auth === 'string' && entry.auth !== '') return entry.auth;
    if (typeof entry.username === 'string' && typeof entry.password === 'string') {
      return Buffer.from(`${entry.username}:${entry.password}`).toString('base64');
    }
  }
  return undefined;
}

/** Reads ~/.docker/config.json (or $DOCKER_CONFIG/config.json); no file means no credentials. */
export async function loadDockerCredentials(
  host: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  const file = join(env['DOCKER_CONFIG'] ?? join(homedir(), '.docker'), 'config.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  return dockerCredentials(JSON.parse(text) as unknown, host);
}

/** The PUT that completes a monolithic upload: the Location of the POST plus digest=... */
export function uploadCompletionUrl(location: string, baseUrl: string, digest: string): string {
  const url = new URL(location, `${baseUrl}/`);
  url.searchParams.set('digest', digest);
  return url.toString();
}

/** An image read back from an OCI archive: its manifest and every blob it names. */
export interface ArchiveImage {
  readonly manifestDigest: string;
  readonly manifestMediaType: string;
  readonly manifest: Buffer;
  /** Config then layers, in the manifest's order. */
  readonly blobs: readonly { readonly digest: string; readonly data: Buffer }[];
}

/** Parse an OCI archive (index.json with one image manifest) and check every blob's digest. */
export function readOciArchive(tar: Buffer, where: string): ArchiveImage {
  const files = new Map(readTarFiles(tar).map((f) => [f.path, f.data]));
  const blob = (digest: string): Buffer => {
    const data = files.get(`blobs/${digest.replace(':', '/')}`);
    if (data === undefined) throw new Error(`${where}: blob ${digest} is missing`);
    if (sha256Digest(data) !== digest) throw new Error(`${where}: blob ${digest} does not match its digest`);
    return data;
  };
  const indexData = files.get('index.json');
  if (indexData === undefined) throw new Error(`${where}: no index.json (not an OCI image layout archive)`);
  const index = JSON.parse(indexData.toString('utf8')) as {
    manifests?: { digest: string; mediaType?: string }[];
  };
  const descriptor = index.manifests?.[0];
  if (descriptor === undefined || index.manifests?.length !== 1) {
    throw new Error(`${where}: index.json must name exactly one manifest`);
  }
  const manifest = blob(descriptor.digest);
  const parsed = JSON.parse(manifest.toString('utf8')) as {
    mediaType?: string;
    config: { digest: string };
    layers: { digest: string }[];
  };
  return {
    manifestDigest: descriptor.digest,
    manifestMediaType: parsed.mediaType ?? descriptor.mediaType ?? MEDIA_TYPE.manifest,
    manifest,
    blobs: [parsed.config, ...parsed.layers].map((d) => ({ digest: d.digest, data: blob(d.digest) })),
  };
}

export type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

export interface PushResult {
  readonly reference: string;
  readonly digest: string;
  readonly uploaded: number;
  readonly skipped: number;
}

/** Pushes images to one repository of one registry, authenticating as the registry asks. */
export class RegistryClient {
  private authorization: string | undefined;
  private readonly baseUrl: string;
  private readonly repository: string;
  private readonly credentials: string | undefined;
  private readonly fetch: Fetch;

  constructor(
    baseUrl: string,
    repository: string,
    credentials: string | undefined,
    fetch: Fetch = globalThis.fetch,
  ) {
    this.baseUrl = baseUrl;
    this.repository = repository;
    this.credentials = credentials;
    this.fetch = fetch;
  }

  /** One request, answering a 401 challenge once (Basic, or a Bearer token for push and pull). */
  private async request(
    method: string,
    url: string,
    init: { body?: Buffer; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const send = (): Promise<Response> =>
      this.fetch(url, {
        method,
        headers: {
          ...init.headers,
          ...(this.authorization !== undefined ? { authorization: this.authorization } : {}),
        },
        ...(init.body !== undefined ? { body: init.body } : {}),
        redirect: 'follow',
      });
    const first = await send();
    if (first.status !== 401) return first;
    await first.body?.cancel();
    const challenge = parseChallenge(first.headers.get('www-authenticate') ?? '');
    if (challenge.scheme === 'basic') {
      if (this.credentials === undefined)
        throw new Error(
          `${this.baseUrl}: the registry asks for a login (no credentials for it in ~/.docker/config.json)`,
        );
      this.authorization = `Basic ${this.credentials}`;
    } else if (challenge.scheme === 'bearer') {
      const realm = challenge.params['realm'];
      if (realm === undefined) throw new Error(`${this.baseUrl}: Bearer challenge without a realm`);
      const tokenUrl = new URL(realm);
      if (challenge.params['service'] !== undefined)
        tokenUrl.searchParams.set('service', challenge.params['service']);
      tokenUrl.searchParams.set('scope', `repository:${this.repository}:pull,push`);
      const tokenResponse = await this.fetch(tokenUrl.toString(), {
        headers: this.credentials !== undefined ? { authorization: `Basic ${this.credentials}` } : {},
      });
      if (!tokenResponse.ok) {
        throw new Error(
          `${this.baseUrl}: token service answered ${tokenResponse.status} for ${this.repository} (check the login)`,
        );
      }
      const body = (await tokenResponse.json()) as { token?: string; access_token?: string };
      const token = body.token ?? body.access_token;
      if (token === undefined) throw new Error(`${this.baseUrl}: token service gave no token`);
      this.authorization = `Bearer ${token}`;
    } else {
      throw new Error(`${this.baseUrl}: unsupported authentication ${JSON.stringify(challenge.scheme)}`);
    }
    const second = await send();
    if (second.status === 401)
      throw new Error(`${this.baseUrl}: not authorized to push ${this.repository} (check the login)`);
    return second;
  }

  private url(path: string): string {
    return `${this.baseUrl}/v2/${this.repository}/${path}`;
  }

  /** Uploads a blob unless the registry has it; true when uploaded. */
  async pushBlob(digest: string, data: Buffer): Promise<boolean> {
    const head = await this.request('HEAD', this.url(`blobs/${digest}`));
    if (head.status === 200) return false;
    const start = await this.request('POST', this.url('blobs/uploads/'));
    await start.body?.cancel();
    const location = start.headers.get('location');
    if (start.status !== 202 || location === null) {
      throw new Error(`${this.baseUrl}: starting the upload of ${digest} answered ${start.status}`);
    }
    const put = await this.request('PUT', uploadCompletionUrl(location, this.baseUrl, digest), {
      body: data,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(data.length) },
    });
    const text = await put.text();
    if (put.status !== 201)
      throw new Error(`${this.baseUrl}: uploading ${digest} answered ${put.status} ${text.slice(0, 200)}`);
    return true;
  }

  /** Pushes every blob of the image, then its manifest under `tag`. */
  async pushImage(image: ArchiveImage, tag: string): Promise<PushResult> {
    let uploaded = 0;
    let skipped = 0;
    for (const blob of image.blobs) {
      if (await this.pushBlob(blob.digest, blob.data)) uploaded++;
      else skipped++;
    }
    const put = await this.request('PUT', this.url(`manifests/${tag}`), {
      body: image.manifest,
      headers: { 'content-type': image.manifestMediaType },
    });
    const text = await put.text();
    if (put.status !== 201)
      throw new Error(`${this.baseUrl}: putting the manifest answered ${put.status} ${text.slice(0, 200)}`);
    const echoed = put.headers.get('docker-content-digest');
    if (echoed !== null && echoed !== image.manifestDigest) {
      throw new Error(
        `${this.baseUrl}: the registry stored the manifest as ${echoed}, not ${image.manifestDigest}`,
      );
    }
    const host = new URL(this.baseUrl).host;
    return {
      reference: `${host}/${this.repository}:${tag}`,
      digest: image.manifestDigest,
      uploaded,
      skipped,
    };
  }
}
