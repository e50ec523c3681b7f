// A bare pod under the Pod Security `restricted` profile, as 65532 with a read-only root: for the real node's own
// tests and for peers in the e2e tests that are not agents (a listener, a pod that asks for what the kubelet refuses).

export interface RestrictedContainer {
  readonly name: string;
  readonly image: string;
  readonly command?: readonly string[];
  readonly imagePullPolicy?: 'Never' | 'IfNotPresent' | 'Always';
}

export interface RestrictedPodOptions {
  readonly labels?: Record<string, string>;
  readonly restart?: 'Never' | 'Always';
  /** A writable /tmp (an emptyDir of 16Mi). */
  readonly tmp?: boolean;
}

export function restrictedPod(
  namespace: string,
  name: string,
  container: RestrictedContainer,
  o: RestrictedPodOptions = {},
): { apiVersion: 'v1'; kind: 'Pod'; metadata: Record<string, unknown>; spec: Record<string, unknown> } {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: o.labels ?? {} },
    spec: {
      restartPolicy: o.restart ?? 'Never',
      automountServiceAccountToken: false,
      terminationGracePeriodSeconds: 1,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 65532,
        runAsGroup: 65532,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          ...container,
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
          },
          ...(o.tmp ? { volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }] } : {}),
        },
      ],
      ...(o.tmp ? { volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '16Mi' } }] } : {}),
    },
  };
}
