import { FAILURE_HINTS } from '../../protocol/failure-codes.js';
import type { UnbindResult } from '../../protocol/failure-codes.js';
import type { BatchTally, DeviceResultView } from '../../protocol/station-api.js';

export const RESULT_LABELS: Record<UnbindResult, string> = { UNBOUND: 'Unbound', NOT_BOUND: 'Not bound', FAILED: 'Failed' };

/** The hint the station sent with the result, else the contract's hint for its failure code. */
export function hintOf(r: Pick<DeviceResultView, 'hint' | 'code'>): string | null {
  return r.hint ?? (r.code ? FAILURE_HINTS[r.code] : null);
}

/** Oldest first by time; reports at the same time keep their arrival order. */
export function chronological(results: readonly DeviceResultView[]): DeviceResultView[] {
  return results
    .map((r, i) => ({ r, i, t: Date.parse(r.at) }))
    .sort((a, b) => (a.t === b.t || Number.isNaN(a.t) || Number.isNaN(b.t) ? a.i - b.i : a.t - b.t))
    .map((x) => x.r);
}

/** Devices the station counted as reported in its tally. */
export function reportedOf(t: BatchTally): number {
  return t.unbound + t.notBound + t.failed;
}
