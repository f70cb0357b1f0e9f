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
    return {
      ...base,
      ok: false,
      codes: [],
      remaining: 0,
      refusal: { code: 'UNAUTHORIZED', nextStep: 'ask-grant', owner: null, message: `This account may not unbind ${req.pid}. Ask the product owner for a partner grant or a space role.` },
    };
  }
  if (!product.unbindSupported) {
    return {
      ...base,
      ok: false,
      codes: [],
      refusal: { code: 'UNSUPPORTED_PRODUCT', nextStep: 'service-center', owner: product.owner.name, message: `${product.name} has no unbind mechanism. Send these devices to the service center.` },
    };
  }
  if (devices > remaining) {
    const code = accountRemaining <= productRemaining ? 'QUOTA_ACCOUNT' : 'QUOTA_PRODUCT';
    return { ...base, ok: false, refusal: quotaRefusal(code, remaining, devices, product) };
  }
  return { ...base, ok: true, refusal: null };
}

/**
 * A quota refusal that names the next step of the signed-in account: the owner of the product raises the
 * limit itself (it decides the tickets of its products); anyone else asks the owner for a ticket.
 */
function quotaRefusal(code: 'QUOTA_ACCOUNT' | 'QUOTA_PRODUCT', remaining: number, devices: number, product: ProductView): NonNullable<BatchPlan['refusal']> {
  const left = `Only ${remaining} unbind${remaining === 1 ? '' : 's'} left today for ${code === 'QUOTA_ACCOUNT' ? 'this account' : product.name}; this batch needs ${devices}.`;
  const isOwner = product.grant === 'owner';
  const step = isOwner
    ? `Reduce the batch, or raise the ${code === 'QUOTA_ACCOUNT' ? 'account' : 'product'}'s daily limit yourself: as the owner of ${product.name} you approve its quota tickets (Quota tickets: request one, then approve it).`
    : `Reduce the batch, or request a quota ticket from the owner, ${product.owner.name} (Quota tickets); the new limit applies as soon as it is approved.`;
  return { code, nextStep: isOwner ? 'raise-as-owner' : 'request-ticket', owner: product.owner.name, message: `${left} ${step}` };
}

/**
 * Plans a wired or serial batch, whose devices are known one by one and may be of several products:
 * each product must be allowed and supported and fit in its own quota left, and all of them in the
 * account's. Tokens are grouped by 30 regardless of product (a token is the account's, not a product's).
 */
export function planDevices(pids: readonly string[], products: ProductView[], quota: QuotaView): BatchPlan {
  const counts = new Map<string, number>();
  for (const pid of pids) counts.set(pid, (counts.get(pid) ?? 0) + 1);
  const label = counts.size === 1 ? [...counts.keys()][0]! : `${counts.size} products`;
  for (const [pid, n] of counts) {
    const p = planBatch({ method: 'wired', pid, deviceCount: n }, products, quota);
    if (!p.ok) return { ...p, pid: label, devices: pids.length, codes: [] };
  }
  const accountRemaining = quota.account.remaining;
  const productRemaining = Math.min(...[...counts.keys()].map((pid) => quota.products.find((q) => q.pid === pid)?.remaining ?? 0));
  const codes = planQrCodes(pids.length).map((c) => c.capacity);
  const grant = products.find((p) => counts.has(p.pid))?.grant ?? null;
  if (pids.length > accountRemaining) {
    return {
      ok: false,
      pid: label,
      devices: pids.length,
      codes,
      remaining: accountRemaining,
      accountRemaining,
      productRemaining,
      grant,
      refusal: quotaRefusal('QUOTA_ACCOUNT', accountRemaining, pids.length, products.find((p) => counts.has(p.pid))!),
    };
  }
  return { ok: true, pid: label, devices: pids.length, codes, remaining: Math.min(accountRemaining, productRemaining), accountRemaining, productRemaining, grant, refusal: null };
}
