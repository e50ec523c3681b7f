// The operator's configuration: command-line flags, each with a PADDOCK_<NAME>
// environment variable fallback (flags win), validated in one pass so a bad
// Deployment shows every mistake at once instead of one per crash loop.
//
// loadConfig is pure apart from what `deps` provides (the service account
// namespace file, the hostname, a random suffix, a file check): it never
// prints or exits. --help surfaces as a HelpRequested error carrying the text.

import { accessSync, constants as fsConstants, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { Command, CommanderError, Option } from 'commander';
import { tryParseQuantity } from './api/quantity.ts';
import { LOG_LEVELS, type LogLevel } from './observability/logger.ts';
import type { ListenAddress } from './server/http.ts';
import { deepFreeze } from './util/freeze.ts';
import { JITTER_FACTOR } from './kube/leaderelection-core.ts';

export type { ListenAddress } from './server/http.ts';

export interface ResourcePair {
  /** A Kubernetes quantity, as given (e.g. "100m"). */
  readonly cpu: string;
  /** A Kubernetes quantity, as given (e.g. "128Mi"). */
  readonly memory: string;
}

/** Defaults for the sandbox objects kept in every namespace that runs agents (docs/agent-authors.md, "Resources"). */
export interface SandboxConfig {
  /** ResourceQuota for agent workloads. */
  readonly quota: { readonly pods: number } & ResourcePair;
  /** LimitRange for agent containers, named after the LimitRange fields. */
  readonly limitRange: { readonly defaultRequest: ResourcePair; readonly default: ResourcePair };
  /**
   * The network gate, every agent pod's init container (controllers/sandbox/network-gate.ts): the
   * operator image, run as `main.js network-gate`. Undefined: agent pods have no gate.
   */
  readonly networkGate?: NetworkGateConfig;
}

export interface NetworkGateConfig {
  readonly image: string;
  readonly kubeletPort: number;
  readonly timeoutSeconds: number;
}

export interface Config {
  /** kubeconfig path; undefined means in-cluster config, else $KUBECONFIG or ~/.kube/config. */
  readonly kubeconfig: string | undefined;
  /**
   * The namespaces the operator serves, each with its own watches (namespaced install mode,
   * docs/operations.md); empty serves every namespace (cluster-wide mode).
   */
  readonly watchNamespaces: readonly string[];
  readonly leaderElect: boolean;
  readonly leaseName: string;
  readonly leaseNamespace: string;
  /** Secret (in leaseNamespace, the operator's own namespace) with the signing key (kube/signing-key.ts). */
  readonly signingKeySecret: string;
  /** This replica's holder identity on the Lease. */
  readonly identity: string;
  readonly leaseDurationSeconds: number;
  readonly renewDeadlineSeconds: number;
  readonly retryPeriodSeconds: number;
  /** Where /healthz and /readyz (and /metrics when metricsAddr is undefined) listen. */
  readonly healthAddr: ListenAddress;
  /** Where /metrics listens; undefined serves it on healthAddr. */
  readonly metricsAddr: ListenAddress | undefined;
  readonly logLevel: LogLevel;
  /** Concurrent reconciles per controller. */
  readonly workers: number;
  /** A watch silent for this long is replaced by a fresh list+watch. */
  readonly watchdogSeconds: number;
  /** How long SIGTERM waits for in-flight reconciles before exiting. */
  readonly shutdownTimeoutSeconds: number;
  readonly sandbox: SandboxConfig;
}

/** Invalid configuration; `problems` lists every problem found, one sentence each. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** --help was given: print `text` to stdout and exit 0. */
export class HelpRequested extends Error {
  readonly text: string;
  constructor(text: string) {
    super('help requested');
    this.name = 'HelpRequested';
    this.text = text;
  }
}

/** The operator's view of its surroundings, replaceable in tests. */
export interface ConfigDeps {
  /** A file's content, or undefined when it cannot be read. */
  readonly readFile: (path: string) => string | undefined;
  readonly isReadableFile: (path: string) => boolean;
  readonly hostname: () => string;
  readonly randomSuffix: () => string;
}

export const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

const defaultDeps: ConfigDeps = {
  readFile: (path) => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
  },
  isReadableFile: (path) => {
    try {
      accessSync(path, fsConstants.R_OK);
      return true;
    } catch {
      return false;
    }
  },
  hostname,
  randomSuffix: () => randomUUID().slice(0, 8),
};

/** The environment variable that backs a flag: --lease-name -> PADDOCK_LEASE_NAME. */
export function envName(flag: string): string {
  return `PADDOCK_${flag.toUpperCase().replaceAll('-', '_')}`;
}

