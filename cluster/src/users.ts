// Identities of the local cluster, authenticated by static bearer tokens
// (kube-apiserver --token-auth-file). Besides the control plane's own users
// there are a few people, so tests can act as distinct humans (approvals need
// an authenticated "who").
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';

export interface User {
  readonly name: string;
  readonly groups: readonly string[];
  readonly token: string;
}

export const USER_SPECS: ReadonlyArray<{ name: string; groups: string[] }> = [
  { name: 'paddock-admin', groups: ['system:masters'] },
  { name: 'system:kube-controller-manager', groups: [] },
  { name: 'system:kube-scheduler', groups: [] },
  { name: 'kwok-controller', groups: ['system:masters'] },
  { name: 'alice', groups: ['dev'] },
  { name: 'bob', groups: ['sre'] },
  { name: 'carol', groups: ['sre'] },
  { name: 'dave', groups: [] },
];

export function createUsers(): User[] {
  return USER_SPECS.map((u) => ({ ...u, token: randomBytes(24).toString('hex') }));
}

export function writeTokenFile(path: string, users: readonly User[]): void {
  // token,user,uid,"group1,group2"
  const lines = users.map((u, i) => `${u.token},${u.name},uid-${i},"${u.groups.join(',')}"`);
  writeFileSync(path, lines.join('\n') + '\n', { mode: 0o600 });
}
