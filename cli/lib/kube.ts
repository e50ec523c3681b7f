// Talking to the API server as the caller: their kubeconfig, their identity.
import { KubeClient } from '../../operator/src/kube/client.ts';
import { KubeconfigError, loadConnection } from '../../operator/src/kube/kubeconfig.ts';
import { CliError } from './errors.ts';

export const USER_AGENT = 'kubectl-paddock/0.1.0';

export interface GlobalOptions {
  kubeconfig?: string;
  namespace?: string;
  context?: string;
}

export interface Session {
  readonly client: KubeClient;
  /** -n, else the kubeconfig context's namespace, else "default". */
  readonly namespace: string;
}

export function connect(opts: GlobalOptions, env: NodeJS.ProcessEnv = process.env): Session {
  let client: KubeClient;
  try {
    client = new KubeClient(loadConnection(opts.kubeconfig, env), {
      userAgent: USER_AGENT,
      requestTimeoutMs: 30_000,
    });
  } catch (err) {
    if (err instanceof KubeconfigError) throw new CliError(err.message);
    throw err;
  }
  if (opts.context !== undefined) {
    // The shared kubeconfig loader always uses the current-context; accept the
    // flag only when it names that context, rather than silently ignore it.
    const current = /\(context (.*)\)$/.exec(client.connection.source)?.[1];
    if (opts.context !== current) {
      client.close();
      throw new CliError(
        `--context is not supported: kubectl paddock uses the kubeconfig's current-context${current ? ` (${current})` : ''}; switch with "kubectl config use-context ${opts.context}" or pass --kubeconfig`,
      );
    }
  }
  return { client, namespace: opts.namespace || client.connection.namespace || 'default' };
}

export interface Identity {
  readonly username: string;
  readonly uid?: string;
  readonly groups: readonly string[];
  readonly extra?: Record<string, string[]>;
}

interface SelfSubjectReview {
  status?: {
    userInfo?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  };
}

/** Who the API server says the caller is (what `kubectl auth whoami` shows). */
export async function whoami(client: KubeClient): Promise<Identity> {
  const review = await client.raw<SelfSubjectReview>(
    'POST',
    '/apis/authentication.k8s.io/v1/selfsubjectreviews',
    { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
  );
  const info = review.status?.userInfo ?? {};
  if (!info.username) throw new CliError('the API server returned no username for these credentials');
  return {
    username: info.username,
    ...(info.uid ? { uid: info.uid } : {}),
    groups: info.groups ?? [],
    ...(info.extra ? { extra: info.extra } : {}),
  };
}
