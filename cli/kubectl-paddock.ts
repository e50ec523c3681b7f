// kubectl-paddock: the kubectl plugin people use to see and decide Paddock
// Approvals (`kubectl paddock list|describe|approve|reject|whoami`) and to run a
// Workflow again (`retry|resubmit`). Every request carries the caller's own
// kubeconfig identity; the API server decides what they may do (RBAC, the
// `approve` verb, the admission policies).
// Started by cli/bin/kubectl-paddock.mjs, which checks the Node version first.
import { Command, CommanderError, Option } from 'commander';
import type { DecisionValue } from '../operator/src/api/generated/approval.ts';
import {
  decideCommand,
  describeCommand,
  listCommand,
  resubmitCommand,
  retryCommand,
  whoamiCommand,
  type Io,
} from './lib/commands.ts';
import { explain, type ErrorContext } from './lib/errors.ts';
import { OUTPUT_FORMATS, parseOutput } from './lib/format.ts';
import { connect, type GlobalOptions, type Session } from './lib/kube.ts';

export const VERSION = '0.1.0';

const EXAMPLES = `
Examples:
  # Approvals waiting for a decision in the current namespace (or -n NS, or -A for all)
  kubectl paddock list
  # Everything one approver needs: request, inputs, what changed since the superseded approval, decisions
  kubectl paddock describe deploy-prod-approval-1
  # Decide, as yourself (your kubeconfig identity; see: kubectl paddock whoami)
  kubectl paddock approve deploy-prod-approval-1 -m "lgtm"
  kubectl paddock reject deploy-prod-approval-1 -m "the migration drops a column"
  # Run again the steps of a Failed or Cancelled Workflow that did not succeed (gated ones ask for a new Approval)
  kubectl paddock retry deploy-prod
  # Start a new run with the same spec (prints its name)
  kubectl paddock resubmit deploy-prod --name deploy-prod-2
`;

export interface MainIo extends Io {
  readonly env: NodeJS.ProcessEnv;
}

export function processIo(): MainIo {
  return {
    out: (s) => void process.stdout.write(s),
    err: (s) => void process.stderr.write(s),
    now: () => new Date(),
    env: process.env,
  };
}

/** Runs one command line (arguments after the program name); resolves with the exit code. */
export async function main(args: readonly string[], io: MainIo = processIo()): Promise<number> {
  let ctx: ErrorContext = { action: 'read' };
  let session: Session | undefined;
  const open = (
    cmd: Command,
    action: ErrorContext['action'],
    name?: string,
    allNamespaces = false,
  ): Session => {
    const g = cmd.optsWithGlobals<GlobalOptions>();
    session = connect(g, io.env);
    ctx = {
      action,
      ...(allNamespaces ? {} : { namespace: session.namespace }),
      server: session.client.server,
      ...(name ? { name } : {}),
    };
    return session;
  };
  const output = (formats: readonly string[]) =>
    new Option('-o, --output <format>', `output format: ${formats.join('|')}`).choices(formats);

  const program = new Command('kubectl-paddock')
    .name('kubectl paddock')
    .description(
      'See and decide Paddock Approvals, and retry or resubmit Workflows, as yourself (your kubeconfig identity).',
    )
    .version(VERSION, '--version')
    .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)')
    .option(
      '-n, --namespace <namespace>',
      "namespace (default: the kubeconfig context's namespace, else default)",
    )
    .option(
      '--context <name>',
      "not supported: the kubeconfig's current-context is always used (accepted only when it names it); switch with kubectl config use-context",
    )
    .showHelpAfterError('(run kubectl paddock --help for usage)')
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .exitOverride()
    .addHelpText('after', EXAMPLES);

  program
    .command('list')
    .alias('ls')
    .description('list approvals: Pending ones in the namespace by default')
    .option('-A, --all-namespaces', 'list across all namespaces')
    .option('--all', 'include decided approvals (Approved, Rejected, Expired, Superseded)')
    .addOption(output(OUTPUT_FORMATS))
    .action(async (o: { allNamespaces?: boolean; all?: boolean; output?: string }, cmd: Command) => {
      const s = open(cmd, 'read', undefined, o.allNamespaces === true);
      await listCommand(s.client, io, {
        namespace: s.namespace,
        allNamespaces: o.allNamespaces === true,
        includeDecided: o.all === true,
        ...(o.output ? { output: parseOutput(o.output, OUTPUT_FORMATS) } : {}),
      });
    });

  program
    .command('describe')
    .description('show the request, its inputs, the change since the superseded approval, and the decisions')
    .argument('<name>', 'Approval name')
    .addOption(output(['json', 'yaml']))
    .action(async (name: string, o: { output?: string }, cmd: Command) => {
      const s = open(cmd, 'read', name);
      await describeCommand(s.client, io, {
        namespace: s.namespace,
        name,
        ...(o.output ? { output: o.output } : {}),
      });
    });

  const decide = (decision: DecisionValue) => async (name: string, o: { message?: string }, cmd: Command) => {
    const s = open(cmd, 'decide', name);
    await decideCommand(s.client, io, {
      namespace: s.namespace,
      name,
      decision,
      ...(o.message !== undefined ? { message: o.message } : {}),
    });
  };
  program
    .command('approve')
    .description('approve as yourself: appends your decision to spec.decisions')
    .argument('<name>', 'Approval name')
    .option('-m, --message <text>', 'comment recorded with your decision')
    .action(decide('Approve'));
  program
    .command('reject')
    .description('reject as yourself (any rejection vetoes): appends your decision to spec.decisions')
    .argument('<name>', 'Approval name')
    .requiredOption('-m, --message <text>', 'why (required)')
    .action(decide('Reject'));

  program
    .command('retry')
    .description(
      'ask for a retry of a Failed or Cancelled Workflow as yourself: the steps that did not succeed run again, succeeded ones keep their outputs, gated ones ask for a new Approval',
    )
    .argument('<name>', 'Workflow name')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const s = open(cmd, 'retry', name);
      await retryCommand(s.client, io, { namespace: s.namespace, name });
    });

  program
    .command('resubmit')
    .description(
      'create a new Workflow with the same spec (run controls cancel, retry and suspend left out); prints its name',
    )
    .argument('<name>', 'Workflow to copy')
    .option('--name <new>', 'name of the new Workflow (default: generated, <name>-xxxxx)')
    .action(async (name: string, o: { name?: string }, cmd: Command) => {
      const s = open(cmd, 'resubmit', name);
      await resubmitCommand(s.client, io, {
        namespace: s.namespace,
        name,
        ...(o.name ? { newName: o.name } : {}),
      });
    });

  program
    .command('whoami')
    .description(
      'the username and groups the API server authenticates you as (decisions are recorded under it)',
    )
    .addOption(output(['json', 'yaml']))
    .action(async (o: { output?: string }, cmd: Command) => {
      const s = open(cmd, 'whoami');
      await whoamiCommand(s.client, io, o.output ? { output: o.output } : {});
    });

  try {
    await program.parseAsync([...args], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    io.err(`${explain(err, ctx)}\n`);
    return 1;
  } finally {
    session?.client.close();
  }
}
