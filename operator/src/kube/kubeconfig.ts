// Where the API server is and how to authenticate to it: kubeconfig files
// (KUBECONFIG, ~/.kube/config) and in-cluster ServiceAccount configuration.
//
// Why not @kubernetes/client-node's KubeConfig: importing it loads the whole
// generated API (measured on Node 24: ~0.7 s and ~80 MiB of RSS), which alone
// would spend most of the operator's memory budget (docs/benchmarks.md, "The
// performance budget"; docs/design.md, "Departures from the notes"). What the
// operator needs is small and well specified, so it lives here, with tests:
// bearer tokens (inline, files re-read as they rotate, exec credential plugins
// with expiry), client certificates, CA bundles, insecure-skip-tls-verify,
// tls-server-name, and the in-cluster ServiceAccount token and CA.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { errorMessage } from '../util/errors.ts';

export interface Credentials {
  readonly token?: string;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

export interface Connection {
  readonly server: string;
  readonly ca?: Buffer;
  readonly insecureSkipTLSVerify: boolean;
  readonly tlsServerName?: string;
  /** Default namespace of the context (or the pod's namespace in cluster). */
  readonly namespace?: string;
  /** Static client certificate from the kubeconfig (exec plugins may return their own). */
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** Current credentials; called per request, cheap when nothing changed. */
  credentials(): Promise<Credentials>;
  /** Where this came from, for log lines (never contains secrets). */
  readonly source: string;
}

interface RawNamed<T> {
  name: string;
  cluster?: T;
  user?: T;
  context?: T;
}
interface RawCluster {
  server?: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'tls-server-name'?: string;
}
interface RawExec {
  command: string;
  args?: string[];
  env?: Array<{ name: string; value: string }>;
  apiVersion?: string;
  provideClusterInfo?: boolean;
}
interface RawUser {
  token?: string;
  tokenFile?: string;
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  exec?: RawExec;
  'auth-provider'?: unknown;
  username?: string;
}
interface RawContext {
  cluster: string;
  user: string;
  namespace?: string;
}
interface RawKubeconfig {
  clusters?: Array<RawNamed<RawCluster>>;
  users?: Array<RawNamed<RawUser>>;
  contexts?: Array<RawNamed<RawContext>>;
  'current-context'?: string;
}

export class KubeconfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeconfigError';
  }
}

export const IN_CLUSTER_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * The configuration kubectl would use: an explicit file, else $KUBECONFIG
 * (colon-separated, merged first-wins like kubectl), else ~/.kube/config, else
 * in-cluster.
 */
export function loadConnection(path?: string, env: NodeJS.ProcessEnv = process.env): Connection {
  if (path) return fromKubeconfigFiles([path], env);
  const fromEnv = (env['KUBECONFIG'] ?? '').split(':').filter((p) => p !== '');
  const existing = fromEnv.filter((p) => existsSync(p));
  if (existing.length > 0) return fromKubeconfigFiles(existing, env);
  const home = join(homedir(), '.kube', 'config');
  if (existsSync(home)) return fromKubeconfigFiles([home], env);
  if (env['KUBERNETES_SERVICE_HOST'] && existsSync(join(IN_CLUSTER_DIR, 'token'))) return inCluster(env);
  throw new KubeconfigError(
    'no Kubernetes configuration found: pass --kubeconfig, set KUBECONFIG, create ~/.kube/config, or run in a cluster',
  );
}

