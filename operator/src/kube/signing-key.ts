// The operator's signing key: 32 random bytes in a Secret of its own namespace, created by the
// first replica that starts and read by every other one (and after every restart), so all
// replicas sign and verify alike (controllers/provenance.ts).
//
// The Secret is immutable: nobody can swap the key under a running operator. To rotate it, delete
// the Secret and restart the operator; Approvals and pods signed with the old key then no longer
// verify and their steps fail closed or ask again (docs/security.md). The key never leaves this
// module except as bytes handed to Provenance: it is not logged, and errors name only the Secret.
import { randomBytes } from 'node:crypto';
import { SECRET } from '../api/constants.ts';
import { LABEL_MANAGED_BY, MANAGED_BY_VALUE } from '../api/labels.ts';
import type { KubeClient } from './client.ts';
import { isAlreadyExists, isNotFound } from './errors.ts';
import type { KubeObject } from './types.ts';

/** The key inside the Secret's data. */
export const SIGNING_KEY_FIELD = 'key';
const KEY_BYTES = 32;

interface SecretObject extends KubeObject {
  data?: Record<string, string>;
  immutable?: boolean;
  type?: string;
}

export class SigningKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SigningKeyError';
  }
}

/** Reads the key, creating the Secret first if it does not exist yet. */
export async function loadOrCreateSigningKey(
  client: Pick<KubeClient, 'get' | 'create'>,
  namespace: string,
  name: string,
): Promise<Buffer> {
  const where = `Secret ${namespace}/${name}`;
  try {
    return keyOf(await client.get<SecretObject>(SECRET, namespace, name), where);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const secret: SecretObject = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      namespace,
      labels: { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE, 'app.kubernetes.io/component': 'signing-key' },
      annotations: {
        'paddock.dev/description':
          'HMAC key the Paddock operator signs its Approvals and agent pods with. Delete it and restart the operator to rotate it.',
      },
    },
    type: 'Opaque',
    immutable: true,
    data: { [SIGNING_KEY_FIELD]: randomBytes(KEY_BYTES).toString('base64') },
  };
  try {
    return keyOf(await client.create<SecretObject>(SECRET, secret), where);
  } catch (err) {
    // Another replica created it first: use theirs.
    if (!isAlreadyExists(err)) throw err;
    return keyOf(await client.get<SecretObject>(SECRET, namespace, name), where);
  }
}

function keyOf(secret: SecretObject, where: string): Buffer {
  const encoded = secret.data?.[SIGNING_KEY_FIELD];
  if (typeof encoded !== 'string') throw new SigningKeyError(`${where} has no data.${SIGNING_KEY_FIELD}`);
  const key = Buffer.from(encoded, 'base64');
  if (key.byteLength < KEY_BYTES)
    throw new SigningKeyError(
      `${where}: data.${SIGNING_KEY_FIELD} must hold at least ${KEY_BYTES} bytes; delete the Secret to have a new key made`,
    );
  return key;
}
