import type { BatchPlan } from '../../protocol/station-api.js';

/** "1 code: 30", "2 codes: 30 + 15". */
export function describeCodes(codes: readonly number[]): string {
  if (codes.length === 0) return 'no codes';
  return `${codes.length} code${codes.length === 1 ? '' : 's'}: ${codes.join(' + ')}`;
}

export function describeRemaining(plan: Pick<BatchPlan, 'remaining' | 'accountRemaining' | 'productRemaining'>): string {
  const n = plan.remaining;
  return `${n} unbind${n === 1 ? '' : 's'} left today (account ${plan.accountRemaining}, product ${plan.productRemaining})`;
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
    : { code: plan.refusal?.code ?? 'REFUSED', message: plan.refusal?.message ?? 'The station refused this plan.', remaining: plan.remaining };
  return {
    ok: plan.ok,
    devicesText: `${plan.devices} device${plan.devices === 1 ? '' : 's'}`,
    codesText: describeCodes(plan.codes),
    remainingText: describeRemaining(plan),
    refusal,
  };
}
