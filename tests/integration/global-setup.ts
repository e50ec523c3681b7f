// Runs once before the integration tests: build (first run) or reuse the
// control plane binaries and kubectl, and clear clusters a crashed run left.
import { readdirSync } from 'node:fs';
import { ensureBinaries } from '../../cluster/src/binaries.ts';
import { stopOrphanedCluster } from '../../cluster/src/local-cluster.ts';
import { CLUSTERS_ROOT } from '../../cluster/src/paths.ts';
import { ensureTools } from '../../cluster/src/tools.ts';
import { ensureNetpolAnalyzer } from './support/netpol-analyzer.ts';

export default function setup(): void {
  ensureBinaries();
  ensureTools();
  ensureNetpolAnalyzer();
  let names: string[] = [];
  try {
    names = readdirSync(CLUSTERS_ROOT).filter((n) => n.startsWith('it-'));
  } catch {
    // no clusters yet
  }
  // Only clusters whose test process died: a concurrent run's clusters are left alone.
  for (const n of names) stopOrphanedCluster(n);
}
