// `make cluster-up` / `make cluster-down`: the local control plane from a shell.
// up: builds (first run) and starts the cluster detached, prints the kubeconfig path.
// down: stops the processes recorded for the cluster and removes its state.
import { Command } from 'commander';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { LocalCluster, stopStaleCluster, writeCurrent } from './local-cluster.ts';
import { CLUSTERS_ROOT } from './paths.ts';

const program = new Command('cluster').description(
  'Paddock local control plane (etcd, kube-apiserver, KCM, scheduler, KWOK)',
);

program
  .command('up')
  .option('--name <name>', 'cluster name', 'dev')
  .option('--nodes <n>', 'fake nodes', '3')
  .action(async (o: { name: string; nodes: string }) => {
    const cluster = new LocalCluster({
      name: o.name,
      nodes: Number(o.nodes),
      detached: true,
      log: (m) => console.error(m),
    });
    const info = await cluster.start();
    writeCurrent(info);
    cluster.kubeconfigFor('alice');
    cluster.kubeconfigFor('bob');
    console.error(`kubeconfig: ${info.kubeconfig}`);
    console.error(`  export KUBECONFIG=${info.kubeconfig}`);
    console.log(info.kubeconfig);
  });

program
  .command('down')
  .option('--name <name>', 'cluster name', 'dev')
  .action((o: { name: string }) => {
    stopStaleCluster(o.name);
    rmSync(join(CLUSTERS_ROOT, o.name), { recursive: true, force: true });
    rmSync(join(CLUSTERS_ROOT, `${o.name}.json`), { force: true });
    console.error(`cluster ${o.name} stopped`);
  });

program
  .command('kubeconfig')
  .option('--name <name>', 'cluster name', 'dev')
  .action((o: { name: string }) => {
    console.log(join(CLUSTERS_ROOT, o.name, 'kubeconfig'));
  });

await program.parseAsync(process.argv);
