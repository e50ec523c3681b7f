// Writes kubeconfig files for the local cluster's users.
import { readFileSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';

export interface KubeconfigOptions {
  readonly server: string;
  readonly caFile: string;
  readonly user: string;
  readonly token: string;
  readonly contextName?: string;
  readonly namespace?: string;
}

export function kubeconfigYaml(o: KubeconfigOptions): string {
  const ctx = o.contextName ?? 'paddock-local';
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'paddock-local',
        cluster: {
          server: o.server,
          'certificate-authority-data': readFileSync(o.caFile).toString('base64'),
        },
      },
    ],
    users: [{ name: o.user, user: { token: o.token } }],
    contexts: [
      {
        name: ctx,
        context: {
          cluster: 'paddock-local',
          user: o.user,
          ...(o.namespace ? { namespace: o.namespace } : {}),
        },
      },
    ],
    'current-context': ctx,
  });
}

export function writeKubeconfig(path: string, o: KubeconfigOptions): void {
  writeFileSync(path, kubeconfigYaml(o), { mode: 0o600 });
}
