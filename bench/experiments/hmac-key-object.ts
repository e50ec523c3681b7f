// Experiment (bench only, never shipped): preloaded into the operator with
// `node bench/run.ts --experiment hmac-key-object`, it makes node:crypto's createHmac turn a Buffer
// key into a KeyObject once (cached per Buffer) instead of on every call. The operator's Provenance
// HMACs every agent pod it looks at on every pass (provenance.ts verifyPod: twice per running
// forEach instance, attempts.ts adoptNewerPod and observeRunning), and on Node 24 a Buffer key costs
// about 16 us per HMAC against 2.5 us with a KeyObject. An A/B of holding the key as a KeyObject
// (createSecretKey) in Provenance. Patches the builtin, so it works on the compiled operator too.
import type * as NodeCrypto from 'node:crypto';
import type { BinaryLike, KeyObject } from 'node:crypto';
import { createRequire, syncBuiltinESMExports } from 'node:module';

const crypto = createRequire(import.meta.url)('node:crypto') as typeof NodeCrypto;
const createHmac = crypto.createHmac;
const keys = new WeakMap<Buffer, KeyObject>();

crypto.createHmac = (algorithm: string, key: BinaryLike | KeyObject, options?: unknown) => {
  if (Buffer.isBuffer(key)) {
    let k = keys.get(key);
    if (!k) keys.set(key, (k = crypto.createSecretKey(key)));
    return createHmac(algorithm, k, options as never);
  }
  return createHmac(algorithm, key, options as never);
};
syncBuiltinESMExports();
