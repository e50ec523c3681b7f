// How Paddock is installed: the kustomize layout in config/, the Helm chart in charts/paddock, and
// the Prometheus/Grafana files they share. What renders is checked offline (kubectl kustomize,
// helm template/lint); then both installs go onto a real API server, where admission (Pod Security
// "restricted", RBAC, the CRD schemas) decides. The chart reads the CRDs, the RBAC rules, the alert
// rules and the dashboard from crds/ and config/ through links in charts/paddock/files; the tests
// check that what it renders is exactly that.
//
// No container runs here: KWOK marks the operator's pods Running. SIM_MANUAL=true (docs/testing.md)
// keeps them Running instead of completing them like agent pods, so the Deployments become
// Available as they would on a real cluster.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type {
  V1ClusterRole,
  V1ConfigMap,
  V1Container,
  V1CustomResourceDefinition,
  V1Deployment,
  V1Namespace,
  V1PodDisruptionBudget,
  V1PodList,
  V1PolicyRule,
  V1Role,
  V1RoleBinding,
  V1Service,
  V1ServiceAccount,
} from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../../cluster/src/paths.ts';
import { WAIT_CRDS_ESTABLISHED } from '../../cluster/src/crds.ts';
import { ensureTools } from '../../cluster/src/tools.ts';
import { LABEL_AGENT_POD } from '../../operator/src/api/labels.ts';
import { loadConfig, type Config, type ConfigDeps } from '../../operator/src/config.ts';
import { Metrics } from '../../operator/src/observability/metrics.ts';
import { useCluster } from './support/cluster.ts';
import { kubectl } from './support/kubectl.ts';
import { eventually } from './support/wait.ts';

const CHART = join(REPO_ROOT, 'charts', 'paddock');
const CONFIG = join(REPO_ROOT, 'config');
const CRDS = join(REPO_ROOT, 'crds');
const NS = 'paddock-system';
const RELEASE = 'paddock';
const OPERATOR = 'paddock-operator';
const KEEP_RUNNING = { name: 'SIM_MANUAL', value: 'true' };

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
}
interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface PrometheusRule extends K8sObject {
  spec: { groups: { name: string; rules: Rule[] }[] };
}
interface ServiceMonitor extends K8sObject {
  spec: {
    jobLabel?: string;
    selector: { matchLabels: Record<string, string> };
    namespaceSelector?: { matchNames?: string[] };
    endpoints: { port: string; path?: string; interval?: string }[];
  };
}
interface Dashboard {
  uid: string;
  templating: { list: { name: string }[] };
  panels: { id: number; type: string; title: string; targets?: { expr: string }[] }[];
}

// --- tools -----------------------------------------------------------------------------------

const tools = ensureTools();
// Helm keeps its own state out of the user's home.
const helmHome = mkdtempSync(join(tmpdir(), 'paddock-helm-'));
afterAll(() => rmSync(helmHome, { recursive: true, force: true }));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function run(bin: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Result {
  const res = spawnSync(bin, args, {
    encoding: 'utf8',
    timeout: 150_000,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, ...env },
  });
  return { code: res.status ?? -1, stdout: res.stdout ?? '', stderr: res.stderr ?? '' };
}

function helm(args: readonly string[]): Result {
  return run(tools.helm, args, {
    HELM_CACHE_HOME: join(helmHome, 'cache'),
    HELM_CONFIG_HOME: join(helmHome, 'config'),
    HELM_DATA_HOME: join(helmHome, 'data'),
  });
}

