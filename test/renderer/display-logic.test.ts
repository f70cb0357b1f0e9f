import { describe, expect, it } from 'vitest';
import { countdownTo, formatMmSs } from '../../src/renderer/lib/countdown.js';
import { byCodeChart, byDayChart, RESULT_COLORS } from '../../src/renderer/lib/history-charts.js';
import { toHistoryQuery, EMPTY_HISTORY_FILTERS } from '../../src/renderer/lib/history-filters.js';
import { lightClasses } from '../../src/renderer/lib/lights.js';
import { appendToManifest, parseManifest } from '../../src/renderer/lib/manifest.js';
import { describeCodes, describePlan } from '../../src/renderer/lib/plan-display.js';
import { hintOf } from '../../src/renderer/lib/results.js';
import { FAILURE_HINTS } from '../../src/protocol/failure-codes.js';
import { LIGHTS } from '../../src/protocol/device-states.js';
import { plan, result } from './support/fake-station-api.js';

describe('countdown to a code expiry', () => {
  const expiresAt = '2025-03-01T10:10:00.000Z';
  const at = (iso: string): number => Date.parse(iso);

  it('shows mm:ss, rounded up so a valid code never reads 00:00', () => {
    expect(formatMmSs(600_000)).toBe('10:00');
    expect(formatMmSs(61_000)).toBe('01:01');
    expect(formatMmSs(59_001)).toBe('01:00');
    expect(formatMmSs(1)).toBe('00:01');
    expect(countdownTo(expiresAt, at('2025-03-01T10:00:00.000Z'))).toMatchObject({ text: '10:00', urgent: false, expired: false });
  });

  it('turns urgent in the last minute', () => {
    expect(countdownTo(expiresAt, at('2025-03-01T10:08:59.000Z')).urgent).toBe(false);
    expect(countdownTo(expiresAt, at('2025-03-01T10:09:00.000Z'))).toMatchObject({ text: '01:00', urgent: true });
    expect(countdownTo(expiresAt, at('2025-03-01T10:09:59.500Z'))).toMatchObject({ text: '00:01', urgent: true });
  });

  it('reads "expired" once the time is up', () => {
    expect(countdownTo(expiresAt, at('2025-03-01T10:10:00.000Z'))).toMatchObject({ text: 'expired', expired: true, urgent: false });
    expect(countdownTo(expiresAt, at('2025-03-01T11:00:00.000Z')).text).toBe('expired');
  });
});

describe('plan display', () => {
  it('names the codes a batch needs', () => {
    expect(describeCodes([30, 15])).toBe('Codes: 2 (30 + 15)');
    expect(describeCodes([7])).toBe('Codes: 1 (7)');
    expect(describeCodes([])).toBe('no codes');
  });

  it('given an ok plan, then there is no refusal and the remaining quota is said', () => {
    const d = describePlan(plan());
    expect(d).toMatchObject({ ok: true, codesText: 'Codes: 2 (30 + 15)', devicesText: 'Devices: 45', refusal: null });
    expect(d.remainingText).toBe('Unbinds left today: 60 (account 60, product 80)');
  });

  it('given the planner refuses, then its message and the remaining count are shown', () => {
    const d = describePlan(
      plan({ ok: false, remaining: 3, productRemaining: 3, refusal: { code: 'QUOTA_PRODUCT', message: 'Only 3 unbinds left today for product pqr1cam; this batch needs 45.' } }),
    );
    expect(d.ok).toBe(false);
    expect(d.refusal).toEqual({ code: 'QUOTA_PRODUCT', message: 'Only 3 unbinds left today for product pqr1cam; this batch needs 45.', remaining: 3 });
    expect(d.remainingText).toBe('Unbinds left today: 3 (account 60, product 3)');
  });

  it('given a refused plan without a message, then a refusal is still shown', () => {
    expect(describePlan(plan({ ok: false, refusal: null })).refusal?.message).toMatch(/refused/);
  });
});

