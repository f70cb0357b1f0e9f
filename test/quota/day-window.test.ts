import { describe, expect, it } from 'vitest';
import { assertTimeZone, dayKey, dayWindow } from '../../src/quota/day-window.js';

const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number): string => new Date(ms).toISOString();
const HOUR = 3_600_000;

function nextDay(day: string): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

describe('quota day window (DESIGN §8)', () => {
  describe('given the default time zone UTC', () => {
    it('when it is exactly midnight, then that instant starts the day and the day ends 24 h later', () => {
      const w = dayWindow(at('2026-11-21T00:00:00.000Z'), 'UTC');
      expect({ day: w.day, startsAt: iso(w.startsAt), endsAt: iso(w.endsAt) }).toEqual({
        day: '2026-11-21',
        startsAt: '2026-11-21T00:00:00.000Z',
        endsAt: '2026-11-22T00:00:00.000Z',
      });
    });
    it('when it is the last millisecond of the day, then it still belongs to that day', () => {
      expect(dayWindow(at('2026-11-21T23:59:59.999Z'), 'UTC').day).toBe('2026-11-21');
      expect(dayWindow(at('2026-11-22T00:00:00.000Z'), 'UTC').day).toBe('2026-11-22');
    });
    it('when the day is the last of a month or a leap year, then the next day is computed correctly', () => {
      expect(iso(dayWindow(at('2028-02-28T12:00:00Z'), 'UTC').endsAt)).toBe('2028-02-29T00:00:00.000Z');
      expect(iso(dayWindow(at('2026-12-31T12:00:00Z'), 'UTC').endsAt)).toBe('2027-01-01T00:00:00.000Z');
    });
  });

  describe('given Asia/Shanghai (UTC+8, no DST)', () => {
    it('when it is 2026-11-21T16:00Z, then it is the first instant of 2026-11-22', () => {
      const w = dayWindow(at('2026-11-21T16:00:00.000Z'), 'Asia/Shanghai');
      expect({ day: w.day, startsAt: iso(w.startsAt), endsAt: iso(w.endsAt) }).toEqual({
        day: '2026-11-22',
        startsAt: '2026-11-21T16:00:00.000Z',
        endsAt: '2026-11-22T16:00:00.000Z',
      });
    });
    it('when it is one millisecond earlier, then it is still 2026-11-21', () => {
      const w = dayWindow(at('2026-11-21T15:59:59.999Z'), 'Asia/Shanghai');
      expect(w.day).toBe('2026-11-21');
      expect(iso(w.endsAt)).toBe('2026-11-21T16:00:00.000Z');
    });
  });

  describe('given America/New_York across DST', () => {
    it('when clocks spring forward (2026-03-08), then the day is 23 h long, from 05:00Z to 04:00Z', () => {
      const w = dayWindow(at('2026-03-08T12:00:00Z'), 'America/New_York');
      expect(w.day).toBe('2026-03-08');
      expect(iso(w.startsAt)).toBe('2026-03-08T05:00:00.000Z');
      expect(iso(w.endsAt)).toBe('2026-03-09T04:00:00.000Z');
      expect(w.endsAt - w.startsAt).toBe(23 * HOUR);
    });
    it('when clocks fall back (2026-11-01), then the day is 25 h long, from 04:00Z to 05:00Z', () => {
      const w = dayWindow(at('2026-11-01T12:00:00Z'), 'America/New_York');
      expect(w.day).toBe('2026-11-01');
      expect(iso(w.startsAt)).toBe('2026-11-01T04:00:00.000Z');
      expect(iso(w.endsAt)).toBe('2026-11-02T05:00:00.000Z');
      expect(w.endsAt - w.startsAt).toBe(25 * HOUR);
    });
    it('when it is in the repeated hour 01:00–02:00 of 2026-11-01 (either occurrence), then it is the same day', () => {
      expect(dayWindow(at('2026-11-01T05:30:00Z'), 'America/New_York').day).toBe('2026-11-01'); // 01:30 EDT
      expect(dayWindow(at('2026-11-01T06:30:00Z'), 'America/New_York').day).toBe('2026-11-01'); // 01:30 EST
    });
  });

  it('given a half-hour DST zone (Australia/Lord_Howe, 2026-04-05), then the day is 24.5 h long', () => {
    const w = dayWindow(at('2026-04-05T03:00:00Z'), 'Australia/Lord_Howe');
    expect(w.day).toBe('2026-04-05');
    expect(w.endsAt - w.startsAt).toBe(24.5 * HOUR);
  });

  // Zones with ordinary DST changes and odd offsets; the midnight-gap zones have their own test below.
  const ZONES = ['UTC', 'Asia/Shanghai', 'America/New_York', 'Europe/London', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'Pacific/Chatham'];

  it.each(ZONES)('given %s, when walking every day of 2026, then each day ends exactly where the next one starts', (tz) => {
    let w = dayWindow(at('2026-01-01T12:00:00Z'), tz);
    for (let i = 0; i < 366; i++) {
      const next = dayWindow(w.endsAt, tz);
      expect(next.startsAt, `${tz} ${w.day}`).toBe(w.endsAt);
      expect(next.day, `${tz} after ${w.day}`).toBe(nextDay(w.day));
      w = next;
    }
  });

  it.each(ZONES)('given %s, when sampling every 30 min of 2026, then each instant lies in its own day window', (tz) => {
    for (let t = at('2026-01-01T00:00:00Z'); t < at('2027-01-01T00:00:00Z'); t += HOUR / 2) {
      const w = dayWindow(t, tz);
      if (!(w.startsAt <= t && t < w.endsAt && dayKey(w.startsAt, tz) === w.day && dayKey(w.endsAt - 1, tz) === w.day)) {
        expect.fail(`${tz} ${iso(t)}: day ${w.day} window ${iso(w.startsAt)}–${iso(w.endsAt)}`);
      }
    }
  });

  describe('given a zone where DST starts at midnight, so 00:00 does not exist that day', () => {
    it('when it is America/Santiago on 2026-09-06 (00:00 -04 → 01:00 -03), then the day starts at 01:00 -03 (04:00Z) and is 23 h long', () => {
      const w = dayWindow(at('2026-09-06T12:00:00Z'), 'America/Santiago');
      expect(w.day).toBe('2026-09-06');
      expect(iso(w.startsAt)).toBe('2026-09-06T04:00:00.000Z');
      expect(iso(w.endsAt)).toBe('2026-09-07T03:00:00.000Z');
      expect(w.endsAt - w.startsAt).toBe(23 * HOUR);
    });
    it('when it is America/Santiago at 23:30 -04 on 2026-09-05 (03:30Z), then its window contains that instant', () => {
      const t = at('2026-09-06T03:30:00Z');
      const w = dayWindow(t, 'America/Santiago');
      expect(w.day).toBe('2026-09-05');
      expect(w.startsAt).toBeLessThanOrEqual(t);
      expect(w.endsAt).toBeGreaterThan(t);
    });
    it('when it is America/Havana on 2026-03-08 (00:00 -05 → 01:00 -04), then the day starts at 05:00Z and is 23 h long', () => {
      const w = dayWindow(at('2026-03-08T12:00:00Z'), 'America/Havana');
      expect(w.day).toBe('2026-03-08');
      expect(iso(w.startsAt)).toBe('2026-03-08T05:00:00.000Z');
      expect(w.endsAt - w.startsAt).toBe(23 * HOUR);
    });
  });

  it('given a time zone the platform does not know, then it is refused with a RangeError', () => {
    expect(() => assertTimeZone('Mars/Olympus_Mons')).toThrow(RangeError);
    expect(() => dayWindow(0, 'Mars/Olympus_Mons')).toThrow(RangeError);
    expect(() => assertTimeZone('Europe/Berlin')).not.toThrow();
  });
});
