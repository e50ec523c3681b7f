// A throwaway PKI for one local cluster: a CA, the API server's serving
// certificate, the service-account signing key, and client certificates for
// people who authenticate with X.509 (issueClientCertificate). openssl does the
// X.509 work (Node's crypto cannot issue certificates); it is on every Debian machine.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Pki {
  readonly caCert: string;
  readonly caKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly saKey: string;
  readonly saPub: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function createPki(dir: string): Pki {
  const p = (f: string): string => join(dir, f);
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '3650',
      '-subj',
      '/CN=paddock-local-ca',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
    ],
    dir,
  );
  writeFileSync(
    p('server.ext'),
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,IP:10.88.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local',
      '',
    ].join('\n'),
  );
  openssl(
    [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
      '-subj',
      '/CN=kube-apiserver',
    ],
    dir,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.crt',
      '-days',
      '3650',
      '-extfile',
      'server.ext',
    ],
    dir,
  );
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(p('sa.key'), privateKey.export({ type: 'pkcs1', format: 'pem' }));
  writeFileSync(p('sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  return {
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    saKey: p('sa.key'),
    saPub: p('sa.pub'),
  };
}

export interface ClientCertificate {
  /** PEM certificate signed by the cluster CA. */
  readonly certFile: string;
  /** PEM private key of the certificate. */
  readonly keyFile: string;
}

/** Characters kube-apiserver accepts in a user or group name that also survive openssl's -subj syntax. */
const SUBJECT_SAFE = /^[A-Za-z0-9][A-Za-z0-9:._@-]*$/;

/**
 * A client certificate signed by the cluster CA, as kube-apiserver's x509 authenticator reads it
 * (--client-ca-file): the Common Name is the username, each Organization a group. EC P-256 keys:
 * fast to generate, and accepted by kube-apiserver and kubectl alike.
 */
export function issueClientCertificate(
  dir: string,
  pki: Pki,
  user: string,
  groups: readonly string[],
): ClientCertificate {
  for (const name of [user, ...groups])
    if (!SUBJECT_SAFE.test(name)) throw new Error(`not a name for a client certificate subject: ${name}`);
  const base = `client-${user.replace(/[^A-Za-z0-9-]/g, '_')}`;
  const ext = `${base}.ext`;
  writeFileSync(
    join(dir, ext),
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=clientAuth',
      '',
    ].join('\n'),
  );
  const subject = `/CN=${user}${groups.map((g) => `/O=${g}`).join('')}`;
  openssl(
    [
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      `${base}.key`,
      '-out',
      `${base}.csr`,
      '-subj',
      subject,
    ],
    dir,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${base}.csr`,
      '-CA',
      pki.caCert,
      '-CAkey',
      pki.caKey,
      '-CAcreateserial',
      '-out',
      `${base}.crt`,
      '-days',
      '3650',
      '-extfile',
      ext,
    ],
    dir,
  );
  return { certFile: join(dir, `${base}.crt`), keyFile: join(dir, `${base}.key`) };
}
