// Experiment (bench only, not shipped): loaded into the operator with
// NODE_OPTIONS=--import, it makes every KubeConfig reuse the first undici
// dispatcher it builds instead of a new one per request, which is what a
// one-line cache in KubeClient.auth() (operator/src/kube/client.ts) would do.
// Headers (tokens) are still computed per request, so token rotation still works.
//
//   node bench/run.ts --experiment pooled-client
import { KubeConfig, type RequestContext } from '@kubernetes/client-node';

type Dispatcher = ReturnType<RequestContext['getDispatcher']>;
// eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(this) below
const original = KubeConfig.prototype.applySecurityAuthentication;
const cache = new WeakMap<KubeConfig, NonNullable<Dispatcher>>();

KubeConfig.prototype.applySecurityAuthentication = async function (
  this: KubeConfig,
  ctx: RequestContext,
): Promise<void> {
  await original.call(this, ctx);
  let d = cache.get(this);
  if (!d) {
    d = ctx.getDispatcher();
    if (d) cache.set(this, d);
  }
  if (d) ctx.setDispatcher(d);
};
