// What the operator's ServiceAccount may do in each install mode (docs/security.md, "Blast
// radius"), asked of a real API server: the chart and the kustomize folders are installed one after
// the other, and `kubectl auth can-i --list` in a served namespace, in one the operator does not
// serve, in kube-system and in its own namespace (the Lease and its signing key Secret) must show
// exactly the expected rules, no more. Rights every
// authenticated ServiceAccount has (self-reviews, discovery) are measured on a ServiceAccount
// with no bindings and taken out.
//
// First, offline: the namespaced Role has the cluster-wide rules except reading Namespaces, and
// config/namespaced and the chart's watchNamespaces name the same namespaces everywhere.
//
// No container runs: KWOK marks the operator's pods Running; SIM_MANUAL=true (docs/testing.md)
// keeps them so instead of completing them like agent pods.
import { readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadConfig, type ConfigDeps } from '../../operator/src/config.ts';
import { useCluster } from './support/cluster.ts';
import {
  CHART,
  CONFIG,
  cleanupHelm,
  helm,
  kustomize,
  namespacedOverlay,
  normalizeRules,
  ok,
  parseCanIList,
  readYaml,
  renderChart,
  type K8sObject,
  type PolicyRule,
  writeOverlay,
} from './support/install.ts';
import { kubectl } from './support/kubectl.ts';
import { restrictedNamespace } from './support/workflows.ts';

const NS = 'paddock-system';
const OPERATOR = 'paddock-operator';
const AS_OPERATOR = `system:serviceaccount:${NS}:${OPERATOR}`;
/** A ServiceAccount nothing is bound to: what every ServiceAccount may do anyway. */
const AS_NOBODY = `system:serviceaccount:${NS}:nobody`;
const KEEP_RUNNING = { name: 'SIM_MANUAL', value: 'true' };
/** The operator's signing key Secret (operator/src/kube/signing-key.ts), in its own namespace. */
const SIGNING_KEY = 'paddock-signing-key';

afterAll(() => cleanupHelm());

type Rbac = K8sObject & {
  rules?: PolicyRule[];
  subjects?: unknown[];
  roleRef?: { kind: string; name: string };
};

const clusterRole = readYaml<{ rules: PolicyRule[] }>(join(CONFIG, 'rbac', 'role.yaml'));
const signingKeyRules = parseAllDocuments(readFileSync(join(CONFIG, 'rbac', 'signing_key_role.yaml'), 'utf8'))
  .map((d) => d.toJS() as { kind?: string; rules?: PolicyRule[] })
  .find((o) => o.kind === 'Role')?.rules;
const namespacedRole = readYaml<{ kind: string; rules: PolicyRule[] }>(
  join(CONFIG, 'rbac', 'namespaced', 'role.yaml'),
);
const READ_NAMESPACES: PolicyRule = {
  apiGroups: [''],
  resources: ['namespaces'],
  verbs: ['get', 'list', 'watch'],
};
const readServed = (names: string[]): PolicyRule => ({
  apiGroups: [''],
  resources: ['namespaces'],
  resourceNames: names,
  verbs: ['list', 'watch'],
});

const configDeps: ConfigDeps = {
  readFile: () => undefined,
  isReadableFile: () => true,
  hostname: () => 'host',
  randomSuffix: () => 'suffix',
};
/** The operator's served namespaces, as its container's flags and env make them. */
function servedBy(objs: readonly K8sObject[]): readonly string[] {
  const d = objs.find((o) => o.kind === 'Deployment') as
    | (K8sObject & {
        spec: {
          template: {
            spec: { containers: Array<{ args?: string[]; env?: Array<{ name: string; value?: string }> }> };
          };
        };
      })
    | undefined;
  const c = d?.spec.template.spec.containers[0];
  if (!c) throw new Error('no operator Deployment');
  const env = Object.fromEntries(
    (c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]),
  );
  return loadConfig(c.args ?? [], { ...env, POD_NAME: 'p', POD_NAMESPACE: NS }, configDeps).watchNamespaces;
}
const ofKind = (objs: readonly K8sObject[], kind: string): Rbac[] =>
  objs.filter((o): o is Rbac => o.kind === kind);
