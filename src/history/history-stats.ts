import type { Database, Statement } from 'better-sqlite3';
import type { FailureCode } from '../protocol/failure-codes.js';
import type { HistoryQuery, HistoryStats } from '../protocol/station-api.js';
import type { HistoryScope, SqlCondition } from './history-scope.js';
import { filterCondition } from './query-filter.js';
import { createTextPlanner } from './text-search.js';
import { createZoneCalendar, type ZoneCalendar } from './zone-calendar.js';

type StatsKey = FailureCode | 'UNBOUND' | 'NOT_BOUND';
type DayCounts = HistoryStats['byDay'][number];

export interface HistoryStatsReader {
  stats(scope: HistoryScope, q: HistoryQuery): HistoryStats;
}

/** Adds counts up by day and by code. */
class Tally {
  private readonly byCode = new Map<StatsKey, number>();
  private readonly byDay: DayCounts[] = [];
  private total = 0;

  add(day: string, result: string, code: string | null, n: number): void {
    let d = this.byDay[this.byDay.length - 1];
    if (d?.day !== day) {
      d = { day, unbound: 0, notBound: 0, failed: 0 };
      this.byDay.push(d); // days arrive in order, and only days with attempts: the UI draws the gaps
    }
    if (result === 'UNBOUND') d.unbound += n;
    else if (result === 'NOT_BOUND') d.notBound += n;
    else d.failed += n;
    // A row counts under its code when it has one (a flagged UNBOUND too), else under its result,
    // so byCode adds up to total.
    const key = (code ?? result) as StatsKey;
    this.byCode.set(key, (this.byCode.get(key) ?? 0) + n);
    this.total += n;
  }

  result(): HistoryStats {
    return {
      // Most frequent first; ties by code in code-unit order, the same on every machine's locale.
      byCode: [...this.byCode].map(([code, count]) => ({ code, count })).sort((a, b) => b.count - a.count || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0)),
      byDay: this.byDay,
      total: this.total,
    };
  }
}

/**
 * Stats of the filtered history in the store's time zone. Days come from zone-calendar.ts, so SQL
 * never has to know about time zones or DST.
 *
 * Usually one query per local day: the day's rows are a range of an index ending in `at`, and grouping
 * a day's few thousand rows by (result, code) sorts in a small buffer. Grouping the whole log at once
 * made SQLite sort a million rows (0.7 s, 30 MB). A text filter is the exception: its trigram lookup
 * or its scan would run again for every day, so its rows are read once, in time order, and tallied here.
 */