export function fromKubeconfigFiles(
  paths: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Connection {
  const merged: Required<Pick<RawKubeconfig, 'clusters' | 'users' | 'contexts'>> & { current?: string } = {
    clusters: [],
    users: [],
    contexts: [],
  };
  const baseOf = new Map<object, string>();
  for (const p of paths) {
    let raw: RawKubeconfig;
    try {
      raw = (parse(readFileSync(p, 'utf8')) ?? {}) as RawKubeconfig;
    } catch (err) {
      throw new KubeconfigError(`${p}: cannot read kubeconfig: ${errorMessage(err)}`);
    }
    const base = dirname(resolve(p));
    // First definition of a name wins, as in kubectl's merge.
    for (const c of raw.clusters ?? []) {
      if (merged.clusters.some((x) => x.name === c.name)) continue;
      merged.clusters.push(c);
      baseOf.set(c, base); // relative file paths resolve against the file that named them
    }
    for (const u of raw.users ?? []) {
      if (merged.users.some((x) => x.name === u.name)) continue;
      merged.users.push(u);
      baseOf.set(u, base);
    }
    for (const c of raw.contexts ?? [])
      if (!merged.contexts.some((x) => x.name === c.name)) merged.contexts.push(c);
    merged.current ??= raw['current-context'] || undefined;
  }
  const where = paths.join(':');
  if (!merged.current) throw new KubeconfigError(`${where}: no current-context`);
  const ctx = merged.contexts.find((c) => c.name === merged.current)?.context;
  if (!ctx) throw new KubeconfigError(`${where}: context "${merged.current}" is not defined`);
  const clusterEntry = merged.clusters.find((c) => c.name === ctx.cluster);
  const cluster = clusterEntry?.cluster;
  if (!cluster?.server) throw new KubeconfigError(`${where}: cluster "${ctx.cluster}" has no server`);
  const userEntry = merged.users.find((u) => u.name === ctx.user);
  const user: RawUser = userEntry?.user ?? {};
  const cbase = clusterEntry ? (baseOf.get(clusterEntry) ?? '.') : '.';
  const ubase = userEntry ? (baseOf.get(userEntry) ?? '.') : '.';
  if (user['auth-provider']) {
    throw new KubeconfigError(
      `${where}: user "${ctx.user}" uses an auth-provider, which Kubernetes removed; use an exec credential plugin instead`,
    );
  }
  if (user.username) {
    throw new KubeconfigError(
      `${where}: user "${ctx.user}" uses basic auth, which Kubernetes no longer supports`,
    );
  }
  const ca = bytes(cluster['certificate-authority-data'], cluster['certificate-authority'], cbase);
  const cert = bytes(user['client-certificate-data'], user['client-certificate'], ubase);
  const key = bytes(user['client-key-data'], user['client-key'], ubase);
  return {
    server: cluster.server.replace(/\/+$/, ''),
    ...(ca ? { ca } : {}),
    insecureSkipTLSVerify: cluster['insecure-skip-tls-verify'] === true,
    ...(cluster['tls-server-name'] ? { tlsServerName: cluster['tls-server-name'] } : {}),
    ...(ctx.namespace ? { namespace: ctx.namespace } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    credentials: credentialSource(user, ubase, cluster, env),
    source: `kubeconfig ${where} (context ${merged.current})`,
  };
}

/** In a pod: the ServiceAccount token (re-read as the kubelet rotates it) and cluster CA. */
export function inCluster(env: NodeJS.ProcessEnv = process.env, dir = IN_CLUSTER_DIR): Connection {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'] ?? '443';
  if (!host) throw new KubeconfigError('not in a cluster: KUBERNETES_SERVICE_HOST is not set');
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let namespace: string | undefined;
  try {
    namespace = readFileSync(join(dir, 'namespace'), 'utf8').trim();
  } catch {
    namespace = undefined;
  }
  return {
    server,
    ca: readFileSync(join(dir, 'ca.crt')),
    insecureSkipTLSVerify: false,
    ...(namespace ? { namespace } : {}),
    credentials: tokenFileSource(join(dir, 'token')),
    source: 'in-cluster ServiceAccount',
  };
}

function bytes(data: string | undefined, file: string | undefined, base: string): Buffer | undefined {
  if (data) return Buffer.from(data, 'base64');
  if (file) return readFileSync(isAbsolute(file) ? file : join(base, file));
  return undefined;
}

function credentialSource(
  user: RawUser,
  base: string,
  cluster: RawCluster,
  env: NodeJS.ProcessEnv,
): () => Promise<Credentials> {
  if (user.exec) {
    // As kubectl: a command with a path separator is relative to the kubeconfig's directory;
    // a bare name is looked up in PATH.
    const cmd = user.exec.command;
    const command = cmd.includes('/') && !isAbsolute(cmd) ? join(base, cmd) : cmd;
    return execSource({ ...user.exec, command }, cluster, env);
  }
  if (user.tokenFile)
    return tokenFileSource(isAbsolute(user.tokenFile) ? user.tokenFile : join(base, user.tokenFile));
  const token = user.token;
  return () => Promise.resolve(token ? { token } : {});
}

/** A token file, re-read at most once a minute (projected tokens rotate). */
export function tokenFileSource(path: string, now: () => number = Date.now): () => Promise<Credentials> {
  let cached: { token: string; at: number } | undefined;
  // In a promise executor, so a missing or unreadable file rejects instead of throwing synchronously.
  return () =>
    new Promise((resolvePromise) => {
      if (!cached || now() - cached.at > 60_000)
        cached = { token: readFileSync(path, 'utf8').trim(), at: now() };
      resolvePromise({ token: cached.token });
    });
}

interface ExecCredentialStatus {
  token?: string;
  clientCertificateData?: string;
  clientKeyData?: string;
  expirationTimestamp?: string;
}

/**
 * client.authentication.k8s.io exec plugins: run the command, cache the
 * credential until shortly before it expires (or for the process lifetime when
 * it does not say). Concurrent callers share one run.
 */
export function execSource(
  exec: RawExec,
  cluster: RawCluster,
  env: NodeJS.ProcessEnv,
  now: () => number = Date.now,
): () => Promise<Credentials> {
  let cached: { creds: Credentials; expires: number } | undefined;
  let running: Promise<Credentials> | undefined;
  const apiVersion = exec.apiVersion ?? 'client.authentication.k8s.io/v1';
  const run = (): Promise<Credentials> =>
    new Promise((resolvePromise, reject) => {
      const info = {
        apiVersion,
        kind: 'ExecCredential',
        spec: {
          interactive: false,
          ...(exec.provideClusterInfo
            ? {
                cluster: {
                  server: cluster.server,
                  'certificate-authority-data': cluster['certificate-authority-data'],
                },
              }
            : {}),
        },
      };
      const childEnv: NodeJS.ProcessEnv = { ...env, KUBERNETES_EXEC_INFO: JSON.stringify(info) };
      for (const e of exec.env ?? []) childEnv[e.name] = e.value;
      execFile(
        exec.command,
        exec.args ?? [],
        { env: childEnv, timeout: 60_000, maxBuffer: 1 << 20 },
        (err, stdout) => {
          if (err) {
            // The plugin's stderr may hold secrets or noise; name the command and the failure only.
            reject(
              new KubeconfigError(
                `exec credential plugin "${exec.command}" failed: ${err.message.split('\n')[0] ?? ''}`,
              ),
            );
            return;
          }
          try {
            const status = (JSON.parse(stdout) as { status?: ExecCredentialStatus }).status;
            // As client-go: no status, no credential, or half a key pair is an error — not an
            // empty credential cached for good (which would send every request unauthenticated).
            if (!status) throw new Error('no status');
            if (!status.token && !status.clientCertificateData && !status.clientKeyData)
              throw new Error('no credential');
            if (!status.clientCertificateData !== !status.clientKeyData) throw new Error('half a key pair');
            const creds: Credentials = {
              ...(status.token ? { token: status.token } : {}),
              ...(status.clientCertificateData ? { cert: Buffer.from(status.clientCertificateData) } : {}),
              ...(status.clientKeyData ? { key: Buffer.from(status.clientKeyData) } : {}),
            };
            const exp = status.expirationTimestamp
              ? Date.parse(status.expirationTimestamp)
              : Number.POSITIVE_INFINITY;
            // Refresh a little early so a request never carries a token about to expire.
            cached = { creds, expires: exp - 10_000 };
            resolvePromise(creds);
          } catch {
            reject(
              new KubeconfigError(`exec credential plugin "${exec.command}" printed no valid ExecCredential`),
            );
          }
        },
      );
    });
  return () => {
    if (cached && now() < cached.expires) return Promise.resolve(cached.creds);
    running ??= run().finally(() => {
      running = undefined;
    });
    return running;
  };
}
