import { FAILURE_HINTS, type BatchCodeView, type BatchNotice, type BatchStatus, type BatchSummary, type BatchTally, type BatchView, type DeviceResultView, type HistoryRow } from '../protocol/index.js';
import type { BatchRecord } from './batch-records.js';

/** Batch views are derived from the batch record and its index (batch-index.ts): nothing is counted twice. */
export function toResultView(r: HistoryRow): DeviceResultView {
  return { devId: r.devId, serial: r.serial, pid: r.pid, result: r.result, code: r.code, hint: r.code ? FAILURE_HINTS[r.code] : null, at: r.at, tokenId: r.tokenId ?? null };
}

/** A running batch whose stop was not resumed is paused; the store keeps only running, completed, cancelled. */
export function statusOf(b: Pick<BatchRecord, 'status' | 'stop'>): BatchStatus {
  return b.status === 'running' && b.stop && b.stop.resumedAt === null ? 'paused' : b.status;
}

/** Stamps within one opening of the batch store: 2^32 of them (about 4 billion) before the next opening's. */
const STAMPS_PER_BOOT = 2 ** 32;
let lastStamp = 0;
/**
 * The moment the station reads a batch's state, as a number that only grows: every view, summary and
 * result event carries one, so the UI keeps the latest of what reaches it by two roads (an HTTP answer
 * and the event stream) in whatever order they arrive. The high part is the batch store's boot count
 * (stampsFromBoot), so a station started again stamps above anything it stamped before, with no clock.
 */
export function nextStamp(): number {
  return ++lastStamp;
}
/** The batch store was opened for the `boot`th time: stamps from here on are above every earlier boot's. */
export function stampsFromBoot(boot: number): void {
  lastStamp = Math.max(lastStamp, boot * STAMPS_PER_BOOT);
}

export function summaryOf(b: BatchRecord, tally: BatchTally, notice: BatchNotice | null = null): BatchSummary {
  return {
    stamp: nextStamp(),
    id: b.id,
    createdAt: new Date(b.createdAt).toISOString(),
    method: b.method,
    pid: b.pid,
    accountId: b.accountId,
    operator: b.operator,
    status: statusOf(b),
    ssid: b.ssid,
    expected: b.expected,
    tally,
    stop: b.stop,
    notice: b.status === 'running' ? notice : null,
  };
}

/** `results` newest first (BatchIndex.resultViews). */
export function batchView(b: BatchRecord, tally: BatchTally, codes: BatchCodeView[], results: DeviceResultView[], labels: readonly string[], notice: BatchNotice | null = null): BatchView {
  return {
    ...summaryOf(b, tally, notice),
    manifest: b.manifest,
    scanned: [...labels],
    codes,
    results,
  };
}
