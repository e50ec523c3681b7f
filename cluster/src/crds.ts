// Installing Paddock's CRDs (crds/) on a cluster with kubectl, and waiting until the API server serves them: the
// one sequence the test harness, the demo and the benchmark all need.
import { join } from 'node:path';
import { REPO_ROOT } from './paths.ts';

/** `kubectl wait` until every Paddock CRD is Established. */
export const WAIT_CRDS_ESTABLISHED = [
  'wait',
  '--for=condition=Established',
  '--timeout=60s',
  'crd',
  '-l',
  'app.kubernetes.io/part-of=paddock',
] as const;

/** Server-side applies crds/ and waits until the CRDs are Established. */
export function installCrds(kubectl: (args: readonly string[]) => unknown): void {
  kubectl(['apply', '--server-side', '-f', join(REPO_ROOT, 'crds')]);
  kubectl(WAIT_CRDS_ESTABLISHED);
}
