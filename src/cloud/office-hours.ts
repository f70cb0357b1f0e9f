import { CASE_DUE_MINUTES } from '../protocol/index.js';

/**
 * When a case is due (DESIGN §4.10): 10 minutes after it is filed inside office hours (Monday to Saturday,
 * 08:30–17:30 on the authority's wall clock), else 10 minutes after the next opening. Local times go
 * through Intl, as the quota day does (src/quota/day-window.ts), so DST days come out right.
 */
export const OFFICE_OPENS = { h: 8, mi: 30 };
export const OFFICE_CLOSES = { h: 17, mi: 30 };

const formatters = new Map<string, Intl.DateTimeFormat>();
function wallClock(ms: number, timeZone: string): { y: number; m: number; d: number; h: number; mi: number; s: number } {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formatters.set(timeZone, f);
  }
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(ms)) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return { y: p.year!, m: p.month!, d: p.day!, h: p.hour!, mi: p.minute!, s: p.second! };
}
const offsetAt = (ms: number, timeZone: string): number => {
  const w = wallClock(ms, timeZone);
  return Date.UTC(w.y, w.m - 1, w.d, w.h, w.mi, w.s) - Math.floor(ms / 1000) * 1000;
};
/** The instant the wall clock of `timeZone` reads y-m-d h:mi (office hours are far from any DST jump). */
function localInstant(y: number, m: number, d: number, h: number, mi: number, timeZone: string): number {
  const wall = Date.UTC(y, m - 1, d, h, mi);
  const guess = wall - offsetAt(wall, timeZone);
  return wall - offsetAt(guess, timeZone);
}

export function caseDueAt(filedAt: number, timeZone: string): number {
  const due = CASE_DUE_MINUTES * 60_000;
  const w = wallClock(filedAt, timeZone);
  for (let ahead = 0; ahead <= 8; ahead++) {
    const day = new Date(Date.UTC(w.y, w.m - 1, w.d + ahead));
    if (day.getUTCDay() === 0) continue; // Sunday: closed
    const [y, m, d] = [day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate()];
    const opens = localInstant(y, m, d, OFFICE_OPENS.h, OFFICE_OPENS.mi, timeZone);
    const closes = localInstant(y, m, d, OFFICE_CLOSES.h, OFFICE_CLOSES.mi, timeZone);
    if (filedAt < opens) return opens + due;
    if (filedAt < closes) return filedAt + due;
  }
  throw new Error(`no office opening within a week of ${new Date(filedAt).toISOString()} in ${timeZone}`);
}