const named = (objs: readonly K8sObject[], kind: string, name: string): Rbac | undefined =>
  ofKind(objs, kind).find((o) => o.metadata.name === name);

describe('RBAC sources (offline)', () => {
  it('the namespaced Role has exactly the cluster-wide rules, apart from reading Namespaces', () => {
    expect(namespacedRole.kind).toBe('Role');
    expect(normalizeRules([...namespacedRole.rules, READ_NAMESPACES])).toEqual(
      normalizeRules(clusterRole.rules),
    );
  });

  it('config/namespaced: no cluster-wide grant, a Role per served namespace, and one list of names everywhere', () => {
    const objs = kustomize(join(CONFIG, 'namespaced'));
    expect(named(objs, 'ClusterRole', OPERATOR)).toBeUndefined();
    expect(named(objs, 'ClusterRoleBinding', OPERATOR)).toBeUndefined();
    const served = servedBy(objs);
    expect(served).toEqual(['paddock-demo']);
    const roles = ofKind(objs, 'Role').filter((r) => r.metadata.name === OPERATOR);
    expect(roles.map((r) => r.metadata.namespace)).toEqual(served);
    for (const r of roles) expect(normalizeRules(r.rules)).toEqual(normalizeRules(namespacedRole.rules));
    const bindings = ofKind(objs, 'RoleBinding').filter((r) => r.metadata.name === OPERATOR);
    expect(bindings.map((b) => b.metadata.namespace)).toEqual(served);
    for (const b of bindings) {
      expect(b.roleRef).toMatchObject({ kind: 'Role', name: OPERATOR });
      expect(b.subjects).toEqual([{ kind: 'ServiceAccount', name: OPERATOR, namespace: NS }]);
    }
    const reader = named(objs, 'ClusterRole', 'paddock-operator-namespaces');
    expect(normalizeRules(reader?.rules)).toEqual(normalizeRules([readServed([...served])]));
    // The signing key stays in the operator's own namespace, as in config/default.
    const signingKey = named(objs, 'Role', SIGNING_KEY);
    expect(signingKey?.metadata.namespace).toBe(NS);
    expect(normalizeRules(signingKey?.rules)).toEqual(normalizeRules(signingKeyRules));
    expect(named(objs, 'RoleBinding', SIGNING_KEY)?.subjects).toEqual([
      { kind: 'ServiceAccount', name: OPERATOR, namespace: NS },
    ]);
    expect(named(objs, 'ClusterRoleBinding', 'paddock-operator-namespaces')?.subjects).toEqual([
      { kind: 'ServiceAccount', name: OPERATOR, namespace: NS },
    ]);
    // Everything else is config/default's.
    const id = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    const base = new Set(kustomize(join(CONFIG, 'default')).map(id));
    expect(
      objs
        .map(id)
        .filter((i) => !base.has(i))
        .sort(),
    ).toEqual([
      'ClusterRole//paddock-operator-namespaces',
      'ClusterRoleBinding//paddock-operator-namespaces',
      'Role/paddock-demo/paddock-operator',
      'RoleBinding/paddock-demo/paddock-operator',
    ]);
  });

  it('the chart with watchNamespaces: a Role per namespace, the Namespace reader, the flag; no ClusterRole for the rest', () => {
    const objs = renderChart(NS, ['--set', 'watchNamespaces={team-a,team-b}']);
    expect(servedBy(objs)).toEqual(['team-a', 'team-b']);
    expect(named(objs, 'ClusterRoleBinding', OPERATOR)).toBeUndefined();
    expect(named(objs, 'ClusterRole', OPERATOR)).toBeUndefined();
    const roles = ofKind(objs, 'Role').filter((r) => r.metadata.name === OPERATOR);
    expect(roles.map((r) => r.metadata.namespace).sort()).toEqual(['team-a', 'team-b']);
    for (const r of roles) expect(normalizeRules(r.rules)).toEqual(normalizeRules(namespacedRole.rules));
    expect(
      ofKind(objs, 'RoleBinding')
        .filter((b) => b.metadata.name === OPERATOR)
        .map((b) => [b.metadata.namespace, b.roleRef?.name, b.subjects]),
    ).toEqual(
      ['team-a', 'team-b'].map((ns) => [
        ns,
        OPERATOR,
        [{ kind: 'ServiceAccount', name: OPERATOR, namespace: NS }],
      ]),
    );
    expect(normalizeRules(named(objs, 'ClusterRole', `${OPERATOR}-namespaces`)?.rules)).toEqual(
      normalizeRules([readServed(['team-a', 'team-b'])]),
    );
    // The only other ClusterRoles are the ones for people, bound to nobody.
    expect(ofKind(objs, 'ClusterRoleBinding').map((b) => b.metadata.name)).toEqual([
      `${OPERATOR}-namespaces`,
    ]);
    // The Lease and the signing key in the release namespace, whatever the namespaces served.
    expect(
      ofKind(objs, 'Role')
        .filter((r) => r.metadata.name !== OPERATOR)
        .map((r) => `${r.metadata.namespace}/${r.metadata.name}`)
        .sort(),
    ).toEqual([`${NS}/paddock-leader-election`, `${NS}/${SIGNING_KEY}`]);
    expect(normalizeRules(named(objs, 'Role', SIGNING_KEY)?.rules)).toEqual(normalizeRules(signingKeyRules));
  });

  it('the chart takes operator.watchNamespace as the one-namespace form, and refuses both at once', () => {
    const objs = renderChart(NS, ['--set', 'operator.watchNamespace=team-a']);
    expect(servedBy(objs)).toEqual(['team-a']);
    expect(ofKind(objs, 'Role').map((r) => r.metadata.namespace)).toContain('team-a');
    expect(named(objs, 'ClusterRole', OPERATOR)).toBeUndefined();
    const both = helm([
      'template',
      'paddock',
      CHART,
      '--set',
      'operator.watchNamespace=a',
      '--set',
      'watchNamespaces={b}',
    ]);
    expect(both.code).not.toBe(0);
    expect(both.stderr).toContain('set watchNamespaces or operator.watchNamespace');
    // Cluster-wide by default.
    expect(servedBy(renderChart(NS))).toEqual([]);
  });
});

