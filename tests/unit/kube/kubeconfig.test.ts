import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import {
  execSource,
  fromKubeconfigFiles,
  inCluster,
  KubeconfigError,
  loadConnection,
  tokenFileSource,
  type Connection,
} from '../../../operator/src/kube/kubeconfig.ts';

// --- temp files --------------------------------------------------------------------------------

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'paddock-kubeconfig-'));
});
afterEach(() => {
  vi.unstubAllEnvs();
  rmSync(tmp, { recursive: true, force: true });
});

function write(rel: string, content: string | Buffer): string {
  const p = join(tmp, rel);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, content);
  return p;
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

interface Named {
  name: string;
  [k: string]: unknown;
}
interface Kubeconfig {
  'current-context'?: string;
  clusters?: Array<Named & { cluster: Record<string, unknown> }>;
  users?: Array<Named & { user: Record<string, unknown> }>;
  contexts?: Array<Named & { context: Record<string, unknown> }>;
}

function kubeconfig(rel: string, cfg: Kubeconfig): string {
  return write(rel, stringify({ apiVersion: 'v1', kind: 'Config', ...cfg }));
}

/** One cluster, one user, one context, all named "dev". */
function simple(
  cluster: Record<string, unknown> = { server: 'https://dev.example:6443' },
  user: Record<string, unknown> = { token: 'dev-token' },
  context: Record<string, unknown> = {},
): Kubeconfig {
  return {
    'current-context': 'dev',
    clusters: [{ name: 'dev', cluster }],
    users: [{ name: 'dev', user }],
    contexts: [{ name: 'dev', context: { cluster: 'dev', user: 'dev', ...context } }],
  };
}

function kubeconfigError(fn: () => unknown): KubeconfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(KubeconfigError);
    return err as KubeconfigError;
  }
  throw new Error('expected a KubeconfigError, nothing was thrown');
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(Error);
    return err as Error;
  }
  throw new Error('expected the promise to reject');
}

// --- kubeconfig files --------------------------------------------------------------------------