// Every value flag: [flag, value name, description, default shown in --help].
// Order is --help order.
const FLAGS = [
  [
    'kubeconfig',
    'path',
    'kubeconfig file to use instead of in-cluster config, $KUBECONFIG or ~/.kube/config',
    undefined,
  ],
  [
    'watch-namespaces',
    'ns,...',
    'serve only these namespaces (comma-separated); empty serves all namespaces',
    '""',
  ],
  ['watch-namespace', 'ns', 'the same as --watch-namespaces with one namespace', '""'],
  // A boolean: --leader-elect, --leader-elect=false and --no-leader-elect all work.
  ['leader-elect', 'bool', 'elect one active replica through a Lease', 'true'],
  [
    'lease-name',
    'name',
    'name of the coordination.k8s.io Lease used for leader election',
    'paddock-operator',
  ],
  [
    'lease-namespace',
    'ns',
    'namespace of the Lease',
    '$POD_NAMESPACE, the service account namespace, or paddock-system',
  ],
  ['identity', 'id', "this replica's holder identity on the Lease", '$POD_NAME, or hostname_<random>'],
  [
    'signing-key-secret',
    'name',
    "Secret in the Lease's namespace holding the key the operator signs Approvals and agent pods with (created if missing)",
    'paddock-signing-key',
  ],
  ['lease-duration-seconds', 'n', 'how long non-leaders wait before taking an unrenewed lease (5-600)', '15'],
  [
    'renew-deadline-seconds',
    'n',
    'how long the leader keeps retrying renewal before giving up leadership',
    '10',
  ],
  ['retry-period-seconds', 'n', 'how often to try to acquire or renew the lease', '2'],
  ['health-addr', 'host:port', 'address for /healthz and /readyz', '0.0.0.0:8081'],
  ['metrics-addr', 'host:port', 'address for /metrics; "0" serves /metrics on --health-addr', '0.0.0.0:8080'],
  ['log-level', 'level', `log level: ${LOG_LEVELS.join(', ')}`, 'info'],
  ['workers', 'n', 'concurrent reconciles per controller (1-64)', '4'],
  ['watchdog-seconds', 'n', 'relist a watch that has been silent this long (10-3600)', '300'],
  ['shutdown-timeout-seconds', 'n', 'on SIGTERM, wait this long for in-flight reconciles (1-600)', '30'],
  ['agent-quota-pods', 'n', 'ResourceQuota for agent workloads per namespace: pods', '50'],
  ['agent-quota-cpu', 'quantity', 'ResourceQuota for agent workloads per namespace: CPU', '8'],
  ['agent-quota-memory', 'quantity', 'ResourceQuota for agent workloads per namespace: memory', '16Gi'],
  ['agent-default-cpu-request', 'quantity', 'LimitRange default CPU request for agent containers', '100m'],
  [
    'agent-default-memory-request',
    'quantity',
    'LimitRange default memory request for agent containers',
    '128Mi',
  ],
  ['agent-default-cpu-limit', 'quantity', 'LimitRange default CPU limit for agent containers', '1'],
  ['agent-default-memory-limit', 'quantity', 'LimitRange default memory limit for agent containers', '512Mi'],
  [
    'network-gate-image',
    'image',
    "the operator's image, run as every agent pod's init container to prove its NetworkPolicies are enforced before the agent starts (docs/security.md); empty: no gate",
    '',
  ],
  ['network-gate-kubelet-port', 'n', "the gate's target: the kubelet's port on the pod's node", '10250'],
  [
    'network-gate-timeout-seconds',
    'n',
    'how long the gate waits for isolation before the attempt fails (1-600)',
    '30',
  ],
] as const;

type Flag = (typeof FLAGS)[number][0];

function buildProgram(): Command {
  const program = new Command('paddock-operator')
    .description('Paddock: runs AI agents on Kubernetes as sandboxed, approved, audited workflows.')
    .helpOption('-h, --help', 'show this help')
    .exitOverride()
    // Captured instead of printed: loadConfig never writes or exits.
    .configureOutput({
      writeOut: () => {},
      writeErr: () => {},
      outputError: () => {},
      getOutHelpWidth: () => 100,
    });
  for (const [flag, arg, description, shownDefault] of FLAGS) {
    const defaultNote = shownDefault === undefined ? '' : ` (default: ${shownDefault})`;
    const help = `${description}${defaultNote} [env ${envName(flag)}]`;
    if (arg === 'bool') {
      program.addOption(new Option(`--${flag} [${arg}]`, help));
      program.addOption(new Option(`--no-${flag}`, `same as --${flag}=false`));
    } else {
      program.addOption(new Option(`--${flag} <${arg}>`, help));
    }
  }
  return program;
}

