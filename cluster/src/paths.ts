// Where the local control plane keeps its binaries and per-cluster state.
// Both live outside the repository so a fresh clone stays clean and a rebuild
// is paid once per machine (keyed by version).
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLUSTER_SRC_DIR = dirname(fileURLToPath(import.meta.url));
export const CLUSTER_DIR = dirname(CLUSTER_SRC_DIR);
export const REPO_ROOT = dirname(CLUSTER_DIR);

export const CACHE_ROOT = process.env['PADDOCK_CACHE'] ?? join(homedir(), '.cache', 'paddock');
export const CLUSTERS_ROOT = join(CACHE_ROOT, 'clusters');

export interface Versions {
  readonly kube: string;
  readonly etcd: string;
  readonly kwok: string;
}

export function readVersions(): Versions {
  const text = readFileSync(join(CLUSTER_DIR, 'versions.env'), 'utf8');
  const vars = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(\S+)/.exec(line.trim());
    if (m?.[1] && m[2]) vars.set(m[1], m[2]);
  }
  const get = (k: string): string => {
    const v = vars.get(k);
    if (!v) throw new Error(`cluster/versions.env has no ${k}`);
    return v;
  };
  return { kube: get('KUBE_VERSION'), etcd: get('ETCD_VERSION'), kwok: get('KWOK_VERSION') };
}