describe('fromKubeconfigFiles', () => {
  it('resolves current-context to its cluster, user and namespace', async () => {
    const path = kubeconfig('config', {
      'current-context': 'prod',
      clusters: [
        { name: 'dev-cluster', cluster: { server: 'https://dev.example:6443' } },
        {
          name: 'prod-cluster',
          cluster: {
            server: 'https://prod.example:6443/',
            'insecure-skip-tls-verify': true,
            'tls-server-name': 'kubernetes.default',
          },
        },
      ],
      users: [
        { name: 'dev-user', user: { token: 'dev-token' } },
        { name: 'prod-user', user: { token: 'prod-token' } },
      ],
      contexts: [
        { name: 'dev', context: { cluster: 'dev-cluster', user: 'dev-user', namespace: 'dev-ns' } },
        { name: 'prod', context: { cluster: 'prod-cluster', user: 'prod-user', namespace: 'prod-ns' } },
      ],
    });
    const c = fromKubeconfigFiles([path]);
    expect(c.server).toBe('https://prod.example:6443'); // trailing slash dropped
    expect(c.namespace).toBe('prod-ns');
    expect(c.insecureSkipTLSVerify).toBe(true);
    expect(c.tlsServerName).toBe('kubernetes.default');
    expect(c.ca).toBeUndefined();
    expect(await c.credentials()).toEqual({ token: 'prod-token' });
    expect(c.source).toBe(`kubeconfig ${path} (context prod)`);
    expect(c.source).not.toContain('prod-token');
  });

  it('defaults: TLS verified, no namespace, no tls-server-name; a context without a user has no credentials', async () => {
    const path = kubeconfig('config', {
      'current-context': 'anon',
      clusters: [{ name: 'c', cluster: { server: 'https://c.example' } }],
      contexts: [{ name: 'anon', context: { cluster: 'c', user: 'nobody' } }],
    });
    const c = fromKubeconfigFiles([path]);
    expect(c.insecureSkipTLSVerify).toBe(false);
    expect(c.namespace).toBeUndefined();
    expect(c.tlsServerName).toBeUndefined();
    expect(await c.credentials()).toEqual({});
  });

  it('names the file when there is no current-context', () => {
    const path = kubeconfig('config', { ...simple(), 'current-context': '' });
    const err = kubeconfigError(() => fromKubeconfigFiles([path]));
    expect(err.message).toBe(`${path}: no current-context`);
  });

  it('names the file and the context when the current context is not defined', () => {
    const path = kubeconfig('config', { ...simple(), 'current-context': 'nope' });
    const err = kubeconfigError(() => fromKubeconfigFiles([path]));
    expect(err.message).toContain(path);
    expect(err.message).toContain('context "nope" is not defined');
  });

  it('names the file and the cluster when the cluster is missing or has no server', () => {
    const missing = kubeconfig('missing', {
      ...simple(),
      contexts: [{ name: 'dev', context: { cluster: 'ghost', user: 'dev' } }],
    });
    const e1 = kubeconfigError(() => fromKubeconfigFiles([missing]));
    expect(e1.message).toContain(missing);
    expect(e1.message).toContain('cluster "ghost" has no server');

    const noServer = kubeconfig('no-server', simple({ 'insecure-skip-tls-verify': true }));
    const e2 = kubeconfigError(() => fromKubeconfigFiles([noServer]));
    expect(e2.message).toContain(noServer);
    expect(e2.message).toContain('cluster "dev" has no server');
  });

  it('names the file it cannot read or parse', () => {
    const absent = join(tmp, 'absent');
    const e1 = kubeconfigError(() => fromKubeconfigFiles([absent]));
    expect(e1.message).toMatch(new RegExp(`^${absent}: cannot read kubeconfig: .*ENOENT`));

    const broken = write('broken', 'clusters: [\n  - name: x\n  cluster: {');
    const e2 = kubeconfigError(() => fromKubeconfigFiles([broken]));
    expect(e2.message).toContain(`${broken}: cannot read kubeconfig`);
  });

  it('resolves relative CA, client certificate, key and tokenFile paths against the kubeconfig directory', async () => {
    write('kube/pki/ca.crt', 'CA-PEM');
    write('kube/pki/client.crt', 'CERT-PEM');
    write('secrets/client.key', 'KEY-PEM');
    write('kube/token', 'file-token\n');
    const path = kubeconfig(
      'kube/config',
      simple(
        { server: 'https://dev.example', 'certificate-authority': 'pki/ca.crt' },
        {
          'client-certificate': 'pki/client.crt',
          'client-key': '../secrets/client.key',
          tokenFile: 'token',
        },
      ),
    );
    expect(process.cwd()).not.toBe(join(tmp, 'kube')); // relative to the file, not the working directory
    const c = fromKubeconfigFiles([path]);
    expect(c.ca?.toString()).toBe('CA-PEM');
    expect(c.cert?.toString()).toBe('CERT-PEM');
    expect(c.key?.toString()).toBe('KEY-PEM');
    expect(await c.credentials()).toEqual({ token: 'file-token' });
  });

  it('reads absolute paths as they are', async () => {
    const ca = write('elsewhere/ca.crt', 'ABS-CA');
    const token = write('elsewhere/token', 'abs-token');
    const path = kubeconfig(
      'kube/config',
      simple({ server: 'https://dev.example', 'certificate-authority': ca }, { tokenFile: token }),
    );
    const c = fromKubeconfigFiles([path]);
    expect(c.ca?.toString()).toBe('ABS-CA');
    expect(await c.credentials()).toEqual({ token: 'abs-token' });
  });

  it('decodes the *-data fields from base64, preferring them over file paths', () => {
    const path = kubeconfig(
      'config',
      simple(
        {
          server: 'https://dev.example',
          'certificate-authority-data': b64('CA-DATA'),
          'certificate-authority': 'does-not-exist.crt',
        },
        {
          'client-certificate-data': b64('CERT-DATA'),
          'client-key-data': b64('KEY-DATA'),
          'client-key': 'does-not-exist.key',
        },
      ),
    );
    const c = fromKubeconfigFiles([path]);
    expect(c.ca?.toString()).toBe('CA-DATA');
    expect(c.cert?.toString()).toBe('CERT-DATA');
    expect(c.key?.toString()).toBe('KEY-DATA');
  });

  it('rejects auth-provider users with a clear error', () => {
    const path = kubeconfig(
      'config',
      simple(undefined, { 'auth-provider': { name: 'gcp', config: { 'access-token': 'secret-at' } } }),
    );
    const err = kubeconfigError(() => fromKubeconfigFiles([path]));
    expect(err.message).toContain(path);
    expect(err.message).toContain('user "dev" uses an auth-provider');
    expect(err.message).toContain('exec credential plugin');
    expect(err.message).not.toContain('secret-at');
  });

  it('rejects basic-auth users with a clear error that does not echo the password', () => {
    const path = kubeconfig('config', simple(undefined, { username: 'admin', password: 'hunter2' }));
    const err = kubeconfigError(() => fromKubeconfigFiles([path]));
    expect(err.message).toContain(path);
    expect(err.message).toContain('user "dev" uses basic auth');
    expect(err.message).not.toContain('hunter2');
  });
});

