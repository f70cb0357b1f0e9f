import { currentLocale } from '../i18n/index.js';

/** Wall-clock formats for a busy bench, through Intl in the chosen language: seconds shown, 24-hour clock. */
const TIME: Intl.DateTimeFormatOptions = { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' };
/** The month as a word: 03/04 reads as March or April depending on the reader, "4 Mar" does not. */
const DATE_TIME: Intl.DateTimeFormatOptions = { year: 'numeric', month: 'short', day: 'numeric', ...TIME };

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(locale: string, kind: 'time' | 'dateTime'): Intl.DateTimeFormat {
  const key = `${kind}|${locale}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(locale, kind === 'time' ? TIME : DATE_TIME);
    formatters.set(key, f);
  }
  return f;
}

export function formatTime(iso: string, locale: string = currentLocale()): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return formatter(locale, 'time').format(d);
}

export function formatDateTime(iso: string, locale: string = currentLocale()): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return formatter(locale, 'dateTime').format(d);
}

const DAY: Intl.DateTimeFormatOptions = { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' };

/** A calendar day the station names as `YYYY-MM-DD` (a quota or history day), written the chosen language's way. */
export function formatDay(day: string, locale: string = currentLocale()): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return day;
  const d = new Date(`${day}T00:00:00Z`);
  return Number.isNaN(d.getTime()) ? day : new Intl.DateTimeFormat(locale, DAY).format(d);
}

export function percent(part: number, whole: number): number {
  if (whole <= 0) return 0;
  return Math.min(100, Math.max(0, Math.round((part / whole) * 100)));
}