// --- the real API server decides ---------------------------------------------------------------

/** What the operator may do in a namespace its Role covers (both modes). */
const SERVED = [
  'agents.paddock.dev [] [get list watch]',
  'agents.paddock.dev/status [] [get patch update]',
  'approvals.paddock.dev [] [create get list watch]',
  'approvals.paddock.dev/status [] [get patch update]',
  'events [] [list]',
  'events.events.k8s.io [] [create patch]',
  'limitranges [] [create get list patch watch]',
  'networkpolicies.networking.k8s.io [] [create delete get list patch watch]',
  'pods [] [create delete get list watch]',
  'resourcequotas [] [create get list patch watch]',
  'serviceaccounts [] [create get list patch watch]',
  'workflows.paddock.dev [] [delete get list watch]',
  'workflows.paddock.dev/finalizers [] [update]',
  'workflows.paddock.dev/status [] [get patch update]',
];
const CLUSTER_WIDE = [...SERVED, 'namespaces [] [get list watch]'].sort();
/** Namespaced mode: the served Namespace objects, each by name, are readable from anywhere. */
const readServedRows = (served: string[]) => served.map((ns) => `namespaces [${ns}] [list watch]`);
const namespacedServed = (served: string[]) => [...SERVED, ...readServedRows(served)].sort();
const namespacedElsewhere = (served: string[]) => readServedRows(served).sort();
/**
 * What it may do in its own namespace besides: the Lease, and its signing key (get of that one
 * Secret by name, create of Secrets; no other Secret, here or anywhere).
 */
const OWN_NAMESPACE = [
  'leases.coordination.k8s.io [] [create get list patch update watch]',
  'secrets [] [create]',
  `secrets [${SIGNING_KEY}] [get]`,
];

