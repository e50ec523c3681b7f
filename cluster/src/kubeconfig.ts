// Writes kubeconfig files for the local cluster's users: bearer-token users and
// client-certificate users (the certificate and key are embedded, so the file
// stands alone).
import { readFileSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';

interface KubeconfigBase {
  readonly server: string;
  readonly caFile: string;
  readonly user: string;
  readonly contextName?: string;
  readonly namespace?: string;
}

export interface TokenKubeconfigOptions extends KubeconfigBase {
  readonly token: string;
}

export interface CertificateKubeconfigOptions extends KubeconfigBase {
  /** PEM client certificate signed by the cluster CA. */
  readonly certFile: string;
  /** PEM private key of the client certificate. */
  readonly keyFile: string;
}

export type KubeconfigOptions = TokenKubeconfigOptions | CertificateKubeconfigOptions;

function credentials(o: KubeconfigOptions): Record<string, string> {
  if ('token' in o) return { token: o.token };
  return {
    'client-certificate-data': readFileSync(o.certFile).toString('base64'),
    'client-key-data': readFileSync(o.keyFile).toString('base64'),
  };
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
    users: [{ name: o.user, user: credentials(o) }],
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
