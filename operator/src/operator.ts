// The operator process: configuration, logging, metrics, the manager, and
// signals (started by main.ts). Exit codes: 0 after a graceful stop, 1 on a fatal error or lost
// leadership, 2 on invalid configuration.
import { ConfigError, HelpRequested, loadConfig } from './config.ts';
import { KubeClient } from './kube/client.ts';
import { Manager } from './manager.ts';
import { createLogger, errorFields } from './observability/logger.ts';
import { Metrics } from './observability/metrics.ts';

const VERSION = process.env['PADDOCK_VERSION'] ?? '0.1.0';

function configOrExit(): ReturnType<typeof loadConfig> {
  try {
    return loadConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stdout.write(err.text);
      process.exit(0);
    }
    if (err instanceof ConfigError) {
      process.stderr.write(
        `paddock: invalid configuration:\n${err.problems.map((p) => `  - ${p}`).join('\n')}\n`,
      );
      process.exit(2);
    }
    throw err;
  }
}

const config = configOrExit();
const logger = createLogger({ level: config.logLevel, name: 'paddock' });
const metrics = new Metrics({ version: VERSION });

process.on('unhandledRejection', (reason) => {
  // A bug, not an expected failure (those are handled where they happen): die
  // loudly so the Deployment restarts a clean process.
  logger.fatal(errorFields(reason), 'unhandled promise rejection');
  process.exit(1);
});

const client = KubeClient.load(config.kubeconfig, {
  userAgent: `paddock-operator/${VERSION}`,
  observe: (verb, resource, code, seconds) => metrics.apiRequest(verb, resource, code, seconds),
});

const manager = new Manager({
  config,
  client,
  logger,
  metrics,
  onLostLeadership: () => process.exit(1),
});

let stopping = false;
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal: sig }, 'signal received');
    manager.shutdown().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error(errorFields(err), 'shutdown failed');
        process.exit(1);
      },
    );
  });
}

try {
  logger.info(
    {
      version: VERSION,
      identity: config.identity,
      server: client.server,
      namespaces: config.watchNamespaces.length > 0 ? config.watchNamespaces : '(all)',
    },
    'starting paddock operator',
  );
  await manager.start();
} catch (err) {
  logger.fatal(errorFields(err), 'failed to start');
  process.exit(1);
}
