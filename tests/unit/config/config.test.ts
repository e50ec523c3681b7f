import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  envName,
  helpText,
  HelpRequested,
  loadConfig,
  parseListenAddress,
  SERVICE_ACCOUNT_NAMESPACE_FILE,
  type Config,
  type ConfigDeps,
} from '../../../operator/src/config.ts';

// A world with no service account file, a fixed hostname and suffix, and one readable kubeconfig.
function deps(overrides: Partial<ConfigDeps> = {}): ConfigDeps {
  return {
    readFile: () => undefined,
    isReadableFile: (path) => path === '/home/me/.kube/config',
    hostname: () => 'node-1',
    randomSuffix: () => 'abcd1234',
    ...overrides,
  };
}

function load(argv: string[] = [], env: NodeJS.ProcessEnv = {}, d: ConfigDeps = deps()): Config {
  return loadConfig(argv, env, d);
}

// The problems reported for a configuration that must be invalid.
function problems(argv: string[], env: NodeJS.ProcessEnv = {}, d: ConfigDeps = deps()): readonly string[] {
  try {
    load(argv, env, d);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify({ argv, env })}`);
}

describe('loadConfig defaults', () => {
  it('gives the documented defaults with no flags and no environment', () => {
    expect(load()).toEqual({
      kubeconfig: undefined,
      watchNamespaces: [],
      leaderElect: true,
      leaseName: 'paddock-operator',
      leaseNamespace: 'paddock-system',
      signingKeySecret: 'paddock-signing-key',
      identity: 'node-1_abcd1234',
      leaseDurationSeconds: 15,
      renewDeadlineSeconds: 10,
      retryPeriodSeconds: 2,
      healthAddr: { host: '0.0.0.0', port: 8081 },
      metricsAddr: { host: '0.0.0.0', port: 8080 },
      logLevel: 'info',
      workers: 4,
      watchdogSeconds: 300,
      shutdownTimeoutSeconds: 30,
      sandbox: {
        quota: { pods: 50, cpu: '8', memory: '16Gi' },
        limitRange: {
          defaultRequest: { cpu: '100m', memory: '128Mi' },
          default: { cpu: '1', memory: '512Mi' },
        },
      },
    });
  });

  it('returns a deeply frozen object', () => {
    const config = load();
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.sandbox.limitRange.default)).toBe(true);
    expect(Object.isFrozen(config.healthAddr)).toBe(true);
  });

  it('takes the lease namespace from POD_NAMESPACE, then the service account file', () => {
    expect(load([], { POD_NAMESPACE: 'ops' }).leaseNamespace).toBe('ops');
    const saFile = deps({
      readFile: (p) => (p === SERVICE_ACCOUNT_NAMESPACE_FILE ? 'paddock\n' : undefined),
    });
    expect(load([], {}, saFile).leaseNamespace).toBe('paddock');
    expect(load([], { POD_NAMESPACE: 'ops' }, saFile).leaseNamespace).toBe('ops');
    expect(load(['--lease-namespace', 'elsewhere'], { POD_NAMESPACE: 'ops' }, saFile).leaseNamespace).toBe(
      'elsewhere',
    );
  });

  it('takes the identity from POD_NAME, else hostname plus a random suffix', () => {
    expect(load([], { POD_NAME: 'paddock-7f9c-x2' }).identity).toBe('paddock-7f9c-x2');
    expect(load([], { POD_NAME: 'p', PADDOCK_IDENTITY: 'explicit' }).identity).toBe('explicit');
  });
});

describe('flags and environment', () => {
  it('reads every setting from PADDOCK_* variables', () => {
    const config = load([], {
      PADDOCK_KUBECONFIG: '/home/me/.kube/config',
      PADDOCK_WATCH_NAMESPACES: 'team-a,team-b',
      PADDOCK_LEADER_ELECT: 'false',
      PADDOCK_LEASE_NAME: 'my.lease',
      PADDOCK_LEASE_NAMESPACE: 'ops',
      PADDOCK_SIGNING_KEY_SECRET: 'my-key',
      PADDOCK_IDENTITY: 'me',
      PADDOCK_LEASE_DURATION_SECONDS: '60',
      PADDOCK_RENEW_DEADLINE_SECONDS: '40',
      PADDOCK_RETRY_PERIOD_SECONDS: '5',
      PADDOCK_HEALTH_ADDR: '127.0.0.1:9001',
      PADDOCK_METRICS_ADDR: '[::1]:9002',
      PADDOCK_LOG_LEVEL: 'DEBUG',
      PADDOCK_WORKERS: '16',
      PADDOCK_WATCHDOG_SECONDS: '60',
      PADDOCK_SHUTDOWN_TIMEOUT_SECONDS: '5',
      PADDOCK_AGENT_QUOTA_PODS: '10',
      PADDOCK_AGENT_QUOTA_CPU: '4',
      PADDOCK_AGENT_QUOTA_MEMORY: '8Gi',
      PADDOCK_AGENT_DEFAULT_CPU_REQUEST: '50m',
      PADDOCK_AGENT_DEFAULT_MEMORY_REQUEST: '64Mi',
      PADDOCK_AGENT_DEFAULT_CPU_LIMIT: '500m',
      PADDOCK_AGENT_DEFAULT_MEMORY_LIMIT: '256Mi',
    });
    expect(config).toEqual({
      kubeconfig: '/home/me/.kube/config',
      watchNamespaces: ['team-a', 'team-b'],
      leaderElect: false,
      leaseName: 'my.lease',
      leaseNamespace: 'ops',
      signingKeySecret: 'my-key',
      identity: 'me',
      leaseDurationSeconds: 60,
      renewDeadlineSeconds: 40,
      retryPeriodSeconds: 5,
      healthAddr: { host: '127.0.0.1', port: 9001 },
      metricsAddr: { host: '::1', port: 9002 },
      logLevel: 'debug',
      workers: 16,
      watchdogSeconds: 60,
      shutdownTimeoutSeconds: 5,
      sandbox: {
        quota: { pods: 10, cpu: '4', memory: '8Gi' },
        limitRange: {
          defaultRequest: { cpu: '50m', memory: '64Mi' },
          default: { cpu: '500m', memory: '256Mi' },
        },
      },
    });
  });

  it('lets a flag win over its environment variable', () => {
    const env = { PADDOCK_WORKERS: '16', PADDOCK_LOG_LEVEL: 'error', PADDOCK_AGENT_QUOTA_CPU: '4' };
    const config = load(['--workers', '2', '--log-level=trace', '--agent-quota-cpu=12'], env);
    expect(config).toMatchObject({ workers: 2, logLevel: 'trace', sandbox: { quota: { cpu: '12' } } });
    // An invalid env value is not even looked at when the flag is given.
    expect(load(['--workers=3'], { PADDOCK_WORKERS: 'lots' }).workers).toBe(3);
  });

  it('treats an empty environment variable as unset', () => {
    expect(load([], { PADDOCK_WORKERS: '', PADDOCK_LEASE_NAME: '' })).toMatchObject({
      workers: 4,
      leaseName: 'paddock-operator',
    });
  });

  it.each([
    [['--leader-elect'], {}, true],
    [['--leader-elect=false'], {}, false],
    [['--leader-elect', 'no'], {}, false],
    [['--no-leader-elect'], {}, false],
    [['--leader-elect'], { PADDOCK_LEADER_ELECT: 'false' }, true],
    [[], { PADDOCK_LEADER_ELECT: '0' }, false],
    [[], { PADDOCK_LEADER_ELECT: 'TRUE' }, true],
  ] as const)('leader election %j with %j -> %s', (argv, env, expected) => {
    expect(load([...argv], env).leaderElect).toBe(expected);
  });

  it('metrics-addr "0" serves /metrics on the health port', () => {
    expect(load(['--metrics-addr=0']).metricsAddr).toBeUndefined();
    expect(load(['--metrics-addr=:0', '--health-addr=:0'])).toMatchObject({
      metricsAddr: { host: '0.0.0.0', port: 0 },
      healthAddr: { host: '0.0.0.0', port: 0 },
    });
  });

  it('serves a list of namespaces: trimmed, empty entries dropped, duplicates removed, order kept', () => {
    expect(load(['--watch-namespaces', ' team-b, team-a,,team-b ,']).watchNamespaces).toEqual([
      'team-b',
      'team-a',
    ]);
    expect(load([], { PADDOCK_WATCH_NAMESPACES: 'x' }).watchNamespaces).toEqual(['x']);
    expect(load(['--watch-namespaces='], { PADDOCK_WATCH_NAMESPACES: '' }).watchNamespaces).toEqual([]);
  });

  it('keeps --watch-namespace (PADDOCK_WATCH_NAMESPACE) as an alias for one namespace', () => {
    expect(load(['--watch-namespace=team-a']).watchNamespaces).toEqual(['team-a']);
    expect(load([], { PADDOCK_WATCH_NAMESPACE: 'team-a' }).watchNamespaces).toEqual(['team-a']);
    // The alias and the list from different sources are still two settings for one thing.
    expect(problems(['--watch-namespace=a'], { PADDOCK_WATCH_NAMESPACES: 'b' })[0]).toMatch(
      /is an alias of --watch-namespaces/,
    );
  });

  it('envName maps flags to PADDOCK_ variables', () => {
    expect(envName('lease-duration-seconds')).toBe('PADDOCK_LEASE_DURATION_SECONDS');
  });
});

describe('validation', () => {
  it.each([
    [
      ['--lease-duration-seconds', 'abc'],
      '--lease-duration-seconds (PADDOCK_LEASE_DURATION_SECONDS) must be an integer between 5 and 600, got "abc"',
    ],
    [
      ['--lease-duration-seconds', '601'],
      '--lease-duration-seconds (PADDOCK_LEASE_DURATION_SECONDS) must be an integer between 5 and 600, got "601"',
    ],
    [
      ['--renew-deadline-seconds', '1'],
      '--renew-deadline-seconds (PADDOCK_RENEW_DEADLINE_SECONDS) must be an integer between 2 and 600, got "1"',
    ],
    [
      ['--retry-period-seconds', '0'],
      '--retry-period-seconds (PADDOCK_RETRY_PERIOD_SECONDS) must be an integer between 1 and 600, got "0"',
    ],
    [['--workers', '0'], '--workers (PADDOCK_WORKERS) must be an integer between 1 and 64, got "0"'],
    [['--workers', '65'], '--workers (PADDOCK_WORKERS) must be an integer between 1 and 64, got "65"'],
    [['--workers', '2.5'], '--workers (PADDOCK_WORKERS) must be an integer between 1 and 64, got "2.5"'],
    [['--workers', '1e1'], '--workers (PADDOCK_WORKERS) must be an integer between 1 and 64, got "1e1"'],
    [
      ['--watchdog-seconds', '9'],
      '--watchdog-seconds (PADDOCK_WATCHDOG_SECONDS) must be an integer between 10 and 3600, got "9"',
    ],
    [
      ['--shutdown-timeout-seconds', '0'],
      '--shutdown-timeout-seconds (PADDOCK_SHUTDOWN_TIMEOUT_SECONDS) must be an integer between 1 and 600, got "0"',
    ],
    [
      ['--agent-quota-pods', '0'],
      '--agent-quota-pods (PADDOCK_AGENT_QUOTA_PODS) must be an integer between 1 and 10000, got "0"',
    ],
    [
      ['--log-level', 'loud'],
      '--log-level (PADDOCK_LOG_LEVEL) must be one of trace, debug, info, warn, error, got "loud"',
    ],
    [['--leader-elect', 'maybe'], '--leader-elect (PADDOCK_LEADER_ELECT) must be true or false, got "maybe"'],
    [
      ['--lease-name', 'Bad_Name'],
      '--lease-name (PADDOCK_LEASE_NAME) must be a DNS subdomain name (lowercase letters, digits, "-" and "."), got "Bad_Name"',
    ],
    [
      ['--signing-key-secret', 'Key'],
      '--signing-key-secret (PADDOCK_SIGNING_KEY_SECRET) must be a Secret name (lowercase letters, digits, "-" and "."), got "Key"',
    ],
    [
      ['--lease-namespace', 'a.b'],
      '--lease-namespace (PADDOCK_LEASE_NAMESPACE) must be a namespace name (lowercase letters, digits and "-"), got "a.b"',
    ],
    [
      ['--watch-namespace', '-x'],
      '--watch-namespace (PADDOCK_WATCH_NAMESPACE) must be empty (all namespaces) or namespace names separated by commas, got "-x"',
    ],
    [
      ['--watch-namespaces', 'team-a,Team_B,kube-system,x.y'],
      '--watch-namespaces (PADDOCK_WATCH_NAMESPACES) must be empty (all namespaces) or namespace names separated by commas, got "Team_B", "x.y"',
    ],
    [
      ['--watch-namespaces', 'a', '--watch-namespace', 'b'],
      '--watch-namespace (PADDOCK_WATCH_NAMESPACE) is an alias of --watch-namespaces (PADDOCK_WATCH_NAMESPACES): set only one, got "b" and "a"',
    ],
    [
      ['--identity', 'has space'],
      '--identity (PADDOCK_IDENTITY) must be at most 253 characters without whitespace, got "has space"',
    ],
    [['--kubeconfig', '/nope'], '--kubeconfig (PADDOCK_KUBECONFIG) must be a readable file, got "/nope"'],
    [
      ['--health-addr', 'localhost'],
      '--health-addr (PADDOCK_HEALTH_ADDR) must be host:port (e.g. 0.0.0.0:8080, :8080, [::1]:8080), got "localhost"',
    ],
    [
      ['--metrics-addr', ':70000'],
      '--metrics-addr (PADDOCK_METRICS_ADDR) must be host:port (e.g. 0.0.0.0:8080, :8080, [::1]:8080), got ":70000"',
    ],
    [
      ['--agent-quota-memory', '16GB'],
      '--agent-quota-memory (PADDOCK_AGENT_QUOTA_MEMORY) must be a Kubernetes quantity such as 500m, 2, 128Mi or 1Gi, got "16GB"',
    ],
    [
      ['--agent-default-cpu-request', '0'],
      '--agent-default-cpu-request (PADDOCK_AGENT_DEFAULT_CPU_REQUEST) must be greater than zero, got "0"',
    ],
  ])('%j', (argv, message) => {
    expect(problems(argv)).toEqual([message]);
  });

  it('names the flag and env var when the bad value came from the environment', () => {
    expect(problems([], { PADDOCK_WORKERS: 'many' })).toEqual([
      '--workers (PADDOCK_WORKERS) must be an integer between 1 and 64, got "many"',
    ]);
  });

  it('checks lease timings the way client-go does', () => {
    expect(problems(['--lease-duration-seconds=10', '--renew-deadline-seconds=10'])).toEqual([
      '--renew-deadline-seconds (PADDOCK_RENEW_DEADLINE_SECONDS) must be less than --lease-duration-seconds (PADDOCK_LEASE_DURATION_SECONDS), got 10 >= 10',
    ]);
    // renewDeadline must exceed retryPeriod * 1.2 (leaderelection.JitterFactor).
    expect(problems(['--renew-deadline-seconds=6', '--retry-period-seconds=5'])).toEqual([
      '--renew-deadline-seconds (PADDOCK_RENEW_DEADLINE_SECONDS) must be greater than 1.2 x --retry-period-seconds (PADDOCK_RETRY_PERIOD_SECONDS), got 6 <= 1.2 x 5',
    ]);
    expect(load(['--renew-deadline-seconds=7', '--retry-period-seconds=5']).renewDeadlineSeconds).toBe(7);
    // No cross-check against a value that was itself invalid.
    expect(problems(['--lease-duration-seconds=x', '--renew-deadline-seconds=30'])).toHaveLength(1);
  });

  it('refuses metrics and probes on the same port', () => {
    expect(problems(['--health-addr=:9000', '--metrics-addr=127.0.0.1:9000'])).toEqual([
      '--metrics-addr (PADDOCK_METRICS_ADDR) must use a different port than --health-addr (PADDOCK_HEALTH_ADDR) (or be "0" to serve /metrics on the health port), got port 9000 for both',
    ]);
  });

  it('refuses sandbox defaults that no pod could satisfy', () => {
    expect(problems(['--agent-default-cpu-request=2', '--agent-default-memory-request=1Gi'])).toEqual([
      '--agent-default-cpu-request (PADDOCK_AGENT_DEFAULT_CPU_REQUEST) must not exceed --agent-default-cpu-limit (PADDOCK_AGENT_DEFAULT_CPU_LIMIT), got 2 > 1',
      '--agent-default-memory-request (PADDOCK_AGENT_DEFAULT_MEMORY_REQUEST) must not exceed --agent-default-memory-limit (PADDOCK_AGENT_DEFAULT_MEMORY_LIMIT), got 1Gi > 512Mi',
    ]);
    expect(problems(['--agent-default-cpu-limit=9', '--agent-default-memory-limit=17Gi'])).toEqual([
      '--agent-default-cpu-limit (PADDOCK_AGENT_DEFAULT_CPU_LIMIT) must not exceed --agent-quota-cpu (PADDOCK_AGENT_QUOTA_CPU), got 9 > 8',
      '--agent-default-memory-limit (PADDOCK_AGENT_DEFAULT_MEMORY_LIMIT) must not exceed --agent-quota-memory (PADDOCK_AGENT_QUOTA_MEMORY), got 17Gi > 16Gi',
    ]);
    // Units are compared, not strings: 1500m > 1 but 1000m is not.
    expect(problems(['--agent-default-cpu-request=1500m'])).toHaveLength(1);
    expect(load(['--agent-default-cpu-request=1000m']).sandbox.limitRange.defaultRequest.cpu).toBe('1000m');
  });

  it('collects every problem into one ConfigError', () => {
    let error: unknown;
    try {
      load(['--workers=0', '--log-level=loud', '--health-addr=nope'], {
        PADDOCK_WATCHDOG_SECONDS: '1',
        PADDOCK_AGENT_QUOTA_CPU: 'lots',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const configError = error as ConfigError;
    expect(configError.problems).toHaveLength(5);
    expect(configError.message).toMatch(/^invalid configuration:\n {2}- /);
    for (const flag of [
      '--workers',
      '--log-level',
      '--health-addr',
      '--watchdog-seconds',
      '--agent-quota-cpu',
    ]) {
      expect(configError.message).toContain(`- ${flag} (`);
    }
  });

  it('reports unknown flags (with a suggestion), missing values and stray arguments', () => {
    expect(problems(['--wrokers', '3'])).toEqual([
      "unknown option '--wrokers' (Did you mean --workers?) (see --help)",
    ]);
    expect(problems(['--workers'])).toEqual(["option '--workers <n>' argument missing (see --help)"]);
    expect(problems(['extra'])[0]).toMatch(/^too many arguments/);
  });
});

describe('the network gate', () => {
  it('is off unless an image is given; then port and timeout default to 10250 and 30 s', () => {
    expect(load().sandbox.networkGate).toBeUndefined();
    expect(load([], { PADDOCK_NETWORK_GATE_IMAGE: '' }).sandbox.networkGate).toBeUndefined();
    expect(load(['--network-gate-image=ghcr.io/x/op:1']).sandbox.networkGate).toEqual({
      image: 'ghcr.io/x/op:1',
      kubeletPort: 10250,
      timeoutSeconds: 30,
    });
    expect(
      load([], {
        PADDOCK_NETWORK_GATE_IMAGE: 'op@sha256:' + 'a'.repeat(64),
        PADDOCK_NETWORK_GATE_KUBELET_PORT: '10255',
        PADDOCK_NETWORK_GATE_TIMEOUT_SECONDS: '5',
      }).sandbox.networkGate,
    ).toEqual({ image: 'op@sha256:' + 'a'.repeat(64), kubeletPort: 10255, timeoutSeconds: 5 });
  });

  it.each([
    [['--network-gate-image=two words'], '--network-gate-image'],
    [['--network-gate-kubelet-port=0'], '--network-gate-kubelet-port'],
    [['--network-gate-timeout-seconds=601'], '--network-gate-timeout-seconds'],
  ])('refuses %j naming the flag', (argv, flag) => {
    expect(() => load(argv)).toThrow(flag);
  });
});

describe('help', () => {
  it('--help raises HelpRequested with the text, instead of printing and exiting', () => {
    let error: unknown;
    try {
      load(['--help']);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(HelpRequested);
    expect((error as HelpRequested).text).toBe(helpText());
  });

  it('documents every flag with its env var and default', () => {
    const text = helpText();
    expect(text).toMatch(/^Usage: paddock-operator \[options\]/);
    const flags = [...text.matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1]);
    expect(flags).toContain('--no-leader-elect');
    const flat = text.replace(/\s+/g, ' '); // help wraps long descriptions
    for (const flag of flags) {
      if (flag === undefined || flag === '--no-leader-elect') continue;
      expect(flat).toContain(`[env ${envName(flag.slice(2))}]`);
    }
    expect(flags).toHaveLength(28);
    expect(flat).toContain('(default: 16Gi)');
    expect(flat).toContain('flag given on the command line wins');
  });
});

describe('parseListenAddress', () => {
  it.each([
    ['0.0.0.0:8080', { host: '0.0.0.0', port: 8080 }],
    [':8081', { host: '0.0.0.0', port: 8081 }],
    ['localhost:0', { host: 'localhost', port: 0 }],
    ['[::]:9000', { host: '::', port: 9000 }],
  ])('%s', (text, expected) => {
    expect(parseListenAddress(text)).toEqual(expected);
  });

  it.each(['8080', 'host:', 'host:port', ':65536', '::1:80', 'a b:80', ''])('rejects %j', (text) => {
    expect(parseListenAddress(text)).toBeUndefined();
  });
});
