/** Calendar days (`YYYY-MM-DD`) of one time zone: which day an instant falls on, and where a day starts. */
export interface ZoneCalendar {
  dayOf(ms: number): string;
  /** The first instant (Unix ms) of a local day: local midnight, or later where DST skips midnight. */
  startOf(day: string): number;
  nextDay(day: string): string;
}

/** Throws a clear error for a zone name Intl does not know (a typo in the station's config). */
export function assertTimeZone(timeZone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    throw new Error(`unknown time zone "${timeZone}"; use an IANA name such as "UTC" or "America/Los_Angeles"`);
  }
}

const HOUR = 3_600_000;

export function createZoneCalendar(timeZone: string): ZoneCalendar {
  assertTimeZone(timeZone);
  const utc = timeZone === 'UTC' || timeZone === 'Etc/UTC';
  const fmt = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
  const dayOf = (ms: number): string => {
    if (utc) return new Date(ms).toISOString().slice(0, 10);
    let y = '';
    let m = '';
    let d = '';
    for (const p of fmt.formatToParts(ms)) {
      if (p.type === 'year') y = p.value;
      else if (p.type === 'month') m = p.value;
      else if (p.type === 'day') d = p.value;
    }
    return `${y.padStart(4, '0')}-${m}-${d}`;
  };

  const starts = new Map<string, number>();
  const startOf = (day: string): number => {
    const cached = starts.get(day);
    if (cached !== undefined) return cached;
    const [y, m, d] = day.split('-').map(Number) as [number, number, number];
    const utcMidnight = Date.UTC(y, m - 1, d);
    // Every UTC offset lies within -12 h and +14 h, so local midnight is inside ±15 h of UTC midnight.
    // Binary search to the millisecond on "local day ≥ day" (monotonic in time): exact for any zone,
    // DST and odd offsets included, without a time zone library. About 27 Intl calls per day.
    let lo = utcMidnight - 15 * HOUR;
    let hi = utcMidnight + 15 * HOUR;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (dayOf(mid) >= day) hi = mid;
      else lo = mid;
    }
    if (starts.size >= 20_000) starts.clear();
    starts.set(day, hi);
    return hi;
  };

  const nextDay = (day: string): string => {
    const [y, m, d] = day.split('-').map(Number) as [number, number, number];
    return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
  };

  return { dayOf, startOf, nextDay };
}