function ok(what: string, r: Result): string {
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}):\n${r.stderr}\n${r.stdout.slice(0, 2000)}`);
  return r.stdout;
}

function docs(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null && typeof o === 'object');
}

/** `kubectl kustomize DIR`, parsed. */
function kustomize(dir: string): K8sObject[] {
  return docs(ok(`kubectl kustomize ${dir}`, run(tools.kubectl, ['kustomize', dir])));
}

/** `helm template` of the chart as release "paddock" in paddock-system, parsed. */
function render(extra: readonly string[] = []): K8sObject[] {
  return docs(ok('helm template', helm(['template', RELEASE, CHART, '-n', NS, ...extra])));
}

function find<T extends K8sObject>(objs: readonly K8sObject[], kind: string, name?: string): T {
  const found = objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) {
    throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  }
  return found[0] as T;
}

function kinds(objs: readonly K8sObject[]): string[] {
  return objs.map((o) => o.kind).sort();
}

function byKindName(a: K8sObject, b: K8sObject): number {
  return `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`);
}

function writeTemp(name: string, content: string): string {
  const path = join(helmHome, name);
  writeFileSync(path, content);
  return path;
}

function container(d: V1Deployment): V1Container {
  const c = d.spec?.template.spec?.containers[0];
  if (!c) throw new Error(`Deployment ${d.metadata?.name} has no container`);
  return c;
}

/** Rules compared as sets: order-insensitive within each list. */
function normalizeRules(rules: readonly V1PolicyRule[] | undefined): string[] {
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

function readYaml<T>(path: string): T {
  return parse(readFileSync(path, 'utf8')) as T;
}

/** The namespace config/default's comment moves the operator to. */
const MOVED_NS = 'paddock-ops';
/**
 * The overlay config/default/kustomization.yaml's comment gives for installing in another
 * namespace, exactly as written there, in a new temporary folder (its path to config/default
 * filled in). Returns the folder.
 */
function movedOverlay(): string {
  const comment = readFileSync(join(CONFIG, 'default', 'kustomization.yaml'), 'utf8').split('\n');
  const start = comment.indexOf('#   apiVersion: kustomize.config.k8s.io/v1beta1');
  if (start < 0) throw new Error('config/default/kustomization.yaml: no overlay in its comment');
  const end = comment.findIndex((l, i) => i > start && !l.startsWith('#   '));
  const dir = mkdtempSync(join(tmpdir(), 'paddock-moved-'));
  const text = comment
    .slice(start, end)
    .map((l) => l.slice('#   '.length))
    .join('\n')
    .replace('<path to config/default>', relative(dir, join(CONFIG, 'default')));
  writeFileSync(join(dir, 'kustomization.yaml'), `${text}\n`);
  return dir;
}

/** An Approval as the operator makes one (no decisions), to submit with --dry-run=server. */
function approvalManifest(namespace: string): string {
  return JSON.stringify({
    apiVersion: 'paddock.dev/v1alpha1',
    kind: 'Approval',
    metadata: { name: 'probe-approval-1', namespace },
    spec: {
      workflowRef: { name: 'probe' },
      step: 'deploy',
      request: {
        agent: 'deployer',
        agentGeneration: 1,
        image: `ghcr.io/paddock-dev/fixture@sha256:${'ab'.repeat(32)}`,
        digest: `hmac-sha256:${'0'.repeat(64)}`,
      },
      policy: { required: 1, expiresAt: '2099-01-01T00:00:00Z' },
    },
  });
}

// The operator's view of a set of flags, as in the pod (POD_NAME/POD_NAMESPACE from the downward API).
const configDeps: ConfigDeps = {
  readFile: () => undefined,
  isReadableFile: () => true,
  hostname: () => 'host',
  randomSuffix: () => 'suffix',
};
function operatorConfig(c: V1Container): Config {
  return loadConfig(c.args ?? [], { POD_NAME: 'pod-0', POD_NAMESPACE: NS }, configDeps);
}

// Pod Security Standards "restricted", as the Deployment must satisfy it.
function expectRestricted(d: V1Deployment): void {
  const pod = d.spec?.template.spec;
  expect(pod?.securityContext).toMatchObject({
    runAsNonRoot: true,
    runAsUser: 65532,
    seccompProfile: { type: 'RuntimeDefault' },
  });
  expect(pod?.hostNetwork ?? false).toBe(false);
  expect(container(d).securityContext).toMatchObject({
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    runAsUser: 65532,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  });
}

// What both installs promise about the operator's Deployment.
function expectOperatorDeployment(d: V1Deployment): void {
  expect(d.spec?.replicas).toBe(2);
  expectRestricted(d);
  const c = container(d);
  expect(c.image).toBe('ghcr.io/paddock-dev/paddock-operator:0.1.0');
  expect(c.resources).toEqual({
    requests: { cpu: '100m', memory: '128Mi' },
    limits: { cpu: '1', memory: '256Mi' },
  });
  expect(c.livenessProbe?.httpGet).toMatchObject({ path: '/healthz', port: 'health' });
  // The standby must be ready too (see config/manager/manager.yaml).
  expect(c.readinessProbe?.httpGet).toMatchObject({ path: '/readyz?exclude=leader', port: 'health' });
  expect(c.ports).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ name: 'metrics', containerPort: 8080 }),
      expect.objectContaining({ name: 'health', containerPort: 8081 }),
    ]),
  );
  const env = new Map((c.env ?? []).map((e) => [e.name, e]));
  expect(env.get('POD_NAME')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
  expect(env.get('POD_NAMESPACE')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.namespace');
  expect(d.spec?.template.spec?.serviceAccountName).toBe(OPERATOR);
  // Longer than the operator's shutdown timeout, so SIGTERM handling completes.
  const config = operatorConfig(c);
  expect(d.spec?.template.spec?.terminationGracePeriodSeconds).toBeGreaterThan(config.shutdownTimeoutSeconds);
  expect(config.leaderElect).toBe(true);
  expect(config.healthAddr).toEqual({ host: '0.0.0.0', port: 8081 });
  expect(config.metricsAddr).toEqual({ host: '0.0.0.0', port: 8080 });
  // Spread over nodes.
  const spec = d.spec?.template.spec;
  const spreadKeys = (spec?.topologySpreadConstraints ?? []).map((t) => t.topologyKey);
  expect(spreadKeys).toContain('kubernetes.io/hostname');
  expect(
    spec?.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.[0]?.podAffinityTerm
      .topologyKey,
  ).toBe('kubernetes.io/hostname');
}

// Every metric name the operator exports (histograms with their series suffixes), plus `up`.
async function exportedMetricNames(): Promise<Set<string>> {
  const metrics = new Metrics({ version: 'test' });
  const names = new Set<string>(['up']);
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    names.add(m.name);
    if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m.name + s);
  }
  return names;
}

function metricNamesIn(expr: string): string[] {
  return [...expr.matchAll(/\b(paddock_[a-z0-9_]+|up)\b/g)].map((m) => m[1]!);
}

const sharedRules = readYaml<PrometheusRule>(join(CONFIG, 'prometheus', 'prometheus_rule.yaml'));
const sharedDashboard = JSON.parse(
  readFileSync(join(CONFIG, 'prometheus', 'grafana-dashboard.json'), 'utf8'),
) as Dashboard;
const crdFiles = readdirSync(CRDS)
  .filter((f) => f.endsWith('.yaml'))
  .sort();
// The ClusterRoles for people (config/rbac) and the admission policies (config/admission), in both installs.
const USER_ROLES = ['paddock-approver', 'paddock-editor', 'paddock-viewer', 'paddock-policy-admin'];
const USER_ROLE_FILES = [
  'approver_role.yaml',
  'editor_role.yaml',
  'viewer_role.yaml',
  'policy_admin_role.yaml',
];
const ADMISSION = join(CONFIG, 'admission');
const admissionFiles = readdirSync(ADMISSION)
  .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
  .sort();
// One policy and its binding per file, and nothing else: no parameter objects (see operatorIdentity).
const admissionKinds = admissionFiles.flatMap(() => [
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
]);
/** What config/admission installs: the policies and their bindings. */
const fromAdmission = (o: K8sObject): boolean => o.kind.startsWith('ValidatingAdmissionPolicy');
type PolicyVariable = { name: string; expression: string };
/**
 * The operator's identity as paddock-operator-writes names it: the string literals of its variables
 * operatorNamespace and operatorServiceAccount (config/admission/operator-writes.yaml). Written into
 * the policy, not read from a parameter ConfigMap, which a kube-apiserver stops resolving once the
 * last binding naming it is deleted and recreated (kubernetes/kubernetes#130887).
 */
function operatorIdentity(objs: readonly K8sObject[]): { namespace: string; serviceAccount: string } {
  const policy = find<K8sObject & { spec: { variables: PolicyVariable[]; paramKind?: unknown } }>(
    objs,
    'ValidatingAdmissionPolicy',
    'paddock-operator-writes',
  );
  expect(policy.spec.paramKind).toBeUndefined();
  const literal = (name: string): string => {
    const expr = policy.spec.variables.find((v) => v.name === name)?.expression ?? '';
    const m = /^'([a-z0-9.-]+)'$/.exec(expr);
    if (!m) throw new Error(`paddock-operator-writes: variable ${name} is not a DNS-name literal: ${expr}`);
    return m[1]!;
  };
  return { namespace: literal('operatorNamespace'), serviceAccount: literal('operatorServiceAccount') };
}
// The operator's signing key Secret (operator/src/kube/signing-key.ts) and the Role that lets the
// operator read and create it, in its own namespace.
const SIGNING_KEY = 'paddock-signing-key';
const signingKeyRole = parseAllDocuments(readFileSync(join(CONFIG, 'rbac', 'signing_key_role.yaml'), 'utf8'))
  .map((d) => d.toJS() as V1Role & K8sObject)
  .find((o) => o.kind === 'Role');
if (!signingKeyRole) throw new Error('config/rbac/signing_key_role.yaml has no Role');

/**
 * paddock-operator-writes, as installed: creating an Approval (a server dry run) is admitted for
 * the ServiceAccount `operator` names (with its own RBAC), and refused with the policy's message
 * for the cluster admin and for each of `others`, though they hold every right (impersonated in
 * group system:masters, so RBAC lets them through to admission).
 */
async function expectOnlyOperatorCreates(
  kubeconfig: string,
  operator: string,
  others: readonly string[] = [],
): Promise<void> {
  const create = (as: readonly string[]) =>
    kubectl(kubeconfig, ['create', '--dry-run=server', '-f', '-', ...as], approvalManifest('default'));
  const refusal = (who: string) =>
    "ValidatingAdmissionPolicy 'paddock-operator-writes' with binding 'paddock-operator-writes' denied request: " +
    `only the Paddock operator (${operator}) may create Approvals (an Approval is a request the operator makes for a gated step); ${who} may not`;
  // Policies, bindings and their parameters reach admission through informers.
  const [asOperator, asAdmin] = await eventually(
    'paddock-operator-writes to be enforced with its parameter',
    () => [create([`--as=${operator}`]), create([])],
    ([op, admin]) => op?.code === 0 && (admin?.stderr.includes(refusal('paddock-admin')) ?? false),
  );
  expect(asOperator?.stdout).toContain('created (server dry run)');
  expect(asAdmin?.code).not.toBe(0);
  for (const who of others) {
    const r = create([`--as=${who}`, '--as-group=system:masters']);
    expect(r.code, who).not.toBe(0);
    expect(r.stderr, who).toContain(refusal(who));
  }
}

/** `kubectl apply --server-side -k` of `dir` with the operator's pods kept Running (SIM_MANUAL). */
function applyKeepingRunning(kubeconfig: string, dir: string): void {
  const overlay = mkdtempSync(join(tmpdir(), 'paddock-overlay-'));
  try {
    writeFileSync(
      join(overlay, 'kustomization.yaml'),
      [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        `resources: [${relative(overlay, dir)}]`,
        'patches:',
        `  - target: {kind: Deployment, name: ${OPERATOR}}`,
        `    patch: '[{"op": "add", "path": "/spec/template/spec/containers/0/env/-", "value": ${JSON.stringify(KEEP_RUNNING)}}]'`,
        '',
      ].join('\n'),
    );
    const r = kubectl(kubeconfig, ['apply', '--server-side', '-k', overlay]);
    if (r.code !== 0) throw new Error(`kubectl apply -k ${dir} failed: ${r.stderr}`);
  } finally {
    rmSync(overlay, { recursive: true, force: true });
  }
}

// --- offline: what renders --------------------------------------------------------------------

describe('kustomize layout (rendered)', () => {
  it('crds/Kustomization lists every CRD in crds/, and kubectl apply -f crds/ skips it', () => {
    const crds = kustomize(CRDS);
    expect(crds.map((o) => `${o.metadata.name}.yaml`).sort()).toEqual(crdFiles);
    // Named so that kubectl -f (which reads *.yaml, *.yml and *.json) never sees it.
    expect(readdirSync(CRDS).filter((f) => /^kustomization\.(ya?ml|json)$/i.test(f))).toEqual([]);
  });

  it('config/default: CRDs, a restricted namespace, config/rbac, config/admission and a two-replica operator', () => {
    const objs = kustomize(join(CONFIG, 'default'));
    expect(kinds(objs)).toEqual(
      [
        ...crdFiles.map(() => 'CustomResourceDefinition'),
        ...USER_ROLES.map(() => 'ClusterRole'),
        ...admissionKinds,
        'ClusterRole',
        'ClusterRoleBinding',
        'Deployment',
        'Namespace',
        'NetworkPolicy',
        'PodDisruptionBudget',
        // The Lease and the signing key, in the operator's namespace.
        'Role',
        'Role',
        'RoleBinding',
        'RoleBinding',
        'Service',
        'ServiceAccount',
      ].sort(),
    );
    for (const o of objs) expect(o.metadata.labels?.['app.kubernetes.io/part-of'], o.kind).toBe('paddock');
    const clusterScoped = [
      'Namespace',
      'ClusterRole',
      'ClusterRoleBinding',
      'CustomResourceDefinition',
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicyBinding',
    ];
    for (const o of objs) {
      if (!clusterScoped.includes(o.kind)) expect(o.metadata.namespace, o.kind).toBe(NS);
    }

    const ns = find<V1Namespace & K8sObject>(objs, 'Namespace', NS);
    expect(ns.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');

    const d = find<V1Deployment & K8sObject>(objs, 'Deployment', OPERATOR);
    expectOperatorDeployment(d);
    // Selectors are immutable: the part-of label is on the pods, not in the selector.
    expect(d.spec?.selector.matchLabels).toEqual({
      'app.kubernetes.io/name': 'paddock',
      'app.kubernetes.io/component': 'operator',
    });
    expect(d.spec?.template.metadata?.labels?.['app.kubernetes.io/part-of']).toBe('paddock');

    const pdb = find<V1PodDisruptionBudget & K8sObject>(objs, 'PodDisruptionBudget');
    expect(pdb.spec?.minAvailable).toBe(1);
    expect(pdb.spec?.selector?.matchLabels).toEqual(d.spec?.selector.matchLabels);

    // The signing key: get of that one Secret, create of Secrets, here only; the operator's default name.
    expect(operatorConfig(container(d)).signingKeySecret).toBe(SIGNING_KEY);
    const sk = find<V1Role & K8sObject>(objs, 'Role', SIGNING_KEY);
    expect(normalizeRules(sk.rules)).toEqual(
      normalizeRules([
        { apiGroups: [''], resources: ['secrets'], resourceNames: [SIGNING_KEY], verbs: ['get'] },
        { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
      ]),
    );
    expect(find<V1RoleBinding & K8sObject>(objs, 'RoleBinding', SIGNING_KEY)).toMatchObject({
      roleRef: { kind: 'Role', name: SIGNING_KEY },
      subjects: [{ kind: 'ServiceAccount', name: OPERATOR, namespace: NS }],
    });
    // The operator's identity for paddock-operator-writes: its ServiceAccount, in its namespace.
    expect(operatorIdentity(objs)).toEqual({ namespace: NS, serviceAccount: OPERATOR });

    const svc = find<V1Service & K8sObject>(objs, 'Service');
    expect(svc.spec?.selector).toEqual(d.spec?.selector.matchLabels);
    expect(svc.spec?.ports?.[0]).toMatchObject({ name: 'metrics', port: 8080, targetPort: 'metrics' });
  });

  it('config/default moved to another namespace by the overlay its comment gives: the operator is named there everywhere', () => {
    const dir = movedOverlay();
    let objs: K8sObject[];
    try {
      objs = kustomize(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(objs.length).toBe(kustomize(join(CONFIG, 'default')).length);
    expect(JSON.stringify(objs)).not.toContain('paddock-system');
    expect(find<V1Namespace & K8sObject>(objs, 'Namespace').metadata.name).toBe(MOVED_NS);
    const operator = { kind: 'ServiceAccount', name: OPERATOR, namespace: MOVED_NS };
    const bindings = objs.filter((o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding');
    expect(bindings.map((b) => b.metadata.name).sort()).toEqual([
      'paddock-leader-election',
      OPERATOR,
      SIGNING_KEY,
    ]);
    for (const b of bindings)
      expect((b as V1RoleBinding & K8sObject).subjects, b.metadata.name).toEqual([operator]);
    expect(find<V1Role & K8sObject>(objs, 'Role', SIGNING_KEY).metadata.namespace).toBe(MOVED_NS);
    expect(operatorIdentity(objs)).toEqual({ namespace: MOVED_NS, serviceAccount: OPERATOR });
    // The operator keeps its Lease and signing key in the namespace it runs in.
    expect(find<V1Deployment & K8sObject>(objs, 'Deployment').metadata.namespace).toBe(MOVED_NS);
  });

  it("config/default's flags are the operator's defaults, plus the network gate run from its own image", () => {
    const d = find<V1Deployment & K8sObject>(kustomize(join(CONFIG, 'default')), 'Deployment');
    const image = container(d).image;
    expect(operatorConfig(container(d))).toEqual(
      loadConfig([`--network-gate-image=${image}`], { POD_NAME: 'pod-0', POD_NAMESPACE: NS }, configDeps),
    );
  });

  it('config/samples holds the examples', () => {
    const objs = kustomize(join(CONFIG, 'samples'));
    const count = (dir: string) =>
      readdirSync(join(REPO_ROOT, 'examples', dir)).filter((f) => f.endsWith('.yaml')).length;
    expect(objs.filter((o) => o.kind === 'Agent')).toHaveLength(count('agents'));
    expect(objs.filter((o) => o.kind === 'Workflow')).toHaveLength(count('workflows'));
    expect(
      find<V1Namespace & K8sObject>(objs, 'Namespace').metadata.labels?.[
        'pod-security.kubernetes.io/enforce'
      ],
    ).toBe('restricted');
  });

  it('config/prometheus: a ServiceMonitor for the metrics Service, the alerts and the dashboard', () => {
    const objs = kustomize(join(CONFIG, 'prometheus'));
    expect(kinds(objs)).toEqual(['ConfigMap', 'PrometheusRule', 'ServiceMonitor']);
    const svc = find<V1Service & K8sObject>(kustomize(join(CONFIG, 'manager')), 'Service');
    const sm = find<ServiceMonitor>(objs, 'ServiceMonitor');
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels))
      expect(svc.metadata.labels?.[k]).toBe(v);
    expect(sm.metadata.namespace).toBe(svc.metadata.namespace);
    expect(svc.spec?.ports?.map((p) => p.name)).toContain(sm.spec.endpoints[0]?.port);
    // The alerts match `up` on job="paddock": the job label comes from this Service label.
    expect(sm.spec.jobLabel).toBe('app.kubernetes.io/name');
    expect(svc.metadata.labels?.['app.kubernetes.io/name']).toBe('paddock');

    expect(find<PrometheusRule>(objs, 'PrometheusRule').spec).toEqual(sharedRules.spec);
    const cm = find<V1ConfigMap & K8sObject>(objs, 'ConfigMap');
    expect(cm.metadata.labels?.['grafana_dashboard']).toBe('1');
    expect(JSON.parse(cm.data?.['paddock-operator.json'] ?? '')).toEqual(sharedDashboard);
  });

  it('the alerts and the dashboard use only metrics the operator exports', async () => {
    const exported = await exportedMetricNames();
    const exprs = [
      ...sharedRules.spec.groups.flatMap((g) => g.rules.map((r) => r.expr)),
      ...sharedDashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
    ];
    expect(exprs.length).toBeGreaterThan(30);
    const used = new Set(exprs.flatMap(metricNamesIn));
    expect([...used].filter((n) => !exported.has(n))).toEqual([]);
    // Every exported family shows up somewhere (the process/Node.js defaults aside).
    const families = [...exported].filter((n) => n.startsWith('paddock_') && !/_(bucket|sum|count)$/.test(n));
    const own = families.filter((n) => !/^paddock_(process|nodejs)_/.test(n));
    const mentioned = (n: string) => [...used].some((u) => u === n || u.startsWith(`${n}_`));
    expect(own.filter((n) => !mentioned(n))).toEqual([]);
  });

  it('every alert has a runbook section in docs/observability.md and the fields Alertmanager needs', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs', 'observability.md'), 'utf8');
    const rules = sharedRules.spec.groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThanOrEqual(8);
    for (const r of rules) {
      expect(r.alert, r.expr).toMatch(/^Paddock[A-Za-z]+$/);
      expect(['warning', 'critical']).toContain(r.labels?.['severity']);
      expect(r.annotations?.['summary'], r.alert).toBeTruthy();
      expect(r.annotations?.['description'], r.alert).toContain(
        `docs/observability.md#${r.alert!.toLowerCase()}`,
      );
      expect(doc, r.alert).toMatch(new RegExp(`^### ${r.alert}$`, 'm'));
    }
  });

  it('the dashboard has unique panel ids and uses its datasource, namespace and pod variables', () => {
    const ids = sharedDashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(sharedDashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'namespace', 'pod']);
    const panels = sharedDashboard.panels.filter((p) => p.type !== 'row');
    expect(panels.length).toBeGreaterThanOrEqual(20);
    for (const p of panels) {
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets ?? [])
        expect(t.expr, p.title).toContain('namespace=~"$namespace", pod=~"$pod"');
    }
  });
});

