import { FAILURE_HINTS } from '../../protocol/failure-codes.js';
import type { UnbindResult } from '../../protocol/failure-codes.js';
import type { BatchCodeView, BatchStatus, BatchTally, DeviceResultView } from '../../protocol/station-api.js';

export const RESULT_LABELS: Record<UnbindResult, string> = { UNBOUND: 'Unbound', NOT_BOUND: 'Not bound', FAILED: 'Failed' };

/** The hint the station sent with the result, else the contract's hint for its failure code. */
export function hintOf(r: Pick<DeviceResultView, 'hint' | 'code'>): string | null {
  return r.hint ?? (r.code ? FAILURE_HINTS[r.code] : null);
}

/** One device's one report; the same report arriving twice (event and snapshot) is kept once. */
export function resultKey(r: DeviceResultView): string {
  return [r.devId, r.at, r.result, r.code ?? '', r.tokenId ?? ''].join('|');
}

/** Oldest first by time; reports at the same time keep their arrival order. */
export function chronological(results: readonly DeviceResultView[]): DeviceResultView[] {
  return results
    .map((r, i) => ({ r, i, t: Date.parse(r.at) }))
    .sort((a, b) => (a.t === b.t || Number.isNaN(a.t) || Number.isNaN(b.t) ? a.i - b.i : a.t - b.t))
    .map((x) => x.r);
}

/**
 * The tally the station keeps, computed from the results: each device counts once, by its last report
 * (a device may report twice, e.g. TOKEN_REUSED); devices expected but not reported are pending while running.
 */
export function tallyOf(chronologicalResults: readonly DeviceResultView[], expected: number, status: BatchStatus): BatchTally {
  const last = new Map<string, UnbindResult>();
  for (const r of chronologicalResults) last.set(r.devId, r.result);
  let unbound = 0;
  let notBound = 0;
  let failed = 0;
  for (const result of last.values()) {
    if (result === 'UNBOUND') unbound++;
    else if (result === 'NOT_BOUND') notBound++;
    else failed++;
  }
  return { unbound, notBound, failed, pending: status === 'running' ? Math.max(0, expected - last.size) : 0 };
}

export function reportedOf(t: BatchTally): number {
  return t.unbound + t.notBound + t.failed;
}

/** Devices that used a code (failures consume nothing), at least what the station last said. */
export function codeUsed(code: BatchCodeView, results: readonly DeviceResultView[]): number {
  const seen = results.filter((r) => r.tokenId === code.tokenId && r.result !== 'FAILED').length;
  return Math.max(code.used, seen);
}
