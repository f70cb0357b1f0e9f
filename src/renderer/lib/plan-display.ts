import type { BatchPlan } from '../../protocol/station-api.js';
import { i18n, t } from '../i18n/index.js';

const num = (n: number): string => i18n.global.n(n);

/** "Codes: 2 (30 + 15)". */
export function describeCodes(codes: readonly number[]): string {
  if (codes.length === 0) return t('plan.noCodes');
  return t('plan.codes', { n: num(codes.length), sizes: codes.map(num).join(' + ') });
}

export function describeRemaining(plan: Pick<BatchPlan, 'remaining' | 'accountRemaining' | 'productRemaining'>): string {
  return t('plan.remaining', { n: num(plan.remaining), account: num(plan.accountRemaining), product: num(plan.productRemaining) });
}

export interface PlanDisplay {
  ok: boolean;
  devicesText: string;
  codesText: string;
  remainingText: string;
  /** Shown in red when the planner refuses; null when the plan is ok. */
  refusal: { code: string; message: string; remaining: number } | null;
}

/** What the "Check plan" step shows for a plan, ok or refused. */
export function describePlan(plan: BatchPlan): PlanDisplay {
  const refusal = plan.ok
    ? null
    : { code: plan.refusal?.code ?? 'REFUSED', message: plan.refusal?.message ?? t('plan.refused'), remaining: plan.remaining };
  return {
    ok: plan.ok,
    devicesText: t('plan.devices', { n: num(plan.devices) }),
    codesText: describeCodes(plan.codes),
    remainingText: describeRemaining(plan),
    refusal,
  };
}