describe('merging several kubeconfig files (KUBECONFIG)', () => {
  function twoFiles(): { first: string; second: string; third: string } {
    write('b/ca.crt', 'CA-FROM-B-DIR');
    const first = kubeconfig('a/config', {
      // No current-context here: it comes from the first file that sets one.
      clusters: [{ name: 'shared', cluster: { server: 'https://from-a.example' } }],
      users: [{ name: 'me', user: { token: 'token-from-a' } }],
      contexts: [{ name: 'work', context: { cluster: 'shared', user: 'me', namespace: 'ns-a' } }],
    });
    const second = kubeconfig('b/config', {
      'current-context': 'work',
      clusters: [
        { name: 'shared', cluster: { server: 'https://from-b.example' } },
        { name: 'only-b', cluster: { server: 'https://only-b.example', 'certificate-authority': 'ca.crt' } },
      ],
      users: [{ name: 'me', user: { token: 'token-from-b' } }],
      contexts: [
        { name: 'work', context: { cluster: 'only-b', user: 'me', namespace: 'ns-b' } },
        { name: 'b-ctx', context: { cluster: 'only-b', user: 'me' } },
      ],
    });
    const third = kubeconfig('c/config', {
      'current-context': 'b-ctx',
      clusters: [],
    });
    return { first, second, third };
  }

  it('keeps the first definition of each cluster, user and context, and the first current-context', async () => {
    const { first, second, third } = twoFiles();
    const c = fromKubeconfigFiles([first, second, third]);
    expect(c.server).toBe('https://from-a.example'); // context "work" and cluster "shared" from a
    expect(c.namespace).toBe('ns-a');
    expect(await c.credentials()).toEqual({ token: 'token-from-a' });
    expect(c.source).toBe(`kubeconfig ${first}:${second}:${third} (context work)`);
  });

  it('uses the later file for names the earlier one lacks, resolving its paths against its own directory', () => {
    const { first, second } = twoFiles();
    const c = fromKubeconfigFiles([second, first]);
    expect(c.server).toBe('https://only-b.example');
    expect(c.ca?.toString()).toBe('CA-FROM-B-DIR');
  });

  it('takes current-context from the first file that sets it', () => {
    const { first, second, third } = twoFiles();
    expect(fromKubeconfigFiles([first, third, second]).source).toContain('(context b-ctx)');
  });

  it('names all files in errors', () => {
    const { first, third } = twoFiles();
    const err = kubeconfigError(() => fromKubeconfigFiles([first, third]));
    expect(err.message).toContain(`${first}:${third}`);
    expect(err.message).toContain('context "b-ctx" is not defined');
  });

  it('loadConnection merges $KUBECONFIG, skipping files that do not exist', async () => {
    const { first, second } = twoFiles();
    const env = { KUBECONFIG: `${join(tmp, 'nope')}::${first}:${second}` };
    const c = loadConnection(undefined, env);
    expect(c.server).toBe('https://from-a.example');
    expect(await c.credentials()).toEqual({ token: 'token-from-a' });
    expect(c.source).toBe(`kubeconfig ${first}:${second} (context work)`);
  });

  it('loadConnection prefers an explicit path over $KUBECONFIG', () => {
    const { first, second } = twoFiles();
    const explicit = kubeconfig('explicit', simple({ server: 'https://explicit.example' }));
    const c = loadConnection(explicit, { KUBECONFIG: `${first}:${second}` });
    expect(c.server).toBe('https://explicit.example');
  });

  it('loadConnection with an explicit path that does not exist fails naming it', () => {
    const missing = join(tmp, 'missing-config');
    const err = kubeconfigError(() => loadConnection(missing, {}));
    expect(err.message).toContain(missing);
  });
});

