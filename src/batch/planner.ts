import type { BatchPlan, PlanRequest, ProductView, QuotaView } from '../protocol/index.js';
import { planQrCodes } from '../qr/index.js';

/**
 * Plans a batch before anything is issued: the account must be allowed to unbind the product, the
 * product must have an unbind mechanism, and the devices must fit in what is left of today's quota
 * (the lower of the account's and the product's). The operator sees the refusal before starting.
 */
export function planBatch(req: PlanRequest, products: ProductView[], quota: QuotaView): BatchPlan {
  const devices = req.manifest?.length ?? req.deviceCount ?? 0;
  const product = products.find((p) => p.pid === req.pid);
  const accountRemaining = quota.account.remaining;
  const productRemaining = quota.products.find((p) => p.pid === req.pid)?.remaining ?? 0;
  const remaining = Math.min(accountRemaining, productRemaining);
  const base = { pid: req.pid, devices, codes: planQrCodes(devices).map((c) => c.capacity), remaining, accountRemaining, productRemaining, grant: product?.grant ?? null };

  if (!product) {
    return { ...base, ok: false, codes: [], remaining: 0, refusal: { code: 'UNAUTHORIZED', message: `This account may not unbind ${req.pid}. Ask the product owner for a partner grant or a space role.` } };
  }
  if (!product.unbindSupported) {
    return { ...base, ok: false, codes: [], refusal: { code: 'UNSUPPORTED_PRODUCT', message: `${product.name} has no unbind mechanism. Send these devices to the service center.` } };
  }
  if (devices > remaining) {
    const code = accountRemaining <= productRemaining ? 'QUOTA_ACCOUNT' : 'QUOTA_PRODUCT';
    const who = code === 'QUOTA_ACCOUNT' ? 'this account' : `product ${req.pid}`;
    return {
      ...base,
      ok: false,
      refusal: { code, message: `Only ${remaining} unbind${remaining === 1 ? '' : 's'} left today for ${who}; this batch needs ${devices}. Reduce the batch or ask the owner for a quota ticket.` },
    };
  }
  return { ...base, ok: true, refusal: null };
}