export function createHistoryStats(db: Database, timeZone: string): HistoryStatsReader {
  const calendar = createZoneCalendar(timeZone);
  const planText = createTextPlanner(db);
  const statements = new Map<string, Statement<unknown[], unknown[]>>();
  const prepared = (sql: string): Statement<unknown[], unknown[]> => {
    let s = statements.get(sql);
    if (!s) {
      if (statements.size >= 128) statements.clear();
      s = db.prepare<unknown[], unknown[]>(sql).raw();
      statements.set(sql, s);
    }
    return s;
  };

  function tallyByDayQueries(where: SqlCondition, tally: Tally): void {
    // The first and last matching instants bound the days to count; no match, no days.
    const first = prepared(`SELECT at FROM attempts WHERE ${where.sql} ORDER BY at ASC LIMIT 1`).get(...where.params) as [number] | undefined;
    const last = prepared(`SELECT at FROM attempts WHERE ${where.sql} ORDER BY at DESC LIMIT 1`).get(...where.params) as [number] | undefined;
    if (!first || !last) return;
    const countDay = prepared(`SELECT result, code, count(*) FROM attempts WHERE ${where.sql} AND at >= ? AND at < ? GROUP BY result, code`);
    const lastDay = calendar.dayOf(last[0]);
    for (let day = calendar.dayOf(first[0]); day <= lastDay; day = calendar.nextDay(day)) {
      const from = Math.max(calendar.startOf(day), first[0]);
      const to = Math.min(calendar.startOf(calendar.nextDay(day)), last[0] + 1);
      if (from >= to) continue;
      for (const [result, code, n] of countDay.all(...where.params, from, to) as Array<[string, string | null, number]>) tally.add(day, result, code, n);
    }
  }

  function tallyRowByRow(where: SqlCondition, cal: ZoneCalendar, tally: Tally): void {
    let day = '';
    let dayEnd = -Infinity;
    const rows = prepared(`SELECT at, result, code FROM attempts WHERE ${where.sql} ORDER BY at`).iterate(...where.params) as IterableIterator<[number, string, string | null]>;
    for (const [at, result, code] of rows) {
      if (at >= dayEnd) {
        day = cal.dayOf(at);
        dayEnd = cal.startOf(cal.nextDay(day));
      }
      tally.add(day, result, code, 1);
    }
  }

  /**
   * From the day summary (migration 0004) when every filter is one of its columns: whole days add up
   * their counts; a day cut by `from` or `to` is counted from its rows, as before.
   */
  function tallyFromSummary(scope: HistoryScope, q: HistoryQuery, tally: Tally): boolean {
    const { from, to, ...rest } = q;
    const where = filterCondition(scope, rest, planText);
    if (where === null) return true;
    const fromMs = from === undefined ? undefined : Date.parse(from);
    const toMs = to === undefined ? undefined : Date.parse(to);
    if (fromMs !== undefined && toMs !== undefined && fromMs >= toMs) return true;
    const countRange = prepared(`SELECT result, code, count(*) FROM attempts WHERE ${where.sql} AND at >= ? AND at < ? GROUP BY result, code`);
    const countRows = (a: number, b: number): void => {
      const day = calendar.dayOf(a);
      for (const [result, code, n] of countRange.all(...where.params, a, b) as Array<[string, string | null, number]>) tally.add(day, result, code, n);
    };
    // Whole days: [firstDay, endDay). A bound inside a day leaves that day to its rows.
    let firstDay: string | undefined;
    if (fromMs !== undefined) {
      const d = calendar.dayOf(fromMs);
      firstDay = calendar.startOf(d) === fromMs ? d : calendar.nextDay(d);
    }
    const endDay = toMs === undefined ? undefined : calendar.dayOf(toMs);
    if (firstDay !== undefined && endDay !== undefined && firstDay > endDay) {
      countRows(fromMs!, toMs!); // both bounds inside one day
      return true;
    }
    if (fromMs !== undefined && firstDay !== calendar.dayOf(fromMs)) countRows(fromMs, Math.min(calendar.startOf(firstDay!), toMs ?? Infinity));
    const days = ['1'];
    const params: Array<string | number> = [];
    if (firstDay !== undefined) days.push('day >= ?'), params.push(firstDay);
    if (endDay !== undefined) days.push('day < ?'), params.push(endDay);
    const summed = prepared(`SELECT day, result, code, sum(n) FROM attempt_days WHERE ${where.sql} AND ${days.join(' AND ')} GROUP BY day, result, code ORDER BY day`);
    for (const [day, result, code, n] of summed.all(...where.params, ...params) as Array<[string, string, string | null, number]>) tally.add(day, result, code, n);
    if (toMs !== undefined && endDay !== undefined && calendar.startOf(endDay) < toMs) countRows(Math.max(calendar.startOf(endDay), fromMs ?? -Infinity), toMs);
    return true;
  }

  /** The summary counts by (day, pid, account, result, code); the other filters need the rows. */
  const summaryServes = (q: HistoryQuery): boolean => !q.text?.trim() && q.batchId === undefined && q.operator === undefined && q.method === undefined;

  return {
    stats(scope, q) {
      const tally = new Tally();
      if (summaryServes(q)) {
        tallyFromSummary(scope, q, tally);
        return tally.result();
      }
      const where = filterCondition(scope, q, planText);
      if (where === null) return tally.result();
      if (q.text?.trim()) tallyRowByRow(where, calendar, tally);
      else tallyByDayQueries(where, tally);
      return tally.result();
    },
  };
}
