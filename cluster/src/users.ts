// Identities of the local cluster. Most are authenticated by static bearer
// tokens (kube-apiserver --token-auth-file): besides the control plane's own
// users there are a few people, so tests can act as distinct humans (approvals
// need an authenticated "who"). A few more people authenticate with client
// certificates signed by the cluster CA (kube-apiserver --client-ca-file), the
// other way real clusters identify people (docs/testing.md).
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { issueClientCertificate, type Pki } from './pki.ts';

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

/** A person who authenticates with a client certificate: CN is the name, each O a group. */
export interface CertUser {
  readonly name: string;
  readonly groups: readonly string[];
  readonly certFile: string;
  readonly keyFile: string;
}

export const CERT_USER_SPECS: ReadonlyArray<{ name: string; groups: string[] }> = [
  { name: 'erin', groups: ['sre'] },
  { name: 'frank', groups: [] },
  { name: 'grace', groups: ['platform'] },
];

/** Issues the certificate users' certificates into `dir` (the cluster's state directory). */
export function createCertUsers(dir: string, pki: Pki): CertUser[] {
  for (const u of CERT_USER_SPECS)
    if (USER_SPECS.some((t) => t.name === u.name))
      throw new Error(`${u.name} cannot be both a token user and a certificate user`);
  return CERT_USER_SPECS.map((u) => ({ ...u, ...issueClientCertificate(dir, pki, u.name, u.groups) }));
}
