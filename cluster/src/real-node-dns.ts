// Cluster DNS for the real node: CoreDNS as a Deployment in kube-system labelled `k8s-app: kube-dns` (the
// label Paddock's sandbox NetworkPolicy allows DNS to), behind the kube-dns Service at the fixed ClusterIP
// the kubelet's clusterDNS names. It reaches the API server in-cluster, through the kubernetes Service.
import { CLUSTER_DNS_IP, NODE_KIND_LABEL } from './real-node-config.ts';
import { COREDNS_IMAGE, NONROOT_UID } from './real-node-images.ts';

const COREFILE = `.:1053 {
    errors
    health :8080
    ready :8181
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 30
}
`;

const NS = 'kube-system';
const labels = { 'k8s-app': 'kube-dns' };

/** API paths and bodies, in creation order. */
export function corednsObjects(): Array<{ path: string; body: unknown }> {
  return [
    {
      path: `/api/v1/namespaces/${NS}/serviceaccounts`,
      body: { metadata: { name: 'coredns', namespace: NS } },
    },
    {
      path: '/apis/rbac.authorization.k8s.io/v1/clusterroles',
      body: {
        metadata: { name: 'paddock:coredns' },
        rules: [
          {
            apiGroups: [''],
            resources: ['endpoints', 'services', 'pods', 'namespaces'],
            verbs: ['list', 'watch'],
          },
          { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
        ],
      },
    },
    {
      path: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
      body: {
        metadata: { name: 'paddock:coredns' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'paddock:coredns' },
        subjects: [{ kind: 'ServiceAccount', name: 'coredns', namespace: NS }],
      },
    },
    {
      path: `/api/v1/namespaces/${NS}/configmaps`,
      body: { metadata: { name: 'coredns', namespace: NS }, data: { Corefile: COREFILE } },
    },
    {
      path: `/api/v1/namespaces/${NS}/services`,
      body: {
        metadata: { name: 'kube-dns', namespace: NS, labels },
        spec: {
          clusterIP: CLUSTER_DNS_IP,
          selector: labels,
          ports: [
            { name: 'dns', port: 53, protocol: 'UDP', targetPort: 1053 },
            { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 1053 },
          ],
        },
      },
    },
    {
      path: `/apis/apps/v1/namespaces/${NS}/deployments`,
      body: {
        metadata: { name: 'coredns', namespace: NS, labels },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              serviceAccountName: 'coredns',
              // CoreDNS itself must not ask CoreDNS.
              dnsPolicy: 'Default',
              nodeSelector: { [NODE_KIND_LABEL]: 'real' },
              securityContext: {
                runAsNonRoot: true,
                runAsUser: NONROOT_UID,
                runAsGroup: NONROOT_UID,
                seccompProfile: { type: 'RuntimeDefault' },
              },
              containers: [
                {
                  name: 'coredns',
                  image: COREDNS_IMAGE,
                  imagePullPolicy: 'Never',
                  args: ['-conf', '/etc/coredns/Corefile'],
                  ports: [
                    { name: 'dns', containerPort: 1053, protocol: 'UDP' },
                    { name: 'dns-tcp', containerPort: 1053, protocol: 'TCP' },
                  ],
                  readinessProbe: { httpGet: { path: '/ready', port: 8181 }, periodSeconds: 2 },
                  livenessProbe: { httpGet: { path: '/health', port: 8080 }, periodSeconds: 10 },
                  resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '128Mi' } },
                  securityContext: {
                    allowPrivilegeEscalation: false,
                    readOnlyRootFilesystem: true,
                    capabilities: { drop: ['ALL'] },
                  },
                  volumeMounts: [{ name: 'config', mountPath: '/etc/coredns', readOnly: true }],
                },
              ],
              volumes: [{ name: 'config', configMap: { name: 'coredns' } }],
            },
          },
        },
      },
    },
  ];
}
