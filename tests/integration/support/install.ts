// Rendering and inspecting Paddock's two install paths (the Helm chart and the kustomize
// folders in config/) with the real helm and kubectl, and reading what RBAC grants through
// `kubectl auth can-i`. Used by the tests of the install modes (docs/operations.md).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../../../cluster/src/paths.ts';
import { ensureTools } from '../../../cluster/src/tools.ts';

export const CHART = join(REPO_ROOT, 'charts', 'paddock');
export const CONFIG = join(REPO_ROOT, 'config');

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
  nonResourceURLs?: string[];
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

const tools = ensureTools();

function run(bin: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Result {
  const res = spawnSync(bin, args, {
    encoding: 'utf8',
    timeout: 150_000,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, ...env },
  });
  return { code: res.status ?? -1, stdout: res.stdout ?? '', stderr: res.stderr ?? '' };
}

/** helm, with its state in a temporary home (removed by cleanupHelm). */
const helmHome = mkdtempSync(join(tmpdir(), 'paddock-helm-'));
export function helm(args: readonly string[]): Result {
  return run(tools.helm, args, {
    HELM_CACHE_HOME: join(helmHome, 'cache'),
    HELM_CONFIG_HOME: join(helmHome, 'config'),
    HELM_DATA_HOME: join(helmHome, 'data'),
  });
}
export function cleanupHelm(): void {
  rmSync(helmHome, { recursive: true, force: true });
}

export function ok(what: string, r: Result): string {
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}):\n${r.stderr}\n${r.stdout.slice(0, 2000)}`);
  return r.stdout;
}

export function docs(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null && typeof o === 'object');
}

/** `kubectl kustomize DIR`, parsed. */
export function kustomize(dir: string): K8sObject[] {
  return docs(ok(`kubectl kustomize ${dir}`, run(tools.kubectl, ['kustomize', dir])));
}

/** `helm template` of the chart as release "paddock" in `namespace`, parsed. */
export function renderChart(namespace: string, extra: readonly string[] = []): K8sObject[] {
  return docs(ok('helm template', helm(['template', 'paddock', CHART, '-n', namespace, ...extra])));
}

export function readYaml<T>(path: string): T {
  return parse(readFileSync(path, 'utf8')) as T;
}

export const RBAC_KINDS = new Set([
  'ServiceAccount',
  'Role',
  'RoleBinding',
  'ClusterRole',
  'ClusterRoleBinding',
]);

/** Rules compared as sets: order-insensitive within each list and across rules. */
export function normalizeRules(rules: readonly PolicyRule[] | undefined): string[] {
  return (rules ?? [])
    .map((r) =>
      JSON.stringify({
        apiGroups: [...(r.apiGroups ?? [])].sort(),
        resources: [...(r.resources ?? [])].sort(),
        resourceNames: [...(r.resourceNames ?? [])].sort(),
        verbs: [...r.verbs].sort(),
        nonResourceURLs: [...(r.nonResourceURLs ?? [])].sort(),
      }),
    )
    .sort();
}

/**
 * The resource rows of `kubectl auth can-i --list` as "resource [name] [verbs]": one row per
 * resource and resource name ("[]": any name), verbs sorted and merged; non-resource URLs are left
 * out.
 */
export function parseCanIList(text: string): string[] {
  const rows = new Map<string, Set<string>>();
  for (const line of text.split('\n').slice(1)) {
    const m = /^(\S*)\s+\[([^\]]*)\]\s+\[([^\]]*)\]\s+\[([^\]]*)\]\s*$/.exec(line);
    if (!m || m[1] === '') continue;
    const names = (m[3] ?? '').split(/\s+/).filter(Boolean);
    for (const name of names.length > 0 ? names : ['']) {
      const key = `${m[1]} [${name}]`;
      const verbs = rows.get(key) ?? new Set<string>();
      for (const v of (m[4] ?? '').split(/\s+/).filter(Boolean)) verbs.add(v);
      rows.set(key, verbs);
    }
  }
  return [...rows].map(([key, verbs]) => `${key} [${[...verbs].sort().join(' ')}]`).sort();
}

/** Writes kustomizations into a new temporary folder; `files` gets the folder, for relative paths. */
export function writeOverlay(files: (dir: string) => Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'paddock-overlay-'));
  for (const [path, text] of Object.entries(files(dir))) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

/**
 * config/namespaced serving more namespaces, added the way docs/operations.md says: a served
 * folder per namespace (the Role and RoleBinding of config/rbac/namespaced), the names added to the
 * Namespace reader's resourceNames and to PADDOCK_WATCH_NAMESPACES. `patches` are more patch
 * entries (YAML lines under `patches:`).
 */
export function namespacedOverlay(added: readonly string[], patches: readonly string[] = []): string {
  const base = kustomize(join(CONFIG, 'namespaced'));
  const deployment = base.find((o) => o.kind === 'Deployment') as
    | (K8sObject & {
        spec: {
          template: { spec: { containers: Array<{ env?: Array<{ name: string; value?: string }> }> } };
        };
      })
    | undefined;
  const listed = deployment?.spec.template.spec.containers[0]?.env?.find(
    (e) => e.name === 'PADDOCK_WATCH_NAMESPACES',
  )?.value;
  if (listed === undefined) throw new Error('config/namespaced sets no PADDOCK_WATCH_NAMESPACES');
  const served = [...listed.split(','), ...added].join(',');
  return writeOverlay((dir) => ({
    ...Object.fromEntries(
      added.map((ns) => [
        `served/${ns}/kustomization.yaml`,
        [
          'apiVersion: kustomize.config.k8s.io/v1beta1',
          'kind: Kustomization',
          `namespace: ${ns}`,
          `resources: [${relative(join(dir, 'served', ns), join(CONFIG, 'rbac', 'namespaced'))}]`,
          '',
        ].join('\n'),
      ]),
    ),
    'kustomization.yaml': [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      `resources: [${[relative(dir, join(CONFIG, 'namespaced')), ...added.map((ns) => `served/${ns}`)].join(', ')}]`,
      'patches:',
      ...added.map((ns) =>
        [
          '  - target: {kind: ClusterRole, name: paddock-operator-namespaces}',
          `    patch: '[{"op": "add", "path": "/rules/0/resourceNames/-", "value": "${ns}"}]'`,
        ].join('\n'),
      ),
      '  - patch: |-',
      '      apiVersion: apps/v1',
      '      kind: Deployment',
      '      metadata: {name: paddock-operator, namespace: paddock-system}',
      '      spec:',
      '        template:',
      '          spec:',
      '            containers:',
      '              - name: operator',
      '                env:',
      '                  - name: PADDOCK_WATCH_NAMESPACES',
      `                    value: ${served}`,
      ...patches,
      '',
    ].join('\n'),
  }));
}
