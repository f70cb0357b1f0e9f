import type { FailureCode, UnbindResult } from '../../protocol/failure-codes.js';
import type { HistoryQuery } from '../../protocol/station-api.js';

/** The history filters as the form holds them: `from`/`to` are `datetime-local` values (local time). */
export interface HistoryFilters {
  from: string;
  to: string;
  pid: string;
  result: UnbindResult | '';
  code: FailureCode | '';
  operator: string;
  text: string;
}

export const EMPTY_HISTORY_FILTERS: Readonly<HistoryFilters> = Object.freeze({ from: '', to: '', pid: '', result: '', code: '', operator: '', text: '' });

/** A `datetime-local` value (no offset) as the ISO instant the query wants; null when empty or invalid. */
export function localToIso(local: string): string | null {
  if (!local.trim()) return null;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

export function toHistoryQuery(f: HistoryFilters, page: { limit?: number; cursor?: string } = {}): HistoryQuery {
  const q: HistoryQuery = {};
  const from = localToIso(f.from);
  const to = localToIso(f.to);
  if (from) q.from = from;
  if (to) q.to = to;
  if (f.pid.trim()) q.pid = f.pid.trim();
  if (f.result) q.result = f.result;
  if (f.code) q.code = f.code;
  if (f.operator.trim()) q.operator = f.operator.trim();
  if (f.text.trim()) q.text = f.text.trim();
  if (page.cursor) q.cursor = page.cursor;
  if (page.limit !== undefined) q.limit = page.limit;
  return q;
}

/** Two filter sets that give the same query are the same filters. */
export function filtersKey(f: HistoryFilters): string {
  return JSON.stringify(toHistoryQuery(f));
}