describe('what the operator may do, per install mode (kubectl auth can-i)', () => {
  const env = useCluster({ crds: false });

  const canIList = (ns: string, as: string): string[] =>
    parseCanIList(
      ok(
        'kubectl auth can-i --list',
        kubectl(env().kubeconfig, ['auth', 'can-i', '--list', '-n', ns, `--as=${as}`]),
      ),
    );
  /** The operator's rows in `ns`, without what every ServiceAccount has. */
  const granted = (ns: string): string[] => {
    const everyone = new Set(canIList(ns, AS_NOBODY));
    return canIList(ns, AS_OPERATOR).filter((row) => !everyone.has(row));
  };
  const can = (verb: string, resource: string, ns: string): string =>
    kubectl(env().kubeconfig, [
      'auth',
      'can-i',
      verb,
      resource,
      '-n',
      ns,
      `--as=${AS_OPERATOR}`,
    ]).stdout.trim();
  const apply = (dir: string) => env().kubectl(['apply', '--server-side', '-k', dir]);
  const keepRunningPatch = [
    'patches:',
    `  - target: {kind: Deployment, name: ${OPERATOR}}`,
    `    patch: '[{"op": "add", "path": "/spec/template/spec/containers/0/env/-", "value": ${JSON.stringify(KEEP_RUNNING)}}]'`,
  ];

  // The operator's namespace, three that some mode serves, one that none does.
  beforeAll(() => {
    env().kubectl(['apply', '--server-side', '-f', join(CONFIG, 'manager', 'namespace.yaml')]);
    for (const ns of ['paddock-demo', 'team-a', 'team-b', 'elsewhere'])
      env().kubectl(['apply', '-f', '-'], restrictedNamespace(ns));
  });

  /** `helm install` of the chart as release "paddock", `check`, then `helm uninstall` whatever happened. */
  const withRelease = (values: readonly string[], check: () => void): void => {
    ok(
      'helm install',
      helm([
        ...['--kubeconfig', env().kubeconfig, 'install', 'paddock', CHART, '-n', NS],
        ...['--set-json', `operator.extraEnv=${JSON.stringify([KEEP_RUNNING])}`, ...values],
      ]),
    );
    try {
      check();
    } finally {
      ok(
        'helm uninstall',
        helm(['--kubeconfig', env().kubeconfig, 'uninstall', 'paddock', '-n', NS, '--wait']),
      );
    }
    expect(granted('team-a')).toEqual([]);
    expect(granted(NS)).toEqual([]);
  };
  /** The Secrets the operator may not touch: any other name, any other namespace, list and change. */
  const expectOnlyItsSigningKey = (elsewhere: readonly string[]) => {
    expect(can('get', `secrets/${SIGNING_KEY}`, NS)).toBe('yes');
    expect(can('create', 'secrets', NS)).toBe('yes');
    for (const verb of ['list', 'watch']) expect(can(verb, 'secrets', NS), verb).toBe('no');
    for (const verb of ['update', 'patch', 'delete'])
      expect(can(verb, `secrets/${SIGNING_KEY}`, NS), verb).toBe('no');
    expect(can('get', 'secrets/paddock-operator-token', NS)).toBe('no');
    for (const ns of elsewhere) {
      expect(can('get', `secrets/${SIGNING_KEY}`, ns), ns).toBe('no');
      expect(can('create', 'secrets', ns), ns).toBe('no');
    }
  };

  it('helm, cluster-wide (default): the same rules in every namespace, kube-system included', () => {
    withRelease([], () => {
      for (const ns of ['team-a', 'elsewhere', 'kube-system']) expect(granted(ns), ns).toEqual(CLUSTER_WIDE);
      expect(granted(NS)).toEqual([...CLUSTER_WIDE, ...OWN_NAMESPACE].sort());
      expectOnlyItsSigningKey(['team-a', 'kube-system']);
      expect(can('create', 'pods', 'kube-system')).toBe('yes');
      expect(can('list', 'namespaces', 'default')).toBe('yes');
      expect(can('update', 'leases.coordination.k8s.io', NS)).toBe('yes');
    });
  });

  it('helm, namespaced (watchNamespaces: [team-a, team-b]): rights in team-a and team-b only', () => {
    // The CRDs of the first release stay (crds.keep); this one leaves them alone.
    withRelease(['--set', 'crds.install=false', '--set', 'watchNamespaces={team-a,team-b}'], () => {
      const served = ['team-a', 'team-b'];
      for (const ns of served) expect(granted(ns), ns).toEqual(namespacedServed(served));
      for (const ns of ['elsewhere', 'kube-system', 'paddock-demo'])
        expect(granted(ns), ns).toEqual(namespacedElsewhere(served));
      expect(granted(NS)).toEqual([...namespacedElsewhere(served), ...OWN_NAMESPACE].sort());
      expectOnlyItsSigningKey(served);
      expect(can('create', 'pods', 'team-a')).toBe('yes');
      expect(can('create', 'pods', 'kube-system')).toBe('no');
      expect(can('create', 'pods', 'elsewhere')).toBe('no');
      expect(can('list', 'namespaces', 'default')).toBe('no');
      expect(can('watch', 'namespaces/team-b', 'default')).toBe('yes');
      expect(can('watch', 'namespaces/kube-system', 'default')).toBe('no');
      // The Lease stays in the operator's own namespace.
      expect(can('update', 'leases.coordination.k8s.io', NS)).toBe('yes');
      expect(can('update', 'leases.coordination.k8s.io', 'team-a')).toBe('no');
    });
  });

  it('kustomize config/default (cluster-wide): the same rules in every namespace', () => {
    const dir = writeOverlay((d) => ({
      'kustomization.yaml': [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        `resources: [${relative(d, join(CONFIG, 'default'))}]`,
        ...keepRunningPatch,
        '',
      ].join('\n'),
    }));
    try {
      apply(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    for (const ns of ['team-a', 'elsewhere', 'kube-system']) expect(granted(ns), ns).toEqual(CLUSTER_WIDE);
    expect(granted(NS)).toEqual([...CLUSTER_WIDE, ...OWN_NAMESPACE].sort());
    expectOnlyItsSigningKey(['team-a', 'kube-system']);
    expect(can('create', 'pods', 'kube-system')).toBe('yes');
    // Moving to the namespaced mode: what config/default has and config/namespaced has not goes.
    const id = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    const keep = new Set(kustomize(join(CONFIG, 'namespaced')).map(id));
    const gone = kustomize(join(CONFIG, 'default')).filter((o) => !keep.has(id(o)));
    expect(gone.map(id).sort()).toEqual([
      'ClusterRole//paddock-operator',
      'ClusterRoleBinding//paddock-operator',
    ]);
    for (const o of gone) env().kubectl(['delete', o.kind.toLowerCase(), o.metadata.name]);
  });

  it('kustomize config/namespaced, with team-b added later as docs/operations.md says: rights there only', () => {
    // The documented steps, as an overlay (support/install.ts).
    const dir = namespacedOverlay(['team-b'], keepRunningPatch.slice(1));
    try {
      const served = ['paddock-demo', 'team-b'];
      expect(servedBy(kustomize(dir))).toEqual(served);
      apply(dir);
      for (const ns of served) expect(granted(ns), ns).toEqual(namespacedServed(served));
      for (const ns of ['team-a', 'elsewhere', 'kube-system'])
        expect(granted(ns), ns).toEqual(namespacedElsewhere(served));
      expect(granted(NS)).toEqual([...namespacedElsewhere(served), ...OWN_NAMESPACE].sort());
      expectOnlyItsSigningKey(served);
      expect(can('create', 'pods', 'team-b')).toBe('yes');
      expect(can('create', 'pods', 'kube-system')).toBe('no');
      expect(can('create', 'pods', 'team-a')).toBe('no');
      expect(can('delete', 'pods', 'elsewhere')).toBe('no');
      expect(can('list', 'namespaces', 'default')).toBe('no');
      expect(can('update', 'leases.coordination.k8s.io', NS)).toBe('yes');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
