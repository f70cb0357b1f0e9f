import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FailureCode } from '../../src/protocol/failure-codes.js';
import type { HistoryQuery, HistoryStats } from '../../src/protocol/station-api.js';
import type { HistoryScope, NewAttempt } from '../../src/history/index.js';
import { attempt, openTempHistory, type TempHistory } from './history-fixtures.js';

/**
 * The stats from the day summary (migration 0004) against an oracle that counts the rows themselves,
 * in JavaScript, with Intl's calendar: every scope, filter and time range a query can have, over days
 * that include both DST changes of Los Angeles (a 23-hour and a 25-hour day).
 */
const ZONE = 'America/Los_Angeles';
const PIDS = ['cam-c6n', 'nvr-n8w', 'gw-g2h'];
const ACCOUNTS = ['acc-owner', 'acc-partner-a', 'acc-partner-b'];
const CODES: FailureCode[] = ['WIFI_AUTH', 'NO_REPORT', 'TIMEOUT'];
const HOUR = 3_600_000;
// From 6 March to 8 November 2025, in three clusters around DST's start and end and midsummer.
const SPANS = [Date.UTC(2025, 2, 6), Date.UTC(2025, 6, 1), Date.UTC(2025, 10, 1)];
const SPAN_MS = 9 * 24 * HOUR;

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rows: NewAttempt[] = [];
const r = rng(7);
for (let i = 0; i < 3000; i++) {
  const p = r();
  const result = p < 0.6 ? 'UNBOUND' : p < 0.75 ? 'NOT_BOUND' : 'FAILED';
  const code = result === 'FAILED' ? CODES[Math.floor(r() * CODES.length)]! : r() < 0.05 ? 'SERIAL_MISMATCH' : null;
  rows.push(
    attempt({
      at: SPANS[Math.floor(r() * SPANS.length)]! + Math.floor(r() * SPAN_MS),
      accountId: ACCOUNTS[Math.floor(r() * ACCOUNTS.length)]!,
      pid: r() < 0.05 ? null : PIDS[Math.floor(r() * PIDS.length)]!,
      result,
      code,
    }),
  );
}

const dayFmt = new Intl.DateTimeFormat('en-CA', { timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit' });
function oracle(scope: HistoryScope, q: HistoryQuery): HistoryStats {
  const from = q.from === undefined ? -Infinity : Date.parse(q.from);
  const to = q.to === undefined ? Infinity : Date.parse(q.to);
  const seen = rows.filter((a) => {
    if (a.at < from || a.at >= to) return false;
    if (q.pid !== undefined && a.pid !== q.pid) return false;
    if (q.result !== undefined && a.result !== q.result) return false;
    if (q.code !== undefined && a.code !== q.code) return false;
    const pid = a.pid ?? null;
    if (pid !== null && scope.allPids.includes(pid)) return true;
    return a.accountId === scope.accountId && (pid === null || scope.ownPids.includes(pid));
  });
  const byDay = new Map<string, { day: string; unbound: number; notBound: number; failed: number }>();
  const byCode = new Map<string, number>();
  for (const a of seen) {
    const day = dayFmt.format(a.at);
    const d = byDay.get(day) ?? { day, unbound: 0, notBound: 0, failed: 0 };
    byDay.set(day, d);
    if (a.result === 'UNBOUND') d.unbound++;
    else if (a.result === 'NOT_BOUND') d.notBound++;
    else d.failed++;
    const key = a.code ?? a.result;
    byCode.set(key, (byCode.get(key) ?? 0) + 1);
  }
  return {
    byCode: [...byCode].map(([code, count]) => ({ code, count })).sort((x, y) => y.count - x.count || (x.code < y.code ? -1 : x.code > y.code ? 1 : 0)) as HistoryStats['byCode'],
    byDay: [...byDay.values()].sort((x, y) => (x.day < y.day ? -1 : 1)),
    total: seen.length,
  };
}

let h: TempHistory;
beforeAll(() => {
  h = openTempHistory({ timeZone: ZONE });
  h.store.recordMany(rows.slice(0, 2000));
  // The rest one by one: record() keeps the summary too.
  for (const a of rows.slice(2000)) h.store.record(a);
});
afterAll(() => h.cleanup());

const scopeArb: fc.Arbitrary<HistoryScope> = fc.record({
  accountId: fc.constantFrom(...ACCOUNTS),
  allPids: fc.subarray(PIDS),
  ownPids: fc.subarray(PIDS),
});
// Instants in and around the clusters, often on a local midnight (where a whole day starts).
const instantArb = fc.oneof(
  fc.integer({ min: SPANS[0]! - 2 * 24 * HOUR, max: SPANS[2]! + SPAN_MS + 2 * 24 * HOUR }),
  fc.tuple(fc.constantFrom(...SPANS), fc.integer({ min: -1, max: 10 }), fc.constantFrom(7, 8)).map(([s, d, off]) => s + d * 24 * HOUR + off * HOUR),
);
const queryArb: fc.Arbitrary<HistoryQuery> = fc.record(
  {
    from: instantArb.map((t) => new Date(t).toISOString()),
    to: instantArb.map((t) => new Date(t).toISOString()),
    pid: fc.constantFrom(...PIDS),
    result: fc.constantFrom('UNBOUND' as const, 'NOT_BOUND' as const, 'FAILED' as const),
    code: fc.constantFrom(...CODES, 'SERIAL_MISMATCH' as const),
  },
  { requiredKeys: [] },
);

describe('stats from the day summary', () => {
  it('equal the counts of the rows themselves for every scope, filter and time range (DST days included)', () => {
    fc.assert(
      fc.property(scopeArb, queryArb, (scope, q) => {
        expect(h.store.stats(scope, q)).toEqual(oracle(scope, q));
      }),
      { numRuns: 1500 },
    );
  });

  it('are made again in the new zone when the station moves to another zone, and stay right after more rows', () => {
    const owner: HistoryScope = { accountId: 'acc-owner', allPids: PIDS, ownPids: [] };
    const store = h.reopen({ timeZone: 'Asia/Tokyo' });
    const tokyo = store.stats(owner, {});
    const utcDays = new Set(rows.map((a) => new Date(a.at + 9 * HOUR).toISOString().slice(0, 10)));
    expect(new Set(tokyo.byDay.map((d) => d.day))).toEqual(utcDays);
    expect(tokyo.total).toBe(rows.filter((a) => a.pid !== null || a.accountId === 'acc-owner').length);
    h.reopen({ timeZone: ZONE });
    expect(h.store.stats(owner, {})).toEqual(oracle(owner, {}));
  });
});
