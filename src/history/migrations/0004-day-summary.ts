import type { Database } from 'better-sqlite3';

/**
 * Counts per local day, kept in the same transaction as each attempt (src/history/attempt-writer.ts),
 * so stats over a million rows add up a few thousand counts instead of reading every row.
 *
 * A row counts one attempt of one (day, pid, account, result, code): the columns the scope of §7 and
 * the cheap filters test, named as in `attempts`, so the same WHERE serves both tables. pid and code
 * may be NULL there and here: the key is looked up with `IS`, which the index serves, and never
 * enforced by a UNIQUE index (NULLs are distinct in one); the store's single writer keeps it unique.
 *
 * The day is the store's time zone's: `history_meta.summary_zone` names the zone the counts were made
 * in. This migration leaves it unset, and the store rebuilds the counts from the rows when it opens
 * with a zone other than the one they were made in (the first open after this migration included).
 */
export function up(db: Database): void {
  db.exec(`
    CREATE TABLE attempt_days (
      day         TEXT NOT NULL,            -- YYYY-MM-DD in history_meta.summary_zone
      pid         TEXT,
      account_id  TEXT NOT NULL,
      result      TEXT NOT NULL,
      code        TEXT,
      n           INTEGER NOT NULL CHECK (n >= 0)   -- 0 only inside the transaction that deletes it
    ) STRICT;
    CREATE INDEX attempt_days_key ON attempt_days(day, pid, account_id, result, code);
    CREATE TABLE history_meta (
      name   TEXT PRIMARY KEY,
      value  TEXT NOT NULL
    ) STRICT, WITHOUT ROWID;
  `);
}