describe('~/.kube/config fallback', () => {
  // os.homedir() reads $HOME, and vitest runs unit tests in child processes, so stubbing the
  // variable moves "home" for loadConnection.
  function stubHome(): string {
    const home = join(tmp, 'home');
    mkdirSync(home, { recursive: true });
    vi.stubEnv('HOME', home);
    expect(homedir()).toBe(home);
    return home;
  }

  it('uses ~/.kube/config when $KUBECONFIG names no existing file', () => {
    const home = stubHome();
    const path = kubeconfig('home/.kube/config', simple({ server: 'https://home.example' }));
    expect(path).toBe(join(home, '.kube', 'config'));
    const c = loadConnection(undefined, { KUBECONFIG: join(tmp, 'absent') });
    expect(c.server).toBe('https://home.example');
    expect(c.source).toContain(path);
  });

  it('prefers $KUBECONFIG over ~/.kube/config', () => {
    stubHome();
    kubeconfig('home/.kube/config', simple({ server: 'https://home.example' }));
    const env = kubeconfig('env-config', simple({ server: 'https://env.example' }));
    expect(loadConnection(undefined, { KUBECONFIG: env }).server).toBe('https://env.example');
  });

  it('fails clearly when there is no configuration at all', () => {
    stubHome();
    // No KUBERNETES_SERVICE_HOST in this env, so the in-cluster fallback does not apply either.
    const err = kubeconfigError(() => loadConnection(undefined, {}));
    expect(err.message).toMatch(/^no Kubernetes configuration found/);
  });
});

// --- in-cluster --------------------------------------------------------------------------------

describe('inCluster', () => {
  function serviceAccountDir(files: Record<string, string>): string {
    const dir = join(tmp, 'sa');
    mkdirSync(dir, { recursive: true });
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    return dir;
  }

  it('reads the token, CA and namespace of the ServiceAccount', async () => {
    const dir = serviceAccountDir({ token: 'sa-token\n', 'ca.crt': 'SA-CA', namespace: 'paddock-system\n' });
    const c = inCluster({ KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '6443' }, dir);
    expect(c.server).toBe('https://10.96.0.1:6443');
    expect(c.ca?.toString()).toBe('SA-CA');
    expect(c.namespace).toBe('paddock-system');
    expect(c.insecureSkipTLSVerify).toBe(false);
    expect(await c.credentials()).toEqual({ token: 'sa-token' });
    expect(c.source).toBe('in-cluster ServiceAccount');
  });

  it('brackets an IPv6 service host and defaults the port to 443', () => {
    const dir = serviceAccountDir({ token: 't', 'ca.crt': 'CA' });
    const c = inCluster({ KUBERNETES_SERVICE_HOST: 'fd00:10:96::1' }, dir);
    expect(c.server).toBe('https://[fd00:10:96::1]:443');
    expect(new URL(c.server).hostname).toBe('[fd00:10:96::1]');
    expect(c.namespace).toBeUndefined(); // no namespace file
  });

  it('refuses when KUBERNETES_SERVICE_HOST is not set', () => {
    const dir = serviceAccountDir({ token: 't', 'ca.crt': 'CA' });
    const err = kubeconfigError(() => inCluster({}, dir));
    expect(err.message).toContain('KUBERNETES_SERVICE_HOST');
  });
});

// --- token files -------------------------------------------------------------------------------

describe('tokenFileSource', () => {
  it('re-reads the file once the cached token is more than 60 s old, not before', async () => {
    const path = write('token', 'first\n');
    let now = 1_000_000;
    const creds = tokenFileSource(path, () => now);
    expect(await creds()).toEqual({ token: 'first' });
    writeFileSync(path, 'second');
    now += 30_000;
    expect(await creds()).toEqual({ token: 'first' });
    now += 30_000; // exactly 60 s
    expect(await creds()).toEqual({ token: 'first' });
    now += 1;
    expect(await creds()).toEqual({ token: 'second' });
    writeFileSync(path, 'third');
    now += 59_999; // the 60 s run from the re-read
    expect(await creds()).toEqual({ token: 'second' });
    now += 2;
    expect(await creds()).toEqual({ token: 'third' });
  });

  it('reads lazily: a missing file fails the call, not the construction', async () => {
    const path = join(tmp, 'later');
    const creds = tokenFileSource(path, () => 0);
    await expect(creds()).rejects.toThrow(/ENOENT/);
    writeFileSync(path, 'appeared');
    expect(await creds()).toEqual({ token: 'appeared' });
  });
});

// --- exec credential plugins -------------------------------------------------------------------

// The plugin records how it was called (run count, args, KUBERNETES_EXEC_INFO, one env entry)
// into its directory and prints the file "out" — or fails, printing a secret to stderr.
const PLUGIN_SCRIPT = `#!/usr/bin/env bash
set -e
d="$PLUGIN_DIR"
echo run >> "$d/count"
printf '%s' "$KUBERNETES_EXEC_INFO" > "$d/exec-info.json"
for a in "$@"; do echo "$a"; done > "$d/args"
printf '%s' "$PLUGIN_GREETING" > "$d/greeting"
if [ -e "$d/sleep" ]; then sleep "$(cat "$d/sleep")"; fi
if [ -e "$d/fail" ]; then echo "stderr-secret-$(cat "$d/fail")" >&2; exit 3; fi
cat "$d/out"
`;

