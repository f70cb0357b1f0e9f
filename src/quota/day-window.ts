/**
 * The quota day (DESIGN §8): a calendar day in the authority's time zone.
 * Computed with Intl so that DST days (23 or 25 hours) are handled by the platform's tz database.
 */
export interface DayWindow {
  /** YYYY-MM-DD in the time zone. */
  day: string;
  startsAt: number;
  endsAt: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Throws a RangeError for a time zone the platform does not know. */
export function assertTimeZone(timeZone: string): void {
  formatterFor(timeZone);
}

function wallClock(ms: number, timeZone: string): { y: number; m: number; d: number; h: number; mi: number; s: number } {
  const parts: Record<string, number> = {};
  for (const p of formatterFor(timeZone).formatToParts(ms)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return { y: parts.year!, m: parts.month!, d: parts.day!, h: parts.hour!, mi: parts.minute!, s: parts.second! };
}

/** Offset (local − UTC) in ms at instant `ms`. */
function offsetAt(ms: number, timeZone: string): number {
  const w = wallClock(ms, timeZone);
  return Date.UTC(w.y, w.m - 1, w.d, w.h, w.mi, w.s) - Math.floor(ms / 1000) * 1000;
}

/**
 * The first UTC instant of local date y-m-d. Usually its 00:00; where DST starts at midnight
 * (America/Santiago, America/Havana) 00:00 does not exist and the day starts at the jump.
 */
function localDayStart(y: number, m: number, d: number, timeZone: string): number {
  const wall = Date.UTC(y, m - 1, d);
  const target = `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
  let guess = wall - offsetAt(wall, timeZone);
  guess = wall - offsetAt(guess, timeZone);
  if (dayKey(guess, timeZone) === target) return guess;
  // Still on the previous date: search forward (a DST jump is at most a few hours) for the first second of this one.
  let lo = guess;
  let hi = guess + 4 * 3_600_000;
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
    if (dayKey(mid, timeZone) === target) hi = mid;
    else lo = mid;
  }
  return hi;
}

export function dayKey(ms: number, timeZone: string): string {
  const w = wallClock(ms, timeZone);
  return `${w.y}-${String(w.m).padStart(2, '0')}-${String(w.d).padStart(2, '0')}`;
}

export function dayWindow(ms: number, timeZone: string): DayWindow {
  const w = wallClock(ms, timeZone);
  const next = new Date(Date.UTC(w.y, w.m - 1, w.d + 1));
  return {
    day: dayKey(ms, timeZone),
    startsAt: localDayStart(w.y, w.m, w.d, timeZone),
    endsAt: localDayStart(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), timeZone),
  };
}
