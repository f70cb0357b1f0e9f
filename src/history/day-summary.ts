import type { Database, Statement } from 'better-sqlite3';
import { createZoneCalendar, type ZoneCalendar } from './zone-calendar.js';

/** What a summary row counts: the columns of `attempts` that scope and the cheap filters test. */
export interface SummaryKey {
  at: number;
  pid: string | null;
  accountId: string;
  result: string;
  code: string | null;
}

export interface DaySummary {
  /** Counts attempts just inserted (in the caller's transaction). */
  add(rows: readonly SummaryKey[]): void;
  /** Uncounts attempts whose row changed (in the caller's transaction); add() counts them as they are now. */
  remove(rows: readonly SummaryKey[]): void;
}

const ZONE_NAME = 'summary_zone';

/**
 * The per-day counts of migration 0004, in the store's time zone. A run of rows is counted in memory
 * first and each (day, pid, account, result, code) is bumped once: a 50,000-row recordMany touches a
 * few hundred summary rows, not 50,000.
 */
export function createDaySummary(db: Database, timeZone: string): DaySummary {
  const calendar = createZoneCalendar(timeZone);
  const bump = db.prepare<[number, string, string | null, string, string, string | null]>(
    'UPDATE attempt_days SET n = n + ? WHERE day = ? AND pid IS ? AND account_id = ? AND result = ? AND code IS ?',
  );
  const insert = db.prepare<[string, string | null, string, string, string | null, number]>(
    'INSERT INTO attempt_days (day, pid, account_id, result, code, n) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const dayOf = dayFinder(calendar);

  const drop = db.prepare<[number, string, string | null, string, string, string | null]>(
    'UPDATE attempt_days SET n = n - ? WHERE day = ? AND pid IS ? AND account_id = ? AND result = ? AND code IS ?',
  );
  const prune = db.prepare<[string]>('DELETE FROM attempt_days WHERE day = ? AND n = 0');
  const remove = (rows: readonly SummaryKey[]): void => {
    for (const { day, k, n } of countByKey(rows).values()) {
      // A count that reaches 0 is deleted at once: the summary never lists a day without attempts.
      drop.run(n, day, k.pid, k.accountId, k.result, k.code);
      prune.run(day);
    }
  };

  const countByKey = (rows: readonly SummaryKey[]): Map<string, { day: string; k: SummaryKey; n: number }> => {
    const counts = new Map<string, { day: string; k: SummaryKey; n: number }>();
    for (const k of rows) {
      const day = dayOf(k.at);
      // \u0000 cannot occur in the validated fields, so the joined key is unambiguous.
      const key = `${day}\u0000${k.pid ?? '\u0001'}\u0000${k.accountId}\u0000${k.result}\u0000${k.code ?? '\u0001'}`;
      const c = counts.get(key);
      if (c) c.n++;
      else counts.set(key, { day, k, n: 1 });
    }
    return counts;
  };

  const add = (rows: readonly SummaryKey[]): void => {
    for (const { day, k, n } of countByKey(rows).values()) {
      if (bump.run(n, day, k.pid, k.accountId, k.result, k.code).changes === 0) insert.run(day, k.pid, k.accountId, k.result, k.code, n);
    }
  };

  rebuildIfOtherZone(db, timeZone, add);
  return { add, remove };
}

/** Day of an instant, remembering the last day's bounds: rows come mostly in time order. */
function dayFinder(calendar: ZoneCalendar): (at: number) => string {
  let day = '';
  let from = Infinity;
  let to = -Infinity;
  return (at) => {
    if (at < from || at >= to) {
      day = calendar.dayOf(at);
      from = calendar.startOf(day);
      to = calendar.startOf(calendar.nextDay(day));
    }
    return day;
  };
}

/**
 * Counts made in another zone (or never made: the first open after migration 0004) are made again
 * from the rows, in one transaction: a station moved to another zone counts its old attempts on the
 * new zone's days, as the per-row stats did.
 */
function rebuildIfOtherZone(db: Database, timeZone: string, add: (rows: readonly SummaryKey[]) => void): void {
  const zoneOf = db.prepare<[string], { value: string }>('SELECT value FROM history_meta WHERE name = ?');
  if (zoneOf.get(ZONE_NAME)?.value === timeZone) return;
  // Pages by rowid: a connection runs no other statement while one of its iterators is open.
  const page = db.prepare('SELECT id, at, pid, account_id, result, code FROM attempts WHERE id > ? ORDER BY id LIMIT 50000').raw() as Statement<
    [number],
    [number, number, string | null, string, string, string | null]
  >;
  db.transaction(() => {
    db.prepare('DELETE FROM attempt_days').run();
    for (let after = 0; ; ) {
      const rows = page.all(after);
      if (rows.length === 0) break;
      add(rows.map(([, at, pid, accountId, result, code]) => ({ at, pid, accountId, result, code })));
      after = rows[rows.length - 1]![0];
    }
    db.prepare('INSERT INTO history_meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value').run(ZONE_NAME, timeZone);
  }).immediate();
}
