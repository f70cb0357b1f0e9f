import type { UnbindResult } from '../../protocol/failure-codes.js';
import type { BatchTally, DeviceResultView } from '../../protocol/station-api.js';
import { t } from '../i18n/index.js';

export function resultLabel(r: UnbindResult): string {
  return t(`results.label.${r}`);
}

/** The hint of the result's failure code in the chosen language (the code stays the key), else the hint the station sent. */
export function hintOf(r: Pick<DeviceResultView, 'hint' | 'code'>): string | null {
  return r.code ? t(`failure.${r.code}`) : r.hint;
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
