// `make cluster-up` / `make cluster-down`: the local control plane from a shell.
// up: builds (first run) and starts the cluster detached, prints the kubeconfig path.
// down: stops the processes recorded for the cluster and removes its state.
import { Command } from 'commander';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { LocalCluster, stopStaleCluster, writeCurrent } from './local-cluster.ts';
import { CLUSTERS_ROOT } from './paths.ts';
import { ensureRealNodeBuild, realNodeUnsupported } from './real-node-host.ts';
import { ensureInfraImages } from './real-node-images.ts';

const program = new Command('cluster').description(
  'Paddock local control plane (etcd, kube-apiserver, KCM, scheduler, KWOK, optionally one real node)',
);

program
  .command('up')
  .option('--name <name>', 'cluster name', 'dev')
  .option('--nodes <n>', 'fake nodes', '3')
  .option('--real-node', 'add one real kubelet node (Linux, root; docs/testing.md)', false)
  .action(async (o: { name: string; nodes: string; realNode: boolean }) => {
    const cluster = new LocalCluster({
      name: o.name,
      nodes: Number(o.nodes),
      detached: true,
      realNode: o.realNode,
      log: (m) => console.error(m),
    });
    let info;
    try {
      info = await cluster.start();
    } catch (err) {
      // One clear line for a machine that cannot run a real node; the whole story otherwise.
      console.error(String(err instanceof Error ? err.message : err));
      process.exit(1);
    }
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
  .command('build-real-node')
  .description(
    "build (first run) or reuse the real node's binaries, packages and images; prints their directory",
  )
  .action(async () => {
    const why = realNodeUnsupported();
    if (why) {
      console.error(`real node unavailable: it ${why}`);
      process.exit(1);
    }
    const build = ensureRealNodeBuild();
    await ensureInfraImages(build.dir);
    console.log(build.dir);
  });

program
  .command('kubeconfig')
  .option('--name <name>', 'cluster name', 'dev')
  .action((o: { name: string }) => {
    console.log(join(CLUSTERS_ROOT, o.name, 'kubeconfig'));
  });

await program.parseAsync(process.argv);
