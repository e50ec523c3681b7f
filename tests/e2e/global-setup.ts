// Runs once before the e2e tier (docs/testing.md, "End to end on the real node"): the control plane binaries
// and kubectl/helm as for the integration tests, then, where this machine can run the real node, its build
// and the images (`make images` when anything they are built from changed). Where it cannot, the e2e files
// skip themselves and this says why in one line.
import { ensureBinaries } from '../../cluster/src/binaries.ts';
import { ensureRealNodeBuild, realNodeUnsupported } from '../../cluster/src/real-node-host.ts';
import { ensureTools } from '../../cluster/src/tools.ts';
import { ensureImages } from '../../images/src/ensure.ts';

export default function setup(): void {
  ensureBinaries();
  ensureTools();
  const unsupported = realNodeUnsupported();
  if (unsupported !== undefined) {
    console.log(`e2e: skipped: ${unsupported}`);
    return;
  }
  ensureRealNodeBuild();
  ensureImages((m) => console.log(`e2e: ${m}`));
}