type ExecConfig = Parameters<typeof execSource>[0];

interface Plugin {
  readonly dir: string;
  readonly exec: ExecConfig;
  output(out: unknown): void;
  runs(): number;
  read(file: string): string;
}

function plugin(name = 'plugin'): Plugin {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  const command = join(dir, 'credential-plugin.sh');
  writeFileSync(command, PLUGIN_SCRIPT);
  chmodSync(command, 0o755);
  return {
    dir,
    exec: {
      command,
      args: ['get-token', '--cluster=dev'],
      env: [
        { name: 'PLUGIN_DIR', value: dir },
        { name: 'PLUGIN_GREETING', value: 'hello from kubeconfig' },
      ],
    },
    output(out) {
      writeFileSync(join(dir, 'out'), typeof out === 'string' ? out : JSON.stringify(out));
    },
    runs() {
      const p = join(dir, 'count');
      return existsSync(p) ? readFileSync(p, 'utf8').split('\n').filter(Boolean).length : 0;
    },
    read(file) {
      return readFileSync(join(dir, file), 'utf8');
    },
  };
}

function credential(status: Record<string, unknown>): unknown {
  return { apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status };
}

const T0 = Date.parse('2031-05-01T12:00:00.000Z');
const iso = (ms: number): string => new Date(ms).toISOString();
const CLUSTER = { server: 'https://dev.example:6443', 'certificate-authority-data': b64('CA') };

