import { FAILURE_HINTS, type BatchCodeView, type BatchSummary, type BatchTally, type BatchView, type DeviceResultView, type HistoryRow } from '../protocol/index.js';
import type { BatchCodeRecord, BatchRecord } from './batch-records.js';

/** Batch views are derived from the batch record, its codes and its history rows: nothing is counted twice. */
export function toResultView(r: HistoryRow): DeviceResultView {
  return { devId: r.devId, serial: r.serial, pid: r.pid, result: r.result, code: r.code, hint: r.code ? FAILURE_HINTS[r.code] : null, at: r.at, tokenId: r.tokenId ?? null };
}

const RANK: Record<HistoryRow['result'], number> = { UNBOUND: 2, NOT_BOUND: 1, FAILED: 0 };

/**
 * Devices that reported, counted once each, by their best result: a device may report more than once
 * (TOKEN_REUSED after scanning the code again, a station-side TIMEOUT after the authority's UNBOUND),
 * and an unbind that happened stays an unbind. Among failures the latest counts.
 */
export function tallyOf(b: BatchRecord, rows: HistoryRow[]): BatchTally {
  const last = new Map<string, HistoryRow>();
  for (const r of [...rows].sort((x, y) => x.id - y.id)) {
    const prev = last.get(r.devId);
    if (!prev || RANK[r.result] >= RANK[prev.result]) last.set(r.devId, r);
  }
  let unbound = 0;
  let notBound = 0;
  let failed = 0;
  for (const r of last.values()) {
    if (r.result === 'UNBOUND') unbound++;
    else if (r.result === 'NOT_BOUND') notBound++;
    else failed++;
  }
  return { unbound, notBound, failed, pending: b.status === 'running' ? Math.max(0, b.expected - last.size) : 0 };
}

export function codeViews(codes: BatchCodeRecord[], rows: HistoryRow[], now: number): BatchCodeView[] {
  return codes.map((c) => {
    // Places are taken by devices, not by rows (the station and the authority may both report one).
    const used = new Set(rows.filter((r) => r.tokenId === c.tokenId && r.result !== 'FAILED').map((r) => r.devId)).size;
    const status: BatchCodeView['status'] =
      c.ended === 'exhausted' || used >= c.capacity ? 'exhausted' : c.ended === 'closed' ? 'closed' : c.ended === 'expired' || now >= c.expiresAt ? 'expired' : 'active';
    return { index: c.index, tokenId: c.tokenId, capacity: c.capacity, used, expiresAt: new Date(c.expiresAt).toISOString(), status };
  });
}

export function summaryOf(b: BatchRecord, rows: HistoryRow[]): BatchSummary {
  return {
    id: b.id,
    createdAt: new Date(b.createdAt).toISOString(),
    method: b.method,
    pid: b.pid,
    accountId: b.accountId,
    operator: b.operator,
    status: b.status,
    ssid: b.ssid,
    expected: b.expected,
    tally: tallyOf(b, rows),
  };
}

export function batchView(b: BatchRecord, codes: BatchCodeRecord[], rows: HistoryRow[], labels: string[], now: number): BatchView {
  return {
    ...summaryOf(b, rows),
    manifest: b.manifest,
    scanned: labels,
    codes: codeViews(codes, rows, now),
    results: [...rows].sort((x, y) => y.id - x.id).map(toResultView),
  };
}