describe('Helm chart (rendered)', () => {
  // Every optional feature on, and every value away from its default.
  const everything = writeTemp(
    'everything.yaml',
    [
      'replicaCount: 3',
      'image: {digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}',
      'imagePullSecrets: [{name: regcred}]',
      'serviceAccount: {name: paddock-sa, annotations: {example.com/role: operator}}',
      'watchNamespaces: [team-a, team-b]',
      'operator:',
      '  logLevel: debug',
      '  workers: 8',
      '  watchdogSeconds: 120',
      '  shutdownTimeoutSeconds: 20',
      '  maxOldSpaceSizeMiB: 300',
      '  maxSemiSpaceSizeMiB: 32',
      '  extraArgs: ["--kubeconfig=/etc/paddock/kubeconfig"]',
      '  extraEnv: [{name: PADDOCK_EXTRA, value: "1"}]',
      'leaderElection: {leaseName: paddock-lease, leaseDurationSeconds: 20, renewDeadlineSeconds: 15, retryPeriodSeconds: 3}',
      'signingKey: {secretName: paddock-key}',
      'sandbox:',
      '  quota: {pods: 20, cpu: "4", memory: 8Gi}',
      '  limitRange:',
      '    defaultRequest: {cpu: 50m, memory: 64Mi}',
      '    default: {cpu: 500m, memory: 256Mi}',
      'resources: {requests: {cpu: 200m, memory: 256Mi}, limits: {cpu: "2", memory: 512Mi}}',
      'terminationGracePeriodSeconds: 30',
      'podAnnotations: {example.com/note: x}',
      'podLabels: {team: platform}',
      'nodeSelector: {kubernetes.io/os: linux}',
      'tolerations: [{key: dedicated, operator: Equal, value: paddock, effect: NoSchedule}]',
      'priorityClassName: system-cluster-critical',
      'podDisruptionBudget: {minAvailable: "50%"}',
      'metrics: {service: {port: 9090, annotations: {example.com/scrape: "true"}}}',
      'monitoring:',
      '  serviceMonitor: {enabled: true, interval: 15s, labels: {release: kube-prometheus-stack}}',
      '  prometheusRule: {enabled: true, labels: {release: kube-prometheus-stack}}',
      '  grafanaDashboard: {enabled: true, namespace: monitoring, annotations: {grafana_folder: Paddock}}',
      '',
    ].join('\n'),
  );

  it('passes helm lint --strict with the defaults and with every feature on', () => {
    ok('helm lint', helm(['lint', '--strict', CHART]));
    ok('helm lint (everything)', helm(['lint', '--strict', CHART, '-f', everything]));
  });

  it('renders the operator, its RBAC and admission policies, and nothing optional by default', () => {
    const objs = render();
    expect(kinds(objs)).toEqual(
      [
        ...crdFiles.map(() => 'CustomResourceDefinition'),
        ...USER_ROLES.map(() => 'ClusterRole'),
        ...admissionKinds,
        'ClusterRole',
        'ClusterRoleBinding',
        'Deployment',
        'NetworkPolicy',
        'PodDisruptionBudget',
        // The Lease and the signing key, in the release namespace.
        'Role',
        'Role',
        'RoleBinding',
        'RoleBinding',
        'Service',
        'ServiceAccount',
      ].sort(),
    );
    for (const o of objs) {
      expect(o.metadata.labels, o.kind).toMatchObject({
        'app.kubernetes.io/name': 'paddock',
        'app.kubernetes.io/instance': RELEASE,
        'app.kubernetes.io/managed-by': 'Helm',
        'app.kubernetes.io/part-of': 'paddock',
      });
    }
    const d = find<V1Deployment & K8sObject>(objs, 'Deployment', OPERATOR);
    expectOperatorDeployment(d);
    expect(find<V1ServiceAccount & K8sObject>(objs, 'ServiceAccount').metadata.name).toBe(OPERATOR);
    expect(find<V1PodDisruptionBudget & K8sObject>(objs, 'PodDisruptionBudget').spec?.minAvailable).toBe(1);
  });

  it('has the same defaults as the kustomize Deployment and the operator', () => {
    const chart = find<V1Deployment & K8sObject>(render(), 'Deployment');
    const kust = find<V1Deployment & K8sObject>(kustomize(join(CONFIG, 'default')), 'Deployment');
    expect(operatorConfig(container(chart))).toEqual(operatorConfig(container(kust)));
    for (const key of ['securityContext', 'resources', 'livenessProbe', 'readinessProbe', 'ports'] as const) {
      expect(container(chart)[key], key).toEqual(container(kust)[key]);
    }
    expect(chart.spec?.template.spec?.securityContext).toEqual(kust.spec?.template.spec?.securityContext);
    expect(chart.spec?.template.spec?.terminationGracePeriodSeconds).toBe(
      kust.spec?.template.spec?.terminationGracePeriodSeconds,
    );
    expect(container(chart).env).toEqual(container(kust).env);
  });

  it("runs the network gate from the chart's own operator image, whatever it is set to, or not at all", () => {
    const gateImage = (objs: K8sObject[]): string | undefined =>
      container(find<V1Deployment & K8sObject>(objs, 'Deployment'))
        .args?.find((a) => a.startsWith('--network-gate-image='))
        ?.slice('--network-gate-image='.length);
    const digest = `sha256:${'c'.repeat(64)}`;
    for (const extra of [
      [],
      ['--set', 'image.repository=registry.example/ops/paddock', '--set', 'image.tag=9.9.9'],
      ['--set', `image.digest=${digest}`],
    ]) {
      const objs = render(extra);
      expect(gateImage(objs)).toBe(container(find<V1Deployment & K8sObject>(objs, 'Deployment')).image);
    }
    expect(gateImage(render(['--set', `image.digest=${digest}`]))).toContain(digest);
    expect(gateImage(render(['--set', 'sandbox.networkGate.enabled=false']))).toBeUndefined();
  });

  it('keeps agent pods away from the operator the same way in the chart and in config/', () => {
    // As written in YAML (the client library's type names the field `_from`).
    type V1NetworkPolicy = {
      spec?: {
        podSelector: { matchLabels?: Record<string, string> };
        policyTypes?: string[];
        ingress?: Array<{ from?: unknown[]; ports?: Array<{ port?: string | number }> }>;
      };
    };
    const chart = find<V1NetworkPolicy & K8sObject>(render(), 'NetworkPolicy');
    const kust = find<V1NetworkPolicy & K8sObject>(kustomize(join(CONFIG, 'default')), 'NetworkPolicy');
    // Each selects its own operator pods (the chart's selector adds the release's instance label).
    expect({ ...chart.spec, podSelector: {} }).toEqual({ ...kust.spec, podSelector: {} });
    const d = find<V1Deployment & K8sObject>(render(), 'Deployment');
    expect(chart.spec?.podSelector.matchLabels).toEqual(d.spec?.selector.matchLabels);
    const kd = find<V1Deployment & K8sObject>(kustomize(join(CONFIG, 'default')), 'Deployment');
    expect(kust.spec?.podSelector.matchLabels).toEqual(kd.spec?.selector.matchLabels);
    expect(chart.spec?.policyTypes).toEqual(['Ingress']);
    const rule = chart.spec?.ingress?.[0];
    expect(chart.spec?.ingress).toHaveLength(1);
    expect(rule?.ports?.map((p) => p.port).sort()).toEqual(['health', 'metrics']);
    expect(rule?.from).toEqual([
      {
        namespaceSelector: {},
        podSelector: { matchExpressions: [{ key: LABEL_AGENT_POD, operator: 'DoesNotExist' }] },
      },
    ]);
    // Extra scrapers are added, never replace the rule; and it can be turned off.
    const extra = { ipBlock: { cidr: '192.0.2.0/24' } };
    const widened = find<V1NetworkPolicy & K8sObject>(
      render(['--set-json', `networkPolicy.metricsFrom=${JSON.stringify([extra])}`]),
      'NetworkPolicy',
    );
    expect(widened.spec?.ingress?.[0]?.from).toEqual([...(rule?.from ?? []), extra]);
    expect(kinds(render(['--set', 'networkPolicy.enabled=false']))).not.toContain('NetworkPolicy');
  });

  it('renders every optional feature', () => {
    const objs = render(['-f', everything]);
    const d = find<V1Deployment & K8sObject>(objs, 'Deployment');
    const c = container(d);
    expect(d.spec?.replicas).toBe(3);
    expect(c.image).toBe(
      'ghcr.io/paddock-dev/paddock-operator@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    );
    const config = loadConfig(c.args ?? [], { POD_NAME: 'p', POD_NAMESPACE: NS }, configDeps);
    expect(config).toMatchObject({
      logLevel: 'debug',
      workers: 8,
      watchNamespaces: ['team-a', 'team-b'],
      watchdogSeconds: 120,
      shutdownTimeoutSeconds: 20,
      leaseName: 'paddock-lease',
      leaseNamespace: NS,
      leaseDurationSeconds: 20,
      renewDeadlineSeconds: 15,
      retryPeriodSeconds: 3,
      signingKeySecret: 'paddock-key',
      sandbox: {
        quota: { pods: 20, cpu: '4', memory: '8Gi' },
        limitRange: {
          defaultRequest: { cpu: '50m', memory: '64Mi' },
          default: { cpu: '500m', memory: '256Mi' },
        },
      },
    });
    expect(config.kubeconfig).toBe('/etc/paddock/kubeconfig');
    expect(c.env).toEqual(
      expect.arrayContaining([
        { name: 'NODE_OPTIONS', value: '--max-old-space-size=300 --max-semi-space-size=32' },
        { name: 'PADDOCK_EXTRA', value: '1' },
      ]),
    );
    const pod = d.spec?.template.spec;
    expect(pod?.serviceAccountName).toBe('paddock-sa');
    expect(pod?.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    expect(pod?.priorityClassName).toBe('system-cluster-critical');
    expect(pod?.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    expect(pod?.tolerations).toHaveLength(1);
    expect(d.spec?.template.metadata?.labels?.['team']).toBe('platform');
    expect(d.spec?.template.metadata?.annotations?.['example.com/note']).toBe('x');
    expect(find<V1ServiceAccount & K8sObject>(objs, 'ServiceAccount', 'paddock-sa').metadata).toMatchObject({
      annotations: { 'example.com/role': 'operator' },
    });
    // The operator paddock-operator-writes lets create Approvals is this ServiceAccount.
    expect(operatorIdentity(objs)).toEqual({ namespace: NS, serviceAccount: 'paddock-sa' });
    expect(find<V1Role & K8sObject>(objs, 'Role', SIGNING_KEY).rules?.[0]?.resourceNames).toEqual([
      'paddock-key',
    ]);
    expect(find<V1PodDisruptionBudget & K8sObject>(objs, 'PodDisruptionBudget').spec?.minAvailable).toBe(
      '50%',
    );
    const svc = find<V1Service & K8sObject>(objs, 'Service');
    expect(svc.spec?.ports?.[0]?.port).toBe(9090);

    const sm = find<ServiceMonitor>(objs, 'ServiceMonitor');
    expect(sm.metadata.labels?.['release']).toBe('kube-prometheus-stack');
    expect(sm.spec.endpoints[0]).toMatchObject({ port: 'metrics', path: '/metrics', interval: '15s' });
    expect(sm.spec.namespaceSelector?.matchNames).toEqual([NS]);
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels))
      expect(svc.metadata.labels?.[k]).toBe(v);
    expect(sm.spec.jobLabel).toBe('app.kubernetes.io/name');

    const rule = find<PrometheusRule>(objs, 'PrometheusRule');
    expect(rule.metadata.labels?.['release']).toBe('kube-prometheus-stack');
    expect(rule.spec).toEqual(sharedRules.spec);

    const cm = find<V1ConfigMap & K8sObject>(objs, 'ConfigMap', 'paddock-grafana-dashboard');
    expect(cm.metadata.namespace).toBe('monitoring');
    expect(cm.metadata.labels?.['grafana_dashboard']).toBe('1');
    expect(JSON.parse(cm.data?.['paddock-operator.json'] ?? '')).toEqual(sharedDashboard);
  });

  it('installs exactly the CRDs of crds/ (the same bytes), kept on uninstall by default', () => {
    // files/crds is a link to crds/: the chart has no copy that could drift.
    const linked = join(CHART, 'files', 'crds');
    expect(
      readdirSync(linked)
        .filter((f) => f.endsWith('.yaml'))
        .sort(),
    ).toEqual(crdFiles);
    for (const f of crdFiles) expect(readFileSync(join(linked, f)), f).toEqual(readFileSync(join(CRDS, f)));

    const rendered = render().filter((o) => o.kind === 'CustomResourceDefinition');
    expect(rendered).toHaveLength(crdFiles.length);
    for (const f of crdFiles) {
      const source = readYaml<V1CustomResourceDefinition & K8sObject>(join(CRDS, f));
      const crd = find<V1CustomResourceDefinition & K8sObject>(
        rendered,
        'CustomResourceDefinition',
        source.metadata.name,
      );
      // Identical apart from the chart's labels and the keep annotation.
      expect(crd.spec).toEqual(source.spec);
      expect(crd.metadata.labels).toMatchObject(source.metadata.labels ?? {});
      expect(crd.metadata.annotations).toEqual({ 'helm.sh/resource-policy': 'keep' });
    }
    const notKept = render(['--set', 'crds.keep=false']).filter((o) => o.kind === 'CustomResourceDefinition');
    expect(notKept.map((o) => (o as V1CustomResourceDefinition & K8sObject).metadata.annotations)).toEqual(
      crdFiles.map(() => undefined),
    );
    expect(
      render(['--set', 'crds.install=false']).filter((o) => o.kind === 'CustomResourceDefinition'),
    ).toEqual([]);
  });

  it('grants exactly the RBAC rules of config/rbac', () => {
    const objs = render();
    const role = readYaml<V1ClusterRole>(join(CONFIG, 'rbac', 'role.yaml'));
    const leRole = readYaml<V1Role>(join(CONFIG, 'rbac', 'leader_election_role.yaml'));
    expect(normalizeRules(find<V1ClusterRole & K8sObject>(objs, 'ClusterRole', OPERATOR).rules)).toEqual(
      normalizeRules(role.rules),
    );
    expect(normalizeRules(find<V1Role & K8sObject>(objs, 'Role', 'paddock-leader-election').rules)).toEqual(
      normalizeRules(leRole.rules),
    );
    expect(normalizeRules(find<V1Role & K8sObject>(objs, 'Role', SIGNING_KEY).rules)).toEqual(
      normalizeRules(signingKeyRole.rules),
    );
    // ... in the release namespace, bound to the operator's ServiceAccount only.
    for (const o of objs.filter((x) => x.kind === 'Role')) expect(o.metadata.namespace).toBe(NS);
    const bindings = objs.filter((o) => o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding');
    expect(bindings.map((b) => `${b.kind}/${b.metadata.name}`).sort()).toEqual([
      `ClusterRoleBinding/${OPERATOR}`,
      'RoleBinding/paddock-leader-election',
      `RoleBinding/${SIGNING_KEY}`,
    ]);
    for (const b of bindings) {
      expect((b as V1RoleBinding & K8sObject).subjects, b.metadata.name).toEqual([
        { kind: 'ServiceAccount', name: OPERATOR, namespace: NS },
      ]);
    }
    // The kustomize install uses config/rbac itself.
    const kust = kustomize(join(CONFIG, 'default'));
    expect(normalizeRules(find<V1ClusterRole & K8sObject>(kust, 'ClusterRole', OPERATOR).rules)).toEqual(
      normalizeRules(role.rules),
    );
    expect(normalizeRules(find<V1Role & K8sObject>(kust, 'Role', SIGNING_KEY).rules)).toEqual(
      normalizeRules(signingKeyRole.rules),
    );
  });

  it('signingKey.secretName: the flag and the one Secret the Role lets the operator read', () => {
    const objs = render(['--set', 'signingKey.secretName=operator-key']);
    const config = operatorConfig(container(find<V1Deployment & K8sObject>(objs, 'Deployment')));
    expect(config.signingKeySecret).toBe('operator-key');
    // The Secret is in the Lease's namespace: the release namespace, where the Role is.
    expect(config.leaseNamespace).toBe(NS);
    const rules = signingKeyRole.rules?.map((r) =>
      r.resourceNames ? { ...r, resourceNames: ['operator-key'] } : r,
    );
    expect(normalizeRules(find<V1Role & K8sObject>(objs, 'Role', SIGNING_KEY).rules)).toEqual(
      normalizeRules(rules),
    );
    // The same Role in the namespaced mode, and without leader election.
    for (const values of ['watchNamespaces={team-a}', 'replicaCount=1,leaderElection.enabled=false']) {
      const role = find<V1Role & K8sObject>(render(['--set', values]), 'Role', SIGNING_KEY);
      expect(role.metadata.namespace, values).toBe(NS);
      expect(normalizeRules(role.rules), values).toEqual(normalizeRules(signingKeyRole.rules));
    }
  });

  it('has the ClusterRoles for people of config/rbac, bound to nobody (rbac.userRoles)', () => {
    const objs = render();
    const kust = kustomize(join(CONFIG, 'default'));
    USER_ROLES.forEach((name, i) => {
      const source = readYaml<V1ClusterRole & K8sObject>(join(CONFIG, 'rbac', USER_ROLE_FILES[i]!));
      expect(source.metadata.name).toBe(name);
      for (const installed of [objs, kust]) {
        const role = find<V1ClusterRole & K8sObject>(installed, 'ClusterRole', name);
        expect(normalizeRules(role.rules), name).toEqual(normalizeRules(source.rules));
        expect(role.metadata.labels).toMatchObject(source.metadata.labels ?? {});
      }
    });
    // Only the operator's role is bound.
    expect(objs.filter((o) => o.kind === 'ClusterRoleBinding').map((o) => o.metadata.name)).toEqual([
      OPERATOR,
    ]);
    // Approving is granted on purpose: never through the built-in roles.
    const approver = find<V1ClusterRole & K8sObject>(objs, 'ClusterRole', 'paddock-approver');
    expect(Object.keys(approver.metadata.labels ?? {}).filter((l) => l.includes('aggregate-to'))).toEqual([]);
    expect(
      render(['--set', 'rbac.userRoles=false'])
        .filter((o) => o.kind === 'ClusterRole')
        .map((o) => o.metadata.name),
    ).toEqual([OPERATOR]);
  });

  it('installs exactly the admission policies of config/admission (admission.enabled)', () => {
    // files/admission is a link to config/admission.
    const linked = join(CHART, 'files', 'admission');
    for (const f of admissionFiles)
      expect(readFileSync(join(linked, f)), f).toEqual(readFileSync(join(ADMISSION, f)));
    const source = kustomize(ADMISSION);
    expect(kinds(source)).toEqual([...admissionKinds].sort());
    expect(source.filter((o) => !fromAdmission(o))).toEqual([]);
    const strip = (o: K8sObject) => {
      const { labels: _labels, ...metadata } = o.metadata;
      return { ...o, metadata };
    };
    // Release "paddock" in paddock-system with the default ServiceAccount: exactly the files.
    const rendered = render().filter(fromAdmission);
    expect(rendered.map(strip).sort(byKindName)).toEqual(source.map(strip).sort(byKindName));
    expect(kustomize(join(CONFIG, 'default')).filter(fromAdmission).map(strip).sort(byKindName)).toEqual(
      source.map(strip).sort(byKindName),
    );
    // Another namespace and ServiceAccount: only the operator's identity follows the release (the
    // literals of paddock-operator-writes' variables operatorNamespace and operatorServiceAccount).
    const elsewhere = docs(
      ok(
        'helm template -n ops',
        helm(['template', RELEASE, CHART, '-n', 'ops', '--set', 'serviceAccount.name=paddock-sa']),
      ),
    ).filter(fromAdmission);
    const literals: Record<string, string> = {
      operatorNamespace: "'ops'",
      operatorServiceAccount: "'paddock-sa'",
    };
    const moved = source.map((o): K8sObject => {
      if (o.kind !== 'ValidatingAdmissionPolicy' || o.metadata.name !== 'paddock-operator-writes') return o;
      const spec = (o as K8sObject & { spec: { variables: PolicyVariable[] } }).spec;
      const variables = spec.variables.map((v) => ({ ...v, expression: literals[v.name] ?? v.expression }));
      return { ...o, spec: { ...spec, variables } } as K8sObject;
    });
    expect(operatorIdentity(elsewhere)).toEqual({ namespace: 'ops', serviceAccount: 'paddock-sa' });
    expect(JSON.stringify(moved)).not.toEqual(JSON.stringify(source));
    expect(elsewhere.map(strip).sort(byKindName)).toEqual(moved.map(strip).sort(byKindName));
    const optional = kustomize(join(ADMISSION, 'require-requester'));
    // Every policy fails closed and is bound with Deny, and none takes a parameter: nothing another
    // object holds (or loses) can switch a lock off.
    for (const o of [...source, ...optional]) {
      const spec = (
        o as K8sObject & {
          spec: {
            failurePolicy?: string;
            validationActions?: string[];
            policyName?: string;
            paramRef?: unknown;
          };
        }
      ).spec;
      if (o.kind === 'ValidatingAdmissionPolicy') expect(spec.failurePolicy, o.metadata.name).toBe('Fail');
      else if (o.kind === 'ValidatingAdmissionPolicyBinding') {
        expect(spec.validationActions, o.metadata.name).toEqual(['Deny']);
        expect(spec.policyName).toBe(o.metadata.name);
        expect(spec.paramRef, o.metadata.name).toBeUndefined();
      }
    }
    expect(render(['--set', 'admission.enabled=false']).filter(fromAdmission)).toEqual([]);
    // The optional policy (config/admission/require-requester) only on request.
    expect(kinds(optional)).toEqual(['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']);
    const strict = render(['--set', 'admission.requireRequestedBy=true']).filter(fromAdmission);
    expect(strict.map(strip).sort(byKindName)).toEqual([...source, ...optional].map(strip).sort(byKindName));
  });

  it('without leader election: one replica, no Lease Role, no PodDisruptionBudget, no PaddockNoLeader alert', () => {
    const objs = render([
      '--set',
      'replicaCount=1,leaderElection.enabled=false,monitoring.prometheusRule.enabled=true',
    ]);
    // The only Role left is the signing key's.
    expect(objs.filter((o) => o.kind === 'Role').map((o) => o.metadata.name)).toEqual([SIGNING_KEY]);
    expect(kinds(objs)).not.toContain('PodDisruptionBudget');
    const args = container(find<V1Deployment & K8sObject>(objs, 'Deployment')).args ?? [];
    expect(operatorConfig({ name: 'operator', args }).leaderElect).toBe(false);
    const alerts = find<PrometheusRule>(objs, 'PrometheusRule').spec.groups.flatMap((g) =>
      g.rules.map((r) => r.alert),
    );
    expect(alerts).not.toContain('PaddockNoLeader');
    expect(alerts).toContain('PaddockOperatorDown');
  });

  it.each([
    ['an unknown top-level key', ['--set', 'replicas=3'], "additional properties 'replicas' not allowed"],
    ['an unknown nested key', ['--set', 'operator.worker=3'], "additional properties 'worker' not allowed"],
    [
      'a string for an integer',
      ['--set', 'operator.workers=lots'],
      "'/operator/workers': got string, want integer",
    ],
    ['an integer out of range', ['--set', 'operator.workers=100'], '/operator/workers'],
    ['a log level that does not exist', ['--set', 'operator.logLevel=loud'], '/operator/logLevel'],
    ['a quantity that is not one', ['--set', 'sandbox.quota.memory=lots'], '/sandbox/quota/memory'],
    [
      'a namespace name that is not one',
      ['--set', 'operator.watchNamespace=Team_A'],
      '/operator/watchNamespace',
    ],
    [
      'a namespace list entry that is not one',
      ['--set', 'watchNamespaces={ok,Team_A}'],
      '/watchNamespaces/1',
    ],
    ['a non-boolean toggle', ['--set', 'crds.install=maybe'], "'/crds/install': got string, want boolean"],
    ['a Secret name that is not one', ['--set', 'signingKey.secretName=Key_1'], '/signingKey/secretName'],
    [
      'a scrape interval without a unit',
      ['--set-string', 'monitoring.serviceMonitor.interval=30'],
      'interval',
    ],
  ])('refuses %s, naming the field', (_what, args, message) => {
    const r = helm(['template', RELEASE, CHART, ...args]);
    expect(r.code, r.stdout.slice(0, 500)).not.toBe(0);
    expect(r.stderr).toContain("values don't meet the specifications of the schema");
    expect(r.stderr).toContain(message);
  });

  it.each([
    [
      ['--set', 'terminationGracePeriodSeconds=30'],
      'terminationGracePeriodSeconds (30) must be greater than',
    ],
    [['--set', 'leaderElection.enabled=false'], 'replicaCount above 1 needs leaderElection.enabled'],
    [['--set', 'leaderElection.renewDeadlineSeconds=15'], 'renewDeadlineSeconds (15) must be less than'],
    [['--set', 'leaderElection.retryPeriodSeconds=9'], 'must be greater than 1.2 x'],
  ])('refuses inconsistent values %j', (args, message) => {
    const r = helm(['template', RELEASE, CHART, ...args]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(message);
  });
});

// --- online: the real API server decides ------------------------------------------------------

describe('installing on a real API server', () => {
  const env = useCluster({ crds: false });
  const get = <T>(args: readonly string[]): T =>
    JSON.parse(env().kubectl(['get', ...args, '-o', 'json'])) as T;
  const operatorPods = (selector: string) =>
    get<V1PodList>(['pods', '-n', NS, '-l', selector]).items.filter((p) => !p.metadata?.deletionTimestamp);

  // Pod Security admission really enforces "restricted" here: a plain pod is refused.
  const expectEnforced = () => {
    const res = kubectl(env().kubeconfig, [
      'run',
      'pss-probe',
      '-n',
      NS,
      '--image=busybox',
      '--restart=Never',
      '--dry-run=server',
    ]);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('violates PodSecurity "restricted:latest"');
  };
  // The Deployment's pod template, submitted as a pod, passes the same admission.
  const expectTemplateAdmitted = (d: V1Deployment) => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'template-check', namespace: NS },
      spec: d.spec?.template.spec,
    };
    env().kubectl(['create', '--dry-run=server', '-f', '-'], JSON.stringify(pod));
  };
  const waitRunning = (selector: string) =>
    eventually(
      `two Running operator pods (${selector})`,
      () => operatorPods(selector),
      (pods) => pods.length === 2 && pods.every((p) => p.status?.phase === 'Running'),
      { timeoutMs: 60_000, intervalMs: 250 },
    );

  it('helm install: CRDs established, a two-replica Deployment admitted under Pod Security "restricted"', async () => {
    env().kubectl(['apply', '--server-side', '-f', join(CONFIG, 'manager', 'namespace.yaml')]);
    expectEnforced();
    ok(
      'helm install',
      helm([
        '--kubeconfig',
        env().kubeconfig,
        'install',
        RELEASE,
        CHART,
        '-n',
        NS,
        '--wait=watcher',
        '--timeout=2m',
        '--set-json',
        `operator.extraEnv=${JSON.stringify([KEEP_RUNNING])}`,
      ]),
    );
    env().kubectl(WAIT_CRDS_ESTABLISHED);
    const crds = get<{ items: V1CustomResourceDefinition[] }>([
      'crd',
      '-l',
      'app.kubernetes.io/part-of=paddock',
    ]);
    expect(crds.items.map((c) => `${c.metadata?.name}.yaml`).sort()).toEqual(crdFiles);
    for (const c of crds.items) expect(c.metadata?.annotations?.['helm.sh/resource-policy']).toBe('keep');

    const d = get<V1Deployment>(['deployment', '-n', NS, OPERATOR]);
    expectOperatorDeployment(d);
    expect(d.status?.availableReplicas).toBe(2);
    expectTemplateAdmitted(d);
    const pods = await waitRunning(`app.kubernetes.io/instance=${RELEASE}`);
    // Spread over the two nodes.
    expect(new Set(pods.map((p) => p.spec?.nodeName)).size).toBe(2);
    // Both replicas ready (the standby too), so a drain may take one of them.
    await eventually(
      'the PodDisruptionBudget to allow one disruption',
      () => get<V1PodDisruptionBudget>(['pdb', '-n', NS, OPERATOR]).status?.disruptionsAllowed,
      (n) => n === 1,
    );
    // The chart's ServiceAccount may do exactly what the operator needs.
    const can = (verb: string, resource: string, ns = 'default', ...extra: string[]) =>
      kubectl(env().kubeconfig, [
        'auth',
        'can-i',
        verb,
        resource,
        '-n',
        ns,
        `--as=system:serviceaccount:${NS}:${OPERATOR}`,
        ...extra,
      ]).stdout.trim();
    expect(can('watch', 'workflows.paddock.dev')).toBe('yes');
    // It creates Approvals and writes their status, but can neither decide nor change nor delete one.
    expect(can('create', 'approvals.paddock.dev')).toBe('yes');
    expect(can('patch', 'approvals.paddock.dev', 'default', '--subresource=status')).toBe('yes');
    for (const verb of ['approve', 'update', 'patch', 'delete'])
      expect(can(verb, 'approvals.paddock.dev'), verb).toBe('no');
    // Agents get Secrets through secretKeyRef in their pods; the operator never reads them.
    expect(can('list', 'secrets')).toBe('no');
    expect(can('create', 'clusterrolebindings.rbac.authorization.k8s.io')).toBe('no');
    expect(can('update', 'leases.coordination.k8s.io', NS)).toBe('yes');
    expect(can('update', 'leases.coordination.k8s.io', 'default')).toBe('no');
    // Its signing key: that one Secret by name and creating Secrets, in its own namespace only.
    expect(can('get', `secrets/${SIGNING_KEY}`, NS)).toBe('yes');
    expect(can('create', 'secrets', NS)).toBe('yes');
    expect(can('get', 'secrets/other', NS)).toBe('no');
    expect(can('list', 'secrets', NS)).toBe('no');
    expect(can('update', `secrets/${SIGNING_KEY}`, NS)).toBe('no');
    expect(can('get', `secrets/${SIGNING_KEY}`)).toBe('no');
    expect(can('create', 'secrets')).toBe('no');
    // The identity the chart wrote into paddock-operator-writes: its ServiceAccount alone creates Approvals.
    await expectOnlyOperatorCreates(env().kubeconfig, `system:serviceaccount:${NS}:${OPERATOR}`, [
      `system:serviceaccount:${NS}:default`,
    ]);
  });

  it('helm uninstall removes the operator and keeps the CRDs', () => {
    ok('helm uninstall', helm(['--kubeconfig', env().kubeconfig, 'uninstall', RELEASE, '-n', NS, '--wait']));
    expect(kubectl(env().kubeconfig, ['get', 'deployment', '-n', NS, OPERATOR]).code).not.toBe(0);
    expect(kubectl(env().kubeconfig, ['get', 'clusterrole', OPERATOR]).code).not.toBe(0);
    const crds = get<{ items: V1CustomResourceDefinition[] }>([
      'crd',
      '-l',
      'app.kubernetes.io/part-of=paddock',
    ]);
    expect(crds.items).toHaveLength(crdFiles.length);
  });

  it('kubectl apply --server-side -k config/default: accepted and running', async () => {
    const dir = join(CONFIG, 'default');
    // Exactly config/default, through every admission check (nothing persisted).
    const dry = env().kubectl(['apply', '--server-side', '--dry-run=server', '-k', dir]);
    expect(dry).toContain(`deployment.apps/${OPERATOR} serverside-applied (server dry run)`);
    // For real: config/default plus the simulator's keep-running variable (see the top of the file).
    const overlay = mkdtempSync(join(tmpdir(), 'paddock-overlay-'));
    try {
      writeFileSync(
        join(overlay, 'kustomization.yaml'),
        [
          'apiVersion: kustomize.config.k8s.io/v1beta1',
          'kind: Kustomization',
          `resources: [${relative(overlay, dir)}]`,
          'patches:',
          `  - target: {kind: Deployment, name: ${OPERATOR}}`,
          `    patch: '[{"op": "add", "path": "/spec/template/spec/containers/0/env/-", "value": ${JSON.stringify(KEEP_RUNNING)}}]'`,
          '',
        ].join('\n'),
      );
      env().kubectl(['apply', '--server-side', '-k', overlay]);
    } finally {
      rmSync(overlay, { recursive: true, force: true });
    }
    const ns = get<V1Namespace>(['namespace', NS]);
    expect(ns.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expectEnforced();
    env().kubectl(['rollout', 'status', '-n', NS, `deployment/${OPERATOR}`, '--timeout=60s']);
    const d = get<V1Deployment>(['deployment', '-n', NS, OPERATOR]);
    expectOperatorDeployment(d);
    expect(d.status?.availableReplicas).toBe(2);
    expect(d.metadata?.labels?.['app.kubernetes.io/part-of']).toBe('paddock');
    expectTemplateAdmitted(d);
    await waitRunning('app.kubernetes.io/name=paddock,app.kubernetes.io/component=operator');
    expect(get<V1PodDisruptionBudget>(['pdb', '-n', NS, OPERATOR]).spec?.minAvailable).toBe(1);
    // The binding paddock-operator-writes was deleted by helm uninstall and is recreated here: on
    // this same API server the operator is still admitted and no one else (with a ConfigMap
    // parameter, kubernetes/kubernetes#130887 denied the operator too until a restart).
    await expectOnlyOperatorCreates(env().kubeconfig, `system:serviceaccount:${NS}:${OPERATOR}`, [
      `system:serviceaccount:${NS}:default`,
    ]);
  });

  it('kubectl apply --server-side -k config/samples: every example accepted', () => {
    // A real apply, not --dry-run=server: the Agents' namespace must exist before they can be checked.
    const out = env().kubectl(['apply', '--server-side', '-k', join(CONFIG, 'samples')]);
    const applied = out.split('\n').filter((l) => l.includes('serverside-applied'));
    expect(applied.length).toBe(kustomize(join(CONFIG, 'samples')).length);
    expect(get<{ items: unknown[] }>(['agents', '-n', 'paddock-demo']).items.length).toBeGreaterThanOrEqual(
      readdirSync(join(REPO_ROOT, 'examples', 'agents')).filter((f) => f.endsWith('.yaml')).length,
    );
    expect(get<{ items: unknown[] }>(['pwf', '-n', 'paddock-demo']).items.length).toBeGreaterThanOrEqual(2);
  });

  it('config/default moved by the overlay its comment gives: the operator there, and only it', async () => {
    const moved = movedOverlay();
    try {
      applyKeepingRunning(env().kubeconfig, moved);
    } finally {
      rmSync(moved, { recursive: true, force: true });
    }
    env().kubectl(['rollout', 'status', '-n', MOVED_NS, `deployment/${OPERATOR}`, '--timeout=60s']);
    const operator = `system:serviceaccount:${MOVED_NS}:${OPERATOR}`;
    // The ServiceAccount of the old namespace is now one like any other.
    await expectOnlyOperatorCreates(env().kubeconfig, operator, [`system:serviceaccount:${NS}:${OPERATOR}`]);
    const can = (verb: string, resource: string, ns: string) =>
      kubectl(env().kubeconfig, [
        'auth',
        'can-i',
        verb,
        resource,
        '-n',
        ns,
        `--as=${operator}`,
      ]).stdout.trim();
    expect(can('get', `secrets/${SIGNING_KEY}`, MOVED_NS)).toBe('yes');
    expect(can('create', 'secrets', MOVED_NS)).toBe('yes');
    expect(can('get', `secrets/${SIGNING_KEY}`, NS)).toBe('no');
    expect(can('update', 'leases.coordination.k8s.io', MOVED_NS)).toBe('yes');
    expect(can('watch', 'workflows.paddock.dev', 'default')).toBe('yes');
  });
});