describe('exec credential plugins', () => {
  it('returns the token the plugin prints, passing args, env entries and KUBERNETES_EXEC_INFO', async () => {
    const p = plugin();
    p.output(credential({ token: 'exec-token' }));
    const creds = execSource(p.exec, CLUSTER, process.env, () => T0);
    expect(await creds()).toEqual({ token: 'exec-token' });
    expect(p.runs()).toBe(1);
    expect(p.read('args')).toBe('get-token\n--cluster=dev\n');
    expect(p.read('greeting')).toBe('hello from kubeconfig');
    const info = JSON.parse(p.read('exec-info.json')) as unknown;
    expect(info).toEqual({
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      spec: { interactive: false },
    });
  });

  it('passes the configured apiVersion and, with provideClusterInfo, the cluster', async () => {
    const p = plugin();
    p.output({
      ...(credential({ token: 't' }) as object),
      apiVersion: 'client.authentication.k8s.io/v1beta1',
    });
    const exec = { ...p.exec, apiVersion: 'client.authentication.k8s.io/v1beta1', provideClusterInfo: true };
    await execSource(exec, CLUSTER, process.env, () => T0)();
    expect(JSON.parse(p.read('exec-info.json'))).toEqual({
      apiVersion: 'client.authentication.k8s.io/v1beta1',
      kind: 'ExecCredential',
      spec: {
        interactive: false,
        cluster: {
          server: CLUSTER.server,
          'certificate-authority-data': CLUSTER['certificate-authority-data'],
        },
      },
    });
  });

  it('caches the credential until 10 s before expirationTimestamp, then runs the plugin again', async () => {
    const p = plugin();
    p.output(credential({ token: 'one', expirationTimestamp: iso(T0 + 60_000) }));
    let now = T0;
    const creds = execSource(p.exec, CLUSTER, process.env, () => now);
    expect(await creds()).toEqual({ token: 'one' });
    p.output(credential({ token: 'two', expirationTimestamp: iso(T0 + 120_000) }));
    now = T0 + 49_999;
    expect(await creds()).toEqual({ token: 'one' });
    expect(p.runs()).toBe(1);
    now = T0 + 50_000;
    expect(await creds()).toEqual({ token: 'two' });
    expect(p.runs()).toBe(2);
    now = T0 + 109_999;
    expect(await creds()).toEqual({ token: 'two' });
    expect(p.runs()).toBe(2);
  });

  it('caches a credential without expirationTimestamp for the process lifetime', async () => {
    const p = plugin();
    p.output(credential({ token: 'forever' }));
    let now = T0;
    const creds = execSource(p.exec, CLUSTER, process.env, () => now);
    await creds();
    now = T0 + 365 * 24 * 3600_000;
    expect(await creds()).toEqual({ token: 'forever' });
    expect(p.runs()).toBe(1);
  });

  it('runs the plugin once for concurrent callers (single flight), also on refresh', async () => {
    const p = plugin();
    writeFileSync(join(p.dir, 'sleep'), '0.2');
    p.output(credential({ token: 'shared', expirationTimestamp: iso(T0 + 60_000) }));
    let now = T0;
    const creds = execSource(p.exec, CLUSTER, process.env, () => now);
    const first = await Promise.all([creds(), creds(), creds(), creds(), creds()]);
    expect(first).toEqual(Array(5).fill({ token: 'shared' }));
    expect(p.runs()).toBe(1);
    now = T0 + 55_000;
    await Promise.all([creds(), creds(), creds()]);
    expect(p.runs()).toBe(2);
  });

  it('a failing plugin gives a KubeconfigError naming the command but not its stderr, and is retried', async () => {
    const p = plugin();
    writeFileSync(join(p.dir, 'fail'), 'hunter2');
    const creds = execSource(p.exec, CLUSTER, process.env, () => T0);
    const err = await rejection(creds());
    expect(err).toBeInstanceOf(KubeconfigError);
    expect(err.message).toContain(`exec credential plugin "${p.exec.command}" failed`);
    expect(err.message).not.toContain('hunter2');
    expect(err.message).not.toContain('stderr-secret');
    // The failure is not cached: the next call runs the plugin again.
    rmSync(join(p.dir, 'fail'));
    p.output(credential({ token: 'recovered' }));
    expect(await creds()).toEqual({ token: 'recovered' });
    expect(p.runs()).toBe(2);
  });

  it('a plugin that does not exist gives a KubeconfigError naming it', async () => {
    const command = join(tmp, 'no-such-plugin');
    const err = await rejection(execSource({ command }, CLUSTER, process.env)());
    expect(err).toBeInstanceOf(KubeconfigError);
    expect(err.message).toContain(`"${command}"`);
  });

  it.each([
    ['output that is not JSON', 'Please log in at https://login.example'],
    ['JSON null', 'null'],
    [
      'an ExecCredential without status',
      { apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential' },
    ],
    ['a status with neither token nor certificate', credential({ expirationTimestamp: iso(T0 + 60_000) })],
    ['a certificate without its key', credential({ clientCertificateData: 'CERT' })],
    ['a key without its certificate', credential({ clientKeyData: 'KEY' })],
  ])('rejects %s, and does not cache the rejection', async (_what, out) => {
    const p = plugin();
    p.output(out);
    const creds = execSource(p.exec, CLUSTER, process.env, () => T0);
    const err = await rejection(creds());
    expect(err).toBeInstanceOf(KubeconfigError);
    expect(err.message).toBe(`exec credential plugin "${p.exec.command}" printed no valid ExecCredential`);
    p.output(credential({ token: 'ok' }));
    expect(await creds()).toEqual({ token: 'ok' });
    expect(p.runs()).toBe(2);
  });

  it('returns a client certificate and key (PEM, not base64) from the plugin', async () => {
    const p = plugin();
    const cert = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const key = '-----BEGIN EC PRIVATE KEY-----\nMHcC\n-----END EC PRIVATE KEY-----\n';
    p.output(credential({ clientCertificateData: cert, clientKeyData: key }));
    const creds = await execSource(p.exec, CLUSTER, process.env, () => T0)();
    expect(creds.token).toBeUndefined();
    expect(creds.cert?.toString()).toBe(cert);
    expect(creds.key?.toString()).toBe(key);
  });

  it('is used for a kubeconfig user with exec, in preference to a token', async () => {
    const p = plugin();
    p.output(credential({ token: 'from-exec' }));
    const path = kubeconfig('config', simple(undefined, { exec: p.exec, token: 'static-token' }));
    const c: Connection = fromKubeconfigFiles([path]);
    expect(await c.credentials()).toEqual({ token: 'from-exec' });
    expect(p.runs()).toBe(1);
  });

  it('resolves a relative command with a path separator against the kubeconfig directory, as kubectl does', async () => {
    const p = plugin('kube/bin');
    p.output(credential({ token: 'relative' }));
    const path = kubeconfig(
      'kube/config',
      simple(undefined, { exec: { ...p.exec, command: './bin/credential-plugin.sh' } }),
    );
    expect(await fromKubeconfigFiles([path]).credentials()).toEqual({ token: 'relative' });
  });
});