// commander's helpInformation() leaves out addHelpText() additions, so the note is appended here.
const HELP_NOTE =
  '\nEvery flag can also be set through its environment variable; a flag given on the command line wins.\n' +
  'Validation reports every problem at once.\n';

/** The --help text, e.g. for generated docs. */
export function helpText(): string {
  return buildProgram().helpInformation() + HELP_NOTE;
}

/**
 * Parses flags (`argv` without the node and script paths, i.e. process.argv.slice(2))
 * and PADDOCK_* variables from `env`. Throws ConfigError listing every problem,
 * or HelpRequested for --help.
 */
export function loadConfig(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  deps: ConfigDeps = defaultDeps,
): Config {
  const program = buildProgram();
  try {
    program.parse([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help') {
        throw new HelpRequested(helpText());
      }
      // Unknown flag (with a "did you mean"), missing value, stray argument.
      throw new ConfigError([`${err.message.replace(/^error: /, '').replaceAll('\n', ' ')} (see --help)`]);
    }
    throw err;
  }
  const flags = program.opts<Record<string, string | boolean | undefined>>();
  const problems: string[] = [];
  const label = (flag: Flag): string => `--${flag} (${envName(flag)})`;

  // The raw text of a setting: the flag if given, else its env var (empty counts
  // as unset, as Helm templates often render absent values), else undefined.
  const raw = (flag: Flag): string | boolean | undefined => {
    const fromFlag = flags[camelCase(flag)];
    if (fromFlag !== undefined) return fromFlag;
    const fromEnv = env[envName(flag)];
    return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
  };
  const text = (flag: Flag): string | undefined => {
    const value = raw(flag);
    return typeof value === 'string' ? value : undefined;
  };
  const fail = (flag: Flag, message: string, got: unknown): undefined => {
    problems.push(`${label(flag)} ${message}, got ${JSON.stringify(got)}`);
    return undefined;
  };

  const integer = (flag: Flag, fallback: number, min: number, max: number): number | undefined => {
    const value = text(flag);
    if (value === undefined) return fallback;
    const n = /^[+-]?\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
    return Number.isSafeInteger(n) && n >= min && n <= max
      ? n
      : fail(flag, `must be an integer between ${min} and ${max}`, value);
  };
  const name = (
    flag: Flag,
    fallback: string,
    pattern: RegExp,
    max: number,
    what: string,
  ): string | undefined => {
    const value = text(flag) ?? fallback;
    return value.length <= max && pattern.test(value) ? value : fail(flag, `must be ${what}`, value);
  };
  const address = (flag: 'health-addr' | 'metrics-addr', fallback: string): ListenAddress | undefined => {
    const value = text(flag) ?? fallback;
    return (
      parseListenAddress(value) ??
      fail(flag, 'must be host:port (e.g. 0.0.0.0:8080, :8080, [::1]:8080)', value)
    );
  };
  const quantity = (flag: Flag, fallback: string): { text: string; value: number } | undefined => {
    const value = text(flag) ?? fallback;
    const parsed = tryParseQuantity(value);
    if (parsed === undefined)
      return fail(flag, 'must be a Kubernetes quantity such as 500m, 2, 128Mi or 1Gi', value);
    if (parsed <= 0) return fail(flag, 'must be greater than zero', value);
    return { text: value, value: parsed };
  };

  // kubeconfig
  const kubeconfig = text('kubeconfig');
  if (kubeconfig !== undefined && !deps.isReadableFile(kubeconfig))
    fail('kubeconfig', 'must be a readable file', kubeconfig);

  // leader election
  const leaderElectRaw = raw('leader-elect');
  const leaderElect =
    typeof leaderElectRaw === 'string' ? parseBoolean(leaderElectRaw) : (leaderElectRaw ?? true);
  if (leaderElect === undefined) fail('leader-elect', 'must be true or false', leaderElectRaw);
  const leaseName = name(
    'lease-name',
    'paddock-operator',
    DNS_SUBDOMAIN,
    253,
    'a DNS subdomain name (lowercase letters, digits, "-" and ".")',
  );
  const leaseNamespace = name(
    'lease-namespace',
    defaultNamespace(env, deps),
    DNS_LABEL,
    63,
    'a namespace name (lowercase letters, digits and "-")',
  );
  const signingKeySecret = name(
    'signing-key-secret',
    'paddock-signing-key',
    DNS_SUBDOMAIN,
    253,
    'a Secret name (lowercase letters, digits, "-" and ".")',
  );
  const identity =
    text('identity') ?? nonEmpty(env['POD_NAME']) ?? `${deps.hostname()}_${deps.randomSuffix()}`;
  if (identity.length > 253 || /\s/.test(identity))
    fail('identity', 'must be at most 253 characters without whitespace', identity);
  const leaseDurationSeconds = integer('lease-duration-seconds', 15, 5, 600);
  const renewDeadlineSeconds = integer('renew-deadline-seconds', 10, 2, 600);
  const retryPeriodSeconds = integer('retry-period-seconds', 2, 1, 600);
  // client-go's rules (leaderelection.NewLeaderElector): the leader must give up
  // before others may take over, and must get more than one jittered retry in.
  if (
    leaseDurationSeconds !== undefined &&
    renewDeadlineSeconds !== undefined &&
    renewDeadlineSeconds >= leaseDurationSeconds
  ) {
    problems.push(
      `${label('renew-deadline-seconds')} must be less than ${label('lease-duration-seconds')}, got ${renewDeadlineSeconds} >= ${leaseDurationSeconds}`,
    );
  }
  if (
    renewDeadlineSeconds !== undefined &&
    retryPeriodSeconds !== undefined &&
    renewDeadlineSeconds <= JITTER_FACTOR * retryPeriodSeconds
  ) {
    problems.push(
      `${label('renew-deadline-seconds')} must be greater than ${JITTER_FACTOR} x ${label('retry-period-seconds')}, got ${renewDeadlineSeconds} <= ${JITTER_FACTOR} x ${retryPeriodSeconds}`,
    );
  }

  // serving
  const healthAddr = address('health-addr', '0.0.0.0:8081');
  const metricsAddrText = text('metrics-addr') ?? '0.0.0.0:8080';
  const metricsAddr = metricsAddrText === '0' ? undefined : address('metrics-addr', metricsAddrText);
  if (
    healthAddr !== undefined &&
    metricsAddr !== undefined &&
    healthAddr.port !== 0 &&
    healthAddr.port === metricsAddr.port
  ) {
    problems.push(
      `${label('metrics-addr')} must use a different port than ${label('health-addr')} (or be "0" to serve /metrics on the health port), got port ${metricsAddr.port} for both`,
    );
  }

  // runtime
  const logLevelText = text('log-level')?.toLowerCase() ?? 'info';
  const logLevel =
    LOG_LEVELS.find((l) => l === logLevelText) ??
    fail('log-level', `must be one of ${LOG_LEVELS.join(', ')}`, text('log-level'));
  const workers = integer('workers', 4, 1, 64);
  const watchdogSeconds = integer('watchdog-seconds', 300, 10, 3600);
  const shutdownTimeoutSeconds = integer('shutdown-timeout-seconds', 30, 1, 600);
  const watchNamespaces = namespaceList(text('watch-namespaces'), text('watch-namespace'), problems, label);

  // sandbox defaults
  const quotaPods = integer('agent-quota-pods', 50, 1, 10_000);
  const quotaCpu = quantity('agent-quota-cpu', '8');
  const quotaMemory = quantity('agent-quota-memory', '16Gi');
  const cpuRequest = quantity('agent-default-cpu-request', '100m');
  const memoryRequest = quantity('agent-default-memory-request', '128Mi');
  const cpuLimit = quantity('agent-default-cpu-limit', '1');
  const memoryLimit = quantity('agent-default-memory-limit', '512Mi');
  // A default no pod can satisfy would make every agent step wait forever on quota.
  const notAbove = (small: Flag, a: typeof cpuRequest, big: Flag, b: typeof cpuRequest): void => {
    if (a !== undefined && b !== undefined && a.value > b.value) {
      problems.push(`${label(small)} must not exceed ${label(big)}, got ${a.text} > ${b.text}`);
    }
  };
  notAbove('agent-default-cpu-request', cpuRequest, 'agent-default-cpu-limit', cpuLimit);
  notAbove('agent-default-memory-request', memoryRequest, 'agent-default-memory-limit', memoryLimit);
  notAbove('agent-default-cpu-limit', cpuLimit, 'agent-quota-cpu', quotaCpu);
  notAbove('agent-default-memory-limit', memoryLimit, 'agent-quota-memory', quotaMemory);

  const gateImage = text('network-gate-image')?.trim();
  if (gateImage !== undefined && (gateImage.length > 512 || /\s/.test(gateImage)))
    fail('network-gate-image', 'must be an image reference', gateImage);
  const gateKubeletPort = integer('network-gate-kubelet-port', 10250, 1, 65535);
  const gateTimeoutSeconds = integer('network-gate-timeout-seconds', 30, 1, 600);

  // Every undefined below was reported as a problem; the guard narrows the types.
  const v = {
    leaderElect,
    leaseName,
    leaseNamespace,
    signingKeySecret,
    leaseDurationSeconds,
    renewDeadlineSeconds,
    retryPeriodSeconds,
    healthAddr,
    logLevel,
    workers,
    watchdogSeconds,
    shutdownTimeoutSeconds,
    quotaPods,
    quotaCpu,
    quotaMemory,
    cpuRequest,
    memoryRequest,
    cpuLimit,
    memoryLimit,
    gateKubeletPort,
    gateTimeoutSeconds,
  };
  if (problems.length > 0 || !allDefined(v)) throw new ConfigError(problems);

  return deepFreeze({
    kubeconfig,
    watchNamespaces,
    leaderElect: v.leaderElect,
    leaseName: v.leaseName,
    leaseNamespace: v.leaseNamespace,
    signingKeySecret: v.signingKeySecret,
    identity,
    leaseDurationSeconds: v.leaseDurationSeconds,
    renewDeadlineSeconds: v.renewDeadlineSeconds,
    retryPeriodSeconds: v.retryPeriodSeconds,
    healthAddr: v.healthAddr,
    metricsAddr,
    logLevel: v.logLevel,
    workers: v.workers,
    watchdogSeconds: v.watchdogSeconds,
    shutdownTimeoutSeconds: v.shutdownTimeoutSeconds,
    sandbox: {
      quota: { pods: v.quotaPods, cpu: v.quotaCpu.text, memory: v.quotaMemory.text },
      limitRange: {
        defaultRequest: { cpu: v.cpuRequest.text, memory: v.memoryRequest.text },
        default: { cpu: v.cpuLimit.text, memory: v.memoryLimit.text },
      },
      ...(gateImage
        ? {
            networkGate: {
              image: gateImage,
              kubeletPort: v.gateKubeletPort,
              timeoutSeconds: v.gateTimeoutSeconds,
            },
          }
        : {}),
    },
  });
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * --watch-namespaces (or its one-namespace alias --watch-namespace): trimmed, empty entries
 * dropped (a trailing comma is harmless), duplicates removed, order kept. Every name that is not
 * a namespace name is a problem.
 */
function namespaceList(
  list: string | undefined,
  single: string | undefined,
  problems: string[],
  label: (flag: Flag) => string,
): string[] {
  if (list !== undefined && single !== undefined) {
    problems.push(
      `${label('watch-namespace')} is an alias of ${label('watch-namespaces')}: set only one, got ${JSON.stringify(single)} and ${JSON.stringify(list)}`,
    );
    return [];
  }
  const flag: Flag = single !== undefined ? 'watch-namespace' : 'watch-namespaces';
  const names = [
    ...new Set(
      (list ?? single ?? '')
        .split(',')
        .map((n) => n.trim())
        .filter((n) => n !== ''),
    ),
  ];
  const invalid = names.filter((n) => !(n.length <= 63 && DNS_LABEL.test(n)));
  if (invalid.length > 0) {
    problems.push(
      `${label(flag)} must be empty (all namespaces) or namespace names separated by commas, got ${invalid.map((n) => JSON.stringify(n)).join(', ')}`,
    );
  }
  return names;
}

// The pod's own namespace, so the Lease lives next to the Deployment by default.
function defaultNamespace(env: NodeJS.ProcessEnv, deps: ConfigDeps): string {
  return (
    nonEmpty(env['POD_NAMESPACE']) ??
    nonEmpty(deps.readFile(SERVICE_ACCOUNT_NAMESPACE_FILE)?.trim()) ??
    'paddock-system'
  );
}

/**
 * "host:port", "[ipv6]:port" or ":port" (all IPv4 interfaces, as in Go). Port 0
 * asks the OS for a free port. Returns undefined when malformed.
 */
export function parseListenAddress(text: string): ListenAddress | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]*)):(\d{1,5})$/.exec(text);
  if (match === null) return undefined;
  const port = Number(match[3]);
  if (port > 65535) return undefined;
  const host = match[1] ?? match[2] ?? '';
  return { host: host === '' ? '0.0.0.0' : host, port };
}

function parseBoolean(text: string): boolean | undefined {
  const value = text.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(value)) return true;
  if (['false', '0', 'no', 'off'].includes(value)) return false;
  return undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function camelCase(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function allDefined<T extends Record<string, unknown>>(
  values: T,
): values is { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.values(values).every((value) => value !== undefined);
}
