import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { NewAttempt } from '../../src/history/index.js';
import { openHistoryStore } from '../../src/history/index.js';
import { attempt, OWNER, openTempHistory, type TempHistory } from './history-fixtures.js';

let h: TempHistory | null = null;
afterEach(() => {
  h?.cleanup();
  h = null;
});

function storeWith(timeZone: string | undefined, rows: NewAttempt[]): TempHistory {
  h = openTempHistory(timeZone ? { timeZone } : {});
  h.store.recordMany(rows);
  return h;
}
const at = (iso: string): number => Date.parse(iso);
const unbound = (when: string): NewAttempt => attempt({ at: at(when) });
const notBound = (when: string): NewAttempt => attempt({ at: at(when), result: 'NOT_BOUND' });
const failed = (when: string, code: NewAttempt['code']): NewAttempt => attempt({ at: at(when), result: 'FAILED', code });

describe('history stats', () => {
  it('given a mix of results, then byCode counts UNBOUND and NOT_BOUND as codes, most frequent first, and adds up to total', () => {
    const t = storeWith(undefined, [
      unbound('2025-03-10T09:00:00Z'),
      unbound('2025-03-10T09:01:00Z'),
      unbound('2025-03-10T09:02:00Z'),
      notBound('2025-03-10T09:03:00Z'),
      failed('2025-03-10T09:04:00Z', 'WIFI_AUTH'),
      failed('2025-03-10T09:05:00Z', 'WIFI_AUTH'),
      failed('2025-03-10T09:06:00Z', 'NO_REPORT'),
      attempt({ at: at('2025-03-10T09:07:00Z'), result: 'UNBOUND', code: 'SERIAL_MISMATCH' }),
    ]);
    const s = t.store.stats(OWNER, {});
    expect(s.byCode).toEqual([
      { code: 'UNBOUND', count: 3 },
      { code: 'WIFI_AUTH', count: 2 },
      { code: 'NOT_BOUND', count: 1 },
      { code: 'NO_REPORT', count: 1 },
      { code: 'SERIAL_MISMATCH', count: 1 }, // a flagged unbind counts under its flag
    ]);
    expect(s.total).toBe(8);
    expect(s.byDay).toEqual([{ day: '2025-03-10', unbound: 4, notBound: 1, failed: 3 }]);
  });

  it('given the default zone, then days are UTC days and days without attempts are left out', () => {
    const t = storeWith(undefined, [unbound('2025-03-10T23:59:59.999Z'), unbound('2025-03-11T00:00:00Z'), failed('2025-03-13T12:00:00Z', 'TIMEOUT')]);
    expect(t.store.stats(OWNER, {}).byDay).toEqual([
      { day: '2025-03-10', unbound: 1, notBound: 0, failed: 0 },
      { day: '2025-03-11', unbound: 1, notBound: 0, failed: 0 },
      { day: '2025-03-13', unbound: 0, notBound: 0, failed: 1 },
    ]);
  });

  it('given a bench in Los Angeles, then an evening attempt counts on the local day, not on the next UTC day', () => {
    const rows = [unbound('2025-03-11T03:00:00Z'), notBound('2025-03-11T06:59:59Z'), unbound('2025-03-11T07:00:00Z')];
    // 03:00Z and 06:59Z are the evening of 10 March in Los Angeles (UTC-7 since DST began on the 9th).
    expect(storeWith('America/Los_Angeles', rows).store.stats(OWNER, {}).byDay).toEqual([
      { day: '2025-03-10', unbound: 1, notBound: 1, failed: 0 },
      { day: '2025-03-11', unbound: 1, notBound: 0, failed: 0 },
    ]);
    h!.cleanup();
    h = null;
    expect(storeWith(undefined, rows).store.stats(OWNER, {}).byDay).toEqual([{ day: '2025-03-11', unbound: 2, notBound: 1, failed: 0 }]);
  });

  it('given the day Berlin moves its clocks forward (23 hours long), then its first and last milliseconds count on it', () => {
    const t = storeWith('Europe/Berlin', [
      unbound('2025-03-29T22:59:59.999Z'), // 23:59:59.999 on the 29th (UTC+1)
      unbound('2025-03-29T23:00:00Z'), // 00:00 on the 30th
      unbound('2025-03-30T21:59:59.999Z'), // 23:59:59.999 on the 30th (UTC+2 by then)
      unbound('2025-03-30T22:00:00Z'), // 00:00 on the 31st
    ]);
    expect(t.store.stats(OWNER, {}).byDay.map((d) => [d.day, d.unbound])).toEqual([
      ['2025-03-29', 1],
      ['2025-03-30', 2],
      ['2025-03-31', 1],
    ]);
  });

  it('given a zone at +05:45 (Kathmandu), then the day turns at 18:15 UTC', () => {
    const t = storeWith('Asia/Kathmandu', [unbound('2025-03-10T18:14:59.999Z'), unbound('2025-03-10T18:15:00Z')]);
    expect(t.store.stats(OWNER, {}).byDay.map((d) => d.day)).toEqual(['2025-03-10', '2025-03-11']);
  });

  it('given a zone whose DST skips midnight (Santiago), then the day starts at 01:00 local and nothing is lost', () => {
    const t = storeWith('America/Santiago', [unbound('2024-09-08T03:59:59.999Z'), unbound('2024-09-08T04:00:00Z'), unbound('2024-09-09T02:59:59Z')]);
    const s = t.store.stats(OWNER, {});
    expect(s.byDay.map((d) => [d.day, d.unbound])).toEqual([
      ['2024-09-07', 1],
      ['2024-09-08', 2],
    ]);
    expect(s.total).toBe(3);
  });

  it('given filters, then stats count only the matching attempts, time range clipped to the day', () => {
    const t = storeWith(undefined, [
      unbound('2025-03-10T08:00:00Z'),
      failed('2025-03-10T09:00:00Z', 'TIMEOUT'),
      failed('2025-03-11T09:00:00Z', 'TIMEOUT'),
      failed('2025-03-12T09:00:00Z', 'WIFI_AUTH'),
      attempt({ at: at('2025-03-12T10:00:00Z'), pid: 'cam-h6c', serial: 'H6C-FILTER-00001' }),
    ]);
    expect(t.store.stats(OWNER, { result: 'FAILED' })).toEqual({
      byCode: [
        { code: 'TIMEOUT', count: 2 },
        { code: 'WIFI_AUTH', count: 1 },
      ],
      byDay: [
        { day: '2025-03-10', unbound: 0, notBound: 0, failed: 1 },
        { day: '2025-03-11', unbound: 0, notBound: 0, failed: 1 },
        { day: '2025-03-12', unbound: 0, notBound: 0, failed: 1 },
      ],
      total: 3,
    });
    expect(t.store.stats(OWNER, { from: '2025-03-10T08:30:00Z', to: '2025-03-12T09:00:00Z' }).total).toBe(2);
    expect(t.store.stats(OWNER, { pid: 'cam-h6c' }).total).toBe(1);
    expect(t.store.stats(OWNER, { text: 'filter' }).byDay).toEqual([{ day: '2025-03-12', unbound: 1, notBound: 0, failed: 0 }]);
  });

  it('given nothing to count, then stats are empty, not an error', () => {
    const t = storeWith(undefined, []);
    expect(t.store.stats(OWNER, {})).toEqual({ byCode: [], byDay: [], total: 0 });
    expect(t.store.stats({ accountId: 'acc-x', allPids: [], ownPids: [] }, { code: 'TIMEOUT' })).toEqual({ byCode: [], byDay: [], total: 0 });
  });

  it('given a time zone name that does not exist, then opening the store fails clearly and creates no file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'history-tz-'));
    try {
      const path = join(dir, 'history.db');
      expect(() => openHistoryStore(path, { timeZone: 'Europe/Atlantis' })).toThrow('unknown time zone "Europe/Atlantis"');
      expect(existsSync(path)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