describe('manifest and scanner', () => {
  it('keeps each valid serial once, in order, and reports bad lines and duplicates', () => {
    const m = parseManifest('SN-0001\n\n  SN-0002  \r\nSN-0001\nbad serial!\n');
    expect(m).toEqual({ serials: ['SN-0001', 'SN-0002'], invalid: ['bad serial!'], duplicates: ['SN-0001'] });
  });

  it('appends a scan as a new line, and ignores a blank scan', () => {
    expect(appendToManifest('', 'SN-0001')).toBe('SN-0001\n');
    expect(appendToManifest('SN-0001', ' SN-0002 ')).toBe('SN-0001\nSN-0002\n');
    expect(appendToManifest('SN-0001\n', 'SN-0002')).toBe('SN-0001\nSN-0002\n');
    expect(appendToManifest('SN-0001\n', '   ')).toBe('SN-0001\n');
  });
});

describe('result hints and lights', () => {
  it('uses the station hint, else the contract hint of the failure code', () => {
    // The code is the key: the hint shown is the code's, in the chosen language, whatever words came with it.
    expect(hintOf(result('d', { result: 'FAILED', code: 'NO_REPORT', hint: 'custom' }))).toBe(FAILURE_HINTS.NO_REPORT);
    expect(hintOf(result('d', { result: 'NOT_BOUND', code: null, hint: 'custom' }))).toBe('custom');
    expect(hintOf(result('d', { result: 'FAILED', code: 'WIFI_AUTH', hint: null }))).toBe(FAILURE_HINTS.WIFI_AUTH);
    expect(hintOf(result('d'))).toBeNull();
  });

  it('gives blink patterns their CSS animation class and an off light for an operating device', () => {
    expect(lightClasses(LIGHTS.waiting)).toEqual(['light', 'light--red', 'light--fast-blink']);
    expect(lightClasses(LIGHTS.unbound)).toEqual(['light', 'light--green', 'light--solid']);
    expect(lightClasses(null)).toEqual(['light', 'light--off']);
  });
});

describe('history filters and charts', () => {
  it('turns the form into a query: empty fields left out, local times as ISO instants', () => {
    expect(toHistoryQuery({ ...EMPTY_HISTORY_FILTERS })).toEqual({});
    const q = toHistoryQuery({ ...EMPTY_HISTORY_FILTERS, from: '2025-03-01T08:00', pid: ' pqr1cam ', result: 'FAILED', code: 'WIFI_AUTH', text: 'SN-1' }, { limit: 50, cursor: 'abc' });
    expect(q).toEqual({ from: new Date('2025-03-01T08:00').toISOString(), pid: 'pqr1cam', result: 'FAILED', code: 'WIFI_AUTH', text: 'SN-1', limit: 50, cursor: 'abc' });
  });

  it('charts results by code (most first, colored by result) and by day (stacked, oldest first)', () => {
    const stats = {
      byCode: [{ code: 'WIFI_AUTH' as const, count: 2 }, { code: 'UNBOUND' as const, count: 40 }, { code: 'NOT_BOUND' as const, count: 3 }],
      byDay: [{ day: '2025-03-02', unbound: 5, notBound: 0, failed: 1 }, { day: '2025-03-01', unbound: 35, notBound: 3, failed: 1 }],
      total: 45,
    };
    const c = byCodeChart(stats);
    expect(c.labels).toEqual(['UNBOUND', 'NOT_BOUND', 'WIFI_AUTH']);
    expect(c.series[0]?.color).toEqual([RESULT_COLORS.unbound, RESULT_COLORS.notBound, RESULT_COLORS.failed]);
    const d = byDayChart(stats);
    // Days written through Intl in the chosen language (English here).
    expect(d.labels).toEqual(['Mar 1, 2025', 'Mar 2, 2025']);
    expect(d.series.map((s) => s.data)).toEqual([[35, 5], [3, 0], [1, 1]]);
  });
});
